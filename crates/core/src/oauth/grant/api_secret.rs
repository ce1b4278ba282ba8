//! User API secrets at `/configapi/v2/oauth/token` (SPEC §1.4, seed 003): the
//! `client_credentials` grant where `client_id` is a user's login name, the secret is
//! that user's API secret, and `scope` names the tenant (its name or one of its host
//! names). The token acts as that user. No refresh token.
//!
//! Such tokens carry `client_id` = [`CLIENT_PREFIX`] + the user id: there is no client
//! application behind them, and deleting or regenerating the user's API secret ends
//! them (their `sv` claim names the secret they were issued under).

use crate::context::Context;
use crate::oauth::client_auth::{limit_keys, presented};
use crate::oauth::error::OAuthError;
use crate::oauth::ratelimit::FailureLimiter;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::token::{api_secret_version, mint, tenant_and_limits, user_still_valid, Subject};

/// The `client_id` claim of API-secret tokens starts with this.
pub const CLIENT_PREFIX: &str = "apisecret:";

pub async fn exchange(
    ctx: &Context,
    limiter: &FailureLimiter,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let (login, secret, _) = presented(&req.client)?;
    let scope = req.scope.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        OAuthError::invalid_request("scope is required: the tenant's name or host name.")
    })?;
    let now = ctx.now();
    let keys = limit_keys(&login, req.peer);
    limiter.check(&keys, now).map_err(OAuthError::too_many)?;
    let fail = || {
        limiter.record_failure(&keys, now);
        OAuthError::invalid_client(
            "Authentication failed: unknown user, wrong API secret, or wrong tenant.",
        )
    };
    let scope = scope.trim();
    let tenant = match ctx.store.tenant_by_name(scope).await? {
        Some(t) => Some(t),
        None => ctx.store.tenant_by_host(scope).await?,
    };
    let user = match &tenant {
        Some(t) => ctx.store.user_by_login(t.id, &login).await?,
        None => None,
    };
    let verified = match (&user, &secret) {
        (Some(u), Some(s)) => u
            .api_secret_verifier
            .as_ref()
            .is_some_and(|v| ctx.keys.verify(s.expose(), v)),
        (None, s) => {
            let _ = ctx
                .keys
                .verifier(s.as_ref().map(|s| s.expose()).unwrap_or(""));
            false
        }
        (Some(_), None) => false,
    };
    let (Some(user), Some(tenant), true) = (user, tenant, verified) else {
        return Err(fail());
    };
    let user = user_still_valid(ctx, user.id, Some(user.auth_version))
        .await?
        .ok_or_else(|| OAuthError::invalid_client("The user is inactive or locked."))?;
    // Names the secret this token was issued under: a regenerated (or deleted)
    // secret ends it (validate.rs).
    let sv = api_secret_version(ctx, &user)
        .ok_or_else(|| OAuthError::invalid_client("The user has no API secret."))?;
    let (_, limits) = tenant_and_limits(ctx, tenant.id).await?;
    let scopes = tenant.allowed_scopes.clone();
    let client_id = format!("{CLIENT_PREFIX}{}", user.id);
    let (access_token, expires_in) = mint(
        ctx,
        &client_id,
        tenant.id,
        Subject::ApiUser(&user, &sv),
        &scopes,
        None,
        limits.access_token_lifetime,
    )?;
    tracing::info!(
        user = user.id,
        tenant = tenant.id,
        "API-secret token issued"
    );
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: None,
        scope: scopes.join(" "),
    })
}
