//! `private_key_jwt` client authentication end to end (RFC 7523 §2.2, OIDC Core §9,
//! issue 14 item 6): a client registered dynamically (RFC 7591) with its public keys
//! inline (`jwks`) or behind `jwks_uri` (a real HTTPS server on loopback with a test
//! CA) signs assertions here with `ring` and authenticates at the token, PAR,
//! introspection and revocation endpoints. Each refusal (replay, expiry, audience,
//! another key, the wrong method for the registration) is a 401 `invalid_client`.

use crate::authorize::{authorize_path, query_of, Client, CALLBACK};
use crate::helpers::{backends, fresh_database, spawn_app, spawn_with, test_config};
use crate::helpers::{Backend, Reply, TestApp};
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use portcullis_core::clock::Clock;
use portcullis_server::config::Config;
use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN: &str = "/oauth2/token";
const INTROSPECT: &str = "/oauth2/introspect";
const REVOKE: &str = "/oauth2/revoke";

/// A client's P-256 signing key.
struct Key(EcdsaKeyPair);

impl Key {
    fn generate() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        Self(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .expect("key"),
        )
    }

    /// The public JWK Set of this key alone, `kid` "k1".
    fn jwks(&self) -> Value {
        let p = self.0.public_key().as_ref();
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
                         "x": b64(&p[1..33]), "y": b64(&p[33..])}]})
    }

    /// An ES256 assertion of `claims`.
    fn sign(&self, claims: &Value) -> String {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let header = json!({"alg": "ES256", "kid": "k1", "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .0
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", b64(sig.as_ref()))
    }
}

fn issuer(app: &TestApp) -> String {
    app.state.ctx.signer.issuer().to_owned()
}

/// Claims of a valid assertion by `client_id` for `aud`, valid for a minute from the
/// app's clock.
fn claims(app: &TestApp, client_id: &str, aud: &str, jti: &str) -> Value {
    let now = app.clock.now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60, "jti": jti})
}

/// Posts `form` to `path` with `assertion` as the client authentication.
async fn with_assertion(
    app: &TestApp,
    path: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> Reply {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("client_assertion_type", JWT_BEARER));
    fields.push(("client_assertion", assertion));
    app.send(app.http.post(app.url(path)).form(&fields)).await
}

#[track_caller]
fn refused(r: &Reply, says: &str) {
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client", "{}", r.text);
    let description = r.json()["error_description"]
        .as_str()
        .expect("description")
        .to_owned();
    assert!(
        description.contains(says),
        "{description} should say {says}"
    );
}

