//! Startup as an operator sees it: the binary with no configuration, the master key
//! file, the initial administrator, several nodes on one database, configuration errors.

use crate::helpers::{backends, fresh_database, spawn_with, test_config, Backend};
use portcullis_server::config::{Config, Overrides};
use portcullis_server::startup::{Application, StartupError};
use reqwest::Method;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const APPS: &str = "/api/mgmt/oauth/client/applications";

#[tokio::test]
async fn the_binary_starts_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("PORTCULLIS_ADMIN_PASSWORD")
        .env_remove("PORTCULLIS_MASTER_KEY")
        .env_remove("PORTCULLIS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn portcullis");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut password = None;
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(p) = line.trim().strip_prefix("password:") {
            password = Some(p.trim().to_owned());
        }
        if let Some(u) = line.strip_prefix("Portcullis listening on ") {
            base = Some(u.trim().to_owned());
            break;
        }
    }
    let base = base.expect("the listening line");
    let password = password.expect("a generated admin password printed once");
    assert!(dir.path().join("portcullis.db").exists());
    let key = dir.path().join("portcullis.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("key file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{base}{APPS}"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .expect("apps");
    assert_eq!(r.status(), 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );

    // A second start on the same database prints no password and keeps the admin's.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["migrate"])
        .current_dir(dir.path())
        .output()
        .expect("migrate");
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password"));
}

#[tokio::test]
async fn bad_configuration_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("portcullis.toml"),
        "listen = \"127.0.0.1:0\"\nlisten_port = 9\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("check-config")
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field") && err.contains("listen_port"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("check-config")
        .current_dir(dir.path())
        .env("PORTCULLIS_CONFIG", dir.path().join("missing.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("check-config")
        .current_dir(dir.path())
        .env("PORTCULLIS_CONFIG", {
            let ok = dir.path().join("ok.toml");
            std::fs::write(&ok, "listen = \"127.0.0.1:0\"\n").expect("write");
            ok
        })
        .env("PORTCULLIS_PREVIOUS_MASTER_KEYS", "[\"not-a-key\"]")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad key is caught before serve"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("previous_master_keys"));
}

#[test]
fn configuration_layers_apply_in_order_and_refuse_unknown_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1111\"\ndatabase_url = \"sqlite://file.db\"\nlog_level = \"debug\"\n",
    )
    .expect("write");
    let env = vec![
        (
            "PORTCULLIS_DATABASE_URL".to_owned(),
            "sqlite://env.db".to_owned(),
        ),
        (
            "PORTCULLIS_PASSWORD_HASH_CONCURRENCY".to_owned(),
            "3".to_owned(),
        ),
        (
            "PORTCULLIS_ADMIN_PASSWORD".to_owned(),
            "12345678".to_owned(),
        ),
        ("UNRELATED".to_owned(), "x".to_owned()),
    ];
    let flags = Overrides {
        listen: Some("127.0.0.1:2222".into()),
        ..Overrides::default()
    };
    let c = Config::load(Some(&file), env.clone(), flags).expect("load");
    assert_eq!(c.listen, "127.0.0.1:2222", "flags beat the file");
    assert_eq!(
        c.database_url, "sqlite://env.db",
        "environment beats the file"
    );
    assert_eq!(c.log_level, "debug", "the file beats defaults");
    assert_eq!(c.password_hash_concurrency, Some(3));
    assert_eq!(
        c.admin_password.as_deref(),
        Some("12345678"),
        "a numeric password stays a string"
    );
    assert!(
        !format!("{c:?}").contains("12345678"),
        "Debug hides secrets"
    );

    let err = Config::load(
        None,
        vec![("PORTCULLIS_LISTN".to_owned(), "x".to_owned())],
        Overrides::default(),
    )
    .expect_err("unknown variable");
    assert!(err.to_string().contains("PORTCULLIS_LISTN"), "{err}");
    let err = Config::load(
        None,
        vec![("PORTCULLIS_LISTEN".to_owned(), "nope".to_owned())],
        Overrides::default(),
    )
    .expect_err("bad address");
    assert!(
        err.to_string().contains("'nope' is not an address:port"),
        "{err}"
    );
    let err = Config::load(
        None,
        vec![("PORTCULLIS_DATABASE_URL".to_owned(), "mysql://x".to_owned())],
        Overrides::default(),
    )
    .expect_err("bad url");
    assert!(err.to_string().contains("neither sqlite"), "{err}");
    let err = Config::load(
        None,
        vec![(
            "PORTCULLIS_AUDIT_SKIP".to_owned(),
            r#"["token_issued", "tokens_issued"]"#.to_owned(),
        )],
        Overrides::default(),
    )
    .expect_err("unknown audit event type");
    assert!(
        err.to_string()
            .contains("'tokens_issued' is not an audit event type")
            && err.to_string().contains("token_issued, token_refused"),
        "{err}"
    );
    let c =
        Config::load(None, Vec::<(String, String)>::new(), Overrides::default()).expect("defaults");
    assert_eq!(
        (c.listen.as_str(), c.database_url.as_str()),
        ("127.0.0.1:8080", "sqlite://portcullis.db")
    );
}

