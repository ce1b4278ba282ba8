//! The guarded document fetcher (issue 14, items 2 and 6): what the server fetches
//! for client ID metadata documents and `jwks_uri`, through the app's own cache
//! (`ctx.documents`, the one the use cases call) from a real HTTPS server on loopback
//! with a test CA. The document server counts the requests it answers, so "was not
//! fetched" is counted, not assumed; slow and endless answers never end on their own,
//! so a timeout or a size refusal is the only way the fetch can finish.

use crate::helpers::{backends, fresh_database, spawn_with, test_config, Backend, TestApp};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use portcullis_core::clock::Clock;
use portcullis_core::upstream::fetch::{DocumentKind, FetchError};
use portcullis_server::config::Config;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// A document server on `https://127.0.0.1:<port>` (certificate for 127.0.0.1 and
/// localhost), counting the requests it answers.
struct Docs {
    base: String,
    hits: Arc<AtomicUsize>,
    cert: std::path::PathBuf,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Docs {
    async fn start(dir: &tempfile::TempDir) -> Self {
        let (cert, key, _) = crate::tls::certificate(dir);
        let router = Router::new()
            .route(
                "/client",
                get(|| async {
                    (
                        [(header::CACHE_CONTROL, "public, max-age=600")],
                        axum::Json(json!({"client_id": "https://127.0.0.1/client"})),
                    )
                }),
            )
            .route(
                "/nostore",
                get(|| async {
                    (
                        [(header::CACHE_CONTROL, "no-store")],
                        axum::Json(json!({"keys": []})),
                    )
                }),
            )
            .route(
                "/moved",
                get(|| async {
                    (StatusCode::FOUND, [(header::LOCATION, "/client")]).into_response()
                }),
            )
            .route(
                "/big",
                get(|| async {
                    let padding = "x".repeat(6 * 1024);
                    axum::Json(json!({"padding": padding}))
                }),
            )
            .route(
                "/endless",
                get(|| async {
                    // Chunked, no Content-Length, never ending: only a reader that
                    // stops at its limit gets an answer.
                    let chunk = bytes::Bytes::from(vec![b' '; 1024]);
                    let stream = futures_util::stream::repeat_with(move || {
                        Ok::<_, std::io::Error>(chunk.clone())
                    });
                    Response::new(Body::from_stream(stream))
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    std::future::pending::<()>().await;
                    "never"
                }),
            )
            .route("/text", get(|| async { "this is not JSON" }))
            .route("/array", get(|| async { axum::Json(json!([1, 2])) }))
            .route(
                "/gone",
                get(|| async { (StatusCode::NOT_FOUND, "no such document") }),
            );
        let (router, hits) = crate::tls::counting(router);
        let (base, shutdown) = crate::tls::serve_https(&cert, &key, router).await;
        Self {
            base,
            hits,
            cert,
            _shutdown: shutdown,
        }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).expect("url")
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Portcullis allowed to fetch from 127.0.0.1 (`outbound_allow`), trusting the
/// document server's certificate (`outbound_ca_file`), giving fetches 300 ms.
async fn spawn_fetching(b: Backend, docs: &Docs, allow: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let config = Config {
        outbound_allow: if allow {
            vec!["127.0.0.1".into()]
        } else {
            Vec::new()
        },
        outbound_ca_file: Some(docs.cert.clone()),
        fetch_timeout_ms: 300,
        ..test_config(&url)
    };
    spawn_with(config, dir).await
}

async fn fetch(app: &TestApp, url: &Url, kind: DocumentKind) -> Result<Value, FetchError> {
    app.state
        .ctx
        .documents
        .get(url, kind, app.clock.now())
        .await
        .map(|v| (*v).clone())
}

async fn a_document_is_fetched_and_kept_for_its_max_age(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, true).await;
    let u = docs.url("/client");
    let doc = fetch(&app, &u, DocumentKind::ClientMetadata)
        .await
        .expect("fetched");
    assert_eq!(doc["client_id"], "https://127.0.0.1/client");
    assert_eq!(docs.hits(), 1);

    app.clock.advance(599);
    fetch(&app, &u, DocumentKind::ClientMetadata)
        .await
        .expect("cached");
    assert_eq!(docs.hits(), 1, "within max-age=600 the server is not asked");

    app.clock.advance(1);
    fetch(&app, &u, DocumentKind::ClientMetadata)
        .await
        .expect("fetched again");
    assert_eq!(docs.hits(), 2, "after max-age the server is asked again");

    // no-store: kept for the 5-minute minimum all the same.
    let n = docs.url("/nostore");
    fetch(&app, &n, DocumentKind::Jwks).await.expect("jwks");
    app.clock.advance(299);
    fetch(&app, &n, DocumentKind::Jwks).await.expect("jwks");
    assert_eq!(docs.hits(), 3);
    app.clock.advance(1);
    fetch(&app, &n, DocumentKind::Jwks).await.expect("jwks");
    assert_eq!(docs.hits(), 4);
}

async fn internal_addresses_are_refused_unless_outbound_allow_lists_them(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, false).await;
    let literal = fetch(&app, &docs.url("/client"), DocumentKind::ClientMetadata)
        .await
        .expect_err("loopback address");
    assert!(matches!(literal, FetchError::NotAllowed(_)), "{literal:?}");
    assert!(literal.to_string().contains("outbound_allow"), "{literal}");
    let port = docs.url("/").port().expect("port");
    let named = Url::parse(&format!("https://localhost:{port}/client")).expect("url");
    let by_name = fetch(&app, &named, DocumentKind::ClientMetadata)
        .await
        .expect_err("a name resolving to loopback");
    assert!(matches!(by_name, FetchError::NotAllowed(_)), "{by_name:?}");
    assert!(
        !by_name.to_string().contains("127.0.0.1") && !by_name.to_string().contains("::1"),
        "the resolved address is not told: {by_name}"
    );
    assert_eq!(docs.hits(), 0, "no connection was made");
}

