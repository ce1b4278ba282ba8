//! The row cache of client applications, tenants and limits (the shared
//! store-sql/src/cache.rs) never outlives a change: on the node that made it, at once; on
//! another node sharing the database, within `GENERATION_CHECK_MS`.

use crate::helpers::{backends, fresh_database, spawn_with, test_config, TestApp};
use portcullis_store_sqlite::GENERATION_CHECK_MS;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const APPS: &str = "/api/mgmt/oauth/client/applications";
const TOKEN: &str = "/oauth2/token";
const INTROSPECT: &str = "/oauth2/introspect";

/// Two nodes on one fresh database, behind one public URL.
pub(crate) async fn two_nodes(b: crate::helpers::Backend) -> (TestApp, TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let dir2 = tempfile::tempdir().expect("dir");
    let mut config = test_config(&url);
    config.public_url = Some("https://auth.example".into());
    let a = spawn_with(config.clone(), dir).await;
    let b = spawn_with(config, dir2).await;
    (a, b)
}

/// A client application allowed the client_credentials grant: (id, client id, secret).
async fn register(node: &TestApp) -> (i64, String, String) {
    let v = node
        .register_as(
            "admin",
            crate::helpers::ADMIN_PASSWORD,
            json!({"name": "Job", "redirectUrls": ["https://job.example/cb"],
                   "grantTypes": ["client_credentials"]}),
        )
        .await;
    (
        v["id"].as_i64().expect("id"),
        v["clientId"].as_str().expect("clientId").to_owned(),
        v["clientSecret"].as_str().expect("secret").to_owned(),
    )
}

/// A client_credentials grant on `node`: (status, body).
async fn grant(node: &TestApp, id: &str, secret: &str) -> (u16, Value) {
    let r = node
        .send(
            node.http
                .post(node.url(TOKEN))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    (
        r.status,
        serde_json::from_str(&r.text).unwrap_or(Value::Null),
    )
}

/// Polls `check` until it holds, failing after the documented bound (with slack for
/// a loaded machine). Returns how long it took.
pub(crate) async fn within_bound<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    let limit = Duration::from_millis(GENERATION_CHECK_MS) + Duration::from_secs(2);
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not seen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_reset_secret_is_refused_at_once_here_and_soon_on_every_node(b: crate::helpers::Backend) {
    let (a, b) = two_nodes(b).await;
    let (id, client_id, old) = register(&a).await;
    // Both nodes have used (and so cached) the application.
    assert_eq!(grant(&a, &client_id, &old).await.0, 200);
    let (status, issued_on_b) = grant(&b, &client_id, &old).await;
    assert_eq!(status, 200, "{issued_on_b}");
    let token = issued_on_b["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    let r = a
        .send_as_admin(Method::PUT, &format!("{APPS}/{id}/reset"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.json()["clientSecret"]
        .as_str()
        .expect("new secret")
        .to_owned();

    // The node that reset it: at once.
    let (status, v) = grant(&a, &client_id, &old).await;
    assert_eq!((status, v["error"].clone()), (401, json!("invalid_client")));
    assert_eq!(grant(&a, &client_id, &new).await.0, 200);

    // The other node: the old secret stops working, the new one starts, and the token
    // issued under the old secret is no longer active.
    within_bound("old secret refused on B", || async {
        grant(&b, &client_id, &old).await.0 == 401
    })
    .await;
    assert_eq!(grant(&b, &client_id, &new).await.0, 200);
    let r = b
        .send(
            b.http
                .post(b.url(INTROSPECT))
                .basic_auth(&client_id, Some(&new))
                .form(&[("token", token.as_str())]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"active": false}));
}

async fn a_limit_change_and_a_deleted_client_reach_every_node(b: crate::helpers::Backend) {
    let (a, b) = two_nodes(b).await;
    let (id, client_id, secret) = register(&a).await;
    let (status, v) = grant(&b, &client_id, &secret).await;
    assert_eq!((status, v["expires_in"].clone()), (200, json!(3600)));

    // Access token lifetime (limit 1001), set through A, applies on B.
    a.put_system_limit(1001, 600).await;
    assert_eq!(grant(&a, &client_id, &secret).await.1["expires_in"], 600);
    within_bound("new lifetime on B", || async {
        grant(&b, &client_id, &secret).await.1["expires_in"] == 600
    })
    .await;

    // Deleted through A: refused on A at once, on B soon.
    let r = a
        .send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(grant(&a, &client_id, &secret).await.0, 401);
    within_bound("deleted client refused on B", || async {
        grant(&b, &client_id, &secret).await.0 == 401
    })
    .await;
}

async fn a_deactivated_tenant_stops_its_clients_on_every_node(b: crate::helpers::Backend) {
    let (a, b) = two_nodes(b).await;
    let tenant = a
        .create_tenant("acme", &[portcullis_core::model::identity::ROLE_USER])
        .await
        .id;
    let user_role = a.role_id(tenant, "User").await;
    a.create_user(tenant, "ops", "Ops-Password-1", vec![user_role])
        .await;
    let v = a
        .register_as(
            "ops",
            "Ops-Password-1",
            json!({"name": "Acme job", "redirectUrls": ["https://acme.example/cb"],
                   "grantTypes": ["client_credentials"]}),
        )
        .await;
    let (client_id, secret) = (
        v["clientId"].as_str().expect("clientId").to_owned(),
        v["clientSecret"].as_str().expect("secret").to_owned(),
    );
    assert_eq!(grant(&b, &client_id, &secret).await.0, 200);

    let r = a
        .send_json_as_admin(
            Method::PUT,
            &format!("/api/admin/tenants/{tenant}"),
            &json!({"name": "acme", "status": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(grant(&a, &client_id, &secret).await.0, 401);
    within_bound("inactive tenant on B", || async {
        grant(&b, &client_id, &secret).await.0 == 401
    })
    .await;
}

backends!(
    a_reset_secret_is_refused_at_once_here_and_soon_on_every_node,
    a_limit_change_and_a_deleted_client_reach_every_node,
    a_deactivated_tenant_stops_its_clients_on_every_node,
);
