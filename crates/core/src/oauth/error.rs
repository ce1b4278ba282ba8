//! OAuth errors as RFC 6749 §5.2 defines them (and RFC 6750 §3.1 for resources).
//! `Display` is the wire code; the description says what was wrong and never carries
//! a secret or an internal cause.

use std::fmt;

/// The RFC error codes this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707 §2: a `resource` that is malformed, unknown or not allowed.
    InvalidTarget,
    /// RFC 6750 §3.1: the access token is missing, expired, revoked or malformed.
    InvalidToken,
    /// RFC 6750 §3.1: the token lacks the scope the resource needs.
    InsufficientScope,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 7591 §3.2.2: a redirect URI of a registration is refused.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: another metadata field of a registration is refused.
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2.
    InvalidSoftwareStatement,
    /// RFC 7591 §3.2.2.
    UnapprovedSoftwareStatement,
    /// RFC 8628 §3.5: the user has not decided yet; poll again.
    AuthorizationPending,
    /// RFC 8628 §3.5: polled too soon; the interval is raised by 5 seconds.
    SlowDown,
    /// RFC 8628 §3.5: the user denied the request.
    AccessDenied,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 9449 §5 and §7.1: the DPoP proof is missing where required, malformed, for
    /// another request, too old, replayed or signed by another key.
    InvalidDpopProof,
    /// RFC 9449 §8 and §9: the proof must carry the nonce of the `DPoP-Nonce` header.
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidSoftwareStatement => "invalid_software_statement",
            ErrorCode::UnapprovedSoftwareStatement => "unapproved_software_statement",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed OAuth request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// Set when the caller is being rate limited (HTTP 429 + `Retry-After`).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_target(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidTarget, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }
    /// A server-side failure; the cause must already be logged.
    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request; try again later.",
        )
    }
    /// Too many failed user passwords from the caller's address (the password grant):
    /// `invalid_grant` with HTTP 429 and `Retry-After`.
    pub fn too_many_passwords(retry_after: u64) -> Self {
        Self {
            code: ErrorCode::InvalidGrant,
            description: format!(
                "Too many failed sign-ins from your address; retry in {retry_after} seconds."
            ),
            retry_after: Some(retry_after),
        }
    }
    pub fn too_many(retry_after: u64) -> Self {
        Self {
            code: ErrorCode::InvalidClient,
            description: format!(
                "Too many failed client authentications; retry in {retry_after} seconds."
            ),
            retry_after: Some(retry_after),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure in the token service");
        match e {
            crate::store::StoreError::Unavailable(_) => Self::new(
                ErrorCode::TemporarilyUnavailable,
                "The database is unavailable; try again shortly.",
            ),
            _ => Self::server_error(),
        }
    }
}
