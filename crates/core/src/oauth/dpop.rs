//! DPoP, Demonstrating Proof of Possession
//! ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)): a client proves, with each
//! request, that it holds the private key its tokens are bound to.
//!
//! **A proof** (§4.2, §4.3) is the `DPoP` header's JWT, checked by [`verify`]:
//!
//! * header `typ` `dpop+jwt`; `alg` one of [`ALGORITHMS`] (advertised as
//!   `dpop_signing_alg_values_supported`; `none` and HMAC are refused: the key is
//!   public); `jwk` the public key, of the algorithm's type, with no private member
//!   ([`PRIVATE_MEMBERS`]); the signature verifies with it
//!   ([`crate::keys::public_jws`], shared with `private_key_jwt`);
//! * `htm` the request's method; `htu` the request's URL built from the server's
//!   public URL (the issuer) and the path — never the `Host` header — compared
//!   without query and fragment after URL normalisation (§4.3 item 9);
//! * `iat` no more than [`IAT_MAX_AGE_SECS`] (60 s) old and no more than
//!   [`IAT_MAX_AHEAD_SECS`] (10 s) ahead, by the injected clock;
//! * `jti` (1–256 characters) used once: recorded in the used-assertions store
//!   ([`crate::store::AssertionStore`], shared by every node) under the key
//!   `dpop:<jkt>` until the proof could no longer be accepted, so a replay is refused
//!   on any node; the record is the last check, so a refused proof records nothing;
//! * at a resource, `ath` the base64url SHA-256 of the access token (§4.3 item 11);
//! * when nonces are on, `nonce` a current server nonce ([`nonce`]), else
//!   `use_dpop_nonce` (§8, §9).
//!
//! **Nonces** are stateless: the keyed MAC (the server's cache key, the same on every
//! node) of a [`NONCE_SLOT_SECS`] (5 minute) time slot; the current and the previous
//! slot's are accepted, so a nonce lives 5 to 10 minutes and no node stores one.
//!
//! **Binding.** [`super::token::exchange`] runs every token request in a binding
//! scope ([`scoped`], a tokio task-local) and, once the proof is verified, [`bind`]s
//! its key thumbprint; [`super::token::mint`] reads it ([`binding`]) and writes
//! `cnf.jkt` into every access token it signs, so every grant dispatched by
//! `exchange` — present and future — binds without code of its own. The refresh
//! tokens of public clients are bound through their family (`Family::dpop_jkt`,
//! written by [`super::token::issue_for_user`]); confidential clients' are not (§5:
//! they authenticate anyway).

use super::error::{ErrorCode, OAuthError};
use crate::context::Context;
use crate::keys::public_jws::{fits, Alg, Jws, JwsError};
use crate::model::client_app::ClientApp;
use crate::model::confirmation::Confirmation;
use crate::model::time::UnixTime;
use crate::model::token::Family;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use std::cell::RefCell;
use std::future::Future;
use subtle::ConstantTimeEq;
use url::Url;

/// The proof's `typ` header (§4.2).
pub const TYP: &str = "dpop+jwt";
/// The algorithms accepted, as advertised.
pub const ALGORITHMS: &[&str] = &["ES256", "RS256", "EdDSA"];
const ACCEPTED: &[Alg] = &[Alg::Es256, Alg::Rs256, Alg::EdDsa];
/// Oldest a proof's `iat` may be.
pub const IAT_MAX_AGE_SECS: i64 = 60;
/// Furthest ahead a proof's `iat` may be (clients' clocks run a little fast).
pub const IAT_MAX_AHEAD_SECS: i64 = 10;
/// Length of a nonce's time slot; a nonce is accepted in its slot and the next.
pub const NONCE_SLOT_SECS: i64 = 300;
/// Longest proof read.
pub const MAX_PROOF_LEN: usize = 8 * 1024;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;
/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof must match: the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The HTTP method (`htm`).
    pub method: &'a str,
    /// The request's URL: the issuer and the path (`htu`).
    pub url: &'a str,
    /// At a resource, the access token presented (`ath`); `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    /// Whether a server nonce is required (the `dpop_nonces` setting).
    pub require_nonce: bool,
}

