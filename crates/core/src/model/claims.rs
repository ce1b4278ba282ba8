//! The claims of a JWT access token (RFC 9068 §2.2), with this server's private
//! claims that let every node check a token against current state.

use serde::{Deserialize, Serialize};

/// Claims of an access token. `typ` in the header is `at+jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer: the server's public URL.
    pub iss: String,
    /// The user id (as a string) or, for `client_credentials`, the client id.
    pub sub: String,
    /// The audience: the issuer (Portcullis is also the resource server), or the
    /// resource indicators (RFC 8707) the token was asked for.
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    /// Unique token id (revocation by jti).
    pub jti: String,
    pub client_id: String,
    /// Space-separated granted scopes.
    pub scope: String,
    /// The tenant id.
    pub tenant: i64,
    /// The user's login name, when a user is the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Private: the user's `auth_version` at issuance; a password change, lock,
    /// deactivation or change of permissions ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub av: Option<i64>,
    /// Private: the grant (token family) the token belongs to; revoking the family
    /// or the consent behind it ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// Private, on a client's own tokens: a digest of the client secret they were
    /// issued under, so resetting the secret ends them even within the same second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sv: Option<String>,
    /// Private: the claims an OpenID Connect `claims` request asked the UserInfo
    /// endpoint for by name (rare; absent otherwise), so userinfo needs no lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uc: Option<Vec<String>>,
    /// The acting party of a delegated token (RFC 8693 §4.1), set by token exchange;
    /// absent on every other token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Act>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1); absent on Bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<super::confirmation::Confirmation>,
}

/// An `act` claim (RFC 8693 §4.1): who acts for the subject, and inside it, who acted
/// before (the subject token's own `act`, when it was already delegated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    /// The actor: a user id, or a client id for a client's own token.
    pub sub: String,
    /// The client the actor's token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The prior actor, when the subject token was itself delegated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Act>>,
}

/// An `aud` claim (RFC 7519 §4.1.3): one string, or several as an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// `values` as a claim: a string for one, an array for several.
    pub fn of(mut values: Vec<String>) -> Self {
        if values.len() == 1 {
            Audience::One(values.remove(0))
        } else {
            Audience::Many(values)
        }
    }

    /// Whether `aud` is (one of) the audience.
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(list) => list.iter().any(|a| a == aud),
        }
    }

    /// The audience as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Audience::One(a) => vec![a.clone()],
            Audience::Many(list) => list.clone(),
        }
    }
}

impl From<&str> for Audience {
    fn from(s: &str) -> Self {
        Audience::One(s.to_owned())
    }
}

impl From<String> for Audience {
    fn from(s: String) -> Self {
        Audience::One(s)
    }
}

impl AccessClaims {
    /// The user id when a user is the subject.
    pub fn user_id(&self) -> Option<i64> {
        self.username.as_ref().and_then(|_| self.sub.parse().ok())
    }

    /// Whether the token is for `aud`.
    pub fn has_audience(&self, aud: &str) -> bool {
        self.aud.contains(aud)
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}
