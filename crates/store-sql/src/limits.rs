//! Limit values per level (`LimitStore`). Resolution (user, then tenant, then system)
//! goes through the row cache ([`crate::cache`]); every write drops it.

use crate::backend::Backend;
use crate::cache::insert_bounded;
use crate::store::{changed_one, err, execute, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::limits::LimitLevel;
use portcullis_core::store::{LimitStore, StoreResult};

#[async_trait]
impl<B: Backend> LimitStore for SqlStore<B> {
    async fn limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        self.cached_limit(limit_id, tenant_id, user_id).await
    }

    async fn set_limit(
        &self,
        level: LimitLevel,
        limit_id: i64,
        value: Option<i64>,
    ) -> StoreResult<()> {
        let _invalidate = self.cache.invalidate_on_drop();
        let (level, target) = level.key();
        let q = match value {
            Some(_) => sqlx::query(
                "INSERT INTO limit_values (limit_id, level, target_id, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (limit_id, level, target_id) DO UPDATE SET value = excluded.value",
            ),
            None => sqlx::query(
                "DELETE FROM limit_values WHERE limit_id = $1 AND level = $2 AND target_id = $3 AND $4 IS NULL",
            ),
        };
        let q = q.bind(limit_id).bind(level).bind(target).bind(value);
        self.write(q).await.map(|_| ())
    }

    async fn limits_at(&self, level: LimitLevel) -> StoreResult<Vec<(i64, i64)>> {
        let (level, target) = level.key();
        sqlx::query_as(
            "SELECT limit_id, value FROM limit_values WHERE level = $1 AND target_id = $2 ORDER BY limit_id",
        )
        .bind(level)
        .bind(target)
        .fetch_all(&self.pool)
        .await
        .map_err(err)
    }
}

impl<B: Backend> SqlStore<B> {
    /// The value of a limit in force for a tenant (and user), from the cache or the
    /// database; `None` (nothing set) is cached too.
    pub(crate) async fn cached_limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        let key = (limit_id, tenant_id, user_id);
        let load = async {
            sqlx::query_scalar(
                "SELECT value FROM limit_values WHERE limit_id = $1 AND ( \
                   (level = 'user' AND target_id = $3) OR (level = 'tenant' AND target_id = $2) OR level = 'system') \
                 ORDER BY CASE level WHEN 'user' THEN 0 WHEN 'tenant' THEN 1 ELSE 2 END LIMIT 1",
            )
            .bind(limit_id)
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)
        };
        self.cache
            .read_through(
                &self.pool,
                |m| m.limits.get(&key).copied(),
                load,
                |m, value| insert_bounded(&mut m.limits, key, *value),
            )
            .await
    }

    /// Deletes the tenant or user `id` with `delete`, after its limit values (`limits`:
    /// a limit's target has no foreign key), in one write transaction that drops the row
    /// cache; whether the row existed.
    pub(crate) async fn delete_with_limits(
        &self,
        limits: &str,
        delete: &str,
        id: i64,
    ) -> StoreResult<bool> {
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = self.begin_write().await?;
        execute(&mut *tx, sqlx::query(limits).bind(id)).await?;
        let deleted = changed_one(&mut *tx, sqlx::query(delete).bind(id)).await?;
        tx.commit().await.map_err(err)?;
        Ok(deleted)
    }
}
