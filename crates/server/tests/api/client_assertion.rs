//! `client_assertion` at the token endpoint (RFC 7523 §2.2, issue 14 item 6) for an
//! application registered with a secret: the assertion is read as a way to
//! authenticate — mixed with a secret it is `invalid_request`, alone it is
//! `invalid_client` saying the client is not registered for `private_key_jwt` — and
//! never ignored, so no request authenticates by a secret while also carrying an
//! assertion. Verification itself is core's `oauth::client_assertion` (unit tests
//! there); clients that do register keys: `private_key_jwt.rs`.

use crate::authorize::register;
use crate::helpers::{backends, spawn_app, Backend};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An (unsigned-looking) assertion naming `sub`: enough for the reading step.
fn assertion(sub: &str) -> String {
    let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(json!({"alg": "ES256"})),
        part(json!({"iss": sub, "sub": sub, "aud": "x", "exp": 1, "jti": "j"})),
        URL_SAFE_NO_PAD.encode([0u8; 64])
    )
}

async fn client_assertions_are_read_and_refused_for_a_secret_client(b: Backend) {
    let app = spawn_app(b).await;
    let client = register(&app, &["https://app.example/cb"], json!({})).await;
    let secret = client.secret.clone().expect("secret");
    let jwt = assertion(&client.client_id);
    let token = |fields: Vec<(&'static str, String)>| {
        app.send(app.http.post(app.url("/oauth2/token")).form(&fields))
    };
    let grant = ("grant_type", "client_credentials".to_owned());

    let r = token(vec![
        grant.clone(),
        ("client_assertion_type", JWT_BEARER.into()),
        ("client_assertion", jwt.clone()),
    ])
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(
        r.json()["error_description"]
            .as_str()
            .expect("description")
            .contains("private_key_jwt"),
        "{}",
        r.text
    );

    let r = token(vec![
        grant.clone(),
        ("client_id", client.client_id.clone()),
        ("client_secret", secret.clone()),
        ("client_assertion_type", JWT_BEARER.into()),
        ("client_assertion", jwt.clone()),
    ])
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(r.text.contains("use one method"), "{}", r.text);

    let r = token(vec![
        grant.clone(),
        ("client_assertion_type", "urn:example:other".into()),
        ("client_assertion", jwt.clone()),
    ])
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains(JWT_BEARER), "{}", r.text);

    let r = token(vec![
        grant,
        ("client_id", "someone-else".into()),
        ("client_assertion_type", JWT_BEARER.into()),
        ("client_assertion", jwt),
    ])
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("different client"), "{}", r.text);
}

backends!(client_assertions_are_read_and_refused_for_a_secret_client);
