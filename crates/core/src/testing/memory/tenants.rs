//! [`TenantStore`] for the in-memory store: tenants, hosts, admins and roles.

use super::{MemoryStore, State};
use crate::model::identity::{NewTenant, Role, Tenant, TenantChanges, SYSTEM_TENANT_ID};
use crate::model::limits::LimitLevel;
use crate::store::{StoreError, StoreResult, TenantStore};
use async_trait::async_trait;

impl State {
    fn check_tenant_names(&self, id: Option<i64>, name: &str, hosts: &[String]) -> StoreResult<()> {
        if self
            .tenants
            .values()
            .any(|t| t.name.to_lowercase() == name.to_lowercase() && Some(t.id) != id)
        {
            return Err(StoreError::Conflict(format!("tenant name {name}")));
        }
        for h in hosts {
            if self
                .hosts
                .get(&h.to_lowercase())
                .is_some_and(|t| Some(*t) != id)
            {
                return Err(StoreError::Conflict(format!("host {h}")));
            }
        }
        Ok(())
    }

    fn set_hosts(&mut self, tenant: i64, hosts: &[String]) {
        self.hosts.retain(|_, t| *t != tenant);
        for h in hosts {
            self.hosts.insert(h.to_lowercase(), tenant);
        }
    }
}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn tenant(&self, id: i64) -> StoreResult<Option<Tenant>> {
        self.with(|s| Ok(s.tenants.get(&id).cloned()))
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.with(|s| Ok(s.tenants.values().cloned().collect()))
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.with(|s| Ok(s.tenants.values().find(|t| t.name == name).cloned()))
    }

    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>> {
        self.with(|s| {
            Ok(s.hosts
                .get(&host.to_lowercase())
                .and_then(|t| s.tenants.get(t))
                .cloned())
        })
    }

    async fn create_tenant(&self, n: NewTenant) -> StoreResult<Tenant> {
        self.with(|s| {
            s.check_tenant_names(None, &n.name, &n.hosts)?;
            let t = Tenant {
                id: s.id(),
                name: n.name,
                description: n.description,
                parent_id: Some(SYSTEM_TENANT_ID),
                active: n.active,
                allowed_scopes: n.allowed_scopes,
            };
            for r in &n.imported_roles {
                let Some(role) = s.roles.get(r).cloned() else {
                    return Err(StoreError::Backend(format!("no role {r}")));
                };
                let id = s.id();
                s.roles.insert(
                    id,
                    Role {
                        id,
                        tenant_id: t.id,
                        ..role
                    },
                );
            }
            s.tenants.insert(t.id, t.clone());
            s.set_hosts(t.id, &n.hosts);
            for u in &n.admins {
                s.tenant_admins.insert((t.id, *u));
            }
            Ok(t)
        })
    }

    async fn update_tenant(&self, id: i64, c: TenantChanges) -> StoreResult<Option<Tenant>> {
        self.with(|s| {
            if !s.tenants.contains_key(&id) {
                return Ok(None);
            }
            s.check_tenant_names(Some(id), &c.name, &c.hosts)?;
            s.set_hosts(id, &c.hosts);
            Ok(s.tenants.get_mut(&id).map(|t| {
                t.name = c.name;
                t.description = c.description;
                t.active = c.active;
                t.allowed_scopes = c.allowed_scopes;
                t.clone()
            }))
        })
    }

    async fn delete_tenant(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            let users: Vec<i64> = s
                .users
                .values()
                .filter(|u| u.tenant_id == id)
                .map(|u| u.id)
                .collect();
            for u in users {
                s.remove_user(u);
            }
            s.roles.retain(|_, r| r.tenant_id != id);
            s.hosts.retain(|_, t| *t != id);
            s.tenant_admins.retain(|(t, _)| *t != id);
            s.limits.retain(|(_, l), _| *l != LimitLevel::Tenant(id));
            let apps: Vec<i64> = s
                .apps
                .values()
                .filter(|a| a.tenant_id == id)
                .map(|a| a.id)
                .collect();
            for a in apps {
                s.apps.remove(&a);
                s.consents.retain(|(_, app), _| *app != a);
            }
            let removed = s.tenants.remove(&id).is_some();
            s.cascade();
            Ok(removed)
        })
    }

    async fn tenant_hosts(&self, id: i64) -> StoreResult<Vec<String>> {
        self.with(|s| {
            Ok(s.hosts
                .iter()
                .filter(|(_, t)| **t == id)
                .map(|(h, _)| h.clone())
                .collect())
        })
    }

    async fn tenant_admins(&self, tenant_id: i64) -> StoreResult<Vec<i64>> {
        self.with(|s| {
            Ok(s.tenant_admins
                .iter()
                .filter(|(t, _)| *t == tenant_id)
                .map(|(_, u)| *u)
                .collect())
        })
    }

    async fn set_tenant_admins(&self, tenant_id: i64, users: &[i64]) -> StoreResult<()> {
        self.with(|s| {
            s.tenant_admins.retain(|(t, _)| *t != tenant_id);
            for u in users {
                s.tenant_admins.insert((tenant_id, *u));
            }
            Ok(())
        })
    }

    async fn administered_tenants(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        self.with(|s| {
            let mut out: Vec<i64> = s
                .tenant_admins
                .iter()
                .filter(|(_, u)| *u == user_id)
                .map(|(t, _)| *t)
                .collect();
            out.sort_unstable();
            Ok(out)
        })
    }

    async fn has_other_active_tenant(&self, except: i64) -> StoreResult<bool> {
        self.with(|s| Ok(s.tenants.values().any(|t| t.active && t.id != except)))
    }

    async fn roles(&self, tenant_id: i64) -> StoreResult<Vec<Role>> {
        self.with(|s| {
            Ok(s.roles
                .values()
                .filter(|r| r.tenant_id == tenant_id)
                .cloned()
                .collect())
        })
    }

    async fn role(&self, id: i64) -> StoreResult<Option<Role>> {
        self.with(|s| Ok(s.roles.get(&id).cloned()))
    }
}
