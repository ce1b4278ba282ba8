//! The one catalogue of management API error codes, and the domain error that carries them.
//!
//! Codes are HDP's where the HDP documentation shows one (`spec/hdp-reference.md` §4);
//! the rest are Portcullis's own, in the `22220900x`–`2222092xx` range, documented in
//! `docs/errors.md`. Ranges by surface: 2222090xx general and client applications,
//! 2222091xx tenants, 2222092xx users and permissions, 2222093xx limits and the CLI,
//! 2222094xx the token service. Every error says what was wrong; internal causes are logged by the
//! caller and never put in a message.

use std::fmt;

/// What kind of failure this is; the HTTP layer maps it to a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 400: the request was malformed or a field was invalid.
    BadRequest,
    /// 401: no credentials, wrong credentials, or an account that may not sign in.
    Unauthorized,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404: no such resource visible to the caller.
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: conflicts with existing state (duplicate name …).
    Conflict,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 415: the request body is not JSON.
    UnsupportedMediaType,
    /// 429: too many attempts.
    TooManyRequests,
    /// 500: something broke on our side; details are in the server log only.
    Internal,
    /// 503: a dependency (the database) is unavailable.
    Unavailable,
    /// 502: an upstream server (the token vault's token endpoint) failed or refused.
    BadGateway,
}

/// An entry of the error catalogue: a numeric code and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: u32,
    pub kind: Kind,
}

macro_rules! catalogue {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $kind:ident;)*) => {
        impl Code {
            $($(#[$doc])* pub const $name: Code = Code { code: $code, kind: Kind::$kind };)*
            /// Every code in the catalogue, for documentation and tests.
            pub const ALL: &'static [(&'static str, Code)] = &[$((stringify!($name), Code::$name)),*];
        }
    };
}