/// A proof as the token endpoint's request carried it (the HTTP layer fills it in).
#[derive(Debug, Clone)]
pub struct Presented {
    /// The `DPoP` header's value.
    pub proof: String,
    /// The URL the request was sent to: the issuer and the endpoint's path.
    pub url: String,
    /// Whether a server nonce is required.
    pub require_nonce: bool,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// `invalid_dpop_proof`, with what was wrong.
    Invalid(String),
    /// `use_dpop_nonce`: no nonce, or a stale one.
    UseNonce,
    /// The store failed (already logged by the conversion).
    Server(OAuthError),
}

impl From<ProofError> for OAuthError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::Invalid(why) => OAuthError::new(ErrorCode::InvalidDpopProof, why),
            ProofError::UseNonce => OAuthError::new(
                ErrorCode::UseDpopNonce,
                "The DPoP proof must carry the server's nonce; sign it again with the nonce of the DPoP-Nonce header.",
            ),
            ProofError::Server(e) => e,
        }
    }
}

fn bad(why: &str) -> ProofError {
    ProofError::Invalid(format!("The DPoP proof was refused: {why}."))
}

fn refused(e: JwsError) -> ProofError {
    bad(&match e {
        JwsError::TooLong => format!("it is longer than {MAX_PROOF_LEN} bytes"),
        JwsError::Malformed => "it is not a JWT (a compact JWS of three base64url parts)".into(),
        JwsError::Crit => "it names critical header extensions (crit)".into(),
        JwsError::Alg => format!("its alg is not one of {}", ALGORITHMS.join(", ")),
        JwsError::ClaimsNotBase64 | JwsError::ClaimsNotObject => {
            "its claims are not a base64url JSON object".into()
        }
        JwsError::UnusableKey => "its jwk is not a usable public key".into(),
        JwsError::BadSignature => "its signature does not verify with its jwk".into(),
    })
}

