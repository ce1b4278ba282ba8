//! Test support (feature `test-util`): an in-memory [`Store`] and the store contract
//! suite every adapter runs, so the in-memory, SQLite and PostgreSQL stores behave alike.

use crate::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use crate::clock::UnixTime;
use crate::identity::{Lock, LockoutPolicy, NewUser, Tenant, User, SYSTEM_TENANT_ID};
use crate::store::{union_scopes, AppListScope, Consent, Seed, Store, StoreError, StoreResult};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct State {
    permissions: BTreeSet<i64>,
    tenants: BTreeMap<i64, Tenant>,
    role_permissions: BTreeMap<i64, Vec<i64>>,
    users: BTreeMap<i64, User>,
    user_roles: BTreeMap<i64, Vec<i64>>,
    secrets: HashMap<String, String>,
    limits: HashMap<(i64, &'static str, i64), i64>,
    apps: BTreeMap<i64, ClientApp>,
    consents: BTreeMap<(i64, i64), (Vec<String>, UnixTime)>,
    next_id: i64,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id + 100
    }
}

/// A [`Store`] in memory, for core tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| StoreError::Backend("poisoned".into()))?;
        f(&mut s)
    }
}

#[async_trait]
impl Store for MemoryStore {
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
                s.role_permissions
                    .entry(r.id)
                    .or_insert_with(|| r.permissions.clone());
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

    async fn tenant(&self, id: i64) -> StoreResult<Option<Tenant>> {
        self.with(|s| Ok(s.tenants.get(&id).cloned()))
    }

    async fn create_tenant(
        &self,
        name: &str,
        description: Option<&str>,
        _now: UnixTime,
    ) -> StoreResult<Tenant> {
        self.with(|s| {
            if s.tenants.values().any(|t| t.name == name) {
                return Err(StoreError::Conflict(format!("tenant name {name}")));
            }
            let t = Tenant {
                id: s.id(),
                name: name.to_owned(),
                description: description.map(str::to_owned),
                parent_id: Some(SYSTEM_TENANT_ID),
                active: true,
            };
            s.tenants.insert(t.id, t.clone());
            Ok(t)
        })
    }

    async fn create_user(&self, u: NewUser) -> StoreResult<User> {
        self.with(|s| {
            if s.users
                .values()
                .any(|x| x.tenant_id == u.tenant_id && x.login == u.login)
            {
                return Err(StoreError::Conflict(format!(
                    "user {} in tenant {}",
                    u.login, u.tenant_id
                )));
            }
            if !s.tenants.contains_key(&u.tenant_id) {
                return Err(StoreError::Backend(format!("no tenant {}", u.tenant_id)));
            }
            let user = User {
                id: s.id(),
                tenant_id: u.tenant_id,
                login: u.login,
                password_hash: u.password_hash,
                active: u.active,
                auth_version: 1,
                failed_logins: 0,
                failed_window_start: None,
                lock: None,
                created_at: u.now,
            };
            s.user_roles.insert(user.id, u.roles);
            s.users.insert(user.id, user.clone());
            Ok(user)
        })
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        self.with(|s| Ok(s.users.get(&id).cloned()))
    }

    async fn users_by_login(&self, login: &str) -> StoreResult<Vec<User>> {
        self.with(|s| {
            Ok(s.users
                .values()
                .filter(|u| u.login == login)
                .cloned()
                .collect())
        })
    }

    async fn user_by_login(&self, tenant_id: i64, login: &str) -> StoreResult<Option<User>> {
        self.with(|s| {
            Ok(s.users
                .values()
                .find(|u| u.tenant_id == tenant_id && u.login == login)
                .cloned())
        })
    }

    async fn count_users(&self) -> StoreResult<i64> {
        self.with(|s| Ok(s.users.len() as i64))
    }

    async fn effective_permissions(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        self.with(|s| {
            let mut out = BTreeSet::new();
            for r in s.user_roles.get(&user_id).into_iter().flatten() {
                out.extend(s.role_permissions.get(r).into_iter().flatten().copied());
            }
            Ok(out.into_iter().collect())
        })
    }

    async fn set_password(&self, user_id: i64, hash: &str, _now: UnixTime) -> StoreResult<bool> {
        self.with(|s| {
            Ok(match s.users.get_mut(&user_id) {
                Some(u) => {
                    u.password_hash = hash.to_owned();
                    u.failed_logins = 0;
                    u.failed_window_start = None;
                    u.lock = None;
                    u.auth_version += 1;
                    true
                }
                None => false,
            })
        })
    }

    async fn record_login_failure(
        &self,
        user_id: i64,
        now: UnixTime,
        p: LockoutPolicy,
    ) -> StoreResult<Option<Lock>> {
        self.with(|s| {
            let Some(u) = s.users.get_mut(&user_id) else {
                return Ok(None);
            };
            if let Some(l) = u.lock_at(now) {
                return Ok(Some(l));
            }
            match u.failed_window_start {
                Some(start) if now - start <= p.interval => u.failed_logins += 1,
                _ => {
                    u.failed_logins = 1;
                    u.failed_window_start = Some(now);
                }
            }
            if p.limit > 0 && u.failed_logins >= p.limit {
                u.lock = Some(Lock {
                    locked_at: now,
                    locked_until: now + p.period,
                });
                u.failed_logins = 0;
                u.failed_window_start = None;
                u.auth_version += 1;
            }
            Ok(u.lock_at(now))
        })
    }

