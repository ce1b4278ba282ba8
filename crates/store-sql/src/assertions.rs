//! Used client assertion `jti`s (`AssertionStore`).

use crate::backend::Backend;
use crate::store::SqlStore;
use async_trait::async_trait;
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{AssertionStore, StoreResult};

#[async_trait]
impl<B: Backend> AssertionStore for SqlStore<B> {
    /// One statement: the insert, or on a conflict the replacement of an expired
    /// record; a live record is left alone and nothing changes (0 rows).
    async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let q = sqlx::query(
            "INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE used_assertions.expires_at <= $4",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .bind(now);
        Ok(self.write(q).await? == 1)
    }

    async fn purge_assertion_jtis(&self, now: UnixTime) -> StoreResult<u64> {
        let q = sqlx::query("DELETE FROM used_assertions WHERE expires_at <= $1");
        self.write(q.bind(now)).await
    }
}
