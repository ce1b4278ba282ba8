//! The resource owner password credentials grant (RFC 6749 §4.3), as HDP documents it
//! (seed 000). The user is looked up in the client's tenant; a wrong user name and a
//! wrong password cost the same Argon2 hash and give the same answer; failures count
//! toward the account's lockout (SPEC §1.2, §5.3). RFC 9700 §2.4 advises against this
//! grant; HDP clients need it, so it is limited to confidential clients.

use crate::context::Context;
use crate::error::Code;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::token::{allowed_scopes, issue_for_user, resolve_scope, tenant_and_limits};

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
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
    let (tenant, limits) = tenant_and_limits(ctx, client.app.tenant_id).await?;
    let scopes = resolve_scope(req.scope.as_deref(), &allowed_scopes(&client.app, &tenant))?;
    let user = ctx.store.user_by_login(tenant.id, &username).await?;
    let user = crate::auth::check_password(ctx, None, user, password.expose())
        .await
        .map_err(|f| {
            if f.code == Code::UNAVAILABLE {
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
    Ok(issue_for_user(ctx, client, &user, scopes, &limits).await?.0)
}
