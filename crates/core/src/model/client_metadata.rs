//! Client metadata ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)):
//! the JSON object a client sends to register itself, parsed into a checked
//! [`ClientMetadata`]. Independent of where the JSON came from — the registration
//! endpoint (RFC 7591 §3, RFC 7592 §2.2) or, later, a client ID metadata document — so
//! it knows nothing of HTTP or of a tenant's registration policy (that is
//! [`crate::model::registration::RegistrationPolicy::admit`]).
//!
//! Rules beyond the RFC, each in the refusal's own words:
//! * `redirect_uris` follow [`RedirectUrl`] (https, http on loopback, a native app's
//!   own scheme) and must be addresses a browser can be sent to: HDP's host-only form
//!   is not accepted here. Required when `authorization_code` is asked for.
//! * `grant_types`: `authorization_code`, `refresh_token`, and `client_credentials` for
//!   a client with a secret or keys; `password` is refused (RFC 9700 §2.4: the resource
//!   owner password grant MUST NOT be used, and a client nobody vetted should never
//!   see a user's password). `response_types` may only be `code` and must agree with
//!   `grant_types` (§2.1); when absent it is derived from them.
//! * `client_name#ja` and other language-tagged variants (§2.2) are ignored: the
//!   untagged value is the one shown. Unknown fields are ignored and not echoed (§2:
//!   "the authorization server MUST ignore any client metadata sent by the client
//!   that it does not understand").
//! * `client_uri`, `logo_uri`, `tos_uri`, `policy_uri` and `jwks_uri` are absolute
//!   `https` URLs; `jwks` and `jwks_uri` exclude each other, and `jwks` holds public
//!   keys only (a key with a private member — `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth` —
//!   or a symmetric `k` is refused). `private_key_jwt` needs one of them.
//! * `software_statement` is refused with `unapproved_software_statement`: this server
//!   approves no statement issuer, so no statement can be honoured (§3.1.1).

use crate::model::client_app::{
    parse_grant_types, parse_post_logout_redirect_uris, parse_scopes, parse_signing_alg,
    ClientAppChanges, ClientProfile, GrantType, NewClientApp, RedirectKind, RedirectPolicy,
    RedirectUrl, RegisteredBy, TokenEndpointAuthMethod, MAX_REDIRECT_URLS,
};
use crate::model::time::UnixTime;
use serde_json::{json, Map, Value};
use std::fmt;

/// The error codes of RFC 7591 §3.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataErrorCode {
    InvalidRedirectUri,
    InvalidClientMetadata,
    InvalidSoftwareStatement,
    UnapprovedSoftwareStatement,
}

impl MetadataErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
        }
    }
}

/// A refused field: the RFC code and a description naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub code: MetadataErrorCode,
    pub description: String,
}

