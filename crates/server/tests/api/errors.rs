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

async fn database_failures_never_leak_their_text(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    app.send(app.as_admin(Method::GET, "/api/mgmt/oauth/client/applications"))
        .await;
    // CASCADE on PostgreSQL: the token tables reference client_apps.
    let drop = match b {
        Backend::Sqlite => "DROP TABLE consents; DROP TABLE client_apps",
        Backend::Postgres => "DROP TABLE consents; DROP TABLE client_apps CASCADE",
    };
    match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::raw_sql(drop).execute(&pool).await.expect("drop");
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::raw_sql(drop).execute(&pool).await.expect("drop");
        }
    }
    let r = app
        .send(app.as_admin(Method::GET, "/api/mgmt/oauth/client/applications"))
        .await;
    assert_eq!(
        r.hdp_error(500, 222206631),
        "Problem getting OAuth Client Application at this time. Please try again at another time."
    );
    let body = serde_json::json!({"name": "n", "redirectUrls": ["x.example"]});
    let r = app
        .send(
            app.as_admin(Method::POST, "/api/mgmt/oauth/client/applications")
                .json(&body),
        )
        .await;
    r.hdp_error(500, 222206628);
    for leak in ["client_apps", "table", "relation", "sqlx", "SQL"] {
        assert!(!r.text.contains(leak), "{leak} leaked: {}", r.text);
    }
}

async fn oversized_token_requests_get_an_oauth_error(b: Backend) {
    let Some(app) = spawn_app(b).await else {
        return;
    };
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(70 * 1024)
    );
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(r.json()["error_description"]
        .as_str()
        .is_some_and(|d| d.contains("65536")));
}

/// PostgreSQL only: an open SQLite file cannot vanish from under its process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_the_postgres_database_is_gone() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let name = app
        .database_url
        .rsplit('/')
        .next()
        .expect("name")
        .split('?')
        .next()
        .expect("name")
        .to_owned();
    let admin = std::env::var("TEST_POSTGRES_URL").expect("url");
    let pool = sqlx::PgPool::connect(&admin).await.expect("connect");
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&pool)
        .await
        .expect("drop");
    let r = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(
        (r.status, r.json()),
        (503, serde_json::json!({"status": "unavailable"}))
    );
    let h = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(h.status, 200, "liveness does not depend on the database");
}

backends!(
    unknown_paths_and_methods_answer_with_the_envelope,
    responses_carry_security_headers,
    health_and_readiness_answer,
    database_failures_never_leak_their_text,
    oversized_token_requests_get_an_oauth_error,
);
