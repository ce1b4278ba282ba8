//! The token signing keys (ES256, RS256) as the operator manages them (`portcullis keys
//! rotate|list`): list them, and rotate them with the guard against rotating too soon
//! after the next key was published. There is no HTTP surface for this: both use cases
//! take an [`Operator`], which only the admin commands can make
//! ([`crate::actor`]).

use crate::actor::Operator;
use crate::context::Context;
use crate::keys::{self, KeyError, Rotated};
use crate::model::audit::EventType;
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::model::signing_key::StoredKey;
use crate::store::StoreError;

/// Every signing key, ordered by creation time, then kid (private parts stay sealed).
pub async fn list(ctx: &Context, _operator: Operator) -> Result<Vec<StoredKey>, StoreError> {
    ctx.store.signing_keys().await
}

/// Rotates the signing keys of every algorithm ([`keys::Signer::rotate`]): refused
/// while a next key is younger than [`keys::MIN_PUBLISHED_SECS`] unless `force`; the
/// retiring keys stay published for the longest access-token lifetime of any tenant.
pub async fn rotate(ctx: &Context, operator: Operator, force: bool) -> Result<Rotated, KeyError> {
    let now = ctx.now();
    if !force {
        keys::check_rotation_age(ctx.store.as_ref(), now).await?;
    }
    let lifetime = keys::longest_token_lifetime(ctx.store.as_ref()).await?;
    let rotated = ctx
        .signer
        .rotate(ctx.store.as_ref(), &ctx.keyring, now, lifetime)
        .await?;
    // The keys are the whole server's: the event is the system tenant's.
    ctx.audit
        .record(
            super::audit::by(ctx, operator, EventType::KeyRotated, SYSTEM_TENANT_ID)
                .subject("signing keys")
                .reason(format!(
                    "{} algorithm(s) rotated{}; retired keys leave the key set at {}",
                    rotated.keys.len(),
                    if force { " (forced)" } else { "" },
                    rotated.retire_at
                )),
        )
        .await;
    Ok(rotated)
}
