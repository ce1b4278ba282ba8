//! Test support (feature `test-util`): a fresh database per test on the PostgreSQL
//! server named by `TEST_POSTGRES_URL` (an administrative connection URL).
//!
//! Without that variable the PostgreSQL tests are skipped with a note on stderr,
//! unless `TEST_REQUIRE_POSTGRES=1` (set by `scripts/test`), which makes a missing
//! server a failure so CI can never pass by skipping.

// Test support: a failed setup is the test failing.
#![allow(clippy::expect_used)]

use sqlx::{Connection, PgConnection};

/// Creates an empty database and returns its URL, or `None` when PostgreSQL tests are
/// not configured (see the module documentation).
pub async fn fresh_database() -> Option<String> {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TEST_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set; run the tests with scripts/test"
        );
        eprintln!("note: TEST_POSTGRES_URL is not set; skipping a PostgreSQL test (scripts/test runs them)");
        return None;
    };
    let name = format!("portcullis_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let base = match base.rfind('/') {
        Some(i) if i > base.find("//").map(|j| j + 1).unwrap_or(0) => base[..i].to_owned(),
        _ => base,
    };
    Some(format!("{base}/{name}{query}"))
}

/// Drops a database made by [`fresh_database`] (its URL), closing what is still
/// connected to it. Names not made there are left alone.
pub async fn drop_database(url: &str) {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        return;
    };
    let path = url.split('?').next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    if !name.starts_with("portcullis_test_")
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return;
    }
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .expect("drop test database");
    conn.close().await.ok();
}
