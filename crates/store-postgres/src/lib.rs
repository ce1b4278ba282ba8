//! The storage traits on PostgreSQL, for several stateless nodes sharing one database.
//! Migrations are embedded and run by [`PgStore::connect`]; their names pair with
//! SQLite's. The SQL is the shared crate's (`portcullis-store-sql`, [`SqlStore`]).
//! Row locks taken by each statement make the contract's atomic operations safe
//! across nodes: a counted failure or consent upsert locks its row until commit.

pub mod copy;
pub mod listener;

use portcullis_core::store::{StoreError, StoreResult};
use portcullis_store_sql::{store_error, Connector, SqlStore};
use sqlx::postgres::PgPoolOptions;
use sqlx::Postgres;
use std::time::Duration;

pub use portcullis_store_sql::{RowCache, StateCache, GENERATION_CHECK_MS};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL store: the shared SQL ([`SqlStore`]) on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

/// This crate's [`Connector`] (a type of this crate, which the orphan rule needs; see
/// [`Connector`]). Never named by callers: `PgStore::connect(url)`.
#[derive(Debug)]
pub enum PgConnector {}

impl Connector<PgConnector> for Postgres {
    /// Connects to `url` (`postgres://…`) and runs pending migrations.
    async fn connect(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(store_error)?;
        <Self as Connector<PgConnector>>::migrate(&pool).await?;
        let store = SqlStore::new(pool);
        listener::start(store.pool(), store.state_cache(), store.row_cache_arc());
        Ok(store)
    }

    /// Runs pending migrations.
    async fn migrate(pool: &sqlx::PgPool) -> StoreResult<()> {
        MIGRATOR
            .run(pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }
}

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

#[cfg(test)]
mod contract {
    use super::PgStore;
    use crate::testing::TestDatabase;
    use portcullis_core::testing::contract::Fixture;
    use std::sync::Arc;

    /// A new database, dropped when the case ends: the cleanup owns it, and a case that
    /// fails drops the cleanup unrun, which drops the database all the same.
    async fn fresh() -> Fixture {
        let db = TestDatabase::create().await;
        let store = PgStore::connect(db.url()).await.expect("connect");
        Fixture::with_cleanup(Arc::new(store), async move { drop(db) })
    }

    // Ignored under a plain `cargo test` (reported as such); scripts/test runs them.
    portcullis_core::store_contract_tests!(
        #[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
        fresh()
    );
}
