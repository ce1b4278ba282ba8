//! Issue 11, storage and operations: the database files are private, the master key
//! file is never seen half-written, regenerating an API secret ends its tokens.

use crate::helpers::{backends, spawn_app, test_config, Backend, TestApp, ADMIN_PASSWORD};
use crate::support::oauth::api_secret;
use reqwest::Method;
use serde_json::{json, Value};

const APPS: &str = "/api/mgmt/oauth/client/applications";

/// Mode bits of `path` (permissions only).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A few writes through the API, so the WAL and shared-memory files exist.
async fn some_writes(app: &TestApp) {
    for i in 0..3 {
        let r = app
            .send(app.as_admin(Method::POST, APPS).json(&json!({
                "name": format!("writer{i}"),
                "redirectUrls": ["https://app.example/callback"]
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_wal_and_shm_files_are_readable_by_their_owner_only() {
    let app = spawn_app(Backend::Sqlite).await;
    some_writes(&app).await;
    let db = app
        .database_url
        .strip_prefix("sqlite://")
        .map(std::path::PathBuf::from)
        .expect("a file URL");
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        assert!(p.exists(), "{} exists after writes", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_world_readable_database_is_made_private_at_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("old.db");
    let url = format!("sqlite://{}", db.display());
    drop(
        portcullis_store_sqlite::SqliteStore::connect(&url)
            .await
            .expect("create"),
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    portcullis_store_sqlite::SqliteStore::connect(&url)
        .await
        .expect("reopen");
    assert_eq!(mode(&db), 0o600);
}

/// Two processes' first starts at the same moment (threads behind a barrier, many
/// rounds): both get the same complete key, never an empty or half-written file.
#[test]
fn concurrent_first_starts_agree_on_one_complete_master_key_file() {
    const ROUNDS: usize = 200;
    const STARTS: usize = 4;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = test_config(&format!(
            "sqlite://{}",
            dir.path().join("portcullis.db").display()
        ));
        config.master_key = None;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(STARTS));
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..STARTS)
                .map(|_| {
                    let (config, barrier) = (config.clone(), barrier.clone());
                    s.spawn(move || {
                        barrier.wait();
                        portcullis_server::startup::keyring(&config)
                            .map(|k| k.primary_id().to_owned())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .expect("thread")
                        .unwrap_or_else(|e| panic!("round {round}: {e}"))
                })
                .collect()
        });
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "round {round}: {ids:?}"
        );
        let key = dir.path().join("portcullis.key");
        #[cfg(unix)]
        assert_eq!(mode(&key), 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file left: {leftovers:?}"
        );
    }
}

async fn api_secret_token(app: &TestApp, login: &str, secret: &str) -> String {
    let r = app
        .send(app.http.post(app.url("/configapi/v2/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", login),
            ("client_secret", secret),
            ("scope", "system"),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn introspect(app: &TestApp, client: &Value, token: &str) -> Value {
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/introspect"))
                .basic_auth(
                    client["clientId"].as_str().expect("clientId"),
                    client["clientSecret"].as_str(),
                )
                .form(&[("token", token)]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn regenerating_an_api_secret_ends_the_tokens_of_the_old_one(b: Backend) {
    let app = spawn_app(b).await;
    let user = app.create_plain_user("sheila", "Tea-Time-1984").await.id;
    let client = app
        .register_as(
            "admin",
            ADMIN_PASSWORD,
            json!({"name": "introspector", "redirectUrls": ["https://app.example/callback"]}),
        )
        .await;
    let old_secret = api_secret(&app, user).await;
    let old = api_secret_token(&app, "sheila", &old_secret).await;
    assert_eq!(introspect(&app, &client, &old).await["active"], true);
    let userinfo = |t: String| app.http.get(app.url("/oauth2/userinfo")).bearer_auth(t);
    assert_eq!(app.send(userinfo(old.clone())).await.status, 200);

    let new_secret = api_secret(&app, user).await;
    assert_ne!(new_secret, old_secret);
    assert_eq!(
        introspect(&app, &client, &old).await,
        json!({"active": false}),
        "a token of the old secret is over"
    );
    assert_eq!(app.send(userinfo(old.clone())).await.status, 401);
    let r = app
        .send(app.http.post(app.url("/configapi/v2/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sheila"),
            ("client_secret", old_secret.as_str()),
            ("scope", "system"),
        ]))
        .await;
    assert_eq!(r.status, 401, "the old secret is refused: {}", r.text);

    let new = api_secret_token(&app, "sheila", &new_secret).await;
    assert_eq!(introspect(&app, &client, &new).await["active"], true);
    assert_eq!(app.send(userinfo(new)).await.status, 200);
}

// ---------------------------------------------------------------------------------
// The vault's outbound calls (item 11) and a refresh that outlives its request (13e)
// ---------------------------------------------------------------------------------

const OAUTH_APPS: &str = "/api/mgmt/oauthapps";
const PROFILES: &str = "/api/mgmt/oauthprofiles";
const UPSTREAM_REFUSED: u32 = 222209610;
const UPSTREAM_FAILED: u32 = 222209611;
const UPSTREAM_NOT_ALLOWED: u32 = 222209614;

/// A scripted upstream token endpoint on 127.0.0.1: counts connections and calls,
/// says when a call arrived, holds each answer until released, then answers with
/// the current script.
#[derive(Clone)]
struct FakeUpstream {
    base: String,
    connections: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    arrived: Arc<tokio::sync::Semaphore>,
    release: Arc<tokio::sync::Semaphore>,
    answer: Arc<std::sync::Mutex<(u16, String)>>,
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

impl FakeUpstream {
    /// Answers at once (`held` false) or when [`FakeUpstream::release_one`] is called.
    async fn start(held: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Self {
            base,
            connections: Arc::default(),
            calls: Arc::default(),
            arrived: Arc::new(tokio::sync::Semaphore::new(0)),
            release: Arc::new(tokio::sync::Semaphore::new(if held { 0 } else { 1 << 20 })),
            answer: Arc::new(std::sync::Mutex::new((
                200,
                json!({"access_token": "rotated-access", "refresh_token": "rotated-refresh",
                       "token_type": "Bearer", "expires_in": 3600})
                .to_string(),
            ))),
        };
        let state = fake.clone();
        let router = axum::Router::new()
            .route(
                "/token",
                axum::routing::post(
                    |axum::extract::State(f): axum::extract::State<FakeUpstream>| async move {
                        f.calls.fetch_add(1, Ordering::SeqCst);
                        f.arrived.add_permits(1);
                        f.release.acquire().await.expect("release").forget();
                        let (status, body) = f.answer.lock().expect("lock").clone();
                        (
                            axum::http::StatusCode::from_u16(status).expect("status"),
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            body,
                        )
                    },
                ),
            )
            .with_state(state);
        let connections = fake.connections.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let svc = hyper_util::service::TowerToHyperService::new(router.clone());
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        fake
    }

    fn script(&self, status: u16, body: &str) {
        *self.answer.lock().expect("lock") = (status, body.to_owned());
    }

    fn token_uri(&self) -> String {
        format!("{}/token", self.base)
    }
}

async fn vault_app(app: &TestApp, name: &str, token_uri: &str) -> i64 {
    let r = app
        .send(app.as_admin(Method::POST, OAUTH_APPS).json(&json!({
            "name": name,
            "dataStore": 63,
            "clientId": "vault-client",
            "clientSecret": "vault-client-secret",
            "authorizeURI": "https://upstream.example/authorize",
            "tokenURI": token_uri,
            "scope": "offline_access"
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_i64().expect("id")
}

async fn vault_profile(app: &TestApp, app_id: i64, name: &str) -> i64 {
    let r = app
        .send(app.as_admin(Method::POST, PROFILES).json(&json!({
            "name": name,
            "oauthAppId": app_id,
            "accessToken": "first-access",
            "refreshToken": "first-refresh"
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_i64().expect("id")
}

async fn refresh_profile(app: &TestApp, pid: i64) -> crate::helpers::Reply {
    app.send_as_admin(Method::POST, &format!("{PROFILES}/{pid}/refresh"))
        .await
}

async fn spawn_vault(b: Backend, allow: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let url = crate::helpers::fresh_database(b, &dir).await;
    let config = portcullis_server::config::Config {
        outbound_allow: allow.iter().map(|s| s.to_string()).collect(),
        ..test_config(&url)
    };
    crate::helpers::spawn_with(config, dir).await
}

async fn internal_token_endpoints_are_refused_before_connecting_unless_allowed(b: Backend) {
    let app = spawn_vault(b, &[]).await;
    let fake = FakeUpstream::start(false).await;
    let port = fake.base.rsplit(':').next().expect("port").to_owned();
    for (n, (uri, host)) in [
        (format!("http://127.0.0.1:{port}/token"), "127.0.0.1"),
        (format!("http://localhost:{port}/token"), "localhost"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/token"),
            "::ffff:7f00:1",
        ),
        (format!("http://2130706433:{port}/token"), "127.0.0.1"),
        (
            "http://169.254.169.254/latest/api/token".to_owned(),
            "169.254.169.254",
        ),
        ("http://[fd00:ec2::254]/token".to_owned(), "fd00:ec2::254"),
        ("http://10.0.0.1/token".to_owned(), "10.0.0.1"),
    ]
    .into_iter()
    .enumerate()
    {
        let app_id = vault_app(&app, &format!("internal{n}"), &uri).await;
        let pid = vault_profile(&app, app_id, &format!("p{n}")).await;
        let msg = refresh_profile(&app, pid)
            .await
            .hdp_error(502, UPSTREAM_NOT_ALLOWED);
        assert!(
            msg.contains(&format!("'{host}'")) && msg.contains("outbound_allow"),
            "{uri}: {msg}"
        );
        let v = app
            .send_as_admin(Method::GET, &format!("{PROFILES}/{pid}"))
            .await
            .json();
        assert_eq!(v["refreshToken"], "first-refresh", "{uri}: unchanged");
        // The stored failure reads back with the same code.
        assert!(v["lastRefreshError"]
            .as_str()
            .is_some_and(|e| e.contains("outbound_allow")));
    }
    assert_eq!(
        fake.connections.load(Ordering::SeqCst),
        0,
        "no connection was ever made"
    );

    // Listed by address or by name, the same endpoint is called.
    for allow in ["127.0.0.1", "127.0.0.0/8", "localhost"] {
        let open = spawn_vault(b, &[allow]).await;
        let host = if allow == "localhost" {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let app_id = vault_app(&open, "internal", &format!("http://{host}:{port}/token")).await;
        let pid = vault_profile(&open, app_id, "p").await;
        let r = refresh_profile(&open, pid).await;
        assert_eq!(r.status, 200, "allowed by {allow}: {}", r.text);
        assert_eq!(r.json()["refreshToken"], "rotated-refresh");
    }
}

async fn upstream_failures_are_quoted_by_status_and_oauth_error_code_only(b: Backend) {
    let app = spawn_vault(b, &["127.0.0.1"]).await;
    let fake = FakeUpstream::start(false).await;
    let app_id = vault_app(&app, "scripted", &fake.token_uri()).await;
    let pid = vault_profile(&app, app_id, "p").await;

    fake.script(
        400,
        r#"{"error":"invalid_grant","error_description":"refresh token of db01.corp.internal expired"}"#,
    );
    let msg = refresh_profile(&app, pid)
        .await
        .hdp_error(502, UPSTREAM_REFUSED);
    assert!(
        msg.contains("invalid_grant") && msg.contains("400"),
        "{msg}"
    );
    assert!(!msg.contains("db01") && !msg.contains("expired"), "{msg}");

    fake.script(401, r#"{"error":"<script>alert(1)</script> at db01"}"#);
    let msg = refresh_profile(&app, pid)
        .await
        .hdp_error(502, UPSTREAM_FAILED);
    assert!(msg.contains("401") && msg.contains("malformed"), "{msg}");
    assert!(!msg.contains("script") && !msg.contains("db01"), "{msg}");

    fake.script(
        500,
        "Internal error: stack trace at db01.corp.internal:5432",
    );
    let msg = refresh_profile(&app, pid)
        .await
        .hdp_error(502, UPSTREAM_FAILED);
    assert!(msg.contains("500"), "{msg}");
    assert!(!msg.contains("db01") && !msg.contains("stack"), "{msg}");
}

/// A refresh whose request is cancelled while the upstream is rotating the refresh
/// token still stores the successor. The client sends the request over a raw socket,
/// waits until the upstream has the call, closes its side and waits until the server
/// has closed the connection (the request's handler is gone), and only then lets the
/// upstream answer.
async fn a_cancelled_refresh_still_stores_the_rotated_refresh_token(b: Backend) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_vault(b, &["127.0.0.1"]).await;
    let fake = FakeUpstream::start(true).await;
    let app_id = vault_app(&app, "held", &fake.token_uri()).await;
    let pid = vault_profile(&app, app_id, "p").await;

    let addr = app.base.strip_prefix("http://").expect("http").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"))
    };
    let request = format!(
        "POST {PROFILES}/{pid}/refresh HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {basic}\r\nContent-Length: 0\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    fake.arrived.acquire().await.expect("arrived").forget();
    socket.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest).await;
    assert!(
        rest.is_empty(),
        "no answer to a cancelled request: {rest:?}"
    );

    fake.release.add_permits(1);
    let store = app.state.ctx.store.clone();
    let mut stored = None;
    for _ in 0..200 {
        let p = store
            .oauth_profile(pid)
            .await
            .expect("read")
            .expect("profile");
        if p.refresh_lease_until.is_none() {
            stored = Some(p);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stored = stored.expect("the refresh finished and released its lease");
    assert_eq!(stored.last_refresh_error, None);
    let v = app
        .send_as_admin(Method::GET, &format!("{PROFILES}/{pid}"))
        .await
        .json();
    assert_eq!(v["refreshToken"], "rotated-refresh", "{v}");
    assert_eq!(v["accessToken"], "rotated-access", "{v}");
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
}

/// An upstream Portcullis serving HTTPS with a certificate of a private CA (rcgen):
/// reached with `outbound_ca_file`, refused as an unknown issuer without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_https_trusts_the_ca_file_besides_the_built_in_roots() {
    let dir = tempfile::tempdir().expect("dir");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert_path = dir.path().join("up-cert.pem");
    let key_path = dir.path().join("up-key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write");
    let up_dir = tempfile::tempdir().expect("dir");
    let up_url = format!("sqlite://{}", up_dir.path().join("up.db").display());
    let mut up = crate::helpers::spawn_with(
        portcullis_server::config::Config {
            tls_cert: Some(cert_path.clone()),
            tls_key: Some(key_path),
            ..test_config(&up_url)
        },
        up_dir,
    )
    .await;
    up.http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem"),
        )
        .build()
        .expect("client");
    up.create_plain_user("alice", "Wonder-Land-42").await;
    let client = up
        .register_as(
            "admin",
            ADMIN_PASSWORD,
            json!({"name": "vault", "redirectUrls": ["https://vault.example/cb"]}),
        )
        .await;
    let (client_id, secret) = (
        client["clientId"].as_str().expect("id").to_owned(),
        client["clientSecret"].as_str().expect("secret").to_owned(),
    );
    let r = up
        .send(
            up.http
                .post(up.url("/oauth2/token"))
                .basic_auth(&client_id, Some(&secret))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "Wonder-Land-42"),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access, refresh) = (
        r.json()["access_token"].as_str().expect("a").to_owned(),
        r.json()["refresh_token"].as_str().expect("r").to_owned(),
    );

    for trusted in [false, true] {
        let vdir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", vdir.path().join("vault.db").display());
        let vault = crate::helpers::spawn_with(
            portcullis_server::config::Config {
                outbound_allow: vec!["127.0.0.1".into()],
                outbound_ca_file: trusted.then(|| cert_path.clone()),
                ..test_config(&url)
            },
            vdir,
        )
        .await;
        let r = vault
            .send(vault.as_admin(Method::POST, OAUTH_APPS).json(&json!({
                "name": "tls_upstream", "dataStore": 63,
                "clientId": client_id, "clientSecret": secret,
                "authorizeURI": up.url("/oauth2/authorize"),
                "tokenURI": up.url("/oauth2/token"),
                "scope": "api.access.odata"
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let app_id = r.json()["id"].as_i64().expect("id");
        let r = vault
            .send(vault.as_admin(Method::POST, PROFILES).json(&json!({
                "name": "p", "oauthAppId": app_id,
                "accessToken": access, "refreshToken": refresh
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let pid = r.json()["id"].as_i64().expect("id");
        let r = refresh_profile(&vault, pid).await;
        if trusted {
            assert_eq!(r.status, 200, "{}", r.text);
            assert_ne!(r.json()["accessToken"], access.as_str());
        } else {
            let msg = r.hdp_error(502, UPSTREAM_FAILED);
            assert!(msg.contains("could not connect"), "{msg}");
        }
    }
}

#[tokio::test]
async fn a_ca_file_without_certificates_stops_start_up_naming_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("empty-ca.pem");
    std::fs::write(&ca, "not a certificate\n").expect("write");
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let err = portcullis_server::startup::Application::build(portcullis_server::config::Config {
        outbound_ca_file: Some(ca),
        ..test_config(&url)
    })
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("empty-ca.pem"), "{err}");
}

#[test]
fn outbound_allow_is_a_toml_list_in_the_environment_and_checked_at_load() {
    use portcullis_server::config::{Config, Overrides};
    let env = |v: &str| vec![("PORTCULLIS_OUTBOUND_ALLOW".to_owned(), v.to_owned())];
    let c = Config::load(
        None,
        env(r#"["127.0.0.1", "10.0.0.0/8", "idp.internal"]"#),
        Overrides::default(),
    )
    .expect("load");
    assert_eq!(
        c.outbound_allow,
        ["127.0.0.1", "10.0.0.0/8", "idp.internal"]
    );
    let e =
        Config::load(None, env(r#"["10.0.0.0/40"]"#), Overrides::default()).expect_err("bad block");
    assert!(e.to_string().contains("10.0.0.0/40"), "{e}");
}

/// A JSON list column that does not hold a JSON list is a store error (logged, 500
/// in the HDP envelope without internals), never an empty list.
async fn a_corrupt_json_list_column_is_an_error_not_an_empty_list(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send(app.as_admin(Method::POST, APPS).json(&json!({
            "name": "victim", "redirectUrls": ["https://app.example/callback"]
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_i64().expect("id");
    app.raw_execute(&format!(
        "UPDATE client_apps SET redirect_urls = '[\"https://app.example/cal' WHERE id = {id}"
    ))
    .await;
    let r = app
        .send_as_admin(Method::GET, &format!("{APPS}/{id}"))
        .await;
    let msg = r.hdp_error(500, 222206631);
    for leak in ["redirect_urls", "column", "JSON", "EOF", "sqlx"] {
        assert!(!r.text.contains(leak), "{leak} in {}", r.text);
    }
    assert!(!msg.is_empty());
}

backends!(
    regenerating_an_api_secret_ends_the_tokens_of_the_old_one,
    a_corrupt_json_list_column_is_an_error_not_an_empty_list,
    internal_token_endpoints_are_refused_before_connecting_unless_allowed,
    upstream_failures_are_quoted_by_status_and_oauth_error_code_only,
    a_cancelled_refresh_still_stores_the_rotated_refresh_token,
);
