//! [`TenantStore`]: tenants with their host names, administrators and roles.

use super::error::StoreResult;
use crate::model::identity::{NewTenant, Role, Tenant, TenantChanges};
use async_trait::async_trait;

/// Tenants, their hosts and admins, and their roles.
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn tenant(&self, id: i64) -> StoreResult<Option<Tenant>>;
    /// Every tenant, ordered by id.
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    /// The tenant one of whose host names is `host` (compared lowercased).
    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>>;
    /// Creates a child of the system tenant with its hosts, imported roles and admins,
    /// atomically. `Conflict` when the name or a host name is taken.
    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant>;
    /// Replaces the tenant's fields and host names. `Conflict` as for create.
    async fn update_tenant(&self, id: i64, changes: TenantChanges) -> StoreResult<Option<Tenant>>;
    /// Deletes the tenant and everything in it (users, roles, applications).
    async fn delete_tenant(&self, id: i64) -> StoreResult<bool>;
    /// The tenant's host names, sorted.
    async fn tenant_hosts(&self, id: i64) -> StoreResult<Vec<String>>;
    /// Ids of the users who administer the tenant, sorted.
    async fn tenant_admins(&self, tenant_id: i64) -> StoreResult<Vec<i64>>;
    async fn set_tenant_admins(&self, tenant_id: i64, users: &[i64]) -> StoreResult<()>;
    /// Ids of the tenants the user administers, sorted.
    async fn administered_tenants(&self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// Whether an active tenant other than `except` exists: one short read, not a
    /// listing (the login page asks for the tenant only when there is a choice).
    async fn has_other_active_tenant(&self, except: i64) -> StoreResult<bool>;

    // ---- roles ----
    /// The tenant's roles with their permissions, ordered by id.
    async fn roles(&self, tenant_id: i64) -> StoreResult<Vec<Role>>;
    async fn role(&self, id: i64) -> StoreResult<Option<Role>>;
}
