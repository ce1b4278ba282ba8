//! The token vault's records: upstream OAuth applications and profiles as stored
//! (secrets and tokens sealed), refresh outcomes, connect states, what a listing
//! covers, and the validating parsers of what administrators type about them.

use crate::error::ApiFailure;
use crate::model::time::UnixTime;

/// Longest accepted name of an application or profile.
pub const MAX_NAME: usize = 128;
/// Longest accepted description.
pub const MAX_DESCRIPTION: usize = 1024;
/// Longest accepted URI, client id, scope or token.
pub const MAX_TEXT: usize = 8192;

/// How the upstream token endpoint expects the client to authenticate (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAuthMethod {
    /// HTTP Basic with the form-encoded client id and secret (the RFC's default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            _ => None,
        }
    }
}

/// An upstream OAuth application as stored (secret sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub id: i64,
    pub seal_ref: String,
    pub tenant_id: i64,
    pub name: String,
    pub data_store: i64,
    pub description: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub authorize_uri: String,
    pub token_uri: String,
    pub scope: String,
    pub token_auth_method: TokenAuthMethod,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A new application to store.
#[derive(Debug, Clone)]
pub struct NewOAuthApp {
    pub seal_ref: String,
    pub tenant_id: i64,
    pub name: String,
    pub data_store: i64,
    pub description: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub authorize_uri: String,
    pub token_uri: String,
    pub scope: String,
    pub token_auth_method: TokenAuthMethod,
    pub now: UnixTime,
}

/// The replaced fields of an application (its tenant does not change).
#[derive(Debug, Clone)]
pub struct OAuthAppChanges {
    pub name: String,
    pub data_store: i64,
    pub description: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub authorize_uri: String,
    pub token_uri: String,
    pub scope: String,
    pub token_auth_method: TokenAuthMethod,
    pub now: UnixTime,
}

/// An OAuth profile as stored (tokens sealed), with its refresh status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthProfile {
    pub id: i64,
    pub seal_ref: String,
    pub oauth_app_id: i64,
    pub tenant_id: i64,
    pub owner_id: i64,
    pub name: String,
    pub description: String,
    pub access_token_sealed: Option<String>,
    pub refresh_token_sealed: String,
    pub access_expires_at: Option<UnixTime>,
    pub last_refreshed_at: Option<UnixTime>,
    pub last_attempt_at: Option<UnixTime>,
    pub last_refresh_error: Option<String>,
    pub refresh_failures: i64,
    pub next_attempt_at: Option<UnixTime>,
    pub refresh_lease_until: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A new profile to store.
#[derive(Debug, Clone)]
pub struct NewOAuthProfile {
    pub seal_ref: String,
    pub oauth_app_id: i64,
    pub tenant_id: i64,
    pub owner_id: i64,
    pub name: String,
    pub description: String,
    pub access_token_sealed: Option<String>,
    pub refresh_token_sealed: String,
    pub access_expires_at: Option<UnixTime>,
    pub now: UnixTime,
}

/// The replaced fields of a profile.
#[derive(Debug, Clone)]
pub struct ProfileChanges {
    pub oauth_app_id: i64,
    pub name: String,
    pub description: String,
    pub access_token_sealed: Option<String>,
    pub refresh_token_sealed: String,
    pub access_expires_at: Option<UnixTime>,
    pub now: UnixTime,
}

/// The outcome of a successful upstream refresh, sealed.
#[derive(Debug, Clone)]
pub struct RefreshSuccess {
    pub access_token_sealed: String,
    /// `Some` when the upstream rotated the refresh token.
    pub refresh_token_sealed: Option<String>,
    pub access_expires_at: Option<UnixTime>,
    pub now: UnixTime,
}

/// A failed refresh: what to show, and when the background refresher may retry.
#[derive(Debug, Clone)]
pub struct RefreshFailure {
    pub error: String,
    pub next_attempt_at: UnixTime,
    pub now: UnixTime,
}

/// A pending connect flow (state and PKCE verifier kept server-side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectState {
    /// Keyed verifier of the `state` sent to the upstream.
    pub state_verifier: String,
    pub user_id: i64,
    pub oauth_app_id: i64,
    pub name: String,
    pub description: String,
    /// The PKCE code verifier, sealed for `oauthconnect:<state_verifier>`.
    pub code_verifier_sealed: String,
    pub redirect_uri: String,
    pub expires_at: UnixTime,
}

