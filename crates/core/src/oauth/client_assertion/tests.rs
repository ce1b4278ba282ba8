//! Each rule of `private_key_jwt`, with keys generated here and signed by `ring`.

#![allow(clippy::expect_used)]

use super::*;
use crate::crypto::Secret;
use crate::ratelimit::FailureLimiter;
use crate::testing::test_context;
use crate::upstream::fetch::{
    CacheSettings, DocumentFetcher, Documents, FetchError, Fetched, Freshness,
};
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

const CLIENT: &str = "https://agent.example/client.json";
const TOKEN_URL: &str = "http://portcullis.test/oauth2/token";
const ISSUER: &str = "http://portcullis.test";
const AUDIENCES: &[&str] = &[ISSUER, TOKEN_URL];

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One RSA key for all tests (generating one takes a while in a debug build).
fn rsa_pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| crate::keys::rs256::generate_pkcs8().expect("rsa"))
}

fn rsa() -> Key {
    Key::Rsa(RsaKeyPair::from_pkcs8(rsa_pkcs8()).expect("rsa"))
}

fn ec() -> Key {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("ec");
    Key::Ec(
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("ec"),
    )
}

fn ed() -> Key {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("ed");
    Key::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ed"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Key {
    fn jwk(&self, kid: &str) -> Value {
        match self {
            Key::Rsa(k) => {
                let parts = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(k.public());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&parts.n), "e": b64(&parts.e)})
            }
            Key::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(&p[1..33]), "y": b64(&p[33..])})
            }
            Key::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(k.public_key().as_ref())})
            }
        }
    }

    fn sign(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                let padding: &dyn ring::signature::RsaEncoding = if alg == "PS256" {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                k.sign(padding, &rng, input, &mut sig).expect("sign");
                sig
            }
            Key::Ec(k) => k.sign(&rng, input).expect("sign").as_ref().to_vec(),
            Key::Ed(k) => k.sign(input).as_ref().to_vec(),
        }
    }
}

