//! Whether an access token is active now: a valid signature and expiry (the JWT), and
//! then current state, so revocation takes effect before expiry on every node
//! (SPEC §3): the `jti` is not revoked; the client still exists and was not reset
//! after issuance; the grant (family) is not revoked; the user still exists, is
//! active, unlocked and unchanged (`auth_version`).

use super::grant::api_secret::CLIENT_PREFIX;
use crate::auth::user_valid;
use crate::context::Context;
use crate::model::claims::AccessClaims;
use crate::model::client_app::ClientApp;
use crate::model::identity::User;
use crate::store::StoreError;

/// An active token with its user, if a user is the subject, and its client
/// application (none for a user's API-secret token).
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub claims: AccessClaims,
    pub user: Option<User>,
    pub app: Option<ClientApp>,
}

/// Why a token is not active (for logs; clients learn only that it is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    Malformed,
    Expired,
    Revoked,
}

/// Checks a bearer access token.
pub async fn access_token(
    ctx: &Context,
    token: &str,
) -> Result<Result<ActiveToken, Inactive>, StoreError> {
    let now = ctx.now();
    let claims = match ctx.signer.verify(token, now) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "access token refused");
            return Ok(Err(if e == crate::keys::jwt::JwtError::Expired {
                Inactive::Expired
            } else {
                Inactive::Malformed
            }));
        }
    };
    // API-secret tokens name their user in client_id; others in sub (with username).
    let api_user = claims.client_id.strip_prefix(CLIENT_PREFIX);
    let user_id = match api_user {
        Some(id) => Some(id.parse().unwrap_or(-1)),
        None => claims.user_id(),
    };
    // Revocation and the user, on every call: the store answers from memory when it
    // can (store-sql's state_cache), kept current by its own writes at once and by
    // other nodes' within the documented bound (docs/decisions.md, issue 17 item 3).
    let state = ctx
        .store
        .token_state(&claims.jti, claims.fam.as_deref(), user_id)
        .await?;
    if state.jti_revoked || state.family_live == Some(false) {
        return Ok(Err(Inactive::Revoked));
    }
    let user = match (user_id, state.user) {
        (Some(_), Some(u)) => match user_valid(ctx, u, claims.av).await? {
            Some(u) => Some(u),
            None => return Ok(Err(Inactive::Revoked)),
        },
        (Some(_), None) => return Ok(Err(Inactive::Revoked)),
        (None, _) => None,
    };
    if api_user.is_some() {
        // A user API-secret token: no client application behind it.
        // Issued under the user's current API secret: regenerating or deleting it
        // ends the token.
        let current = user
            .as_ref()
            .and_then(|u| super::token::api_secret_version(ctx, u));
        if current.is_none() || claims.sv != current {
            return Ok(Err(Inactive::Revoked));
        }
        return Ok(Ok(ActiveToken {
            claims,
            user,
            app: None,
        }));
    }
    let Some(app) = ctx.store.client_app_by_client_id(&claims.client_id).await? else {
        return Ok(Err(Inactive::Revoked));
    };
    if claims.iat < app.tokens_valid_after {
        return Ok(Err(Inactive::Revoked));
    }
    if claims.sv.is_some() && claims.sv != super::token::secret_version(ctx, &app) {
        return Ok(Err(Inactive::Revoked));
    }
    if user.is_none() {
        // A client's own token: its tenant must still be active.
        match ctx.store.tenant(app.tenant_id).await? {
            Some(t) if t.active => {}
            _ => return Ok(Err(Inactive::Revoked)),
        }
    }
    Ok(Ok(ActiveToken {
        claims,
        user,
        app: Some(app),
    }))
}
