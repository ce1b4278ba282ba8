//! Resource servers (RFC 8707 resource indicators): the APIs a tenant's clients may
//! ask tokens for by naming them in `resource`. Each is registered per tenant with its
//! identifier ([`ResourceUri`]), a name, the API scopes it accepts and, optionally, its
//! own access-token lifetime.
//!
//! Identifiers are compared exactly, character for character, as RFC 3986 §6.2.1's
//! simple string comparison: `https://api.example.com` and `https://api.example.com/`
//! are two resources. They are checked, not rewritten.

use crate::model::scope::Scope;
use crate::model::time::UnixTime;

/// The longest resource identifier accepted.
pub const MAX_URI_LEN: usize = 2048;
/// The longest resource name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// A resource indicator (RFC 8707 §2): an absolute URI without a fragment, kept as
/// sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceUri(String);

impl ResourceUri {
    /// Checks `s`; the error says what is wrong in plain words.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("the resource is empty; it must be an absolute URI.".to_owned());
        }
        if s.len() > MAX_URI_LEN {
            return Err(format!(
                "the resource is longer than {MAX_URI_LEN} characters."
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "the resource '{}' contains spaces or control characters.",
                s.escape_default()
            ));
        }
        if s.contains('#') {
            return Err(format!(
                "the resource '{s}' has a fragment (#…); RFC 8707 §2 forbids one."
            ));
        }
        match url::Url::parse(s) {
            Ok(_) => Ok(Self(s.to_owned())),
            Err(_) => Err(format!(
                "the resource '{s}' is not an absolute URI (such as https://api.example.com/)."
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered resource server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceServer {
    /// `0` for the built-in ones, which are not stored.
    pub id: i64,
    pub tenant_id: i64,
    pub uri: ResourceUri,
    pub name: String,
    /// The API scopes (canonical names) tokens for this resource may carry.
    pub scopes: Vec<String>,
    /// Seconds an access token whose audience this is lives; `None`: the tenant's limit.
    pub access_token_lifetime: Option<i64>,
    pub created_at: UnixTime,
    /// Whether this is one of Portcullis's own APIs, present in every tenant without
    /// registration and read-only.
    pub built_in: bool,
}

/// What a resource server is registered with (create and update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInput {
    pub uri: ResourceUri,
    pub name: String,
    pub scopes: Vec<String>,
    pub access_token_lifetime: Option<i64>,
}

/// The shortest and longest per-resource access-token lifetime (seconds).
pub const LIFETIME_RANGE: (i64, i64) = (60, 86_400);

impl ResourceInput {
    /// Checks the fields people type; the error names the field and what is wrong.
    pub fn new(
        uri: &str,
        name: &str,
        scopes: &[String],
        access_token_lifetime: Option<i64>,
    ) -> Result<Self, (&'static str, String)> {
        let uri = ResourceUri::parse(uri.trim()).map_err(|e| ("uri", e))?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err((
                "name",
                format!("the name must be 1 to {MAX_NAME_LEN} characters."),
            ));
        }
        let mut canonical: Vec<String> = Vec::new();
        for s in scopes {
            let Some(scope) = Scope::parse(s) else {
                return Err((
                    "scopes",
                    format!(
                        "'{s}' is not an API scope this server grants; use {}.",
                        crate::model::scope::KNOWN
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ));
            };
            let s = scope.as_str().to_owned();
            if !canonical.contains(&s) {
                canonical.push(s);
            }
        }
        if canonical.is_empty() {
            return Err((
                "scopes",
                "a resource must accept at least one API scope.".to_owned(),
            ));
        }
        if let Some(l) = access_token_lifetime {
            let (min, max) = LIFETIME_RANGE;
            if !(min..=max).contains(&l) {
                return Err((
                    "accessTokenLifetime",
                    format!("the lifetime must be {min} to {max} seconds, not {l}."),
                ));
            }
        }
        Ok(Self {
            uri,
            name: name.to_owned(),
            scopes: canonical,
            access_token_lifetime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_indicators_are_absolute_uris_without_fragments() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com/",
            "https://api.example.com/mcp?x=1",
            "urn:example:api",
        ] {
            assert_eq!(
                ResourceUri::parse(ok).map(|u| u.into_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in [
            "",
            "api.example.com",
            "/relative",
            "https://a.example/#f",
            "https://a b",
        ] {
            assert!(ResourceUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inputs_name_the_field_at_fault() {
        let scopes = vec!["odata".to_owned()];
        let ok = ResourceInput::new(" https://r.example/ ", " R ", &scopes, Some(600));
        assert_eq!(
            ok.map(|i| (i.uri.into_string(), i.name, i.scopes)),
            Ok((
                "https://r.example/".to_owned(),
                "R".to_owned(),
                vec!["api.access.odata".to_owned()]
            ))
        );
        let field = |r: Result<ResourceInput, (&'static str, String)>| r.err().map(|e| e.0);
        assert_eq!(
            field(ResourceInput::new("x", "R", &scopes, None)),
            Some("uri")
        );
        assert_eq!(
            field(ResourceInput::new("https://r/", "", &scopes, None)),
            Some("name")
        );
        assert_eq!(
            field(ResourceInput::new("https://r/", "R", &[], None)),
            Some("scopes")
        );
        assert_eq!(
            field(ResourceInput::new(
                "https://r/",
                "R",
                &["openid".into()],
                None
            )),
            Some("scopes")
        );
        assert_eq!(
            field(ResourceInput::new("https://r/", "R", &scopes, Some(5))),
            Some("accessTokenLifetime")
        );
    }
}
