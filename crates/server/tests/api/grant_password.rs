//! The password grant (RFC 6749 §4.3) as its clients see it: the `oauth2` crate runs
//! it (and the refresh it leads to) with both client authentication methods, and a JWT
//! library verifies the tokens against the JWK Set as a resource server would; seed
//! 000's JSON payloads work as printed; wrong passwords lock the account.

use crate::helpers::{backends, spawn_app, Backend};
use crate::support::oauth::{
    alice, alices_client, assert_rfc_error, client_form, password_grant, refresh_grant,
    resource_server_verify, rfc_error, tokens_for, ALICE, ALICE_PASSWORD, APPS, INVALID_GRANT,
    MGMT_TOKEN, ODATA, TOKEN,
};
use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
use oauth2::{AuthType, TokenResponse};
use reqwest::Method;
use serde_json::json;

async fn the_oauth2_crate_runs_the_password_and_refresh_grants_with_both_client_auth_methods(
    b: Backend,
) {
    let app = spawn_app(b).await;
    let alice_id = alice(&app).await;
    let c = alices_client(&app).await;

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let t = password_grant(&app, &c, auth.clone(), ALICE, ALICE_PASSWORD, Some(ODATA))
            .await
            .expect("password grant");
        assert_eq!(*t.token_type(), BasicTokenType::Bearer);
        assert_eq!(t.expires_in().map(|d| d.as_secs()), Some(3600));
        assert_eq!(
            t.scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec![ODATA.to_owned()])
        );
        let refresh = t.refresh_token().expect("a refresh token").secret().clone();
        assert_eq!(refresh.len(), 43, "256 bits, base64url");

        let claims = resource_server_verify(&app.http, &app.base, t.access_token().secret()).await;
        assert_eq!(claims["iss"], app.base.as_str());
        assert_eq!(claims["aud"], app.base.as_str());
        assert_eq!(claims["sub"], alice_id.to_string());
        assert_eq!(claims["username"], ALICE);
        assert_eq!(claims["client_id"], c.client_id.as_str());
        assert_eq!(claims["scope"], ODATA);
        assert_eq!(claims["tenant"], 1);
        let (iat, exp) = (
            claims["iat"].as_i64().expect("iat"),
            claims["exp"].as_i64().expect("exp"),
        );
        assert_eq!(exp - iat, 3600);
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

        // HDP: the same refresh token comes back, and keeps working.
        for _ in 0..2 {
            let r = refresh_grant(&app, &c, auth.clone(), &refresh)
                .await
                .expect("refresh grant");
            assert_eq!(
                r.refresh_token().map(|t| t.secret().as_str()),
                Some(refresh.as_str())
            );
            assert_ne!(r.access_token().secret(), t.access_token().secret());
            let claims =
                resource_server_verify(&app.http, &app.base, r.access_token().secret()).await;
            assert_eq!(claims["sub"], alice_id.to_string());
            assert_eq!(claims["client_id"], c.client_id.as_str());
        }
    }

    // No scope asked: the default, api.access.odata (and its HDP alias works too).
    let t = password_grant(&app, &c, AuthType::BasicAuth, ALICE, ALICE_PASSWORD, None)
        .await
        .expect("password grant");
    assert_eq!(t.scopes().map(|s| s[0].to_string()), Some(ODATA.to_owned()));
    let t = password_grant(
        &app,
        &c,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        Some("odata"),
    )
    .await
    .expect("the odata alias");
    let claims = resource_server_verify(&app.http, &app.base, t.access_token().secret()).await;
    assert_eq!(claims["scope"], ODATA);

    // The library's error handling sees RFC 6749 errors.
    let e = password_grant(&app, &c, AuthType::BasicAuth, ALICE, "wrong", None).await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidGrant);
    let mut wrong = c.clone();
    wrong.secret = "not-the-secret".into();
    let e = password_grant(
        &app,
        &wrong,
        AuthType::BasicAuth,
        ALICE,
        ALICE_PASSWORD,
        None,
    )
    .await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::InvalidClient);
}