#[tokio::test]
async fn postgres_without_a_master_key_is_refused_before_connecting() {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: "postgres://nobody@127.0.0.1:1/none".into(),
        ..Config::default()
    };
    let err = Application::build(config).await.expect_err("needs a key");
    assert!(matches!(err, StartupError::MasterKeyRequired));
    assert!(err.to_string().contains("PORTCULLIS_MASTER_KEY"));
}

async fn a_different_master_key_cannot_open_the_database(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let first = Application::build(test_config(&url))
        .await
        .expect("first start");
    drop(first);
    let mut config = test_config(&url);
    config.master_key = Some("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=".into());
    let err = Application::build(config).await.expect_err("wrong key");
    assert!(err.to_string().contains("PORTCULLIS_MASTER_KEY"), "{err}");
}

async fn the_initial_administrator_is_created_once(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let mut config = test_config(&url);
    config.admin_password = None;
    let first = Application::build(config.clone())
        .await
        .expect("first start");
    let generated = first
        .generated_admin_password()
        .expect("generated")
        .expose()
        .to_owned();
    drop(first);
    let second = Application::build(config).await.expect("second start");
    assert!(second.generated_admin_password().is_none());
    let app = spawn_with(test_config(&url), dir).await;
    let r = app.send_as(Method::GET, APPS, "admin", &generated).await;
    assert_eq!(r.status, 200, "the generated password works: {}", r.text);
}

async fn two_nodes_on_one_database_behave_as_one_server(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let dir2 = tempfile::tempdir().expect("dir");
    // Started together on an empty database (two tasks behind a barrier, so the
    // starts really overlap): one pepper, one administrator.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let start = |dir: tempfile::TempDir| {
        let (config, barrier) = (test_config(&url), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            spawn_with(config, dir).await
        })
    };
    let (a, b2) = (start(dir), start(dir2));
    let (a, b2) = (a.await.expect("node a"), b2.await.expect("node b"));
    let created = a
        .register_as(
            "admin",
            crate::helpers::ADMIN_PASSWORD,
            serde_json::json!({
                "name": "Shared", "redirectUrls": ["https://x.example/cb"]
            }),
        )
        .await;
    let id = created["id"].as_i64().expect("id");
    let seen = b2.send_as_admin(Method::GET, &format!("{APPS}/{id}")).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.json()["clientId"], created["clientId"]);
    let stored = b2.stored_client_app(id).await;
    assert!(b2.state.ctx.keys.verify(
        created["clientSecret"].as_str().expect("secret"),
        &stored.secret_verifier.expect("v")
    ));
    assert_eq!(a.state.ctx.store.count_users().await.expect("count"), 1);
    // A lock made through one node holds on the other.
    a.create_plain_user("alice", "Alice-Password-1").await;
    for _ in 0..3 {
        a.send_as(Method::GET, APPS, "alice", "wrong").await;
    }
    b2.send_as(Method::GET, APPS, "alice", "Alice-Password-1")
        .await
        .hdp_error(401, 222209003);
}

backends!(
    a_different_master_key_cannot_open_the_database,
    the_initial_administrator_is_created_once,
    two_nodes_on_one_database_behave_as_one_server,
);
