//! The signing keys' SQL (`KeyStore`). The partial unique index of migration 0009
//! (one `active`, one `next` per algorithm) decides races: a first start inserts with
//! ON CONFLICT DO NOTHING, and a rotation of every algorithm is one write transaction,
//! guarded by each promoted key still being `next`, so of concurrent rotations exactly
//! one changes anything.

use crate::backend::Backend;
use crate::backend::RowsAffected as _;
use crate::store::{err, execute, fetch_all, from_row, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::signing_key::{KeyRotation, KeyState, StoredKey};
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::KeyStore;
use portcullis_core::store::{StoreError, StoreResult};
use sqlx::Row;

const KEY_COLS: &str =
    "kid, alg, private_sealed, public_jwk, state, created_at, activated_at, retire_at";

fn key_row<B: Backend>(r: &B::Row) -> Result<StoredKey, sqlx::Error> {
    let state: String = r.try_get("state")?;
    from_row!(r => StoredKey {
        kid, alg, private_sealed, public_jwk, created_at, activated_at, retire_at;
        state: KeyState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown signing key state '{state}'").into())
        })?,
    })
}

/// Inserts `key` on `executor`; `ON CONFLICT DO NOTHING` (no target) covers both the
/// kid and the one-active-one-next-per-algorithm index.
async fn insert_key<'e, B: Backend, E>(executor: E, key: &StoredKey) -> Result<u64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = B>,
{
    let sql = format!(
        "INSERT INTO signing_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT DO NOTHING"
    );
    sqlx::query(&sql)
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_sealed)
        .bind(&key.public_jwk)
        .bind(key.state.as_str())
        .bind(key.created_at)
        .bind(key.activated_at)
        .bind(key.retire_at)
        .execute(executor)
        .await
        .map(|r| r.rows_affected())
}

#[async_trait]
impl<B: Backend> KeyStore for SqlStore<B> {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM signing_keys ORDER BY created_at, kid");
        fetch_all(&self.pool, sqlx::query(&sql), key_row::<B>).await
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool> {
        let mut w = self.begin_single().await?;
        let inserted = insert_key(&mut *w, key).await.map_err(err)?;
        w.commit().await.map_err(err)?;
        Ok(inserted == 1)
    }

    async fn rotate_signing_keys(&self, rotations: &[KeyRotation]) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        for r in rotations {
            let alg = r.alg.as_str();
            // The first statement writes, so SQLite takes its write lock here and a
            // racing rotation waits for this one to finish; PostgreSQL's row locks do
            // the same.
            execute(
                &mut *tx,
                sqlx::query(
                    "UPDATE signing_keys SET state = 'retiring', retire_at = $1 \
                     WHERE state = 'active' AND alg = $2",
                )
                .bind(r.retire_at)
                .bind(alg),
            )
            .await?;
            let promoted = sqlx::query(
                "UPDATE signing_keys SET state = 'active', activated_at = $1 \
                 WHERE kid = $2 AND state = 'next' AND alg = $3",
            )
            .bind(r.now)
            .bind(&r.promote)
            .bind(alg)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
            if promoted != 1 {
                tx.rollback().await.map_err(err)?;
                return Ok(false);
            }
            if r.next.alg != alg || insert_key(&mut *tx, &r.next).await.map_err(err)? != 1 {
                tx.rollback().await.map_err(err)?;
                return Err(StoreError::Conflict(format!("signing key {}", r.next.kid)));
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn delete_retired_keys(&self, before: UnixTime) -> StoreResult<u64> {
        self.write(
            sqlx::query("DELETE FROM signing_keys WHERE state = 'retiring' AND retire_at <= $1")
                .bind(before),
        )
        .await
    }
}
