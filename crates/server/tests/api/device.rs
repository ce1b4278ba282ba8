//! The device authorization grant (RFC 8628, issue 15) over plain HTTP, the browser
//! played by hand as in `authorize.rs`: the device authorization endpoint, the
//! verification page and the sign-in and consent pages it leads to, and polling —
//! pending, slow_down (the interval raised), expired (the injected clock advanced),
//! denied, used, unknown and another client's codes, concurrent polls (exactly one gets
//! tokens), and the limit on wrong user codes. `oidc_clients.rs` drives the same flow
//! with openid-client (`tests/clients/device_client.mjs`), over HTTPS as that library
//! asks, with a poll interval of 1 s since it waits the interval in real time.

use crate::authorize::{
    assert_page, create_alice, decide, follow, form_fields, register, submit_login, Browser,
    Client, ALICE, ALICE_PASSWORD, CALLBACK,
};
use crate::helpers::{backends, fresh_database, spawn_app, spawn_with, test_config};
use crate::helpers::{Backend, Reply, TestApp};
use crate::oidc_clients::{clients_dir, require_install, run_script};
use portcullis_server::config::Config;
use serde_json::{json, Value};
use std::sync::Arc;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A confidential client allowed the device grant.
async fn device_client(app: &TestApp) -> Client {
    register(
        app,
        &[CALLBACK],
        json!({"grantTypes": [GRANT, "refresh_token"]}),
    )
    .await
}

/// Asks for a device code as `client`; `extra` fields besides authentication.
async fn start(app: &TestApp, client: &Client, extra: &[(&str, &str)]) -> Reply {
    let mut req = app.http.post(app.url("/oauth2/device_authorization"));
    let mut form: Vec<(&str, &str)> = extra.to_vec();
    match &client.secret {
        Some(s) => req = req.basic_auth(&client.client_id, Some(s)),
        None => form.push(("client_id", &client.client_id)),
    }
    app.send(req.form(&form)).await
}

/// A successful device authorization's body.
#[track_caller]
fn started(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

async fn poll(app: &TestApp, client: &Client, device_code: &str) -> Reply {
    let req = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("grant_type", GRANT), ("device_code", device_code)]);
    app.send(req).await
}

#[track_caller]
fn assert_poll_error(r: &Reply, error: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], error, "{}", r.text);
}

/// Types `code` at the verification page.
async fn enter(b: &mut Browser<'_>, code: &str) -> Reply {
    b.post(
        "/oauth2/device",
        &[("user_code".to_owned(), code.to_owned())],
    )
    .await
}

/// From the verification page's answer to the consent page, signing in as Alice.
async fn sign_in_to_consent(b: &mut Browser<'_>, entered: &Reply) -> Reply {
    let login = follow(b, entered).await;
    assert!(
        assert_page(&login, 200).contains("Sign in"),
        "{}",
        login.text
    );
    let r = submit_login(b, &login, ALICE, ALICE_PASSWORD).await;
    let consent = follow(b, &r).await;
    assert!(
        assert_page(&consent, 200).contains("wants access"),
        "{}",
        consent.text
    );
    assert!(consent.text.contains("never for a code someone sent you"));
    consent
}

