//! Client applications (HDP's "Client Application Registration", `spec/hdp-reference.md`
//! §1): the stored record and the validating types its fields are parsed into.

use crate::clock::UnixTime;
use crate::error::ApiFailure;
use crate::scope::Scope;
use std::fmt;

/// OAuth grant types a client application may use (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Grants a client gets when registration names none: what HDP documents
    /// (authorization code, password, refresh). `client_credentials` is opt-in.
    pub fn defaults(public: bool) -> Vec<GrantType> {
        if public {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            vec![
                GrantType::AuthorizationCode,
                GrantType::Password,
                GrantType::RefreshToken,
            ]
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Application name: 1–128 characters, not blank (HDP §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName(String);

impl AppName {
    pub const MAX: usize = 128;
    pub fn parse(s: &str) -> Result<Self, ApiFailure> {
        if s.trim().is_empty() {
            return Err(ApiFailure::invalid_field("name", "must not be empty"));
        }
        let n = s.chars().count();
        if n > Self::MAX {
            return Err(ApiFailure::invalid_field(
                "name",
                format!("is {n} characters long; at most {} are allowed", Self::MAX),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ApiFailure::invalid_field(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Application description: at most 256 characters (HDP §1.2); absent means empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDescription(String);

impl AppDescription {
    pub const MAX: usize = 256;
    pub fn parse(s: Option<&str>) -> Result<Self, ApiFailure> {
        let s = s.unwrap_or("");
        let n = s.chars().count();
        if n > Self::MAX {
            return Err(ApiFailure::invalid_field(
                "description",
                format!("is {n} characters long; at most {} are allowed", Self::MAX),
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A registered redirect URL.
///
/// HDP's own samples register host-only strings (`bedford.progresstest.com`), so an
/// absolute URL is not insisted on; what is refused is what could never be matched
/// safely: empty strings, whitespace or control characters, fragments (RFC 6749
/// §3.1.2), and anything over 2048 characters. Matching at the authorization endpoint
/// is exact string comparison (RFC 9700 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUrl(String);

impl RedirectUrl {
    pub const MAX: usize = 2048;
    pub fn parse(s: &str) -> Result<Self, ApiFailure> {
        let field = "redirectUrls";
        if s.is_empty() {
            return Err(ApiFailure::invalid_field(field, "an entry is empty"));
        }
        if s.len() > Self::MAX {
            return Err(ApiFailure::invalid_field(
                field,
                format!("an entry is longer than {} characters", Self::MAX),
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiFailure::invalid_field(
                field,
                format!(
                    "'{}' contains whitespace or control characters",
                    s.escape_default()
                ),
            ));
        }
        if s.contains('#') {
            return Err(ApiFailure::invalid_field(
                field,
                format!("'{s}' has a fragment ('#'), which redirect URLs may not have"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Parses the whole list: at least one entry, at most 32, no duplicates.
    pub fn parse_list(list: &[String]) -> Result<Vec<RedirectUrl>, ApiFailure> {
        if list.is_empty() {
            return Err(ApiFailure::invalid_field(
                "redirectUrls",
                "at least one redirect URL is required",
            ));
        }
        if list.len() > 32 {
            return Err(ApiFailure::invalid_field(
                "redirectUrls",
                "at most 32 redirect URLs are allowed",
            ));
        }
        let mut out: Vec<RedirectUrl> = Vec::with_capacity(list.len());
        for s in list {
            let url = RedirectUrl::parse(s)?;
            if out.contains(&url) {
                return Err(ApiFailure::invalid_field(
                    "redirectUrls",
                    format!("'{s}' is listed twice"),
                ));
            }
            out.push(url);
        }
        Ok(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A client application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientApp {
    pub id: i64,
    pub tenant_id: i64,
    /// The user who registered it.
    pub owner_id: i64,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    /// The public OAuth `client_id`.
    pub client_id: String,
    /// Keyed verifier of the client secret; `None` for public clients.
    pub secret_verifier: Option<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    /// Tokens of this application issued before this instant are no longer valid
    /// (moved forward by secret reset).
    pub tokens_valid_after: UnixTime,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What [`crate::store::Store::create_client_app`] needs.
#[derive(Debug, Clone)]
pub struct NewClientApp {
    pub tenant_id: i64,
    pub owner_id: i64,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub client_id: String,
    pub secret_verifier: Option<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub now: UnixTime,
}

/// The fields an update replaces.
#[derive(Debug, Clone)]
pub struct ClientAppChanges {
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub now: UnixTime,
}

/// Parses requested grant types against the client kind.
pub fn parse_grant_types(
    list: Option<&[String]>,
    public: bool,
) -> Result<Vec<GrantType>, ApiFailure> {
    let Some(list) = list else {
        return Ok(GrantType::defaults(public));
    };
    if list.is_empty() {
        return Err(ApiFailure::invalid_field(
            "grantTypes",
            "at least one grant type is required",
        ));
    }
    let mut out = Vec::new();
    for s in list {
        let g = GrantType::parse(s).ok_or_else(|| {
            ApiFailure::invalid_field(
                "grantTypes",
                format!(
                    "'{s}' is not a grant type; use authorization_code, password, refresh_token or client_credentials"
                ),
            )
        })?;
        if public && matches!(g, GrantType::Password | GrantType::ClientCredentials) {
            return Err(ApiFailure::invalid_field(
                "grantTypes",
                format!("a public client (no secret) may not use '{g}'"),
            ));
        }
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out.sort();
    Ok(out)
}

/// Parses requested scopes to canonical names; none named means `api.access.odata`.
pub fn parse_scopes(list: Option<&[String]>) -> Result<Vec<String>, ApiFailure> {
    let Some(list) = list else {
        return Ok(vec![crate::scope::ODATA.to_owned()]);
    };
    if list.is_empty() {
        return Err(ApiFailure::invalid_field(
            "scopes",
            "at least one scope is required",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for s in list {
        let scope = Scope::parse(s).ok_or_else(|| {
            let known: Vec<&str> = crate::scope::KNOWN.iter().map(|(n, _)| *n).collect();
            ApiFailure::invalid_field(
                "scopes",
                format!("'{s}' is not a known scope; known: {}", known.join(", ")),
            )
        })?;
        if !out.iter().any(|o| o == scope.as_str()) {
            out.push(scope.as_str().to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_limited_to_128_characters_counted_as_characters() {
        assert!(AppName::parse(&"é".repeat(128)).is_ok());
        let err = AppName::parse(&"a".repeat(129)).err().map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some("Invalid value for 'name': is 129 characters long; at most 128 are allowed")
        );
        assert!(AppName::parse("  ").is_err());
    }

    #[test]
    fn descriptions_are_limited_to_256_characters() {
        assert!(AppDescription::parse(Some(&"d".repeat(256))).is_ok());
        assert!(AppDescription::parse(Some(&"d".repeat(257))).is_err());
        assert_eq!(
            AppDescription::parse(None)
                .map(|d| d.into_inner())
                .ok()
                .as_deref(),
            Some("")
        );
    }

    #[test]
    fn host_only_redirect_urls_from_hdp_samples_are_accepted() {
        assert!(RedirectUrl::parse_list(&[
            "bedford.progresstest.com".into(),
            "americas.progresstest.com".into()
        ])
        .is_ok());
    }

    #[test]
    fn unsafe_or_empty_redirect_url_lists_are_refused() {
        assert!(RedirectUrl::parse_list(&[]).is_err());
        assert!(RedirectUrl::parse_list(&["".into()]).is_err());
        assert!(RedirectUrl::parse_list(&["https://a.example/cb#x".into()]).is_err());
        assert!(RedirectUrl::parse_list(&["https://a.example/c b".into()]).is_err());
        assert!(RedirectUrl::parse_list(&["https://a/cb".into(), "https://a/cb".into()]).is_err());
    }

    #[test]
    fn public_clients_may_not_use_password_or_client_credentials() {
        assert!(parse_grant_types(Some(&["password".into()]), true).is_err());
        assert!(parse_grant_types(Some(&["client_credentials".into()]), true).is_err());
        assert_eq!(
            parse_grant_types(None, true).ok(),
            Some(GrantType::defaults(true))
        );
        assert!(parse_grant_types(Some(&["implicit".into()]), false).is_err());
    }

    #[test]
    fn scopes_default_to_odata_and_aliases_are_canonicalised() {
        assert_eq!(
            parse_scopes(None).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert_eq!(
            parse_scopes(Some(&["odata".into(), "api.access.odata".into()])).ok(),
            Some(vec!["api.access.odata".to_owned()])
        );
        assert!(parse_scopes(Some(&["email".into()])).is_err());
    }
}
