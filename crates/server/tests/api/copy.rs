//! `portcullis copy --from sqlite://… --to postgres://…` with the real binary (issue 16
//! item 5): an installation built through the HTTP API of a real server on SQLite —
//! a user, a confidential and a public client, access and refresh tokens, a revoked
//! token, a vault profile holding tokens of a second Portcullis (the upstream) — is
//! copied into a fresh PostgreSQL database, and two nodes started on it serve it: the
//! same clients, the user signs in, the access token issued before the move is active
//! on both, the refresh token works once, the revoked token stays revoked, the vault
//! profile's sealed tokens open (and the upstream still accepts them), and new rows get
//! new ids (sequences advanced).
//!
//! The master key comes from `PORTCULLIS_MASTER_KEY` or, as a SQLite installation
//! without it keeps it, the key file beside the database (the successful copy uses the
//! file). The refusals, each checked by its message and by the target being unchanged:
//! the wrong master key, a missing key file, a non-empty target, an unreachable target,
//! a missing source, a file that is not SQLite, a source that is not a Portcullis
//! database, one of another schema version or with other columns (refused after the
//! migrations ran in the copy's transaction: none is left), a running server on the
//! source.
//!
//! Needs both databases, so it runs once (on the PostgreSQL run of `scripts/test`).

use crate::cli::{run_binary, Run};
use crate::crash::{listed, register, start_with, Server};
use crate::helpers::{fresh_database, spawn_app, test_config, Backend, ADMIN_PASSWORD};
use crate::support::oauth::{self, tokens_for, userinfo, ALICE, ALICE_PASSWORD, USERS};
use portcullis_core::model::identity::ROLE_USER;
use serde_json::{json, Value};

const BOB: &str = "bob";
const BOB_PASSWORD: &str = "Can-We-Fix-It-77";
const OTHER_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

/// `portcullis copy --from FROM --to TO` with the master key `key` in
/// `PORTCULLIS_MASTER_KEY` (an empty `key`: none, so the key file beside the source).
async fn copy(from: &str, to: &str, key: &str) -> Run {
    let env: Vec<(&str, String)> = if key.is_empty() {
        Vec::new()
    } else {
        vec![("PORTCULLIS_MASTER_KEY", key.to_owned())]
    };
    run_binary(&env, &["copy", "--from", from, "--to", to], None).await
}

/// The issuer every node of the installation has, before and after the move (tokens
/// name it; a node without `public_url` would name its own address).
const PUBLIC_URL: &str = "http://login.portcullis.test";

/// Starts `portcullis` on `url` with [`PUBLIC_URL`] and the test master key.
async fn start(url: &str, cwd: &std::path::Path) -> Server {
    start_with(url, cwd, &["--public-url", PUBLIC_URL]).await
}

/// Asserts a runtime failure (exit 1, nothing on stdout); returns stderr.
#[track_caller]
fn runtime_failure(run: &Run) -> &str {
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    &run.stderr
}

/// Every table of the PostgreSQL database at `url` with its row count: what "the
/// target is unchanged" is checked against.
async fn pg_tables(url: &str) -> Vec<(String, i64)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut out = Vec::new();
    for n in names {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{n}\""))
            .fetch_one(&mut conn)
            .await
            .expect("count");
        out.push((n, count));
    }
    sqlx::Connection::close(conn).await.expect("close");
    out
}

/// One connection to the SQLite database at `url`: closing it (unlike a pool's
/// close) returns once SQLite has closed the file, so the copy's in-use check that
/// follows does not see it.
async fn sqlite(url: &str) -> Result<sqlx::SqliteConnection, sqlx::Error> {
    use sqlx::Connection as _;
    sqlx::SqliteConnection::connect(url).await
}

/// The tables of the SQLite database at `url`, but sqlx's.
async fn sqlite_tables(url: &str) -> Vec<String> {
    let mut conn = sqlite(url).await.expect("open");
    let names = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    sqlx::Connection::close(conn).await.expect("close");
    names
}

