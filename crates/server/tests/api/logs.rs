//! Request ids and the access log: `x-request-id` is echoed when well formed, generated
//! when absent and replaced when malformed; the real binary's log lines (its stderr, in
//! `json` and `text`) carry the request's id, and one access line per request names the
//! route template, method, status and duration — never the raw path or query string.

use crate::helpers::{backends, fresh_database, once, spawn_app, Backend, ADMIN_PASSWORD};
use serde_json::Value;
use std::path::Path;

const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A value that must never reach the log: it travels only in a query string.
const QUERY_SECRET: &str = "SplxlOBeZQQYbYS6WxSbIA";
/// An id in a raw path, which the log names by its route template instead.
const PATH_ID: &str = "918273645";

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

async fn request_id(app: &crate::helpers::TestApp, sent: Option<&str>) -> String {
    let mut req = app.http.get(app.url("/oauth2/jwks"));
    if let Some(id) = sent {
        req = req.header("x-request-id", id);
    }
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: Vec<_> = r.headers.get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "exactly one x-request-id in the response");
    ids[0].to_str().expect("ASCII").to_owned()
}

async fn the_request_id_is_echoed_generated_or_replaced(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(
        request_id(&app, Some("proxy-7f3a.c9:01")).await,
        "proxy-7f3a.c9:01"
    );

    let first = request_id(&app, None).await;
    let second = request_id(&app, None).await;
    assert!(is_uuid(&first), "{first}");
    assert!(is_uuid(&second), "{second}");
    assert_ne!(first, second, "each request gets its own id");

    let too_long = "a".repeat(129);
    for bad in ["two words", "quote\"d", "", too_long.as_str()] {
        let id = request_id(&app, Some(bad)).await;
        assert!(is_uuid(&id), "{bad:?} was replaced by a fresh id, got {id}");
    }
    // Exactly 128 characters is still kept.
    let longest = "b".repeat(128);
    assert_eq!(request_id(&app, Some(&longest)).await, longest);
}

/// A `portcullis` process whose stderr goes to a file, stopped by SIGTERM (also when
/// dropped, so a failing test leaves no server behind).
struct Node {
    child: std::process::Child,
    base: String,
}

impl Node {
    fn start(database_url: &str, format: &str, stderr: &Path) -> Node {
        let log = std::fs::File::create(stderr).expect("the log file");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        for (k, _) in std::env::vars() {
            if k.starts_with("PORTCULLIS_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(["--log-format", format])
            .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // The edge's "request received" line (debug) is a line of the request too.
            .env("RUST_LOG", "info,portcullis_server::http::edge=debug")
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn portcullis");
        let stdout = child.stdout.take().expect("stdout");
        let base = crate::helpers::listening_on(stdout).expect("the server did not start");
        Node { child, base }
    }

    /// SIGTERM and wait: every line is written once this returns.
    fn stop(mut self) {
        let status = self.terminate().expect("stopped");
        assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        crate::helpers::terminate(&mut self.child)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Three requests to a node logging in `format`: a jwks fetch with a proxy's id, a
/// management call with an id in its path and a secret in its query (401), and a path
/// no route matches (404). Returns the log once the node has stopped.
async fn run_requests(b: Backend, format: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let log_path = dir.path().join("stderr.log");
    let node = Node::start(&url, format, &log_path);
    let http = reqwest::Client::new();
    let get = |path: &str, id: &str| {
        http.get(format!("{}{path}", node.base))
            .header("x-request-id", id)
            .send()
    };
    let r = get("/oauth2/jwks", "req-jwks-1").await.expect("jwks");
    assert_eq!(r.status(), 200);
    let r = get(
        &format!("/api/mgmt/oauth/client/applications/{PATH_ID}?code={QUERY_SECRET}"),
        "req-app-2",
    )
    .await
    .expect("app");
    assert_eq!(r.status(), 401);
    let r = get(
        &format!("/no/such/{PATH_ID}?token={QUERY_SECRET}"),
        "req-404-3",
    )
    .await
    .expect("404");
    assert_eq!(r.status(), 404);
    node.stop();
    let log = std::fs::read_to_string(&log_path).expect("the log");
    assert!(
        !log.contains(QUERY_SECRET),
        "a query string was logged:\n{log}"
    );
    assert!(!log.contains(PATH_ID), "a raw path was logged:\n{log}");
    log
}

async fn json_lines_carry_the_request_id_and_one_access_line_per_request(b: Backend) {
    let log = run_requests(b, "json").await;
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let expected = [
        ("req-jwks-1", "/oauth2/jwks", 200),
        ("req-app-2", "/api/mgmt/oauth/client/applications/{id}", 401),
        ("req-404-3", "unmatched", 404),
    ];
    for (id, route, status) in expected {
        let of_request: Vec<&Value> = lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id)
            .collect();
        // The edge's "request received" debug line, and the access line.
        assert!(
            of_request
                .iter()
                .any(|l| l["fields"]["message"] == "request received"),
            "{id}: {of_request:?}\n{log}"
        );
        assert!(of_request.len() >= 2, "{id}: {of_request:?}\n{log}");
        assert!(of_request
            .iter()
            .all(|l| l["span"]["name"] == "http" && l["span"]["route"] == route));
        let access: Vec<&&Value> = of_request
            .iter()
            .filter(|l| l["target"] == "portcullis::access")
            .collect();
        assert_eq!(access.len(), 1, "one access line for {id}: {log}");
        let fields = &access[0]["fields"];
        assert_eq!(fields["route"], route, "{fields}");
        assert_eq!(fields["method"], "GET", "{fields}");
        assert_eq!(fields["status"], status, "{fields}");
        let ms = fields["duration_ms"]
            .as_f64()
            .expect("duration_ms a number");
        assert!(ms >= 0.0, "{fields}");
    }
    // Every line logged inside a request's span carries an id.
    for l in &lines {
        if l["span"]["name"] == "http" {
            assert!(
                l["span"]["request_id"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{l}"
            );
        }
    }
}

async fn text_access_lines_carry_the_request_id_and_route(b: Backend) {
    let log = run_requests(b, "text").await;
    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("portcullis::access"))
        .collect();
    assert_eq!(access.len(), 3, "{log}");
    let app = access
        .iter()
        .find(|l| l.contains("request_id=req-app-2"))
        .unwrap_or_else(|| panic!("no access line for req-app-2:\n{log}"));
    for part in [
        "route=/api/mgmt/oauth/client/applications/{id}",
        "method=GET",
        "status=401",
        "duration_ms=",
    ] {
        assert!(app.contains(part), "{part} missing from {app}");
    }
}

backends!(
    the_request_id_is_echoed_generated_or_replaced,
    json_lines_carry_the_request_id_and_one_access_line_per_request,
);
once!(text_access_lines_carry_the_request_id_and_route);
