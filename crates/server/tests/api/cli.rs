//! The admin commands of the real binary (`portcullis tenant|user|client …`) working
//! straight on a database, SQLite and PostgreSQL, with the server started on the same
//! database to prove what they did: users sign in, passwords change, locks end,
//! client secrets verify. Bad input exits 2 with a message; runtime failures exit 1.

use crate::helpers::{
    backends, fresh_database, spawn_with, test_config, Backend, TestApp, ADMIN_PASSWORD,
};
use reqwest::Method;
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};

const APPS: &str = "/api/mgmt/oauth/client/applications";

/// What a run of the binary printed, and its exit code.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    #[track_caller]
    pub(crate) fn ok(&self) -> Value {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.stdout))
    }

    /// Asserts exit code 2 with nothing on stdout; returns stderr.
    #[track_caller]
    pub(crate) fn bad_input(&self) -> &str {
        assert_eq!(
            self.code,
            Some(2),
            "stdout: {} stderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(self.stdout.is_empty(), "{}", self.stdout);
        assert!(self.stderr.starts_with("error"), "{}", self.stderr);
        &self.stderr
    }
}

/// A database for the binary and, later, the server.
struct Db {
    url: crate::helpers::TestDb,
    dir: tempfile::TempDir,
}

async fn database(b: Backend) -> Db {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    Db { url, dir }
}

/// Runs the real binary with `args`, in a fresh working directory, with no inherited
/// `PORTCULLIS_*` variable but those of `env` (and `RUST_LOG=warn`), feeding `stdin`.
pub(crate) async fn run_binary(env: &[(&str, String)], args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PORTCULLIS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args);
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let cwd = tempfile::tempdir().expect("cwd");
        let mut child = cmd
            .current_dir(cwd.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn portcullis");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).expect("write stdin");
        }
        drop(input);
        let out = child.wait_with_output().expect("wait");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("join")
}

