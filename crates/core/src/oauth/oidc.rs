//! OpenID Connect: what this provider supports, in one place, for the discovery
//! document ([OpenID Connect Discovery 1.0 §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata))
//! and for the code that keeps those promises
//! ([OpenID Connect Core 1.0](https://openid.net/specs/openid-connect-core-1_0.html)).

/// The claims this provider can put in ID tokens and UserInfo answers (Core §2, §5.1).
pub const CLAIMS_SUPPORTED: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "at_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
    "locale",
    "updated_at",
];

/// Claim types (Core §5.6): only normal claims, no aggregated or distributed ones.
pub const CLAIM_TYPES_SUPPORTED: &[&str] = &["normal"];

/// The `prompt` values understood (Core §3.1.2.1); `select_account` is treated as
/// `login`, since a browser session holds one user.
pub const PROMPT_VALUES_SUPPORTED: &[&str] = &["none", "login", "consent", "select_account"];

/// How an authorization response may be returned (OAuth 2.0 Multiple Response Type
/// Encoding Practices §2.1, Form Post Response Mode §2).
pub const RESPONSE_MODES_SUPPORTED: &[&str] = &["query", "fragment", "form_post"];

/// The response types served: the authorization code flow only (implicit and hybrid
/// stay unsupported, as OAuth 2.1 and RFC 9700 advise).
pub const RESPONSE_TYPES_SUPPORTED: &[&str] = &["code"];

/// Subject identifier types (Core §8): `sub` is the same for every client.
pub const SUBJECT_TYPES_SUPPORTED: &[&str] = &["public"];

/// Algorithms that sign ID tokens (Core §3.1.3.7: RS256 is the default every client may
/// assume; ES256 on request).
pub const ID_TOKEN_SIGNING_ALGS: &[&str] = &["RS256", "ES256"];

/// Algorithms that may sign UserInfo answers, for clients that register one.
pub const USERINFO_SIGNING_ALGS: &[&str] = &["RS256", "ES256"];

/// Languages of the sign-in pages (`ui_locales` is accepted; other languages fall back
/// to these).
pub const UI_LOCALES_SUPPORTED: &[&str] = &["en"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::signing_key::SigAlg;
    use crate::oauth::params::{Prompt, ResponseMode};

    /// What discovery promises is what the code accepts and does.
    #[test]
    fn the_lists_match_what_the_code_accepts() {
        for p in PROMPT_VALUES_SUPPORTED {
            assert!(Prompt::parse(Some(p)).is_ok(), "{p}");
        }
        assert!(Prompt::parse(Some("unknown")).is_err());
        for m in RESPONSE_MODES_SUPPORTED {
            assert!(ResponseMode::parse(m).is_some(), "{m}");
        }
        for alg in ID_TOKEN_SIGNING_ALGS.iter().chain(USERINFO_SIGNING_ALGS) {
            assert!(SigAlg::parse(alg).is_some(), "{alg}");
        }
        assert_eq!(ID_TOKEN_SIGNING_ALGS.len(), SigAlg::ALL.len());
        let scope_claims = ["profile", "email"]
            .into_iter()
            .flat_map(|s| super::super::id_token::scope_claims(s).iter());
        for c in scope_claims {
            assert!(CLAIMS_SUPPORTED.contains(c), "{c}");
        }
    }
}
