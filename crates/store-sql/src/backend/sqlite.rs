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

    /// A deferred `BEGIN`, for a SQLite store opened without group commit (see
    /// `SqlStore::with_group_commit`; the server's store always has it): every write
    /// transaction's first statement writes, so the write lock is still taken up front.
    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        super::begin_timed(pool).await
    }

    /// Nothing to do: SQLite picks ids past the explicit ones itself.
    async fn after_seed(_conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
        Ok(())
    }
}
