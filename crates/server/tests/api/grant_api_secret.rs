//! The user API secret grant at the configapi token endpoint (seed 003), as printed.

use crate::helpers::{backends, spawn_app, Backend};
use crate::support::oauth::{
    api_secret, assert_invalid_token, create_user, form_post, resource_server_verify, userinfo,
    USERS,
};
use reqwest::Method;
use serde_json::json;

const CONFIGAPI_TOKEN: &str = "/configapi/v2/oauth/token";

async fn seed_003_user_api_secrets_get_tokens_at_the_configapi_endpoint(b: Backend) {
    let app = spawn_app(b).await;
    let sheila = create_user(&app, "sheila.thomas", "Tea-Time-1984").await;
    let secret = api_secret(&app, sheila).await;
    let r = app
        .send(
            app.as_admin(Method::PUT, "/api/admin/tenants/1")
                .json(&json!({
                    "name": "system", "status": 1, "hostNames": ["example.com"]
                })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let request = |secret: &str, scope: &str| {
        // The seed's request, byte for byte but for the secret.
        app.http
            .post(app.url(CONFIGAPI_TOKEN))
            .header("Host", "example.com")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id=sheila.thomas&client_secret={secret}&scope={scope}"
            ))
    };
    for scope in ["example.com", "system"] {
        let r = app.send(request(&secret, scope)).await;
        assert_eq!(r.status, 200, "scope={scope}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(
            v["expires_in"], "3600",
            "a string, as in the seed's example"
        );
        let mut keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        keys.sort();
        // The seed's three members, plus RFC 6749 §5.1's scope; no refresh token.
        assert_eq!(
            keys,
            ["access_token", "expires_in", "scope", "token_type"],
            "{v}"
        );
        let access = v["access_token"].as_str().expect("access_token");
        let claims = resource_server_verify(&app.http, &app.base, access).await;
        assert_eq!(
            claims["sub"],
            sheila.to_string(),
            "the token acts as the user"
        );
        assert_eq!(claims["username"], "sheila.thomas");
        assert_eq!(claims["tenant"], 1);
        // "Use the Access Token to Access the Resource".
        let me = userinfo(&app, access).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.json()["username"], "sheila.thomas");
    }

    let r = app.send(request("wrong-secret", "example.com")).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");
    let r = app.send(request(&secret, "elsewhere.example")).await;
    assert_eq!(r.status, 400, "an unknown tenant: {}", r.text);
    assert_eq!(r.json()["error"], "invalid_scope");
    let r = app
        .send(form_post(
            &app,
            CONFIGAPI_TOKEN,
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "sheila.thomas"),
                ("client_secret", &secret),
            ],
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "unsupported_grant_type");

    // Deleting the API secret ends its tokens.
    let r = app.send(request(&secret, "example.com")).await;
    let access = r.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(userinfo(&app, &access).await.status, 200);
    let r = app
        .send_as_admin(Method::DELETE, &format!("{USERS}/{sheila}/apisecret"))
        .await;
    assert!(r.status == 204 || r.status == 200, "{}", r.text);
    assert_invalid_token(&userinfo(&app, &access).await);
    assert_eq!(app.send(request(&secret, "example.com")).await.status, 401);
}

backends!(seed_003_user_api_secrets_get_tokens_at_the_configapi_endpoint,);