/// A form post to `path` of `base` as the client (`client_id`, `secret`).
async fn client_post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    client: &(String, String),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = http
        .post(format!("{base}{path}"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn active(http: &reqwest::Client, base: &str, c: &(String, String), token: &str) -> bool {
    let (status, v) = client_post(http, base, oauth::INTROSPECT, c, &[("token", token)]).await;
    assert_eq!(status, 200, "{v}");
    v["active"].as_bool().expect("active")
}

/// A JSON request as `login`; (status, body).
async fn json_as(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    login: &str,
    password: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).basic_auth(login, Some(password));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The user names the administrator lists.
async fn user_names(http: &reqwest::Client, base: &str) -> Vec<String> {
    let (status, v) = json_as(
        http,
        reqwest::Method::GET,
        format!("{base}{USERS}"),
        "admin",
        ADMIN_PASSWORD,
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let list = v
        .as_array()
        .or_else(|| v["users"].as_array())
        .unwrap_or_else(|| panic!("a list: {v}"));
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|u| u["userName"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn pair(v: &Value) -> (String, String) {
    (
        v["clientId"].as_str().expect("clientId").to_owned(),
        v["clientSecret"].as_str().expect("clientSecret").to_owned(),
    )
}

async fn copy_moves_a_whole_installation_to_postgresql(_: Backend) {
    let key = test_config("sqlite://x")
        .master_key
        .expect("test master key");
    let http = reqwest::Client::new();

    // The upstream of the vault: a second Portcullis, Alice's tokens from it.
    let upstream = spawn_app(Backend::Sqlite).await;
    oauth::alice(&upstream).await;
    let up_client = oauth::register(
        &upstream,
        "admin",
        ADMIN_PASSWORD,
        "Vault",
        json!({"redirectUrls": ["https://vault.example/oauth2callback"]}),
    )
    .await;
    let (up_access, up_refresh) = tokens_for(&upstream, &up_client, ALICE, ALICE_PASSWORD).await;

    // The installation, built through the HTTP API of the real binary on SQLite.
    let dir = tempfile::tempdir().expect("dir");
    let source = fresh_database(Backend::Sqlite, &dir).await;
    let server = start(source.as_str(), dir.path()).await;
    let base = server.base.clone();
    let (status, v) = json_as(
        &http,
        reqwest::Method::PUT,
        format!("{base}/api/admin/limits/system/1003"),
        "admin",
        ADMIN_PASSWORD,
        Some(json!({"value": 1})),
    )
    .await;
    assert_eq!(status, 200, "refresh rotation on: {v}");
    let (status, v) = json_as(
        &http,
        reqwest::Method::POST,
        format!("{base}{USERS}"),
        "admin",
        ADMIN_PASSWORD,
        Some(json!({
            "userName": BOB,
            "statusInfo": {"status": 1},
            "passwordInfo": {"password": BOB_PASSWORD},
            "permissions": {"roles": [ROLE_USER], "permissions": []}
        })),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let confidential = pair(
        &register(&http, &base, "Confidential")
            .await
            .expect("client"),
    );
    let (status, public) = json_as(
        &http,
        reqwest::Method::POST,
        format!("{base}{}", oauth::APPS),
        "admin",
        ADMIN_PASSWORD,
        Some(json!({"name": "Public", "redirectUrls": ["https://app.example/cb"], "public": true})),
    )
    .await;
    assert_eq!(status, 201, "{public}");
    let grant = [
        ("grant_type", "password"),
        ("username", BOB),
        ("password", BOB_PASSWORD),
    ];
    let (status, tokens) = client_post(&http, &base, oauth::TOKEN, &confidential, &grant).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, revoked) = client_post(&http, &base, oauth::TOKEN, &confidential, &grant).await;
    assert_eq!(status, 200, "{revoked}");
    let revoked = revoked["access_token"].as_str().expect("access").to_owned();
    let (status, _) = client_post(
        &http,
        &base,
        oauth::REVOKE,
        &confidential,
        &[("token", &revoked)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(!active(&http, &base, &confidential, &revoked).await);
    // The vault: an application for the upstream, Bob's profile with Alice's tokens.
    let (status, v) = json_as(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/mgmt/oauthapps"),
        "admin",
        ADMIN_PASSWORD,
        Some(json!({
            "name": "Upstream", "dataStore": 63,
            "clientId": up_client.client_id, "clientSecret": up_client.secret,
            "authorizeURI": upstream.url("/oauth2/authorize"),
            "tokenURI": upstream.url("/oauth2/token"), "scope": "api.access.odata"
        })),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = json_as(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/mgmt/oauthprofiles"),
        BOB,
        BOB_PASSWORD,
        Some(json!({
            "name": "Bobs_upstream", "oauthAppId": v["id"],
            "accessToken": up_access, "refreshToken": up_refresh
        })),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let profile = v["id"].as_i64().expect("profile id");
    let clients = listed(&http, &base).await;
    let users = user_names(&http, &base).await;
    assert!(users.contains(&BOB.to_owned()), "{users:?}");

    // A running server on the source is refused.
    let pg_dir = tempfile::tempdir().expect("dir");
    let target = fresh_database(Backend::Postgres, &pg_dir).await;
    let busy = copy(source.as_str(), target.as_str(), &key).await;
    assert!(busy.bad_input().contains("in use"), "{busy:?}");
    drop(server);

    // The wrong master key: refused before anything is written.
    let wrong = copy(source.as_str(), target.as_str(), OTHER_KEY).await;
    assert!(
        wrong
            .bad_input()
            .contains("the master key does not open this installation's sealed values"),
        "{wrong:?}"
    );
    assert!(
        pg_tables(target.as_str()).await.is_empty(),
        "nothing written"
    );
    // Unreachable target, missing source, a source that is not Portcullis'.
    let unreachable = copy(source.as_str(), "postgres://nobody@127.0.0.1:1/none", &key).await;
    assert!(
        runtime_failure(&unreachable).contains("cannot connect to the target database"),
        "{unreachable:?}"
    );
    let missing = format!("sqlite://{}", dir.path().join("nowhere.db").display());
    let missing = copy(&missing, target.as_str(), &key).await;
    assert!(
        missing.bad_input().contains("there is no database file"),
        "{missing:?}"
    );
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "not a database at all").expect("write");
    let text = copy(
        &format!("sqlite://{}", text.display()),
        target.as_str(),
        &key,
    )
    .await;
    assert!(
        text.bad_input().contains("is not a SQLite database"),
        "{text:?}"
    );
    let foreign = dir.path().join("foreign.db");
    let mut conn = sqlite(&format!("sqlite://{}?mode=rwc", foreign.display()))
        .await
        .expect("create");
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        .execute(&mut conn)
        .await
        .expect("create table");
    sqlx::Connection::close(conn).await.expect("close");
    let foreign = copy(
        &format!("sqlite://{}", foreign.display()),
        target.as_str(),
        &key,
    )
    .await;
    assert!(
        foreign.bad_input().contains("not a Portcullis one"),
        "{foreign:?}"
    );
    assert!(pg_tables(target.as_str()).await.is_empty());

    // A source whose schema differs from this version's (a column added by hand) fails
    // after the migrations ran in the transaction: the rollback takes them back too.
    let altered = dir.path().join("altered.db");
    let altered_url = format!("sqlite://{}", altered.display());
    std::fs::copy(source.as_str().trim_start_matches("sqlite://"), &altered).expect("copy");
    let mut conn = sqlite(&altered_url).await.expect("open");
    sqlx::query("ALTER TABLE client_apps ADD COLUMN colour TEXT")
        .execute(&mut conn)
        .await
        .expect("alter");
    sqlx::Connection::close(conn).await.expect("close");
    let differs = copy(&altered_url, target.as_str(), &key).await;
    assert!(
        differs.bad_input().contains("the schemas differ"),
        "{differs:?}"
    );
    assert!(
        pg_tables(target.as_str()).await.is_empty(),
        "no table, no migration left behind"
    );
    // A source of another version than this binary's.
    let mut conn = sqlite(&altered_url).await.expect("open");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    sqlx::Connection::close(conn).await.expect("close");
    let newer = copy(&altered_url, target.as_str(), &key).await;
    assert!(
        newer.bad_input().contains("at schema version 9999"),
        "{newer:?}"
    );

    // The copy: every table of the source, counts and checksums reported.
    // This time the key comes from the key file beside the database, as a SQLite
    // installation without PORTCULLIS_MASTER_KEY keeps it.
    let no_file = copy(source.as_str(), target.as_str(), "").await;
    assert!(
        no_file
            .bad_input()
            .contains("cannot read the master key file"),
        "{no_file:?}"
    );
    std::fs::write(dir.path().join("portcullis.key"), format!("{key}\n")).expect("key file");
    let run = copy(source.as_str(), target.as_str(), "").await;
    assert!(
        run.stderr.contains("sha256"),
        "the report for people: {run:?}"
    );
    let out = run.ok();
    let reported: Vec<String> = out["copied"]["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["table"].as_str().expect("table").to_owned())
        .collect();
    let mut reported_sorted = reported.clone();
    reported_sorted.sort();
    assert_eq!(
        reported_sorted,
        sqlite_tables(source.as_str()).await,
        "{out}"
    );
    let rows = |table: &str| {
        out["copied"]["tables"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["table"] == table))
            .and_then(|t| t["rows"].as_i64())
            .unwrap_or_else(|| panic!("{table} in {out}"))
    };
    // Bob's consent to the confidential client (given by his password grant), both
    // token families, the revocation, the vault profile.
    assert_eq!(rows("consents"), 1, "{out}");
    assert_eq!(rows("token_families"), 2, "{out}");
    assert_eq!(rows("revoked_tokens"), 1, "{out}");
    assert_eq!(rows("oauth_profiles"), 1, "{out}");
    let note = out["masterKey"].as_str().expect("masterKey");
    assert!(
        note.contains("the key file") && note.contains("PORTCULLIS_MASTER_KEY"),
        "{out}"
    );
    assert!(!out.to_string().contains(&key), "the key is never printed");
    let copied = pg_tables(target.as_str()).await;

    // A second copy into the now filled database is refused and changes nothing.
    let again = copy(source.as_str(), target.as_str(), &key).await;
    assert!(again.bad_input().contains("not empty"), "{again:?}");
    assert_eq!(pg_tables(target.as_str()).await, copied);

    // Two nodes on PostgreSQL serve the installation.
    let one = start(target.as_str(), pg_dir.path()).await;
    let two = start(target.as_str(), pg_dir.path()).await;
    for node in [&one.base, &two.base] {
        assert_eq!(listed(&http, node).await, clients, "{node}");
        assert_eq!(user_names(&http, node).await, users, "{node}");
        assert!(active(&http, node, &confidential, &access).await, "{node}");
        assert!(
            !active(&http, node, &confidential, &revoked).await,
            "{node}"
        );
        let (status, v) = client_post(&http, node, oauth::TOKEN, &confidential, &grant).await;
        assert_eq!(status, 200, "Bob signs in on {node}: {v}");
        let (status, v) = json_as(
            &http,
            reqwest::Method::GET,
            format!("{node}/api/mgmt/oauthprofiles/{profile}"),
            BOB,
            BOB_PASSWORD,
            None,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["accessToken"],
            up_access.as_str(),
            "the sealed token opens"
        );
        assert_eq!(v["refreshToken"], up_refresh.as_str());
    }
    assert_eq!(userinfo(&upstream, &up_access).await.status, 200);
    // The refresh token issued before the move works once (rotation is on).
    let refreshed = [("grant_type", "refresh_token"), ("refresh_token", &refresh)];
    let (status, v) = client_post(&http, &one.base, oauth::TOKEN, &confidential, &refreshed).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = client_post(&http, &two.base, oauth::TOKEN, &confidential, &refreshed).await;
    assert_eq!(status, 400, "a second use is refused: {v}");
    assert_eq!(v["error"], "invalid_grant");
    // The public client came along as public.
    let (status, v) = json_as(
        &http,
        reqwest::Method::GET,
        format!("{}{}/{}", two.base, oauth::APPS, public["id"]),
        "admin",
        ADMIN_PASSWORD,
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["public"], true);
    // New rows get new ids: the sequences were advanced past the copied ones.
    let new = register(&http, &two.base, "After the move")
        .await
        .expect("a new client");
    let new_id = new["id"].as_i64().expect("id");
    assert!(
        clients.iter().all(|id| *id < new_id),
        "{new_id} {clients:?}"
    );
    let (status, v) = json_as(
        &http,
        reqwest::Method::POST,
        format!("{}{USERS}", one.base),
        "admin",
        ADMIN_PASSWORD,
        Some(json!({
            "userName": "carol",
            "statusInfo": {"status": 1},
            "passwordInfo": {"password": "Sings-In-Tune-88"},
            "permissions": {"roles": [ROLE_USER], "permissions": []}
        })),
    )
    .await;
    assert_eq!(status, 201, "a new user: {v}");
    drop(one);
    drop(two);
}

mod once {
    crate::helpers::test_on!(
        #[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
        Postgres copy_moves_a_whole_installation_to_postgresql
    );
}
