//! [`UserStore`]: users with their role assignments, effective permissions,
//! passwords, sign-in failures and locks, and API secrets.

use super::error::StoreResult;
use crate::model::identity::RoleAssignments;
use crate::model::identity::{Lock, LockoutPolicy, NewUser, User, UserChanges};
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// Users. A failed sign-in is counted exactly once and locks exactly when the limit is
/// reached, however many arrive together.
#[async_trait]
pub trait UserStore: Send + Sync {
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
    async fn set_role_assignments(
        &self,
        id: i64,
        assignments: &RoleAssignments,
    ) -> StoreResult<bool>;
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
}