async fn http_urls_and_redirects_are_refused(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, true).await;
    let plain = Url::parse(&docs.base.replace("https://", "http://"))
        .expect("url")
        .join("/client")
        .expect("url");
    let e = fetch(&app, &plain, DocumentKind::ClientMetadata)
        .await
        .expect_err("http");
    assert_eq!(e, FetchError::NotHttps);
    assert!(e.to_string().contains("https"), "{e}");
    assert_eq!(docs.hits(), 0);

    let e = fetch(&app, &docs.url("/moved"), DocumentKind::ClientMetadata)
        .await
        .expect_err("redirect");
    assert_eq!(e, FetchError::Redirect { status: 302 });
    assert!(
        e.to_string().contains("redirect") && e.to_string().contains("302"),
        "{e}"
    );
    assert_eq!(docs.hits(), 1, "the redirect was not followed");
}

async fn documents_over_the_size_limit_are_refused_without_reading_them_whole(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, true).await;
    let e = fetch(&app, &docs.url("/big"), DocumentKind::ClientMetadata)
        .await
        .expect_err("6 KiB metadata document");
    assert_eq!(e, FetchError::TooLarge { limit: 5 * 1024 });
    assert!(e.to_string().contains("5120 bytes"), "{e}");
    fetch(&app, &docs.url("/big"), DocumentKind::Jwks)
        .await
        .expect("6 KiB is within a JWK Set's 64 KiB");
    // An endless body: the fetch ends because reading stops at the limit (the 300 ms
    // timeout would say Timeout instead).
    let e = fetch(&app, &docs.url("/endless"), DocumentKind::Jwks)
        .await
        .expect_err("endless");
    assert_eq!(e, FetchError::TooLarge { limit: 64 * 1024 });
}

async fn a_slow_server_times_out(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, true).await;
    let started = Instant::now();
    // The server never answers: only the fetch timeout can end this.
    let e = fetch(&app, &docs.url("/slow"), DocumentKind::ClientMetadata)
        .await
        .expect_err("slow");
    assert_eq!(e, FetchError::Timeout { millis: 300 });
    assert!(e.to_string().contains("within 300 ms"), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "the 300 ms timeout applied: {:?}",
        started.elapsed()
    );
}

async fn answers_that_are_not_json_objects_or_not_ok_are_refused(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, true).await;
    for path in ["/text", "/array"] {
        let e = fetch(&app, &docs.url(path), DocumentKind::ClientMetadata)
            .await
            .expect_err(path);
        assert_eq!(e, FetchError::NotJson, "{path}");
    }
    let e = fetch(&app, &docs.url("/gone"), DocumentKind::Jwks)
        .await
        .expect_err("404");
    assert_eq!(e, FetchError::Status { status: 404 });
    assert!(!e.to_string().contains("no such document"), "{e}");
    // Failures are not cached: the next attempt asks again.
    fetch(&app, &docs.url("/gone"), DocumentKind::Jwks)
        .await
        .expect_err("404");
    assert_eq!(docs.hits(), 4);
}

async fn each_host_is_fetched_from_at_most_ten_times_a_minute(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn_fetching(b, &docs, true).await;
    for i in 0..10 {
        fetch(
            &app,
            &docs.url(&format!("/client?n={i}")),
            DocumentKind::ClientMetadata,
        )
        .await
        .expect("within the limit");
    }
    let e = fetch(
        &app,
        &docs.url("/client?n=10"),
        DocumentKind::ClientMetadata,
    )
    .await
    .expect_err("over the limit");
    assert!(
        matches!(e, FetchError::RateLimited { ref host, limit: 10, window_secs: 60, .. } if host == "127.0.0.1"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("127.0.0.1") && e.to_string().contains("10"),
        "{e}"
    );
    assert_eq!(docs.hits(), 10, "the refused fetch was not made");
    fetch(&app, &docs.url("/client?n=3"), DocumentKind::ClientMetadata)
        .await
        .expect("a cached document is served regardless");
    app.clock.advance(60);
    fetch(
        &app,
        &docs.url("/client?n=10"),
        DocumentKind::ClientMetadata,
    )
    .await
    .expect("a minute later");
    assert_eq!(docs.hits(), 11);
}

backends!(
    a_document_is_fetched_and_kept_for_its_max_age,
    internal_addresses_are_refused_unless_outbound_allow_lists_them,
    http_urls_and_redirects_are_refused,
    documents_over_the_size_limit_are_refused_without_reading_them_whole,
    a_slow_server_times_out,
    answers_that_are_not_json_objects_or_not_ok_are_refused,
    each_host_is_fetched_from_at_most_ten_times_a_minute,
);
