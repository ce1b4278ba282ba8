//! A user's roles and explicit permissions (HDP `/api/admin/users/{id}/permissions`):
//! an administrator grants only what they hold themselves, never to themselves.

use super::access::{target, to_modify};
use crate::actor::Actor;
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::ApiFailure;
use crate::mgmt::policy;
use crate::model::identity::Permission;
use crate::model::identity::RoleAssignments;
use std::collections::BTreeSet;

/// Checks that the role assignments are valid in `tenant_id` and within what the caller holds.
pub(super) async fn check_role_assignments(
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
        if !crate::model::identity::PERMISSIONS
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
pub(super) fn sorted(g: &RoleAssignments) -> RoleAssignments {
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

/// The user's roles and explicit permissions.
pub async fn role_assignments(
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
pub async fn set_role_assignments(
    ctx: &Context,
    caller: &Principal,
    id: i64,
    g: RoleAssignments,
) -> Result<RoleAssignments, ApiFailure> {
    let user = to_modify(ctx, caller, id, "Changing a user's permissions").await?;
    if user.id == caller.user.id {
        return Err(ApiFailure::forbidden(
            "you cannot change your own roles or permissions.",
        ));
    }
    check_role_assignments(ctx, caller.into(), user.tenant_id, &g).await?;
    let before = ctx
        .store
        .role_assignments(id)
        .await
        .map_err(store_failure)?;
    ctx.store
        .set_role_assignments(id, &g)
        .await
        .map_err(store_failure)?;
    tracing::info!(
        user_id = id,
        by = caller.user.id,
        "user permissions replaced"
    );
    if before.roles != g.roles {
        ctx.audit
            .record(
                crate::mgmt::audit::by(
                    ctx,
                    caller,
                    crate::model::audit::EventType::RoleChanged,
                    user.tenant_id,
                )
                .subject_user(id)
                .reason(format!("roles {:?} -> {:?}", before.roles, g.roles)),
            )
            .await;
    }
    if before.permissions != g.permissions {
        ctx.audit
            .record(
                crate::mgmt::audit::by(
                    ctx,
                    caller,
                    crate::model::audit::EventType::PermissionChanged,
                    user.tenant_id,
                )
                .subject_user(id)
                .reason(format!(
                    "permissions {:?} -> {:?}",
                    before.permissions, g.permissions
                )),
            )
            .await;
    }
    ctx.store.role_assignments(id).await.map_err(store_failure)
}
