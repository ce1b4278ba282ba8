//! Test harness: `spawn_app` starts the real server (as `main` does) on port 0 with a
//! fresh database per test, on SQLite or PostgreSQL; `backends!` runs a test on both.

use portcullis_core::clock::{Clock, ManualClock};
use portcullis_core::model::client_app::ClientApp;
use portcullis_core::model::identity::{
    NewTenant, NewUser, Tenant, User, ROLE_USER, SYSTEM_TENANT_ID,
};
use portcullis_core::model::limits::LimitLevel;
use portcullis_server::config::Config;
use portcullis_server::startup::Application;
use portcullis_server::state::AppState;
use portcullis_store_postgres::testing::TestDatabase;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

pub const ADMIN_PASSWORD: &str = "Admin-Password-1";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn(Backend)` as two tests, `sqlite::name` and `postgres::name`.
/// The PostgreSQL ones are `#[ignore]`d, so a plain `cargo test` reports them as ignored
/// (never as passed); `scripts/test` runs them with its throwaway server.
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $($crate::helpers::test_on!(Sqlite $name);)*
        }
        mod postgres {
            $($crate::helpers::test_on!(
                #[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
                Postgres $name
            );)*
        }
    };
}
pub(crate) use backends;

/// Runs each listed `async fn(Backend)` once, on SQLite, as `once::name`: for tests of
/// what no store decides (the OpenAPI document, request parsing and error formats,
/// TLS), where a second run on PostgreSQL would test nothing new.
macro_rules! once {
    ($($name:ident),* $(,)?) => {
        mod once {
            $($crate::helpers::test_on!(Sqlite $name);)*
        }
    };
}
pub(crate) use once;

