//! The OpenAPI document is generated from the router and matches it: every documented
//! operation is served, and every served API path is documented.

use crate::helpers::{backends, spawn_app, Backend};
use reqwest::Method;
use std::collections::BTreeSet;

/// Every (method, path) the server serves. Adding a route without listing it here
/// fails `every_served_route_is_documented`, and the reverse fails too.
const SERVED: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/openapi.json"),
    ("get", "/api/mgmt/oauth/client/applications"),
    ("post", "/api/mgmt/oauth/client/applications"),
    ("get", "/api/mgmt/oauth/client/applications/{id}"),
    ("put", "/api/mgmt/oauth/client/applications/{id}"),
    ("delete", "/api/mgmt/oauth/client/applications/{id}"),
    ("put", "/api/mgmt/oauth/client/applications/{id}/reset"),
    ("get", "/api/mgmt/oauth/client/allowedapplications"),
    ("delete", "/api/mgmt/oauth/client/allowedapplications/{id}"),
    ("get", "/api/admin/limits"),
    ("get", "/api/admin/limits/system"),
    ("get", "/api/admin/limits/system/{limitId}"),
    ("put", "/api/admin/limits/system/{limitId}"),
    ("delete", "/api/admin/limits/system/{limitId}"),
    ("get", "/api/admin/limits/tenants/{tenantId}/{limitId}"),
    ("put", "/api/admin/limits/tenants/{tenantId}/{limitId}"),
    ("delete", "/api/admin/limits/tenants/{tenantId}/{limitId}"),
    ("get", "/api/admin/users"),
    ("post", "/api/admin/users"),
    ("get", "/api/admin/users/{id}"),
    ("put", "/api/admin/users/{id}"),
    ("delete", "/api/admin/users/{id}"),
    ("get", "/api/admin/users/{id}/permissions"),
    ("put", "/api/admin/users/{id}/permissions"),
    ("put", "/api/admin/users/{id}/unlock"),
    ("put", "/api/admin/users/{id}/password"),
    ("post", "/api/admin/users/{id}/apisecret"),
    ("delete", "/api/admin/users/{id}/apisecret"),
    ("get", "/api/mgmt/user"),
    ("put", "/api/mgmt/user/password"),
    ("get", "/api/admin/permissions"),
    ("get", "/api/admin/permissions/{id}"),
    ("get", "/api/mgmt/permissions"),
    ("get", "/api/admin/tenants"),
    ("post", "/api/admin/tenants"),
    ("get", "/api/admin/tenants/{id}"),
    ("put", "/api/admin/tenants/{id}"),
    ("delete", "/api/admin/tenants/{id}"),
    ("get", "/api/admin/tenants/{id}/admins"),
    ("put", "/api/admin/tenants/{id}/admins"),
    ("post", "/oauth2/token"),
    ("post", "/api/mgmt/oauth2/token"),
    ("post", "/configapi/v2/oauth/token"),
    ("post", "/oauth2/introspect"),
    ("post", "/oauth2/revoke"),
    ("get", "/oauth2/userinfo"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/oauth2/jwks"),
    ("get", "/api/mgmt/oauthapps"),
    ("post", "/api/mgmt/oauthapps"),
    ("get", "/api/mgmt/oauthapps/{id}"),
    ("put", "/api/mgmt/oauthapps/{id}"),
    ("delete", "/api/mgmt/oauthapps/{id}"),
    ("get", "/api/mgmt/oauthprofiles"),
    ("post", "/api/mgmt/oauthprofiles"),
    ("get", "/api/mgmt/oauthprofiles/connect"),
    ("get", "/api/mgmt/oauthprofiles/{id}"),
    ("put", "/api/mgmt/oauthprofiles/{id}"),
    ("delete", "/api/mgmt/oauthprofiles/{id}"),
    ("get", "/api/mgmt/oauthprofiles/{id}/stats"),
    ("post", "/api/mgmt/oauthprofiles/{id}/refresh"),
    ("get", "/oauth2callback"),
    ("get", "/oauth2/authorize"),
    ("post", "/oauth2/authorize"),
    ("get", "/api/mgmt/oauth2/authorize"),
    ("post", "/api/mgmt/oauth2/authorize"),
    ("post", "/oauth2/login"),
    ("post", "/oauth2/consent"),
    ("post", "/oauth2/logout"),
    ("get", "/oauth2/assets/portcullis.css"),
];

fn documented(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

async fn the_document_is_openapi_3_1_and_lists_every_served_route(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let r = app.send(app.http.get(app.url("/api/openapi.json"))).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["schemas"]["RegisterRequest"].is_object());
    assert!(doc["components"]["securitySchemes"]["basic"].is_object());
    let expected: BTreeSet<(String, String)> = SERVED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented(&doc), expected);
}

async fn every_documented_operation_is_served(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let doc = app
        .send(app.http.get(app.url("/api/openapi.json")))
        .await
        .json();
    for (method, path) in documented(&doc) {
        let concrete = path
            .replace("{id}", "1")
            .replace("{tenantId}", "1")
            .replace("{limitId}", "1001");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let r = app.send(app.as_admin(m, &concrete)).await;
        let code = serde_json::from_str::<serde_json::Value>(&r.text)
            .ok()
            .and_then(|v| v["error"]["code"].as_u64());
        assert_ne!(
            code,
            Some(222209030),
            "{method} {path} is documented but not routed"
        );
        assert_ne!(
            code,
            Some(222209031),
            "{method} {path} is documented but the method is not routed"
        );
    }
}

backends!(
    the_document_is_openapi_3_1_and_lists_every_served_route,
    every_documented_operation_is_served
);
