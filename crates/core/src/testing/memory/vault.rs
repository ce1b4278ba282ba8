//! [`VaultStore`] for the in-memory store: every operation under the store's one
//! lock, which makes leases and connect-state takes atomic as the contract asks.

use super::MemoryStore;
use crate::model::time::UnixTime;
use crate::model::vault::ProfileScope;
use crate::model::vault::{
    ConnectState, NewOAuthApp, NewOAuthProfile, OAuthApp, OAuthAppChanges, OAuthProfile,
    ProfileChanges, RefreshFailure, RefreshSuccess,
};
use crate::store::{SealedColumn, SealedValue, VaultStore};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub(super) struct VaultState {
    apps: BTreeMap<i64, OAuthApp>,
    profiles: BTreeMap<i64, OAuthProfile>,
    holders: BTreeMap<i64, String>,
    states: BTreeMap<String, ConnectState>,
}

impl VaultState {
    /// Drops what hangs off removed users and applications (ON DELETE CASCADE).
    pub(super) fn cascade(&mut self, users: &BTreeSet<i64>, tenants: &BTreeSet<i64>) {
        self.apps.retain(|_, a| tenants.contains(&a.tenant_id));
        let apps: BTreeSet<i64> = self.apps.keys().copied().collect();
        self.profiles
            .retain(|_, p| users.contains(&p.owner_id) && apps.contains(&p.oauth_app_id));
        let profiles: BTreeSet<i64> = self.profiles.keys().copied().collect();
        self.holders.retain(|id, _| profiles.contains(id));
        self.states
            .retain(|_, c| users.contains(&c.user_id) && apps.contains(&c.oauth_app_id));
    }
}

impl VaultState {
    /// Ends `holder`'s refresh lease on profile `id` after `change`: the changed
    /// profile, or `None` when `holder` does not hold the lease (as the SQL's guard).
    fn release_lease(
        &mut self,
        id: i64,
        holder: &str,
        change: impl FnOnce(&mut OAuthProfile),
    ) -> Option<OAuthProfile> {
        if self.holders.get(&id).map(String::as_str) != Some(holder) {
            return None;
        }
        let p = self.profiles.get_mut(&id)?;
        change(p);
        p.refresh_lease_until = None;
        let p = p.clone();
        self.holders.remove(&id);
        Some(p)
    }
}

fn name_taken(v: &VaultState, tenant: i64, name: &str, except: Option<i64>) -> bool {
    v.apps
        .values()
        .any(|a| a.tenant_id == tenant && a.name == name && Some(a.id) != except)
}

fn profile_taken(v: &VaultState, owner: i64, name: &str, except: Option<i64>) -> bool {
    v.profiles
        .values()
        .any(|p| p.owner_id == owner && p.name == name && Some(p.id) != except)
}

#[async_trait]
impl VaultStore for MemoryStore {
    async fn create_oauth_app(&self, a: NewOAuthApp) -> StoreResult<OAuthApp> {
        self.with(|s| {
            if name_taken(&s.vault, a.tenant_id, &a.name, None) {
                return Err(StoreError::Conflict(format!("oauth app {}", a.name)));
            }
            let app = OAuthApp {
                id: s.id(),
                seal_ref: a.seal_ref,
                tenant_id: a.tenant_id,
                name: a.name,
                data_store: a.data_store,
                description: a.description,
                client_id: a.client_id,
                client_secret_sealed: a.client_secret_sealed,
                authorize_uri: a.authorize_uri,
                token_uri: a.token_uri,
                scope: a.scope,
                token_auth_method: a.token_auth_method,
                created_at: a.now,
                updated_at: a.now,
            };
            s.vault.apps.insert(app.id, app.clone());
            Ok(app)
        })
    }

    async fn oauth_app(&self, id: i64) -> StoreResult<Option<OAuthApp>> {
        self.with(|s| Ok(s.vault.apps.get(&id).cloned()))
    }

    async fn list_oauth_apps(&self, tenants: Option<&[i64]>) -> StoreResult<Vec<OAuthApp>> {
        self.with(|s| {
            Ok(s.vault
                .apps
                .values()
                .filter(|a| tenants.is_none_or(|t| t.contains(&a.tenant_id)))
                .cloned()
                .collect())
        })
    }

    async fn update_oauth_app(&self, id: i64, c: OAuthAppChanges) -> StoreResult<Option<OAuthApp>> {
        self.with(|s| {
            let Some(tenant) = s.vault.apps.get(&id).map(|a| a.tenant_id) else {
                return Ok(None);
            };
            if name_taken(&s.vault, tenant, &c.name, Some(id)) {
                return Err(StoreError::Conflict(format!("oauth app {}", c.name)));
            }
            let Some(a) = s.vault.apps.get_mut(&id) else {
                return Ok(None);
            };
            a.name = c.name;
            a.data_store = c.data_store;
            a.description = c.description;
            a.client_id = c.client_id;
            a.client_secret_sealed = c.client_secret_sealed;
            a.authorize_uri = c.authorize_uri;
            a.token_uri = c.token_uri;
            a.scope = c.scope;
            a.token_auth_method = c.token_auth_method;
            a.updated_at = c.now;
            Ok(Some(a.clone()))
        })
    }

