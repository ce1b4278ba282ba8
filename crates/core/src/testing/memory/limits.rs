//! [`LimitStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::limits::LimitLevel;
use crate::store::{LimitStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl LimitStore for MemoryStore {
    async fn limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        self.with(|s| {
            let user = user_id.and_then(|u| s.limits.get(&(limit_id, LimitLevel::User(u))));
            Ok(user
                .or_else(|| s.limits.get(&(limit_id, LimitLevel::Tenant(tenant_id))))
                .or_else(|| s.limits.get(&(limit_id, LimitLevel::System)))
                .copied())
        })
    }

    async fn set_limit(
        &self,
        level: LimitLevel,
        limit_id: i64,
        value: Option<i64>,
    ) -> StoreResult<()> {
        self.with(|s| {
            match value {
                Some(v) => s.limits.insert((limit_id, level), v),
                None => s.limits.remove(&(limit_id, level)),
            };
            Ok(())
        })
    }

    async fn limits_at(&self, level: LimitLevel) -> StoreResult<Vec<(i64, i64)>> {
        self.with(|s| {
            let mut out: Vec<(i64, i64)> = s
                .limits
                .iter()
                .filter(|((_, l), _)| *l == level)
                .map(|((id, _), v)| (*id, *v))
                .collect();
            out.sort_unstable();
            Ok(out)
        })
    }
}