/// A profile name as HDP documents it (seed 002): letters, digits and `_`, 1–128
/// characters. Every HDP profile sample fits (`User_1`, `Google_User_1`); application
/// names have their own, wider rule ([`parse_app_name`]).
pub fn parse_name(field: &str, name: &str) -> Result<String, ApiFailure> {
    if name.is_empty() {
        return Err(ApiFailure::invalid_field(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(ApiFailure::invalid_field(
            field,
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(ApiFailure::invalid_field(
            field,
            format!("may contain only letters, digits and '_' (found {c:?})"),
        ));
    }
    Ok(name.to_owned())
}

/// An OAuth application's name: any printable text of 1–128 characters, as HDP's own
/// samples use ("TenantA OAuth app", "TestOAuthApplication_1"). HDP's reference says
/// "alphanumerics and `_` only" for applications too, but its sample contradicts it;
/// the sample is what clients send. Refused: empty or whitespace-only names, leading
/// or trailing whitespace (two names that look the same), control characters and the
/// invisible Unicode format characters (zero-width and bidirectional controls) that
/// make a name display as another.
pub fn parse_app_name(field: &str, name: &str) -> Result<String, ApiFailure> {
    if name.trim().is_empty() {
        return Err(ApiFailure::invalid_field(
            field,
            "must not be empty or only spaces",
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(ApiFailure::invalid_field(
            field,
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    if name.trim() != name {
        return Err(ApiFailure::invalid_field(
            field,
            "must not begin or end with a space",
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || is_invisible_format(*c))
    {
        return Err(ApiFailure::invalid_field(
            field,
            format!(
                "must not contain control or invisible formatting characters (found {})",
                c.escape_unicode()
            ),
        ));
    }
    Ok(name.to_owned())
}

/// Zero-width characters, bidirectional embeddings, overrides and isolates, and the
/// byte-order mark: characters that change how a name looks without being seen.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// An optional description, at most [`MAX_DESCRIPTION`] characters.
pub fn parse_description(d: Option<&str>) -> Result<String, ApiFailure> {
    let d = d.unwrap_or_default();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(ApiFailure::invalid_field(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(d.to_owned())
}

/// A required, non-blank text field (client id, token …) of bounded length.
pub fn parse_required(field: &str, v: Option<&str>) -> Result<String, ApiFailure> {
    let v = v.ok_or_else(|| ApiFailure::invalid_field(field, "is required"))?;
    if v.trim().is_empty() {
        return Err(ApiFailure::invalid_field(field, "must not be empty"));
    }
    if v.len() > MAX_TEXT {
        return Err(ApiFailure::invalid_field(
            field,
            format!("must be at most {MAX_TEXT} bytes"),
        ));
    }
    Ok(v.to_owned())
}

/// An absolute `http` or `https` URL without a fragment (RFC 6749 §3.1, §3.2).
pub fn parse_endpoint(field: &str, v: Option<&str>) -> Result<String, ApiFailure> {
    let v = parse_required(field, v)?;
    let url = url::Url::parse(&v)
        .map_err(|e| ApiFailure::invalid_field(field, format!("is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiFailure::invalid_field(
            field,
            "must be an http:// or https:// URL",
        ));
    }
    if url.fragment().is_some() {
        return Err(ApiFailure::invalid_field(field, "must not have a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiFailure::invalid_field(
            field,
            "must not carry credentials; use clientId and clientSecret",
        ));
    }
    Ok(v)
}

/// The associated data binding a sealed value to its row and column.
pub fn purpose(kind: &str, seal_ref: &str, column: &str) -> String {
    format!("{kind}:{seal_ref}:{column}")
}

/// A fresh random `seal_ref`.
pub fn new_seal_ref() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Which OAuth profiles a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileScope {
    /// Those of one user.
    Owner(i64),
    /// Those of the users of these tenants, plus those of `owner`.
    Tenants { tenants: Vec<i64>, owner: i64 },
    /// Every profile.
    All,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_names_take_hdps_samples_and_refuse_invisible_or_blank_ones() {
        for ok in [
            "TenantA OAuth app",
            "TestOAuthApplication_1",
            "Application1",
            "Salesforce (prod) – EU",
            &"é".repeat(128),
        ] {
            assert_eq!(parse_app_name("name", ok).ok().as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "   ",
            " padded",
            "padded ",
            "tab\there",
            "line\nbreak",
            "nul\0",
            "bidi\u{202E}ppa",
            "zero\u{200B}width",
            &"a".repeat(129),
        ] {
            let e = parse_app_name("name", bad).err();
            assert!(e.is_some_and(|e| e.message.contains("'name'")), "{bad:?}");
        }
    }

    #[test]
    fn names_allow_letters_digits_and_underscore_only() {
        assert_eq!(parse_name("name", "User_1").ok(), Some("User_1".to_owned()));
        let e = parse_name("name", "TenantA OAuth app").err();
        assert!(e.is_some_and(|e| e.message.contains("' '")));
        assert!(parse_name("name", "").is_err());
        assert!(parse_name("name", &"a".repeat(129)).is_err());
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(parse_endpoint("tokenURI", Some("https://up.example/token")).is_ok());
        assert!(parse_endpoint("tokenURI", Some("ftp://up.example/token")).is_err());
        assert!(parse_endpoint("tokenURI", Some("/token")).is_err());
        assert!(parse_endpoint("tokenURI", Some("https://u:p@up.example/t")).is_err());
        assert!(parse_endpoint("tokenURI", None).is_err());
    }
}
