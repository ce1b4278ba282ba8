//! The device authorization grant's token request (RFC 8628 §3.4, §3.5): the device
//! polls with its `device_code` until the user decides. Each poll is one atomic store
//! call ([`crate::store::DeviceStore::poll_device_grant`]): a poll sooner than the
//! interval answers `slow_down` and raises the interval by 5 seconds for good; an
//! approved code is taken by exactly one poll, which gets the tokens; later polls are
//! `invalid_grant`.

use crate::auth::user_still_valid;
use crate::context::Context;
use crate::model::device::{DevicePoll, DeviceStatus};
use crate::model::token::SignInContext;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::token::{issue_for_user, tenant_and_limits, Target};

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = req
        .device_code
        .ok_or_else(|| OAuthError::invalid_request("The device_code parameter is required."))?;
    let verifier = ctx.keys.verifier(code.expose());
    let grant =
        match ctx
            .store
            .poll_device_grant(&verifier, client.app.id, ctx.now())
            .await?
        {
            DevicePoll::Taken(g) => g,
            DevicePoll::Pending => {
                return Err(OAuthError::new(
                    ErrorCode::AuthorizationPending,
                    "The user has not finished yet; poll again after the interval.",
                ))
            }
            DevicePoll::SlowDown(interval) => {
                return Err(OAuthError::new(
                    ErrorCode::SlowDown,
                    format!(
                    "Polled too soon; wait at least {interval} seconds between polls from now on."
                ),
                ))
            }
            DevicePoll::Denied => {
                return Err(OAuthError::new(
                    ErrorCode::AccessDenied,
                    "The user denied the request.",
                ))
            }
            DevicePoll::Expired => return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "The device code has expired; start again with a new device authorization request.",
            )),
            DevicePoll::Used => {
                return Err(OAuthError::invalid_grant(
                    "The device code was already used.",
                ))
            }
            DevicePoll::Unknown => {
                return Err(OAuthError::invalid_grant(
                    "The device code is invalid or was issued to another client.",
                ))
            }
        };
    let DeviceStatus::Approved {
        user_id,
        auth_time,
        sid,
    } = grant.status
    else {
        return Err(OAuthError::server_error());
    };
    let user = user_still_valid(ctx, user_id, None).await?.ok_or_else(|| {
        OAuthError::invalid_grant("The user who approved this device can no longer sign in.")
    })?;
    let (_, limits) = tenant_and_limits(ctx, user.tenant_id).await?;
    let token =
        crate::oauth::resource::select(ctx, user.tenant_id, &grant.resources, &req.resource)
            .await?;
    let target = Target {
        granted: grant.resources.clone(),
        token,
    };
    let sign_in = SignInContext {
        auth_time,
        nonce: None,
        sid,
        claims: None,
    };
    let (response, _) =
        issue_for_user(ctx, client, &user, grant.scopes, &limits, sign_in, target).await?;
    Ok(response)
}
