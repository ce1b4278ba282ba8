//! [`UserStore`] for the in-memory store: users, role assignments, passwords and
//! lockout (each counted failure under the store's one lock, so exactly once).

use super::{sorted, MemoryStore, State};
use crate::model::identity::RoleAssignments;
use crate::model::identity::{Lock, LockoutPolicy, NewUser, User, UserChanges};
use crate::model::limits::LimitLevel;
use crate::model::time::UnixTime;
use crate::store::{StoreError, StoreResult, UserStore};
use async_trait::async_trait;
use std::collections::BTreeSet;

impl State {
    pub(super) fn remove_user(&mut self, id: i64) -> bool {
        let app_ids: Vec<i64> = self
            .apps
            .values()
            .filter(|a| a.owner_id == Some(id))
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

#[async_trait]
impl UserStore for MemoryStore {
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
                profile: u.profile,
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
                u.profile = c.profile;
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
}