catalogue! {
    /// HDP: "Problem creating OAuth Client Application at this time…"
    CLIENT_APP_CREATE_FAILED = 222206628, Internal;
    /// HDP: "Problem getting OAuth Client Application at this time…"
    CLIENT_APP_GET_FAILED = 222206631, Internal;
    /// HDP: "Problem deleting OAuth Client Application at this time…"
    CLIENT_APP_DELETE_FAILED = 222206633, Internal;
    /// HDP: "Problem resetting OAuth Client secret at this time…"
    CLIENT_APP_RESET_FAILED = 222206634, Internal;
    /// HDP: "Invalid JSON Input: {0}"
    INVALID_JSON = 222207007, BadRequest;
    /// Portcullis: no or unusable credentials.
    AUTHENTICATION_REQUIRED = 222209001, Unauthorized;
    /// Portcullis: wrong user name or password (never says which).
    INVALID_CREDENTIALS = 222209002, Unauthorized;
    /// Portcullis: the account is locked after too many failed sign-ins.
    ACCOUNT_LOCKED = 222209003, Unauthorized;
    /// Portcullis: the account is inactive.
    ACCOUNT_INACTIVE = 222209004, Unauthorized;
    /// Portcullis: the request carries more than one `Authorization` header.
    AUTHORIZATION_REPEATED = 222209006, BadRequest;
    /// Portcullis: the caller lacks a permission.
    FORBIDDEN = 222209005, Forbidden;
    /// Portcullis: a field failed validation.
    INVALID_FIELD = 222209010, BadRequest;
    /// Portcullis: the body is not `application/json`.
    UNSUPPORTED_MEDIA_TYPE = 222209011, UnsupportedMediaType;
    /// Portcullis: the body is over the size limit.
    PAYLOAD_TOO_LARGE = 222209012, PayloadTooLarge;
    /// Portcullis: an id in the path is not an integer.
    INVALID_ID = 222209013, BadRequest;
    /// Portcullis: no client application with that id is visible to the caller.
    CLIENT_APP_NOT_FOUND = 222209020, NotFound;
    /// Portcullis: the caller has granted no access to that application.
    ALLOWED_APP_NOT_FOUND = 222209021, NotFound;
    /// Portcullis: no such API path.
    NO_SUCH_PATH = 222209030, NotFound;
    /// Portcullis: the path does not take this method.
    METHOD_NOT_ALLOWED = 222209031, MethodNotAllowed;
    /// Portcullis: the request conflicts with existing state.
    CONFLICT = 222209040, Conflict;
    /// Portcullis: too many attempts; retry later.
    TOO_MANY_REQUESTS = 222209050, TooManyRequests;
    /// HDP: "There is no Tenant with that id: {0}."
    TENANT_NOT_FOUND = 222208573, NotFound;
    /// Portcullis: another tenant already has that name (compared ignoring case).
    TENANT_NAME_CONFLICT = 222209101, Conflict;
    /// Portcullis: another tenant already uses that host name.
    TENANT_HOST_CONFLICT = 222209102, Conflict;
    /// Portcullis: the system tenant (id 1) cannot be deleted.
    SYSTEM_TENANT_PROTECTED = 222209103, Forbidden;
    /// Portcullis: another tenant is already `open` for client registration (or
    /// already accepts client ID metadata documents).
    REGISTRATION_POLICY_CONFLICT = 222209104, Conflict;
    /// Portcullis: no initial access token with that id in the tenant.
    INITIAL_ACCESS_TOKEN_NOT_FOUND = 222209105, NotFound;
    /// Portcullis: the tenant's registration policy is closed, so it takes no initial
    /// access tokens.
    REGISTRATION_CLOSED = 222209106, Conflict;
    /// HDP: "Problem getting Roles at this time…" (permission catalogue failures).
    PERMISSIONS_FAILED = 222207919, Internal;
    /// Portcullis: no user with that id is visible to the caller.
    USER_NOT_FOUND = 222209201, NotFound;
    /// Portcullis: the login name is taken in that tenant.
    USER_EXISTS = 222209202, Conflict;
    /// Portcullis: the user has no API secret to delete.
    NO_API_SECRET = 222209203, NotFound;
    /// Portcullis: no permission with that id.
    PERMISSION_NOT_FOUND = 222209204, NotFound;
    /// HDP: "Problem processing the limits at this time…"
    LIMITS_FAILED = 222207925, Internal;
    /// HDP: "Limit value not in range({0}, {1})."
    LIMIT_OUT_OF_RANGE = 222207929, BadRequest;
    /// Portcullis: no limit with that id in the catalogue.
    LIMIT_NOT_FOUND = 222209301, NotFound;
    /// Portcullis: the limit cannot be set at that level (e.g. lockout per tenant).
    LIMIT_LEVEL_INVALID = 222209302, BadRequest;
    /// Portcullis: RFC 6749 `invalid_request` at the token endpoint (HDP JSON requests).
    OAUTH_INVALID_REQUEST = 222209401, BadRequest;
    /// Portcullis: RFC 6749 `invalid_client`.
    OAUTH_INVALID_CLIENT = 222209402, Unauthorized;
    /// Portcullis: RFC 6749 `invalid_grant`.
    OAUTH_INVALID_GRANT = 222209403, BadRequest;
    /// Portcullis: RFC 6749 `unauthorized_client`.
    OAUTH_UNAUTHORIZED_CLIENT = 222209404, BadRequest;
    /// Portcullis: RFC 6749 `unsupported_grant_type`.
    OAUTH_UNSUPPORTED_GRANT_TYPE = 222209405, BadRequest;
    /// Portcullis: RFC 6749 `invalid_scope`.
    OAUTH_INVALID_SCOPE = 222209406, BadRequest;
    /// Portcullis: a Bearer token lacks the scope the management API needs.
    INSUFFICIENT_SCOPE = 222209407, Forbidden;
    /// Portcullis: RFC 8707 `invalid_target` (an unregistered or malformed `resource`).
    OAUTH_INVALID_TARGET = 222209408, BadRequest;
    /// Portcullis: RFC 9449 `invalid_dpop_proof` (a DPoP proof that is malformed, for
    /// another request, too old, replayed or signed by another key).
    OAUTH_INVALID_DPOP_PROOF = 222209431, BadRequest;
    /// Portcullis: RFC 9449 `use_dpop_nonce` (the proof must carry the server's nonce).
    OAUTH_USE_DPOP_NONCE = 222209432, BadRequest;
    /// Portcullis: no resource server with that id is visible to the caller.
    RESOURCE_NOT_FOUND = 222209701, NotFound;
    /// Portcullis: the tenant already has a resource server with that URI.
    RESOURCE_URI_CONFLICT = 222209702, Conflict;
    /// Portcullis: the request took too long and was abandoned.
    TIMED_OUT = 222209032, Unavailable;
    /// Portcullis: the database is unavailable.
    UNAVAILABLE = 222209098, Unavailable;
    /// Portcullis: an unexpected internal failure.
    INTERNAL = 222209099, Internal;
    /// HDP: "Invalid OAuthProfileId: {0}"
    OAUTH_PROFILE_NOT_FOUND = 222207710, NotFound;
    /// HDP: "Invalid OAuthApplicationId: {0}"
    OAUTH_APP_NOT_FOUND = 222207711, NotFound;
    /// Portcullis: the tenant already has an OAuth application of that name.
    OAUTH_APP_NAME_CONFLICT = 222209601, Conflict;
    /// Portcullis: the user already has an OAuth profile of that name.
    OAUTH_PROFILE_NAME_CONFLICT = 222209602, Conflict;
    /// Portcullis: the upstream token endpoint refused (its `error` code is in the message).
    UPSTREAM_REFUSED = 222209610, BadGateway;
    /// Portcullis: the upstream token endpoint could not be reached or answered unusably.
    UPSTREAM_FAILED = 222209611, BadGateway;
    /// Portcullis: another refresh of the profile is still running.
    REFRESH_IN_PROGRESS = 222209612, Conflict;
    /// Portcullis: a sealed secret does not open with the configured master keys.
    SEALED_VALUE_UNREADABLE = 222209613, Internal;
    /// Portcullis: the upstream token endpoint is at an internal address that
    /// `outbound_allow` does not list; it was not called.
    UPSTREAM_NOT_ALLOWED = 222209614, BadGateway;
    /// Portcullis: the connect flow's `state` is unknown, already used or expired.
    CONNECT_STATE_INVALID = 222209620, BadRequest;
    /// Portcullis: the upstream authorization ended with an error (e.g. access denied).
    CONNECT_DENIED = 222209621, BadRequest;
}