/// Opens the system tenant to confidential clients of the code and client
/// credentials grants, redirecting to app.example.
async fn open_for_confidential_clients(app: &TestApp) {
    let t = app
        .send_as_admin(Method::GET, "/api/admin/tenants/1")
        .await
        .json();
    let body = json!({"name": t["name"], "status": t["status"], "clientRegistration": {
        "policy": "open", "clientTypes": ["confidential"],
        "grantTypes": ["authorization_code", "client_credentials"],
        "redirectUris": {"httpsHosts": ["app.example"]}}});
    let r = app
        .send_json_as_admin(Method::PUT, "/api/admin/tenants/1", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn register(app: &TestApp, body: Value) -> Reply {
    app.send(app.http.post(app.url("/oauth2/register")).json(&body))
        .await
}

/// Registers a `private_key_jwt` client with `keys` (`jwks` or `jwks_uri`); checks the
/// answer and the RFC 7592 read show the method and the keys and no secret.
async fn register_jwt_client(app: &TestApp, keys: (&str, Value)) -> String {
    let mut body = json!({
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
    });
    body[keys.0] = keys.1.clone();
    let r = register(app, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(v[keys.0], keys.1);
    assert!(v.get("client_secret").is_none(), "{v}");
    assert!(v.get("client_secret_expires_at").is_none(), "{v}");
    let read = app
        .send(
            app.http
                .get(v["registration_client_uri"].as_str().expect("uri"))
                .bearer_auth(v["registration_access_token"].as_str().expect("token")),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(read.json()[keys.0], keys.1);
    assert!(read.json().get("client_secret").is_none());
    v["client_id"].as_str().expect("client_id").to_owned()
}

const CREDENTIALS: &[(&str, &str)] = &[("grant_type", "client_credentials")];

async fn a_client_with_inline_keys_authenticates_by_assertion_at_every_endpoint(b: Backend) {
    let app = spawn_app(b).await;
    open_for_confidential_clients(&app).await;
    let r = register(
        &app,
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client_metadata");

    let key = Key::generate();
    let id = register_jwt_client(&app, ("jwks", key.jwks())).await;
    let iss = issuer(&app);
    let token_url = format!("{iss}{TOKEN}");

    // client_credentials, authenticated by an assertion for the token endpoint.
    let first = key.sign(&claims(&app, &id, &token_url, "a-1"));
    let r = with_assertion(&app, TOKEN, &first, CREDENTIALS).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    // The same assertion again: its jti was used.
    refused(
        &with_assertion(&app, TOKEN, &first, CREDENTIALS).await,
        "already used",
    );
    // Expired (beyond the 30 s of leeway).
    let mut old = claims(&app, &id, &token_url, "a-2");
    old["exp"] = json!(app.clock.now() - 60);
    refused(
        &with_assertion(&app, TOKEN, &key.sign(&old), CREDENTIALS).await,
        "expired",
    );
    // For another server.
    let elsewhere = key.sign(&claims(&app, &id, "https://elsewhere.example/token", "a-3"));
    refused(
        &with_assertion(&app, TOKEN, &elsewhere, CREDENTIALS).await,
        "aud",
    );
    // Signed with a key the client did not register.
    let stranger = Key::generate().sign(&claims(&app, &id, &token_url, "a-4"));
    refused(
        &with_assertion(&app, TOKEN, &stranger, CREDENTIALS).await,
        "signature",
    );
    // The issuer, and the HDP spelling of the token endpoint at that endpoint.
    let r = with_assertion(
        &app,
        TOKEN,
        &key.sign(&claims(&app, &id, &iss, "a-5")),
        CREDENTIALS,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mgmt = format!("{iss}/api/mgmt/oauth2/token");
    let r = with_assertion(
        &app,
        "/api/mgmt/oauth2/token",
        &key.sign(&claims(&app, &id, &mgmt, "a-6")),
        CREDENTIALS,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An assertion meant for the revocation endpoint is not one for the token endpoint.
    let for_revoke = key.sign(&claims(&app, &id, &format!("{iss}{REVOKE}"), "a-7"));
    refused(
        &with_assertion(&app, TOKEN, &for_revoke, CREDENTIALS).await,
        "aud",
    );

    // A private_key_jwt client presenting a secret, or its client_id alone.
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .basic_auth(&id, Some("guessed"))
                .form(CREDENTIALS),
        )
        .await;
    refused(&r, "registered for private_key_jwt");
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .form(&[("grant_type", "client_credentials"), ("client_id", &id)]),
        )
        .await;
    refused(&r, "registered for private_key_jwt");

    // Introspection and revocation authenticated by assertions for those endpoints.
    let at = |path: &str, jti: &str| key.sign(&claims(&app, &id, &format!("{iss}{path}"), jti));
    let r = with_assertion(
        &app,
        INTROSPECT,
        &at(INTROSPECT, "i-1"),
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["active"], true, "{}", r.text);
    assert_eq!(r.json()["client_id"], id.as_str());
    // The token endpoint's URL is accepted everywhere.
    let r = with_assertion(&app, REVOKE, &at(TOKEN, "r-1"), &[("token", &access)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = with_assertion(
        &app,
        INTROSPECT,
        &at(INTROSPECT, "i-2"),
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.json()["active"], false, "revoked: {}", r.text);
    refused(
        &with_assertion(
            &app,
            INTROSPECT,
            &at(INTROSPECT, "i-2"),
            &[("token", &access)],
        )
        .await,
        "already used",
    );

    // An assertion naming a client registered with a secret is refused.
    let r = register(
        &app,
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret_client = r.json()["client_id"].as_str().expect("id").to_owned();
    let posing = key.sign(&claims(&app, &secret_client, &token_url, "s-1"));
    refused(
        &with_assertion(&app, TOKEN, &posing, CREDENTIALS).await,
        "not registered for private_key_jwt",
    );
    // And one naming no client at all.
    let nobody = key.sign(&claims(&app, "no-such-client", &token_url, "n-1"));
    refused(
        &with_assertion(&app, TOKEN, &nobody, CREDENTIALS).await,
        "unknown client",
    );
}

/// A JWK Set served on `https://127.0.0.1:<port>/jwks`, counting its requests.
struct JwksServer {
    url: String,
    hits: Arc<AtomicUsize>,
    cert: std::path::PathBuf,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl JwksServer {
    async fn start(dir: &tempfile::TempDir, jwks: Value) -> Self {
        let (cert, key, _) = crate::tls::certificate(dir);
        let router = axum::Router::new().route(
            "/jwks",
            get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let (router, hits) = crate::tls::counting(router);
        let (base, shutdown) = crate::tls::serve_https(&cert, &key, router).await;
        Self {
            url: format!("{base}/jwks"),
            hits,
            cert,
            _shutdown: shutdown,
        }
    }
}

async fn a_client_with_a_jwks_uri_authenticates_at_the_token_and_par_endpoints(b: Backend) {
    let key = Key::generate();
    let server_dir = tempfile::tempdir().expect("dir");
    let jwks = JwksServer::start(&server_dir, key.jwks()).await;
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let config = Config {
        outbound_allow: vec!["127.0.0.1".into()],
        outbound_ca_file: Some(jwks.cert.clone()),
        ..test_config(&url)
    };
    let app = spawn_with(config, dir).await;
    open_for_confidential_clients(&app).await;
    let id = register_jwt_client(&app, ("jwks_uri", json!(jwks.url))).await;
    let iss = issuer(&app);
    let token_url = format!("{iss}{TOKEN}");

    let r = with_assertion(
        &app,
        TOKEN,
        &key.sign(&claims(&app, &id, &token_url, "u-1")),
        CREDENTIALS,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(jwks.hits.load(Ordering::SeqCst), 1, "fetched once");
    let stranger = Key::generate().sign(&claims(&app, &id, &token_url, "u-2"));
    refused(
        &with_assertion(&app, TOKEN, &stranger, CREDENTIALS).await,
        "signature",
    );

    // A pushed authorization request authenticated by an assertion for /oauth2/par.
    let client = Client {
        id: 0,
        client_id: id.clone(),
        secret: None,
    };
    let fields = query_of(&authorize_path(&client, &[]));
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let par = key.sign(&claims(&app, &id, &format!("{iss}/oauth2/par"), "u-3"));
    let r = with_assertion(&app, "/oauth2/par", &par, &form).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json()["request_uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("urn:ietf:params:oauth:request_uri:")));
}

async fn the_metadata_advertises_private_key_jwt_and_its_algorithms(b: Backend) {
    let app = spawn_app(b).await;
    for doc in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let m = app.send(app.http.get(app.url(doc))).await.json();
        for endpoint in ["token", "introspection", "revocation"] {
            let methods = &m[format!("{endpoint}_endpoint_auth_methods_supported")];
            assert!(
                methods
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("private_key_jwt"))),
                "{doc} {endpoint}: {methods}"
            );
            assert_eq!(
                m[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
                json!(["RS256", "PS256", "ES256", "EdDSA"]),
                "{doc} {endpoint}"
            );
        }
    }
}

backends!(
    a_client_with_inline_keys_authenticates_by_assertion_at_every_endpoint,
    a_client_with_a_jwks_uri_authenticates_at_the_token_and_par_endpoints,
    the_metadata_advertises_private_key_jwt_and_its_algorithms,
);
