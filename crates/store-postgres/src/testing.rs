//! Test support (feature `test-util`): a fresh database per test on the PostgreSQL
//! server named by `TEST_POSTGRES_URL` (an administrative connection URL), dropped
//! again when the test ends, passing or failing.
//!
//! PostgreSQL tests are marked `#[ignore = POSTGRES_ONLY…]`, so a plain `cargo test`
//! reports them as ignored (never as passed); `scripts/test` starts a throwaway server,
//! sets `TEST_POSTGRES_URL` and runs the ignored tests too. A PostgreSQL test run
//! without `TEST_POSTGRES_URL` fails: it cannot pass by skipping.

// Test support: a failed setup is the test failing.
#![allow(clippy::expect_used)]

use sqlx::{Connection, PgConnection};

/// The reason PostgreSQL tests are ignored under a plain `cargo test` (the text of their
/// `#[ignore = "…"]`; attributes need a literal, so it is repeated there).
pub const IGNORE_REASON: &str =
    "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)";

/// The prefix of every database [`TestDatabase::create`] makes (and the only names its
/// `Drop` and `scripts/test`'s leftover check touch).
pub const NAME_PREFIX: &str = "portcullis_test_";

/// The administrative URL, or a panic naming what to do.
fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("TEST_POSTGRES_URL is not set; a PostgreSQL test {IGNORE_REASON}")
    })
}

/// A database of its own for one test; dropped (`WITH (FORCE)`, closing what is still
/// connected) when this value is dropped, also while a failing test unwinds.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
}

impl TestDatabase {
    /// Creates an empty database. Panics when `TEST_POSTGRES_URL` is not set.
    pub async fn create() -> Self {
        let admin = admin_url();
        let name = format!("{NAME_PREFIX}{}", uuid::Uuid::new_v4().simple());
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
        Self {
            url: format!("{base}/{name}{query}"),
            name,
        }
    }

    /// The database's connection URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    /// Drops the database on a thread of its own with a runtime of its own: `Drop` may
    /// run inside the test's runtime (or while it unwinds), where blocking on it would
    /// not do. A failure is reported, never a panic (a panic while unwinding aborts).
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                conn.close().await.ok();
                Ok::<_, String>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop a test database: {e}"),
            Err(_) => eprintln!("warning: dropping a test database panicked"),
        }
    }
}