impl MetadataError {
    pub fn new(code: MetadataErrorCode, field: &str, why: impl fmt::Display) -> Self {
        Self {
            code,
            description: format!("Invalid value for '{field}': {why}"),
        }
    }
    pub fn metadata(field: &str, why: impl fmt::Display) -> Self {
        Self::new(MetadataErrorCode::InvalidClientMetadata, field, why)
    }
    pub fn redirect(field: &str, why: impl fmt::Display) -> Self {
        Self::new(MetadataErrorCode::InvalidRedirectUri, field, why)
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// Longest `client_name` (the application name's limit).
pub const MAX_NAME: usize = 128;
/// Longest URL of `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`, `jwks_uri`.
pub const MAX_URL: usize = 2048;
/// Longest short text (`software_id`, `software_version`, one contact).
pub const MAX_TEXT: usize = 256;
/// Most `contacts`.
pub const MAX_CONTACTS: usize = 16;
/// Most keys in `jwks`.
pub const MAX_KEYS: usize = 16;
/// Longest `scope` value.
pub const MAX_SCOPE: usize = 1024;

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Fields of a registration answer that are not metadata: ignored on input.
const NOT_METADATA: [&str; 6] = [
    "client_id",
    "client_secret",
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
];

/// Client metadata, checked (RFC 7591 §2 and the OpenID Connect / RFC 9126 fields
/// client applications already have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub grant_types: Vec<GrantType>,
    /// `["code"]` when `authorization_code` is among the grants, else empty.
    pub response_types: Vec<String>,
    pub client_name: Option<String>,
    /// Canonical API scope names; `None` when the client asked for none (the identity
    /// scopes such as `openid` are every client's and are not registered).
    pub scopes: Option<Vec<String>>,
    pub profile: ClientProfile,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub userinfo_signed_response_alg: Option<String>,
    pub require_pushed_authorization_requests: bool,
}

impl ClientMetadata {
    /// A client application of `tenant_id` with this metadata, as registration and
    /// metadata documents create one: no owner, no secret or registration token
    /// (callers that issue them set their verifiers).
    pub fn new_client_app(
        &self,
        tenant_id: i64,
        client_id: String,
        name: String,
        scopes: Vec<String>,
        registered_by: RegisteredBy,
        now: UnixTime,
    ) -> NewClientApp {
        NewClientApp {
            tenant_id,
            owner_id: None,
            name,
            description: String::new(),
            redirect_urls: self.redirect_uris.clone(),
            client_id,
            secret_verifier: None,
            public: self.is_public(),
            grant_types: self.grant_types.clone(),
            scopes,
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: self.id_token_signed_response_alg.clone(),
            userinfo_signed_response_alg: self.userinfo_signed_response_alg.clone(),
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            profile: self.profile.clone(),
            registered_by,
            registration_verifier: None,
            token_exchange_policy: None,
            now,
        }
    }

    /// The stored fields this metadata decides, for replacing a client's.
    pub fn changes(
        &self,
        name: String,
        description: String,
        scopes: Vec<String>,
        now: UnixTime,
    ) -> ClientAppChanges {
        ClientAppChanges {
            name,
            description,
            redirect_urls: self.redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            scopes,
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: self.id_token_signed_response_alg.clone(),
            userinfo_signed_response_alg: self.userinfo_signed_response_alg.clone(),
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            profile: self.profile.clone(),
            token_exchange_policy: None,
            now,
        }
    }

    /// Whether the client is public (authenticates with nothing).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }

