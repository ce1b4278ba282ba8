//! Users, their roles and permissions, passwords, locks and API secrets (HDP
//! `/api/admin/users`, `/api/mgmt/user`, `spec/hdp-reference.md` §3.1, §3.4, §3.5;
//! SPEC §1.4, §4.4).
//!
//! Every operation checks HDP's permission for it (CreateUsers 13, ViewUsers 14,
//! ModifyUsers 15, DeleteUsers 16, or Administrator 12) *and* that the caller
//! administers the user's tenant ([`super::policy`]); users of other tenants answer
//! "not found". Administrators cannot grant a permission they do not hold, nor change
//! their own roles, permissions or status.

use super::policy::{self, administers, denied};
use crate::actor::Actor;
use crate::auth::{store_failure, Principal};
use crate::clock::UnixTime;
use crate::context::Context;
use crate::crypto::Secret;
use crate::error::{ApiFailure, Code};
use crate::identity::{
    NewUser, Permission, Tenant, User, UserChanges, PASSWORD_ACTIVE, PASSWORD_MUST_RESET,
};
use crate::store::{RoleAssignments, StoreError};
use std::collections::BTreeSet;

/// Longest accepted login name (HDP §3.5).
pub const MAX_LOGIN: usize = 128;
/// Password length bounds. HDP's API caps passwords at 32 characters and its default
/// policy at 12; Portcullis accepts long passphrases (NIST SP 800-63B §5.1.1).
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;

/// A user with what the API shows about them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub user: User,
    pub tenant_name: String,
    pub grants: RoleAssignments,
}

/// A create request, as received.
#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub login: String,
    pub tenant_id: Option<i64>,
    pub active: bool,
    pub password: String,
    pub password_status: Option<i64>,
    pub password_expiration: Option<UnixTime>,
    pub grants: RoleAssignments,
}

/// An update request: login and status are replaced; the rest only when given.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    pub login: String,
    pub active: bool,
    /// `Some(false)` unlocks; `Some(true)` is refused (only failed sign-ins lock).
    pub account_locked: Option<bool>,
    pub password: Option<String>,
    /// The caller's current password: required when they set their own `password`.
    pub current_password: Option<String>,
    pub password_status: Option<i64>,
    pub password_expiration: Option<Option<UnixTime>>,
    pub grants: Option<RoleAssignments>,
}

fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::USER_NOT_FOUND,
        format!("There is no user with id {id}."),
    )
}

/// Validates a login name: 1–128 characters, no control characters, no ':' (HTTP Basic).
pub fn check_login(login: &str) -> Result<(), ApiFailure> {
    let field = "userName";
    if login.trim().is_empty() {
        return Err(ApiFailure::invalid_field(field, "must not be empty"));
    }
    let n = login.chars().count();
    if n > MAX_LOGIN {
        return Err(ApiFailure::invalid_field(
            field,
            format!("is {n} characters long; at most {MAX_LOGIN} are allowed"),
        ));
    }
    if login.chars().any(|c| c.is_control() || c == ':') || login != login.trim() {
        return Err(ApiFailure::invalid_field(
            field,
            "must not contain ':', control characters, or leading or trailing spaces",
        ));
    }
    Ok(())
}

/// The password policy: 8–128 characters, not containing the login name.
pub fn check_password(login: &str, password: &str) -> Result<(), ApiFailure> {
    let field = "password";
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(ApiFailure::invalid_field(
            field,
            format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long (it is {n})"),
        ));
    }
    if login.chars().count() >= 3 && password.to_lowercase().contains(&login.to_lowercase()) {
        return Err(ApiFailure::invalid_field(
            field,
            "must not contain the user name",
        ));
    }
    Ok(())
}

fn check_password_status(status: i64) -> Result<i64, ApiFailure> {
    match status {
        PASSWORD_ACTIVE | PASSWORD_MUST_RESET => Ok(status),
        _ => Err(ApiFailure::invalid_field(
            "passwordInfo.passwordStatus",
            format!("{status} is not 1 (active) or 2 (must be reset)"),
        )),
    }
}

async fn tenant_of(ctx: &Context, id: i64) -> Result<Tenant, ApiFailure> {
    ctx.store
        .tenant(id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| {
            ApiFailure::new(
                Code::TENANT_NOT_FOUND,
                format!("There is no Tenant with that id: {id}."),
            )
        })
}

