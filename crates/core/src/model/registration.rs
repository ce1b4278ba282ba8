//! A tenant's policy for clients that register themselves (RFC 7591, issue 14) and the
//! initial access tokens an administrator hands out for it.
//!
//! The policy is HDP's tenant API's `clientRegistration` object (the same camelCase
//! shape is stored as JSON): `closed` by default. [`RegistrationPolicy::admit`] checks
//! parsed [`ClientMetadata`] against its restrictions, refusing with the RFC 7591 code
//! and naming what the policy allows.

use crate::error::ApiFailure;
use crate::model::client_app::{
    authority_host, is_host_name, is_loopback, is_scheme, parse_grant_types, parse_scopes,
    GrantType,
};
use crate::model::client_metadata::{ClientMetadata, MetadataError};
use crate::model::time::UnixTime;
use serde::{Deserialize, Serialize};

/// Default `unusedClientLifetime`: a day.
pub const DEFAULT_UNUSED_CLIENT_LIFETIME: i64 = 86_400;
/// Shortest and longest `unusedClientLifetime` (a minute; a year).
pub const UNUSED_CLIENT_LIFETIME_RANGE: (i64, i64) = (60, 31_536_000);
/// Most entries of each policy list.
pub const MAX_POLICY_LIST: usize = 64;

/// Who may register.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Nobody (the default).
    #[default]
    Closed,
    /// Whoever holds an initial access token of this tenant.
    InitialAccessToken,
    /// Anyone, within the restrictions (at most one tenant). Initial access tokens
    /// of the tenant work too.
    Open,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::InitialAccessToken => "initial_access_token",
            Self::Open => "open",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Closed, Self::InitialAccessToken, Self::Open]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Which redirect URIs a registration may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectRestrictions {
    /// `http://127.0.0.1:*`, `http://[::1]:*`, `http://localhost:*` (RFC 8252 §7.3).
    pub loopback: bool,
    /// Hosts whose `https` URLs are allowed; `*` allows every host.
    pub https_hosts: Vec<String>,
    /// Private-use schemes of native apps (RFC 8252 §7.1), lowercased.
    pub schemes: Vec<String>,
}

impl Default for RedirectRestrictions {
    fn default() -> Self {
        Self {
            loopback: true,
            https_hosts: Vec::new(),
            schemes: Vec::new(),
        }
    }
}

/// Public (`none`) or confidential (a secret or keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    Public,
    Confidential,
}

/// A tenant's registration policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationPolicy {
    pub policy: RegistrationMode,
    pub client_types: Vec<ClientType>,
    /// Grants a registration may ask for (never `password`).
    pub grant_types: Vec<GrantType>,
    /// API scopes a registration may ask for; `None`: the tenant's allowed scopes.
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: RedirectRestrictions,
    /// Seconds after which an openly registered client that never got a token is
    /// deleted.
    pub unused_client_lifetime: i64,
    /// Whether clients identified by a metadata document URL land in this tenant (at
    /// most one tenant).
    pub metadata_documents: bool,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            policy: RegistrationMode::Closed,
            client_types: vec![ClientType::Public],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: None,
            redirect_uris: RedirectRestrictions::default(),
            unused_client_lifetime: DEFAULT_UNUSED_CLIENT_LIFETIME,
            metadata_documents: false,
        }
    }
}

/// `clientRegistration` as received; absent fields take the defaults.
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub policy: Option<String>,
    pub client_types: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub loopback: Option<bool>,
    pub https_hosts: Option<Vec<String>>,
    pub schemes: Option<Vec<String>>,
    pub unused_client_lifetime: Option<i64>,
    pub metadata_documents: Option<bool>,
}

const F: &str = "clientRegistration";

fn field_error(field: &str, why: impl std::fmt::Display) -> ApiFailure {
    ApiFailure::invalid_field(&format!("{F}.{field}"), why)
}

fn check_len(field: &str, list: &[String]) -> Result<(), ApiFailure> {
    if list.len() > MAX_POLICY_LIST {
        return Err(field_error(
            field,
            format!("at most {MAX_POLICY_LIST} entries are allowed"),
        ));
    }
    Ok(())
}