/// Runs `portcullis --database-url URL ARGS…` with the test master key (and the test
/// admin password when `admin_password`), feeding `stdin`.
async fn portcullis_with(
    url: &str,
    args: &[&str],
    stdin: Option<&str>,
    admin_password: bool,
) -> Run {
    let key = test_config(url).master_key.expect("test master key");
    let mut env = vec![("PORTCULLIS_MASTER_KEY", key)];
    if admin_password {
        env.push(("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()));
    }
    let args: Vec<&str> = ["--database-url", url]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    run_binary(&env, &args, stdin).await
}

pub(crate) async fn portcullis(url: &str, args: &[&str]) -> Run {
    portcullis_with(url, args, None, true).await
}

async fn portcullis_stdin(url: &str, args: &[&str], stdin: &str) -> Run {
    portcullis_with(url, args, Some(stdin), true).await
}

/// `portcullis user create --login robert --password-stdin`, fed `stdin`: the user printed.
async fn create_robert(url: &str, stdin: &str) -> Value {
    portcullis_stdin(
        url,
        &["user", "create", "--login", "robert", "--password-stdin"],
        stdin,
    )
    .await
    .ok()
}

/// Starts the server on the database the binary used.
async fn serve(db: Db) -> TestApp {
    spawn_with(test_config(&db.url), db.dir).await
}

async fn status_as(app: &TestApp, login: &str, password: &str) -> u16 {
    let r = app.send_as(Method::GET, APPS, login, password).await;
    if r.status != 200 {
        eprintln!("{login}: {} {}", r.status, r.text);
    }
    r.status
}

async fn a_tenant_created_by_the_cli_is_in_the_store(b: Backend) {
    let db = database(b).await;
    // On an empty database the command creates the initial administrator like `serve`
    // does, printing a generated password on stderr so stdout stays one JSON document.
    let run = portcullis_with(
        &db.url,
        &[
            "tenant",
            "create",
            "acme",
            "--description",
            "Acme Corp",
            "--host",
            "Data.Acme.example",
            "--host",
            "acme.example:8443",
        ],
        None,
        false,
    )
    .await;
    let out = run.ok();
    assert!(
        run.stderr.contains("Created the initial administrator"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("password"));
    assert_eq!(out["name"], "acme");
    assert_eq!(out["description"], "Acme Corp");
    assert_eq!(
        out["hosts"],
        serde_json::json!(["acme.example:8443", "data.acme.example"])
    );
    let names: Vec<&str> = out["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    // The Tenant API's default: User and Tenant Administrator.
    assert_eq!(names, ["User", "Tenant Administrator"]);
    let id = out["id"].as_i64().expect("id");

    let again = portcullis(&db.url, &["tenant", "create", "acme"]).await;
    assert!(again
        .bad_input()
        .contains("A tenant named 'acme' already exists"));
    let case_only = portcullis(&db.url, &["tenant", "create", "ACME"]).await;
    assert!(
        case_only.bad_input().contains("ignoring case"),
        "as the Tenant API"
    );
    let at_sign = portcullis(&db.url, &["tenant", "create", "a@b"]).await;
    assert!(
        !at_sign.bad_input().is_empty(),
        "'@' is refused as by the Tenant API"
    );
    let host_taken = portcullis(
        &db.url,
        &["tenant", "create", "other", "--host", "data.acme.example"],
    )
    .await;
    assert!(host_taken
        .bad_input()
        .contains("The host name 'data.acme.example' is already used by another tenant"));
    let only_user = portcullis(&db.url, &["tenant", "create", "beta", "--import-role", "2"])
        .await
        .ok();
    assert_eq!(only_user["roles"].as_array().map(Vec::len), Some(1));

    let app = serve(db).await;
    let store = &app.state.ctx.store;
    let t = store
        .tenant_by_name("acme")
        .await
        .expect("read")
        .expect("tenant");
    assert_eq!(t.id, id);
    assert_eq!(t.description.as_deref(), Some("Acme Corp"));
    assert!(t.active);
    assert_eq!(
        store.tenant_hosts(id).await.expect("hosts"),
        ["acme.example:8443", "data.acme.example"]
    );
    assert_eq!(store.roles(id).await.expect("roles").len(), 2);
    assert_eq!(
        store
            .tenant_by_host("DATA.acme.example")
            .await
            .expect("read")
            .map(|t| t.id),
        Some(id)
    );
}

async fn a_user_created_by_the_cli_signs_in_over_http(b: Backend) {
    let db = database(b).await;
    let robert = create_robert(&db.url, "Strong-Password-1\n").await;
    assert_eq!(robert["userName"], "robert");
    assert_eq!(robert["tenantName"], "system");
    assert_eq!(robert["roles"], serde_json::json!([2]));
    assert!(
        robert.get("password").is_none(),
        "a given password is never printed"
    );

    let carol = portcullis(
        &db.url,
        &[
            "user",
            "create",
            "--login",
            "carol",
            "--role",
            "Administrator",
        ],
    )
    .await
    .ok();
    let carol_password = carol["password"]
        .as_str()
        .expect("generated password")
        .to_owned();
    assert_eq!(carol_password.len(), 43);
    assert_eq!(carol["roles"], serde_json::json!([1]));

    portcullis(&db.url, &["tenant", "create", "acme"])
        .await
        .ok();
    let dan = portcullis(
        &db.url,
        &[
            "user",
            "create",
            "--login",
            "dan",
            "--tenant",
            "acme",
            "--role",
            "tenant administrator",
            "--role",
            "User",
        ],
    )
    .await
    .ok();
    let dan_password = dan["password"].as_str().expect("password").to_owned();
    assert_eq!(dan["tenantName"], "acme");
    assert_eq!(dan["roles"].as_array().map(Vec::len), Some(2));

    let dup = portcullis(&db.url, &["user", "create", "--login", "robert"]).await;
    assert!(dup
        .bad_input()
        .contains("A user named 'robert' already exists in tenant system"));

    let app = serve(db).await;
    assert_eq!(status_as(&app, "robert", "Strong-Password-1").await, 200);
    assert_eq!(status_as(&app, "carol", &carol_password).await, 200);
    assert_eq!(status_as(&app, "dan", &dan_password).await, 200);
    // Carol's role is the system Administrator's: she is a super-user.
    let r = app
        .send_as(
            Method::GET,
            "/api/admin/limits/system",
            "carol",
            &carol_password,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let dan_user = app.stored_user(dan["id"].as_i64().expect("id")).await;
    assert_eq!(Some(dan_user.tenant_id), dan["tenantId"].as_i64());
    assert_ne!(
        dan_user.tenant_id,
        portcullis_core::model::identity::SYSTEM_TENANT_ID
    );
}

async fn set_password_changes_the_password(b: Backend) {
    let db = database(b).await;
    let url = db.url.clone();
    create_robert(&url, "First-Password-1\n").await;
    let app = serve(db).await;
    assert_eq!(status_as(&app, "robert", "First-Password-1").await, 200);

    let out = portcullis_stdin(
        &url,
        &[
            "user",
            "set-password",
            "--login",
            "robert",
            "--password-stdin",
        ],
        "Second-Password-2\r\n",
    )
    .await
    .ok();
    assert_eq!(out["userName"], "robert");
    assert!(out.get("password").is_none());
    // The server notices at once, cached credentials included.
    app.send_as(Method::GET, APPS, "robert", "First-Password-1")
        .await
        .hdp_error(401, 222209002);
    assert_eq!(status_as(&app, "robert", "Second-Password-2").await, 200);

    let generated = portcullis(&url, &["user", "set-password", "--login", "robert"])
        .await
        .ok();
    let third = generated["password"].as_str().expect("generated password");
    assert_eq!(status_as(&app, "robert", third).await, 200);
    assert_eq!(status_as(&app, "robert", "Second-Password-2").await, 401);

    // The initial administrator can be recovered the same way.
    portcullis_stdin(
        &url,
        &[
            "user",
            "set-password",
            "--login",
            "admin",
            "--password-stdin",
        ],
        "Recovered-Root-9",
    )
    .await
    .ok();
    assert_eq!(status_as(&app, "admin", "Recovered-Root-9").await, 200);
}

async fn unlock_clears_a_lock(b: Backend) {
    let db = database(b).await;
    let url = db.url.clone();
    create_robert(&url, "Strong-Password-1").await;
    let app = serve(db).await;
    for _ in 0..3 {
        app.send_as(Method::GET, APPS, "robert", "wrong").await;
    }
    app.send_as(Method::GET, APPS, "robert", "Strong-Password-1")
        .await
        .hdp_error(401, 222209003);

    let out = portcullis(&url, &["user", "unlock", "--login", "robert"])
        .await
        .ok();
    assert_eq!(out["wasLocked"], true);
    assert_eq!(status_as(&app, "robert", "Strong-Password-1").await, 200);
    // Unlocking an account that is not locked is fine, and says so.
    let out = portcullis(&url, &["user", "unlock", "--login", "robert"])
        .await
        .ok();
    assert_eq!(out["wasLocked"], false);
}

async fn client_register_prints_a_secret_that_verifies(b: Backend) {
    let db = database(b).await;
    let url = db.url.clone();
    create_robert(&url, "Strong-Password-1").await;
    let out = portcullis(
        &url,
        &[
            "client",
            "register",
            "--owner",
            "robert",
            "--name",
            "Reporting",
            "--redirect-url",
            "https://app.example/cb",
            "--redirect-url",
            "https://app.example/cb2",
        ],
    )
    .await
    .ok();
    let secret = out["clientSecret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 43);
    assert_eq!(out["public"], false);
    let id = out["id"].as_i64().expect("id");

    let public = portcullis(
        &url,
        &[
            "client",
            "register",
            "--owner",
            "robert",
            "--name",
            "SPA",
            "--redirect-url",
            "https://spa.example/",
            "--public",
        ],
    )
    .await
    .ok();
    assert!(public.get("clientSecret").is_none());
    assert_eq!(public["public"], true);

    let app = serve(db).await;
    let stored = app.stored_client_app(id).await;
    let verifier = stored.secret_verifier.as_deref().expect("verifier");
    assert!(app.state.ctx.keys.verify(&secret, verifier));
    assert!(!app.state.ctx.keys.verify("not-the-secret", verifier));
    assert_eq!(
        stored.client_id,
        out["clientId"].as_str().expect("clientId")
    );
    assert_eq!(
        stored.redirect_urls,
        ["https://app.example/cb", "https://app.example/cb2"]
    );
    // The owner sees it through the API, without the secret.
    let r = app
        .send_as(
            Method::GET,
            &format!("{APPS}/{id}"),
            "robert",
            "Strong-Password-1",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "Reporting");
    assert!(r.json().get("clientSecret").is_none());
}

async fn bad_input_exits_2_with_a_message(b: Backend) {
    let db = database(b).await;
    let url = db.url.as_str();
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (
            &["user", "create", "--login", ""],
            None,
            "must not be empty",
        ),
        (&["user", "create", "--login", "a:b"], None, "':'"),
        (
            &["user", "create", "--login", "eve", "--password-stdin"],
            Some("short\n"),
            "8 to 128 characters",
        ),
        (
            &["user", "create", "--login", "eve", "--password-stdin"],
            Some("Line-One-1\nLine-Two-2\n"),
            "one line",
        ),
        (
            &["user", "create", "--login", "eve", "--tenant", "nowhere"],
            None,
            "there is no tenant named 'nowhere'",
        ),
        (
            &["user", "create", "--login", "eve", "--role", "99"],
            None,
            "has no role '99'; its roles are: 1 Administrator, 2 User, 3 Tenant Administrator",
        ),
        (
            &["user", "create", "--login", "eve", "--email", "eve"],
            None,
            "Invalid value for 'email': 'eve' is not an e-mail address",
        ),
        (
            &["user", "create", "--login", "eve", "--locale", "en_GB"],
            None,
            "Invalid value for 'locale': 'en_GB' is not a BCP 47 language tag",
        ),
        (
            &["user", "create", "--login", "eve", "--email-verified"],
            None,
            "Invalid value for 'emailVerified': cannot be true without an email",
        ),
        (
            &[
                "user",
                "set-profile",
                "--login",
                "admin",
                "--locale",
                "en",
                "--clear",
                "locale",
            ],
            None,
            "--locale and --clear locale contradict each other",
        ),
        (
            &[
                "user",
                "set-profile",
                "--login",
                "admin",
                "--clear",
                "surname",
            ],
            None,
            "invalid value 'surname' for '--clear <FIELD>'",
        ),
        (
            &["user", "set-profile", "--login", "ghost", "--locale", "en"],
            None,
            "there is no user 'ghost'",
        ),
        (
            &["user", "set-password", "--login", "ghost"],
            None,
            "there is no user 'ghost' in tenant 'system'",
        ),
        (
            &["user", "unlock", "--login", "ghost"],
            None,
            "there is no user 'ghost'",
        ),
        (
            &[
                "client",
                "register",
                "--owner",
                "ghost",
                "--name",
                "A",
                "--redirect-url",
                "https://a.example/",
            ],
            None,
            "there is no user 'ghost'",
        ),
        (
            &[
                "client",
                "register",
                "--owner",
                "admin",
                "--name",
                "A",
                "--redirect-url",
                "https://a.example/#frag",
            ],
            None,
            "redirectUrls",
        ),
        (
            &[
                "client",
                "register",
                "--owner",
                "admin",
                "--name",
                " ",
                "--redirect-url",
                "https://a.example/",
            ],
            None,
            "name",
        ),
        (
            &[
                "client",
                "register",
                "--owner",
                "admin",
                "--name",
                "A",
                "--redirect-url",
                "https://a.example/",
                "--grant-type",
                "magic",
            ],
            None,
            "magic",
        ),
        (
            &["client", "register", "--owner", "admin", "--name", "A"],
            None,
            "--redirect-url",
        ),
        (
            &["tenant", "create", "acme", "--host", "a b"],
            None,
            "is not a host name",
        ),
        (
            &[
                "tenant",
                "create",
                "acme",
                "--host",
                "a.example",
                "--host",
                "A.example",
            ],
            None,
            "listed twice",
        ),
        (&["tenant", "create", ""], None, "'name': must not be empty"),
        (
            &["tenant", "create", "acme", "--import-role", "42"],
            None,
            "42 is not a role of the system tenant",
        ),
        (&["user", "frobnicate"], None, "frobnicate"),
    ];
    for (args, stdin, needle) in cases {
        let run = portcullis_with(url, args, *stdin, true).await;
        let err = run.bad_input();
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // Nothing was created by the refused commands.
    let app = serve(db).await;
    let store = &app.state.ctx.store;
    assert!(store.tenant_by_name("acme").await.expect("read").is_none());
    assert!(store.users_by_login("eve").await.expect("read").is_empty());
    assert!(store
        .list_client_apps(portcullis_core::model::client_app::AppListScope::Tenant(1))
        .await
        .expect("read")
        .is_empty());
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_exits_1() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!(
        "sqlite://{}/missing-dir/portcullis.db",
        dir.path().display()
    );
    let run = portcullis(&url, &["user", "unlock", "--login", "admin"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("cannot open the database"),
        "{}",
        run.stderr
    );
}

/// `v` without the keys in `drop`, at any depth: what legitimately differs between two
/// records created alike (ids, names, secrets, times).
fn without(v: &Value, drop: &[&str]) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without(v, drop)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| without(v, drop)).collect()),
        other => other.clone(),
    }
}

/// The API's answer to GET `path` as the administrator.
async fn get(app: &TestApp, path: &str) -> Value {
    let r = app.send_as_admin(Method::GET, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()
}

/// The API's answer to POST `path` as the administrator: the new record's id.
async fn post(app: &TestApp, path: &str, body: Value) -> i64 {
    let r = app.send_json_as_admin(Method::POST, path, &body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.text);
    r.json()["id"].as_i64().expect("id")
}

/// Names of a tenant's roles, in order.
async fn role_names(app: &TestApp, tenant: i64) -> Vec<String> {
    let roles = app.state.ctx.store.roles(tenant).await.expect("roles");
    roles.into_iter().map(|r| r.name).collect()
}

/// One rule in one place: a tenant, a user and a client created with the admin
/// commands' defaults read back through the API exactly like those created with the
/// API's defaults (imported roles, allowed scopes, statuses, grant types, scopes,
/// public flag…), field by field, ignoring ids, names, secrets and times.
async fn a_user_created_by_the_cli_has_the_profile_given(b: Backend) {
    let db = database(b).await;
    let out = portcullis(
        &db.url,
        &[
            "user",
            "create",
            "--login",
            "dana",
            "--display-name",
            "Dana Ó Sé",
            "--given-name",
            "Dana",
            "--family-name",
            "Ó Sé",
            "--email",
            "dana@example.com",
            "--email-verified",
            "--locale",
            "ga-IE",
        ],
    )
    .await
    .ok();
    assert_eq!(out["displayName"], "Dana Ó Sé");
    assert_eq!(out["givenName"], "Dana");
    assert_eq!(out["familyName"], "Ó Sé");
    assert_eq!(out["email"], "dana@example.com");
    assert_eq!(out["emailVerified"], true);
    assert_eq!(out["locale"], "ga-IE");
    let plain = portcullis(&db.url, &["user", "create", "--login", "erin"])
        .await
        .ok();
    for k in ["displayName", "email", "emailVerified", "locale"] {
        assert!(plain.get(k).is_none(), "{k} in {plain}");
    }
    let id = out["id"].as_i64().expect("id");

    // set-profile changes the fields named, clears those --clear names, keeps the rest;
    // a new address is unverified unless --email-verified comes with it.
    let changed = portcullis(
        &db.url,
        &[
            "user",
            "set-profile",
            "--login",
            "dana",
            "--email",
            "dana@example.org",
            "--clear",
            "given-name",
            "--clear",
            "locale",
        ],
    )
    .await
    .ok();
    assert_eq!(changed["id"], id);
    assert_eq!(changed["displayName"], "Dana Ó Sé");
    assert_eq!(changed["email"], "dana@example.org");
    assert_eq!(changed["emailVerified"], false);
    assert!(changed.get("givenName").is_none() && changed.get("locale").is_none());
    let out = portcullis(
        &db.url,
        &[
            "user",
            "set-profile",
            "--login",
            "dana",
            "--email-verified",
            "--locale",
            "ga-IE",
            "--given-name",
            "Dana",
        ],
    )
    .await
    .ok();
    assert_eq!(out["emailVerified"], true);
    assert_eq!(out["email"], "dana@example.org");

    // The API shows what the CLI stored.
    let app = serve(db).await;
    let got = get(&app, &format!("/api/admin/users/{id}")).await;
    for k in [
        "displayName",
        "givenName",
        "familyName",
        "email",
        "emailVerified",
        "locale",
    ] {
        assert_eq!(got[k], out[k], "{k}");
    }
}

async fn the_cli_and_the_api_create_identical_tenants_users_and_clients(b: Backend) {
    let db = database(b).await;
    let tenant = portcullis(&db.url, &["tenant", "create", "by-cli"])
        .await
        .ok();
    let user = portcullis(&db.url, &["user", "create", "--login", "cli-user"])
        .await
        .ok();
    let client = portcullis(
        &db.url,
        &[
            "client",
            "register",
            "--owner",
            "admin",
            "--name",
            "By CLI",
            "--redirect-url",
            "https://app.example/cb",
        ],
    )
    .await
    .ok();
    let id = |v: &Value| v["id"].as_i64().expect("id");
    let (cli_tenant, cli_user, cli_client) = (id(&tenant), id(&user), id(&client));

    let app = serve(db).await;
    let api_tenant = post(
        &app,
        "/api/admin/tenants",
        serde_json::json!({"name": "by-api", "parentTenant": 1}),
    )
    .await;
    let api_user = post(
        &app,
        "/api/admin/users",
        serde_json::json!({
            "userName": "api-user",
            "statusInfo": {"status": 1},
            "passwordInfo": {"password": "Correct-Horse-Battery-1"},
            // The role the CLI gives when none is named: the tenant's "User".
            "permissions": {"roles": [portcullis_core::model::identity::ROLE_USER], "permissions": []}
        }),
    )
    .await;
    let api_client = post(
        &app,
        APPS,
        serde_json::json!({"name": "By API", "redirectUrls": ["https://app.example/cb"]}),
    )
    .await;

    // Tenants: role ids and admins are per tenant; compare the roles by name, and the
    // admins by rule (the API's creator gets admin access; the operator is no user).
    let ignore = ["id", "name", "roles", "admins", "createdAt", "modifiedAt"];
    let cli = get(&app, &format!("/api/admin/tenants/{cli_tenant}")).await;
    let api = get(&app, &format!("/api/admin/tenants/{api_tenant}")).await;
    assert_eq!(without(&cli, &ignore), without(&api, &ignore), "tenants");
    for field in ["status", "allowedScopes", "hostNames", "parentTenant"] {
        assert!(cli.get(field).is_some(), "{field} compared: {cli}");
    }
    assert_eq!(
        role_names(&app, cli_tenant).await,
        role_names(&app, api_tenant).await
    );
    assert_eq!(
        role_names(&app, cli_tenant).await,
        ["User", "Tenant Administrator"]
    );
    assert_eq!(cli["admins"], serde_json::json!([]));
    assert_eq!(api["admins"], serde_json::json!([1]));

    let ignore = [
        "id",
        "userName",
        "authUserName",
        "createdAt",
        "modifiedAt",
        "lastLogin",
    ];
    let cli = get(&app, &format!("/api/admin/users/{cli_user}")).await;
    let api = get(&app, &format!("/api/admin/users/{api_user}")).await;
    assert_eq!(without(&cli, &ignore), without(&api, &ignore), "users");
    for field in ["statusInfo", "passwordInfo", "permissions", "tenantId"] {
        assert!(cli.get(field).is_some(), "{field} compared: {cli}");
    }

    let ignore = ["id", "name", "clientId", "createdAt", "modifiedAt"];
    let cli = get(&app, &format!("{APPS}/{cli_client}")).await;
    let api = get(&app, &format!("{APPS}/{api_client}")).await;
    assert_eq!(without(&cli, &ignore), without(&api, &ignore), "clients");
    for field in ["grantTypes", "scopes", "public", "redirectUrls"] {
        assert!(cli.get(field).is_some(), "{field} compared: {cli}");
    }
}

async fn initial_access_tokens_are_issued_listed_and_deleted_from_the_cli(b: Backend) {
    let db = database(b).await;
    let url = db.url.clone();
    let closed = portcullis(&url, &["tenant", "initial-access-token", "create", "1"]).await;
    assert_ne!(closed.code, Some(0));
    assert!(closed.stderr.contains("closed"), "{}", closed.stderr);
    let app = serve(db).await;
    let r = app
        .send_json_as_admin(
            Method::PUT,
            "/api/admin/tenants/1",
            &serde_json::json!({"name": "system", "status": 1,
                "clientRegistration": {"policy": "initial_access_token"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let made = portcullis(
        &url,
        &[
            "tenant",
            "initial-access-token",
            "create",
            "1",
            "--uses",
            "2",
            "--no-expiry",
        ],
    )
    .await
    .ok();
    assert_eq!(made["usesLeft"], 2);
    assert_eq!(made["expiresAt"], Value::Null);
    let token = made["token"].as_str().expect("token");
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/register"))
                .bearer_auth(token)
                .json(
                    &serde_json::json!({"redirect_uris": ["http://127.0.0.1:9/cb"],
                    "token_endpoint_auth_method": "none"}),
                ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let listed = portcullis(&url, &["tenant", "initial-access-token", "list", "1"])
        .await
        .ok();
    assert_eq!(listed["initialAccessTokens"][0]["used"], 1);
    assert!(listed["initialAccessTokens"][0].get("token").is_none());
    let id = made["id"].as_i64().expect("id").to_string();
    portcullis(
        &url,
        &["tenant", "initial-access-token", "delete", "1", &id],
    )
    .await
    .ok();
    let gone = portcullis(
        &url,
        &["tenant", "initial-access-token", "delete", "1", &id],
    )
    .await;
    assert_ne!(gone.code, Some(0));
}

backends!(
    the_cli_and_the_api_create_identical_tenants_users_and_clients,
    a_tenant_created_by_the_cli_is_in_the_store,
    a_user_created_by_the_cli_signs_in_over_http,
    a_user_created_by_the_cli_has_the_profile_given,
    set_password_changes_the_password,
    unlock_clears_a_lock,
    client_register_prints_a_secret_that_verifies,
    bad_input_exits_2_with_a_message,
    initial_access_tokens_are_issued_listed_and_deleted_from_the_cli,
);