/// A failure of a management use case: a catalogue code and a message for the client.
///
/// The message is always safe to show: it names what was wrong with the request and
/// never carries database or library error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub code: Code,
    pub message: String,
    /// Seconds after which a retry may succeed (`Retry-After`), where that applies.
    pub retry_after: Option<u64>,
}

impl ApiFailure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid_field(field: &str, why: impl fmt::Display) -> Self {
        Self::new(
            Code::INVALID_FIELD,
            format!("Invalid value for '{field}': {why}"),
        )
    }

    pub fn forbidden(what: impl fmt::Display) -> Self {
        Self::new(Code::FORBIDDEN, format!("Permission denied: {what}"))
    }

    /// An internal failure reported with one of HDP's "Problem … at this time" texts.
    /// The cause must already have been logged by the caller.
    pub fn internal(code: Code) -> Self {
        let message = match code.code {
            222206628 => "Problem creating OAuth Client Application at this time. Please try again at another time.",
            222206631 => "Problem getting OAuth Client Application at this time. Please try again at another time.",
            222206633 => "Problem deleting OAuth Client Application at this time. Please try again at another time.",
            222206634 => "Problem resetting OAuth Client secret at this time. Please try again at another time.",
            222207925 => "Problem processing the limits at this time. Please try again at another time.",
            _ => "Internal error. Please try again at another time.",
        };
        Self::new(code, message)
    }

    pub fn kind(&self) -> Kind {
        self.code.kind
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.code, self.message)
    }
}

impl std::error::Error for ApiFailure {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_in_the_catalogue_are_unique() {
        let mut seen = HashSet::new();
        for (name, code) in Code::ALL {
            assert!(seen.insert(code.code), "{name} repeats code {}", code.code);
        }
    }

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../../docs/errors.md");
        for (name, code) in Code::ALL {
            assert!(
                doc.contains(&code.code.to_string()),
                "{name} ({}) is missing from docs/errors.md",
                code.code
            );
        }
    }

    #[test]
    fn internal_failures_use_hdp_texts_and_never_a_cause() {
        let f = ApiFailure::internal(Code::CLIENT_APP_RESET_FAILED);
        assert_eq!(
            f.message,
            "Problem resetting OAuth Client secret at this time. Please try again at another time."
        );
        assert_eq!(
            ApiFailure::internal(Code::INTERNAL).message,
            "Internal error. Please try again at another time."
        );
    }
}
