//! [`SetupStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::identity::Role;
use crate::model::seed::Seed;
use crate::model::time::UnixTime;
use crate::store::{SetupStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl SetupStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn seed(&self, seed: &Seed) -> StoreResult<()> {
        self.with(|s| {
            s.permissions.extend(seed.permissions.iter().map(|p| p.0));
            s.tenants
                .entry(seed.system_tenant.id)
                .or_insert_with(|| seed.system_tenant.clone());
            for r in &seed.roles {
                s.roles.entry(r.id).or_insert_with(|| Role {
                    id: r.id,
                    tenant_id: r.tenant_id,
                    name: r.name.to_owned(),
                    description: r.description.to_owned(),
                    permissions: r.permissions.clone(),
                });
            }
            Ok(())
        })
    }

    async fn server_secret(&self, name: &str) -> StoreResult<Option<String>> {
        self.with(|s| Ok(s.secrets.get(name).cloned()))
    }

    async fn init_server_secret(
        &self,
        name: &str,
        value: &str,
        _now: UnixTime,
    ) -> StoreResult<String> {
        self.with(|s| {
            Ok(s.secrets
                .entry(name.to_owned())
                .or_insert_with(|| value.to_owned())
                .clone())
        })
    }
}