/// Verifies `proof` for the request `expected` describes (every rule is in the
/// module's text) and records its `jti`; returns the key's thumbprint (`jkt`).
pub async fn verify(
    ctx: &Context,
    proof: &str,
    expected: &Expected<'_>,
) -> Result<String, ProofError> {
    let now = ctx.now();
    let jws = Jws::split(proof, MAX_PROOF_LEN).map_err(refused)?;
    if jws.header.get("typ").and_then(Value::as_str) != Some(TYP) {
        return Err(bad("its typ header is not dpop+jwt"));
    }
    let alg = jws.alg(ACCEPTED).map_err(refused)?;
    let Some(jwk) = jws.header.get("jwk").filter(|j| j.is_object()) else {
        return Err(bad("its header has no jwk (the public key)"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.get(m).is_some()) {
        return Err(bad(
            "its jwk carries private key material; send the public key only",
        ));
    }
    if !fits(jwk, alg) {
        return Err(bad("its jwk is not a key of its alg"));
    }
    jws.verify(alg, jwk).map_err(refused)?;
    let claims = jws.claims().map_err(refused)?;
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if str_claim("htm") != Some(expected.method) {
        return Err(bad(&format!(
            "its htm is not {}, this request's method",
            expected.method
        )));
    }
    if !str_claim("htu").is_some_and(|htu| same_target(htu, expected.url)) {
        return Err(bad(&format!(
            "its htu is not {}, this request's URL",
            expected.url
        )));
    }
    let Some(iat) = claims
        .get("iat")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    else {
        return Err(bad("it has no iat claim (a number of seconds)"));
    };
    if iat < now - IAT_MAX_AGE_SECS {
        return Err(bad(&format!(
            "it is more than {IAT_MAX_AGE_SECS} seconds old (iat); sign a new proof for each request"
        )));
    }
    if iat > now + IAT_MAX_AHEAD_SECS {
        return Err(bad("its iat is in the future"));
    }
    let jti = match str_claim("jti") {
        Some(j) if !j.is_empty() && j.len() <= MAX_JTI_LEN => j,
        _ => {
            return Err(bad(&format!(
                "it has no jti claim of 1 to {MAX_JTI_LEN} characters"
            )))
        }
    };
    if let Some(token) = expected.access_token {
        match str_claim("ath") {
            None => return Err(bad("it has no ath claim (the access token's hash)")),
            Some(ath) if !bool::from(ath.as_bytes().ct_eq(token_hash(token).as_bytes())) => {
                return Err(bad("its ath is not the hash of this access token"))
            }
            Some(_) => {}
        }
    }
    if expected.require_nonce && !str_claim("nonce").is_some_and(|n| nonce_is_current(ctx, n, now))
    {
        return Err(ProofError::UseNonce);
    }
    let jkt = thumbprint(jwk).ok_or_else(|| bad("its jwk is not a usable public key"))?;
    let first = ctx
        .store
        .use_assertion_jti(&format!("dpop:{jkt}"), jti, iat + IAT_MAX_AGE_SECS + 1, now)
        .await
        .map_err(|e| ProofError::Server(e.into()))?;
    if !first {
        return Err(bad(
            "it was already used (its jti was seen before); sign a new proof for each request",
        ));
    }
    Ok(jkt)
}

/// Whether `htu` names `url`: both parsed and normalised, without query and fragment.
fn same_target(htu: &str, url: &str) -> bool {
    let bare = |s: &str| {
        Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    matches!((bare(htu), bare(url)), (Some(a), Some(b)) if a == b)
}

/// `ath`: base64url(SHA-256(token)) (§4.2).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// The JWK SHA-256 thumbprint of a public key (RFC 7638 §3): its required members in
/// lexicographic order, no whitespace.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let canonical = match member("kty")? {
        "EC" => {
            serde_json::json!({"crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?})
        }
        "RSA" => serde_json::json!({"e": member("e")?, "kty": "RSA", "n": member("n")?}),
        "OKP" => serde_json::json!({"crv": member("crv")?, "kty": "OKP", "x": member("x")?}),
        _ => return None,
    };
    // serde_json's map keeps keys sorted, which is the order RFC 7638 asks for.
    let text = serde_json::to_string(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes())))
}

/// The server nonce of the time slot of `now` (§8): the same on every node.
pub fn nonce(ctx: &Context, now: UnixTime) -> String {
    nonce_of_slot(ctx, now.div_euclid(NONCE_SLOT_SECS))
}

fn nonce_of_slot(ctx: &Context, slot: i64) -> String {
    let mac = ctx.keys.cache_key(&[b"dpop-nonce", &slot.to_be_bytes()]);
    URL_SAFE_NO_PAD.encode(&mac[..18])
}

/// Whether `n` is the nonce of the current slot or of the previous one.
fn nonce_is_current(ctx: &Context, n: &str, now: UnixTime) -> bool {
    let slot = now.div_euclid(NONCE_SLOT_SECS);
    [slot, slot - 1]
        .into_iter()
        .any(|s| bool::from(n.as_bytes().ct_eq(nonce_of_slot(ctx, s).as_bytes())))
}

tokio::task_local! {
    /// The thumbprint of the key the tokens being issued are bound to.
    static BINDING: RefCell<Option<String>>;
}

/// Runs a token request (`token::exchange`) in a binding scope, unbound at first.
pub async fn scoped<F: Future>(request: F) -> F::Output {
    BINDING.scope(RefCell::new(None), request).await
}

/// Binds the tokens issued from now on in this scope to `jkt` (none: Bearer tokens).
/// Outside [`scoped`] it does nothing: tokens minted elsewhere are never bound.
pub fn bind(jkt: Option<String>) {
    let _ = BINDING.try_with(|b| *b.borrow_mut() = jkt);
}

/// The key the tokens being issued are bound to, inside [`scoped`] after [`bind`].
pub fn binding() -> Option<String> {
    BINDING.try_with(|b| b.borrow().clone()).ok().flatten()
}

/// The `cnf` of an access token minted now.
pub fn confirmation() -> Option<Confirmation> {
    binding().map(|jkt| Confirmation { jkt })
}

/// At a refresh: a grant bound to a key (a public client's, RFC 9449 §5) needs a
/// proof by that key.
pub fn check_refresh(family: &Family) -> Result<(), OAuthError> {
    require_key(
        family.dpop_jkt.as_deref(),
        "The refresh token is bound to a DPoP key; send a DPoP proof signed with the key it was issued to.",
    )
}

/// `invalid_grant` with `why` unless the request's proof was signed by `bound` (when
/// something is bound).
fn require_key(bound: Option<&str>, why: &str) -> Result<(), OAuthError> {
    match (bound, binding()) {
        (None, _) => Ok(()),
        (Some(b), Some(jkt)) if bool::from(jkt.as_bytes().ct_eq(b.as_bytes())) => Ok(()),
        (Some(_), _) => Err(OAuthError::invalid_grant(why)),
    }
}

/// An authorization request's `dpop_jkt` (RFC 9449 §10), if sent, must be a SHA-256
/// JWK thumbprint: 43 base64url characters.
pub fn check_dpop_jkt(jkt: Option<&str>) -> Result<(), OAuthError> {
    match jkt {
        Some(j)
            if j.len() != 43
                || !j
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Err(OAuthError::invalid_request(
                "dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters, RFC 7638).",
            ))
        }
        _ => Ok(()),
    }
}

