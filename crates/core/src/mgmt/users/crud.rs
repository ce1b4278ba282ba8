//! Listing, creating, reading, changing and deleting users.

use super::access::{not_found, target, tenant_of, to_modify, view, view_after, UserView};
use super::passwords::{check_password_status, hash_password};
use super::roles::{check_role_assignments, sorted};
use crate::actor::Actor;
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::mgmt::policy::{self, administers};
use crate::model::identity::input::{check_login, check_password};
use crate::model::identity::profile::ProfileChanges;
use crate::model::identity::RoleAssignments;
use crate::model::identity::{NewUser, Permission, UserChanges, UserProfile, PASSWORD_ACTIVE};
use crate::model::time::UnixTime;
use crate::store::StoreError;

/// A create request, as received.
#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub login: String,
    pub tenant_id: Option<i64>,
    pub active: bool,
    pub password: String,
    pub password_status: Option<i64>,
    pub password_expiration: Option<UnixTime>,
    pub assignments: RoleAssignments,
    /// The optional profile fields given (clearing one is the same as not giving it).
    pub profile: ProfileChanges,
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
    pub assignments: Option<RoleAssignments>,
    /// Profile fields to set or clear; those not given stay as they are.
    pub profile: ProfileChanges,
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
    let now = ctx.now();
    let profile = req.profile.apply(&UserProfile::default(), now)?;
    let tenant_id = req.tenant_id.unwrap_or(caller.tenant_id());
    let tenant = tenant_of(ctx, tenant_id).await?;
    if !administers(ctx, caller, tenant.id).await? {
        return Err(ApiFailure::new(
            Code::TENANT_NOT_FOUND,
            format!("There is no Tenant with that id: {tenant_id}."),
        ));
    }
    policy::require(caller, Permission::CREATE_USERS, "Creating a user")?;
    check_role_assignments(ctx, caller, tenant.id, &req.assignments).await?;
    let hash = hash_password(ctx, &req.password).await?;
    let new = NewUser {
        tenant_id: tenant.id,
        login: req.login.clone(),
        password_hash: hash,
        active: req.active,
        roles: req.assignments.roles,
        permissions: req.assignments.permissions,
        password_status: status,
        password_expiration: req.password_expiration,
        profile,
        now,
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
    crate::mgmt::audit::user_changed(ctx, caller, user.tenant_id, user.id, "created").await;
    view(ctx, user).await
}

/// One user.
pub async fn get(ctx: &Context, caller: &Principal, id: i64) -> Result<UserView, ApiFailure> {
    let user = target(ctx, caller, id, Permission::VIEW_USERS, "Reading a user").await?;
    view(ctx, user).await
}

/// Updates a user: login and status; unlock, password, role assignments and profile
/// fields when given.
pub async fn update(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    req: UpdateUser,
) -> Result<UserView, ApiFailure> {
    check_login(&req.login)?;
    let user = to_modify(ctx, caller, id, "Modifying a user").await?;
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
    let now = ctx.now();
    // A lock in force ends with `accountLocked: false` or with a new password.
    let ends_lock = user.lock_at(now).is_some()
        && (req.account_locked == Some(false) || req.password.is_some());
    let profile = req.profile.apply(&user.profile, now)?;
    // RoleAssignments echoed back unchanged are not a change (and must not end sessions).
    let current = ctx
        .store
        .role_assignments(id)
        .await
        .map_err(store_failure)?;
    let new_assignments = req.assignments.filter(|g| sorted(g) != current);
    if let Some(g) = &new_assignments {
        if is_self {
            return Err(ApiFailure::forbidden(
                "you cannot change your own roles or permissions.",
            ));
        }
        check_role_assignments(ctx, caller.into(), user.tenant_id, g).await?;
    }
    let hash = match &req.password {
        Some(p) => Some(hash_password(ctx, p).await?),
        None => None,
    };
    let changes = UserChanges {
        login: req.login.clone(),
        active: req.active,
        password_status: status,
        password_expiration: req.password_expiration.unwrap_or(user.password_expiration),
        profile,
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
    if let Some(g) = &new_assignments {
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
    crate::mgmt::audit::user_changed(ctx, caller, updated.tenant_id, id, "updated").await;
    if ends_lock {
        crate::mgmt::audit::unlocked(ctx, caller, updated.tenant_id, id).await;
    }
    view_after(ctx, updated).await
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
    crate::mgmt::audit::user_changed(ctx, caller, user.tenant_id, id, "deleted").await;
    Ok(())
}
