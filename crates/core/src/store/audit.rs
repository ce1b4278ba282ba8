//! [`AuditStore`]: the audit trail's security events (`crate::audit` queues them and
//! writes each batch with one call) and their retention, which also ages out the
//! vault retrievals ([`super::ExchangeStore`]) with the same cutoff.

use super::error::StoreResult;
use crate::model::audit::{AuditEvent, AuditQuery, NewAuditEvent};
use crate::model::time::UnixTime;
use async_trait::async_trait;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records `events` in one transaction, in order: all of them or (on an error) none.
    async fn record_audit_events(&self, events: &[NewAuditEvent]) -> StoreResult<()>;
    /// The events `query` selects, newest (highest id) first, at most `query.limit`.
    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes tenant `tenant_id`'s audit events and vault retrievals older than
    /// `before` (`at < before`); how many rows went.
    async fn purge_audit(&self, tenant_id: i64, before: UnixTime) -> StoreResult<u64>;
    /// The tenant ids that have audit events or vault retrievals, ascending (also of
    /// tenants since deleted, so retention reaches their records too).
    async fn audit_tenant_ids(&self) -> StoreResult<Vec<i64>>;
}
