//! `private_key_jwt` client authentication: the client signs a JWT with its private
//! key and presents it as `client_assertion`
//! ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2) and §3,
//! [RFC 7521 §4.2](https://www.rfc-editor.org/rfc/rfc7521#section-4.2),
//! [OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
//! Applications registered with `token_endpoint_auth_method` `private_key_jwt` (RFC
//! 7591) and confidential clients known by a client ID metadata document authenticate
//! this way, with their keys in `jwks` or behind `jwks_uri` (fetched through the
//! guarded fetcher, [`crate::upstream::fetch`]); the wiring is
//! [`super::client_auth::authenticate`].
//!
//! [`presented_assertion`] reads the request: `client_assertion_type` must be
//! [`ASSERTION_TYPE`] with a `client_assertion`, never next to a client secret or HTTP
//! Basic; the client is the assertion's `sub`, and a `client_id` in the body, if
//! sent, must name the same client.
//!
//! [`authenticate_assertion`] verifies it against the client's JWK Set:
//!
//! * **Algorithms** ([`ALGORITHMS`], advertised as
//!   `token_endpoint_auth_signing_alg_values_supported`): RS256, PS256, ES256 and
//!   EdDSA (Ed25519) — what client libraries sign with. `none` and the HMAC algorithms
//!   are refused before any key is looked at: an HMAC "key" would be the public key.
//! * **The key**: the JWK whose `kid` the header names; without a `kid`, the set's only
//!   signing key. Its type must fit the algorithm (RSA for RS256/PS256, EC P-256 for
//!   ES256, OKP Ed25519 for EdDSA), its `alg`, if given, must be the header's and its
//!   `use`, if given, `sig`. Verified with `ring`.
//! * **Claims**: `iss` = `sub` = the client id; `aud` contains one of the audiences the
//!   caller names (the issuer, the token endpoint's URL or the URL of the endpoint the
//!   assertion was sent to, as RFC 7523 §3 and OIDC Core §9 both allow, like
//!   node-oidc-provider); `exp` required and not past; `exp` at most
//!   [`MAX_LIFETIME_SECS`] (5 minutes) ahead, so a leaked assertion is short-lived and
//!   the used-`jti` list stays small; `iat` and `nbf`, if present, not in the future;
//!   [`LEEWAY_SECS`] (30 s) of clock skew each way.
//! * **Single use**: `jti` required (1–256 characters) and recorded atomically in the
//!   store ([`crate::store::AssertionStore`]) until the assertion expires; a second
//!   use is refused. The record is the last step, so a refused assertion records
//!   nothing.
//!
//! The JWS is split and its signature verified by [`crate::keys::public_jws`], which
//! DPoP proofs share ([`super::dpop`]). Every error is `invalid_client` (RFC 7521 §4.2.1), except a malformed
//! presentation, which is `invalid_request`; descriptions say what was wrong in fixed
//! words and never quote the assertion.

use super::error::OAuthError;
use super::request::{ClientAssertion, ClientCredentials};
use crate::context::Context;
use crate::keys::public_jws::{fits, Alg, Jws, JwsError};
use crate::ratelimit::FailureLimiter;
use crate::upstream::fetch::DocumentKind;
use serde_json::Value;
use url::Url;

/// The one `client_assertion_type` (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The JWS algorithms accepted, as advertised.
pub const ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];
/// Longest an assertion may be valid from now (`exp` − now).
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;
/// Longest assertion read.
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// Where the client's public keys are.
#[derive(Debug, Clone, Copy)]
pub enum JwksSource<'a> {
    /// A JWK Set registered with the client (`jwks`).
    Inline(&'a Value),
    /// A URL serving the JWK Set (`jwks_uri`), fetched through `ctx.documents`.
    Uri(&'a Url),
}

/// An assertion presented by a request, with the client it names.
#[derive(Debug, Clone, Copy)]
pub struct PresentedAssertion<'a> {
    /// The client: the assertion's (unverified) `sub`.
    pub client_id: &'a str,
    /// The JWT itself.
    pub assertion: &'a str,
}