async fn a_device_is_approved_on_the_code_flows_pages_and_polls_its_tokens_once(b: Backend) {
    let app = spawn_app(b).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let m = app.send(app.http.get(app.url(path))).await.json();
        assert_eq!(
            m["device_authorization_endpoint"],
            app.url("/oauth2/device_authorization")
        );
        assert!(m["grant_types_supported"]
            .as_array()
            .expect("grants")
            .contains(&json!(GRANT)));
    }
    create_alice(&app).await;
    let client = device_client(&app).await;
    let d = started(&start(&app, &client, &[("scope", "api.access.odata")]).await);
    let user_code = d["user_code"].as_str().expect("user_code").to_owned();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX: {user_code}");
    assert!(user_code
        .chars()
        .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
    assert_eq!(d["verification_uri"], app.url("/oauth2/device"));
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}?user_code={user_code}", app.url("/oauth2/device"))
    );
    assert_eq!(
        (d["expires_in"].clone(), d["interval"].clone()),
        (json!(600), json!(5))
    );
    let device_code = d["device_code"].as_str().expect("device_code").to_owned();

    // Pending, then too fast: the interval goes up by 5 s and stays up.
    assert_poll_error(
        &poll(&app, &client, &device_code).await,
        "authorization_pending",
    );
    let r = poll(&app, &client, &device_code).await;
    assert_poll_error(&r, "slow_down");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap_or("")
        .contains("10 seconds"));
    app.clock.advance(5);
    let r = poll(&app, &client, &device_code).await;
    assert_poll_error(&r, "slow_down");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap_or("")
        .contains("15 seconds"));
    app.clock.advance(15);
    assert_poll_error(
        &poll(&app, &client, &device_code).await,
        "authorization_pending",
    );

    // The user: the complete URI fills the field in; typed lower case without the dash.
    let mut browser = Browser::new(&app);
    let complete = d["verification_uri_complete"].as_str().expect("complete");
    let page = browser
        .get(complete.strip_prefix(&app.base).expect("ours"))
        .await;
    assert!(assert_page(&page, 200).contains(&format!("value=\"{user_code}\"")));
    let typed = format!("  {}  ", user_code.replace('-', "").to_lowercase());
    let entered = enter(&mut browser, &typed).await;
    let consent = sign_in_to_consent(&mut browser, &entered).await;
    app.clock.advance(15);
    assert_poll_error(
        &poll(&app, &client, &device_code).await,
        "authorization_pending",
    );
    let done = decide(&mut browser, &consent, "allow").await;
    assert!(
        assert_page(&done, 200).contains("return to your device"),
        "{}",
        done.text
    );

    app.clock.advance(15);
    let r = poll(&app, &client, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tokens = r.json();
    assert_eq!(tokens["scope"], "api.access.odata");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let who = app
        .send(
            app.http
                .post(app.url("/oauth2/introspect"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&[("token", tokens["access_token"].as_str().expect("at"))]),
        )
        .await
        .json();
    assert_eq!(
        (who["active"].clone(), who["username"].clone()),
        (json!(true), json!(ALICE))
    );

    app.clock.advance(15);
    assert_poll_error(&poll(&app, &client, &device_code).await, "invalid_grant");
    // The code cannot be entered again either.
    let again = enter(&mut Browser::new(&app), &user_code).await;
    assert!(assert_page(&again, 400).contains("not valid"));
}

async fn a_denied_request_polls_access_denied(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = device_client(&app).await;
    let d = started(&start(&app, &client, &[]).await);
    let mut browser = Browser::new(&app);
    let entered = enter(&mut browser, d["user_code"].as_str().expect("code")).await;
    let consent = sign_in_to_consent(&mut browser, &entered).await;
    let done = decide(&mut browser, &consent, "deny").await;
    assert!(
        assert_page(&done, 200).contains("Access denied"),
        "{}",
        done.text
    );
    let code = d["device_code"].as_str().expect("device_code");
    assert_poll_error(&poll(&app, &client, code).await, "access_denied");
    app.clock.advance(10);
    assert_poll_error(&poll(&app, &client, code).await, "access_denied");
}

async fn expired_unknown_and_other_clients_codes_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = device_client(&app).await;
    let other = device_client(&app).await;
    let d = started(&start(&app, &client, &[]).await);
    let code = d["device_code"].as_str().expect("device_code");
    assert_poll_error(&poll(&app, &other, code).await, "invalid_grant");
    assert_poll_error(
        &poll(&app, &client, "not-a-device-code").await,
        "invalid_grant",
    );
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&[("grant_type", GRANT)]),
        )
        .await;
    assert_poll_error(&r, "invalid_request");
    // Another client's poll changed nothing: the first own poll is not too soon.
    assert_poll_error(&poll(&app, &client, code).await, "authorization_pending");

    // The user signs in, but the code expires before they decide.
    let mut browser = Browser::new(&app);
    let entered = enter(&mut browser, d["user_code"].as_str().expect("code")).await;
    let consent = sign_in_to_consent(&mut browser, &entered).await;
    app.clock.advance(600);
    let late = decide(&mut browser, &consent, "allow").await;
    assert_page(&late, 400);
    assert_poll_error(&poll(&app, &client, code).await, "expired_token");
    let again = enter(
        &mut Browser::new(&app),
        d["user_code"].as_str().expect("code"),
    )
    .await;
    assert_page(&again, 400);

    // A client not allowed the grant gets no codes; a bad scope is refused.
    let plain = register(&app, &[CALLBACK], json!({})).await;
    let r = start(&app, &plain, &[]).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("unauthorized_client"))
    );
    let r = start(&app, &client, &[("scope", "no.such.scope")]).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_scope"))
    );
    // A client whose secret is wrong is not told anything.
    let wrong = Client {
        secret: Some("wrong".into()),
        ..client.clone()
    };
    assert_eq!(start(&app, &wrong, &[]).await.status, 401);
    // Public clients may use it with their client_id alone.
    let public = register(
        &app,
        &[CALLBACK],
        json!({"public": true, "grantTypes": [GRANT]}),
    )
    .await;
    started(&start(&app, &public, &[]).await);
}