    /// Parses a registration request's JSON object.
    pub fn parse(doc: &Value, redirects: RedirectPolicy) -> Result<Self, MetadataError> {
        let Some(doc) = doc.as_object() else {
            return Err(MetadataError {
                code: MetadataErrorCode::InvalidClientMetadata,
                description: "The request body must be a JSON object of client metadata.".into(),
            });
        };
        let f = Fields(doc);
        if doc.contains_key("software_statement") {
            return Err(MetadataError::new(
                MetadataErrorCode::UnapprovedSoftwareStatement,
                "software_statement",
                "this server approves no software statement issuer; register without one",
            ));
        }
        let method = match f.string("token_endpoint_auth_method", MAX_TEXT)? {
            None => TokenEndpointAuthMethod::ClientSecretBasic,
            Some(m) => TokenEndpointAuthMethod::parse(&m).ok_or_else(|| {
                MetadataError::metadata(
                    "token_endpoint_auth_method",
                    format!(
                        "'{}' is not supported; use none, client_secret_basic, client_secret_post or private_key_jwt",
                        m.escape_default()
                    ),
                )
            })?,
        };
        let public = method == TokenEndpointAuthMethod::None;
        let grant_types = parse_grants(f.strings("grant_types", 8)?, public)?;
        let code = grant_types.contains(&GrantType::AuthorizationCode);
        let response_types = match f.strings("response_types", 8)? {
            None => Vec::new(),
            Some(list) => {
                if let Some(bad) = list.iter().find(|r| r.as_str() != "code") {
                    return Err(MetadataError::metadata(
                        "response_types",
                        format!(
                            "'{}' is not supported; the only response type is code",
                            bad.escape_default()
                        ),
                    ));
                }
                if code && list.is_empty() {
                    return Err(MetadataError::metadata(
                        "response_types",
                        "must include code, since grant_types includes authorization_code (RFC 7591 §2.1)",
                    ));
                }
                if !code && !list.is_empty() {
                    return Err(MetadataError::metadata(
                        "response_types",
                        "code needs the authorization_code grant; add it to grant_types or leave response_types out (RFC 7591 §2.1)",
                    ));
                }
                list
            }
        };
        let response_types = if code && response_types.is_empty() {
            vec!["code".to_owned()]
        } else {
            response_types
        };
        let redirect_uris = parse_redirect_uris(
            f.strings("redirect_uris", MAX_REDIRECT_URLS + 1)?,
            code,
            redirects,
        )?;
        let client_name = f.string("client_name", usize::MAX)?;
        if let Some(n) = &client_name {
            crate::model::client_app::AppName::parse(n)
                .map_err(|e| MetadataError::metadata("client_name", strip(&e.message)))?;
        }
        let scopes = match f.string("scope", MAX_SCOPE)? {
            None => None,
            Some(s) => {
                // The identity scopes (`openid`, `profile`, …) are open to every
                // client; only the API scopes are registered.
                let list: Vec<String> = s
                    .split(' ')
                    .filter(|p| !p.is_empty() && !crate::model::scope::is_identity(p))
                    .map(str::to_owned)
                    .collect();
                if list
                    .iter()
                    .any(|p| p == crate::model::token_exchange::VAULT_RETRIEVE)
                {
                    return Err(MetadataError::metadata(
                        "scope",
                        "vault.retrieve is given to a client by an administrator only, never by registration",
                    ));
                }
                if list.is_empty() {
                    None
                } else {
                    Some(
                        parse_scopes(Some(&list))
                            .map_err(|e| MetadataError::metadata("scope", strip(&e.message)))?,
                    )
                }
            }
        };
        let jwks_uri = f.https_url("jwks_uri")?;
        let jwks = match doc.get("jwks") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_jwks(v)?),
        };
        if jwks.is_some() && jwks_uri.is_some() {
            return Err(MetadataError::metadata(
                "jwks",
                "jwks and jwks_uri may not both be given (RFC 7591 §2); send one",
            ));
        }
        if method == TokenEndpointAuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none()
        {
            return Err(MetadataError::metadata(
                "token_endpoint_auth_method",
                "private_key_jwt needs the client's public keys in jwks or jwks_uri",
            ));
        }
        let contacts = match f.strings("contacts", MAX_CONTACTS)? {
            None => Vec::new(),
            Some(list) => {
                for c in &list {
                    if c.trim().is_empty()
                        || c.chars().count() > MAX_TEXT
                        || c.chars().any(char::is_control)
                    {
                        return Err(MetadataError::metadata(
                            "contacts",
                            format!("each contact is 1–{MAX_TEXT} characters without control characters"),
                        ));
                    }
                }
                list
            }
        };
        let profile = ClientProfile {
            jwks,
            jwks_uri,
            logo_uri: f.https_url("logo_uri")?,
            client_uri: f.https_url("client_uri")?,
            policy_uri: f.https_url("policy_uri")?,
            tos_uri: f.https_url("tos_uri")?,
            contacts,
            software_id: f.string("software_id", MAX_TEXT)?,
            software_version: f.string("software_version", MAX_TEXT)?,
            dpop_bound_access_tokens: f.flag("dpop_bound_access_tokens")?,
        };
        let post_logout_redirect_uris =
            match f.strings("post_logout_redirect_uris", MAX_REDIRECT_URLS + 1)? {
                None => Vec::new(),
                Some(list) => parse_post_logout_redirect_uris(&list, redirects).map_err(|e| {
                    MetadataError::metadata("post_logout_redirect_uris", strip(&e.message))
                })?,
            };
        let alg = |field: &str| -> Result<Option<String>, MetadataError> {
            let v = f.string(field, MAX_TEXT)?;
            parse_signing_alg(field, v.as_deref())
                .map_err(|e| MetadataError::metadata(field, strip(&e.message)))
        };
        let require_par = match doc.get("require_pushed_authorization_requests") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(MetadataError::metadata(
                    "require_pushed_authorization_requests",
                    "must be true or false",
                ))
            }
        };
        Ok(Self {
            redirect_uris,
            token_endpoint_auth_method: method,
            grant_types,
            response_types,
            client_name,
            scopes,
            profile,
            post_logout_redirect_uris,
            id_token_signed_response_alg: alg("id_token_signed_response_alg")?,
            userinfo_signed_response_alg: alg("userinfo_signed_response_alg")?,
            require_pushed_authorization_requests: require_par,
        })
    }

    /// What a registered application's metadata is (for RFC 7592 reads).
    pub fn of_app(app: &crate::model::client_app::ClientApp) -> Self {
        let code = app.grant_types.contains(&GrantType::AuthorizationCode);
        Self {
            redirect_uris: app.redirect_urls.clone(),
            token_endpoint_auth_method: app.token_endpoint_auth_method,
            grant_types: app.grant_types.clone(),
            response_types: if code {
                vec!["code".to_owned()]
            } else {
                Vec::new()
            },
            client_name: Some(app.name.clone()),
            scopes: Some(app.scopes.clone()),
            profile: app.profile.clone(),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: app.id_token_signed_response_alg.clone(),
            userinfo_signed_response_alg: app.userinfo_signed_response_alg.clone(),
            require_pushed_authorization_requests: app.require_pushed_authorization_requests,
        }
    }

    /// The metadata as RFC 7591 §3.2.1 echoes it: every field that is set. `scopes`
    /// are the ones registered (the policy may have filled in a default).
    pub fn to_json(&self, scopes: &[String]) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("redirect_uris".into(), json!(self.redirect_uris));
        m.insert(
            "token_endpoint_auth_method".into(),
            json!(self.token_endpoint_auth_method.as_str()),
        );
        m.insert(
            "grant_types".into(),
            json!(self
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()),
        );
        m.insert("response_types".into(), json!(self.response_types));
        m.insert("scope".into(), json!(scopes.join(" ")));
        let mut opt = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        };
        opt("client_name", &self.client_name);
        opt("jwks_uri", &self.profile.jwks_uri);
        opt("logo_uri", &self.profile.logo_uri);
        opt("client_uri", &self.profile.client_uri);
        opt("policy_uri", &self.profile.policy_uri);
        opt("tos_uri", &self.profile.tos_uri);
        opt("software_id", &self.profile.software_id);
        opt("software_version", &self.profile.software_version);
        opt(
            "id_token_signed_response_alg",
            &self.id_token_signed_response_alg,
        );
        opt(
            "userinfo_signed_response_alg",
            &self.userinfo_signed_response_alg,
        );
        if self.profile.dpop_bound_access_tokens {
            m.insert("dpop_bound_access_tokens".into(), json!(true));
        }
        if let Some(jwks) = self
            .profile
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str::<Value>(j).ok())
        {
            m.insert("jwks".into(), jwks);
        }
        if !self.profile.contacts.is_empty() {
            m.insert("contacts".into(), json!(self.profile.contacts));
        }
        if !self.post_logout_redirect_uris.is_empty() {
            m.insert(
                "post_logout_redirect_uris".into(),
                json!(self.post_logout_redirect_uris),
            );
        }
        if self.require_pushed_authorization_requests {
            m.insert("require_pushed_authorization_requests".into(), json!(true));
        }
        m
    }
}

