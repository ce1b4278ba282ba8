//! Token exchange (RFC 8693): the grant and token-type names, a client's exchange
//! policy (impersonation or delegation), and the record of a vault retrieval.

use crate::model::time::UnixTime;

/// The grant type (RFC 8693 §2.1).
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// An OAuth access token (RFC 8693 §3): the only subject, actor and requested type.
pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// A JWT (RFC 8693 §3): our access tokens are JWTs, so a client may name them so.
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The scope an administrator gives a client so that it may retrieve users' upstream
/// tokens from the vault by token exchange.
pub const VAULT_RETRIEVE: &str = "vault.retrieve";

/// Whether a subject or actor token type names something we can read: an access
/// token, which ours are, or a JWT, which ours also are.
pub fn readable_type(t: &str) -> bool {
    t == ACCESS_TOKEN || t == JWT
}

/// What a client may do with token exchange, set by administrators (HDP client-app
/// field `tokenExchangePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExchangePolicy {
    /// Every exchange names an actor (`actor_token`); the issued token says who acts
    /// for the subject in its `act` claim. The default.
    #[default]
    Delegation,
    /// An exchange may also go without an actor: the issued token is the subject's,
    /// with no trace of the client that exchanged it. Delegation remains allowed.
    Impersonation,
}

impl ExchangePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delegation => "delegation",
            Self::Impersonation => "impersonation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delegation" => Some(Self::Delegation),
            "impersonation" => Some(Self::Impersonation),
            _ => None,
        }
    }
}

/// How a vault retrieval ended (recorded; never a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrievalOutcome {
    /// The stored token was fresh enough and handed over without an upstream call.
    Stored,
    /// The stored token was refreshed at the upstream first.
    Refreshed,
    /// The upstream refused or failed the refresh; nothing was handed over.
    UpstreamFailed,
}

impl RetrievalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Refreshed => "refreshed",
            Self::UpstreamFailed => "upstream_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stored" => Some(Self::Stored),
            "refreshed" => Some(Self::Refreshed),
            "upstream_failed" => Some(Self::UpstreamFailed),
            _ => None,
        }
    }
}

/// One vault retrieval by token exchange: who, through which client, which profile,
/// when, and how it ended. No token value is ever part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRetrieval {
    pub tenant_id: i64,
    pub user_id: i64,
    pub client_app_id: i64,
    pub oauth_profile_id: i64,
    pub at: UnixTime,
    pub outcome: RetrievalOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in [ExchangePolicy::Delegation, ExchangePolicy::Impersonation] {
            assert_eq!(ExchangePolicy::parse(p.as_str()), Some(p));
        }
        for o in [
            RetrievalOutcome::Stored,
            RetrievalOutcome::Refreshed,
            RetrievalOutcome::UpstreamFailed,
        ] {
            assert_eq!(RetrievalOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(ExchangePolicy::parse("both"), None);
    }

    #[test]
    fn a_public_client_cannot_be_allowed_token_exchange() {
        use crate::model::client_app::{parse_grant_types, GrantType};
        let grant = [GRANT.to_owned()];
        assert!(parse_grant_types(Some(&grant), true).is_err());
        assert_eq!(
            parse_grant_types(Some(&grant), false).ok(),
            Some(vec![GrantType::TokenExchange])
        );
    }
}
