//! Real OpenID Connect relying parties of other languages against Portcullis (issue 13):
//! npm's `openid-client` (v6, `tests/clients/openid_client.mjs`) and Python's Authlib
//! (`tests/clients/authlib_client.py`), each with its defaults only, through discovery,
//! the login and consent pages, the code exchange and the validation of the ID token.
//!
//! The server runs over HTTPS (openid-client refuses an http issuer by default) with the
//! self-signed certificate of `tls.rs`, which the scripts trust through their
//! environment (`NODE_EXTRA_CA_CERTS`, `REQUESTS_CA_BUNDLE`), not a library option. The
//! setup goes through the HDP APIs only: a tenant, a user with a password and a profile,
//! a confidential application (with a post-logout redirect URI) and a public one,
//! registered by that user. The scripts read their inputs from the environment and
//! print one JSON line, asserted on here.
//!
//! The libraries are installed by `scripts/client-libs` into `tests/clients/`
//! (`scripts/test` runs it), so the tests are `#[ignore]`d under a plain `cargo test`;
//! run without the install, they fail saying so: they cannot pass by skipping. One alone:
//! `scripts/test oidc_clients::sqlite::openid_client`.

use crate::helpers::{fresh_database, spawn_with, test_config, Backend, TestApp};
use crate::tls::{certificate, trusting};
use portcullis_server::config::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const REDIRECT: &str = "https://rp.example/cb";
const POST_LOGOUT: &str = "https://rp.example/bye";
const TENANT: &str = "relying-parties";
const USER: &str = "ruth";
const PASSWORD: &str = "Relying-Party-Pass-7";
const NAME: &str = "Ruth Example";
const EMAIL: &str = "ruth@rp.example";
/// How long one script may take (a few dozen requests; generous for a loaded CI).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// `tests/clients/` at the repository's root.
pub(crate) fn clients_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// The claims the ID token and UserInfo must carry for the user's profile.
fn expected_claims() -> Value {
    json!({"name": NAME, "email": EMAIL, "email_verified": true})
}

/// The server over HTTPS with the user and both applications, and what the scripts
/// are given.
struct Setup {
    app: TestApp,
    ca: PathBuf,
    client_id: String,
    client_secret: String,
    public_client_id: String,
}

impl Setup {
    /// The scripts' inputs (see the scripts' headers).
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OIDC_ISSUER", self.app.base.clone()),
            ("OIDC_CLIENT_ID", self.client_id.clone()),
            ("OIDC_CLIENT_SECRET", self.client_secret.clone()),
            ("OIDC_PUBLIC_CLIENT_ID", self.public_client_id.clone()),
            ("OIDC_REDIRECT_URI", REDIRECT.to_owned()),
            ("OIDC_POST_LOGOUT_REDIRECT_URI", POST_LOGOUT.to_owned()),
            ("OIDC_USERNAME", USER.to_owned()),
            ("OIDC_PASSWORD", PASSWORD.to_owned()),
            ("OIDC_EXPECTED_CLAIMS", expected_claims().to_string()),
            // Straight to the loopback server, whatever proxy the environment names.
            ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
        ]
    }
}

/// `r`'s JSON after asserting its status, with `what` in the failure message.
#[track_caller]
fn answered(r: crate::helpers::Reply, status: u16, what: &str) -> Value {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    r.json()
}

async fn setup(backend: Backend) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, &dir).await;
    let (cert, key, cert_pem) = certificate(&dir);
    let config = Config {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        ..test_config(&url)
    };
    let mut app = spawn_with(config, dir).await;
    assert!(app.base.starts_with("https://"), "{}", app.base);
    app.http = trusting(&cert_pem);

    // A tenant with a copy of the User role only.
    let tenant = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({"name": TENANT, "parentTenant": 1, "status": 1, "importedRoles": [2]}),
        )
        .await;
    let tenant = answered(tenant, 201, "create the tenant");
    let user_role = tenant["roles"][0].as_i64().expect("the tenant's User role");

    // Its user, with a password, then a profile.
    let user = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/users",
            &json!({
                "userName": USER,
                "tenantId": tenant["id"],
                "statusInfo": {"status": 1},
                "passwordInfo": {"password": PASSWORD},
                "permissions": {"roles": [user_role], "permissions": []}
            }),
        )
        .await;
    let user = answered(user, 201, "create the user");
    let path = format!("/api/admin/users/{}", user["id"]);
    let body = json!({
        "userName": USER,
        "statusInfo": {"status": 1},
        "displayName": NAME,
        "email": EMAIL,
        "emailVerified": true
    });
    let updated = app.send_json_as_admin(Method::PUT, &path, &body).await;
    answered(updated, 200, "set the user's profile");

    // Her applications: a confidential one and a public one.
    let login = format!("{USER}@{TENANT}");
    let confidential = app
        .register_as(
            &login,
            PASSWORD,
            json!({
                "name": "Relying Party",
                "redirectUrls": [REDIRECT],
                "grantTypes": ["authorization_code", "refresh_token"],
                "postLogoutRedirectUris": [POST_LOGOUT]
            }),
        )
        .await;
    let public = app
        .register_as(
            &login,
            PASSWORD,
            json!({
                "name": "Relying Party in the browser",
                "redirectUrls": [REDIRECT],
                "grantTypes": ["authorization_code", "refresh_token"],
                "public": true
            }),
        )
        .await;
    assert!(
        public.get("clientSecret").is_none_or(Value::is_null),
        "{public}"
    );
    Setup {
        app,
        ca: cert,
        client_id: confidential["clientId"].as_str().expect("clientId").into(),
        client_secret: confidential["clientSecret"]
            .as_str()
            .expect("clientSecret")
            .into(),
        public_client_id: public["clientId"].as_str().expect("clientId").into(),
    }
}

