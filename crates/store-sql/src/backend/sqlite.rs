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
    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Nothing to do: SQLite picks ids past the explicit ones itself.
    async fn after_seed(_tx: &mut Transaction<'_, Self>) -> StoreResult<()> {
        Ok(())
    }
}