async fn the_authorization_endpoint_needs_a_code_accepted_by_the_verification_page(b: Backend) {
    let app = spawn_app(b).await;
    let client = device_client(&app).await;
    let d = started(&start(&app, &client, &[]).await);
    let code = d["user_code"].as_str().expect("code").replace('-', "");
    let mut browser = Browser::new(&app);
    // Without the page's proof, the endpoint does not look the code up.
    let path = format!(
        "/oauth2/authorize?client_id={}&user_code={code}&device_request=forged",
        client.client_id
    );
    let r = browser.get(&path).await;
    assert!(
        assert_page(&r, 400).contains("Enter the code"),
        "{}",
        r.text
    );
    // The login form carries the code and its proof.
    let entered = enter(&mut browser, &code).await;
    let login = follow(&mut browser, &entered).await;
    let fields = form_fields(&login.text, "/oauth2/login");
    assert!(
        fields.iter().any(|(k, v)| k == "user_code" && *v == code),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|(k, _)| k == "device_request"),
        "{fields:?}"
    );
}

async fn wrong_user_codes_are_limited_per_address(b: Backend) {
    let app = spawn_app(b).await;
    let client = device_client(&app).await;
    let d = started(&start(&app, &client, &[]).await);
    let mut browser = Browser::new(&app);
    for wrong in ["BBBB-BBBB", "hello", "", "BCDF-GHJK"] {
        let r = enter(&mut browser, wrong).await;
        assert!(assert_page(&r, 400).contains("not valid"), "{}", r.text);
    }
    for _ in 0..6 {
        assert_page(&enter(&mut browser, "CCCC-CCCC").await, 400);
    }
    // The 11th attempt from the address is refused, even with the right code.
    let r = enter(&mut browser, d["user_code"].as_str().expect("code")).await;
    assert!(
        assert_page(&r, 429).contains("Too many wrong codes"),
        "{}",
        r.text
    );
    assert!(r.header("retry-after").is_some());
    // After the window (a device code's lifetime), a right code goes through.
    app.clock.advance(600);
    let d = started(&start(&app, &client, &[]).await);
    let r = enter(&mut browser, d["user_code"].as_str().expect("code")).await;
    assert_eq!(r.status, 303, "{}", r.text);
}

