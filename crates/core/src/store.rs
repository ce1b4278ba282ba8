//! The storage traits. Adapters: in-memory ([`crate::testing`]), SQLite and PostgreSQL,
//! all held to one contract suite (`testing::contract`).
//!
//! Operations that must not race are atomic by contract in every adapter: a login
//! failure is counted exactly once and locks exactly when the limit is reached, a
//! server secret is initialised once however many nodes start together, and deleting a
//! client application takes its consents with it.

use crate::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use crate::clock::UnixTime;
use crate::identity::{
    Lock, LockoutPolicy, NewTenant, NewUser, Role, Tenant, TenantChanges, User, UserChanges,
};
use crate::oauth::grants::{AuthCode, CodeTake, Family, RefreshToken, Rotation};
use crate::oauth::keys::{KeyRotation, StoredKey};
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

/// Where a limit value is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitLevel {
    System,
    Tenant(i64),
    User(i64),
}

impl LimitLevel {
    /// The stored (level, target id) pair.
    pub fn key(self) -> (&'static str, i64) {
        match self {
            LimitLevel::System => ("system", 0),
            LimitLevel::Tenant(t) => ("tenant", t),
            LimitLevel::User(u) => ("user", u),
        }
    }
}

/// A user's directly assigned roles and explicit permissions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleAssignments {
    pub roles: Vec<i64>,
    pub permissions: Vec<i64>,
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
pub trait Store:
    KeyStore
    + TokenStore
    + crate::session::SessionStore
    + crate::vault::store::VaultStore
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
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

    // ---- roles ----
    /// The tenant's roles with their permissions, ordered by id.
    async fn roles(&self, tenant_id: i64) -> StoreResult<Vec<Role>>;
    async fn role(&self, id: i64) -> StoreResult<Option<Role>>;

    // ---- users ----
    /// Creates a user with its roles. `Conflict` when the login exists in the tenant.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// Every user with this login name, in any tenant (ordered by id).
    async fn users_by_login(&self, login: &str) -> StoreResult<Vec<User>>;
    async fn user_by_login(&self, tenant_id: i64, login: &str) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    /// Users of one tenant, or of all tenants, ordered by id.
    async fn list_users(&self, tenant_id: Option<i64>) -> StoreResult<Vec<User>>;
    /// `Conflict` when the new login exists in the tenant.
    async fn update_user(&self, id: i64, changes: UserChanges) -> StoreResult<Option<User>>;
    /// Deletes the user with their applications and consents.
    async fn delete_user(&self, id: i64) -> StoreResult<bool>;
    async fn role_assignments(&self, id: i64) -> StoreResult<RoleAssignments>;
    /// Replaces the user's roles and explicit permissions atomically; bumps `auth_version`.
    async fn set_role_assignments(&self, id: i64, grants: &RoleAssignments) -> StoreResult<bool>;
    /// Ends a lock and forgets counted failures.
    async fn unlock_user(&self, id: i64) -> StoreResult<bool>;
    /// Sets (`Some`) or removes (`None`) the verifier of the user's API secret.
    async fn set_api_secret(
        &self,
        id: i64,
        verifier: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool>;
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
    /// Sets (`Some`) or clears (`None`) a limit value at a level.
    async fn set_limit(
        &self,
        level: LimitLevel,
        limit_id: i64,
        value: Option<i64>,
    ) -> StoreResult<()>;
    /// The values set at exactly this level, ordered by limit id.
    async fn limits_at(&self, level: LimitLevel) -> StoreResult<Vec<(i64, i64)>>;

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
    /// everything issued before; deletes the application's consents and revokes its
    /// token families, atomically.
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
    /// Withdraws the user's consent and, atomically, revokes every token family of
    /// that user and application. `false` when there was no consent.
    async fn revoke_consent(
        &self,
        user_id: i64,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;

    // ---- speed ----
    /// Whether an access token's `jti` is revoked, whether its family (if any) is live,
    /// and its user (if any), read together: one round trip in the SQL stores, which
    /// override this (every introspection and protected request asks it).
    async fn token_state(
        &self,
        jti: &str,
        family: Option<&str>,
        user_id: Option<i64>,
    ) -> StoreResult<TokenState> {
        let jti_revoked = self.is_jti_revoked(jti).await?;
        let family_live = match family {
            Some(f) => Some(
                self.family(f)
                    .await?
                    .is_some_and(|f| f.revoked_at.is_none()),
            ),
            None => None,
        };
        let user = match user_id {
            Some(id) => self.user(id).await?,
            None => None,
        };
        Ok(TokenState {
            jti_revoked,
            family_live,
            user,
        })
    }
}

/// The current state behind an access token ([`Store::token_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub jti_revoked: bool,
    /// `Some(true)` when the family exists and is not revoked; `None` when none was asked.
    pub family_live: Option<bool>,
    /// The user, when one was asked and exists.
    pub user: Option<User>,
}

/// The token service's storage. Single-use operations are atomic by contract:
/// of two concurrent rotations or code redemptions exactly one wins.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates a family and, when given, its first refresh token, atomically.
    async fn create_family(
        &self,
        family: &Family,
        refresh: Option<&RefreshToken>,
    ) -> StoreResult<()>;
    async fn family(&self, id: &str) -> StoreResult<Option<Family>>;
    /// A refresh token by verifier, with its family.
    async fn refresh_token(&self, verifier: &str) -> StoreResult<Option<(RefreshToken, Family)>>;
    /// Marks `verifier` rotated at `now` and stores `successor` in its family, atomically.
    /// A token already rotated is reuse: its family is revoked instead.
    async fn rotate_refresh_token(
        &self,
        verifier: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation>;
    /// Revokes one family; `false` when unknown or already revoked.
    async fn revoke_family(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Stores a new authorization code.
    async fn insert_auth_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Spends a code atomically; a second use is a replay and revokes the family
    /// issued from the code.
    async fn take_auth_code(&self, verifier: &str, now: UnixTime) -> StoreResult<CodeTake>;
    /// Records the family issued from a code (for replay revocation), atomically with
    /// a check for a replay that came in between the take and now: if the code was
    /// replayed meanwhile, the family is revoked and the answer is `true`.
    async fn set_code_family(&self, verifier: &str, family_id: &str) -> StoreResult<bool>;
    /// Records an access token's `jti` as revoked until it expires anyway.
    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Deletes expired codes, expired refresh tokens and revocations of expired tokens.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;
}

/// The signing keys of access tokens ([`crate::oauth::keys`]). Nodes starting together
/// on an empty database, and rotations racing each other, leave exactly one active
/// and one next key: the store decides, atomically.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every signing key, ordered by creation time, then kid.
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Stores `key` unless its kid is taken or, for a key in state `active` or `next`,
    /// another key already is in that state. Returns whether it was stored.
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Atomically: the active key starts retiring (until `retire_at`), the next key
    /// `promote` becomes active (at `now`) and `next` is stored as the next key.
    /// Returns `false`, changing nothing, when `promote` is no longer the next key
    /// (another rotation won).
    async fn rotate_signing_keys(&self, rotation: &KeyRotation) -> StoreResult<bool>;
    /// Deletes the retiring keys whose `retire_at` is at or before `before`; returns
    /// how many.
    async fn delete_retired_keys(&self, before: UnixTime) -> StoreResult<u64>;
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
