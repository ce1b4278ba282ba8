//! [`ResourceStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::resource::{ResourceInput, ResourceServer};
use crate::model::time::UnixTime;
use crate::store::{ResourceStore, StoreError, StoreResult};
use async_trait::async_trait;

fn taken(s: &super::State, tenant_id: i64, uri: &str, except: i64) -> bool {
    s.resources
        .values()
        .any(|r| r.tenant_id == tenant_id && r.uri.as_str() == uri && r.id != except)
}

#[async_trait]
impl ResourceStore for MemoryStore {
    async fn create_resource(
        &self,
        tenant_id: i64,
        input: &ResourceInput,
        now: UnixTime,
    ) -> StoreResult<ResourceServer> {
        self.with(|s| {
            if !s.tenants.contains_key(&tenant_id) {
                return Err(StoreError::Backend("no such tenant".into()));
            }
            if taken(s, tenant_id, input.uri.as_str(), 0) {
                return Err(StoreError::Conflict("resource uri taken".into()));
            }
            let r = ResourceServer {
                id: s.id(),
                tenant_id,
                uri: input.uri.clone(),
                name: input.name.clone(),
                scopes: input.scopes.clone(),
                access_token_lifetime: input.access_token_lifetime,
                created_at: now,
                built_in: false,
            };
            s.resources.insert(r.id, r.clone());
            Ok(r)
        })
    }

    async fn resource(&self, id: i64) -> StoreResult<Option<ResourceServer>> {
        self.with(|s| Ok(s.resources.get(&id).cloned()))
    }

    async fn resource_by_uri(
        &self,
        tenant_id: i64,
        uri: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        self.with(|s| {
            Ok(s.resources
                .values()
                .find(|r| r.tenant_id == tenant_id && r.uri.as_str() == uri)
                .cloned())
        })
    }

    async fn list_resources(&self, tenant_id: i64) -> StoreResult<Vec<ResourceServer>> {
        self.with(|s| {
            Ok(s.resources
                .values()
                .filter(|r| r.tenant_id == tenant_id)
                .cloned()
                .collect())
        })
    }

    async fn update_resource(
        &self,
        id: i64,
        input: &ResourceInput,
    ) -> StoreResult<Option<ResourceServer>> {
        self.with(|s| {
            let Some(tenant_id) = s.resources.get(&id).map(|r| r.tenant_id) else {
                return Ok(None);
            };
            if taken(s, tenant_id, input.uri.as_str(), id) {
                return Err(StoreError::Conflict("resource uri taken".into()));
            }
            let Some(r) = s.resources.get_mut(&id) else {
                return Ok(None);
            };
            r.uri = input.uri.clone();
            r.name = input.name.clone();
            r.scopes = input.scopes.clone();
            r.access_token_lifetime = input.access_token_lifetime;
            Ok(Some(r.clone()))
        })
    }

    async fn delete_resource(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| Ok(s.resources.remove(&id).is_some()))
    }
}
