//! The signing keys from outside (SPEC §1.5, §3): `/oauth2/jwks` publishes the public
//! keys of both algorithms (ES256, RS256), a JWT library (`jsonwebtoken`) verifies the
//! server's access tokens and its RS256/ES256 JWTs (ID tokens) with them as a resource
//! server or relying party would, and `portcullis keys rotate` on a running server's
//! database changes the keys it signs with at its next reload while earlier tokens
//! still verify.

use crate::cli::portcullis;
use crate::helpers::{backends, spawn_app, Backend, TestApp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use portcullis_core::clock::Clock;
use portcullis_core::model::claims::AccessClaims;
use portcullis_core::model::signing_key::{KeyState, SigAlg};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn claims(app: &TestApp, jti: &str) -> AccessClaims {
    let now = app.clock.now();
    AccessClaims {
        iss: app.state.issuer.to_string(),
        sub: "1".into(),
        aud: app.state.issuer.to_string().into(),
        exp: now + 600,
        iat: now,
        jti: jti.into(),
        client_id: "resource-test".into(),
        scope: "api.access.odata".into(),
        tenant: 1,
        username: Some("admin".into()),
        av: Some(1),
        fam: None,
        sv: None,
        uc: None,
        act: None,
        cnf: None,
    }
}

async fn key_set(app: &TestApp) -> (Value, JwkSet) {
    let r = app.send(app.http.get(app.url("/oauth2/jwks"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let set: JwkSet = serde_json::from_str(&r.text).expect("a JWK Set jsonwebtoken reads");
    (r.json(), set)
}

fn kids(v: &Value) -> Vec<String> {
    v["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// Verifies `token` as a resource server: the key named by `kid` from the JWK Set,
/// ES256 only, issuer and audience checked.
fn resource_server_verify(
    app: &TestApp,
    set: &JwkSet,
    token: &str,
) -> Result<AccessClaims, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("kid not in the key set")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[&*app.state.issuer]);
    validation.set_audience(&[&*app.state.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    decode::<AccessClaims>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

async fn the_key_set_lists_the_active_and_next_public_keys_and_may_be_cached(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.send(app.http.get(app.url("/oauth2/jwks"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let v = r.json();
    let stored = app.state.ctx.store.signing_keys().await.expect("keys");
    let find = |alg: SigAlg, state: KeyState| {
        stored
            .iter()
            .find(|k| k.state == state && k.alg == alg.as_str())
            .unwrap_or_else(|| panic!("a {alg} {state:?} key"))
            .kid
            .clone()
    };
    assert_eq!(
        kids(&v),
        vec![
            find(SigAlg::Es256, KeyState::Active),
            find(SigAlg::Rs256, KeyState::Active),
            find(SigAlg::Es256, KeyState::Next),
            find(SigAlg::Rs256, KeyState::Next),
        ],
        "the active keys first"
    );
    for alg in SigAlg::ALL {
        assert_eq!(
            app.state.ctx.signer.active_kid(alg),
            find(alg, KeyState::Active)
        );
    }
    for k in v["keys"].as_array().expect("keys") {
        let members: BTreeSet<&str> = k
            .as_object()
            .expect("a JWK")
            .keys()
            .map(String::as_str)
            .collect();
        let (kty, alg, own): (&str, &str, &[&str]) = match k["kty"].as_str() {
            Some("EC") => ("EC", "ES256", &["crv", "x", "y"]),
            Some("RSA") => ("RSA", "RS256", &["n", "e"]),
            other => panic!("unexpected kty {other:?}"),
        };
        let mut expected = BTreeSet::from(["kty", "kid", "use", "alg"]);
        expected.extend(own);
        assert_eq!(members, expected, "public members only: {k}");
        assert_eq!(
            (&k["kty"], &k["use"], &k["alg"]),
            (&Value::from(kty), &Value::from("sig"), &Value::from(alg))
        );
        if kty == "EC" {
            assert_eq!(k["crv"], "P-256");
        } else {
            assert_eq!(k["e"], "AQAB");
            let n = base64_decode(k["n"].as_str().expect("n"));
            assert_eq!(n.len(), 256, "2048 bits");
            assert!(n[0] & 0x80 != 0, "no leading zero, full length");
        }
    }
}

async fn a_resource_server_verifies_the_servers_tokens_with_the_key_set(b: Backend) {
    let app = spawn_app(b).await;
    let c = claims(&app, "jti-rs");
    let token = app.state.ctx.signer.sign(&c).expect("sign");
    let (raw, set) = key_set(&app).await;
    assert_eq!(resource_server_verify(&app, &set, &token), Ok(c.clone()));

    // The same key from its bare coordinates, as libraries without JWK support use it.
    let jwk = &raw["keys"][0];
    let key = DecodingKey::from_ec_components(
        jwk["x"].as_str().expect("x"),
        jwk["y"].as_str().expect("y"),
    )
    .expect("coordinates");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[&*app.state.issuer]);
    assert_eq!(
        decode::<AccessClaims>(&token, &key, &validation)
            .expect("verifies")
            .claims,
        c
    );

    // A changed payload is refused by the library, as by the server.
    let parts: Vec<&str> = token.split('.').collect();
    let mut other = c.clone();
    other.scope = "api.access.mgmt".into();
    let forged_payload = base64_url(&serde_json::to_vec(&other).expect("json"));
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert!(resource_server_verify(&app, &set, &tampered).is_err());
    assert!(app
        .state
        .ctx
        .signer
        .verify(&tampered, app.clock.now())
        .is_err());
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

/// Verifies `token` as a relying party verifies an ID token: the key named by `kid`
/// from the JWK Set, the algorithm `alg`, issuer and audience checked.
fn relying_party_verify(
    app: &TestApp,
    set: &JwkSet,
    alg: Algorithm,
    token: &str,
) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    assert_eq!(header.alg, alg);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("kid not in the key set")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&*app.state.issuer]);
    validation.set_audience(&["client-a"]);
    decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

async fn id_tokens_of_both_algorithms_verify_against_the_key_set(b: Backend) {
    let app = spawn_app(b).await;
    let signer = &app.state.ctx.signer;
    let now = app.clock.now();
    let claims = json!({
        "iss": &*app.state.issuer, "sub": "1", "aud": "client-a",
        "exp": now + 300, "iat": now, "nonce": "n-0S6_WzA2Mj",
    });
    let (raw, set) = key_set(&app).await;
    for (alg, lib_alg) in [
        (SigAlg::Rs256, Algorithm::RS256),
        (SigAlg::Es256, Algorithm::ES256),
    ] {
        let token = signer.sign_jwt(alg, "JWT", &claims).expect("sign");
        assert_eq!(kid_of(&token), signer.active_kid(alg));
        assert_eq!(
            relying_party_verify(&app, &set, lib_alg, &token),
            Ok(claims.clone())
        );
        assert_eq!(signer.verify_jwt(&token), Ok(claims.clone()));
        // Not an access token, whatever its algorithm.
        assert!(signer.verify(&token, now).is_err());

        // A changed payload is refused by the library, as by the server.
        let parts: Vec<&str> = token.split('.').collect();
        let mut other = claims.clone();
        other["sub"] = "2".into();
        let forged = base64_url(other.to_string().as_bytes());
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert!(relying_party_verify(&app, &set, lib_alg, &tampered).is_err());
        assert!(signer.verify_jwt(&tampered).is_err());
    }

    // The RS256 key from its bare modulus and exponent, as libraries without JWK
    // support use it.
    let token = signer
        .sign_jwt(SigAlg::Rs256, "JWT", &claims)
        .expect("sign");
    let jwk = raw["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid_of(&token).as_str())
        .expect("published");
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("components");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["client-a"]);
    assert_eq!(
        decode::<Value>(&token, &key, &validation)
            .expect("verifies")
            .claims,
        claims
    );
}

fn kid_of(token: &str) -> String {
    decode_header(token).expect("header").kid.expect("kid")
}

async fn keys_rotate_on_a_running_servers_database_changes_the_signing_key(b: Backend) {
    let app = spawn_app(b).await;
    let signer = &app.state.ctx.signer;
    let first = signer.active_kid(SigAlg::Es256);
    let before = signer.sign(&claims(&app, "before")).expect("sign");
    assert_eq!(kid_of(&before), first);

    let listed = portcullis(&app.database_url, &["keys", "list"]).await.ok();
    let states: Vec<(&str, &str)> = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().expect("kid"),
                k["state"].as_str().expect("state"),
            )
        })
        .collect();
    assert_eq!(
        states.len(),
        4,
        "an active and a next key of each algorithm"
    );
    assert!(states.contains(&(first.as_str(), "active")));
    let algs: BTreeSet<&str> = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["alg"].as_str().expect("alg"))
        .collect();
    assert_eq!(algs, BTreeSet::from(["ES256", "RS256"]));
    let next = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().expect("kid"),
                k["state"].as_str().expect("state"),
                k["alg"].as_str().expect("alg"),
            )
        })
        .find(|(_, s, alg)| *s == "next" && *alg == "ES256")
        .expect("a next key")
        .0
        .to_owned();
    assert!(
        !listed.to_string().contains("mk1."),
        "no private parts: {listed}"
    );

    // The next key was published moments ago: rotating now needs --force.
    let early = portcullis(&app.database_url, &["keys", "rotate"]).await;
    assert!(early.bad_input().contains("--force"), "{}", early.stderr);
    assert_eq!(signer.active_kid(SigAlg::Es256), first);

    let rs_first = signer.active_kid(SigAlg::Rs256);
    let id_before = signer
        .sign_jwt(SigAlg::Rs256, "JWT", &json!({"sub": "1"}))
        .expect("sign");
    let out = portcullis(&app.database_url, &["keys", "rotate", "--force"])
        .await
        .ok();
    let rotated = out["rotated"].as_array().expect("per algorithm");
    assert_eq!(rotated.len(), 2, "{out}");
    let es = &rotated[0];
    assert_eq!(es["alg"], "ES256");
    assert_eq!(es["active"], next.as_str());
    assert_eq!(es["retired"], first.as_str());
    let rs = &rotated[1];
    assert_eq!(rs["alg"], "RS256");
    assert_eq!(rs["retired"], rs_first.as_str());
    assert_eq!(out["keys"].as_array().map(Vec::len), Some(6));
    let new_next = es["next"].as_str().expect("next").to_owned();
    // The command wrote its audit event to the database before it exited: the
    // running server reads it there (the refused early rotation recorded none).
    let r = app
        .send_as_admin(Method::GET, "/api/admin/events?type=key_rotated")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let events = r.json()["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["actor"], "operator");
    assert!(!r.text.contains("mk1."), "no private parts: {}", r.text);

    // Until its next reload the server keeps signing with the old keys, which stay
    // published; then it signs with the pre-published ones.
    assert_eq!(signer.active_kid(SigAlg::Es256), first);
    signer
        .refresh(
            app.state.ctx.store.as_ref(),
            &app.state.ctx.keyring,
            app.clock.now(),
        )
        .await
        .expect("refresh");
    let after = signer.sign(&claims(&app, "after")).expect("sign");
    assert_eq!(kid_of(&after), next);
    assert_eq!(
        signer.active_kid(SigAlg::Rs256),
        rs["active"].as_str().expect("kid")
    );

    let (raw, set) = key_set(&app).await;
    let es256_kids: Vec<String> = raw["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["alg"] == "ES256")
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    assert_eq!(es256_kids, vec![next.clone(), new_next, first.clone()]);
    assert_eq!(kids(&raw).len(), 6);
    for token in [&before, &after] {
        assert!(resource_server_verify(&app, &set, token).is_ok());
        assert!(signer.verify(token, app.clock.now()).is_ok());
    }
    assert!(
        signer.verify_jwt(&id_before).is_ok(),
        "the retiring RS256 key still verifies"
    );
}

backends!(
    the_key_set_lists_the_active_and_next_public_keys_and_may_be_cached,
    a_resource_server_verifies_the_servers_tokens_with_the_key_set,
    keys_rotate_on_a_running_servers_database_changes_the_signing_key,
    id_tokens_of_both_algorithms_verify_against_the_key_set,
);