    async fn clear_login_failures(&self, user_id: i64) -> StoreResult<()> {
        self.with(|s| {
            if let Some(u) = s.users.get_mut(&user_id) {
                u.failed_logins = 0;
                u.failed_window_start = None;
            }
            Ok(())
        })
    }

    async fn limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        self.with(|s| {
            let user = user_id.and_then(|u| s.limits.get(&(limit_id, "user", u)));
            Ok(user
                .or_else(|| s.limits.get(&(limit_id, "tenant", tenant_id)))
                .or_else(|| s.limits.get(&(limit_id, "system", 0)))
                .copied())
        })
    }

    async fn set_system_limit(&self, limit_id: i64, value: i64) -> StoreResult<()> {
        self.with(|s| {
            s.limits.insert((limit_id, "system", 0), value);
            Ok(())
        })
    }

    async fn create_client_app(&self, a: NewClientApp) -> StoreResult<ClientApp> {
        self.with(|s| {
            if s.apps.values().any(|x| x.client_id == a.client_id) {
                return Err(StoreError::Conflict(format!("client id {}", a.client_id)));
            }
            let app = ClientApp {
                id: s.id(),
                tenant_id: a.tenant_id,
                owner_id: a.owner_id,
                name: a.name,
                description: a.description,
                redirect_urls: a.redirect_urls,
                client_id: a.client_id,
                secret_verifier: a.secret_verifier,
                public: a.public,
                grant_types: a.grant_types,
                scopes: a.scopes,
                tokens_valid_after: a.now,
                created_at: a.now,
                updated_at: a.now,
            };
            s.apps.insert(app.id, app.clone());
            Ok(app)
        })
    }

    async fn client_app(&self, id: i64) -> StoreResult<Option<ClientApp>> {
        self.with(|s| Ok(s.apps.get(&id).cloned()))
    }

    async fn client_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>> {
        self.with(|s| Ok(s.apps.values().find(|a| a.client_id == client_id).cloned()))
    }

    async fn list_client_apps(&self, scope: AppListScope) -> StoreResult<Vec<ClientApp>> {
        self.with(|s| {
            Ok(s.apps
                .values()
                .filter(|a| match scope {
                    AppListScope::Owner(u) => a.owner_id == u,
                    AppListScope::Tenant(t) => a.tenant_id == t,
                })
                .cloned()
                .collect())
        })
    }

    async fn update_client_app(
        &self,
        id: i64,
        c: ClientAppChanges,
    ) -> StoreResult<Option<ClientApp>> {
        self.with(|s| {
            Ok(s.apps.get_mut(&id).map(|a| {
                a.name = c.name;
                a.description = c.description;
                a.redirect_urls = c.redirect_urls;
                a.grant_types = c.grant_types;
                a.scopes = c.scopes;
                a.updated_at = c.now;
                a.clone()
            }))
        })
    }

    async fn reset_client_secret(
        &self,
        id: i64,
        verifier: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ClientApp>> {
        self.with(|s| {
            let Some(a) = s.apps.get_mut(&id) else {
                return Ok(None);
            };
            a.secret_verifier = Some(verifier.to_owned());
            a.tokens_valid_after = now;
            a.updated_at = now;
            let app = a.clone();
            s.consents.retain(|(_, app_id), _| *app_id != id);
            Ok(Some(app))
        })
    }

    async fn delete_client_app(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            s.consents.retain(|(_, app_id), _| *app_id != id);
            Ok(s.apps.remove(&id).is_some())
        })
    }

    async fn grant_consent(
        &self,
        user_id: i64,
        app_id: i64,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        self.with(|s| {
            if !s.apps.contains_key(&app_id) || !s.users.contains_key(&user_id) {
                return Err(StoreError::Backend(
                    "consent to a missing user or application".into(),
                ));
            }
            let entry = s
                .consents
                .entry((user_id, app_id))
                .or_insert_with(|| (Vec::new(), now));
            entry.0 = union_scopes(&entry.0, scopes);
            Ok(())
        })
    }

    async fn consents_of_user(&self, user_id: i64) -> StoreResult<Vec<Consent>> {
        self.with(|s| {
            Ok(s.consents
                .iter()
                .filter(|((u, _), _)| *u == user_id)
                .filter_map(|((u, a), (scopes, at))| {
                    s.apps.get(a).map(|app| Consent {
                        user_id: *u,
                        client_app_id: *a,
                        app_name: app.name.clone(),
                        scopes: scopes.clone(),
                        granted_at: *at,
                    })
                })
                .collect())
        })
    }

    async fn revoke_consent(&self, user_id: i64, app_id: i64) -> StoreResult<bool> {
        self.with(|s| Ok(s.consents.remove(&(user_id, app_id)).is_some()))
    }
}

pub mod contract;
