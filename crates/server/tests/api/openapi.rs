//! The OpenAPI document is generated from the router and matches it: every documented
//! operation is served, and every served API path is documented.

use crate::helpers::{once, spawn_app, Backend};
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
    ("get", "/api/admin/resources"),
    ("post", "/api/admin/resources"),
    ("get", "/api/admin/resources/{id}"),
    ("put", "/api/admin/resources/{id}"),
    ("delete", "/api/admin/resources/{id}"),
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
    ("post", "/oauth2/par"),
    ("post", "/oauth2/device_authorization"),
    ("get", "/oauth2/device"),
    ("post", "/oauth2/device"),
    ("get", "/oauth2/userinfo"),
    ("post", "/oauth2/userinfo"),
    ("get", "/oauth2/end_session"),
    ("post", "/oauth2/end_session"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/.well-known/oauth-protected-resource"),
    ("get", "/.well-known/oauth-protected-resource/api/mgmt"),
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
    ("post", "/oauth2/register"),
    ("get", "/oauth2/register/{client_id}"),
    ("put", "/oauth2/register/{client_id}"),
    ("delete", "/oauth2/register/{client_id}"),
    ("get", "/api/admin/tenants/{id}/initialaccesstokens"),
    ("post", "/api/admin/tenants/{id}/initialaccesstokens"),
    (
        "delete",
        "/api/admin/tenants/{id}/initialaccesstokens/{tokenId}",
    ),
    ("get", "/api/admin/events"),
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
    let app = spawn_app(b).await;
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
    let app = spawn_app(b).await;
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
        let r = app.send_as_admin(m, &concrete).await;
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

/// The operation `method path` of the document.
fn operation<'a>(doc: &'a serde_json::Value, method: &str, path: &str) -> &'a serde_json::Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