impl PolicyInput {
    /// The checked policy.
    pub fn parse(self) -> Result<RegistrationPolicy, ApiFailure> {
        let d = RegistrationPolicy::default();
        let policy = match self.policy.as_deref() {
            None => d.policy,
            Some(p) => RegistrationMode::parse(p).ok_or_else(|| {
                field_error(
                    "policy",
                    format!(
                        "'{}' is not a policy; use closed, initial_access_token or open",
                        p.escape_default()
                    ),
                )
            })?,
        };
        let client_types = match self.client_types {
            None => d.client_types,
            Some(list) => {
                check_len("clientTypes", &list)?;
                let mut out = Vec::new();
                for t in &list {
                    let ty = match t.as_str() {
                        "public" => ClientType::Public,
                        "confidential" => ClientType::Confidential,
                        other => {
                            return Err(field_error(
                                "clientTypes",
                                format!(
                                    "'{}' is not a client type; use public or confidential",
                                    other.escape_default()
                                ),
                            ))
                        }
                    };
                    if !out.contains(&ty) {
                        out.push(ty);
                    }
                }
                out
            }
        };
        let grant_types = match self.grant_types {
            None => d.grant_types,
            Some(list) => {
                check_len("grantTypes", &list)?;
                if list.iter().any(|g| g == "password") {
                    return Err(field_error(
                        "grantTypes",
                        "the password grant is never available to clients that register themselves",
                    ));
                }
                parse_grant_types(Some(&list), false).map_err(|mut e| {
                    e.message =
                        e.message
                            .replacen("'grantTypes'", "'clientRegistration.grantTypes'", 1);
                    e
                })?
            }
        };
        let scopes = match self.scopes {
            None => None,
            Some(list) => {
                check_len("scopes", &list)?;
                Some(parse_scopes(Some(&list)).map_err(|mut e| {
                    e.message = e
                        .message
                        .replacen("'scopes'", "'clientRegistration.scopes'", 1);
                    e
                })?)
            }
        };
        let https_hosts = match self.https_hosts {
            None => d.redirect_uris.https_hosts,
            Some(list) => {
                check_len("redirectUris.httpsHosts", &list)?;
                let mut out = Vec::new();
                for h in list {
                    let h = h.to_ascii_lowercase();
                    if h != "*" && !is_host_name(&h) {
                        return Err(field_error(
                            "redirectUris.httpsHosts",
                            format!(
                                "'{}' is not a host name (or * for any host)",
                                h.escape_default()
                            ),
                        ));
                    }
                    if !out.contains(&h) {
                        out.push(h);
                    }
                }
                out
            }
        };
        let schemes = match self.schemes {
            None => d.redirect_uris.schemes,
            Some(list) => {
                check_len("redirectUris.schemes", &list)?;
                let mut out = Vec::new();
                for s in list {
                    let s = s.to_ascii_lowercase();
                    if !is_scheme(&s) || s == "http" || s == "https" || !s.contains('.') {
                        return Err(field_error(
                            "redirectUris.schemes",
                            format!(
                                "'{}' is not a private-use scheme; use a reverse domain name such as com.example.app (RFC 8252 §7.1)",
                                s.escape_default()
                            ),
                        ));
                    }
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                out
            }
        };
        let unused_client_lifetime = self
            .unused_client_lifetime
            .unwrap_or(d.unused_client_lifetime);
        let (lo, hi) = UNUSED_CLIENT_LIFETIME_RANGE;
        if !(lo..=hi).contains(&unused_client_lifetime) {
            return Err(field_error(
                "unusedClientLifetime",
                format!("must be between {lo} and {hi} seconds"),
            ));
        }
        Ok(RegistrationPolicy {
            policy,
            client_types,
            grant_types,
            scopes,
            redirect_uris: RedirectRestrictions {
                loopback: self.loopback.unwrap_or(d.redirect_uris.loopback),
                https_hosts,
                schemes,
            },
            unused_client_lifetime,
            metadata_documents: self.metadata_documents.unwrap_or(false),
        })
    }
}

impl RegistrationPolicy {
    /// Whether some client may register into this tenant now.
    pub fn accepts_registrations(&self) -> bool {
        self.policy != RegistrationMode::Closed
    }

