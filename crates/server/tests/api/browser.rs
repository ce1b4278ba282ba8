//! The authorization code flow in a real headless Chromium (issue 5, SPEC §2), driven
//! over WebDriver (`fantoccini` talking to Debian's `chromedriver`): the error page,
//! the login page (and a failed sign-in), the consent page, Allow, the redirect to the
//! client, the code exchange, a second authorization that skips consent, and the
//! revocation of the consent through `allowedapplications` ending the tokens.
//!
//! The client's redirect URI is a real HTTP listener in the test. Screenshots of every
//! page (desktop and phone width) are saved to `target/screenshots/` for review.
//! The test is `#[ignore]`d (a plain `cargo test` reports it as ignored, with the
//! reason); `scripts/test` installs Chromium and chromedriver and runs it. Run without
//! them, it fails: it cannot pass by skipping.

use crate::authorize::{active, create_alice, query_of, register, ALICE, ALICE_PASSWORD, VERIFIER};
use crate::helpers::{spawn_app, Backend, TestApp};
use fantoccini::{Client as WebDriver, ClientBuilder, Locator};
use portcullis_core::crypto::pkce::s256;
use reqwest::Method;
use serde_json::json;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// A `chromedriver` child process, killed when dropped. Chromium's profile and its
/// temporary files (`TMPDIR` of the driver and the browser) live in `_scratch`, which
/// is removed after the processes are gone: a browser killed mid-shutdown leaves
/// nothing behind (scripts/test fails on leftovers).
struct Driver {
    child: Child,
    port: u16,
    _scratch: tempfile::TempDir,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group: end Chromium with it, even when
        // the test panicked before closing the WebDriver session. By system call, not
        // procps `kill`: version 4.0.2 turns `kill -KILL -12345` into kill(-1, SIGKILL)
        // (it keeps the group's first digit), which kills every process the user may
        // signal, the test runner and its shell included.
        if let Some(group) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver; fails, saying why, when the browser is missing.
async fn start_driver() -> Driver {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "{CHROMEDRIVER} or {CHROMIUM} is missing (Debian packages chromium and chromium-driver; scripts/test installs them)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let scratch = tempfile::tempdir().expect("scratch dir");
    let profile = scratch.path().join("profile");
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .env("TMPDIR", &tmp)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        port,
        _scratch: scratch,
        profile,
    };
    let status = format!("http://127.0.0.1:{port}/status");
    for _ in 0..100 {
        if reqwest::get(&status)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

async fn browser(driver: &Driver) -> WebDriver {
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--hide-scrollbars".to_owned(),
        format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        format!("--user-data-dir={}", driver.profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    // Plain HTTP to the local chromedriver: no TLS stack needed.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("WebDriver session")
}

/// The client application's redirect target: a real listener recording each query.
async fn callback_listener() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::extract::RawQuery;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().route(
        "/callback",
        axum::routing::get(move |RawQuery(q): RawQuery| {
            let record = record.clone();
            async move {
                record.lock().expect("lock").push(q.unwrap_or_default());
                axum::response::Html(
                    "<!DOCTYPE html><title>Reports</title><h1>Back in Quarterly Reports</h1>",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr().expect("addr").port()
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, seen)
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn shoot(web: &WebDriver, backend: Backend, name: &str) {
    let png = web.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let file = screenshot_dir().join(format!(
        "{}-{name}.png",
        format!("{backend:?}").to_lowercase()
    ));
    std::fs::write(&file, png).expect("write screenshot");
}

/// Desktop and phone-width screenshots of the current page.
async fn shoot_both(web: &WebDriver, backend: Backend, name: &str) {
    shoot(web, backend, name).await;
    web.set_window_size(PHONE.0, PHONE.1)
        .await
        .expect("phone size");
    shoot(web, backend, &format!("{name}-phone")).await;
    web.set_window_size(DESKTOP.0, DESKTOP.1)
        .await
        .expect("desktop size");
}

async fn text(web: &WebDriver, css: &str) -> String {
    web.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Waits until an element matching `css` contains `needle` (a click's navigation may
/// still be under way, leaving the old page's elements stale); returns its text.
async fn wait_for_text(web: &WebDriver, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = web.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if t.contains(needle) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {css} containing {needle:?}; last seen {last:?}");
}

async fn type_into(web: &WebDriver, css: &str, value: &str) {
    let field = web.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(web: &WebDriver, css: &str) {
    web.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Waits until the browser is at a URL starting with `prefix`; returns it.
async fn wait_for_url(web: &WebDriver, prefix: &str) -> String {
    for _ in 0..100 {
        let url = web.current_url().await.expect("url").to_string();
        if url.starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = web.current_url().await.expect("url");
    panic!("expected {prefix}…, browser is at {url}");
}

async fn exchange(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    code: &str,
    redirect: &str,
) -> serde_json::Value {
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(client_id, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect),
                    ("code_verifier", VERIFIER),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn a_real_browser_signs_in_consents_and_the_consent_is_revoked(b: Backend) {
    let driver = start_driver().await;
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let (callback, seen) = callback_listener().await;
    let client = register(&app, &[&callback], json!({})).await;
    let secret = client.secret.clone().expect("secret");
    let web = browser(&driver).await;
    let result = async {
        // An unknown client: an error page, no redirect.
        web.goto(&app.url("/oauth2/authorize?response_type=code&client_id=nobody"))
            .await
            .expect("goto");
        assert_eq!(text(&web, "h1").await, "Unknown application");
        shoot(&web, b, "error").await;

        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", &callback)
            .append_pair("scope", "api.access.odata")
            .append_pair("state", "browser-state-1")
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        let authorize = app.url(&format!("/oauth2/authorize?{}", q.finish()));

        // The login page; a wrong password first.
        web.goto(&authorize).await.expect("goto");
        assert_eq!(text(&web, "h1").await, "Sign in");
        assert!(text(&web, ".lead").await.contains("Quarterly Reports"));
        shoot_both(&web, b, "login").await;
        type_into(&web, "#username", ALICE).await;
        type_into(&web, "#password", "not-the-password").await;
        click(&web, "button[type=submit]").await;
        wait_for_text(&web, ".error", "wrong").await;
        shoot(&web, b, "login-error").await;

        // Signed in: the consent page.
        type_into(&web, "#password", ALICE_PASSWORD).await;
        click(&web, "button[type=submit]").await;
        wait_for_text(&web, "h1", "Quarterly Reports wants access").await;
        assert!(text(&web, ".scopes")
            .await
            .contains("Allow data access via OData"));
        assert!(text(&web, ".description")
            .await
            .contains("quarterly sales reports"));
        shoot_both(&web, b, "consent").await;

        // Allow: back at the client with a code and the state.
        click(&web, "button[value=allow]").await;
        let url = wait_for_url(&web, &callback).await;
        let query = query_of(&url);
        assert_eq!(query["state"], "browser-state-1");
        let code = query["code"].clone();
        assert_eq!(
            seen.lock()
                .expect("lock")
                .last()
                .map(|q| query_of(&format!("?{q}"))["code"].clone()),
            Some(code.clone()),
            "the client's listener received the code"
        );
        shoot(&web, b, "callback").await;
        let tokens = exchange(&app, &client.client_id, &secret, &code, &callback).await;
        let access = tokens["access_token"].as_str().expect("access").to_owned();
        let refresh = tokens["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        assert!(active(&app, &client, &access).await);

        // A second authorization skips the consent page.
        web.goto(&authorize).await.expect("goto");
        let url = wait_for_url(&web, &callback).await;
        let code2 = query_of(&url)["code"].clone();
        assert_ne!(code2, code);
        let tokens2 = exchange(&app, &client.client_id, &secret, &code2, &callback).await;
        let access2 = tokens2["access_token"].as_str().expect("access").to_owned();

        // Withdrawing the consent (HDP's allowedapplications) ends every token.
        let r = app
            .send_as(
                Method::DELETE,
                &format!("/api/mgmt/oauth/client/allowedapplications/{}", client.id),
                ALICE,
                ALICE_PASSWORD,
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        for t in [&access, &refresh, &access2] {
            assert!(!active(&app, &client, t).await, "revoked with the consent");
        }
        // And the next authorization asks again.
        web.goto(&authorize).await.expect("goto");
        wait_for_text(&web, "h1", "wants access").await;
    }
    .await;
    web.close().await.expect("close browser");
    result
}

// As `backends!`, with the browser's reason to be ignored (an attribute needs a literal,
// so the macro cannot add it): ignored under a plain `cargo test`, run by `scripts/test`.
mod sqlite {
    #[ignore = "needs Chromium and chromedriver: run scripts/test (it installs them)"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_real_browser_signs_in_consents_and_the_consent_is_revoked() {
        super::a_real_browser_signs_in_consents_and_the_consent_is_revoked(super::Backend::Sqlite)
            .await
    }
}

mod postgres {
    #[ignore = "needs Chromium, chromedriver and PostgreSQL: run scripts/test (it installs and starts them)"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_real_browser_signs_in_consents_and_the_consent_is_revoked() {
        super::a_real_browser_signs_in_consents_and_the_consent_is_revoked(super::Backend::Postgres)
            .await
    }
}