/// A pushed authorization request with a `DPoP` header (RFC 9449 §10.1): the proof
/// is verified and its key becomes the request's `dpop_jkt` (a `dpop_jkt` sent too
/// must name the same key).
pub async fn at_par(
    ctx: &Context,
    presented: Option<&Presented>,
    pairs: &mut Vec<(String, String)>,
) -> Result<(), OAuthError> {
    let Some(p) = presented else {
        return Ok(());
    };
    let expected = Expected {
        method: "POST",
        url: &p.url,
        access_token: None,
        require_nonce: p.require_nonce,
    };
    let jkt = verify(ctx, &p.proof, &expected).await?;
    match pairs.iter().find(|(k, _)| k == "dpop_jkt") {
        Some((_, sent)) if *sent != jkt => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "dpop_jkt names another key than the one that signed the DPoP proof.",
        )),
        Some(_) => Ok(()),
        None => {
            pairs.push(("dpop_jkt".to_owned(), jkt));
            Ok(())
        }
    }
}

/// At a code exchange: a code whose request named `dpop_jkt` needs a proof by that
/// key (RFC 9449 §10).
pub fn check_code(dpop_jkt: Option<&str>) -> Result<(), OAuthError> {
    require_key(
        dpop_jkt,
        "The authorization request named a DPoP key (dpop_jkt); the code exchange needs a DPoP proof signed with that key.",
    )
}

/// Verifies the token request's proof, if any (at the token endpoint, `POST`), for
/// the authenticated `app`: one registered with `dpop_bound_access_tokens` must send
/// one (RFC 9449 §5.2).
pub async fn verify_presented(
    ctx: &Context,
    app: &ClientApp,
    presented: Option<&Presented>,
) -> Result<Option<String>, OAuthError> {
    let Some(p) = presented else {
        if app.profile.dpop_bound_access_tokens {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "This client is registered with dpop_bound_access_tokens: its token requests need a DPoP proof (the DPoP header).",
            ));
        }
        return Ok(None);
    };
    let expected = Expected {
        method: "POST",
        url: &p.url,
        access_token: None,
        require_nonce: p.require_nonce,
    };
    Ok(Some(verify(ctx, &p.proof, &expected).await?))
}

/// How an access token was presented at a resource (RFC 9449 §7).
#[derive(Debug, Clone, Copy)]
pub struct AtResource<'a> {
    /// `Authorization: DPoP` (rather than `Bearer`).
    pub dpop_scheme: bool,
    /// The `DPoP` header, if one was sent.
    pub proof: Option<&'a str>,
    pub token: &'a str,
    pub method: &'a str,
    pub url: &'a str,
    pub require_nonce: bool,
}

/// Why a resource refuses a token's presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRefusal {
    /// `invalid_token`: the scheme does not fit the token.
    Token(&'static str),
    /// A proof that is missing or refused.
    Proof(ProofError),
}