/// Whether `field` is one a registration answer carries that is not metadata (and is
/// ignored on input).
pub fn is_registration_field(field: &str) -> bool {
    NOT_METADATA.contains(&field)
}

/// "Invalid value for 'x': why" → "why" (the core validators name HDP's field names).
fn strip(message: &str) -> String {
    match message.split_once("': ") {
        Some((head, why)) if head.starts_with("Invalid value for '") => why.to_owned(),
        _ => message.to_owned(),
    }
}

/// Typed reads of the JSON object's fields; `null` counts as absent.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// A boolean; absent or null is false.
    fn flag(&self, field: &str) -> Result<bool, MetadataError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(MetadataError::metadata(field, "must be true or false")),
        }
    }

    fn string(&self, field: &str, max: usize) -> Result<Option<String>, MetadataError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() > max => Err(MetadataError::metadata(
                field,
                format!("is longer than {max} characters"),
            )),
            Some(Value::String(s)) if s.is_empty() => Err(MetadataError::metadata(
                field,
                "is empty; leave it out instead",
            )),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(MetadataError::metadata(field, "must be a string")),
        }
    }

    fn strings(&self, field: &str, max: usize) -> Result<Option<Vec<String>>, MetadataError> {
        let err = || MetadataError::metadata(field, "must be an array of strings");
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                if items.len() > max {
                    return Err(MetadataError::metadata(
                        field,
                        format!("has {} entries; at most {max} are allowed", items.len()),
                    ));
                }
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(err))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(_) => Err(err()),
        }
    }

    /// An absolute `https` URL with a host, no fragment and no user information.
    fn https_url(&self, field: &str) -> Result<Option<String>, MetadataError> {
        let Some(s) = self.string(field, MAX_URL)? else {
            return Ok(None);
        };
        let ok = url::Url::parse(&s).ok().filter(|u| {
            u.scheme() == "https"
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.fragment().is_none()
                && u.username().is_empty()
                && u.password().is_none()
        });
        match ok {
            Some(_) => Ok(Some(s)),
            None => Err(MetadataError::metadata(
                field,
                format!(
                    "'{}' is not an absolute https URL (https://host/path, without a fragment or user name)",
                    s.escape_default()
                ),
            )),
        }
    }
}