    async fn delete_oauth_app(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            let removed = s.vault.apps.remove(&id).is_some();
            let users: BTreeSet<i64> = s.users.keys().copied().collect();
            let tenants: BTreeSet<i64> = s.tenants.keys().copied().collect();
            s.vault.cascade(&users, &tenants);
            Ok(removed)
        })
    }

    async fn create_oauth_profile(&self, p: NewOAuthProfile) -> StoreResult<OAuthProfile> {
        self.with(|s| {
            if !s.vault.apps.contains_key(&p.oauth_app_id) || !s.users.contains_key(&p.owner_id) {
                return Err(StoreError::Backend("foreign key violation".into()));
            }
            if profile_taken(&s.vault, p.owner_id, &p.name, None) {
                return Err(StoreError::Conflict(format!("oauth profile {}", p.name)));
            }
            let profile = OAuthProfile {
                id: s.id(),
                seal_ref: p.seal_ref,
                oauth_app_id: p.oauth_app_id,
                tenant_id: p.tenant_id,
                owner_id: p.owner_id,
                name: p.name,
                description: p.description,
                access_token_sealed: p.access_token_sealed,
                refresh_token_sealed: p.refresh_token_sealed,
                access_expires_at: p.access_expires_at,
                last_refreshed_at: None,
                last_attempt_at: None,
                last_refresh_error: None,
                refresh_failures: 0,
                next_attempt_at: None,
                refresh_lease_until: None,
                created_at: p.now,
                updated_at: p.now,
            };
            s.vault.profiles.insert(profile.id, profile.clone());
            Ok(profile)
        })
    }

    async fn oauth_profile(&self, id: i64) -> StoreResult<Option<OAuthProfile>> {
        self.with(|s| Ok(s.vault.profiles.get(&id).cloned()))
    }

    async fn list_oauth_profiles(&self, scope: ProfileScope) -> StoreResult<Vec<OAuthProfile>> {
        self.with(|s| {
            Ok(s.vault
                .profiles
                .values()
                .filter(|p| match &scope {
                    ProfileScope::Owner(o) => p.owner_id == *o,
                    ProfileScope::Tenants { tenants, owner } => {
                        p.owner_id == *owner || tenants.contains(&p.tenant_id)
                    }
                    ProfileScope::All => true,
                })
                .cloned()
                .collect())
        })
    }

    async fn update_oauth_profile(
        &self,
        id: i64,
        c: ProfileChanges,
    ) -> StoreResult<Option<OAuthProfile>> {
        self.with(|s| {
            let Some(owner) = s.vault.profiles.get(&id).map(|p| p.owner_id) else {
                return Ok(None);
            };
            if !s.vault.apps.contains_key(&c.oauth_app_id) {
                return Err(StoreError::Backend("foreign key violation".into()));
            }
            if profile_taken(&s.vault, owner, &c.name, Some(id)) {
                return Err(StoreError::Conflict(format!("oauth profile {}", c.name)));
            }
            let Some(p) = s.vault.profiles.get_mut(&id) else {
                return Ok(None);
            };
            p.oauth_app_id = c.oauth_app_id;
            p.name = c.name;
            p.description = c.description;
            p.access_token_sealed = c.access_token_sealed;
            p.refresh_token_sealed = c.refresh_token_sealed;
            p.access_expires_at = c.access_expires_at;
            p.last_refresh_error = None;
            p.refresh_failures = 0;
            p.next_attempt_at = None;
            p.updated_at = c.now;
            Ok(Some(p.clone()))
        })
    }

    async fn delete_oauth_profile(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            s.vault.holders.remove(&id);
            Ok(s.vault.profiles.remove(&id).is_some())
        })
    }

    async fn acquire_refresh_lease(
        &self,
        id: i64,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> StoreResult<Option<OAuthProfile>> {
        self.with(|s| {
            let Some(p) = s.vault.profiles.get_mut(&id) else {
                return Ok(None);
            };
            if p.refresh_lease_until.is_some_and(|u| u > now) {
                return Ok(None);
            }
            p.refresh_lease_until = Some(until);
            let p = p.clone();
            s.vault.holders.insert(id, holder.to_owned());
            Ok(Some(p))
        })
    }

    async fn release_refresh_lease(&self, id: i64, holder: &str) -> StoreResult<bool> {
        self.with(|s| Ok(s.vault.release_lease(id, holder, |_| {}).is_some()))
    }

    async fn finish_refresh(
        &self,
        id: i64,
        holder: &str,
        d: &RefreshSuccess,
    ) -> StoreResult<Option<OAuthProfile>> {
        self.with(|s| {
            Ok(s.vault.release_lease(id, holder, |p| {
                p.access_token_sealed = Some(d.access_token_sealed.clone());
                if let Some(r) = &d.refresh_token_sealed {
                    p.refresh_token_sealed = r.clone();
                }
                p.access_expires_at = d.access_expires_at;
                p.last_refreshed_at = Some(d.now);
                p.last_attempt_at = Some(d.now);
                p.last_refresh_error = None;
                p.refresh_failures = 0;
                p.next_attempt_at = None;
                p.updated_at = d.now;
            }))
        })
    }

    async fn fail_refresh(
        &self,
        id: i64,
        holder: &str,
        f: &RefreshFailure,
    ) -> StoreResult<Option<OAuthProfile>> {
        self.with(|s| {
            Ok(s.vault.release_lease(id, holder, |p| {
                p.last_attempt_at = Some(f.now);
                p.last_refresh_error = Some(f.error.clone());
                p.refresh_failures += 1;
                p.next_attempt_at = Some(f.next_attempt_at);
            }))
        })
    }

    async fn profiles_due(
        &self,
        expiring_by: UnixTime,
        now: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<OAuthProfile>> {
        self.with(|s| {
            let mut due: Vec<OAuthProfile> = s
                .vault
                .profiles
                .values()
                .filter(|p| {
                    p.access_expires_at.is_some_and(|e| e <= expiring_by)
                        && p.next_attempt_at.is_none_or(|n| n <= now)
                        && p.refresh_lease_until.is_none_or(|u| u <= now)
                })
                .cloned()
                .collect();
            due.sort_by_key(|p| (p.access_expires_at, p.id));
            due.truncate(usize::try_from(limit).unwrap_or(0));
            Ok(due)
        })
    }

    async fn insert_connect_state(&self, c: &ConnectState) -> StoreResult<()> {
        self.with(|s| {
            if s.vault.states.contains_key(&c.state_verifier) {
                return Err(StoreError::Conflict("connect state".into()));
            }
            s.vault.states.insert(c.state_verifier.clone(), c.clone());
            Ok(())
        })
    }

    async fn take_connect_state(&self, v: &str) -> StoreResult<Option<ConnectState>> {
        self.with(|s| Ok(s.vault.states.remove(v)))
    }

    async fn purge_connect_states(&self, now: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.vault.states.len();
            s.vault.states.retain(|_, c| c.expires_at > now);
            Ok((before - s.vault.states.len()) as u64)
        })
    }
}

