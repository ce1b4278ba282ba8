//! RFC 9728 protected resource metadata: both documents (the issuer, and the management
//! API at `/api/mgmt` by path insertion) with their fields, their authorization server's
//! own metadata served, any origin may read them; every Bearer challenge of the
//! management API and of UserInfo points with `resource_metadata` to a served document
//! whose `resource` is a prefix of the URL called (the check MCP clients make); Basic
//! callers keep their one Basic challenge.

use crate::helpers::{backends, once, spawn_app, Backend, Reply, TestApp};
use crate::support::oauth::{
    alice, password_grant, register, ALICE, ALICE_PASSWORD, APPS, METADATA, MGMT, ODATA, USERINFO,
    USERS,
};
use oauth2::{AuthType, TokenResponse};
use reqwest::Method;
use serde_json::{json, Value};

const ROOT: &str = "/.well-known/oauth-protected-resource";
const MGMT_DOC: &str = "/.well-known/oauth-protected-resource/api/mgmt";
const AUTHENTICATION_REQUIRED: u32 = 222209001;
const INVALID_CREDENTIALS: u32 = 222209002;
const INSUFFICIENT_SCOPE: u32 = 222209407;

/// The document at `url`, checked to be cacheable JSON any origin may read.
async fn document(app: &TestApp, url: &str) -> Value {
    let r = app
        .send(
            app.http
                .get(url)
                .header("Origin", "https://elsewhere.example"),
        )
        .await;
    assert_eq!(r.status, 200, "{url}: {}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{url}"
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=3600"),
        "{url}"
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{url}");
    r.json()
}

/// The `resource_metadata` of a Bearer challenge.
fn metadata_pointer(challenge: &str) -> &str {
    let (_, rest) = challenge
        .split_once("resource_metadata=\"")
        .unwrap_or_else(|| panic!("no resource_metadata in {challenge}"));
    rest.split('"').next().expect("closing quote")
}

/// Follows the challenge's pointer the way an MCP client does: the document is served,
/// and its `resource` is a prefix of the URL that answered 401.
async fn follow(app: &TestApp, challenge: &str, called: &str) -> Value {
    assert!(
        challenge.starts_with("Bearer realm=\"Portcullis\""),
        "{challenge}"
    );
    let doc = document(app, metadata_pointer(challenge)).await;
    let resource = doc["resource"].as_str().expect("resource");
    assert!(
        app.url(called).starts_with(resource),
        "{resource} is not a prefix of {called}"
    );
    doc
}

/// `GET path` with `token` as the Bearer token.
async fn bearer_get(app: &TestApp, path: &str, token: &str) -> Reply {
    app.send(app.http.get(app.url(path)).bearer_auth(token))
        .await
}

/// The `WWW-Authenticate` values of `r`, in order.
fn challenges(r: &Reply) -> Vec<&str> {
    r.headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ASCII"))
        .collect()
}

async fn both_documents_describe_their_resource(b: Backend) {
    let app = spawn_app(b).await;
    let issuer = app.base.as_str();
    for (path, resource, scopes) in [
        (
            ROOT,
            issuer.to_owned(),
            json!([MGMT, "openid", "profile", "email"]),
        ),
        (MGMT_DOC, format!("{issuer}/api/mgmt"), json!([MGMT])),
    ] {
        let doc = document(&app, &app.url(path)).await;
        // RFC 9728 §3.3: the resource is the one whose path was inserted.
        assert_eq!(doc["resource"], resource.as_str(), "{path}");
        assert_eq!(doc["authorization_servers"], json!([issuer]), "{path}");
        assert_eq!(doc["scopes_supported"], scopes, "{path}");
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]), "{path}");
        assert!(doc["resource_name"].is_string(), "{path}");
        let docs = doc["resource_documentation"].as_str().expect("a URL");
        assert_eq!(docs, format!("{issuer}/api/openapi.json"));
        let r = app.send(app.http.get(docs)).await;
        assert_eq!(r.status, 200, "{docs}");
    }
    // The authorization server named has its RFC 8414 document, with that issuer.
    let r = app.send(app.http.get(app.url(METADATA))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["issuer"], issuer);
}

