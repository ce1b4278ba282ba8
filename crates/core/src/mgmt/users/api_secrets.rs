//! API secrets (HDP's `/api/admin/users/{id}/apisecret`): generated once, shown once,
//! kept as a keyed verifier.

use super::access::{not_found, to_modify};
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::crypto::Secret;
use crate::error::{ApiFailure, Code};

/// Generates (or regenerates) the user's API secret; it is shown once.
pub async fn generate_api_secret(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<Secret, ApiFailure> {
    let user = to_modify(ctx, caller, id, "Generating an API secret").await?;
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
    ctx.audit
        .record(
            crate::mgmt::audit::by(
                ctx,
                caller,
                crate::model::audit::EventType::ApiSecretCreated,
                user.tenant_id,
            )
            .subject_user(id),
        )
        .await;
    Ok(secret)
}

/// Deletes the user's API secret.
pub async fn delete_api_secret(
    ctx: &Context,
    caller: &Principal,
    id: i64,
) -> Result<(), ApiFailure> {
    let user = to_modify(ctx, caller, id, "Deleting an API secret").await?;
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
    ctx.audit
        .record(
            crate::mgmt::audit::by(
                ctx,
                caller,
                crate::model::audit::EventType::ApiSecretDeleted,
                user.tenant_id,
            )
            .subject_user(id),
        )
        .await;
    Ok(())
}
