//! The storage traits. Adapters: in-memory ([`crate::testing`]), SQLite and PostgreSQL,
//! all held to one contract suite (`testing::contract`).
//!
//! Operations that must not race are atomic by contract in every adapter: a login
//! failure is counted exactly once and locks exactly when the limit is reached, a
//! server secret is initialised once however many nodes start together, and deleting a
//! client application takes its consents with it.

use crate::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use crate::clock::UnixTime;
use crate::identity::{Lock, LockoutPolicy, NewUser, Tenant, User};
use async_trait::async_trait;

/// A storage failure. The text is for the server log only, never for a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (the text names which).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which client applications a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppListScope {
    /// Those registered by this user.
    Owner(i64),
    /// Every application of this tenant.
    Tenant(i64),
}

/// A role to make sure exists, with its permissions.
#[derive(Debug, Clone)]
pub struct SeedRole {
    pub id: i64,
    pub tenant_id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: Vec<i64>,
}

/// What every install has: HDP's permission catalogue, the system tenant and roles 1–3.
#[derive(Debug, Clone)]
pub struct Seed {
    pub permissions: Vec<(i64, &'static str, &'static str)>,
    pub system_tenant: Tenant,
    pub roles: Vec<SeedRole>,
}

/// A consent: the user let the application act for them within these scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub user_id: i64,
    pub client_app_id: i64,
    /// The application's name, joined in for listings.
    pub app_name: String,
    pub scopes: Vec<String>,
    pub granted_at: UnixTime,
}

/// Everything Portcullis keeps.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Cheap liveness check of the database (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Makes sure the catalogue rows of [`Seed`] exist. Idempotent.
    async fn seed(&self, seed: &Seed) -> StoreResult<()>;

    /// A named server secret (sealed), if initialised.
    async fn server_secret(&self, name: &str) -> StoreResult<Option<String>>;
    /// Stores `value` under `name` unless a value is already there; returns the value
    /// now stored, so nodes starting together agree on one.
    async fn init_server_secret(
        &self,
        name: &str,
        value: &str,
        now: UnixTime,
    ) -> StoreResult<String>;

    // ---- tenants ----
    async fn tenant(&self, id: i64) -> StoreResult<Option<Tenant>>;
    /// Creates an active child of the system tenant. `Conflict` when the name is taken.
    async fn create_tenant(
        &self,
        name: &str,
        description: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<Tenant>;

    // ---- users ----
    /// Creates a user with its roles. `Conflict` when the login exists in the tenant.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// Every user with this login name, in any tenant (ordered by id).
    async fn users_by_login(&self, login: &str) -> StoreResult<Vec<User>>;
    async fn user_by_login(&self, tenant_id: i64, login: &str) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    /// The union of the user's roles' permissions and their explicit permissions, sorted.
    async fn effective_permissions(&self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// Replaces the password hash, clears failures and any lock, bumps `auth_version`.
    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Counts one failed sign-in under `policy`, atomically. Returns the lock in force
    /// afterwards (new or pre-existing), if any. Locking bumps `auth_version`.
    async fn record_login_failure(
        &self,
        user_id: i64,
        now: UnixTime,
        policy: LockoutPolicy,
    ) -> StoreResult<Option<Lock>>;
    /// Forgets counted failures after a successful sign-in.
    async fn clear_login_failures(&self, user_id: i64) -> StoreResult<()>;

    // ---- limits ----
    /// The most specific value set for `limit_id`: user, then tenant, then system.
    async fn limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>>;
    /// Sets a system-level limit value.
    async fn set_system_limit(&self, limit_id: i64, value: i64) -> StoreResult<()>;

    // ---- client applications ----
    /// `Conflict` when the client id is taken.
    async fn create_client_app(&self, app: NewClientApp) -> StoreResult<ClientApp>;
    async fn client_app(&self, id: i64) -> StoreResult<Option<ClientApp>>;
    async fn client_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>>;
    /// Ordered by id.
    async fn list_client_apps(&self, scope: AppListScope) -> StoreResult<Vec<ClientApp>>;
    async fn update_client_app(
        &self,
        id: i64,
        changes: ClientAppChanges,
    ) -> StoreResult<Option<ClientApp>>;
    /// Replaces the secret verifier and moves `tokens_valid_after` to `now`, revoking
    /// everything issued before; deletes the application's consents.
    async fn reset_client_secret(
        &self,
        id: i64,
        verifier: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ClientApp>>;
    /// Deletes the application and its consents.
    async fn delete_client_app(&self, id: i64) -> StoreResult<bool>;

    // ---- consents ("allowed applications") ----
    /// Records (or widens to the union of scopes) the user's consent to the application.
    async fn grant_consent(
        &self,
        user_id: i64,
        client_app_id: i64,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()>;
    /// The user's consents, ordered by application id.
    async fn consents_of_user(&self, user_id: i64) -> StoreResult<Vec<Consent>>;
    /// Withdraws the user's consent; `false` when there was none.
    async fn revoke_consent(&self, user_id: i64, client_app_id: i64) -> StoreResult<bool>;
}

/// Merges two scope lists keeping first-seen order, without duplicates.
pub fn union_scopes(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}