/// Checks how a valid access token whose `cnf` is `cnf` was presented: a bound token
/// needs the `DPoP` scheme and a proof by its key, with `ath`; an unbound one the
/// `Bearer` scheme.
pub async fn check_at_resource(
    ctx: &Context,
    at: &AtResource<'_>,
    cnf: Option<&Confirmation>,
) -> Result<(), ResourceRefusal> {
    let Some(cnf) = cnf else {
        return if at.dpop_scheme {
            Err(ResourceRefusal::Token(
                "The access token is not DPoP-bound; present it with Authorization: Bearer.",
            ))
        } else {
            Ok(())
        };
    };
    if !at.dpop_scheme {
        return Err(ResourceRefusal::Token(
            "The access token is DPoP-bound; present it with Authorization: DPoP and a DPoP proof.",
        ));
    }
    let Some(proof) = at.proof else {
        return Err(ResourceRefusal::Proof(bad(
            "no DPoP header was sent with the DPoP-bound access token",
        )));
    };
    let expected = Expected {
        method: at.method,
        url: at.url,
        access_token: Some(at.token),
        require_nonce: at.require_nonce,
    };
    let jkt = verify(ctx, proof, &expected)
        .await
        .map_err(ResourceRefusal::Proof)?;
    if !bool::from(jkt.as_bytes().ct_eq(cnf.jkt.as_bytes())) {
        return Err(ResourceRefusal::Proof(bad(
            "it is signed by another key than the one the access token is bound to",
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_is_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    /// An RS256 proof by a new RSA key, for `POST URL` with `jti`.
    fn rs256_proof(pkcs8: &[u8], alg: &str, jti: &str, iat: i64) -> (String, Value) {
        use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
        let key = RsaKeyPair::from_pkcs8(pkcs8).expect("rsa");
        let parts = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key.public());
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let jwk = serde_json::json!({"kty": "RSA", "n": b64(&parts.n), "e": b64(&parts.e)});
        let header = serde_json::json!({"typ": TYP, "alg": alg, "jwk": jwk});
        let claims = serde_json::json!({"htm": "POST", "htu": URL, "iat": iat, "jti": jti});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("sign");
        (format!("{input}.{}", b64(&sig)), jwk)
    }

    const URL: &str = "http://portcullis.test/oauth2/token";

    #[tokio::test]
    async fn an_rs256_proof_verifies_once_and_ps256_is_not_accepted() {
        use crate::clock::Clock as _;
        let (ctx, clock) = crate::testing::test_context().await;
        let pkcs8 = crate::keys::rs256::generate_pkcs8().expect("rsa");
        let expected = Expected {
            method: "POST",
            url: URL,
            access_token: None,
            require_nonce: false,
        };
        let (proof, jwk) = rs256_proof(&pkcs8, "RS256", "j-1", clock.now());
        let jkt = verify(&ctx, &proof, &expected).await.expect("accepted");
        assert_eq!(Some(jkt), thumbprint(&jwk));
        assert!(
            matches!(verify(&ctx, &proof, &expected).await, Err(ProofError::Invalid(d)) if d.contains("already used"))
        );
        // PS256 is for client assertions, not advertised for DPoP.
        let (proof, _) = rs256_proof(&pkcs8, "PS256", "j-2", clock.now());
        assert!(
            matches!(verify(&ctx, &proof, &expected).await, Err(ProofError::Invalid(d)) if d.contains("alg"))
        );
        // After the window the replayed jti is refused for its age.
        clock.advance(IAT_MAX_AGE_SECS + 1);
        let (proof, _) = rs256_proof(&pkcs8, "RS256", "j-1", clock.now() - IAT_MAX_AGE_SECS - 1);
        assert!(
            matches!(verify(&ctx, &proof, &expected).await, Err(ProofError::Invalid(d)) if d.contains("old"))
        );
    }

    #[test]
    fn htu_is_compared_without_query_and_fragment_after_normalising() {
        assert!(same_target(
            "HTTPS://Example.com:443/oauth2/token?x=1#f",
            "https://example.com/oauth2/token"
        ));
        assert!(!same_target(
            "https://example.com/oauth2/userinfo",
            "https://example.com/oauth2/token"
        ));
        assert!(!same_target("not a url", "https://example.com/"));
    }
}