async fn view(ctx: &Context, user: User) -> Result<UserView, ApiFailure> {
    let tenant_name = tenant_of(ctx, user.tenant_id)
        .await
        .map(|t| t.name)
        .unwrap_or_default();
    let grants = ctx
        .store
        .role_assignments(user.id)
        .await
        .map_err(store_failure)?;
    Ok(UserView {
        user,
        tenant_name,
        grants,
    })
}

/// Checks that `grants` are valid in `tenant_id` and within what the caller holds.
async fn check_grants(
    ctx: &Context,
    caller: Actor<'_>,
    tenant_id: i64,
    g: &RoleAssignments,
) -> Result<(), ApiFailure> {
    if g.roles.is_empty() {
        return Err(ApiFailure::invalid_field(
            "permissions.roles",
            "at least one role is required",
        ));
    }
    let mut wanted: BTreeSet<i64> = BTreeSet::new();
    for id in &g.roles {
        match ctx.store.role(*id).await.map_err(store_failure)? {
            Some(role) if role.tenant_id == tenant_id => wanted.extend(role.permissions),
            _ => {
                return Err(ApiFailure::invalid_field(
                    "permissions.roles",
                    format!("there is no role {id} in tenant {tenant_id}"),
                ))
            }
        }
    }
    for p in &g.permissions {
        if !crate::identity::PERMISSIONS
            .iter()
            .any(|(id, _, _)| id == p)
        {
            return Err(ApiFailure::invalid_field(
                "permissions.permissions",
                format!("{p} is not a permission id"),
            ));
        }
        wanted.insert(*p);
    }
    if let Some(p) = wanted.iter().find(|p| !caller.has(Permission(**p))) {
        return Err(ApiFailure::forbidden(format!(
            "you cannot grant the {} permission ({p}), which you do not hold.",
            policy::permission_name(Permission(*p))
        )));
    }
    Ok(())
}

/// `g` with its lists sorted and without duplicates, as the store keeps them.
fn sorted(g: &RoleAssignments) -> RoleAssignments {
    let norm = |v: &[i64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    RoleAssignments {
        roles: norm(&g.roles),
        permissions: norm(&g.permissions),
    }
}

/// Loads user `id` if the caller may act on it with `perm` (self always sees self).
async fn target<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
    perm: Permission,
    what: &str,
) -> Result<User, ApiFailure> {
    let caller = caller.into();
    let user = ctx
        .store
        .user(id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| not_found(id))?;
    if caller.is_user(user.id) && perm == Permission::VIEW_USERS {
        return Ok(user);
    }
    if !administers(ctx, caller, user.tenant_id).await? {
        return Err(not_found(id));
    }
    policy::require(caller, perm, what)?;
    Ok(user)
}

/// Which users a listing covers (HDP's `?tenantId=` / `?tenantName=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantFilter {
    All,
    Id(i64),
    Name(String),
}

/// Lists users of the tenants the caller administers (optionally one tenant).
pub async fn list(
    ctx: &Context,
    caller: &Principal,
    filter: TenantFilter,
) -> Result<Vec<UserView>, ApiFailure> {
    policy::require(caller, Permission::VIEW_USERS, "Listing users")?;
    let tenant = match filter {
        TenantFilter::All => None,
        TenantFilter::Id(id) => Some(id),
        TenantFilter::Name(name) => match ctx
            .store
            .tenant_by_name(&name)
            .await
            .map_err(store_failure)?
        {
            Some(t) => Some(t.id),
            None => {
                return Err(ApiFailure::new(
                    Code::TENANT_NOT_FOUND,
                    format!("There is no Tenant named '{name}'."),
                ))
            }
        },
    };
    let scope = policy::administered(ctx, caller).await?;
    let users = match (tenant, &scope) {
        (Some(t), Some(allowed)) if !allowed.contains(&t) => {
            return Err(ApiFailure::new(
                Code::TENANT_NOT_FOUND,
                format!("There is no Tenant with that id: {t}."),
            ))
        }
        (Some(t), _) => ctx.store.list_users(Some(t)).await.map_err(store_failure)?,
        (None, None) => ctx.store.list_users(None).await.map_err(store_failure)?,
        (None, Some(allowed)) => {
            let mut all = Vec::new();
            for t in allowed {
                all.extend(
                    ctx.store
                        .list_users(Some(*t))
                        .await
                        .map_err(store_failure)?,
                );
            }
            all.sort_by_key(|u| u.id);
            all
        }
    };
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        out.push(view(ctx, u).await?);
    }
    Ok(out)
}

