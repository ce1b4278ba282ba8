//! The management API called with a Bearer token: the `api.access.mgmt` scope acts as
//! the token's user; without it, `insufficient_scope`.

use crate::helpers::{backends, spawn_app, Backend, TestApp};
use crate::support::oauth::{
    alice, password_grant, register, resource_server_verify, revoke, ALICE, ALICE_PASSWORD, APPS,
    MGMT, ODATA,
};
use oauth2::{AuthType, TokenResponse};
use reqwest::Method;
use serde_json::json;

const INSUFFICIENT_SCOPE: u32 = 222209407;

/// Sets the system tenant's allowed scopes.
async fn allow_scopes(app: &TestApp, scopes: &[&str]) {
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/tenants/1")
                .json(&json!({
                    "name": "system", "status": 1, "allowedScopes": scopes
                })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn a_token_with_the_mgmt_scope_calls_the_management_api_as_its_user(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    allow_scopes(&app, &[ODATA, MGMT]).await;
    let c = register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Console",
        json!({"scopes": [ODATA, MGMT]}),
    )
    .await;
    let t = password_grant(
        &app,
        &c,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        Some(MGMT),
    )
    .await
    .expect("a management token");
    let mgmt = t.access_token().secret().clone();
    let claims = resource_server_verify(&app.http, &app.base, &mgmt).await;
    assert_eq!(claims["scope"], MGMT);

    let r = app
        .send(app.http.get(app.url(APPS)).bearer_auth(&mgmt))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let apps = r.json();
    assert_eq!(
        apps["applications"].as_array().map(Vec::len),
        Some(1),
        "Alice's own: {apps}"
    );
    assert_eq!(apps["applications"][0]["id"], c.id);
    let r = app
        .send(app.http.get(app.url("/api/mgmt/user")).bearer_auth(&mgmt))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The default scope is for data, not management.
    let t = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None)
        .await
        .expect("an OData token");
    let r = app
        .send(
            app.http
                .get(app.url(APPS))
                .bearer_auth(t.access_token().secret()),
        )
        .await;
    r.hdp_error(403, INSUFFICIENT_SCOPE);

    // A revoked management token no longer authenticates.
    revoke(&app, &c, &mgmt).await;
    let r = app
        .send(app.http.get(app.url(APPS)).bearer_auth(&mgmt))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

backends!(a_token_with_the_mgmt_scope_calls_the_management_api_as_its_user,);