impl VaultState {
    /// Every sealed value of the vault's `column`, for [`crate::store::SealedStore`].
    pub(super) fn sealed(&self, column: SealedColumn) -> Vec<SealedValue> {
        let v = |bound_to: &str, sealed: &str| SealedValue {
            bound_to: bound_to.to_owned(),
            sealed: sealed.to_owned(),
        };
        match column {
            SealedColumn::OAuthAppSecret => self
                .apps
                .values()
                .map(|a| v(&a.seal_ref, &a.client_secret_sealed))
                .collect(),
            SealedColumn::ProfileAccessToken => self
                .profiles
                .values()
                .filter_map(|p| p.access_token_sealed.as_deref().map(|s| v(&p.seal_ref, s)))
                .collect(),
            SealedColumn::ProfileRefreshToken => self
                .profiles
                .values()
                .map(|p| v(&p.seal_ref, &p.refresh_token_sealed))
                .collect(),
            SealedColumn::ConnectVerifier => self
                .states
                .values()
                .map(|c| v(&c.state_verifier, &c.code_verifier_sealed))
                .collect(),
            SealedColumn::ServerSecret | SealedColumn::SigningKey => Vec::new(),
        }
    }

    /// The cell of the vault's `column` holding `old`, if any.
    pub(super) fn sealed_cell(&mut self, column: SealedColumn, old: &str) -> Option<&mut String> {
        match column {
            SealedColumn::OAuthAppSecret => self
                .apps
                .values_mut()
                .map(|a| &mut a.client_secret_sealed)
                .find(|s| s.as_str() == old),
            SealedColumn::ProfileAccessToken => self
                .profiles
                .values_mut()
                .filter_map(|p| p.access_token_sealed.as_mut())
                .find(|s| s.as_str() == old),
            SealedColumn::ProfileRefreshToken => self
                .profiles
                .values_mut()
                .map(|p| &mut p.refresh_token_sealed)
                .find(|s| s.as_str() == old),
            SealedColumn::ConnectVerifier => self
                .states
                .values_mut()
                .map(|c| &mut c.code_verifier_sealed)
                .find(|s| s.as_str() == old),
            SealedColumn::ServerSecret | SealedColumn::SigningKey => None,
        }
    }
}
