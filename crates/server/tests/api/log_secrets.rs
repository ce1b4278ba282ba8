//! No secret reaches the logs (issue 16 item 3): the real binary runs with every log
//! line on (`RUST_LOG=trace`, JSON format), a broad run of the suite's flows is driven
//! against it, every secret, password, code and token sent or received is collected,
//! and none appears in its captured stdout or stderr.
//!
//! The flows reuse the suite's helpers, which take a [`TestApp`]: an in-process node is
//! started on the same database (so the helpers that write to the store directly work)
//! and its `base` is pointed at the binary, so every HTTP request goes to the binary.
//! Flows covered: password, refresh, authorization code + PKCE through the real sign-in
//! and consent pages, client_credentials, the API secret grant, dynamic registration
//! with an initial access token and the registration access token, the device flow,
//! token exchange, introspection, revocation, UserInfo, client secret reset, failed
//! sign-ins (Basic, password grant, unknown client, login page, a made-up bearer
//! token), a pushed authorization request (RFC 9126), and the
//! token vault against a second Portcullis as upstream (pasted tokens, a refresh made
//! by the binary, the connect flow through the upstream's pages and the callback).

use crate::authorize::{self as az, Browser};
use crate::helpers::{
    backends, fresh_database, spawn_with, test_config, Backend, Reply, TestApp, ADMIN_PASSWORD,
};
use crate::support::oauth::{
    alice, alices_client, alices_job, api_secret, client_form, introspect, register, revoke,
    userinfo, Client, ALICE, ALICE_PASSWORD, APPS, MGMT, ODATA, TOKEN, USERS,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::BufRead as _;

const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const WRONG_PASSWORD: &str = "Not-Her-Password-9";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const VAULT_PROFILES: &str = "/api/mgmt/oauthprofiles";
const BOB: &str = "bob";
const BOB_PASSWORD: &str = "Builder-Bob-77";
/// A bearer token no server issued (its signature part is long enough to be checked
/// on its own too).
const MADE_UP_TOKEN: &str =
    "eyJhbGciOiJFUzI1NiJ9.made-up-token.c2lnbmF0dXJlLXRoYXQtaXMtbm90LXZhbGlk";

/// Everything that must not be logged.
#[derive(Default)]
struct Secrets(Vec<(String, &'static str)>);

impl Secrets {
    fn add(&mut self, what: &'static str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.0.push((value.to_owned(), what));
        // A JWT's signature alone is as good as a leak of the token.
        if let Some((_, sig)) = value.rsplit_once('.') {
            if sig.len() >= 40 {
                self.0.push((sig.to_owned(), what));
            }
        }
    }

    /// The tokens of a successful token response.
    fn tokens(&mut self, what: &'static str, r: &Reply) -> Value {
        assert_eq!(r.status, 200, "{what}: {}", r.text);
        let v = r.json();
        for field in ["access_token", "refresh_token", "id_token"] {
            if let Some(t) = v[field].as_str() {
                self.add(what, t);
            }
        }
        v
    }
}

/// The `portcullis` binary with its stdout and stderr captured whole.
struct Node {
    child: std::process::Child,
    base: String,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// Reads `from` to its end on a thread of its own (so the pipe never fills); the first
/// line starting with `listening` is sent on `tx`.
fn drain(
    from: impl std::io::Read + Send + 'static,
    tx: Option<std::sync::mpsc::Sender<String>>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(url)) = (&tx, line.strip_prefix("Portcullis listening on ")) {
                let _ = tx.send(url.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    })
}

impl Node {
    fn start(database_url: &str) -> Node {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        for (k, _) in std::env::vars() {
            if k.starts_with("PORTCULLIS_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(["--log-format", "json"])
            .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // The vault's upstream (another Portcullis) listens on 127.0.0.1.
            .env("PORTCULLIS_OUTBOUND_ALLOW", r#"["127.0.0.1"]"#)
            // Everything, every crate: the most an operator could turn on.
            .env("RUST_LOG", "trace")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn portcullis");
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = drain(child.stdout.take().expect("stdout"), Some(tx));
        let stderr = drain(child.stderr.take().expect("stderr"), None);
        let base = rx.recv().expect("the server did not start");
        Node {
            child,
            base,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// SIGTERM, wait, and everything it wrote (stdout, then stderr).
    fn stop(mut self) -> String {
        let status = crate::helpers::terminate(&mut self.child).expect("stopped");
        assert!(status.success(), "graceful shutdown exits 0: {status:?}");
        let out = self.stdout.take().expect("stdout").join().expect("stdout");
        let err = self.stderr.take().expect("stderr").join().expect("stderr");
        format!("{out}{err}")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        crate::helpers::terminate(&mut self.child);
    }
}

/// Password grant, refresh, introspection, UserInfo, revocation, client_credentials,
/// the API secret grant, client secret reset.
async fn first_party_flows(app: &TestApp, s: &mut Secrets) {
    let alice_id = alice(app).await;
    s.add("Alice's password", ALICE_PASSWORD);
    let reporting = alices_client(app).await;
    s.add("client secret", &reporting.secret);
    let password = [
        ("grant_type", "password"),
        ("username", ALICE),
        ("password", ALICE_PASSWORD),
        ("scope", "openid offline_access"),
    ];
    let r = client_form(app, &reporting, TOKEN, &password).await;
    let v = s.tokens("password grant", &r);
    let access = v["access_token"].as_str().expect("access").to_owned();
    let refresh = v["refresh_token"].as_str().expect("refresh").to_owned();
    let r = client_form(
        app,
        &reporting,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    let v = s.tokens("refresh grant", &r);
    let refreshed = v["access_token"].as_str().expect("access").to_owned();
    let rotated = v["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(
        introspect(app, &reporting, &refreshed).await["active"],
        true
    );
    let r = userinfo(app, &refreshed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    revoke(app, &reporting, &rotated).await;
    revoke(app, &reporting, &access).await;

    let job = alices_job(app, "Nightly job").await;
    s.add("job secret", &job.secret);
    let cc = [("grant_type", "client_credentials")];
    s.tokens(
        "client_credentials",
        &client_form(app, &job, TOKEN, &cc).await,
    );
    // A new secret, shown once; the old one stops working.
    let r = app
        .send_as(
            Method::PUT,
            &format!("{APPS}/{}/reset", job.id),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let reset = Client {
        secret: r.json()["clientSecret"]
            .as_str()
            .expect("clientSecret")
            .to_owned(),
        ..job.clone()
    };
    s.add("reset client secret", &reset.secret);
    s.tokens("after reset", &client_form(app, &reset, TOKEN, &cc).await);
    assert_eq!(client_form(app, &job, TOKEN, &cc).await.status, 401);

    let api = api_secret(app, alice_id).await;
    s.add("API secret", &api);
    let r = app
        .send(app.http.post(app.url("/configapi/v2/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ALICE),
            ("client_secret", &api),
            ("scope", "system"),
        ]))
        .await;
    s.tokens("API secret grant", &r);
}

/// The authorization code flow with PKCE through the sign-in and consent pages, and a
/// failed sign-in on the login page.
async fn code_flow(app: &TestApp, s: &mut Secrets) {
    let client = az::register(app, &[az::CALLBACK], json!({})).await;
    s.add(
        "code client secret",
        client.secret.as_deref().expect("secret"),
    );
    s.add("PKCE verifier", az::VERIFIER);
    let mut b = Browser::new(app);
    let path = az::authorize_path(&client, &[("scope", "openid"), ("nonce", "n-0S6_WzA2Mj")]);
    // A wrong password on the login page first.
    let page = b.get(&path).await;
    let r = az::submit_login(&mut b, &page, ALICE, WRONG_PASSWORD).await;
    assert_eq!(r.status, 200, "the login page again: {}", r.text);
    let consent = az::to_consent(&mut b, &path).await;
    for v in b.cookies.values() {
        s.add("session cookie", v);
    }
    for (name, v) in az::form_fields(&consent.text, "/oauth2/consent") {
        if name == "csrf" || name.contains("token") {
            s.add("consent form token", &v);
        }
    }
    let code = az::code_of(&az::decide(&mut b, &consent, "allow").await);
    s.add("authorization code", &code);
    s.tokens(
        "code exchange",
        &az::exchange(app, &client, &code, az::VERIFIER).await,
    );

    // Again by a pushed request (RFC 9126) in the same session: the request_uri is
    // a bearer reference to the request.
    let fields = az::query_of(&az::authorize_path(&client, &[("scope", "openid")]));
    let secret = client.secret.as_deref().expect("secret");
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/par"))
                .basic_auth(&client.client_id, Some(secret))
                .form(&fields),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let uri = r.json()["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    s.add("request_uri", &uri);
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client.client_id)
        .append_pair("request_uri", &uri);
    let r = b.get(&format!("/oauth2/authorize?{}", q.finish())).await;
    // Consent was given above; a page asks again only if the server wants it.
    let r = if r.status == 200 {
        az::decide(&mut b, &r, "allow").await
    } else {
        r
    };
    let code = az::code_of(&r);
    s.add("authorization code (PAR)", &code);
    s.tokens(
        "code exchange (PAR)",
        &az::exchange(app, &client, &code, az::VERIFIER).await,
    );
}

/// Dynamic registration (RFC 7591) with an initial access token, then reading the
/// registration with its registration access token (RFC 7592).
async fn registration(app: &TestApp, s: &mut Secrets) {
    let t = app
        .send_as_admin(Method::GET, "/api/admin/tenants/1")
        .await
        .json();
    let policy = json!({"policy": "initial_access_token", "clientTypes": ["public", "confidential"],
                        "redirectUris": {"httpsHosts": ["app.example"]}});
    let body = json!({"name": t["name"], "status": t["status"], "clientRegistration": policy});
    let r = app
        .send_json_as_admin(Method::PUT, "/api/admin/tenants/1", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants/1/initialaccesstokens",
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let iat = r.json()["token"].as_str().expect("token").to_owned();
    s.add("initial access token", &iat);
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/register"))
                .bearer_auth(&iat)
                .json(&json!({
                    "redirect_uris": [az::CALLBACK],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "client_name": "Registered by itself",
                })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let reg = r.json();
    s.add(
        "registered client secret",
        reg["client_secret"].as_str().expect("client_secret"),
    );
    let rat = reg["registration_access_token"].as_str().expect("rat");
    s.add("registration access token", rat);
    let uri = reg["registration_client_uri"].as_str().expect("uri");
    // The URI names the binary's issuer; the path is what matters.
    let path = &uri[uri.find("/oauth2/").expect("a path")..];
    let r = app.send(app.http.get(app.url(path)).bearer_auth(rat)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The device flow (RFC 8628): authorization, the verification page, sign-in and
/// consent, one poll.
async fn device_flow(app: &TestApp, s: &mut Secrets) {
    let client = az::register(
        app,
        &[az::CALLBACK],
        json!({"grantTypes": [DEVICE_GRANT, "refresh_token"]}),
    )
    .await;
    let secret = client.secret.clone().expect("secret");
    s.add("device client secret", &secret);
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/device_authorization"))
                .basic_auth(&client.client_id, Some(&secret))
                .form(&[("scope", "openid")]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.json();
    let device_code = d["device_code"].as_str().expect("device_code").to_owned();
    let user_code = d["user_code"].as_str().expect("user_code").to_owned();
    s.add("device code", &device_code);
    s.add("user code", &user_code);
    let mut b = Browser::new(app);
    let entered = b
        .post("/oauth2/device", &[("user_code".into(), user_code.clone())])
        .await;
    let login = az::follow(&mut b, &entered).await;
    let r = az::submit_login(&mut b, &login, ALICE, ALICE_PASSWORD).await;
    let consent = az::follow(&mut b, &r).await;
    let done = az::decide(&mut b, &consent, "allow").await;
    assert_eq!(done.status, 200, "{}", done.text);
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .basic_auth(&client.client_id, Some(&secret))
                .form(&[("grant_type", DEVICE_GRANT), ("device_code", &device_code)]),
        )
        .await;
    s.tokens("device poll", &r);
}

/// Token exchange (RFC 8693) by delegation: a user's token for a service, with the
/// service's own token as the actor.
async fn token_exchange(app: &TestApp, s: &mut Secrets) {
    let body = json!({"name": "system", "status": 1, "allowedScopes": [ODATA, MGMT]});
    let r = app
        .send_json_as_admin(Method::PUT, "/api/admin/tenants/1", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let front = register(
        app,
        "admin",
        ADMIN_PASSWORD,
        "Front",
        json!({"grantTypes": ["password", "refresh_token"], "scopes": [ODATA, MGMT]}),
    )
    .await;
    s.add("front secret", &front.secret);
    let service = register(
        app,
        "admin",
        ADMIN_PASSWORD,
        "Service",
        json!({"grantTypes": [EXCHANGE_GRANT, "client_credentials"], "scopes": [ODATA, MGMT]}),
    )
    .await;
    s.add("service secret", &service.secret);
    let r = client_form(
        app,
        &front,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", ALICE_PASSWORD),
            ("scope", ODATA),
        ],
    )
    .await;
    let subject = s.tokens("subject token", &r)["access_token"]
        .as_str()
        .expect("subject")
        .to_owned();
    let r = client_form(
        app,
        &service,
        TOKEN,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let actor = s.tokens("actor token", &r)["access_token"]
        .as_str()
        .expect("actor")
        .to_owned();
    let r = client_form(
        app,
        &service,
        TOKEN,
        &[
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("actor_token", &actor),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
            ("scope", ODATA),
        ],
    )
    .await;
    s.tokens("exchanged token", &r);
}

/// The token vault against a second Portcullis as the upstream: a profile from pasted
/// tokens, refreshed by the binary (an outbound call), read back; then the connect
/// flow through the upstream's pages and the binary's callback.
async fn vault(app: &TestApp, b: Backend, s: &mut Secrets) {
    use crate::vault::{app_body, create_app, Browser as UpstreamBrowser, Upstream};
    let up = Upstream::start(b, &app.url("/oauth2callback")).await;
    s.add("upstream client secret", &up.client.secret);
    let app_id = create_app(app, &app_body(&up, "Upstream")).await;
    app.create_plain_user(BOB, BOB_PASSWORD).await;
    s.add("Bob's password", BOB_PASSWORD);
    let (access, refresh) = up.password_tokens().await;
    s.add("upstream access token", &access);
    s.add("upstream refresh token", &refresh);
    let as_bob = |m: Method, path: &str| app.as_user(m, path, BOB, BOB_PASSWORD);
    let r = app
        .send(as_bob(Method::POST, VAULT_PROFILES).json(&json!({
            "name": "Pasted", "oauthAppId": app_id,
            "accessToken": access, "refreshToken": refresh
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_i64().expect("id");
    let r = app
        .send(as_bob(
            Method::POST,
            &format!("{VAULT_PROFILES}/{id}/refresh"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for field in ["accessToken", "refreshToken"] {
        if let Some(t) = r.json()[field].as_str() {
            s.add("refreshed vault token", t);
        }
    }
    let r = app
        .send(as_bob(
            Method::GET,
            &format!("{VAULT_PROFILES}/connect?oauthAppId={app_id}&name=Connected"),
        ))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let start = r.header("location").expect("location").to_owned();
    let mut browser = UpstreamBrowser {
        up: &up.app,
        cookies: Default::default(),
    };
    let back = browser
        .authorize(&start, &app.url("/oauth2callback"), ALICE, ALICE_PASSWORD)
        .await;
    let url = reqwest::Url::parse(&back).expect("callback URL");
    for (k, v) in url.query_pairs() {
        if k == "code" || k == "state" {
            s.add("connect code or state", &v);
        }
    }
    let r = app.send(app.http.get(&back)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let list = app.send(as_bob(Method::GET, VAULT_PROFILES)).await.json();
    for p in list["profiles"].as_array().expect("profiles") {
        let id = p["id"].as_i64().expect("id");
        let v = app
            .send(as_bob(Method::GET, &format!("{VAULT_PROFILES}/{id}")))
            .await
            .json();
        for field in ["accessToken", "refreshToken"] {
            if let Some(t) = v[field].as_str() {
                s.add("vault profile token", t);
            }
        }
    }
}

/// Failed sign-ins: a wrong password over Basic (Alice's second, so her account does
/// not lock) and in a password grant (Bob's), an unknown client, a made-up token.
async fn failures(app: &TestApp, s: &mut Secrets) {
    s.add("wrong password", WRONG_PASSWORD);
    let r = app.send_as(Method::GET, USERS, ALICE, WRONG_PASSWORD).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let job = register(app, ALICE, ALICE_PASSWORD, "Password failure", json!({})).await;
    s.add("client secret", &job.secret);
    let r = client_form(
        app,
        &job,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", BOB),
            ("password", WRONG_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_grant", "a wrong password");
    let unknown = Client {
        id: 0,
        client_id: "not-registered".into(),
        secret: "Wrong-Client-Secret-Xq7".into(),
    };
    s.add("wrong client secret", &unknown.secret);
    let r = client_form(
        app,
        &unknown,
        TOKEN,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    s.add("made-up token", MADE_UP_TOKEN);
    let r = userinfo(app, MADE_UP_TOKEN).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

async fn no_secret_reaches_the_logs_at_the_most_verbose_level(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let db = fresh_database(b, &dir).await;
    // The in-process node prepares the database and gives the helpers a store; the
    // binary answers every request.
    let mut app = spawn_with(test_config(&db), dir).await;
    let node = Node::start(&db);
    app.base = node.base.clone();
    let mut s = Secrets::default();
    s.add("master key", MASTER_KEY);
    s.add("admin password", ADMIN_PASSWORD);

    first_party_flows(&app, &mut s).await;
    code_flow(&app, &mut s).await;
    registration(&app, &mut s).await;
    device_flow(&app, &mut s).await;
    token_exchange(&app, &mut s).await;
    vault(&app, b, &mut s).await;
    failures(&app, &mut s).await;

    let log = node.stop();
    // The run really logged at trace level, request by request.
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"TRACE\"")),
        "no trace line: is RUST_LOG honoured?"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("portcullis::access"))
            .count()
            >= 40,
        "the access lines of the run are there"
    );
    let found: Vec<String> =
        s.0.iter()
            .filter_map(|(secret, what)| {
                let line = lines.iter().find(|l| l.contains(secret.as_str()))?;
                Some(format!("{what} ({secret}) in: {line}"))
            })
            .collect();
    assert!(
        found.is_empty(),
        "secrets in the log:\n{}",
        found.join("\n")
    );
}

backends!(no_secret_reaches_the_logs_at_the_most_verbose_level,);