/// A JWS of `claims` with `header`, signed by `key` with the header's `alg`.
fn jws(key: &Key, header: Value, claims: &Value) -> String {
    let alg = header["alg"].as_str().unwrap_or("RS256").to_owned();
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = key.sign(&alg, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// Claims valid at `now`.
fn claims(now: i64, jti: &str) -> Value {
    json!({"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL, "exp": now + 60, "iat": now, "jti": jti})
}

async fn check(ctx: &Context, set: &Value, jwt: &str) -> Result<(), OAuthError> {
    authenticate_assertion(ctx, JwksSource::Inline(set), CLIENT, jwt, AUDIENCES).await
}

#[track_caller]
fn assert_refused(r: Result<(), OAuthError>, words: &str) {
    let e = r.expect_err(words);
    assert_eq!(e.code.as_str(), "invalid_client", "{e:?}");
    assert!(
        e.description.contains(words),
        "{words:?} not in {:?}",
        e.description
    );
}

#[tokio::test]
async fn rs256_ps256_es256_and_eddsa_assertions_authenticate() {
    let (ctx, _) = test_context().await;
    let now = ctx.now();
    for (alg, key) in [
        ("RS256", rsa()),
        ("PS256", rsa()),
        ("ES256", ec()),
        ("EdDSA", ed()),
    ] {
        let set = json!({"keys": [key.jwk("k1")]});
        let jwt = jws(&key, json!({"alg": alg, "kid": "k1"}), &claims(now, alg));
        check(&ctx, &set, &jwt).await.expect(alg);
        let no_kid = jws(&key, json!({"alg": alg}), &claims(now, &format!("{alg}-2")));
        check(&ctx, &set, &no_kid)
            .await
            .expect("the only key, without kid");
    }
}

#[tokio::test]
async fn the_issuer_and_an_array_aud_are_accepted_too() {
    let (ctx, _) = test_context().await;
    let key = ec();
    let set = json!({"keys": [key.jwk("k1")]});
    let mut c = claims(ctx.now(), "a1");
    c["aud"] = json!(ISSUER);
    check(&ctx, &set, &jws(&key, json!({"alg": "ES256"}), &c))
        .await
        .expect("issuer");
    c["aud"] = json!(["https://elsewhere.example", TOKEN_URL]);
    c["jti"] = json!("a2");
    check(&ctx, &set, &jws(&key, json!({"alg": "ES256"}), &c))
        .await
        .expect("array");
}

#[tokio::test]
async fn none_hmac_and_unknown_algorithms_are_refused_before_any_key() {
    let (ctx, _) = test_context().await;
    let key = ec();
    let set = json!({"keys": [key.jwk("k1")]});
    let c = claims(ctx.now(), "n1");
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(c.to_string().as_bytes())
    );
    assert_refused(
        check(&ctx, &set, &unsigned).await,
        "alg is not one of RS256, PS256, ES256, EdDSA",
    );
    for alg in ["HS256", "ES384", "RS512"] {
        let jwt = jws(&key, json!({"alg": alg}), &c);
        assert_refused(check(&ctx, &set, &jwt).await, "alg is not one of");
    }
    let crit = jws(&key, json!({"alg": "ES256", "crit": ["x"], "x": 1}), &c);
    assert_refused(check(&ctx, &set, &crit).await, "crit");
    assert_refused(check(&ctx, &set, "not.a-jwt").await, "not a JWT");
}

#[tokio::test]
async fn wrong_iss_sub_or_aud_are_refused() {
    let (ctx, _) = test_context().await;
    let key = ec();
    let set = json!({"keys": [key.jwk("k1")]});
    let h = json!({"alg": "ES256"});
    for (claim, value, words) in [
        ("iss", json!("https://other.example"), "iss claim"),
        ("sub", json!("https://other.example"), "sub claim"),
        ("aud", json!("https://other.example/token"), "aud claim"),
        ("aud", json!([]), "aud claim"),
    ] {
        let mut c = claims(ctx.now(), "w1");
        c[claim] = value;
        assert_refused(check(&ctx, &set, &jws(&key, h.clone(), &c)).await, words);
    }
    let mut c = claims(ctx.now(), "w2");
    c.as_object_mut().expect("object").remove("aud");
    assert_refused(check(&ctx, &set, &jws(&key, h, &c)).await, "aud claim");
}

#[tokio::test]
async fn expired_long_lived_and_future_assertions_are_refused() {
    let (ctx, _) = test_context().await;
    let now = ctx.now();
    let key = ed();
    let set = json!({"keys": [key.jwk("k1")]});
    let h = json!({"alg": "EdDSA"});
    let with = |name: &str, value: Value| {
        let mut c = claims(now, &format!("t-{name}"));
        c[name] = value;
        jws(&key, h.clone(), &c)
    };
    assert_refused(
        check(&ctx, &set, &with("exp", json!(now - LEEWAY_SECS))).await,
        "expired",
    );
    check(&ctx, &set, &with("exp", json!(now - LEEWAY_SECS + 1)))
        .await
        .expect("within the leeway");
    assert_refused(
        check(
            &ctx,
            &set,
            &with("exp", json!(now + MAX_LIFETIME_SECS + LEEWAY_SECS + 1)),
        )
        .await,
        "more than 300 seconds ahead",
    );
    assert_refused(
        check(&ctx, &set, &with("exp", json!("soon"))).await,
        "not a number",
    );
    assert_refused(
        check(&ctx, &set, &with("iat", json!(now + 120))).await,
        "iat claim is in the future",
    );
    assert_refused(
        check(&ctx, &set, &with("nbf", json!(now + 120))).await,
        "not valid yet",
    );
    let mut c = claims(now, "t-noexp");
    c.as_object_mut().expect("object").remove("exp");
    assert_refused(check(&ctx, &set, &jws(&key, h, &c)).await, "no exp claim");
}

#[tokio::test]
async fn a_jti_is_required_and_used_once() {
    let (ctx, clock) = test_context().await;
    let key = ec();
    let set = json!({"keys": [key.jwk("k1")]});
    let h = json!({"alg": "ES256"});
    let mut c = claims(ctx.now(), "x");
    c.as_object_mut().expect("object").remove("jti");
    assert_refused(
        check(&ctx, &set, &jws(&key, h.clone(), &c)).await,
        "no jti claim",
    );
    c["jti"] = json!("");
    assert_refused(
        check(&ctx, &set, &jws(&key, h.clone(), &c)).await,
        "jti claim is empty",
    );
    c["jti"] = json!("j".repeat(MAX_JTI_LEN + 1));
    assert_refused(
        check(&ctx, &set, &jws(&key, h.clone(), &c)).await,
        "longer than 256",
    );

    let jwt = jws(&key, h.clone(), &claims(ctx.now(), "once"));
    check(&ctx, &set, &jwt).await.expect("first use");
    assert_refused(check(&ctx, &set, &jwt).await, "already used");
    clock.advance(30);
    assert_refused(check(&ctx, &set, &jwt).await, "already used");

    // A refused assertion records nothing: the same jti, valid, still works.
    let mut bad_aud = claims(ctx.now(), "fresh");
    bad_aud["aud"] = json!("https://other.example");
    assert_refused(
        check(&ctx, &set, &jws(&key, h.clone(), &bad_aud)).await,
        "aud claim",
    );
    check(&ctx, &set, &jws(&key, h, &claims(ctx.now(), "fresh")))
        .await
        .expect("the refused attempt left no record");
}

#[tokio::test]
async fn keys_are_chosen_by_kid_and_must_fit_the_algorithm() {
    let (ctx, _) = test_context().await;
    let now = ctx.now();
    let (e1, e2, r) = (ec(), ec(), rsa());
    let set = json!({"keys": [e1.jwk("e1"), e2.jwk("e2"), r.jwk("r")]});
    check(
        &ctx,
        &set,
        &jws(
            &e2,
            json!({"alg": "ES256", "kid": "e2"}),
            &claims(now, "k1"),
        ),
    )
    .await
    .expect("by kid");
    assert_refused(
        check(
            &ctx,
            &set,
            &jws(
                &e2,
                json!({"alg": "ES256", "kid": "nope"}),
                &claims(now, "k2"),
            ),
        )
        .await,
        "kid names no signing key",
    );
    assert_refused(
        check(
            &ctx,
            &set,
            &jws(&e2, json!({"alg": "ES256"}), &claims(now, "k3")),
        )
        .await,
        "several signing keys",
    );
    assert_refused(
        check(
            &ctx,
            &set,
            &jws(
                &e1,
                json!({"alg": "ES256", "kid": "e2"}),
                &claims(now, "k4"),
            ),
        )
        .await,
        "signature does not verify",
    );
    // An ES256 header naming the RSA key: the key's type does not fit.
    assert_refused(
        check(
            &ctx,
            &set,
            &jws(&e1, json!({"alg": "ES256", "kid": "r"}), &claims(now, "k5")),
        )
        .await,
        "type does not fit",
    );
    // A key published for another algorithm, or for encryption.
    let mut pinned = r.jwk("r");
    pinned["alg"] = json!("PS256");
    let set = json!({"keys": [pinned]});
    assert_refused(
        check(
            &ctx,
            &set,
            &jws(&r, json!({"alg": "RS256"}), &claims(now, "k6")),
        )
        .await,
        "type does not fit",
    );
    let mut enc = e1.jwk("e1");
    enc["use"] = json!("enc");
    let set = json!({"keys": [enc]});
    assert_refused(
        check(
            &ctx,
            &set,
            &jws(
                &e1,
                json!({"alg": "ES256", "kid": "e1"}),
                &claims(now, "k7"),
            ),
        )
        .await,
        "no signing key",
    );
    assert_refused(
        check(
            &ctx,
            &json!({}),
            &jws(&e1, json!({"alg": "ES256"}), &claims(now, "k8")),
        )
        .await,
        "no keys member",
    );
    // A tampered payload.
    let set = json!({"keys": [e1.jwk("e1")]});
    let jwt = jws(&e1, json!({"alg": "ES256"}), &claims(now, "k9"));
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut c = claims(now, "k9");
    c["sub"] = json!(CLIENT);
    c["extra"] = json!(true);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(c.to_string().as_bytes()),
        parts[2]
    );
    assert_refused(
        check(&ctx, &set, &forged).await,
        "signature does not verify",
    );
}

/// Serves one JWK Set and counts the fetches.
#[derive(Debug)]
struct OneSet(Value, AtomicUsize);

#[async_trait]
impl DocumentFetcher for OneSet {
    async fn fetch_json(&self, _: &Url, kind: DocumentKind) -> Result<Fetched, FetchError> {
        assert_eq!(kind, DocumentKind::Jwks);
        self.1.fetch_add(1, Ordering::SeqCst);
        Ok(Fetched {
            document: self.0.clone(),
            freshness: Freshness::MaxAge(3600),
        })
    }
}

#[tokio::test]
async fn jwks_uri_keys_are_fetched_through_the_cache() {
    let (mut ctx, _) = test_context().await;
    let key = ed();
    let fetcher = Arc::new(OneSet(
        json!({"keys": [key.jwk("k1")]}),
        AtomicUsize::new(0),
    ));
    ctx.documents = Arc::new(Documents::new(fetcher.clone(), CacheSettings::default()));
    let uri = Url::parse("https://agent.example/jwks.json").expect("url");
    for jti in ["u1", "u2"] {
        let jwt = jws(
            &key,
            json!({"alg": "EdDSA", "kid": "k1"}),
            &claims(ctx.now(), jti),
        );
        authenticate_assertion(&ctx, JwksSource::Uri(&uri), CLIENT, &jwt, AUDIENCES)
            .await
            .expect("verified with the fetched key");
    }
    assert_eq!(fetcher.1.load(Ordering::SeqCst), 1, "cached");
    let plain = Url::parse("http://agent.example/jwks.json").expect("url");
    let jwt = jws(&key, json!({"alg": "EdDSA"}), &claims(ctx.now(), "u3"));
    assert_refused(
        authenticate_assertion(&ctx, JwksSource::Uri(&plain), CLIENT, &jwt, AUDIENCES).await,
        "jwks_uri could not be used: the URL is not an https URL",
    );
}

fn creds(assertion: Option<(&str, &str)>) -> ClientCredentials {
    ClientCredentials {
        assertion: assertion.map(|(t, a)| ClientAssertion {
            assertion_type: (!t.is_empty()).then(|| t.to_owned()),
            assertion: (!a.is_empty()).then(|| Secret::new(a.to_owned())),
        }),
        ..ClientCredentials::default()
    }
}

#[test]
fn a_request_presents_an_assertion_alone_naming_its_client_by_sub() {
    let key = ed();
    let jwt = jws(&key, json!({"alg": "EdDSA"}), &claims(0, "p"));
    assert!(presented_assertion(&creds(None)).expect("none").is_none());
    let c = creds(Some((ASSERTION_TYPE, &jwt)));
    let (id, _) = presented_assertion(&c).expect("ok").expect("some");
    assert_eq!(id, CLIENT);
    let same = ClientCredentials {
        body_id: Some(CLIENT.into()),
        ..c.clone()
    };
    assert!(presented_assertion(&same).is_ok());
    let refused = |c: &ClientCredentials, code: &str, words: &str| {
        let e = presented_assertion(c).expect_err(words);
        assert_eq!(e.code.as_str(), code, "{e:?}");
        assert!(
            e.description.contains(words),
            "{words:?} not in {:?}",
            e.description
        );
    };
    let other = ClientCredentials {
        body_id: Some("someone-else".into()),
        ..c.clone()
    };
    refused(&other, "invalid_request", "different client");
    let mixed = ClientCredentials {
        body_secret: Some(Secret::new(String::from("s"))),
        ..c.clone()
    };
    refused(&mixed, "invalid_request", "use one method");
    let basic = ClientCredentials {
        basic: Some((CLIENT.into(), Secret::new(String::from("s")))),
        ..c.clone()
    };
    refused(&basic, "invalid_request", "use one method");
    refused(
        &creds(Some(("urn:other", &jwt))),
        "invalid_request",
        "is not supported",
    );
    refused(
        &creds(Some((ASSERTION_TYPE, ""))),
        "invalid_request",
        "without client_assertion.",
    );
    refused(
        &creds(Some(("", &jwt))),
        "invalid_request",
        "without client_assertion_type",
    );
    let no_sub = jws(&key, json!({"alg": "EdDSA"}), &json!({"iss": CLIENT}));
    refused(
        &creds(Some((ASSERTION_TYPE, &no_sub))),
        "invalid_client",
        "no sub claim",
    );
    // The secret-only reading (user API secrets) refuses an assertion outright.
    let e = crate::oauth::client_auth::presented(&c).expect_err("secret endpoints only");
    assert_eq!(e.code.as_str(), "invalid_client");
}

#[tokio::test]
async fn refused_assertions_count_toward_the_client_authentication_limit() {
    let (ctx, _) = test_context().await;
    let limiter = FailureLimiter::default();
    let keys =
        crate::oauth::client_auth::limit_keys(CLIENT, Some("192.0.2.7".parse().expect("ip")));
    let key = ec();
    let set = json!({"keys": [key.jwk("k1")]});
    let presented = |jti: &str, aud: &str| {
        let mut c = claims(ctx.now(), jti);
        c["aud"] = json!(aud);
        ClientAssertion {
            assertion_type: Some(ASSERTION_TYPE.into()),
            assertion: Some(Secret::new(jws(&key, json!({"alg": "ES256"}), &c))),
        }
    };
    let run = |a: ClientAssertion, jwks: Option<JwksSource<'static>>| {
        let (ctx, limiter, keys) = (&ctx, &limiter, &keys);
        async move { authenticate_presented(ctx, limiter, keys, CLIENT, &a, jwks, AUDIENCES).await }
    };
    let set: &'static Value = Box::leak(Box::new(set));
    run(presented("ok-1", TOKEN_URL), Some(JwksSource::Inline(set)))
        .await
        .expect("valid");
    assert_refused(
        run(presented("nokeys", TOKEN_URL), None).await,
        "registered no keys",
    );
    for i in 1..crate::ratelimit::PER_CLIENT {
        assert_refused(
            run(
                presented(&format!("bad-{i}"), "https://x.example"),
                Some(JwksSource::Inline(set)),
            )
            .await,
            "aud claim",
        );
    }
    let e = run(presented("ok-2", TOKEN_URL), Some(JwksSource::Inline(set)))
        .await
        .expect_err("limited");
    assert!(e.retry_after.is_some(), "{e:?}");
}