/// The assertion a request presents, if any, refusing mixtures with other methods and
/// a `client_id` naming another client. The `sub` is read without verification, only
/// to find the client whose keys verify it.
pub fn presented_assertion(
    c: &ClientCredentials,
) -> Result<Option<(String, &ClientAssertion)>, OAuthError> {
    let Some(a) = &c.assertion else {
        return Ok(None);
    };
    match (&a.assertion_type, &a.assertion) {
        (Some(t), Some(_)) if t == ASSERTION_TYPE => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type is not supported; the one supported is {ASSERTION_TYPE}."
            )))
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type was sent without client_assertion.",
            ))
        }
        (None, _) => {
            return Err(OAuthError::invalid_request(
                "client_assertion was sent without client_assertion_type.",
            ))
        }
    }
    if c.basic.is_some() || c.body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "The client authenticated with client_assertion and with a client secret; use one method.",
        ));
    }
    let jwt = a.assertion.as_ref().map(|s| s.expose()).unwrap_or_default();
    let claims = Jws::split(jwt, MAX_ASSERTION_LEN)
        .and_then(|j| j.claims())
        .map_err(refused)?;
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return Err(OAuthError::invalid_client(
            "The client assertion has no sub claim naming the client.",
        ));
    };
    if c.body_id.as_deref().is_some_and(|id| id != sub) {
        return Err(OAuthError::invalid_request(
            "client_id in the body names a different client than the client assertion's sub.",
        ));
    }
    Ok(Some((sub.to_owned(), a)))
}

/// Verifies `assertion` as client `client_id`'s `private_key_jwt` with the keys of
/// `jwks`, accepting any of `audiences` in `aud`, and records its `jti` (see the
/// module's text for every rule). On success the client is authenticated.
pub async fn authenticate_assertion(
    ctx: &Context,
    jwks: JwksSource<'_>,
    client_id: &str,
    assertion: &str,
    audiences: &[&str],
) -> Result<(), OAuthError> {
    let now = ctx.now();
    let jws = Jws::split(assertion, MAX_ASSERTION_LEN).map_err(refused)?;
    let alg = jws.alg(ACCEPTED).map_err(refused)?;
    let fetched;
    let set = match jwks {
        JwksSource::Inline(set) => set,
        JwksSource::Uri(url) => {
            fetched = ctx
                .documents
                .get(url, DocumentKind::Jwks, now)
                .await
                .map_err(|e| {
                    OAuthError::invalid_client(format!(
                        "The client's jwks_uri could not be used: {e}."
                    ))
                })?;
            fetched.as_ref()
        }
    };
    let key = select_key(set, jws.header.get("kid").and_then(Value::as_str), alg)?;
    jws.verify(alg, key).map_err(refused)?;
    let claims = jws.claims().map_err(refused)?;
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if str_claim("iss") != Some(client_id) {
        return Err(bad("its iss claim is not the client's client_id"));
    }
    if str_claim("sub") != Some(client_id) {
        return Err(bad("its sub claim is not the client's client_id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.contains(&a)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad(&format!(
            "its aud claim does not name this server; use the token endpoint's URL or the issuer ({})",
            audiences.first().copied().unwrap_or_default()
        )));
    }
    let time = |name: &str| -> Result<Option<i64>, OAuthError> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| bad(&format!("its {name} claim is not a number of seconds"))),
        }
    };
    let Some(exp) = time("exp")? else {
        return Err(bad("it has no exp claim"));
    };
    if exp.saturating_add(LEEWAY_SECS) <= now {
        return Err(bad("it has expired"));
    }
    if exp > now + MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(bad(&format!(
            "its exp is more than {MAX_LIFETIME_SECS} seconds ahead; assertions must be short-lived"
        )));
    }
    if time("iat")?.is_some_and(|iat| iat > now + LEEWAY_SECS) {
        return Err(bad("its iat claim is in the future"));
    }
    if time("nbf")?.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
        return Err(bad("it is not valid yet (nbf)"));
    }
    let jti = match str_claim("jti") {
        Some(j) if !j.is_empty() && j.len() <= MAX_JTI_LEN => j,
        Some(_) => {
            return Err(bad(&format!(
                "its jti claim is empty or longer than {MAX_JTI_LEN} characters"
            )))
        }
        None => return Err(bad("it has no jti claim, which makes it single-use")),
    };
    let first = ctx
        .store
        .use_assertion_jti(client_id, jti, exp.saturating_add(LEEWAY_SECS), now)
        .await?;
    if !first {
        return Err(bad(
            "it was already used (its jti was seen before); sign a new assertion for each request",
        ));
    }
    Ok(())
}