/// Creates a user (in the caller's tenant unless another is named; the operator's is
/// the system tenant).
pub async fn create<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    req: CreateUser,
) -> Result<UserView, ApiFailure> {
    let caller = caller.into();
    check_login(&req.login)?;
    check_password(&req.login, &req.password)?;
    let status = check_password_status(req.password_status.unwrap_or(PASSWORD_ACTIVE))?;
    let tenant_id = req.tenant_id.unwrap_or(caller.tenant_id());
    let tenant = tenant_of(ctx, tenant_id).await?;
    if !administers(ctx, caller, tenant.id).await? {
        return Err(ApiFailure::new(
            Code::TENANT_NOT_FOUND,
            format!("There is no Tenant with that id: {tenant_id}."),
        ));
    }
    policy::require(caller, Permission::CREATE_USERS, "Creating a user")?;
    check_grants(ctx, caller, tenant.id, &req.grants).await?;
    let hash = hash_password(ctx, &req.password).await?;
    let new = NewUser {
        tenant_id: tenant.id,
        login: req.login.clone(),
        password_hash: hash,
        active: req.active,
        roles: req.grants.roles,
        permissions: req.grants.permissions,
        password_status: status,
        password_expiration: req.password_expiration,
        now: ctx.now(),
    };
    let user = ctx.store.create_user(new).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiFailure::new(
            Code::USER_EXISTS,
            format!(
                "A user named '{}' already exists in tenant {}.",
                req.login, tenant.name
            ),
        ),
        e => store_failure(e),
    })?;
    tracing::info!(
        user_id = user.id,
        tenant = tenant.id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "user created"
    );
    view(ctx, user).await
}

/// One user.
pub async fn get(ctx: &Context, caller: &Principal, id: i64) -> Result<UserView, ApiFailure> {
    let user = target(ctx, caller, id, Permission::VIEW_USERS, "Reading a user").await?;
    view(ctx, user).await
}

/// Updates a user: login and status; unlock, password and grants when given.
pub async fn update(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    req: UpdateUser,
) -> Result<UserView, ApiFailure> {
    check_login(&req.login)?;
    let user = target(
        ctx,
        caller,
        id,
        Permission::MODIFY_USERS,
        "Modifying a user",
    )
    .await?;
    let is_self = user.id == caller.user.id;
    if is_self && !req.active {
        return Err(ApiFailure::forbidden(
            "you cannot deactivate your own account.",
        ));
    }
    if req.account_locked == Some(true) {
        return Err(ApiFailure::invalid_field(
            "statusInfo.accountLocked",
            "accounts are locked only by failed sign-ins; use false to unlock",
        ));
    }
    if req.password.is_some() && is_self {
        // A stolen token or session must not be enough to take the account over.
        crate::auth::confirm_current_password(
            ctx,
            &user,
            req.current_password.as_deref(),
            "passwordInfo.oldPassword",
        )
        .await?;
    }
    if let Some(p) = &req.password {
        check_password(&req.login, p)?;
    }
    let status = check_password_status(req.password_status.unwrap_or(user.password_status))?;
    // Role assignments echoed back unchanged are not a change (and must not end sessions).
    let current = ctx
        .store
        .role_assignments(id)
        .await
        .map_err(store_failure)?;
    let new_grants = req.grants.filter(|g| sorted(g) != current);
    if let Some(g) = &new_grants {
        if is_self {
            return Err(ApiFailure::forbidden(
                "you cannot change your own roles or permissions.",
            ));
        }
        check_grants(ctx, caller.into(), user.tenant_id, g).await?;
    }
    let hash = match &req.password {
        Some(p) => Some(hash_password(ctx, p).await?),
        None => None,
    };
    let now = ctx.now();
    let changes = UserChanges {
        login: req.login.clone(),
        active: req.active,
        password_status: status,
        password_expiration: req.password_expiration.unwrap_or(user.password_expiration),
        now,
    };
    let updated = ctx
        .store
        .update_user(id, changes)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiFailure::new(
                Code::USER_EXISTS,
                format!(
                    "A user named '{}' already exists in this tenant.",
                    req.login
                ),
            ),
            e => store_failure(e),
        })?
        .ok_or_else(|| not_found(id))?;
    if let Some(g) = &new_grants {
        ctx.store
            .set_role_assignments(id, g)
            .await
            .map_err(store_failure)?;
    }
    if let Some(h) = hash {
        ctx.store
            .set_password(id, &h, now)
            .await
            .map_err(store_failure)?;
    } else if req.account_locked == Some(false) {
        ctx.store.unlock_user(id).await.map_err(store_failure)?;
    }
    tracing::info!(user_id = id, by = caller.user.id, "user updated");
    let fresh = ctx
        .store
        .user(id)
        .await
        .map_err(store_failure)?
        .unwrap_or(updated);
    view(ctx, fresh).await
}

