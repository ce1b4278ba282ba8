//! Tenants, users, roles and HDP's numeric permissions (`spec/hdp-reference.md` §3).

pub mod input;
pub mod profile;

pub use profile::UserProfile;

use crate::model::time::UnixTime;
use serde::Serialize;

/// The system tenant: exists from the first start, parent of every other tenant.
pub const SYSTEM_TENANT_ID: i64 = 1;

/// The roles every install has (HDP §3.1).
pub const ROLE_ADMINISTRATOR: i64 = 1;
pub const ROLE_USER: i64 = 2;
pub const ROLE_TENANT_ADMINISTRATOR: i64 = 3;

/// An HDP permission id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Permission(pub i64);

impl Permission {
    pub const CREATE_DATA_SOURCE: Permission = Permission(1);
    pub const VIEW_DATA_SOURCE: Permission = Permission(2);
    pub const MODIFY_DATA_SOURCE: Permission = Permission(3);
    pub const DELETE_DATA_SOURCE: Permission = Permission(4);
    pub const MGMT_API: Permission = Permission(11);
    pub const ADMINISTRATOR: Permission = Permission(12);
    pub const CREATE_USERS: Permission = Permission(13);
    pub const VIEW_USERS: Permission = Permission(14);
    pub const MODIFY_USERS: Permission = Permission(15);
    pub const DELETE_USERS: Permission = Permission(16);
    pub const ON_BEHALF_OF: Permission = Permission(21);
    pub const TENANT_API: Permission = Permission(25);
    pub const LIMITS: Permission = Permission(27);
    pub const OAUTH: Permission = Permission(28);
}

/// HDP's permission catalogue: id, name, description. Seeded by the first migration.
pub const PERMISSIONS: &[(i64, &str, &str)] = &[
    (1, "CreateDataSource", "May create new data sources."),
    (2, "ViewDataSource", "May view data sources they own."),
    (3, "ModifyDataSource", "May modify data sources they own."),
    (4, "DeleteDataSource", "May delete data sources they own."),
    (
        5,
        "UseDataSourceWithJDBC",
        "May query data sources through JDBC.",
    ),
    (
        6,
        "UseDataSourceWithODBC",
        "May query data sources through ODBC.",
    ),
    (
        7,
        "UseDataSourceWithOData",
        "May query data sources through OData.",
    ),
    (8, "WebUI", "May use the Web UI."),
    (
        9,
        "ChangePassword",
        "May change their own password in the Web UI.",
    ),
    (
        10,
        "SQLEditorWebUI",
        "May use the SQL editor in the Web UI.",
    ),
    (11, "MgmtAPI", "May use the Management API."),
    (
        12,
        "Administrator",
        "Super-user: may do everything, in every tenant.",
    ),
    (
        13,
        "CreateUsers",
        "May create users in the tenants they administer.",
    ),
    (
        14,
        "ViewUsers",
        "May list and read users in the tenants they administer.",
    ),
    (
        15,
        "ModifyUsers",
        "May modify and unlock users in the tenants they administer.",
    ),
    (
        16,
        "DeleteUsers",
        "May delete users in the tenants they administer.",
    ),
    (17, "CreateRole", "May create roles."),
    (18, "ViewRole", "May list and read roles."),
    (19, "ModifyRole", "May modify roles."),
    (20, "DeleteRole", "May delete roles."),
    (
        21,
        "OnBehalfOf",
        "May act on behalf of another user with ?user=.",
    ),
    (25, "TenantAPI", "May create and manage tenants."),
    (
        27,
        "Limits",
        "May read and change limits, including the lockout policy.",
    ),
    (28, "OAuth", "May manage OAuth application objects."),
    (29, "IPWhiteList", "May manage the IP whitelist."),
];

/// Permissions of the built-in User role (2): the user-category permissions 1–11.
pub const USER_ROLE_PERMISSIONS: &[i64] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// Permissions of the built-in Tenant Administrator role (3): the user permissions plus
/// the tenant-administration permissions 13–21.
pub const TENANT_ADMIN_ROLE_PERMISSIONS: &[i64] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21,
];

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<i64>,
    pub active: bool,
    /// Scopes tokens of this tenant may carry (default `api.access.odata`).
    pub allowed_scopes: Vec<String>,
}

/// What [`crate::store::TenantStore::create_tenant`] needs. Atomic: the tenant, its host
/// names, copies of the imported roles and its administrators appear together.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub allowed_scopes: Vec<String>,
    pub hosts: Vec<String>,
    /// Roles of the system tenant to copy (with new ids) into the new tenant.
    pub imported_roles: Vec<i64>,
    /// Users who administer the new tenant.
    pub admins: Vec<i64>,
    pub now: UnixTime,
}

