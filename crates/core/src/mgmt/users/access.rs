//! Who may act on which user, and what the API shows of one: the lookups every
//! user operation starts with.

use crate::actor::Actor;
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::mgmt::policy::{self, administers, denied};
use crate::model::identity::RoleAssignments;
use crate::model::identity::{Permission, Tenant, User};

/// A user with what the API shows about them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub user: User,
    pub tenant_name: String,
    pub assignments: RoleAssignments,
}

pub(super) fn not_found(id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::USER_NOT_FOUND,
        format!("There is no user with id {id}."),
    )
}

pub(super) async fn tenant_of(ctx: &Context, id: i64) -> Result<Tenant, ApiFailure> {
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

pub(super) async fn view(ctx: &Context, user: User) -> Result<UserView, ApiFailure> {
    let tenant_name = tenant_of(ctx, user.tenant_id)
        .await
        .map(|t| t.name)
        .unwrap_or_default();
    let assignments = ctx
        .store
        .role_assignments(user.id)
        .await
        .map_err(store_failure)?;
    Ok(UserView {
        user,
        tenant_name,
        assignments,
    })
}

/// The changed user as the store has it now (`before` if it vanished meanwhile), with
/// what the API shows.
pub(super) async fn view_after(ctx: &Context, before: User) -> Result<UserView, ApiFailure> {
    let fresh = ctx
        .store
        .user(before.id)
        .await
        .map_err(store_failure)?
        .unwrap_or(before);
    view(ctx, fresh).await
}

/// Loads user `id` if the caller may act on it with `perm` (self always sees self).
pub(super) async fn target<'a>(
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

/// Loads user `id` if the caller may modify it (ModifyUsers 15 or Administrator).
pub(super) async fn to_modify<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
    what: &str,
) -> Result<User, ApiFailure> {
    target(ctx, caller, id, Permission::MODIFY_USERS, what).await
}

/// The caller's own view (`/api/mgmt/user`, `/api/mgmt/permissions`): MgmtAPI (11).
pub fn me(caller: &Principal) -> Result<&Principal, ApiFailure> {
    if caller.is_administrator() || caller.has(Permission::MGMT_API) {
        Ok(caller)
    } else {
        Err(denied("Using the Management API", Permission::MGMT_API))
    }
}