/// Deletes a user (never oneself).
pub async fn delete(ctx: &Context, caller: &Principal, id: i64) -> Result<(), ApiFailure> {
    let user = target(ctx, caller, id, Permission::DELETE_USERS, "Deleting a user").await?;
    if user.id == caller.user.id {
        return Err(ApiFailure::forbidden("you cannot delete your own account."));
    }
    if !ctx.store.delete_user(id).await.map_err(store_failure)? {
        return Err(not_found(id));
    }
    tracing::info!(user_id = id, by = caller.user.id, "user deleted");
    Ok(())
}

/// The user's roles and explicit permissions.
pub async fn grants(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<RoleAssignments, ApiFailure> {
    target(
        ctx,
        caller,
        id,
        Permission::VIEW_USERS,
        "Reading a user's permissions",
    )
    .await?;
    ctx.store.role_assignments(id).await.map_err(store_failure)
}

/// Replaces the user's roles and explicit permissions.
pub async fn set_grants(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    g: RoleAssignments,
) -> Result<RoleAssignments, ApiFailure> {
    let user = target(
        ctx,
        caller,
        id,
        Permission::MODIFY_USERS,
        "Changing a user's permissions",
    )
    .await?;
    if user.id == caller.user.id {
        return Err(ApiFailure::forbidden(
            "you cannot change your own roles or permissions.",
        ));
    }
    check_grants(ctx, caller.into(), user.tenant_id, &g).await?;
    ctx.store
        .set_role_assignments(id, &g)
        .await
        .map_err(store_failure)?;
    tracing::info!(
        user_id = id,
        by = caller.user.id,
        "user permissions replaced"
    );
    ctx.store.role_assignments(id).await.map_err(store_failure)
}

/// Ends a lock (ModifyUsers 15 or Administrator, HDP §3.4).
pub async fn unlock<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
) -> Result<UserView, ApiFailure> {
    let caller = caller.into();
    let user = target(
        ctx,
        caller,
        id,
        Permission::MODIFY_USERS,
        "Unlocking a user",
    )
    .await?;
    ctx.store.unlock_user(id).await.map_err(store_failure)?;
    tracing::info!(
        user_id = id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "user unlocked"
    );
    let fresh = ctx
        .store
        .user(id)
        .await
        .map_err(store_failure)?
        .unwrap_or(user);
    view(ctx, fresh).await
}

/// Sets a user's password (ModifyUsers 15 or Administrator). Setting one's own needs
/// `current`, the current password, as at [`change_own_password`].
pub async fn set_password<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
    password: &str,
    current: Option<&str>,
    must_reset: bool,
) -> Result<(), ApiFailure> {
    let caller = caller.into();
    let user = target(
        ctx,
        caller,
        id,
        Permission::MODIFY_USERS,
        "Setting a user's password",
    )
    .await?;
    if caller.is_user(user.id) {
        crate::auth::confirm_current_password(ctx, &user, current, "oldPassword").await?;
    }
    check_password(&user.login, password)?;
    store_password(ctx, &user, password).await?;
    if must_reset {
        let changes = UserChanges {
            login: user.login.clone(),
            active: user.active,
            password_status: PASSWORD_MUST_RESET,
            password_expiration: user.password_expiration,
            now: ctx.now(),
        };
        ctx.store
            .update_user(id, changes)
            .await
            .map_err(store_failure)?;
    }
    tracing::info!(
        user_id = id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "password set by an administrator"
    );
    Ok(())
}

