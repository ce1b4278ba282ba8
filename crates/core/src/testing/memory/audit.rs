//! [`AuditStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::audit::{AuditEvent, AuditQuery, NewAuditEvent};
use crate::model::time::UnixTime;
use crate::store::{AuditStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl AuditStore for MemoryStore {
    async fn record_audit_events(&self, events: &[NewAuditEvent]) -> StoreResult<()> {
        self.with(|s| {
            for e in events {
                let id = s.id();
                s.audit_events.push(AuditEvent {
                    id,
                    event: e.clone(),
                });
            }
            Ok(())
        })
    }

    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        self.with(|s| {
            Ok(s.audit_events
                .iter()
                .rev()
                .filter(|e| query.matches(e.id, &e.event))
                .take(query.limit as usize)
                .cloned()
                .collect())
        })
    }

    async fn audit_tenant_ids(&self) -> StoreResult<Vec<i64>> {
        self.with(|s| {
            let ids: std::collections::BTreeSet<i64> = s
                .audit_events
                .iter()
                .map(|e| e.event.tenant_id)
                .chain(s.vault_retrievals.iter().map(|r| r.tenant_id))
                .collect();
            Ok(ids.into_iter().collect())
        })
    }

    async fn purge_audit(&self, tenant_id: i64, before: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let n = s.audit_events.len() + s.vault_retrievals.len();
            s.audit_events
                .retain(|e| e.event.tenant_id != tenant_id || e.event.at >= before);
            s.vault_retrievals
                .retain(|r| r.tenant_id != tenant_id || r.at >= before);
            Ok((n - s.audit_events.len() - s.vault_retrievals.len()) as u64)
        })
    }
}
