//! The audit trail (`GET /api/admin/events`, issue 16 item 2): every action driven
//! through the HTTP API records its event exactly once and no secret it was given; a
//! tenant's administrators see their tenant's events only; the filters and the cursor
//! select and page; retention (limit 1005) removes old events per tenant, driven by
//! the injected clock and the retention sweep's tick.

use crate::helpers::{backends, spawn_app, Backend, TestApp, ADMIN_PASSWORD};
use crate::support::oauth::{
    alice, alices_client, client_form, revoke, set_rotation, tokens_for, ALICE, ALICE_PASSWORD,
    APPS, TOKEN, USERS,
};
use portcullis_core::actor::Operator;
use portcullis_core::clock::Clock as _;
use portcullis_core::model::identity::SYSTEM_TENANT_ID;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const EVENTS: &str = "/api/admin/events";

/// Every event of the page `query` asks for, as `login`.
async fn events_as(app: &TestApp, login: &str, password: &str, query: &str) -> Value {
    let r = app
        .send_as(Method::GET, &format!("{EVENTS}{query}"), login, password)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    events_as(app, "admin", ADMIN_PASSWORD, query).await["events"]
        .as_array()
        .expect("events")
        .clone()
}

/// How many events of each type (and outcome) `list` holds.
fn counts(list: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in list {
        let key = format!(
            "{}/{}",
            e["type"].as_str().expect("type"),
            e["outcome"].as_str().expect("outcome")
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

async fn each_action_records_its_event_once_and_no_secret(b: Backend) {
    let app = spawn_app(b).await;
    let alice_id = alice(&app).await;
    let c = alices_client(&app).await;
    let mut secrets = vec![
        ADMIN_PASSWORD.to_owned(),
        ALICE_PASSWORD.to_owned(),
        c.secret.clone(),
    ];

    // Tokens: issued (with Alice's sign-in), refused (with the failed sign-in), revoked.
    let (access, refresh) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    secrets.extend([access.clone(), refresh.clone()]);
    let wrong = "Not-Her-Password-9";
    secrets.push(wrong.to_owned());
    let r = client_form(
        &app,
        &c,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", wrong),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    revoke(&app, &c, &refresh).await;

    // Refresh-token reuse: with rotation on, the second use of one token.
    set_rotation(&app, true).await;
    let (_, refresh2) = tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    secrets.push(refresh2.clone());
    let fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh2.as_str()),
    ];
    let first = client_form(&app, &c, TOKEN, &fields).await;
    assert_eq!(first.status, 200, "{}", first.text);
    secrets.push(
        first.json()["refresh_token"]
            .as_str()
            .expect("rt")
            .to_owned(),
    );
    let again = client_form(&app, &c, TOKEN, &fields).await;
    assert_eq!(again.status, 400, "{}", again.text);

    // Lockout (three failures of Bob's) and the administrator's unlock.
    let bob = crate::support::oauth::create_user(&app, "bob", "Builder-Pass-77").await;
    secrets.push("Builder-Pass-77".into());
    for _ in 0..3 {
        let r = client_form(
            &app,
            &c,
            TOKEN,
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", wrong),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text);
    }
    let r = app
        .send_as_admin(Method::PUT, &format!("{USERS}/{bob}/unlock"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Consent withdrawn (the password grant recorded Alice's consent to the client).
    let r = app
        .send_as(
            Method::DELETE,
            &format!("/api/mgmt/oauth/client/allowedapplications/{}", c.id),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    // The client: its secret reset, then deleted.
    let r = app
        .send_as(
            Method::PUT,
            &format!("{APPS}/{}/reset", c.id),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.push(
        r.json()["clientSecret"]
            .as_str()
            .expect("secret")
            .to_owned(),
    );
    let r = app
        .send_as(
            Method::DELETE,
            &format!("{APPS}/{}", c.id),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    // Users: permissions replaced (roles and explicit permissions), an API secret
    // created and deleted.
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("{USERS}/{bob}/permissions"),
            &json!({"roles": [1], "permissions": [13]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let api_secret = crate::support::oauth::api_secret(&app, alice_id).await;
    secrets.push(api_secret);
    let r = app
        .send_as_admin(Method::DELETE, &format!("{USERS}/{alice_id}/apisecret"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    // A tenant created; a limit set (rotation above was one too).
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({"name": "Acme", "parentTenant": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // Key rotation: the operator's (the console's) use case.
    portcullis_core::mgmt::keys::rotate(&app.state.ctx, Operator::at_console(), true)
        .await
        .expect("rotate");

    let list = events(&app, "?limit=500").await;
    let want: BTreeMap<String, usize> = [
        // Alice twice and Bob once created by the administrator; both created users.
        ("user_changed/success", 2),
        ("client_registered/success", 1),
        // Alice's grants: three password grants (two tokens_for, one for rotation).
        ("sign_in/success", 2),
        ("sign_in/failure", 4),
        ("token_issued/success", 3),
        // The wrong password, Bob's three, the reused refresh token.
        ("token_refused/failure", 5),
        ("token_revoked/success", 1),
        ("refresh_token_reuse/failure", 1),
        ("lockout/success", 1),
        ("unlock/success", 1),
        ("consent_withdrawn/success", 1),
        ("client_reset/success", 1),
        ("client_deleted/success", 1),
        ("role_changed/success", 1),
        ("permission_changed/success", 1),
        ("api_secret_created/success", 1),
        ("api_secret_deleted/success", 1),
        ("limit_changed/success", 1),
        ("key_rotated/success", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut got = counts(&list);
    // The new tenant's event is its own tenant's (read below).
    assert_eq!(got.remove("tenant_changed/success"), None);
    assert_eq!(got, want, "{list:#?}");

    let acme = app
        .state
        .ctx
        .store
        .tenant_by_name("Acme")
        .await
        .expect("read")
        .expect("acme");
    let acme_events = events(&app, &format!("?tenantId={}", acme.id)).await;
    assert_eq!(counts(&acme_events).get("tenant_changed/success"), Some(&1));

    // Who, from where: the sign-in names Alice, the token her and the client; the
    // address is the loopback peer, the agent reqwest's (none set: absent).
    let issued = list
        .iter()
        .find(|e| e["type"] == "token_issued")
        .expect("issued");
    assert_eq!(issued["subjectUserId"], alice_id);
    assert_eq!(issued["clientId"], c.client_id.as_str());
    assert_eq!(issued["source"], "127.0.0.1");
    assert_eq!(issued["tenantId"], SYSTEM_TENANT_ID);

    // No secret, password or token anywhere in the events, nor in the raw rows.
    let text = serde_json::to_string(&list).expect("json");
    let raw = app
        .raw_strings(
            "SELECT event_type || '|' || actor || '|' || COALESCE(client_id, '') || '|' || \
             COALESCE(subject, '') || '|' || COALESCE(source, '') || '|' || \
             COALESCE(user_agent, '') || '|' || COALESCE(reason, '') FROM audit_events",
        )
        .await
        .join("\n");
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret in the events API");
        assert!(!raw.contains(s.as_str()), "a secret in the audit table");
    }
}

async fn the_code_flow_records_the_sign_in_the_consent_and_the_token_once(b: Backend) {
    use crate::authorize::{
        authorize_path, code_of, create_alice, decide, exchange, register, to_consent, Browser,
        VERIFIER,
    };
    let app = spawn_app(b).await;
    let alice_id = create_alice(&app).await;
    let client = register(&app, &[crate::authorize::CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(&client, &[("scope", "odata")]);
    let consent = to_consent(&mut browser, &path).await;
    let r = decide(&mut browser, &consent, "allow").await;
    let code = code_of(&r);
    let t = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(t.status, 200, "{}", t.text);
    let list = events(&app, &format!("?userId={alice_id}")).await;
    let got = counts(&list);
    assert_eq!(got.get("sign_in/success"), Some(&1), "{list:#?}");
    assert_eq!(got.get("consent_given/success"), Some(&1), "{list:#?}");
    assert_eq!(got.get("token_issued/success"), Some(&1), "{list:#?}");
    let given = list
        .iter()
        .find(|e| e["type"] == "consent_given")
        .expect("consent");
    assert_eq!(given["clientId"], client.client_id.as_str());
    let text = serde_json::to_string(&list).expect("json");
    assert!(!text.contains(code.as_str()), "no authorization code");
    assert!(!text.contains(VERIFIER), "no PKCE verifier");
}

/// `audit_skip = ["token_issued"]`: a password grant records its sign-in but not its
/// token; the same grant on a default server records both (the test above).
async fn skipped_event_types_are_not_recorded(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let db = crate::helpers::fresh_database(b, &dir).await;
    let mut config = crate::helpers::test_config(&db);
    config.audit_skip = vec!["token_issued".to_owned()];
    let app = crate::helpers::spawn_with(config, dir).await;
    let alice_id = alice(&app).await;
    let c = alices_client(&app).await;
    tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
    let list = events(&app, &format!("?userId={alice_id}")).await;
    let got = counts(&list);
    assert_eq!(got.get("sign_in/success"), Some(&1), "{list:#?}");
    assert_eq!(got.get("token_issued/success"), None, "{list:#?}");
}

async fn administrative_changes_each_record_one_event(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({"name": "Acme", "parentTenant": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let acme = r.json()["id"].as_i64().expect("id");
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("/api/admin/tenants/{acme}"),
            &json!({"name": "Acme Corp", "parentTenant": 1, "status": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bob = crate::support::oauth::create_user(&app, "bob", "Builder-Pass-77").await;
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("{USERS}/{bob}/password"),
            &json!({"password": "Another-Pass-88"}),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.text);
    let r = app
        .send_as_admin(Method::DELETE, &format!("{USERS}/{bob}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.put_system_limit(1001, 1800).await;
    let r = app
        .send_as_admin(Method::DELETE, "/api/admin/limits/system/1001")
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app
        .send_as_admin(Method::DELETE, &format!("/api/admin/tenants/{acme}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    let list = events(&app, "").await;
    let want: BTreeMap<String, usize> = [
        ("user_changed/success", 3),
        ("limit_changed/success", 2),
        ("tenant_changed/success", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts(&list), want, "{list:#?}");
    let reasons: Vec<&str> = list.iter().filter_map(|e| e["reason"].as_str()).collect();
    for r in ["created", "password set", "deleted"] {
        assert!(reasons.contains(&r), "{reasons:?}");
    }
    assert!(!serde_json::to_string(&list)
        .expect("json")
        .contains("Another-Pass-88"));
    // The deleted tenant's own events (its creation and update) stay in the store
    // until retention; its id no longer answers on the API.
    let r = app
        .send_as_admin(Method::GET, &format!("{EVENTS}?tenantId={acme}"))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let q = portcullis_core::model::audit::AuditQuery::tenant(acme);
    let own = app.state.ctx.store.audit_events(&q).await.expect("read");
    assert_eq!(own.len(), 2, "{own:?}");
}

async fn an_administrator_of_one_tenant_never_sees_anothers_events(b: Backend) {
    let app = spawn_app(b).await;
    let acme = app.create_tenant("Acme", &[1, 2, 3]).await;
    let acme_admin_role = app.role_id(acme.id, "Administrator").await;
    let carol = app
        .create_user(acme.id, "carol", "Carol-Pass-42", vec![acme_admin_role])
        .await;
    let dave = app
        .create_user(acme.id, "dave", "Dave-Pass-4242", vec![])
        .await;
    // An event in each tenant: a user created by the system admin in the system
    // tenant, and Carol's own change in Acme.
    alice(&app).await;
    let r = app
        .send(app.as_user(
            Method::PUT,
            &format!("{USERS}/{}/unlock", dave.id),
            "carol",
            "Carol-Pass-42",
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let mine = events_as(&app, "carol", "Carol-Pass-42", "").await;
    assert_eq!(mine["tenantId"], acme.id);
    let list = mine["events"].as_array().expect("events");
    assert!(!list.is_empty());
    assert!(list.iter().all(|e| e["tenantId"] == acme.id), "{list:?}");
    assert!(list
        .iter()
        .any(|e| e["type"] == "unlock" && e["actorUserId"] == carol.id));

    // The system tenant: as if it did not exist (404), as the other admin APIs answer.
    let r = app
        .send_as(
            Method::GET,
            &format!("{EVENTS}?tenantId={SYSTEM_TENANT_ID}"),
            "carol",
            "Carol-Pass-42",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(!r.text.contains("user_changed"));
    // An ordinary user of Acme: 403 for their own tenant.
    let r = app
        .send_as(Method::GET, EVENTS, "dave", "Dave-Pass-4242")
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    // The system administrator reads either tenant, by choice.
    let sys = events(&app, "").await;
    assert!(sys.iter().all(|e| e["tenantId"] == SYSTEM_TENANT_ID));
    assert!(sys.iter().any(|e| e["type"] == "user_changed"));
    let theirs = events(&app, &format!("?tenantId={}", acme.id)).await;
    assert!(theirs.iter().any(|e| e["type"] == "unlock"));
    assert!(theirs.iter().all(|e| e["tenantId"] == acme.id));
}

async fn filters_select_and_the_cursor_pages_through_everything(b: Backend) {
    let app = spawn_app(b).await;
    let alice_id = alice(&app).await;
    let c = alices_client(&app).await;
    let t0 = app.clock.now();
    for _ in 0..3 {
        tokens_for(&app, &c, ALICE, ALICE_PASSWORD).await;
        app.clock.advance(100);
    }
    let all = events(&app, "").await;
    let of = |t: &str| all.iter().filter(|e| e["type"] == t).count();
    assert_eq!(of("token_issued"), 3);

    // By type, user, client; by time: from inclusive, to exclusive.
    let issued = events(&app, "?type=token_issued").await;
    assert_eq!(issued.len(), 3);
    assert!(issued.iter().all(|e| e["type"] == "token_issued"));
    let hers = events(&app, &format!("?userId={alice_id}")).await;
    assert!(hers
        .iter()
        .all(|e| e["actorUserId"] == alice_id || e["subjectUserId"] == alice_id));
    assert_eq!(
        hers.iter().filter(|e| e["type"] == "token_issued").count(),
        3
    );
    let clients = events(&app, &format!("?clientId={}", c.client_id)).await;
    assert_eq!(clients.len(), 3 + 1, "three tokens and its registration");
    let window = events(
        &app,
        &format!("?type=token_issued&from={}&to={}", t0 + 100, t0 + 200),
    )
    .await;
    assert_eq!(window.len(), 1);
    assert_eq!(window[0]["at"], t0 + 100);

    // The caller's User-Agent is kept with the event.
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .basic_auth(&c.client_id, Some(&c.secret))
                .header("user-agent", "audit-test/1.0")
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert!(r.status == 200 || r.status == 400, "{}", r.text);
    let last = &events(&app, "?limit=1").await[0];
    assert_eq!(last["userAgent"], "audit-test/1.0", "{last}");
    assert_eq!(last["source"], "127.0.0.1");
    let all = events(&app, "").await;

    // Pages of two, newest first, until no cursor: every event once.
    let mut seen = vec![];
    let mut query = "?limit=2".to_owned();
    loop {
        let page = events_as(&app, "admin", ADMIN_PASSWORD, &query).await;
        let list = page["events"].as_array().expect("events").clone();
        assert!(list.len() <= 2);
        seen.extend(list.iter().map(|e| e["id"].as_i64().expect("id")));
        match page["nextCursor"].as_str() {
            Some(next) => query = format!("?limit=2&cursor={next}"),
            None => break,
        }
    }
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().expect("id")).collect();
    assert_eq!(seen, ids, "the pages are the whole list, in order");

    // A bad filter: 400 naming it.
    for (q, name) in [
        ("?type=nope", "type"),
        ("?userId=abc", "userId"),
        ("?from=yesterday", "from"),
        ("?limit=9999", "limit"),
        ("?cursor=%%%", "cursor"),
        ("?colour=red", "colour"),
    ] {
        let r = app
            .send_as_admin(Method::GET, &format!("{EVENTS}{q}"))
            .await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert!(r.text.contains(name), "{q}: {}", r.text);
    }
}

async fn retention_removes_each_tenants_old_events_at_its_own_limit(b: Backend) {
    let app = spawn_app(b).await;
    let acme = app.create_tenant("Acme", &[1, 2, 3]).await;
    let acme_admin_role = app.role_id(acme.id, "Administrator").await;
    app.create_user(acme.id, "carol", "Carol-Pass-42", vec![acme_admin_role])
        .await;
    let dave = app
        .create_user(acme.id, "dave", "Dave-Pass-4242", vec![])
        .await;
    // Acme keeps its events 200 days; the system tenant the default 90.
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("/api/admin/limits/tenants/{}/1005", acme.id),
            &json!({"value": 200}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let unlock = |who: &'static str, pw: &'static str| {
        let app = &app;
        let path = format!("{USERS}/{}/unlock", dave.id);
        async move {
            let r = app.send_as(Method::PUT, &path, who, pw).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    };
    unlock("carol", "Carol-Pass-42").await;
    unlock("admin", ADMIN_PASSWORD).await;
    alice(&app).await;
    let sys_before = events(&app, "").await.len();
    assert!(sys_before >= 1);

    // 91 days on: the system tenant's events go, Acme's stay.
    app.clock.advance(91 * 86_400);
    let ctx = &app.state.ctx;
    let gone = portcullis_core::mgmt::audit::purge_expired(ctx)
        .await
        .expect("sweep");
    assert!(gone >= sys_before as u64, "{gone}");
    assert!(events(&app, "").await.is_empty());
    let acme_events = events(&app, &format!("?tenantId={}", acme.id)).await;
    assert_eq!(
        acme_events.iter().filter(|e| e["type"] == "unlock").count(),
        2
    );
    // A new event is young; Acme's go after their 200 days.
    crate::support::oauth::create_user(&app, "bob", "Builder-Pass-77").await;
    app.clock.advance(110 * 86_400);
    portcullis_core::mgmt::audit::purge_expired(ctx)
        .await
        .expect("sweep");
    let acme_after = events(&app, &format!("?tenantId={}", acme.id)).await;
    assert!(
        acme_after.iter().all(|e| e["type"] != "unlock"),
        "{acme_after:?}"
    );
    // Bob's creation was 110 days ago: gone too (past 90 days); reads record nothing.
    assert!(events(&app, "").await.is_empty());
}

/// The real binary: each event is one `portcullis::audit` log line, no line of the
/// whole log holds a password, secret or token of the flows, and after a SIGTERM the
/// events are in the database (read back by a second server on it).
async fn each_event_is_one_log_line_of_the_real_binary_and_none_holds_a_secret(b: Backend) {
    use crate::helpers::{fresh_database, listening_on, spawn_with, terminate, test_config};
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PORTCULLIS_") {
            cmd.env_remove(k);
        }
    }
    let config = test_config(&url);
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--database-url", &url])
        .args(["--log-format", "json"])
        .env(
            "PORTCULLIS_MASTER_KEY",
            config.master_key.as_deref().expect("key"),
        )
        .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn portcullis");
    let base = listening_on(child.stdout.take().expect("stdout")).expect("started");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}{USERS}"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({
            "userName": ALICE,
            "statusInfo": {"status": 1},
            "passwordInfo": {"password": ALICE_PASSWORD},
            "permissions": {"roles": [2], "permissions": []}
        }))
        .send()
        .await
        .expect("create alice");
    assert_eq!(r.status(), 201);
    let v: Value = http
        .post(format!("{base}{APPS}"))
        .basic_auth(ALICE, Some(ALICE_PASSWORD))
        .json(&json!({"name": "Logged", "redirectUrls": ["https://app.example/cb"]}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let (client_id, secret) = (
        v["clientId"].as_str().expect("id").to_owned(),
        v["clientSecret"].as_str().expect("secret").to_owned(),
    );
    let wrong = "Not-Her-Password-9";
    let mut tokens = vec![];
    for password in [ALICE_PASSWORD, wrong] {
        let r = http
            .post(format!("{base}{TOKEN}"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", password),
            ])
            .send()
            .await
            .expect("token");
        let v: Value = r.json().await.expect("json");
        for k in ["access_token", "refresh_token"] {
            if let Some(t) = v[k].as_str() {
                tokens.push(t.to_owned());
            }
        }
    }
    assert_eq!(tokens.len(), 2);
    let status = terminate(&mut child).expect("stopped");
    assert!(status.success(), "{status:?}");

    let text = std::fs::read_to_string(&log_path).expect("log");
    let audit: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "portcullis::audit")
        .collect();
    let mut types: Vec<String> = audit
        .iter()
        .map(|l| l["fields"]["event"].as_str().expect("event").to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "client_registered",
            "sign_in",
            "sign_in",
            "token_issued",
            "token_refused",
            "user_changed"
        ],
        "{text}"
    );
    for s in [ADMIN_PASSWORD, ALICE_PASSWORD, wrong, secret.as_str()]
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(!text.contains(s), "a secret in the log");
    }

    // The same six events are in the database, read by a server started on it.
    let app = spawn_with(config, tempfile::tempdir().expect("dir")).await;
    let stored = events(&app, "").await;
    assert_eq!(stored.len(), 6, "{stored:#?}");
}

/// HDP's way of ending a lock, a PUT of the user with `accountLocked: false`, is an
/// `unlock` as the unlock call is (and a `user_changed`, as any PUT); a PUT of a user
/// who is not locked records no unlock.
async fn a_lock_ended_by_a_put_of_the_user_is_an_unlock(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let c = alices_client(&app).await;
    let bob = crate::support::oauth::create_user(&app, "bob", "Builder-Pass-77").await;
    let shown = app
        .send_as_admin(Method::GET, &format!("{USERS}/{bob}"))
        .await
        .json();
    let mut put = shown.clone();
    put["statusInfo"] = json!({"status": 1, "accountLocked": false});
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/{bob}"), &put)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let unlocks = |list: &[Value]| list.iter().filter(|e| e["type"] == "unlock").count();
    assert_eq!(unlocks(&events(&app, &format!("?userId={bob}")).await), 0);

    for _ in 0..3 {
        let r = client_form(
            &app,
            &c,
            TOKEN,
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "not-his-password"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text);
    }
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/{bob}"), &put)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["statusInfo"]["accountLocked"], false, "{}", r.text);
    let list = events(&app, &format!("?userId={bob}")).await;
    let unlock: Vec<&Value> = list.iter().filter(|e| e["type"] == "unlock").collect();
    assert_eq!(unlock.len(), 1, "{list:#?}");
    assert_eq!(unlock[0]["outcome"], "success");
    assert_eq!(unlock[0]["subjectUserId"], bob, "{:#?}", unlock[0]);
}

backends!(
    each_action_records_its_event_once_and_no_secret,
    each_event_is_one_log_line_of_the_real_binary_and_none_holds_a_secret,
    the_code_flow_records_the_sign_in_the_consent_and_the_token_once,
    skipped_event_types_are_not_recorded,
    administrative_changes_each_record_one_event,
    an_administrator_of_one_tenant_never_sees_anothers_events,
    filters_select_and_the_cursor_pages_through_everything,
    retention_removes_each_tenants_old_events_at_its_own_limit,
    a_lock_ended_by_a_put_of_the_user_is_an_unlock,
);
