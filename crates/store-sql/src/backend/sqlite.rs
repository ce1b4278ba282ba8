//! [`Backend`] for SQLite.

use super::{sealed, Backend, RowsAffected};
use portcullis_core::store::StoreResult;
use sqlx::{Pool, Sqlite, Transaction};

impl sealed::Sealed for Sqlite {}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl Backend for Sqlite {
    const WRITING_CTES: bool = false;

    /// A deferred `BEGIN`, as before issue #12: every write transaction's first
    /// statement writes, so the write lock is still taken up front. `BEGIN IMMEDIATE`
    /// was tried here and made the load harness's seeder (another process writing to
    /// the same file) fail with "database is locked" in 2 of 5 smoke runs (0 of 4 with
    /// `BEGIN`), so it waits for a look at why.
    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        super::begin_timed(pool).await
    }

    /// Nothing to do: SQLite picks ids past the explicit ones itself.
    async fn after_seed(_tx: &mut Transaction<'_, Self>) -> StoreResult<()> {
        Ok(())
    }
}
