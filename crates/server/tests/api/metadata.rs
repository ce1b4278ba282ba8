//! Authorization server metadata (RFC 8414) and OpenID Provider metadata (OpenID Connect
//! Discovery 1.0): every endpoint listed, and each answers; the OpenID document is a
//! superset of the RFC 8414 one with the same issuer.

use crate::helpers::{backends, spawn_app, Backend, TestApp};
use crate::support::oauth::{INTROSPECT, METADATA, ODATA, REVOKE, TOKEN, USERINFO};
use reqwest::Method;
use serde_json::{json, Value};

const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// The document at `path`, checked to be cacheable JSON.
async fn document(app: &TestApp, path: &str) -> Value {
    let r = app.send(app.http.get(app.url(path))).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{path}: {:?}",
        r.header("content-type")
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=3600"),
        "{path}"
    );
    r.json()
}

/// Every endpoint `m` advertises answers: not 404 or 405 (with the method each takes).
async fn every_advertised_endpoint_is_served(app: &TestApp, m: &Value) {
    for (field, value) in m.as_object().expect("object") {
        if !(field.ends_with("_endpoint") || field == "jwks_uri") {
            continue;
        }
        let url = value.as_str().expect("a URL");
        let get = matches!(
            field.as_str(),
            "jwks_uri" | "userinfo_endpoint" | "authorization_endpoint" | "end_session_endpoint"
        );
        let req = if get {
            app.http.request(Method::GET, url)
        } else {
            app.http
                .request(Method::POST, url)
                .form(&[("grant_type", "password")])
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

async fn the_metadata_lists_every_endpoint_and_each_answers(b: Backend) {
    let app = spawn_app(b).await;
    let m = document(&app, METADATA).await;
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
    // The authorization and end-session endpoints are advertised exactly when the
    // router serves them.
    let doc = app
        .send(app.http.get(app.url("/api/openapi.json")))
        .await
        .json();
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("end_session_endpoint", "/oauth2/end_session"),
    ] {
        let routed = doc["paths"].get(path).is_some();
        assert_eq!(
            m.get(field).is_some(),
            routed,
            "{field} iff {path} is routed: {m}"
        );
        if routed {
            assert_eq!(m[field], app.url(path));
        }
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

    every_advertised_endpoint_is_served(&app, &m).await;
}

async fn the_openid_configuration_is_a_superset_with_the_same_issuer(b: Backend) {
    let app = spawn_app(b).await;
    let oauth = document(&app, METADATA).await;
    let oidc = document(&app, OPENID_CONFIGURATION).await;
    assert_eq!(oidc["issuer"], app.base.as_str());
    for (field, value) in oauth.as_object().expect("object") {
        assert_eq!(oidc.get(field), Some(value), "{field}");
    }

    // Discovery 1.0 §3: required, and recommended, provider metadata.
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
        "scopes_supported",
        "claims_supported",
    ] {
        assert!(oidc.get(field).is_some(), "{field} missing: {oidc}");
    }
    assert_eq!(oidc["response_types_supported"], json!(["code"]));
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
    let algs = &oidc["id_token_signing_alg_values_supported"];
    assert!(algs.as_array().is_some_and(|a| a.contains(&json!("RS256"))));
    assert_eq!(
        oidc["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert_eq!(
        oidc["prompt_values_supported"],
        json!(["none", "login", "consent", "select_account"])
    );
    for claim in ["sub", "iss", "auth_time", "nonce", "email", "name"] {
        assert!(
            oidc["claims_supported"]
                .as_array()
                .is_some_and(|a| a.contains(&json!(claim))),
            "{claim}"
        );
    }
    assert_eq!(oidc["claims_parameter_supported"], json!(true));
    assert_eq!(oidc["request_parameter_supported"], json!(false));
    assert_eq!(oidc["request_uri_parameter_supported"], json!(false));
    assert_eq!(oidc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        oidc["authorization_response_iss_parameter_supported"],
        json!(true)
    );

    every_advertised_endpoint_is_served(&app, &oidc).await;
}

backends!(
    the_metadata_lists_every_endpoint_and_each_answers,
    the_openid_configuration_is_a_superset_with_the_same_issuer,
);