/// Fails, saying how to install them, when the client libraries are not installed.
pub(crate) fn require_install(path: &Path) {
    assert!(
        path.exists(),
        "{} is missing: run scripts/client-libs (scripts/test runs it) to install the OIDC client libraries",
        path.display()
    );
}

/// Runs `cmd` (a script of `tests/clients/`) with `env` and a time limit; returns the
/// JSON of its last line of output, after asserting it succeeded.
pub(crate) async fn run_script(
    mut cmd: Command,
    env: Vec<(&'static str, String)>,
    what: &str,
) -> Value {
    cmd.current_dir(clients_dir())
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(SCRIPT_TIMEOUT, waiting).await {
        Ok(done) => done.expect("join").expect("wait for the script"),
        Err(_) => {
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            panic!("{what} did not finish within {SCRIPT_TIMEOUT:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let result: Option<Value> = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    match result {
        Some(v) if output.status.success() && v["ok"] == true => v,
        Some(v) => panic!(
            "{what} failed ({}) at {}: {}\nstderr: {stderr}",
            output.status, v["step"], v["error"]
        ),
        None => panic!(
            "{what} failed ({}) without a JSON result\nstdout: {stdout}\nstderr: {stderr}",
            output.status
        ),
    }
}

/// The claims both libraries must have seen in the ID token and in UserInfo.
#[track_caller]
fn assert_identity(claims: &Value, userinfo: &Value, issuer: &str, client_id: &str) {
    assert_eq!(claims["iss"], issuer, "{claims}");
    assert!(
        claims["aud"] == client_id
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.contains(&json!(client_id))),
        "{claims}"
    );
    assert!(
        claims["sub"].as_str().is_some_and(|s| !s.is_empty()),
        "{claims}"
    );
    assert!(claims["auth_time"].is_i64(), "{claims}");
    assert!(claims["at_hash"].is_string(), "{claims}");
    assert!(claims["nonce"].is_string(), "{claims}");
    assert_eq!(userinfo["sub"], claims["sub"], "{userinfo}");
    for (k, v) in expected_claims().as_object().expect("object") {
        assert_eq!(&claims[k], v, "ID token {k}: {claims}");
        assert_eq!(&userinfo[k], v, "UserInfo {k}: {userinfo}");
    }
}

async fn openid_client(b: Backend) {
    let node_modules = clients_dir().join("node_modules/openid-client");
    require_install(&node_modules);
    let s = setup(b).await;
    let mut cmd = Command::new("node");
    cmd.arg("openid_client.mjs")
        .env("NODE_EXTRA_CA_CERTS", &s.ca);
    let v = run_script(
        cmd,
        s.env(),
        "openid-client (tests/clients/openid_client.mjs)",
    )
    .await;
    let base = s.app.base.as_str();

    let c = &v["confidential"];
    assert_eq!(c["pages"], json!(["login", "consent"]), "{v}");
    assert_eq!(
        c["idTokenAlg"], "RS256",
        "the default without idTokenSignedResponseAlg"
    );
    assert_identity(&c["claims"], &c["userinfo"], base, &s.client_id);
    assert_eq!(c["refresh"]["sub"], c["claims"]["sub"], "{v}");
    assert_eq!(c["refresh"]["auth_time"], c["claims"]["auth_time"], "{v}");
    assert_eq!(c["logout"]["loginPageAgain"], true, "{v}");
    assert!(c["logout"]["state"].is_string(), "{v}");

    let p = &v["public"];
    assert_eq!(p["pages"], json!(["login", "consent"]), "{v}");
    assert_identity(&p["claims"], &p["userinfo"], base, &s.public_client_id);
    assert_eq!(
        p["claims"]["sub"], c["claims"]["sub"],
        "a public subject type: the same sub for every client"
    );
}

async fn authlib(b: Backend) {
    let python = clients_dir().join(".venv/bin/python");
    require_install(&python);
    let s = setup(b).await;
    let mut cmd = Command::new(&python);
    cmd.arg("authlib_client.py")
        .env("REQUESTS_CA_BUNDLE", &s.ca);
    let v = run_script(cmd, s.env(), "Authlib (tests/clients/authlib_client.py)").await;
    assert_eq!(v["pages"], json!(["login", "consent"]), "{v}");
    assert_eq!(v["idTokenAlg"], "RS256", "{v}");
    assert_eq!(v["refreshToken"], true, "offline_access was asked for: {v}");
    assert_identity(&v["claims"], &v["userinfo"], &s.app.base, &s.client_id);
}

// As `backends!`, with the reason these are ignored under a plain `cargo test` (an
// attribute needs a literal, so `backends!` cannot add it); `scripts/test` runs them.
mod sqlite {
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs; scripts/test runs it"] Sqlite openid_client);
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs; scripts/test runs it"] Sqlite authlib);
}

mod postgres {
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs and PostgreSQL; scripts/test runs both"] Postgres openid_client);
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs and PostgreSQL; scripts/test runs both"] Postgres authlib);
}