/// The test `name` of `backends!` and `once!`: `super::name` run on `backend`.
macro_rules! test_on {
    ($(#[$attr:meta])* $backend:ident $name:ident) => {
        $(#[$attr])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            super::$name($crate::helpers::Backend::$backend).await
        }
    };
}
pub(crate) use test_on;

/// `$body` with `$pool` a fresh pool on the test database at `$url` (SQLite or
/// PostgreSQL, by the URL's scheme), closed before the body's value is returned: one
/// body for both drivers' pool types.
macro_rules! on_raw_pool {
    ($url:expr, |$pool:ident| $body:expr) => {
        if $url.starts_with("sqlite:") {
            let $pool = sqlx::SqlitePool::connect($url).await.expect("connect");
            let out = $body;
            $pool.close().await;
            out
        } else {
            let $pool = sqlx::PgPool::connect($url).await.expect("connect");
            let out = $body;
            $pool.close().await;
            out
        }
    };
}

#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub clock: ManualClock,
    pub database_url: String,
    _dir: tempfile::TempDir,
    /// Keeps a PostgreSQL test database alive while this node runs (see [`TestDb`]).
    _db: Option<Arc<TestDatabase>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A fresh database for one test, used as its URL (`&db` is a `&str`). On SQLite a
/// file in the test's temporary directory (removed with the directory); on PostgreSQL
/// a database of its own, dropped when the last holder goes: this value, its clones
/// and every [`TestApp`] started on it, so also when the test fails and unwinds.
#[derive(Debug, Clone)]
pub struct TestDb {
    url: String,
    _db: Option<Arc<TestDatabase>>,
}

impl TestDb {
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl std::ops::Deref for TestDb {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// The PostgreSQL test databases alive in this process, by URL, so that [`spawn_with`]
/// (which sees only a configuration) can hold the one it runs on.
static LIVE: Mutex<Option<HashMap<String, Weak<TestDatabase>>>> = Mutex::new(None);

/// The live PostgreSQL test database at `url`, if `url` names one.
fn live_database(url: &str) -> Option<Arc<TestDatabase>> {
    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.as_ref()?.get(url)?.upgrade()
}

/// A fresh database on `backend` (see [`TestDb`]). A PostgreSQL test without
/// `TEST_POSTGRES_URL` fails (those tests are `#[ignore]`d under a plain
/// `cargo test`; `scripts/test` runs them).
pub async fn fresh_database(backend: Backend, dir: &tempfile::TempDir) -> TestDb {
    match backend {
        Backend::Sqlite => TestDb {
            url: format!("sqlite://{}", dir.path().join("portcullis.db").display()),
            _db: None,
        },
        Backend::Postgres => {
            let db = Arc::new(TestDatabase::create().await);
            let url = db.url().to_owned();
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            let live = live.get_or_insert_with(HashMap::new);
            live.retain(|_, db| db.strong_count() > 0);
            live.insert(url.clone(), Arc::downgrade(&db));
            TestDb { url, _db: Some(db) }
        }
    }
}

/// The configuration tests start with: port 0, a fresh database, a known admin password.
pub fn test_config(database_url: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        master_key: Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into()),
        ..Config::default()
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = fresh_database(backend, &dir).await;
    spawn_with(test_config(&db), dir).await
}

pub async fn spawn_with(config: Config, dir: tempfile::TempDir) -> TestApp {
    let clock = ManualClock::at(portcullis_core::clock::SystemClock.now());
    let database_url = config.database_url.clone();
    let scheme = config.scheme();
    let app = Application::build_with_clock(config, Arc::new(clock.clone()))
        .await
        .expect("build app");
    let base = format!("{scheme}://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        state,
        clock,
        _db: live_database(&database_url),
        database_url,
        _dir: dir,
        shutdown: Some(tx),
    }
}

/// `s` with the five entities the pages' templates escape turned back into characters.
pub fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an HDP error envelope with this status and code; returns the message.
    #[track_caller]
    pub fn hdp_error(&self, status: u16, code: u32) -> String {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        let v = self.json();
        assert_eq!(v["error"]["code"], code, "code; body: {}", self.text);
        assert_eq!(v["error"]["message"]["lang"], "en-US");
        assert_eq!(
            v.as_object().map(|o| o.len()),
            Some(1),
            "only `error` at the top: {}",
            self.text
        );
        v["error"]["message"]["value"]
            .as_str()
            .expect("message value")
            .to_owned()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        Reply {
            status,
            headers,
            text,
        }
    }

    /// A request as `login` with `password` (HTTP Basic).
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        login: &str,
        password: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .basic_auth(login, Some(password))
    }

    /// A request as the initial administrator.
    pub fn as_admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.as_user(method, path, "admin", ADMIN_PASSWORD)
    }

    /// Sends a request as `login` with `password` (HTTP Basic).
    pub async fn send_as(
        &self,
        method: reqwest::Method,
        path: &str,
        login: &str,
        password: &str,
    ) -> Reply {
        self.send(self.as_user(method, path, login, password)).await
    }

    /// Sends a request as the initial administrator.
    pub async fn send_as_admin(&self, method: reqwest::Method, path: &str) -> Reply {
        self.send(self.as_admin(method, path)).await
    }

    /// Sends `body` as JSON, as the initial administrator.
    pub async fn send_json_as_admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Reply {
        self.send(self.as_admin(method, path).json(body)).await
    }

    /// Sets the system-wide value of limit `id` through the API, as the administrator.
    pub async fn put_system_limit(&self, id: u32, value: i64) {
        let path = format!("/api/admin/limits/system/{id}");
        let r = self
            .send_json_as_admin(reqwest::Method::PUT, &path, &json!({ "value": value }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Creates a user straight in the store (the users API arrives later).
    pub async fn create_user(
        &self,
        tenant_id: i64,
        login: &str,
        password: &str,
        roles: Vec<i64>,
    ) -> User {
        let hash = self.state.ctx.hasher.hash(password).await.expect("hash");
        self.state
            .ctx
            .store
            .create_user(NewUser::new(
                tenant_id,
                login,
                hash,
                roles,
                self.clock.now(),
            ))
            .await
            .expect("create user")
    }

    pub async fn create_plain_user(&self, login: &str, password: &str) -> User {
        self.create_user(SYSTEM_TENANT_ID, login, password, vec![ROLE_USER])
            .await
    }

    /// Creates a tenant named `name` straight in the store, with copies of the system
    /// roles `imported_roles` (the model's defaults otherwise).
    pub async fn create_tenant(&self, name: &str, imported_roles: &[i64]) -> Tenant {
        let mut tenant = NewTenant::named(name, self.clock.now());
        tenant.imported_roles = imported_roles.to_vec();
        self.state
            .ctx
            .store
            .create_tenant(tenant)
            .await
            .expect("tenant")
    }

    /// The id of `tenant`'s role named `name`.
    pub async fn role_id(&self, tenant: i64, name: &str) -> i64 {
        self.state
            .ctx
            .store
            .roles(tenant)
            .await
            .expect("roles")
            .into_iter()
            .find(|r| r.name == name)
            .expect("role")
            .id
    }

    /// The stored application `id`, read straight from the store.
    pub async fn stored_client_app(&self, id: i64) -> ClientApp {
        self.state
            .ctx
            .store
            .client_app(id)
            .await
            .expect("read")
            .expect("app")
    }

    /// The stored user `id`, read straight from the store.
    pub async fn stored_user(&self, id: i64) -> User {
        self.state
            .ctx
            .store
            .user(id)
            .await
            .expect("read")
            .expect("user")
    }

    /// Records `user`'s consent to application `app` for `scopes`, straight in the store.
    pub async fn consent(&self, user: i64, app: i64, scopes: &[&str]) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.state
            .ctx
            .store
            .grant_consent(user, app, &scopes, 0)
            .await
            .expect("consent");
    }

    /// Sets limit `id` at `level` straight in the store (`None` removes it).
    pub async fn set_limit(&self, level: LimitLevel, id: i64, value: Option<i64>) {
        self.state
            .ctx
            .store
            .set_limit(level, id, value)
            .await
            .expect("limit");
    }

    /// Runs `sql` (statements without parameters) straight on the test database, behind
    /// the server's back.
    pub async fn raw_execute(&self, sql: &str) {
        let done = on_raw_pool!(&self.database_url, |pool| {
            sqlx::raw_sql(sql).execute(&pool).await.map(drop)
        });
        done.expect("raw SQL");
    }

    /// The text column `sql` selects, read straight from the test database.
    pub async fn raw_strings(&self, sql: &str) -> Vec<String> {
        let rows = on_raw_pool!(&self.database_url, |pool| {
            sqlx::query_scalar(sql).fetch_all(&pool).await
        });
        rows.expect("query")
    }

    /// Registers an application as `login` and returns the response JSON.
    pub async fn register_as(&self, login: &str, password: &str, body: Value) -> Value {
        let r = self
            .send(
                self.as_user(
                    reqwest::Method::POST,
                    "/api/mgmt/oauth/client/applications",
                    login,
                    password,
                )
                .json(&body),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()
    }
}

/// The base URL a `portcullis` process prints on stdout once it listens ("Portcullis
/// listening on …"), read line by line (blocking); `None` when it exits first.
pub fn listening_on(stdout: std::process::ChildStdout) -> Option<String> {
    use std::io::BufRead as _;
    for line in std::io::BufReader::new(stdout).lines() {
        if let Some(u) = line.ok()?.strip_prefix("Portcullis listening on ") {
            return Some(u.trim().to_owned());
        }
    }
    None
}

/// Stops a `portcullis` process as an init system would (SIGTERM, then wait) unless it
/// has exited already; its exit status.
pub fn terminate(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().ok()
}