/// Changes the caller's own password, proving the current one.
pub async fn change_own_password(
    ctx: &Context,
    caller: &Principal,
    current: &str,
    new: &str,
) -> Result<(), ApiFailure> {
    policy::require(caller, Permission(9), "Changing your password")?;
    crate::auth::confirm_current_password(ctx, &caller.user, Some(current), "oldPassword").await?;
    check_password(&caller.user.login, new)?;
    if current == new {
        return Err(ApiFailure::invalid_field(
            "newPassword",
            "must differ from the current password",
        ));
    }
    store_password(ctx, &caller.user, new).await?;
    if caller.user.password_status == PASSWORD_MUST_RESET {
        let changes = UserChanges {
            login: caller.user.login.clone(),
            active: caller.user.active,
            password_status: PASSWORD_ACTIVE,
            password_expiration: caller.user.password_expiration,
            now: ctx.now(),
        };
        ctx.store
            .update_user(caller.user.id, changes)
            .await
            .map_err(store_failure)?;
    }
    tracing::info!(user_id = caller.user.id, "password changed by its owner");
    Ok(())
}

/// Hashes a password on the Argon2 pool; a failure is logged and reported as internal.
async fn hash_password(ctx: &Context, password: &str) -> Result<String, ApiFailure> {
    ctx.hasher.hash(password).await.map_err(|e| {
        tracing::error!(error = %e, "hashing a password failed");
        ApiFailure::internal(Code::INTERNAL)
    })
}

async fn store_password(ctx: &Context, user: &User, password: &str) -> Result<(), ApiFailure> {
    let hash = hash_password(ctx, password).await?;
    if !ctx
        .store
        .set_password(user.id, &hash, ctx.now())
        .await
        .map_err(store_failure)?
    {
        return Err(not_found(user.id));
    }
    Ok(())
}

/// Generates (or regenerates) the user's API secret; it is shown once.
pub async fn generate_api_secret(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<Secret, ApiFailure> {
    target(
        ctx,
        caller,
        id,
        Permission::MODIFY_USERS,
        "Generating an API secret",
    )
    .await?;
    let secret = Secret::generate();
    let verifier = ctx.keys.verifier(secret.expose());
    if !ctx
        .store
        .set_api_secret(id, Some(&verifier), ctx.now())
        .await
        .map_err(store_failure)?
    {
        return Err(not_found(id));
    }
    tracing::info!(user_id = id, by = caller.user.id, "API secret generated");
    Ok(secret)
}

/// Deletes the user's API secret.
pub async fn delete_api_secret(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<(), ApiFailure> {
    let user = target(
        ctx,
        caller,
        id,
        Permission::MODIFY_USERS,
        "Deleting an API secret",
    )
    .await?;
    if user.api_secret_verifier.is_none() {
        return Err(ApiFailure::new(
            Code::NO_API_SECRET,
            format!("User {id} has no API secret."),
        ));
    }
    ctx.store
        .set_api_secret(id, None, ctx.now())
        .await
        .map_err(store_failure)?;
    tracing::info!(user_id = id, by = caller.user.id, "API secret deleted");
    Ok(())
}

/// The caller's own view (`/api/mgmt/user`, `/api/mgmt/permissions`): MgmtAPI (11).
pub fn me(caller: &Principal) -> Result<&Principal, ApiFailure> {
    if caller.is_administrator() || caller.has(Permission::MGMT_API) {
        Ok(caller)
    } else {
        Err(denied("Using the Management API", Permission::MGMT_API))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_checked() {
        assert!(check_login("alice").is_ok());
        assert!(check_login("alice@example.com").is_ok());
        assert!(check_login("").is_err());
        assert!(check_login("a:b").is_err());
        assert!(check_login(" alice").is_err());
        assert!(check_login(&"a".repeat(129)).is_err());
    }

    #[test]
    fn passwords_need_length_and_must_not_contain_the_name() {
        assert!(check_password("alice", "correct horse").is_ok());
        assert!(check_password("alice", "short").is_err());
        assert!(check_password("alice", &"x".repeat(129)).is_err());
        let e = check_password("alice", "my-Alice-pw-1")
            .err()
            .map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some("Invalid value for 'password': must not contain the user name")
        );
    }
}
