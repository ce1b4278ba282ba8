//! Passwords and locks: setting a user's password, changing one's own (the current
//! password is always asked for), unlocking, and HDP's password status.

use super::access::{not_found, to_modify, view_after, UserView};
use crate::actor::Actor;
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::mgmt::policy;
use crate::model::identity::input::check_password;
use crate::model::identity::{Permission, User, UserChanges, PASSWORD_ACTIVE, PASSWORD_MUST_RESET};

pub(super) fn check_password_status(status: i64) -> Result<i64, ApiFailure> {
    match status {
        PASSWORD_ACTIVE | PASSWORD_MUST_RESET => Ok(status),
        _ => Err(ApiFailure::invalid_field(
            "passwordInfo.passwordStatus",
            format!("{status} is not 1 (active) or 2 (must be reset)"),
        )),
    }
}

/// Ends a lock (ModifyUsers 15 or Administrator, HDP §3.4).
pub async fn unlock<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
) -> Result<UserView, ApiFailure> {
    let caller = caller.into();
    let user = to_modify(ctx, caller, id, "Unlocking a user").await?;
    ctx.store.unlock_user(id).await.map_err(store_failure)?;
    tracing::info!(
        user_id = id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "user unlocked"
    );
    crate::mgmt::audit::unlocked(ctx, caller, user.tenant_id, id).await;
    view_after(ctx, user).await
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
    let user = to_modify(ctx, caller, id, "Setting a user's password").await?;
    if caller.is_user(user.id) {
        crate::auth::confirm_current_password(ctx, &user, current, "oldPassword").await?;
    }
    check_password(&user.login, password)?;
    store_password(ctx, &user, password).await?;
    if must_reset {
        let changes = UserChanges {
            password_status: PASSWORD_MUST_RESET,
            ..UserChanges::unchanged(&user, ctx.now())
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
    crate::mgmt::audit::user_changed(ctx, caller, user.tenant_id, id, "password set").await;
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
            password_status: PASSWORD_ACTIVE,
            ..UserChanges::unchanged(&caller.user, ctx.now())
        };
        ctx.store
            .update_user(caller.user.id, changes)
            .await
            .map_err(store_failure)?;
    }
    tracing::info!(user_id = caller.user.id, "password changed by its owner");
    crate::mgmt::audit::user_changed(
        ctx,
        caller,
        caller.user.tenant_id,
        caller.user.id,
        "own password changed",
    )
    .await;
    Ok(())
}

/// Hashes a password on the Argon2 pool; a failure is logged and reported as internal.
pub(super) async fn hash_password(ctx: &Context, password: &str) -> Result<String, ApiFailure> {
    ctx.hasher.hash(password).await.map_err(|e| {
        tracing::error!(error = %e, "hashing a password failed");
        ApiFailure::internal(Code::INTERNAL)
    })
}

pub(super) async fn store_password(
    ctx: &Context,
    user: &User,
    password: &str,
) -> Result<(), ApiFailure> {
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