async fn of_concurrent_polls_of_an_approved_code_exactly_one_gets_tokens(b: Backend) {
    let app = Arc::new(spawn_app(b).await);
    create_alice(&app).await;
    let client = device_client(&app).await;
    let d = started(&start(&app, &client, &[]).await);
    let mut browser = Browser::new(&app);
    let entered = enter(&mut browser, d["user_code"].as_str().expect("code")).await;
    let consent = sign_in_to_consent(&mut browser, &entered).await;
    assert_page(&decide(&mut browser, &consent, "allow").await, 200);
    drop(browser);
    let code = d["device_code"].as_str().expect("device_code").to_owned();
    let barrier = Arc::new(tokio::sync::Barrier::new(6));
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (app, client, code, barrier) =
                (app.clone(), client.clone(), code.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                poll(&app, &client, &code).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("poll"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

async fn a_client_registering_itself_may_ask_for_the_device_grant(b: Backend) {
    let app = spawn_app(b).await;
    let t = app
        .send_as_admin(reqwest::Method::GET, "/api/admin/tenants/1")
        .await
        .json();
    let policy = json!({"policy": "open", "grantTypes": [GRANT, "refresh_token"]});
    let body = json!({"name": t["name"], "status": t["status"], "clientRegistration": policy});
    let r = app
        .send_json_as_admin(reqwest::Method::PUT, "/api/admin/tenants/1", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .send(app.http.post(app.url("/oauth2/register")).json(&json!({
            "token_endpoint_auth_method": "none",
            "grant_types": [GRANT],
            "client_name": "Living-room TV",
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let registered = r.json();
    assert_eq!(registered["grant_types"], json!([GRANT]), "{registered}");
    let tv = Client {
        id: 0,
        client_id: registered["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned(),
        secret: None,
    };
    started(&start(&app, &tv, &[]).await);
}

async fn openid_client_runs_the_device_flow(b: Backend) {
    require_install(&clients_dir().join("node_modules/openid-client"));
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(b, &dir).await;
    let (cert, key, cert_pem) = crate::tls::certificate(&dir);
    let config = Config {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        device_poll_interval: 1,
        ..test_config(&url)
    };
    let mut app = spawn_with(config, dir).await;
    app.http = crate::tls::trusting(&cert_pem);
    create_alice(&app).await;
    let client = device_client(&app).await;
    let mut cmd = std::process::Command::new("node");
    cmd.arg("device_client.mjs")
        .env("NODE_EXTRA_CA_CERTS", &cert);
    let env = vec![
        ("OIDC_ISSUER", app.base.clone()),
        ("OIDC_CLIENT_ID", client.client_id.clone()),
        ("OIDC_CLIENT_SECRET", client.secret.clone().expect("secret")),
        ("OIDC_USERNAME", ALICE.to_owned()),
        ("OIDC_PASSWORD", ALICE_PASSWORD.to_owned()),
        ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
    ];
    let v = run_script(cmd, env, "openid-client (tests/clients/device_client.mjs)").await;
    let allow = &v["allow"];
    assert_eq!(allow["interval"], 1, "{v}");
    assert_eq!(allow["expiresIn"], 600, "{v}");
    assert_eq!(allow["tokenType"], "bearer", "{v}");
    assert_eq!(allow["scope"], "openid offline_access", "{v}");
    assert!(
        allow["page"].as_str().unwrap_or("").contains("connected"),
        "{v}"
    );
    assert!(allow["authTime"].is_i64(), "{v}");
    assert_eq!(v["deny"]["error"], "access_denied", "{v}");
}

backends!(
    a_client_registering_itself_may_ask_for_the_device_grant,
    openid_client_runs_the_device_flow,
    a_device_is_approved_on_the_code_flows_pages_and_polls_its_tokens_once,
    a_denied_request_polls_access_denied,
    expired_unknown_and_other_clients_codes_are_refused,
    the_authorization_endpoint_needs_a_code_accepted_by_the_verification_page,
    wrong_user_codes_are_limited_per_address,
    of_concurrent_polls_of_an_approved_code_exactly_one_gets_tokens,
);
