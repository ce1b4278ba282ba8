//! Authentication and abuse (issue 11, items 1, 5, 6, 8, 14, 16): one's own password
//! needs the current one on every path; password spraying is limited per address and
//! per address and name, behind trusted proxies too; unknown names cost the same work
//! as wrong passwords; two `Authorization` headers are refused; HDP's Basic login at
//! the token endpoint; Bearer challenges on the management API; and property tests of
//! the HTTP Basic parsers.

use crate::authorize::{
    assert_page, authorize_path, create_alice, register, submit_login, Browser, ALICE,
    ALICE_PASSWORD, CALLBACK,
};
use crate::helpers::{
    backends, fresh_database, spawn_app, spawn_with, test_config, Backend, TestApp, ADMIN_PASSWORD,
};
use portcullis_core::clock::Clock;
use portcullis_core::ratelimit::{PASSWORD_PER_ADDRESS, PASSWORD_PER_USER, PASSWORD_WINDOW};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

const APPS: &str = "/api/mgmt/oauth/client/applications";
const TOKEN: &str = "/oauth2/token";
const MGMT: &str = "api.access.mgmt";
const ODATA: &str = "api.access.odata";

const AUTHORIZATION_REPEATED: u32 = 222209006;
const INVALID_CREDENTIALS: u32 = 222209002;
const INVALID_FIELD: u32 = 222209010;
const ACCOUNT_LOCKED: u32 = 222209003;
const TOO_MANY_REQUESTS: u32 = 222209050;
const OAUTH_INVALID_GRANT: u32 = 222209403;
const INSUFFICIENT_SCOPE: u32 = 222209407;

fn hashes(app: &TestApp) -> u64 {
    app.state.ctx.hasher.stats().computed.load(Ordering::SeqCst)
}

async fn my_id(app: &TestApp, login: &str, password: &str) -> i64 {
    let r = app
        .send_as(Method::GET, "/api/mgmt/user", login, password)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["userId"].as_i64().expect("userId")
}

