//! Token introspection (RFC 7662) and revocation (RFC 7009), SPEC §3. The caller
//! authenticates as a client; it learns about tokens of its own tenant only, and
//! revokes tokens issued to itself only. Unknown tokens are `{"active":false}` on
//! introspection and a silent success on revocation.

use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::validate;
use crate::context::Context;
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::claims::AccessClaims;

/// What introspection reveals about an active token.
#[derive(Debug, Clone)]
pub enum Introspection {
    Inactive,
    Access(Box<AccessClaims>),
    Refresh {
        client_id: String,
        scope: String,
        sub: Option<String>,
        username: Option<String>,
        exp: Option<i64>,
        iat: i64,
        tenant: i64,
        /// The grant's resources (RFC 8707) as `aud`; `None` for a grant without.
        aud: Option<crate::model::claims::Audience>,
    },
}

/// Introspects a token on behalf of `caller`.
pub async fn introspect(
    ctx: &Context,
    caller: &AuthenticatedClient,
    token: &str,
) -> Result<Introspection, OAuthError> {
    if token.matches('.').count() == 2 {
        return Ok(match validate::access_token(ctx, token).await? {
            Ok(active) if active.claims.tenant == caller.app.tenant_id => {
                Introspection::Access(Box::new(active.claims))
            }
            _ => Introspection::Inactive,
        });
    }
    let verifier = ctx.keys.verifier(token);
    let Some((stored, family)) = ctx.store.refresh_token(&verifier).await? else {
        return Ok(Introspection::Inactive);
    };
    let now = ctx.now();
    if family.tenant_id != caller.app.tenant_id || stored.rotated_at.is_some() {
        return Ok(Introspection::Inactive);
    }
    let Some(app) = ctx.store.client_app(family.client_app_id).await? else {
        return Ok(Introspection::Inactive);
    };
    if !stored.is_live(&family, app.tokens_valid_after, now) {
        return Ok(Introspection::Inactive);
    }
    let user = match family.user_id {
        Some(id) => match crate::auth::user_still_valid(ctx, id, family.auth_version).await? {
            Some(u) => Some(u),
            None => return Ok(Introspection::Inactive),
        },
        None => None,
    };
    Ok(Introspection::Refresh {
        client_id: app.client_id,
        scope: family.scopes.join(" "),
        sub: user.as_ref().map(|u| u.id.to_string()),
        username: user.map(|u| u.login),
        exp: stored.expires_at,
        iat: stored.created_at,
        tenant: family.tenant_id,
        aud: (!family.resources.is_empty())
            .then(|| crate::model::claims::Audience::of(family.resources.clone())),
    })
}

/// Revokes a token issued to `caller` (RFC 7009 §2.1). A refresh token takes its whole
/// family (and so the access tokens issued under it); an access token is revoked by
/// its `jti`. Tokens of other clients and unknown tokens are left alone.
pub async fn revoke(
    ctx: &Context,
    caller: &AuthenticatedClient,
    token: &str,
) -> Result<(), OAuthError> {
    let now = ctx.now();
    if token.matches('.').count() == 2 {
        if let Ok(claims) = ctx.signer.verify(token, now) {
            if claims.client_id == caller.app.client_id {
                ctx.store.revoke_jti(&claims.jti, claims.exp).await?;
                tracing::info!(client = %caller.app.client_id, jti = %claims.jti, "access token revoked");
                let mut e = NewAuditEvent::new(EventType::TokenRevoked, caller.app.tenant_id, now)
                    .by_client(&caller.app.client_id)
                    .reason("access token");
                if let Ok(u) = claims.sub.parse::<i64>() {
                    if claims.username.is_some() {
                        e = e.subject_user(u);
                    }
                }
                ctx.audit.record(e).await;
            }
        }
        return Ok(());
    }
    let verifier = ctx.keys.verifier(token);
    // Found, checked against the caller and revoked in one write.
    if let Some(family) = ctx
        .store
        .revoke_refresh_family(&verifier, caller.app.id, now)
        .await?
    {
        tracing::info!(client = %caller.app.client_id, family = %family.0, "refresh token family revoked");
        let mut e = NewAuditEvent::new(EventType::TokenRevoked, caller.app.tenant_id, now)
            .by_client(&caller.app.client_id)
            .reason("refresh token and its grant");
        if let Some(u) = family.1 {
            e = e.subject_user(u);
        }
        ctx.audit.record(e).await;
    }
    Ok(())
}