async fn userinfo_challenges_point_to_the_issuers_document(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.send(app.http.get(app.url(USERINFO))).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text, "", "RFC 6750 §3.1: no token, no error");
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(!challenge.contains("error="), "{challenge}");
    let doc = follow(&app, challenge, USERINFO).await;
    assert_eq!(doc["resource"], app.base.as_str());

    let r = app
        .send(app.http.get(app.url(USERINFO)).bearer_auth("nope"))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_token");
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    follow(&app, challenge, USERINFO).await;
}

async fn management_bearer_challenges_point_to_the_resource_called(b: Backend) {
    let app = spawn_app(b).await;
    // A refused token: the Bearer challenge alone, to the document of the resource the
    // path belongs to (`/api/mgmt/…` its own, `/api/admin/…` the issuer's).
    for (path, resource) in [
        (APPS, app.url("/api/mgmt")),
        (USERS, app.base.clone()),
        ("/api/mgmt/user", app.url("/api/mgmt")),
    ] {
        let r = bearer_get(&app, path, "not-a-token").await;
        r.hdp_error(401, INVALID_CREDENTIALS);
        let all = challenges(&r);
        assert_eq!(all.len(), 1, "{path}: {all:?}");
        assert!(
            all[0].contains("error=\"invalid_token\""),
            "{path}: {all:?}"
        );
        let doc = follow(&app, all[0], path).await;
        assert_eq!(doc["resource"], resource.as_str(), "{path}");
    }

    // A token without the management scope: 403, the scope it needs, and the pointer.
    alice(&app).await;
    let c = register(&app, ALICE, ALICE_PASSWORD, "Reporting", json!({})).await;
    let odata = password_grant(
        &app,
        &c,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        Some(ODATA),
    )
    .await
    .expect("an OData token");
    let r = bearer_get(&app, APPS, odata.access_token().secret()).await;
    r.hdp_error(403, INSUFFICIENT_SCOPE);
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"api.access.mgmt\""),
        "{challenge}"
    );
    let doc = follow(&app, challenge, APPS).await;
    assert_eq!(doc["scopes_supported"], json!([MGMT]));
}

async fn callers_without_credentials_get_both_challenges_basic_first(b: Backend) {
    let app = spawn_app(b).await;
    for path in [APPS, USERS] {
        // No Authorization: HDP's answer (status, body, Basic challenge first), and the
        // Bearer challenge offered next to it, without an error (RFC 6750 §3.1).
        let r = app.send(app.http.get(app.url(path))).await;
        r.hdp_error(401, AUTHENTICATION_REQUIRED);
        let all = challenges(&r);
        assert_eq!(all.len(), 2, "{path}: {all:?}");
        assert!(all[0].starts_with("Basic realm=\"Portcullis\""), "{all:?}");
        assert!(!all[1].contains("error="), "{all:?}");
        follow(&app, all[1], path).await;

        // Another scheme: the same.
        let r = app
            .send(
                app.http
                    .get(app.url(path))
                    .header("Authorization", "Digest username=\"admin\""),
            )
            .await;
        r.hdp_error(401, AUTHENTICATION_REQUIRED);
        let all = challenges(&r);
        assert_eq!(all.len(), 2, "{path}: {all:?}");
        follow(&app, all[1], path).await;

        // A Basic caller with a wrong password: the Basic challenge alone, as ever.
        let r = app.send_as(Method::GET, path, "admin", "wrong").await;
        r.hdp_error(401, INVALID_CREDENTIALS);
        let all = challenges(&r);
        assert_eq!(all.len(), 1, "{path}: {all:?}");
        assert!(all[0].starts_with("Basic "), "{all:?}");
    }
}

once!(
    both_documents_describe_their_resource,
    userinfo_challenges_point_to_the_issuers_document,
);

backends!(
    management_bearer_challenges_point_to_the_resource_called,
    callers_without_credentials_get_both_challenges_basic_first,
);
