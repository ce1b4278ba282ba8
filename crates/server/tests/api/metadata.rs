//! Authorization server metadata (RFC 8414): every endpoint listed, and each answers.

use crate::helpers::{backends, spawn_app, Backend};
use crate::support::oauth::{INTROSPECT, METADATA, ODATA, REVOKE, TOKEN, USERINFO};
use reqwest::Method;
use serde_json::json;

async fn the_metadata_lists_every_endpoint_and_each_answers(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.send(app.http.get(app.url(METADATA))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = r.json();
    assert_eq!(m["issuer"], app.base.as_str());
    let endpoints = [
        ("token_endpoint", TOKEN),
        ("jwks_uri", "/oauth2/jwks"),
        ("introspection_endpoint", INTROSPECT),
        ("revocation_endpoint", REVOKE),
        ("userinfo_endpoint", USERINFO),
    ];
    for (field, path) in endpoints {
        assert_eq!(m[field], app.url(path), "{field}");
    }
    // The authorization endpoint is advertised exactly when the router serves it.
    let doc = app
        .send(app.http.get(app.url("/api/openapi.json")))
        .await
        .json();
    let authorize = doc["paths"].get("/oauth2/authorize").is_some();
    assert_eq!(
        m.get("authorization_endpoint").is_some(),
        authorize,
        "authorization_endpoint iff /oauth2/authorize is routed: {m}"
    );
    if authorize {
        assert_eq!(m["authorization_endpoint"], app.url("/oauth2/authorize"));
    }
    let grants = m["grant_types_supported"]
        .as_array()
        .expect("grant_types_supported");
    for g in ["password", "refresh_token", "client_credentials"] {
        assert!(grants.contains(&json!(g)), "{g}");
    }
    let auth_methods = &m["token_endpoint_auth_methods_supported"];
    assert!(auth_methods
        .as_array()
        .is_some_and(|a| a.contains(&json!("client_secret_basic"))
            && a.contains(&json!("client_secret_post"))));
    assert!(m["scopes_supported"]
        .as_array()
        .is_some_and(|a| a.contains(&json!(ODATA))));

    // Every advertised endpoint answers (with the method RFC 8414 implies).
    for (field, value) in m.as_object().expect("object") {
        if !(field.ends_with("_endpoint") || field == "jwks_uri") {
            continue;
        }
        let url = value.as_str().expect("a URL");
        let method = if field == "jwks_uri" || field == "userinfo_endpoint" {
            Method::GET
        } else {
            Method::POST
        };
        let req = app.http.request(method, url);
        let req = if field == "jwks_uri" || field == "userinfo_endpoint" {
            req
        } else {
            req.form(&[("grant_type", "password")])
        };
        let r = app.send(req).await;
        assert!(
            r.status != 404 && r.status != 405,
            "{field} {url}: {} {}",
            r.status,
            r.text
        );
        if field == "jwks_uri" {
            assert_eq!(r.status, 200);
            assert!(r.json()["keys"].as_array().is_some_and(|k| !k.is_empty()));
        }
    }
}

backends!(the_metadata_lists_every_endpoint_and_each_answers,);
