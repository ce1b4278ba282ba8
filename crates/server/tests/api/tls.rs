//! HTTPS with rustls (SPEC §5.4): the server speaks TLS from PEM files, the issuer and
//! the sign-in cookies follow (https issuer, `__Host-` Secure cookies), plain HTTP on the
//! TLS port gets nowhere, and bad certificate settings stop start-up with a clear error.

use crate::authorize::register;
use crate::helpers::{fresh_database, once, spawn_with, test_config, Backend};
use portcullis_server::config::{Config, Overrides};
use portcullis_server::startup::Application;
use serde_json::json;
use std::path::PathBuf;

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
pub fn certificate(dir: &tempfile::TempDir) -> (PathBuf, PathBuf, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert_pem = cert.cert.pem();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).expect("write cert");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write key");
    (cert_path, key_path, cert_pem)
}

pub fn trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn serves_https(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, &dir).await;
    let (cert, key, cert_pem) = certificate(&dir);
    let config = Config {
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..test_config(&url)
    };
    let mut app = spawn_with(config, dir).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    app.http = trusting(&cert_pem);

    let r = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The issuer is the https origin, in the metadata and in the tokens.
    let meta = app
        .send(
            app.http
                .get(app.url("/.well-known/oauth-authorization-server")),
        )
        .await
        .json();
    assert_eq!(meta["issuer"], app.base.as_str());
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth2/token", app.base).as_str()
    );

    // Management and the token endpoint work over TLS, with the client's address seen
    // (the per-address limiter needs it).
    let client = register(&app, &["https://app.example/cb"], json!({})).await;
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(&client.client_id, client.secret.as_deref())
                .form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", crate::helpers::ADMIN_PASSWORD),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    let r = app
        .send(
            app.http
                .get(app.url("/oauth2/userinfo"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Under https the sign-in cookie is `__Host-` prefixed and Secure.
    let r = app
        .send(app.http.get(app.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https://app.example/cb&state=s",
            client.client_id
        ))))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookies: Vec<&str> = r
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(!cookies.is_empty(), "the login page sets its cookie");
    for c in &cookies {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(c.contains("; Secure"), "{c}");
        assert!(c.contains("HttpOnly"), "{c}");
    }

    // Plain HTTP on the TLS port gets no answer from the application.
    let plain = app.base.replacen("https://", "http://", 1).to_string() + "/healthz";
    let answer = reqwest::Client::new().get(plain).send().await;
    assert!(
        answer.map(|r| r.status().is_success()).ok() != Some(true),
        "plain HTTP must not reach the application on the TLS port"
    );

    // A client that does not trust the certificate is refused at the handshake.
    let untrusting = reqwest::Client::new().get(app.url("/healthz")).send().await;
    assert!(
        untrusting.is_err(),
        "an unknown certificate must not be accepted"
    );
}

async fn bad_tls_settings_stop_startup(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, &dir).await;
    let (cert, key, _) = certificate(&dir);

    // One without the other is a configuration error.
    let err = Config::load(
        None,
        vec![("PORTCULLIS_TLS_CERT".to_owned(), cert.display().to_string())],
        Overrides::default(),
    )
    .expect_err("cert without key");
    assert!(
        err.to_string().contains("tls_cert and tls_key go together"),
        "{err}"
    );

    let cases = [
        (dir.path().join("missing.pem"), key.clone(), "missing.pem"),
        (key.clone(), key.clone(), "no PEM certificate"),
        (cert.clone(), cert.clone(), "key file"),
    ];
    for (c, k, expected) in cases {
        let config = Config {
            tls_cert: Some(c),
            tls_key: Some(k),
            ..test_config(&url)
        };
        let err = Application::build(config)
            .await
            .err()
            .unwrap_or_else(|| panic!("start-up must fail ({expected})"));
        let msg = err.to_string();
        assert!(msg.starts_with("TLS: "), "{msg}");
        assert!(msg.contains(expected), "{msg} should mention {expected}");
    }
}

once!(serves_https, bad_tls_settings_stop_startup);

/// Serves `router` over HTTPS on a free loopback port with the certificate and key at
/// `cert` and `key` (see [`certificate`]): its base URL, and a sender that stops the
/// server when dropped.
pub async fn serve_https(
    cert: &std::path::Path,
    key: &std::path::Path,
    router: axum::Router,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let config = portcullis_server::tls::load(cert, key).expect("tls config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(portcullis_server::tls::serve(
        listener,
        config,
        router,
        async move {
            let _ = rx.await;
        },
    ));
    (format!("https://127.0.0.1:{port}"), tx)
}

/// `router`, counting the requests it answers in the returned counter: what lets a
/// test say a document was, or was not, fetched.
pub fn counting(
    router: axum::Router,
) -> (axum::Router, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                next.run(req).await
            }
        },
    ));
    (router, hits)
}