    /// Checks `m` against the restrictions; `tenant_scopes` are the tenant's allowed
    /// scopes. Returns the scopes to register (those asked, or all the policy allows).
    pub fn admit(
        &self,
        m: &ClientMetadata,
        tenant_scopes: &[String],
    ) -> Result<Vec<String>, MetadataError> {
        let ty = if m.is_public() {
            ClientType::Public
        } else {
            ClientType::Confidential
        };
        if !self.client_types.contains(&ty) {
            let allowed = if self.client_types.contains(&ClientType::Public) {
                "only public clients (token_endpoint_auth_method none) may register here"
            } else {
                "only confidential clients may register here"
            };
            return Err(MetadataError::metadata(
                "token_endpoint_auth_method",
                allowed,
            ));
        }
        if let Some(g) = m.grant_types.iter().find(|g| !self.grant_types.contains(g)) {
            let allowed: Vec<&str> = self.grant_types.iter().map(|g| g.as_str()).collect();
            return Err(MetadataError::metadata(
                "grant_types",
                format!("'{g}' is not allowed here; allowed: {}", allowed.join(", ")),
            ));
        }
        let allowed_scopes: Vec<String> = match &self.scopes {
            Some(s) => s
                .iter()
                .filter(|s| tenant_scopes.contains(s))
                .cloned()
                .collect(),
            None => tenant_scopes.to_vec(),
        };
        let scopes = match &m.scopes {
            None => allowed_scopes.clone(),
            Some(asked) => {
                if let Some(s) = asked.iter().find(|s| !allowed_scopes.contains(s)) {
                    return Err(MetadataError::metadata(
                        "scope",
                        format!(
                            "'{s}' is not allowed here; allowed: {}",
                            allowed_scopes.join(" ")
                        ),
                    ));
                }
                asked.clone()
            }
        };
        for uri in m.redirect_uris.iter().chain(&m.post_logout_redirect_uris) {
            if !self.allows_redirect(uri) {
                return Err(MetadataError::redirect(
                    if m.redirect_uris.contains(uri) {
                        "redirect_uris"
                    } else {
                        "post_logout_redirect_uris"
                    },
                    format!("'{uri}' is not allowed here; {}", self.describe_redirects()),
                ));
            }
        }
        Ok(scopes)
    }

    /// Whether the redirect restrictions allow `uri` (already a valid redirect target).
    pub fn allows_redirect(&self, uri: &str) -> bool {
        let r = &self.redirect_uris;
        let Some((scheme, rest)) = uri.split_once(':') else {
            return false;
        };
        let scheme = scheme.to_ascii_lowercase();
        let host = || rest.strip_prefix("//").and_then(authority_host);
        match scheme.as_str() {
            "http" => r.loopback && host().is_some_and(|h| is_loopback(&h)),
            "https" => host().is_some_and(|h| {
                (r.loopback && is_loopback(&h)) || r.https_hosts.iter().any(|a| a == "*" || *a == h)
            }),
            s => r.schemes.iter().any(|a| a == s),
        }
    }

    /// What the redirect restrictions allow, in words.
    pub fn describe_redirects(&self) -> String {
        let r = &self.redirect_uris;
        let mut parts = Vec::new();
        if r.loopback {
            parts.push("http on a loopback host (127.0.0.1, [::1], localhost)".to_owned());
        }
        if r.https_hosts.iter().any(|h| h == "*") {
            parts.push("https on any host".to_owned());
        } else if !r.https_hosts.is_empty() {
            parts.push(format!("https on {}", r.https_hosts.join(", ")));
        }
        if !r.schemes.is_empty() {
            parts.push(format!("the schemes {}", r.schemes.join(", ")));
        }
        if parts.is_empty() {
            "this tenant allows no redirect URIs".to_owned()
        } else {
            format!("allowed: {}", parts.join("; "))
        }
    }
}

/// An initial access token as stored (the token itself only as a verifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    pub id: i64,
    pub tenant_id: i64,
    /// Registrations left; `None`: unlimited.
    pub uses_left: Option<i64>,
    /// Registrations made with it.
    pub used: i64,
    pub expires_at: Option<UnixTime>,
    pub created_at: UnixTime,
    /// The user who created it (`None` for the console).
    pub created_by: Option<i64>,
}