/// The wiring's one call for a client that presented an assertion
/// ([`presented_assertion`] gave `client_id` and `assertion`): the failure rate limit
/// of client authentication (`limit_keys` from `client_auth::limit_keys`, checked
/// first, a refusal counted), then [`authenticate_assertion`] with the client's keys
/// — `None` when the client registered none, which is refused.
#[allow(clippy::too_many_arguments)]
pub async fn authenticate_presented(
    ctx: &Context,
    limiter: &FailureLimiter,
    limit_keys: &[String],
    client_id: &str,
    assertion: &ClientAssertion,
    jwks: Option<JwksSource<'_>>,
    audiences: &[&str],
) -> Result<(), OAuthError> {
    let now = ctx.now();
    limiter
        .check(limit_keys, now)
        .map_err(OAuthError::too_many)?;
    let outcome = match (jwks, &assertion.assertion) {
        (Some(jwks), Some(jwt)) => {
            authenticate_assertion(ctx, jwks, client_id, jwt.expose(), audiences).await
        }
        (None, _) => Err(OAuthError::invalid_client(
            "This client registered no keys (jwks or jwks_uri), so it cannot authenticate with a client assertion.",
        )),
        (_, None) => Err(OAuthError::invalid_request(
            "client_assertion_type was sent without client_assertion.",
        )),
    };
    if outcome.is_err() {
        limiter.record_failure(limit_keys, now);
    }
    outcome
}

/// `invalid_client` with "The client assertion was refused: {why}."
fn bad(why: &str) -> OAuthError {
    OAuthError::invalid_client(format!("The client assertion was refused: {why}."))
}

/// [`ALGORITHMS`] as [`Alg`]s.
const ACCEPTED: &[Alg] = &[Alg::Rs256, Alg::Ps256, Alg::Es256, Alg::EdDsa];

/// A refused JWS, in this module's words.
fn refused(e: JwsError) -> OAuthError {
    bad(&match e {
        JwsError::TooLong => format!("it is longer than {MAX_ASSERTION_LEN} bytes"),
        JwsError::Malformed => "it is not a JWT (a compact JWS of three base64url parts)".into(),
        JwsError::Crit => {
            "it names critical header extensions (crit), which are not supported".into()
        }
        JwsError::Alg => format!("its alg is not one of {}", ALGORITHMS.join(", ")),
        JwsError::ClaimsNotBase64 => "its claims are not base64url".into(),
        JwsError::ClaimsNotObject => "its claims are not a JSON object".into(),
        JwsError::UnusableKey => "the client's key is not a usable public key".into(),
        JwsError::BadSignature => "its signature does not verify with the client's key".into(),
    })
}

/// The key of `set` that signed with `alg`: the one named `kid`, or the only signing
/// key when there is no `kid`.
fn select_key<'s>(set: &'s Value, kid: Option<&str>, alg: Alg) -> Result<&'s Value, OAuthError> {
    let Some(keys) = set.get("keys").and_then(Value::as_array) else {
        return Err(bad("the client's JWK Set has no keys member"));
    };
    let signing: Vec<&Value> = keys
        .iter()
        .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
        .collect();
    let key = match kid {
        Some(kid) => {
            let named: Vec<&Value> = signing
                .iter()
                .copied()
                .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
                .collect();
            match named.as_slice() {
                [] => return Err(bad("its kid names no signing key in the client's JWK Set")),
                [one] => *one,
                _ => named
                    .iter()
                    .copied()
                    .find(|k| fits(k, alg))
                    .ok_or_else(|| bad("its kid names keys of another type than its alg"))?,
            }
        }
        None => match signing.as_slice() {
            [one] => *one,
            [] => return Err(bad("the client's JWK Set has no signing key")),
            _ => {
                return Err(bad(
                    "it has no kid and the client's JWK Set has several signing keys; name the key with kid",
                ))
            }
        },
    };
    if !fits(key, alg) {
        return Err(bad("the key's type does not fit its alg"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
