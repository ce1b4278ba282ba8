//! Test support (feature `test-util`): an in-memory [`Store`] and the store contract
//! suite every adapter runs, so the in-memory, SQLite and PostgreSQL stores behave alike.

use crate::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use crate::clock::UnixTime;
use crate::identity::{
    Lock, LockoutPolicy, NewTenant, NewUser, Role, Tenant, TenantChanges, User, UserChanges,
    SYSTEM_TENANT_ID,
};
use crate::oauth::grants::{AuthCode, CodeTake, Family, RefreshToken, Rotation};
use crate::store::{
    union_scopes, AppListScope, Consent, LimitLevel, RoleAssignments, Seed, Store, StoreError,
    StoreResult, TokenStore,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct State {
    permissions: BTreeSet<i64>,
    tenants: BTreeMap<i64, Tenant>,
    hosts: BTreeMap<String, i64>,
    tenant_admins: BTreeSet<(i64, i64)>,
    roles: BTreeMap<i64, Role>,
    users: BTreeMap<i64, User>,
    role_assignments: BTreeMap<i64, RoleAssignments>,
    secrets: HashMap<String, String>,
    limits: HashMap<(i64, LimitLevel), i64>,
    apps: BTreeMap<i64, ClientApp>,
    consents: BTreeMap<(i64, i64), (Vec<String>, UnixTime)>,
    families: BTreeMap<String, Family>,
    refresh: BTreeMap<String, RefreshToken>,
    codes: BTreeMap<String, AuthCode>,
    revoked_jtis: BTreeMap<String, UnixTime>,
    signing_keys: BTreeMap<String, crate::oauth::keys::StoredKey>,
    vault: vault::VaultState,
    next_id: i64,
    sessions: BTreeMap<String, crate::session::Session>,
    /// When each replayed authorization code was first replayed.
    replayed_codes: BTreeMap<String, UnixTime>,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id + 100
    }

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

    /// Drops what hangs off removed applications and users (ON DELETE CASCADE).
    fn cascade(&mut self) {
        let apps: BTreeSet<i64> = self.apps.keys().copied().collect();
        let users: BTreeSet<i64> = self.users.keys().copied().collect();
        self.families.retain(|_, f| {
            apps.contains(&f.client_app_id) && f.user_id.is_none_or(|u| users.contains(&u))
        });
        let families: BTreeSet<String> = self.families.keys().cloned().collect();
        self.refresh.retain(|_, r| families.contains(&r.family_id));
        self.codes
            .retain(|_, c| apps.contains(&c.client_app_id) && users.contains(&c.user_id));
        for c in self.codes.values_mut() {
            if c.family_id.as_ref().is_some_and(|f| !families.contains(f)) {
                c.family_id = None;
            }
        }
        let tenants: BTreeSet<i64> = self.tenants.keys().copied().collect();
        self.vault.cascade(&users, &tenants);
        self.sessions.retain(|_, x| users.contains(&x.user_id));
    }

    fn remove_user(&mut self, id: i64) -> bool {
        let app_ids: Vec<i64> = self
            .apps
            .values()
            .filter(|a| a.owner_id == id)
            .map(|a| a.id)
            .collect();
        for a in app_ids {
            self.apps.remove(&a);
            self.consents.retain(|(_, app), _| *app != a);
        }
        self.consents.retain(|(u, _), _| *u != id);
        self.role_assignments.remove(&id);
        self.tenant_admins.retain(|(_, u)| *u != id);
        self.limits.retain(|(_, l), _| *l != LimitLevel::User(id));
        let removed = self.users.remove(&id).is_some();
        self.cascade();
        removed
    }
}

