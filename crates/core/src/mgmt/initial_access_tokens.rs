//! Initial access tokens (RFC 7591 §3: "an OAuth 2.0 access token … to authorize
//! registration"), issued by administrators of a tenant whose registration policy is
//! `initial_access_token` or `open` (`/api/admin/tenants/{id}/initialaccesstokens`
//! and `portcullis tenant initial-access-token`). The token is shown once; only its
//! keyed verifier is stored. Who may: whoever may use the Tenant API on that tenant
//! (as for the tenant itself, any other id answers "There is no Tenant with that id").
//!
//! Defaults: one use ([`DEFAULT_USES`]) and a day of life ([`DEFAULT_EXPIRES_IN`]);
//! `"uses": null` makes a token unlimited and `"expiresIn": null` one that never
//! expires, for an operator who wants a standing token for a fleet of clients.

use super::policy;
use crate::actor::Actor;
use crate::auth::store_failure;
use crate::context::Context;
use crate::crypto::Secret;
use crate::error::{ApiFailure, Code};
use crate::model::identity::Permission;
use crate::model::registration::{InitialAccessToken, NewInitialAccessToken};

/// Registrations a token allows when the request does not say.
pub const DEFAULT_USES: i64 = 1;
/// Most registrations one limited token may allow.
pub const MAX_USES: i64 = 100_000;
/// Seconds a token lives when the request does not say (a day).
pub const DEFAULT_EXPIRES_IN: i64 = 86_400;
/// Longest limited lifetime (a year).
pub const MAX_EXPIRES_IN: i64 = 31_536_000;

/// A creation request: `None` takes the default, `Some(None)` means unlimited/never.
#[derive(Debug, Clone, Default)]
pub struct Creation {
    pub uses: Option<Option<i64>>,
    pub expires_in: Option<Option<i64>>,
}

fn not_found(tenant_id: i64, id: i64) -> ApiFailure {
    ApiFailure::new(
        Code::INITIAL_ACCESS_TOKEN_NOT_FOUND,
        format!("Tenant {tenant_id} has no initial access token with id {id}."),
    )
}

/// Fails unless the caller may use the Tenant API on `tenant_id` (which exists).
async fn require_admin(ctx: &Context, caller: Actor<'_>, tenant_id: i64) -> Result<(), ApiFailure> {
    policy::require(
        caller,
        Permission::TENANT_API,
        "Managing initial access tokens",
    )?;
    if !policy::administers(ctx, caller, tenant_id).await? {
        return Err(super::tenants::not_found(tenant_id));
    }
    ctx.store
        .tenant(tenant_id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| super::tenants::not_found(tenant_id))?;
    Ok(())
}

/// Issues a token for `tenant_id`; the secret is returned once.
pub async fn create<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: i64,
    req: Creation,
) -> Result<(InitialAccessToken, Secret), ApiFailure> {
    let caller = caller.into();
    require_admin(ctx, caller, tenant_id).await?;
    let uses = req.uses.unwrap_or(Some(DEFAULT_USES));
    if uses.is_some_and(|n| !(1..=MAX_USES).contains(&n)) {
        return Err(ApiFailure::invalid_field(
            "uses",
            format!("must be between 1 and {MAX_USES}, or null for unlimited"),
        ));
    }
    let expires_in = req.expires_in.unwrap_or(Some(DEFAULT_EXPIRES_IN));
    if expires_in.is_some_and(|s| !(1..=MAX_EXPIRES_IN).contains(&s)) {
        return Err(ApiFailure::invalid_field(
            "expiresIn",
            format!("must be between 1 and {MAX_EXPIRES_IN} seconds, or null for never"),
        ));
    }
    let accepts = ctx
        .store
        .registration_policy(tenant_id)
        .await
        .map_err(store_failure)?
        .is_some_and(|p| p.accepts_registrations());
    if !accepts {
        return Err(ApiFailure::new(
            Code::REGISTRATION_CLOSED,
            format!("Tenant {tenant_id} does not accept client registrations (its clientRegistration policy is closed); set it to initial_access_token or open first."),
        ));
    }
    let secret = Secret::generate();
    let now = ctx.now();
    let token = ctx
        .store
        .create_initial_access_token(NewInitialAccessToken {
            tenant_id,
            verifier: ctx.keys.verifier(secret.expose()),
            uses,
            expires_at: expires_in.map(|s| now.saturating_add(s)),
            created_by: caller.user_id(),
            now,
        })
        .await
        .map_err(store_failure)?;
    tracing::info!(
        tenant_id,
        token_id = token.id,
        by = caller.user_id(),
        operator = caller.is_operator(),
        "initial access token created"
    );
    Ok((token, secret))
}

/// The tenant's tokens (never the tokens themselves), spent ones included.
pub async fn list<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: i64,
) -> Result<Vec<InitialAccessToken>, ApiFailure> {
    require_admin(ctx, caller.into(), tenant_id).await?;
    ctx.store
        .initial_access_tokens(tenant_id)
        .await
        .map_err(store_failure)
}

/// Deletes a token (clients registered with it stay).
pub async fn delete<'a>(
    ctx: &Context,
    caller: impl Into<Actor<'a>>,
    tenant_id: i64,
    id: i64,
) -> Result<(), ApiFailure> {
    let caller = caller.into();
    require_admin(ctx, caller, tenant_id).await?;
    if !ctx
        .store
        .delete_initial_access_token(tenant_id, id)
        .await
        .map_err(store_failure)?
    {
        return Err(not_found(tenant_id, id));
    }
    tracing::info!(
        tenant_id,
        token_id = id,
        by = caller.user_id(),
        "initial access token deleted"
    );
    Ok(())
}
