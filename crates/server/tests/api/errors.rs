//! The error envelope everywhere: unknown paths, wrong methods, and headers.

use crate::helpers::{backends, spawn_app, Backend};
use reqwest::Method;

async fn unknown_paths_and_methods_answer_with_the_envelope(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let r = app
        .send(app.as_admin(Method::GET, "/api/mgmt/nothing-here"))
        .await;
    assert_eq!(
        r.hdp_error(404, 222209030),
        "There is no API at /api/mgmt/nothing-here."
    );
    let r = app
        .send(app.as_admin(Method::PATCH, "/api/mgmt/oauth/client/applications"))
        .await;
    assert!(r.hdp_error(405, 222209031).contains("PATCH"));
}

async fn responses_carry_security_headers(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let r = app
        .send(app.as_admin(Method::GET, "/api/mgmt/oauth/client/applications"))
        .await;
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

async fn health_and_readiness_answer(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let h = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(
        (h.status, h.json()),
        (200, serde_json::json!({"status": "ok"}))
    );
    let r = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(
        (r.status, r.json()),
        (200, serde_json::json!({"status": "ok"}))
    );
}

backends!(
    unknown_paths_and_methods_answer_with_the_envelope,
    responses_carry_security_headers,
    health_and_readiness_answer
);