/// `grant_types`: default `authorization_code` (RFC 7591 §2); `password` refused.
fn parse_grants(list: Option<Vec<String>>, public: bool) -> Result<Vec<GrantType>, MetadataError> {
    let list = list.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if list.iter().any(|g| g == "password") {
        return Err(MetadataError::metadata(
            "grant_types",
            "the password grant is not available to clients that register themselves (RFC 9700 §2.4); use authorization_code",
        ));
    }
    if list
        .iter()
        .any(|g| g == crate::model::token_exchange::GRANT)
    {
        return Err(MetadataError::metadata(
            "grant_types",
            "token exchange is given to a client by an administrator only, never by registration",
        ));
    }
    if list.iter().any(|g| g == "implicit") {
        return Err(MetadataError::metadata(
            "grant_types",
            "the implicit grant is not supported (RFC 9700 §2.1.2); use authorization_code with PKCE",
        ));
    }
    parse_grant_types(Some(&list), public).map_err(|e| {
        MetadataError::metadata(
            "grant_types",
            strip(&e.message).replace(
                "a public client (no secret)",
                "a client with token_endpoint_auth_method none",
            ),
        )
    })
}

/// `redirect_uris`: each an address a browser can be sent to; required for the code grant.
fn parse_redirect_uris(
    list: Option<Vec<String>>,
    code: bool,
    policy: RedirectPolicy,
) -> Result<Vec<String>, MetadataError> {
    const FIELD: &str = "redirect_uris";
    let list = list.unwrap_or_default();
    if list.is_empty() {
        if code {
            return Err(MetadataError::redirect(
                FIELD,
                "at least one redirect URI is required for the authorization_code grant",
            ));
        }
        return Ok(Vec::new());
    }
    if list.len() > MAX_REDIRECT_URLS {
        return Err(MetadataError::redirect(
            FIELD,
            format!("at most {MAX_REDIRECT_URLS} redirect URIs are allowed"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for s in list {
        match RedirectUrl::classify(&s, policy) {
            Ok(RedirectKind::Target) => {}
            Ok(RedirectKind::HostOnly) => {
                return Err(MetadataError::redirect(
                    FIELD,
                    format!("'{s}' is a host name without a scheme; a redirect URI is an absolute URL such as https://{s}/callback"),
                ))
            }
            Err(why) => return Err(MetadataError::redirect(FIELD, why)),
        }
        if out.contains(&s) {
            return Err(MetadataError::redirect(
                FIELD,
                format!("'{s}' is listed twice"),
            ));
        }
        out.push(s);
    }
    Ok(out)
}

/// `jwks`: `{"keys": [...]}` of public keys, as compact JSON text.
fn parse_jwks(v: &Value) -> Result<String, MetadataError> {
    const FIELD: &str = "jwks";
    let keys = v
        .as_object()
        .and_then(|o| o.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            MetadataError::metadata(
                FIELD,
                "must be a JWK Set: an object with a \"keys\" array (RFC 7517 §5)",
            )
        })?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(MetadataError::metadata(
            FIELD,
            format!("must hold 1–{MAX_KEYS} keys"),
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        let Some(obj) = key.as_object() else {
            return Err(MetadataError::metadata(
                FIELD,
                format!("key {i} is not a JSON object"),
            ));
        };
        if !obj.get("kty").is_some_and(Value::is_string) {
            return Err(MetadataError::metadata(
                FIELD,
                format!("key {i} has no \"kty\" (RFC 7517 §4.1)"),
            ));
        }
        if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(MetadataError::metadata(
                FIELD,
                format!("key {i} has the private member \"{member}\"; register public keys only (and keep the private key to yourself)"),
            ));
        }
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: RedirectPolicy = RedirectPolicy { allow_http: false };

    fn parse(v: Value) -> Result<ClientMetadata, MetadataError> {
        ClientMetadata::parse(&v, STRICT)
    }

    fn refused(v: Value) -> (&'static str, String) {
        match parse(v) {
            Ok(m) => panic!("accepted: {m:?}"),
            Err(e) => (e.code.as_str(), e.description),
        }
    }

    #[test]
    fn a_minimal_public_client_gets_the_rfc_defaults() {
        let m = parse(json!({
            "redirect_uris": ["http://127.0.0.1:3000/cb"],
            "token_endpoint_auth_method": "none",
            "client_name": "MCP Inspector",
            "client_name#ja": "ignored",
            "something_new": {"x": 1}
        }))
        .expect("valid");
        assert!(m.is_public());
        assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(m.response_types, vec!["code".to_owned()]);
        assert_eq!(m.client_name.as_deref(), Some("MCP Inspector"));
        let out = m.to_json(&["api.access.odata".into()]);
        assert!(!out.contains_key("something_new") && !out.contains_key("client_name#ja"));
        assert_eq!(out["scope"], "api.access.odata");
    }

    #[test]
    fn every_field_is_checked_with_the_rfc_code_and_named() {
        let base = || json!({"redirect_uris": ["https://app.example/cb"]});
        let with = |k: &str, v: Value| {
            let mut b = base();
            b[k] = v;
            b
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                with("redirect_uris", json!([])),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                with("redirect_uris", json!(["javascript:alert(1)"])),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                with("redirect_uris", json!(["app.example"])),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                with("redirect_uris", json!(["https://a.example/#x"])),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                with("redirect_uris", json!("https://a.example/")),
                "invalid_client_metadata",
                "redirect_uris",
            ),
            (
                with("token_endpoint_auth_method", json!("client_secret_jwt")),
                "invalid_client_metadata",
                "token_endpoint_auth_method",
            ),
            (
                with("token_endpoint_auth_method", json!("private_key_jwt")),
                "invalid_client_metadata",
                "token_endpoint_auth_method",
            ),
            (
                with("grant_types", json!(["password"])),
                "invalid_client_metadata",
                "grant_types",
            ),
            (
                with("grant_types", json!(["implicit"])),
                "invalid_client_metadata",
                "grant_types",
            ),
            (
                with("grant_types", json!(["urn:x"])),
                "invalid_client_metadata",
                "grant_types",
            ),
            (
                with(
                    "grant_types",
                    json!(["urn:ietf:params:oauth:grant-type:token-exchange"]),
                ),
                "invalid_client_metadata",
                "grant_types",
            ),
            (
                with("scope", json!("api.access.odata vault.retrieve")),
                "invalid_client_metadata",
                "scope",
            ),
            (
                with("response_types", json!(["token"])),
                "invalid_client_metadata",
                "response_types",
            ),
            (
                with("response_types", json!([])),
                "invalid_client_metadata",
                "response_types",
            ),
            (
                with("client_name", json!("")),
                "invalid_client_metadata",
                "client_name",
            ),
            (
                with("client_name", json!("n".repeat(129))),
                "invalid_client_metadata",
                "client_name",
            ),
            (
                with("client_name", json!(5)),
                "invalid_client_metadata",
                "client_name",
            ),
            (
                with("client_uri", json!("http://app.example/")),
                "invalid_client_metadata",
                "client_uri",
            ),
            (
                with("logo_uri", json!("not a url")),
                "invalid_client_metadata",
                "logo_uri",
            ),
            (
                with("tos_uri", json!("https://u:p@app.example/")),
                "invalid_client_metadata",
                "tos_uri",
            ),
            (
                with("policy_uri", json!("ftp://app.example/")),
                "invalid_client_metadata",
                "policy_uri",
            ),
            (
                with("jwks_uri", json!("http://app.example/jwks")),
                "invalid_client_metadata",
                "jwks_uri",
            ),
            (
                with("scope", json!("api.access.odata nonsense")),
                "invalid_client_metadata",
                "scope",
            ),
            (
                with("contacts", json!(["", "x"])),
                "invalid_client_metadata",
                "contacts",
            ),
            (
                with("contacts", json!("a@b.example")),
                "invalid_client_metadata",
                "contacts",
            ),
            (
                with("jwks", json!({"keys": [{"kty": "EC", "d": "secret"}]})),
                "invalid_client_metadata",
                "jwks",
            ),
            (
                with("jwks", json!({"keys": [{"kty": "oct", "k": "secret"}]})),
                "invalid_client_metadata",
                "jwks",
            ),
            (with("jwks", json!([1])), "invalid_client_metadata", "jwks"),
            (
                with("software_id", json!(["x"])),
                "invalid_client_metadata",
                "software_id",
            ),
            (
                with("software_version", json!("v".repeat(300))),
                "invalid_client_metadata",
                "software_version",
            ),
            (
                with("software_statement", json!("eyJ.x.y")),
                "unapproved_software_statement",
                "software_statement",
            ),
            (
                with("post_logout_redirect_uris", json!(["host.example"])),
                "invalid_client_metadata",
                "post_logout_redirect_uris",
            ),
            (
                with("id_token_signed_response_alg", json!("HS256")),
                "invalid_client_metadata",
                "id_token_signed_response_alg",
            ),
            (
                with("userinfo_signed_response_alg", json!("none")),
                "invalid_client_metadata",
                "userinfo_signed_response_alg",
            ),
            (
                with("require_pushed_authorization_requests", json!("yes")),
                "invalid_client_metadata",
                "require_pushed_authorization_requests",
            ),
        ];
        for (doc, code, field) in cases {
            let (got, why) = refused(doc.clone());
            assert_eq!(got, code, "{doc}: {why}");
            assert!(why.contains(&format!("'{field}'")), "{doc}: {why}");
        }
        let mut both = base();
        both["jwks_uri"] = json!("https://app.example/jwks");
        both["jwks"] = json!({"keys": [{"kty": "EC", "x": "a", "y": "b", "crv": "P-256"}]});
        assert_eq!(refused(both).0, "invalid_client_metadata");
        assert_eq!(refused(json!([1])).0, "invalid_client_metadata");
    }

    #[test]
    fn grants_and_response_types_must_agree() {
        let m = parse(json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post"
        }))
        .expect("a machine client needs no redirect URI");
        assert!(m.response_types.is_empty() && m.redirect_uris.is_empty());
        let (code, why) = refused(json!({
            "grant_types": ["client_credentials"], "response_types": ["code"]
        }));
        assert_eq!(code, "invalid_client_metadata");
        assert!(why.contains("authorization_code"), "{why}");
        let (code, _) = refused(json!({
            "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"
        }));
        assert_eq!(code, "invalid_client_metadata");
    }

    #[test]
    fn private_key_jwt_with_public_keys_is_kept() {
        let jwks =
            json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "BB", "kid": "1"}]});
        let m = parse(json!({
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
            "contacts": ["ops@app.example"],
            "software_id": "4NRB1-0XZABZI9E6-5SM3R",
            "scope": "openid odata",
        }))
        .expect("valid");
        assert_eq!(
            m.token_endpoint_auth_method,
            TokenEndpointAuthMethod::PrivateKeyJwt
        );
        assert_eq!(m.scopes, Some(vec!["api.access.odata".into()]));
        assert_eq!(m.to_json(&[])["jwks"], jwks);
    }
}
