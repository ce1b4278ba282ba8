//! The signing keys from outside (SPEC §1.5, §3): `/oauth2/jwks` publishes the public
//! keys, a JWT library (`jsonwebtoken`) verifies the server's tokens with them as a
//! resource server would, and `portcullis keys rotate` on a running server's database
//! changes the key it signs with at its next reload while earlier tokens still verify.

use crate::cli::portcullis;
use crate::helpers::{backends, spawn_app, Backend, TestApp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use portcullis_core::clock::Clock;
use portcullis_core::model::claims::AccessClaims;
use portcullis_core::model::signing_key::KeyState;
use serde_json::Value;
use std::collections::BTreeSet;

fn claims(app: &TestApp, jti: &str) -> AccessClaims {
    let now = app.clock.now();
    AccessClaims {
        iss: app.state.issuer.to_string(),
        sub: "1".into(),
        aud: app.state.issuer.to_string(),
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
    let active = stored
        .iter()
        .find(|k| k.state == KeyState::Active)
        .expect("an active key");
    let next = stored
        .iter()
        .find(|k| k.state == KeyState::Next)
        .expect("a next key");
    assert_eq!(kids(&v), vec![active.kid.clone(), next.kid.clone()]);
    assert_eq!(app.state.ctx.signer.active_kid(), active.kid);
    for k in v["keys"].as_array().expect("keys") {
        let members: BTreeSet<&str> = k
            .as_object()
            .expect("a JWK")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            members,
            BTreeSet::from(["kty", "crv", "x", "y", "kid", "use", "alg"]),
            "public members only: {k}"
        );
        assert_eq!(
            (&k["kty"], &k["crv"], &k["use"], &k["alg"]),
            (
                &Value::from("EC"),
                &Value::from("P-256"),
                &Value::from("sig"),
                &Value::from("ES256")
            )
        );
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

fn kid_of(token: &str) -> String {
    decode_header(token).expect("header").kid.expect("kid")
}

async fn keys_rotate_on_a_running_servers_database_changes_the_signing_key(b: Backend) {
    let app = spawn_app(b).await;
    let signer = &app.state.ctx.signer;
    let first = signer.active_kid();
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
    assert_eq!(states.len(), 2);
    assert!(states.contains(&(first.as_str(), "active")));
    let next = states
        .iter()
        .find(|(_, s)| *s == "next")
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
    assert_eq!(signer.active_kid(), first);

    let out = portcullis(&app.database_url, &["keys", "rotate", "--force"])
        .await
        .ok();
    assert_eq!(out["active"], next.as_str());
    assert_eq!(out["retired"], first.as_str());
    assert_eq!(out["keys"].as_array().map(Vec::len), Some(3));
    let new_next = out["next"].as_str().expect("next").to_owned();

    // Until its next reload the server keeps signing with the old key, which stays
    // published; then it signs with the pre-published one.
    assert_eq!(signer.active_kid(), first);
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

    let (raw, set) = key_set(&app).await;
    assert_eq!(kids(&raw), vec![next.clone(), new_next, first.clone()]);
    for token in [&before, &after] {
        assert!(resource_server_verify(&app, &set, token).is_ok());
        assert!(signer.verify(token, app.clock.now()).is_ok());
    }
}

backends!(
    the_key_set_lists_the_active_and_next_public_keys_and_may_be_cached,
    a_resource_server_verifies_the_servers_tokens_with_the_key_set,
    keys_rotate_on_a_running_servers_database_changes_the_signing_key,
);
