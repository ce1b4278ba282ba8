//! OAuth scopes Portcullis knows (RFC 6749 §3.3), and HDP's spelling of them.

use std::fmt;

/// OData access, HDP's only documented scope.
pub const ODATA: &str = "api.access.odata";
/// The older HDP spelling of [`ODATA`], accepted as an alias.
pub const ODATA_ALIAS: &str = "odata";
/// Management API access by Bearer token (a Portcullis extension).
pub const MGMT: &str = "api.access.mgmt";

/// Every scope this server can grant, with the words a consent page shows for it.
pub const KNOWN: &[(&str, &str)] = &[
    (ODATA, "Allow data access via OData"),
    (MGMT, "Allow use of the Management API"),
    (
        crate::model::token_exchange::VAULT_RETRIEVE,
        "Hand your third-party (vault) tokens to this application",
    ),
];

/// OpenID Connect's scope, asking for an ID token (OIDC Core §3.1.2.1).
pub const OPENID: &str = "openid";
/// Asks for a refresh token usable while the user is away (OIDC Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The identity scopes of OpenID Connect (OIDC Core §5.4, §11), with their consent
/// wording. Unlike the API scopes of [`KNOWN`], they are available to every
/// application of every tenant: they govern what is said about the signed-in user,
/// not which API may be called, so tenants' `allowedScopes` and applications'
/// `scopes` do not list them.
pub const IDENTITY: &[(&str, &str)] = &[
    (OPENID, "Sign you in with your account"),
    ("profile", "See your name, user name and language"),
    ("email", "See your email address"),
    (
        OFFLINE_ACCESS,
        "Stay connected while you are away (refresh tokens)",
    ),
];

/// Whether `s` is one of the [`IDENTITY`] scopes.
pub fn is_identity(s: &str) -> bool {
    IDENTITY.iter().any(|(n, _)| *n == s)
}

/// The canonical name of any scope this server grants, API or identity (`odata`
/// becomes `api.access.odata`).
pub fn canonical(s: &str) -> Option<&'static str> {
    Scope::parse(s)
        .map(|s| s.as_str())
        .or_else(|| IDENTITY.iter().find(|(n, _)| *n == s).map(|(n, _)| *n))
}

/// The consent-page wording of any scope this server grants.
pub fn describe(s: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .chain(IDENTITY)
        .find(|(n, _)| *n == s)
        .map(|(_, d)| *d)
}

/// Every scope this server can grant (`scopes_supported` in the metadata).
pub fn supported() -> impl Iterator<Item = &'static str> {
    KNOWN.iter().chain(IDENTITY).map(|(n, _)| *n)
}

/// An API scope name known to this server, in canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(&'static str);

impl Scope {
    /// Parses a scope token, mapping HDP's `odata` alias to `api.access.odata`.
    pub fn parse(s: &str) -> Option<Scope> {
        let s = if s == ODATA_ALIAS { ODATA } else { s };
        KNOWN
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(name, _)| Scope(name))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The consent-page wording for this scope.
    pub fn description(&self) -> &'static str {
        KNOWN
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|(_, d)| *d)
            .unwrap_or("")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Merges two scope lists keeping first-seen order, without duplicates.
pub fn union_scopes(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_odata_alias_maps_to_the_canonical_scope() {
        assert_eq!(Scope::parse("odata").map(|s| s.as_str()), Some(ODATA));
        assert_eq!(Scope::parse(ODATA).map(|s| s.as_str()), Some(ODATA));
        assert_eq!(
            Scope::parse("openid"),
            None,
            "an identity scope, not an API scope"
        );
        assert_eq!(canonical("openid"), Some(OPENID));
        assert_eq!(canonical("odata"), Some(ODATA));
        assert_eq!(canonical("phone"), None);
        assert!(describe("email").is_some());
    }
}
