//! The resource owner password credentials grant (RFC 6749 §4.3), as HDP documents it
//! (seed 000). The user is looked up in the client's tenant; a wrong user name and a
//! wrong password cost the same Argon2 hash and give the same answer; failures count
//! toward the account's lockout (SPEC §1.2, §5.3) and the address's spraying limits
//! ([`crate::ratelimit`]). RFC 9700 §2.4 advises against this
//! grant; HDP clients need it, so it is limited to confidential clients.

use crate::auth::Attempt;
use crate::context::Context;
use crate::error::Code;
use crate::model::token::SignInContext;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::token::{
    allowed_scopes_for_user, issue_for_user, resolve_scope_for, tenant_and_limits, Target,
};

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
    attempt: Attempt<'_>,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.app.public {
        return Err(OAuthError::unauthorized_client(
            "Public clients may not use the password grant.",
        ));
    }
    let username = req.username.filter(|u| !u.is_empty()).ok_or_else(|| {
        OAuthError::invalid_request("The password grant needs the username parameter.")
    })?;
    let password = req.password.ok_or_else(|| {
        OAuthError::invalid_request("The password grant needs the password parameter.")
    })?;
    let throttle = attempt
        .begin(&username, ctx.now())
        .map_err(|f| OAuthError::too_many_passwords(f.retry_after.unwrap_or(1)))?;
    let (tenant, limits) = tenant_and_limits(ctx, client.app.tenant_id).await?;
    let resources = crate::oauth::resource::resolve(ctx, tenant.id, &req.resource).await?;
    let scopes = resolve_scope_for(
        req.scope.as_deref(),
        &allowed_scopes_for_user(&client.app, &tenant),
        &resources,
    )?;
    let user = ctx.store.user_by_login(tenant.id, &username).await?;
    if let Some(login_user) = req.login_user {
        // HDP's Basic login next to client credentials in a JSON body (seed 000):
        // the token is for the user who signed in, so `username` must name them.
        if user.as_ref().map(|u| u.id) != Some(login_user) {
            return Err(OAuthError::invalid_grant(
                "username names a different user than the HTTP Basic login; they must be the same user.",
            ));
        }
    }
    let user = crate::auth::check_password(ctx, None, &throttle, user, password.expose())
        .await
        .map_err(|f| {
            if let Some(secs) = f.retry_after.filter(|_| f.code == Code::TOO_MANY_REQUESTS) {
                OAuthError::too_many_passwords(secs)
            } else if f.code == Code::UNAVAILABLE {
                OAuthError::new(
                    crate::oauth::error::ErrorCode::TemporarilyUnavailable,
                    f.message,
                )
            } else if f.code.kind == crate::error::Kind::Internal {
                OAuthError::server_error()
            } else {
                OAuthError::invalid_grant(f.message)
            }
        })?;
    // The user signs in with this very request (Keycloak also answers the password
    // grant with an ID token when `openid` is granted).
    let sign_in = SignInContext {
        auth_time: Some(ctx.now()),
        ..SignInContext::default()
    };
    let target = Target::all(resources);
    Ok(
        issue_for_user(ctx, client, &user, scopes, &limits, sign_in, target)
            .await?
            .0,
    )
}