/// A confidential client of the administrator's allowed the management scope.
async fn mgmt_client(app: &TestApp) -> crate::authorize::Client {
    let r = app
        .send_json_as_admin(
            Method::PUT,
            "/api/admin/tenants/1",
            &json!({"name": "system", "status": 1, "allowedScopes": [ODATA, MGMT]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    register(app, &[CALLBACK], json!({"scopes": [ODATA, MGMT]})).await
}

/// A token endpoint form request with the client's Basic credentials.
fn grant(
    app: &TestApp,
    c: &crate::authorize::Client,
    fields: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    app.http
        .post(app.url(TOKEN))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .form(fields)
}

async fn token(
    app: &TestApp,
    c: &crate::authorize::Client,
    login: &str,
    pw: &str,
    scope: &str,
) -> String {
    let r = app
        .send(grant(
            app,
            c,
            &[
                ("grant_type", "password"),
                ("username", login),
                ("password", pw),
                ("scope", scope),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"].as_str().expect("token").to_owned()
}

// ---------------------------------------------------------------------------------
// Item 1: one's own password needs the current one on every path.
// ---------------------------------------------------------------------------------

async fn setting_ones_own_password_needs_the_current_one_on_every_path(b: Backend) {
    let app = spawn_app(b).await;
    let admin = my_id(&app, "admin", ADMIN_PASSWORD).await;
    let alice = create_alice(&app).await;
    let c = mgmt_client(&app).await;
    // A stolen management token of the administrator.
    let stolen = token(&app, &c, "admin", ADMIN_PASSWORD, MGMT).await;
    let path = format!("/api/admin/users/{admin}/password");
    let set = |body: Value| {
        app.http
            .put(app.url(&path))
            .bearer_auth(&stolen)
            .json(&body)
    };

    let r = app.send(set(json!({"password": "Taken-Over-123"}))).await;
    let m = r.hdp_error(400, INVALID_FIELD);
    assert!(
        m.contains("oldPassword") && m.contains("current password"),
        "{m}"
    );
    let r = app
        .send(set(
            json!({"password": "Taken-Over-123", "oldPassword": "a guess"}),
        ))
        .await;
    let m = r.hdp_error(400, INVALID_FIELD);
    assert!(m.contains("is not your current password"), "{m}");
    // Nothing changed, and both attempts counted toward the lockout.
    my_id(&app, "admin", ADMIN_PASSWORD).await;
    let row = app.stored_user(admin).await;
    assert_eq!(
        row.failed_logins, 0,
        "a successful sign-in clears the count"
    );

    let r = app.send(set(json!({"password": "Taken-Over-123"}))).await;
    r.hdp_error(400, INVALID_FIELD);
    let row = app.stored_user(admin).await;
    assert_eq!(
        row.failed_logins, 1,
        "a missing current password is a failure"
    );

    // With the current password the owner changes it.
    let r = app
        .send(set(
            json!({"password": "Owner-Chose-456", "oldPassword": ADMIN_PASSWORD}),
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    my_id(&app, "admin", "Owner-Chose-456").await;

    // The user update path too.
    let update = |body: &serde_json::Value| {
        app.as_user(
            Method::PUT,
            &format!("/api/admin/users/{admin}"),
            "admin",
            "Owner-Chose-456",
        )
        .json(body)
    };
    let body = json!({"userName": "admin", "statusInfo": {"status": 1},
        "passwordInfo": {"password": "Taken-Over-789"}});
    let r = app.send(update(&body)).await;
    let m = r.hdp_error(400, INVALID_FIELD);
    assert!(m.contains("passwordInfo.oldPassword"), "{m}");
    let mut body = body;
    body["passwordInfo"]["oldPassword"] = json!("Owner-Chose-456");
    let r = app.send(update(&body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    my_id(&app, "admin", "Taken-Over-789").await;

    // An administrator setting another user's password needs no such thing.
    let r = app
        .send(
            app.as_user(
                Method::PUT,
                &format!("/api/admin/users/{alice}/password"),
                "admin",
                "Taken-Over-789",
            )
            .json(&json!({"password": "Reset-By-Admin-1"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    my_id(&app, ALICE, "Reset-By-Admin-1").await;

    // A stolen token guessing the current password locks the account, which ends
    // the token: three guesses, not a takeover.
    let stolen = token(&app, &c, "admin", "Taken-Over-789", MGMT).await;
    let guess = |n: u32| {
        app.http
            .put(app.url("/api/mgmt/user/password"))
            .bearer_auth(&stolen)
            .json(&json!({"oldPassword": format!("guess-{n}"), "newPassword": "Whatever-Else-1"}))
    };
    app.send(guess(1)).await.hdp_error(400, INVALID_FIELD);
    app.send(guess(2)).await.hdp_error(400, INVALID_FIELD);
    app.send(guess(3)).await.hdp_error(401, ACCOUNT_LOCKED);
    let r = app.send(guess(4)).await;
    r.hdp_error(401, INVALID_CREDENTIALS);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|v| v.contains("invalid_token")));
}

// ---------------------------------------------------------------------------------
// Item 5: password spraying.
// ---------------------------------------------------------------------------------

async fn password_spraying_from_one_address_is_answered_429_on_every_path(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let c = register(&app, &[CALLBACK], json!({})).await;
    for i in 0..PASSWORD_PER_ADDRESS {
        let r = app
            .send_as(Method::GET, APPS, &format!("sprayed{i}"), "Summer2026!")
            .await;
        r.hdp_error(401, INVALID_CREDENTIALS);
    }
    let before = hashes(&app);
    // Basic: the envelope, even for the right password.
    let r = app
        .send_as(Method::GET, APPS, "admin", ADMIN_PASSWORD)
        .await;
    let m = r.hdp_error(429, TOO_MANY_REQUESTS);
    assert!(m.contains("Too many failed sign-ins"), "{m}");
    let retry: i64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=PASSWORD_WINDOW).contains(&retry), "{retry}");
    // The password grant, form: RFC 6749 JSON, invalid_grant.
    let r = app
        .send(grant(
            &app,
            &c,
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", ALICE_PASSWORD),
            ],
        ))
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(r.header("retry-after").is_some());
    // The password grant, HDP JSON: the envelope.
    let r = app
        .send(
            app.http
                .post(app.url("/api/mgmt/oauth2/token"))
                .json(&json!({
                    "grant_type": "password", "clientId": c.client_id, "clientSecret": c.secret,
                    "username": ALICE, "password": ALICE_PASSWORD
                })),
        )
        .await;
    r.hdp_error(429, OAUTH_INVALID_GRANT);
    assert!(r.header("retry-after").is_some());
    // The login form: the page, with 429 and Retry-After.
    let mut browser = Browser::new(&app);
    let page = browser.get(&authorize_path(&c, &[])).await;
    let r = submit_login(&mut browser, &page, ALICE, ALICE_PASSWORD).await;
    let html = assert_page(&r, 429);
    assert!(html.contains("Too many failed sign-ins"), "{html}");
    assert!(r.header("retry-after").is_some());
    assert_eq!(hashes(&app), before, "refused before any hash");
    // The window ends.
    app.clock.advance(PASSWORD_WINDOW);
    my_id(&app, "admin", ADMIN_PASSWORD).await;
}

async fn the_form_counts_failures_toward_the_address_limit(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let c = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&authorize_path(&c, &[])).await;
    for i in 0..PASSWORD_PER_ADDRESS {
        let r = submit_login(&mut browser, &page, &format!("sprayed{i}"), "Summer2026!").await;
        assert_page(&r, 200);
    }
    let r = submit_login(&mut browser, &page, ALICE, ALICE_PASSWORD).await;
    assert_page(&r, 429);
    let r = app
        .send_as(Method::GET, APPS, "admin", ADMIN_PASSWORD)
        .await;
    r.hdp_error(429, TOO_MANY_REQUESTS);
}

async fn one_name_from_one_address_has_a_smaller_budget(b: Backend) {
    let app = spawn_app(b).await;
    // Lockout off, so only the rate limit stops guessing.
    app.put_system_limit(3, 0).await;
    create_alice(&app).await;
    for i in 0..PASSWORD_PER_USER {
        let r = app
            .send_as(Method::GET, APPS, ALICE, &format!("guess-{i}"))
            .await;
        r.hdp_error(401, INVALID_CREDENTIALS);
    }
    let r = app.send_as(Method::GET, APPS, ALICE, ALICE_PASSWORD).await;
    r.hdp_error(429, TOO_MANY_REQUESTS);
    // Other names from the same address still get through.
    let r = app
        .send_as(Method::GET, APPS, "admin", ADMIN_PASSWORD)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn forwarded_addresses_count_only_from_trusted_proxies(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let mut config = test_config(&url);
    config.trusted_proxies = vec!["127.0.0.0/8".into()];
    let app = spawn_with(config, dir).await;
    let from = |ip: &str, login: &str, pw: &str| {
        app.as_user(Method::GET, APPS, login, pw)
            .header("x-forwarded-for", format!("198.51.100.200, {ip}"))
    };
    for i in 0..PASSWORD_PER_ADDRESS {
        let r = app.send(from("203.0.113.1", &format!("u{i}"), "x")).await;
        r.hdp_error(401, INVALID_CREDENTIALS);
    }
    let r = app.send(from("203.0.113.1", "admin", ADMIN_PASSWORD)).await;
    r.hdp_error(429, TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not blocked.
    let r = app.send(from("203.0.113.2", "admin", ADMIN_PASSWORD)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Without trusted proxies the header is ignored: the peer is counted.
    let app = spawn_app(b).await;
    for i in 0..PASSWORD_PER_ADDRESS {
        let r = app
            .send(
                app.as_user(Method::GET, APPS, &format!("u{i}"), "x")
                    .header("x-forwarded-for", format!("203.0.113.{i}")),
            )
            .await;
        r.hdp_error(401, INVALID_CREDENTIALS);
    }
    let r = app
        .send(
            app.as_user(Method::GET, APPS, "admin", ADMIN_PASSWORD)
                .header("x-forwarded-for", "198.51.100.9"),
        )
        .await;
    r.hdp_error(429, TOO_MANY_REQUESTS);
}

#[test]
fn trusted_proxies_are_read_from_the_environment_as_a_toml_list() {
    use portcullis_server::config::{Config, Overrides};
    let env = |v: &str| {
        vec![
            ("PORTCULLIS_TRUSTED_PROXIES".to_owned(), v.to_owned()),
            (
                "PORTCULLIS_DATABASE_URL".to_owned(),
                "sqlite://x.db".to_owned(),
            ),
        ]
    };
    let c =
        Config::load(None, env(r#"["10.0.0.0/8", "::1"]"#), Overrides::default()).expect("a list");
    assert_eq!(c.trusted_proxies, vec!["10.0.0.0/8", "::1"]);
    let e = Config::load(None, env(r#"["proxy.example"]"#), Overrides::default())
        .expect_err("not an address");
    assert!(e.to_string().contains("proxy.example"), "{e}");
}

// ---------------------------------------------------------------------------------
// Item 6: unknown names cost what wrong passwords cost (counted, not timed).
// ---------------------------------------------------------------------------------

async fn unknown_names_cost_one_hash_like_wrong_passwords_on_every_path(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let c = register(&app, &[CALLBACK], json!({})).await;
    app.state.ctx.hasher.warm_up().await.expect("warm up");
    let cost = |before: u64| hashes(&app) - before;
    // Basic.
    let h = hashes(&app);
    let wrong = app.send_as(Method::GET, APPS, ALICE, "wrong").await;
    let wrong_cost = cost(h);
    let h = hashes(&app);
    let unknown = app.send_as(Method::GET, APPS, "nobody", "wrong").await;
    assert_eq!((wrong_cost, cost(h)), (1, 1));
    assert_eq!(wrong.text, unknown.text);
    // The password grant.
    let form = |user: &'static str| {
        grant(
            &app,
            &c,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", "wrong"),
            ],
        )
    };
    let h = hashes(&app);
    let wrong = app.send(form(ALICE)).await;
    let wrong_cost = cost(h);
    let h = hashes(&app);
    let unknown = app.send(form("nobody")).await;
    assert_eq!((wrong_cost, cost(h)), (1, 1));
    assert_eq!(wrong.text, unknown.text);
    // The form.
    let mut browser = Browser::new(&app);
    let page = browser.get(&authorize_path(&c, &[])).await;
    let h = hashes(&app);
    submit_login(&mut browser, &page, ALICE, "wrong").await;
    let wrong_cost = cost(h);
    let h = hashes(&app);
    submit_login(&mut browser, &page, "nobody", "wrong").await;
    assert_eq!((wrong_cost, cost(h)), (1, 1));
    // A locked account costs a hash too (it no longer answers early).
    submit_login(&mut browser, &page, ALICE, "wrong").await;
    let now = app.clock.now();
    let alice = app
        .state
        .ctx
        .store
        .users_by_login(ALICE)
        .await
        .expect("get")
        .remove(0);
    assert!(alice.lock_at(now).is_some(), "three failures lock");
    let h = hashes(&app);
    app.send_as(Method::GET, APPS, ALICE, "wrong").await;
    assert_eq!(cost(h), 1);
}

// ---------------------------------------------------------------------------------
// Item 8: two Authorization headers.
// ---------------------------------------------------------------------------------

async fn two_authorization_headers_are_refused_everywhere(b: Backend) {
    let app = spawn_app(b).await;
    let c = register(&app, &[CALLBACK], json!({})).await;
    let basic = |login: &str, pw: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{login}:{pw}"))
        )
    };
    let admin = basic("admin", ADMIN_PASSWORD);
    let client = basic(&c.client_id, c.secret.as_deref().expect("secret"));
    let twice = |req: reqwest::RequestBuilder, a: &str, b: &str| {
        req.header("authorization", a.to_owned())
            .header("authorization", b.to_owned())
    };
    // Management: the envelope, 400, even when both would authenticate.
    let r = app
        .send(twice(app.http.get(app.url(APPS)), &admin, &admin))
        .await;
    let m = r.hdp_error(400, AUTHORIZATION_REPEATED);
    assert!(m.contains("more than one Authorization header"), "{m}");
    let r = app
        .send(twice(app.http.get(app.url(APPS)), "Bearer abc", &admin))
        .await;
    r.hdp_error(400, AUTHORIZATION_REPEATED);
    // Token, introspection, revocation: RFC 6749 invalid_request.
    for path in [TOKEN, "/oauth2/introspect", "/oauth2/revoke"] {
        let req = app
            .http
            .post(app.url(path))
            .form(&[("grant_type", "client_credentials"), ("token", "x")]);
        let r = app.send(twice(req, &client, &client)).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert_eq!(r.json()["error"], "invalid_request", "{path}");
    }
    // HDP JSON at the token endpoint: the envelope.
    let req = app
        .http
        .post(app.url("/api/mgmt/oauth2/token"))
        .json(&json!({
            "grant_type": "client_credentials", "clientId": c.client_id, "clientSecret": c.secret
        }));
    let r = app.send(twice(req, &admin, &admin)).await;
    r.hdp_error(400, AUTHORIZATION_REPEATED);
    // Userinfo: RFC 6750 invalid_request.
    let r = app
        .send(twice(
            app.http.get(app.url("/oauth2/userinfo")),
            "Bearer a",
            "Bearer b",
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_request");
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(
        challenge.contains("error=\"invalid_request\""),
        "{challenge}"
    );
}

// ---------------------------------------------------------------------------------
// Item 14: HDP's Basic login next to client credentials in a JSON body (seed 000).
// ---------------------------------------------------------------------------------

async fn hdp_json_token_requests_take_the_users_login_as_basic(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let c = register(&app, &[CALLBACK], json!({})).await;
    let body = |user: &str, pw: &str| {
        json!({"grant_type": "password", "clientId": c.client_id, "clientSecret": c.secret,
            "username": user, "password": pw})
    };
    let hdp = |login: &str, pw: &str, body: Value| {
        app.http
            .post(app.url("/api/mgmt/oauth2/token"))
            .basic_auth(login, Some(pw))
            .json(&body)
    };
    let h = hashes(&app);
    let r = app
        .send(hdp(ALICE, ALICE_PASSWORD, body(ALICE, ALICE_PASSWORD)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["access_token"].is_string());
    assert_eq!(hashes(&app) - h, 2, "the login and the grant's password");
    let h = hashes(&app);
    let r = app
        .send(hdp(ALICE, ALICE_PASSWORD, body(ALICE, ALICE_PASSWORD)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        hashes(&app) - h,
        1,
        "the login comes from the credential cache"
    );
    // A wrong login: the envelope, 401, with the Basic challenge.
    let r = app
        .send(hdp(ALICE, "wrong", body(ALICE, ALICE_PASSWORD)))
        .await;
    r.hdp_error(401, INVALID_CREDENTIALS);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Basic")));
    // The password grant is for the user who signed in.
    let r = app
        .send(hdp("admin", ADMIN_PASSWORD, body(ALICE, ALICE_PASSWORD)))
        .await;
    let m = r.hdp_error(400, OAUTH_INVALID_GRANT);
    assert!(m.contains("different user"), "{m}");
    // Other grants only need a valid login.
    let refresh = app
        .send(hdp(ALICE, ALICE_PASSWORD, body(ALICE, ALICE_PASSWORD)))
        .await
        .json()["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let r = app
        .send(hdp(
            ALICE,
            ALICE_PASSWORD,
            json!({"grant_type": "refresh_token", "clientId": c.client_id,
                "clientSecret": c.secret, "refreshToken": refresh}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Form encoding keeps RFC 6749's rule: one client authentication method.
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .basic_auth(ALICE, Some(ALICE_PASSWORD))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", c.client_id.as_str()),
                    ("client_secret", c.secret.as_deref().expect("secret")),
                    ("username", ALICE),
                    ("password", ALICE_PASSWORD),
                ]),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_request");
}

// ---------------------------------------------------------------------------------
// Item 16: Bearer challenges on the management API.
// ---------------------------------------------------------------------------------

async fn bearer_callers_get_bearer_challenges_and_basic_callers_basic(b: Backend) {
    let app = spawn_app(b).await;
    let c = mgmt_client(&app).await;
    let r = app
        .send(app.http.get(app.url(APPS)).bearer_auth("not-a-token"))
        .await;
    r.hdp_error(401, INVALID_CREDENTIALS);
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    let odata = token(&app, &c, "admin", ADMIN_PASSWORD, ODATA).await;
    let r = app
        .send(app.http.get(app.url(APPS)).bearer_auth(&odata))
        .await;
    r.hdp_error(403, INSUFFICIENT_SCOPE);
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"api.access.mgmt\""),
        "{challenge}"
    );

    let r = app.send_as(Method::GET, APPS, "admin", "wrong").await;
    r.hdp_error(401, INVALID_CREDENTIALS);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Basic")));
}

backends!(
    setting_ones_own_password_needs_the_current_one_on_every_path,
    password_spraying_from_one_address_is_answered_429_on_every_path,
    the_form_counts_failures_toward_the_address_limit,
    one_name_from_one_address_has_a_smaller_budget,
    forwarded_addresses_count_only_from_trusted_proxies,
    unknown_names_cost_one_hash_like_wrong_passwords_on_every_path,
    two_authorization_headers_are_refused_everywhere,
    hdp_json_token_requests_take_the_users_login_as_basic,
    bearer_callers_get_bearer_challenges_and_basic_callers_basic,
);

// ---------------------------------------------------------------------------------
// Property tests of the HTTP Basic parsers.
// ---------------------------------------------------------------------------------

mod basic_parsers {
    use axum::http::HeaderValue;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use portcullis_server::http::extract::parse_basic;
    use portcullis_server::http::oauth::parse_basic_client;
    use proptest::prelude::*;

    fn header(v: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(v).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_header_values_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                let _ = parse_basic(&v);
                let _ = parse_basic_client(&v);
            }
        }

        #[test]
        fn arbitrary_basic_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..200), scheme in "[bB]asic|[bB]earer|Digest| |") {
            if let Some(v) = header(&format!("{scheme} {}", STANDARD.encode(&payload))) {
                let _ = parse_basic(&v);
                let _ = parse_basic_client(&v);
            }
        }

        #[test]
        fn a_login_and_password_round_trip(login in "[^:\\x00]{1,64}", password in "\\PC{0,64}", scheme in "[bB][aA][sS][iI][cC]") {
            let v = header(&format!("{scheme} {}", STANDARD.encode(format!("{login}:{password}"))))
                .expect("base64 is a valid header value");
            let (l, p) = parse_basic(&v).expect("parses");
            prop_assert_eq!(l, login);
            prop_assert_eq!(p, password);
        }

        #[test]
        fn a_form_encoded_client_id_and_secret_round_trip(id in "\\PC{0,64}", secret in "\\PC{0,64}") {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let v = header(&format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)))))
                .expect("header");
            let (i, s) = parse_basic_client(&v).expect("parses");
            prop_assert_eq!(i, id);
            prop_assert_eq!(s.expose(), secret.as_str());
        }
    }
}