/// A [`Store`] in memory, for core tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// Where each store operation was called from (its method's line in this file),
    /// in order: tests compare the store work of two paths with [`Self::take_calls`].
    calls: Mutex<Vec<&'static std::panic::Location<'static>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The operations run since the last call, each named by its method's line.
    pub fn take_calls(&self) -> Vec<u32> {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *calls)
            .iter()
            .map(|l| l.line())
            .collect()
    }

    #[track_caller]
    fn with<T>(&self, f: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(std::panic::Location::caller());
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
                password_status: u.password_status,
                password_expiration: u.password_expiration,
                api_secret_verifier: None,
                created_at: u.now,
            };
            s.role_assignments.insert(
                user.id,
                RoleAssignments {
                    roles: sorted(u.roles),
                    permissions: sorted(u.permissions),
                },
            );
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

    async fn list_users(&self, tenant_id: Option<i64>) -> StoreResult<Vec<User>> {
        self.with(|s| {
            Ok(s.users
                .values()
                .filter(|u| tenant_id.is_none_or(|t| u.tenant_id == t))
                .cloned()
                .collect())
        })
    }

    async fn update_user(&self, id: i64, c: UserChanges) -> StoreResult<Option<User>> {
        self.with(|s| {
            let Some(tenant) = s.users.get(&id).map(|u| u.tenant_id) else {
                return Ok(None);
            };
            if s.users
                .values()
                .any(|x| x.tenant_id == tenant && x.login == c.login && x.id != id)
            {
                return Err(StoreError::Conflict(format!(
                    "user {} in tenant {tenant}",
                    c.login
                )));
            }
            Ok(s.users.get_mut(&id).map(|u| {
                if u.active && !c.active {
                    u.auth_version += 1;
                }
                u.login = c.login;
                u.active = c.active;
                u.password_status = c.password_status;
                u.password_expiration = c.password_expiration;
                u.clone()
            }))
        })
    }

    async fn delete_user(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| Ok(s.remove_user(id)))
    }

    async fn role_assignments(&self, id: i64) -> StoreResult<RoleAssignments> {
        self.with(|s| Ok(s.role_assignments.get(&id).cloned().unwrap_or_default()))
    }

    async fn set_role_assignments(&self, id: i64, g: &RoleAssignments) -> StoreResult<bool> {
        self.with(|s| {
            let Some(u) = s.users.get_mut(&id) else {
                return Ok(false);
            };
            u.auth_version += 1;
            s.role_assignments.insert(
                id,
                RoleAssignments {
                    roles: sorted(g.roles.clone()),
                    permissions: sorted(g.permissions.clone()),
                },
            );
            Ok(true)
        })
    }

    async fn unlock_user(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.users
                .get_mut(&id)
                .map(|u| {
                    u.lock = None;
                    u.failed_logins = 0;
                    u.failed_window_start = None;
                })
                .is_some())
        })
    }

    async fn set_api_secret(
        &self,
        id: i64,
        verifier: Option<&str>,
        _now: UnixTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.users
                .get_mut(&id)
                .map(|u| u.api_secret_verifier = verifier.map(str::to_owned))
                .is_some())
        })
    }

    async fn effective_permissions(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        self.with(|s| {
            let mut out = BTreeSet::new();
            if let Some(g) = s.role_assignments.get(&user_id) {
                for r in &g.roles {
                    out.extend(
                        s.roles
                            .get(r)
                            .into_iter()
                            .flat_map(|r| r.permissions.iter().copied()),
                    );
                }
                out.extend(g.permissions.iter().copied());
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
            for f in s.families.values_mut() {
                if f.client_app_id == id && f.revoked_at.is_none() {
                    f.revoked_at = Some(now);
                }
            }
            Ok(Some(app))
        })
    }

    async fn delete_client_app(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            s.consents.retain(|(_, app_id), _| *app_id != id);
            let removed = s.apps.remove(&id).is_some();
            s.cascade();
            Ok(removed)
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

    async fn revoke_consent(&self, user_id: i64, app_id: i64, now: UnixTime) -> StoreResult<bool> {
        self.with(|s| {
            let existed = s.consents.remove(&(user_id, app_id)).is_some();
            for f in s.families.values_mut() {
                if f.user_id == Some(user_id) && f.client_app_id == app_id && f.revoked_at.is_none()
                {
                    f.revoked_at = Some(now);
                }
            }
            Ok(existed)
        })
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn create_family(
        &self,
        family: &Family,
        refresh: Option<&RefreshToken>,
    ) -> StoreResult<()> {
        self.with(|s| {
            if s.families.contains_key(&family.id)
                || refresh.is_some_and(|r| s.refresh.contains_key(&r.verifier))
            {
                return Err(StoreError::Conflict(
                    "family or refresh token exists".into(),
                ));
            }
            s.families.insert(family.id.clone(), family.clone());
            if let Some(r) = refresh {
                s.refresh.insert(r.verifier.clone(), r.clone());
            }
            Ok(())
        })
    }

    async fn family(&self, id: &str) -> StoreResult<Option<Family>> {
        self.with(|s| Ok(s.families.get(id).cloned()))
    }

    async fn refresh_token(&self, verifier: &str) -> StoreResult<Option<(RefreshToken, Family)>> {
        self.with(|s| {
            Ok(s.refresh
                .get(verifier)
                .and_then(|r| s.families.get(&r.family_id).map(|f| (r.clone(), f.clone()))))
        })
    }

    async fn rotate_refresh_token(
        &self,
        verifier: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation> {
        self.with(|s| {
            let Some(r) = s.refresh.get_mut(verifier) else {
                return Ok(Rotation::Unknown);
            };
            if r.rotated_at.is_some() {
                let family_id = r.family_id.clone();
                if let Some(f) = s.families.get_mut(&family_id) {
                    f.revoked_at.get_or_insert(now);
                }
                return Ok(Rotation::Reused { family_id });
            }
            r.rotated_at = Some(now);
            s.refresh
                .insert(successor.verifier.clone(), successor.clone());
            Ok(Rotation::Rotated)
        })
    }

    async fn revoke_family(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        self.with(|s| {
            Ok(match s.families.get_mut(id) {
                Some(f) if f.revoked_at.is_none() => {
                    f.revoked_at = Some(now);
                    true
                }
                _ => false,
            })
        })
    }

    async fn insert_auth_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.with(|s| {
            if s.codes.contains_key(&code.verifier) {
                return Err(StoreError::Conflict("code exists".into()));
            }
            s.codes.insert(code.verifier.clone(), code.clone());
            Ok(())
        })
    }

    async fn take_auth_code(&self, verifier: &str, now: UnixTime) -> StoreResult<CodeTake> {
        self.with(|s| {
            let Some(c) = s.codes.get_mut(verifier) else {
                return Ok(CodeTake::Unknown);
            };
            if c.used_at.is_some() {
                let c = c.clone();
                s.replayed_codes.entry(c.verifier.clone()).or_insert(now);
                if let Some(f) = c.family_id.as_ref().and_then(|f| s.families.get_mut(f)) {
                    f.revoked_at.get_or_insert(now);
                }
                return Ok(CodeTake::Replayed(c));
            }
            c.used_at = Some(now);
            Ok(CodeTake::Taken(c.clone()))
        })
    }

    async fn set_code_family(&self, verifier: &str, family_id: &str) -> StoreResult<bool> {
        self.with(|s| {
            if let Some(c) = s.codes.get_mut(verifier) {
                c.family_id = Some(family_id.to_owned());
            }
            let Some(at) = s.replayed_codes.get(verifier).copied() else {
                return Ok(false);
            };
            if let Some(f) = s.families.get_mut(family_id) {
                f.revoked_at.get_or_insert(at);
            }
            Ok(true)
        })
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.with(|s| {
            s.revoked_jtis.insert(jti.to_owned(), expires_at);
            Ok(())
        })
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        self.with(|s| Ok(s.revoked_jtis.contains_key(jti)))
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.codes.len() + s.refresh.len() + s.revoked_jtis.len();
            s.codes.retain(|_, c| c.expires_at > now);
            s.refresh
                .retain(|_, r| r.expires_at.is_none_or(|e| e > now));
            s.revoked_jtis.retain(|_, e| *e > now);
            Ok((before - s.codes.len() - s.refresh.len() - s.revoked_jtis.len()) as u64)
        })
    }
}