impl NewTenant {
    /// An active tenant with the default scope and nothing else.
    pub fn named(name: &str, now: UnixTime) -> Self {
        Self {
            name: name.to_owned(),
            description: None,
            active: true,
            allowed_scopes: vec![crate::model::scope::ODATA.to_owned()],
            hosts: Vec::new(),
            imported_roles: Vec::new(),
            admins: Vec::new(),
            now,
        }
    }
}

/// The fields a tenant update replaces (host names too).
#[derive(Debug, Clone)]
pub struct TenantChanges {
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub allowed_scopes: Vec<String>,
    pub hosts: Vec<String>,
    pub now: UnixTime,
}

/// A role of a tenant with its permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub description: String,
    pub permissions: Vec<i64>,
}

/// Password status (HDP `passwordInfo.passwordStatus`).
pub const PASSWORD_ACTIVE: i64 = 1;
/// The user must set a new password at next sign-in.
pub const PASSWORD_MUST_RESET: i64 = 2;

/// Why an account may not sign in right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    pub locked_at: UnixTime,
    pub locked_until: UnixTime,
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub tenant_id: i64,
    pub login: String,
    /// PHC string of the Argon2id hash.
    pub password_hash: String,
    pub active: bool,
    /// Bumped on every password change, deactivation or lock: any cached proof of the
    /// old credentials, and (later) tokens minted before, stop counting.
    pub auth_version: i64,
    pub failed_logins: i64,
    pub failed_window_start: Option<UnixTime>,
    pub lock: Option<Lock>,
    /// [`PASSWORD_ACTIVE`] or [`PASSWORD_MUST_RESET`].
    pub password_status: i64,
    pub password_expiration: Option<UnixTime>,
    /// Keyed verifier of the user's API secret (SPEC §1.4), if one was generated.
    pub api_secret_verifier: Option<String>,
    pub created_at: UnixTime,
    /// Names, e-mail and locale (OpenID Connect's standard claims); empty for users
    /// created through HDP's API.
    pub profile: UserProfile,
}

impl User {
    /// The lock in force at `now`, if any.
    pub fn lock_at(&self, now: UnixTime) -> Option<Lock> {
        self.lock.filter(|l| l.locked_until > now)
    }
}

/// What [`crate::store::UserStore::create_user`] needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub tenant_id: i64,
    pub login: String,
    pub password_hash: String,
    pub active: bool,
    pub roles: Vec<i64>,
    /// Explicit permissions beyond the roles'.
    pub permissions: Vec<i64>,
    pub password_status: i64,
    pub password_expiration: Option<UnixTime>,
    pub profile: UserProfile,
    pub now: UnixTime,
}

impl NewUser {
    /// An active user with an active password and the given roles.
    pub fn new(
        tenant_id: i64,
        login: &str,
        password_hash: String,
        roles: Vec<i64>,
        now: UnixTime,
    ) -> Self {
        Self {
            tenant_id,
            login: login.to_owned(),
            password_hash,
            active: true,
            roles,
            permissions: Vec::new(),
            password_status: PASSWORD_ACTIVE,
            password_expiration: None,
            profile: UserProfile::default(),
            now,
        }
    }
}

/// The fields a user update replaces. Deactivating bumps `auth_version`.
#[derive(Debug, Clone)]
pub struct UserChanges {
    pub login: String,
    pub active: bool,
    pub password_status: i64,
    pub password_expiration: Option<UnixTime>,
    /// The whole profile as it is to be (its `updated_at` included).
    pub profile: UserProfile,
    pub now: UnixTime,
}

impl UserChanges {
    /// Changes that keep `user` as it is, for an operation that changes one field.
    pub fn unchanged(user: &User, now: UnixTime) -> Self {
        Self {
            login: user.login.clone(),
            active: user.active,
            password_status: user.password_status,
            password_expiration: user.password_expiration,
            profile: user.profile.clone(),
            now,
        }
    }
}

/// The lockout policy (HDP limits 2, 3, 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Seconds over which failures are counted (limit 2, default 900).
    pub interval: i64,
    /// Failures that lock the account; 0 disables lockout (limit 3, default 3).
    pub limit: i64,
    /// How long the lock lasts in seconds (limit 4, default 1800).
    pub period: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            interval: 900,
            limit: 3,
            period: 1800,
        }
    }
}

/// A user's directly assigned roles and explicit permissions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleAssignments {
    pub roles: Vec<i64>,
    pub permissions: Vec<i64>,
}
