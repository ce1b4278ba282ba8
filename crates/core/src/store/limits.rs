//! [`LimitStore`]: limit values set at the system, a tenant or a user, resolved most
//! specific first.

use super::StoreResult;
use async_trait::async_trait;

/// Where a limit value is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitLevel {
    System,
    Tenant(i64),
    User(i64),
}

impl LimitLevel {
    /// The stored (level, target id) pair.
    pub fn key(self) -> (&'static str, i64) {
        match self {
            LimitLevel::System => ("system", 0),
            LimitLevel::Tenant(t) => ("tenant", t),
            LimitLevel::User(u) => ("user", u),
        }
    }
}

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