/// What [`crate::store::RegistrationStore::create_initial_access_token`] needs.
#[derive(Debug, Clone)]
pub struct NewInitialAccessToken {
    pub tenant_id: i64,
    pub verifier: String,
    pub uses: Option<i64>,
    pub expires_at: Option<UnixTime>,
    pub created_by: Option<i64>,
    pub now: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::client_app::RedirectPolicy;
    use serde_json::json;

    fn meta(v: serde_json::Value) -> ClientMetadata {
        ClientMetadata::parse(&v, RedirectPolicy::default()).expect("valid metadata")
    }

    #[test]
    fn the_default_policy_is_closed_public_loopback_only() {
        let p = PolicyInput::default().parse().expect("defaults");
        assert_eq!(p, RegistrationPolicy::default());
        assert!(!p.accepts_registrations());
        assert!(p.allows_redirect("http://127.0.0.1:5555/cb"));
        assert!(p.allows_redirect("http://localhost/cb"));
        assert!(!p.allows_redirect("https://app.example/cb"));
        assert!(!p.allows_redirect("com.example.app:/cb"));
    }

    #[test]
    fn restrictions_refuse_with_the_rfc_code_and_say_what_is_allowed() {
        let p = PolicyInput {
            policy: Some("open".into()),
            https_hosts: Some(vec!["App.Example".into()]),
            schemes: Some(vec!["com.example.app".into()]),
            ..Default::default()
        }
        .parse()
        .expect("valid");
        let tenant = vec!["api.access.odata".to_owned()];
        let ok = meta(
            json!({"redirect_uris": ["https://app.example/cb", "com.example.app:/cb"], "token_endpoint_auth_method": "none"}),
        );
        assert_eq!(p.admit(&ok, &tenant).ok(), Some(tenant.clone()));
        let other = meta(
            json!({"redirect_uris": ["https://evil.example/cb"], "token_endpoint_auth_method": "none"}),
        );
        let e = p.admit(&other, &tenant).expect_err("host");
        assert_eq!(e.code.as_str(), "invalid_redirect_uri");
        assert!(
            e.description.contains("https on app.example"),
            "{}",
            e.description
        );
        let secret = meta(json!({"redirect_uris": ["http://127.0.0.1/cb"]}));
        let e = p.admit(&secret, &tenant).expect_err("confidential");
        assert_eq!(e.code.as_str(), "invalid_client_metadata");
        let mgmt = meta(
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "scope": "api.access.mgmt"}),
        );
        let e = p.admit(&mgmt, &tenant).expect_err("scope");
        assert!(e.description.contains("'scope'"), "{}", e.description);
        let cc = meta(
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]}),
        );
        assert!(p.admit(&cc, &tenant).is_ok());
    }

    #[test]
    fn bad_policies_are_refused_naming_the_field() {
        let msg = |i: PolicyInput| i.parse().err().map(|e| e.message).unwrap_or_default();
        assert!(msg(PolicyInput {
            policy: Some("wide".into()),
            ..Default::default()
        })
        .contains("'clientRegistration.policy'"));
        assert!(msg(PolicyInput {
            grant_types: Some(vec!["password".into()]),
            ..Default::default()
        })
        .contains("'clientRegistration.grantTypes'"));
        assert!(msg(PolicyInput {
            schemes: Some(vec!["https".into()]),
            ..Default::default()
        })
        .contains("'clientRegistration.redirectUris.schemes'"));
        assert!(msg(PolicyInput {
            https_hosts: Some(vec!["a b".into()]),
            ..Default::default()
        })
        .contains("'clientRegistration.redirectUris.httpsHosts'"));
        assert!(msg(PolicyInput {
            unused_client_lifetime: Some(1),
            ..Default::default()
        })
        .contains("'clientRegistration.unusedClientLifetime'"));
        assert!(msg(PolicyInput {
            client_types: Some(vec!["both".into()]),
            ..Default::default()
        })
        .contains("'clientRegistration.clientTypes'"));
    }
}
