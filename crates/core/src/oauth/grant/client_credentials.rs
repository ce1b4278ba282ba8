//! The client credentials grant (RFC 6749 §4.4): a confidential client acting for
//! itself (`sub` = its client id). No refresh token (§4.4.3).

use crate::context::Context;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::resource;
use crate::oauth::token::{
    allowed_scopes, mint, resolve_scope_for, secret_version, tenant_and_limits, Subject,
};

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.app.public {
        return Err(OAuthError::unauthorized_client(
            "Public clients may not use the client_credentials grant.",
        ));
    }
    if let Some(s) = req
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .find(|s| crate::model::scope::is_identity(s))
    {
        return Err(OAuthError::invalid_scope(format!(
            "Scope '{s}' is about a signed-in user; the client_credentials grant has none."
        )));
    }
    let (tenant, limits) = tenant_and_limits(ctx, client.app.tenant_id).await?;
    let resources = resource::resolve(ctx, tenant.id, &req.resource).await?;
    let scopes = resolve_scope_for(
        req.scope.as_deref(),
        &allowed_scopes(&client.app, &tenant),
        &resources,
    )?;
    let sv = secret_version(ctx, &client.app);
    let (access_token, expires_in) = mint(
        ctx,
        &client.app.client_id,
        tenant.id,
        Subject::Client(sv.as_deref()),
        &scopes,
        None,
        resource::lifetime(&resources, limits.access_token_lifetime),
        None,
        &resource::uris(&resources),
    )?;
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: None,
        scope: scopes.join(" "),
        id_token: None,
        issued_token_type: None,
        token_type: None,
    })
}