async fn seed_000_json_password_and_refresh_payloads_work_as_printed(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let c = alices_client(&app).await;
    for path in [TOKEN, MGMT_TOKEN] {
        let r = app
            .send(app.http.post(app.url(path)).json(&json!({
                "grant_type": "password",
                "scope": "api.access.odata",
                "clientId": c.client_id,
                "clientSecret": c.secret,
                "username": ALICE,
                "password": ALICE_PASSWORD
            })))
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")));
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(
            v["expires_in"], "3600",
            "a JSON string, as in the seed sample"
        );
        let access = v["access_token"].as_str().expect("access_token");
        resource_server_verify(&app.http, &app.base, access).await;
        let refresh = v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();

        let r = app
            .send(app.http.post(app.url(path)).json(&json!({
                "grant_type": "refresh_token",
                "scope": "api.access.odata",
                "refresh_token": refresh,
                "clientId": c.client_id,
                "clientSecret": c.secret
            })))
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v = r.json();
        assert_eq!(
            v["refresh_token"],
            refresh.as_str(),
            "returned unchanged, as in the sample"
        );
        assert_eq!(v["expires_in"], "3600");
        assert_eq!(v["token_type"], "Bearer");
        resource_server_verify(
            &app.http,
            &app.base,
            v["access_token"].as_str().expect("access"),
        )
        .await;

        // snake_case client fields and Basic client auth work with JSON too.
        let r = app
            .send(
                app.http
                    .post(app.url(path))
                    .basic_auth(&c.client_id, Some(&c.secret))
                    .json(&json!({
                        "grant_type": "refresh_token", "refresh_token": refresh
                    })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["expires_in"], "3600");
        let r = app
            .send(app.http.post(app.url(path)).json(&json!({
                "grant_type": "refresh_token", "refresh_token": refresh,
                "client_id": c.client_id, "client_secret": c.secret
            })))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);

        // A form request on the same endpoint gets RFC 6749's number.
        let r = client_form(
            &app,
            &c,
            path,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(
            r.json()["expires_in"],
            3600,
            "a JSON number for form requests"
        );
        assert_eq!(r.json()["token_type"], "Bearer");
    }
}

async fn wrong_passwords_at_the_password_grant_lock_the_account(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let c = alices_client(&app).await;
    let mut descriptions = Vec::new();
    for _ in 0..3 {
        let r = client_form(
            &app,
            &c,
            TOKEN,
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", "wrong"),
            ],
        )
        .await;
        assert_rfc_error(&r, 400, "invalid_grant", "a wrong password");
        descriptions.push(
            r.json()["error_description"]
                .as_str()
                .expect("description")
                .to_owned(),
        );
    }
    assert!(!descriptions[0].contains("locked"), "{descriptions:?}");
    assert!(
        descriptions[2].contains("locked"),
        "the third failure locks (HDP limit 3): {descriptions:?}"
    );
    // Now even the right password is refused, and the answer says why.
    let r = app
        .send(app.http.post(app.url(TOKEN)).json(&json!({
            "grant_type": "password", "clientId": c.client_id, "clientSecret": c.secret,
            "username": ALICE, "password": ALICE_PASSWORD
        })))
        .await;
    let message = r.hdp_error(400, INVALID_GRANT);
    assert!(message.contains("locked"), "{message}");
    // The lock is the account's (HDP): management sign-in is locked too.
    let r = app.send_as(Method::GET, APPS, ALICE, ALICE_PASSWORD).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // After the lockout period (limit 4, 1800 s) the right password works again.
    app.clock.advance(1801);
    tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
}

backends!(
    the_oauth2_crate_runs_the_password_and_refresh_grants_with_both_client_auth_methods,
    seed_000_json_password_and_refresh_payloads_work_as_printed,
    wrong_passwords_at_the_password_grant_lock_the_account,
);