/// A request to send: method, documented path, concrete path, and a body with its
/// content type.
type Probe = (
    &'static str,
    &'static str,
    String,
    Option<(&'static str, String)>,
);

/// What the server answers to malformed requests is declared, with the content type
/// it is answered in (issue #11: 39 operation/status pairs were not).
async fn every_answer_to_a_malformed_request_is_declared(b: Backend) {
    let app = spawn_app(b).await;
    let doc = app
        .send(app.http.get(app.url("/api/openapi.json")))
        .await
        .json();
    let huge = "9223372036854775808";
    // (method, documented path, concrete path, body (content type, text))
    let cases: Vec<Probe> = vec![
        (
            "get",
            "/api/admin/users/{id}",
            format!("/api/admin/users/{huge}"),
            None,
        ),
        (
            "delete",
            "/api/admin/tenants/{id}",
            "/api/admin/tenants/abc".into(),
            None,
        ),
        (
            "get",
            "/api/mgmt/oauthprofiles/{id}",
            "/api/mgmt/oauthprofiles/0".into(),
            None,
        ),
        (
            "get",
            "/api/admin/limits/tenants/{tenantId}/{limitId}",
            format!("/api/admin/limits/tenants/{huge}/1"),
            None,
        ),
        (
            "get",
            "/api/admin/users/{id}",
            "/api/admin/users/4242".into(),
            None,
        ),
        (
            "get",
            "/api/mgmt/oauth/client/applications/{id}",
            "/api/mgmt/oauth/client/applications/4242".into(),
            None,
        ),
        (
            "get",
            "/api/admin/users",
            "/api/admin/users?tenantId=abc".into(),
            None,
        ),
        (
            "get",
            "/api/mgmt/oauthapps",
            "/api/mgmt/oauthapps?tenantId=x".into(),
            None,
        ),
        (
            "post",
            "/api/admin/tenants",
            "/api/admin/tenants".into(),
            Some(("text/plain", "{}".into())),
        ),
        (
            "post",
            "/api/admin/users",
            "/api/admin/users".into(),
            Some(("application/json", "x".repeat(70 * 1024))),
        ),
        (
            "put",
            "/api/admin/users/{id}/permissions",
            "/api/admin/users/1/permissions".into(),
            Some(("application/json", "{".into())),
        ),
        (
            "post",
            "/oauth2/token",
            "/oauth2/token".into(),
            Some(("text/plain", "x".into())),
        ),
        (
            "post",
            "/oauth2/token",
            "/oauth2/token".into(),
            Some(("application/json", "[]".into())),
        ),
        (
            "post",
            "/api/mgmt/oauth2/token",
            "/api/mgmt/oauth2/token".into(),
            Some(("application/json", "{}".into())),
        ),
        (
            "post",
            "/configapi/v2/oauth/token",
            "/configapi/v2/oauth/token".into(),
            Some(("application/json", "{}".into())),
        ),
        (
            "post",
            "/oauth2/introspect",
            "/oauth2/introspect".into(),
            Some((
                "application/x-www-form-urlencoded",
                "token=a&token=b".into(),
            )),
        ),
        (
            "post",
            "/oauth2/revoke",
            "/oauth2/revoke".into(),
            Some(("application/x-www-form-urlencoded", "x".repeat(70 * 1024))),
        ),
        (
            "post",
            "/oauth2/login",
            "/oauth2/login".into(),
            Some(("application/x-www-form-urlencoded", "x".repeat(70 * 1024))),
        ),
        ("get", "/oauth2/userinfo", "/oauth2/userinfo".into(), None),
    ];
    for (method, path, concrete, body) in cases {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut req = app.as_admin(m, &concrete);
        if path.starts_with("/oauth2/")
            || path.starts_with("/configapi/")
            || path == "/api/mgmt/oauth2/token"
        {
            req = app.http.request(
                Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                app.url(&concrete),
            );
        }
        if let Some((ct, text)) = body {
            req = req.header("content-type", ct).body(text);
        }
        let r = app.send(req).await;
        assert!(
            r.status >= 400,
            "{method} {concrete}: {} {}",
            r.status,
            r.text
        );
        let declared = &operation(&doc, method, path)["responses"][r.status.to_string()];
        assert!(
            declared.is_object(),
            "{method} {path} answers {} but does not declare it: {}",
            r.status,
            r.text
        );
        let content = declared["content"].as_object();
        match (content, r.header("content-type")) {
            (None, _) => assert!(
                r.text.is_empty() || path == "/oauth2/userinfo",
                "{method} {path} {}: a body but no declared content",
                r.status
            ),
            (Some(c), Some(ct)) => {
                let essence = ct.split(';').next().unwrap_or("").trim();
                assert!(
                    c.contains_key(essence),
                    "{method} {path} {}: answered {essence}, declared {:?}",
                    r.status,
                    c.keys().collect::<Vec<_>>()
                );
            }
            (Some(_), None) => panic!("{method} {path} {}: no content type", r.status),
        }
    }
}

async fn shared_answers_are_declared_in_each_surfaces_format(b: Backend) {
    let app = spawn_app(b).await;
    let doc = app
        .send(app.http.get(app.url("/api/openapi.json")))
        .await
        .json();
    let envelope = serde_json::json!({"$ref": "#/components/schemas/ErrorEnvelope"});
    let rfc = serde_json::json!({"$ref": "#/components/schemas/RfcError"});
    for (method, path) in documented(&doc) {
        let op = operation(&doc, &method, &path);
        let responses = &op["responses"];
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let has_id = path.contains('{');
        let has_body = op.get("requestBody").is_some();
        if path.starts_with("/api/") && secured {
            for status in ["401", "403", "429", "500", "503"] {
                assert_eq!(
                    responses[status]["content"]["application/json"]["schema"], envelope,
                    "{method} {path} {status}"
                );
            }
            if has_id {
                for status in ["400", "404"] {
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"], envelope,
                        "{method} {path} {status}"
                    );
                }
                let id = op["parameters"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["in"] == "path"))
                    .expect("a path parameter");
                assert_eq!(id["schema"]["minimum"], 1, "{method} {path}");
            }
            if has_body {
                for status in ["400", "413", "415"] {
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"], envelope,
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    for path in [
        "/configapi/v2/oauth/token",
        "/oauth2/introspect",
        "/oauth2/revoke",
    ] {
        for status in ["400", "401", "413", "415", "429"] {
            assert_eq!(
                doc["paths"][path]["post"]["responses"][status]["content"]["application/json"]
                    ["schema"],
                rfc,
                "{path} {status}"
            );
        }
    }
    for path in ["/oauth2/token", "/api/mgmt/oauth2/token"] {
        for status in ["400", "401", "413", "415", "429"] {
            assert_eq!(
                doc["paths"][path]["post"]["responses"][status]["content"]["application/json"]
                    ["schema"],
                serde_json::json!({"oneOf": [rfc, envelope]}),
                "{path} {status}"
            );
        }
    }
    for path in ["/oauth2/login", "/oauth2/consent", "/oauth2/logout"] {
        assert!(
            doc["paths"][path]["post"]["responses"]["413"]["content"]["text/html"].is_object(),
            "{path}"
        );
    }
    let unauthorized = &doc["paths"]["/oauth2/userinfo"]["get"]["responses"]["401"];
    assert!(unauthorized.get("content").is_none(), "{unauthorized}");
    assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
}

once!(
    the_document_is_openapi_3_1_and_lists_every_served_route,
    every_documented_operation_is_served,
    every_answer_to_a_malformed_request_is_declared,
    shared_answers_are_declared_in_each_surfaces_format,
);
