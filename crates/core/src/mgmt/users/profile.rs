//! Changing only a user's profile (names, e-mail, locale): what the console's
//! `portcullis user set-profile` does. The API changes the profile with the rest of a
//! user in [`super::update`]; both apply [`ProfileChanges`] with the same rules.

use super::access::{not_found, to_modify, view, view_after, UserView};
use crate::actor::Actor;
use crate::auth::store_failure;
use crate::context::Context;
use crate::error::ApiFailure;
use crate::model::identity::profile::ProfileChanges;
use crate::model::identity::UserChanges;

/// Applies `changes` to user `id`'s profile (ModifyUsers 15 or Administrator); fields
/// not named stay. Nothing is written when nothing changes.
pub async fn set_profile<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    id: i64,
    changes: ProfileChanges,
) -> Result<UserView, ApiFailure> {
    let caller = caller.into();
    let user = to_modify(ctx, caller, id, "Modifying a user").await?;
    let now = ctx.now();
    let profile = changes.apply(&user.profile, now)?;
    if profile == user.profile {
        return view(ctx, user).await;
    }
    let changes = UserChanges {
        profile,
        ..UserChanges::unchanged(&user, now)
    };
    let updated = ctx
        .store
        .update_user(id, changes)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| not_found(id))?;
    tracing::info!(
        user_id = id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "user profile changed"
    );
    crate::mgmt::audit::user_changed(ctx, caller, updated.tenant_id, id, "profile changed").await;
    view_after(ctx, updated).await
}