#[async_trait]
impl crate::session::SessionStore for MemoryStore {
    async fn insert_session(&self, session: &crate::session::Session) -> StoreResult<()> {
        self.with(|s| {
            if s.sessions.contains_key(&session.verifier) {
                return Err(StoreError::Conflict("session exists".into()));
            }
            if !s.users.contains_key(&session.user_id) {
                return Err(StoreError::Backend("no such user".into()));
            }
            s.sessions.insert(session.verifier.clone(), session.clone());
            Ok(())
        })
    }

    async fn session(&self, verifier: &str) -> StoreResult<Option<crate::session::Session>> {
        self.with(|s| Ok(s.sessions.get(verifier).cloned()))
    }

    async fn touch_session(&self, verifier: &str, idle_until: UnixTime) -> StoreResult<()> {
        self.with(|s| {
            if let Some(x) = s.sessions.get_mut(verifier) {
                x.idle_until = x.idle_until.max(idle_until);
            }
            Ok(())
        })
    }

    async fn delete_session(&self, verifier: &str) -> StoreResult<bool> {
        self.with(|s| Ok(s.sessions.remove(verifier).is_some()))
    }

    async fn purge_sessions(&self, now: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.sessions.len();
            s.sessions
                .retain(|_, x| x.idle_until > now && x.expires_at > now);
            Ok((before - s.sessions.len()) as u64)
        })
    }
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v.dedup();
    v
}

pub mod contract;
mod signing_keys;
mod vault;

/// A [`Context`](crate::context::Context) over a seeded [`MemoryStore`] with a pinned
/// clock, fixed verifier keys and a fresh in-memory signer, for core tests.
pub async fn test_context() -> (crate::context::Context, crate::clock::ManualClock) {
    use std::sync::Arc;
    let store = Arc::new(MemoryStore::new());
    #[allow(clippy::expect_used)]
    store.seed(&crate::bootstrap::seed()).await.expect("seed");
    let clock = crate::clock::ManualClock::at(1_800_000_000);
    #[allow(clippy::expect_used)]
    let signer = crate::oauth::keys::Signer::ephemeral("http://portcullis.test").expect("signer");
    let ctx = crate::context::Context {
        store,
        clock: Arc::new(clock.clone()),
        keys: crate::crypto::VerifierKeys::from_pepper(&[3; 32]),
        keyring: crate::crypto::Keyring::new(crate::crypto::MasterKey::generate(), vec![]),
        hasher: crate::crypto::PasswordHasher::new(2),
        signer: Arc::new(signer),
        redirects: Default::default(),
    };
    (ctx, clock)
}
