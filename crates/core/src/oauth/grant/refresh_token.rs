//! The refresh token grant (RFC 6749 §6). HDP's behaviour by default for confidential
//! clients: the same refresh token comes back and never expires until revoked (seed
//! 000). With the RefreshTokenRotation limit on, and always for public clients
//! (RFC 9700 §4.14.2), each use returns a successor and the old token is spent;
//! using a spent token again revokes the whole family.

use crate::auth::user_still_valid;
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::scope::OPENID;
use crate::model::token::{RefreshToken, Rotation};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::resource;
use crate::oauth::token::{id_token_for, mint, resolve_scope, tenant_and_limits, Subject};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("The refresh token is invalid, expired or revoked.")
}

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let token = req
        .refresh_token
        .ok_or_else(|| OAuthError::invalid_request("The refresh_token parameter is required."))?;
    let verifier = ctx.keys.verifier(token.expose());
    let Some((stored, family)) = ctx.store.refresh_token(&verifier).await? else {
        return Err(invalid());
    };
    let now = ctx.now();
    if family.client_app_id != client.app.id
        || !stored.is_live(&family, client.app.tokens_valid_after, now)
    {
        return Err(invalid());
    }
    crate::oauth::dpop::check_refresh(&family)?;
    let Some(user_id) = family.user_id else {
        return Err(invalid());
    };
    let Some(user) = user_still_valid(ctx, user_id, family.auth_version).await? else {
        return Err(invalid());
    };
    let (_, limits) = tenant_and_limits(ctx, family.tenant_id).await?;
    // No scope asked keeps the grant's (RFC 6749 §6) for an OpenID Connect grant
    // and a grant for resources; other grants keep HDP's default (`api.access.odata`
    // when granted).
    let scopes = match req.scope.as_deref() {
        None if family.scopes.iter().any(|s| s == OPENID) || !family.resources.is_empty() => {
            family.scopes.clone()
        }
        asked => resolve_scope(asked, &family.scopes)?,
    };
    // The grant's resources, or the subset this refresh names (RFC 8707 §2.2), and
    // the scopes they accept.
    let resources =
        resource::select(ctx, family.tenant_id, &family.resources, &req.resource).await?;
    let scopes = resource::token_scopes(&scopes, &resources)?;
    let rotate = client.app.public || limits.refresh_rotation || stored.rotated_at.is_some();
    let refresh = if rotate {
        let successor = Secret::generate();
        let next = RefreshToken {
            verifier: ctx.keys.verifier(successor.expose()),
            family_id: family.id.clone(),
            created_at: now,
            expires_at: limits.refresh_token_lifetime.map(|l| now + l),
            rotated_at: None,
        };
        match ctx
            .store
            .rotate_refresh_token(&verifier, &next, now)
            .await?
        {
            Rotation::Rotated => successor,
            Rotation::Reused { family_id } => {
                tracing::warn!(family = %family_id, client = %client.app.client_id, "refresh token reuse; family revoked");
                ctx.audit
                    .record(
                        NewAuditEvent::new(EventType::RefreshTokenReuse, family.tenant_id, now)
                            .by_client(&client.app.client_id)
                            .subject_user(user.id)
                            .failed(
                                "a used refresh token was presented again; its grant is revoked",
                            ),
                    )
                    .await;
                return Err(OAuthError::invalid_grant(
                    "The refresh token was already used; every token of this grant is now revoked.",
                ));
            }
            Rotation::Unknown => return Err(invalid()),
        }
    } else {
        token
    };
    let (access_token, expires_in) = mint(
        ctx,
        &client.app.client_id,
        family.tenant_id,
        Subject::User(&user),
        &scopes,
        Some(&family.id),
        resource::lifetime(&resources, limits.access_token_lifetime),
        Some(&family.sign_in),
        &resource::uris(&resources),
    )?;
    // A fresh ID token, still saying when the user signed in (OIDC Core §12.2).
    let id_token = id_token_for(
        ctx,
        &client.app,
        &user,
        &scopes,
        &access_token,
        &family.sign_in,
        limits.access_token_lifetime,
    )?;
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: Some(refresh),
        scope: scopes.join(" "),
        id_token,
        issued_token_type: None,
        token_type: None,
    })
}
