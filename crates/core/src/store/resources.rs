//! [`ResourceStore`]: the resource servers (RFC 8707) registered in each tenant,
//! unique by `(tenant, uri)`. The built-in ones (Portcullis's own APIs) are not
//! stored; [`crate::oauth::resource`] adds them.

use super::error::StoreResult;
use crate::model::resource::{ResourceInput, ResourceServer};
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// Registered resource servers.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// `Conflict` when the tenant already has a resource with this URI.
    async fn create_resource(
        &self,
        tenant_id: i64,
        input: &ResourceInput,
        now: UnixTime,
    ) -> StoreResult<ResourceServer>;
    async fn resource(&self, id: i64) -> StoreResult<Option<ResourceServer>>;
    /// The tenant's resource with exactly this URI.
    async fn resource_by_uri(
        &self,
        tenant_id: i64,
        uri: &str,
    ) -> StoreResult<Option<ResourceServer>>;
    /// The tenant's resources, ordered by id.
    async fn list_resources(&self, tenant_id: i64) -> StoreResult<Vec<ResourceServer>>;
    /// Replaces every field; `None` when there is no such resource, `Conflict` when
    /// the new URI is taken in the tenant.
    async fn update_resource(
        &self,
        id: i64,
        input: &ResourceInput,
    ) -> StoreResult<Option<ResourceServer>>;
    /// `false` when there was no such resource.
    async fn delete_resource(&self, id: i64) -> StoreResult<bool>;
}
