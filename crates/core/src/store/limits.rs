//! [`LimitStore`]: limit values set at the system, a tenant or a user, resolved most
//! specific first.

use super::error::StoreResult;
use crate::model::limits::LimitLevel;
use async_trait::async_trait;

/// Limit values.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// The most specific value set for `limit_id`: user, then tenant, then system.
    async fn limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>>;
    /// Sets (`Some`) or clears (`None`) a limit value at a level.
    async fn set_limit(
        &self,
        level: LimitLevel,
        limit_id: i64,
        value: Option<i64>,
    ) -> StoreResult<()>;
    /// The values set at exactly this level, ordered by limit id.
    async fn limits_at(&self, level: LimitLevel) -> StoreResult<Vec<(i64, i64)>>;
}
