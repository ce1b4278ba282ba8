//! [`Backend`] for PostgreSQL.

use super::{sealed, Backend, RowsAffected};
use crate::store::err;
use portcullis_core::store::StoreResult;
use sqlx::{Pool, Postgres, Transaction};

impl sealed::Sealed for Postgres {}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

impl Backend for Postgres {
    const WRITING_CTES: bool = true;

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        super::begin_timed(pool).await
    }

    /// Moves the identity sequences past the explicitly numbered seed rows.
    async fn after_seed(conn: &mut sqlx::PgConnection) -> StoreResult<()> {
        for table in ["tenants", "roles"] {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"
            );
            sqlx::query(&sql).execute(&mut *conn).await.map_err(err)?;
        }
        Ok(())
    }
}
