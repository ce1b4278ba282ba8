//! The in-memory [`Store`](crate::store::Store), for core tests: every operation
//! runs under one lock, which makes each atomic as the store contract asks. One file
//! per storage trait, as in [`crate::store`]; the state they share is here.

use crate::model::client_app::ClientApp;
use crate::model::identity::RoleAssignments;
use crate::model::identity::{Role, Tenant, User};
use crate::model::limits::LimitLevel;
use crate::model::time::UnixTime;
use crate::model::token::{AuthCode, Family, PushedRequest, RefreshToken};
use crate::store::{StoreError, StoreResult};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

mod assertions;
mod audit;
mod clients;
mod devices;
mod exchange;
mod grants;
mod keys;
mod limits;
mod registrations;
mod resources;
mod sealed;
mod sessions;
mod setup;
mod tenants;
mod tokens;
mod users;
mod vault;

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
    resources: BTreeMap<i64, crate::model::resource::ResourceServer>,
    apps: BTreeMap<i64, ClientApp>,
    consents: BTreeMap<(i64, i64), (Vec<String>, UnixTime)>,
    families: BTreeMap<String, Family>,
    refresh: BTreeMap<String, RefreshToken>,
    codes: BTreeMap<String, AuthCode>,
    pushed: BTreeMap<String, PushedRequest>,
    revoked_jtis: BTreeMap<String, UnixTime>,
    signing_keys: BTreeMap<String, crate::model::signing_key::StoredKey>,
    vault: vault::VaultState,
    next_id: i64,
    sessions: BTreeMap<String, crate::model::session::Session>,
    /// When each replayed authorization code was first replayed.
    replayed_codes: BTreeMap<String, UnixTime>,
    registration_policies: BTreeMap<i64, crate::model::registration::RegistrationPolicy>,
    /// Initial access tokens by id, with their verifiers.
    initial_access_tokens: BTreeMap<i64, (String, crate::model::registration::InitialAccessToken)>,
    /// Used client assertion `jti`s per client id, with their expiry.
    assertion_jtis: BTreeMap<(String, String), UnixTime>,
    /// Client exchange policies by application id (a column of the row in SQL).
    exchange_policies: BTreeMap<i64, crate::model::token_exchange::ExchangePolicy>,
    vault_retrievals: Vec<crate::model::token_exchange::VaultRetrieval>,
    /// Device authorization requests by device-code verifier.
    devices: BTreeMap<String, crate::model::device::DeviceGrant>,
    /// The audit trail, oldest first (ids ascend).
    audit_events: Vec<crate::model::audit::AuditEvent>,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id + 100
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
        self.pushed.retain(|_, p| apps.contains(&p.client_app_id));
        self.devices.retain(|_, d| apps.contains(&d.client_app_id));
        for c in self.codes.values_mut() {
            if c.family_id.as_ref().is_some_and(|f| !families.contains(f)) {
                c.family_id = None;
            }
        }
        let tenants: BTreeSet<i64> = self.tenants.keys().copied().collect();
        self.vault.cascade(&users, &tenants);
        self.resources.retain(|_, r| tenants.contains(&r.tenant_id));
        self.registration_policies
            .retain(|t, _| tenants.contains(t));
        self.initial_access_tokens
            .retain(|_, (_, t)| tenants.contains(&t.tenant_id));
        for (_, t) in self.initial_access_tokens.values_mut() {
            if t.created_by.is_some_and(|u| !users.contains(&u)) {
                t.created_by = None;
            }
        }
        self.sessions.retain(|_, x| users.contains(&x.user_id));
    }
}

/// A [`Store`](crate::store::Store) in memory, for core tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// Where each store operation was called from (its method's file and line), in
    /// order: tests compare the store work of two paths with [`Self::take_calls`].
    calls: Mutex<Vec<&'static std::panic::Location<'static>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The operations run since the last call, each named by its method's place
    /// (`file:line:column`).
    pub fn take_calls(&self) -> Vec<String> {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *calls)
            .iter()
            .map(|l| l.to_string())
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

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v.dedup();
    v
}
