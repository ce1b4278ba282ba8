//! Client ID Metadata Documents at the authorization endpoint (issue 14, item 2): a
//! `client_id` that is an https URL is fetched from a real HTTPS server on loopback
//! (test CA, `outbound_allow: ["127.0.0.1"]`), checked, and kept as a client of the
//! tenant that accepts documents. The server's documents can be changed by the test,
//! and it counts what it serves, so "fetched again" and "not fetched" are counted. The
//! end-to-end walk with a real client is `mcp.rs`; the fetcher's own guards (redirects,
//! size, timeouts, internal addresses) are `fetch.rs`.

use crate::authorize::assert_page;
use crate::helpers::{
    backends, fresh_database, spawn_with, test_config, unescape_html, Backend, TestApp,
};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use portcullis_core::model::client_app::{ClientApp, RegisteredBy};
use portcullis_server::config::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const REDIRECT: &str = "http://127.0.0.1:7777/cb";

type Served = Arc<Mutex<HashMap<String, (u16, Value)>>>;

/// Documents served at `https://127.0.0.1:<port>/<name>`, changeable, counted.
struct Docs {
    base: String,
    served: Served,
    hits: Arc<AtomicUsize>,
    cert: std::path::PathBuf,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Docs {
    async fn start(dir: &tempfile::TempDir) -> Self {
        let (cert, key, _) = crate::tls::certificate(dir);
        let served: Served = Arc::default();
        let router = Router::new()
            .route(
                "/{name}",
                get(
                    |State(served): State<Served>, Path(name): Path<String>| async move {
                        let found = served.lock().expect("lock").get(&name).cloned();
                        match found {
                            Some((302, _)) => {
                                (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")])
                                    .into_response()
                            }
                            Some((status, doc)) => (
                                StatusCode::from_u16(status).expect("status"),
                                [(header::CACHE_CONTROL, "max-age=600")],
                                axum::Json(doc),
                            )
                                .into_response(),
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    },
                ),
            )
            .with_state(served.clone());
        let (router, hits) = crate::tls::counting(router);
        let (base, shutdown) = crate::tls::serve_https(&cert, &key, router).await;
        Self {
            base,
            served,
            hits,
            cert,
            _shutdown: shutdown,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// Serves `doc` at `name` with `status` (302: a redirect).
    fn serve(&self, name: &str, status: u16, doc: Value) {
        self.served
            .lock()
            .expect("lock")
            .insert(name.to_owned(), (status, doc));
    }

    /// A valid document for `name`, with `extra` fields set over it.
    fn document(&self, name: &str, extra: Value) -> Value {
        let mut doc = json!({
            "client_id": self.url(name),
            "client_name": "Agent",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none"
        });
        if let (Some(d), Value::Object(e)) = (doc.as_object_mut(), extra) {
            d.extend(e);
        }
        doc
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Portcullis allowed (or not) to fetch from 127.0.0.1, trusting the documents'
/// certificate, with a tenant that accepts metadata documents when `accept`.
async fn spawn(b: Backend, docs: &Docs, allow: bool, accept: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let config = Config {
        outbound_allow: if allow {
            vec!["127.0.0.1".into()]
        } else {
            Vec::new()
        },
        outbound_ca_file: Some(docs.cert.clone()),
        fetch_timeout_ms: 2000,
        ..test_config(&url)
    };
    let app = spawn_with(config, dir).await;
    let r = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({
                "name": "agents",
                "parentTenant": 1,
                "status": 1,
                "importedRoles": [2],
                "clientRegistration": {"policy": "closed", "metadataDocuments": accept}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app
}

fn authorize(client_id: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "s1")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    format!("/oauth2/authorize?{}", q.finish())
}

/// The authorization request's answer for `client_id`: the login page (200) or an
/// error page's text.
async fn try_authorize(app: &TestApp, client_id: &str) -> Result<(), String> {
    let r = app.send(app.http.get(app.url(&authorize(client_id)))).await;
    if r.status == 200 {
        assert!(
            r.text.contains("type=\"password\""),
            "the login page: {}",
            r.text
        );
        return Ok(());
    }
    Err(unescape_html(assert_page(&r, r.status)))
}

async fn stored(app: &TestApp, client_id: &str) -> Option<ClientApp> {
    app.state
        .ctx
        .store
        .client_app_by_client_id(client_id)
        .await
        .expect("read")
}

async fn metadata_flag(app: &TestApp) -> Value {
    let r = app
        .send(
            app.http
                .get(app.url("/.well-known/oauth-authorization-server")),
        )
        .await;
    r.json()["client_id_metadata_document_supported"].clone()
}

async fn a_document_client_is_kept_and_brought_up_to_date(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn(b, &docs, true, true).await;
    assert_eq!(metadata_flag(&app).await, json!(true));
    let id = docs.url("agent.json");
    docs.serve("agent.json", 200, docs.document("agent.json", json!({})));

    try_authorize(&app, &id).await.expect("the login page");
    let first = stored(&app, &id).await.expect("kept as a client");
    assert_eq!(first.registered_by, RegisteredBy::MetadataDocument);
    assert_eq!(first.name, "Agent");
    assert!(first.public);
    assert_eq!(first.owner_id, None);
    assert_eq!(docs.hits(), 1);

    // Within the document's max-age: served from the cache, the row unchanged.
    docs.serve(
        "agent.json",
        200,
        docs.document("agent.json", json!({"client_name": "Agent 2"})),
    );
    try_authorize(&app, &id).await.expect("the login page");
    assert_eq!(docs.hits(), 1);
    assert_eq!(stored(&app, &id).await.expect("kept").name, "Agent");

    // After it: fetched again, the change taken, the same client.
    app.clock.advance(601);
    try_authorize(&app, &id).await.expect("the login page");
    assert_eq!(docs.hits(), 2);
    let updated = stored(&app, &id).await.expect("kept");
    assert_eq!((updated.id, updated.name.as_str()), (first.id, "Agent 2"));
}

async fn every_bad_document_is_refused_saying_why_and_not_kept(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    let app = spawn(b, &docs, true, true).await;
    let cases: Vec<(&str, u16, Value, &str)> = vec![
        (
            "other-id",
            200,
            json!({"client_id": "https://elsewhere.example/client"}),
            "not the URL it was fetched from",
        ),
        ("no-id", 200, json!({"client_id": null}), "client_id"),
        (
            "secret",
            200,
            json!({"client_secret": "s3cret"}),
            "must not",
        ),
        (
            "basic",
            200,
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            "shared-secret method",
        ),
        (
            "bad-redirect",
            200,
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "redirect_uris",
        ),
        ("gone", 404, json!({}), "HTTP 404"),
        ("moved", 302, json!({}), "redirect"),
        (
            "big",
            200,
            json!({"logo_uri": format!("https://a.example/{}", "x".repeat(6000))}),
            "larger than",
        ),
    ];
    for (name, status, extra, why) in cases {
        let mut doc = docs.document(name, json!({}));
        if let (Some(d), Value::Object(e)) = (doc.as_object_mut(), extra) {
            for (k, v) in e {
                if v.is_null() {
                    d.remove(&k);
                } else {
                    d.insert(k, v);
                }
            }
        }
        docs.serve(name, status, doc);
        let id = docs.url(name);
        let page = try_authorize(&app, &id)
            .await
            .expect_err(&format!("{name} is refused"));
        assert!(page.contains(why), "{name}: {page}");
        assert!(stored(&app, &id).await.is_none(), "{name} is not kept");
    }

    // An invalid document is not cached: once fixed, it is used at once.
    let hits = docs.hits();
    docs.serve("secret", 200, docs.document("secret", json!({})));
    try_authorize(&app, &docs.url("secret"))
        .await
        .expect("the fixed document is fetched again");
    assert_eq!(docs.hits(), hits + 1);

    // The redirect URI of the request must be one the document lists.
    let r = app
        .send(
            app.http
                .get(app.url(&authorize(&docs.url("secret")).replace("7777", "7778"))),
        )
        .await;
    assert!(assert_page(&r, 400).contains("redirect"), "{}", r.text);

    // A malformed client id URL is refused before anything is fetched.
    let hits = docs.hits();
    let page = try_authorize(&app, &format!("{}/a/../b", docs.base))
        .await
        .expect_err("dot segments");
    assert!(page.contains(". or .."), "{page}");
    assert_eq!(docs.hits(), hits);
}

async fn documents_at_internal_addresses_or_without_an_accepting_tenant_are_refused(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let docs = Docs::start(&dir).await;
    docs.serve("agent.json", 200, docs.document("agent.json", json!({})));
    let id = docs.url("agent.json");

    // 127.0.0.1 without outbound_allow: never connected to.
    let closed = spawn(b, &docs, false, true).await;
    let page = try_authorize(&closed, &id).await.expect_err("loopback");
    assert!(page.contains("outbound_allow"), "{page}");
    assert_eq!(docs.hits(), 0);

    // No tenant accepts documents: not advertised, refused, nothing fetched.
    let none = spawn(b, &docs, true, false).await;
    assert_eq!(metadata_flag(&none).await, Value::Null);
    let page = try_authorize(&none, &id).await.expect_err("no tenant");
    assert!(page.contains("does not accept"), "{page}");
    assert_eq!(docs.hits(), 0);
    assert!(stored(&none, &id).await.is_none());
}

backends!(
    a_document_client_is_kept_and_brought_up_to_date,
    every_bad_document_is_refused_saying_why_and_not_kept,
    documents_at_internal_addresses_or_without_an_accepting_tenant_are_refused
);
