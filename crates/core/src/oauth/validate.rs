//! Whether an access token is active now: a valid signature and expiry (the JWT), and
//! then current state, so revocation takes effect before expiry on every node
//! (SPEC §3): the `jti` is not revoked; the client still exists and was not reset
//! after issuance; the grant (family) is not revoked; the user still exists, is
//! active, unlocked and unchanged (`auth_version`).

use super::claims::AccessClaims;
use super::grant::api_secret::CLIENT_PREFIX;
use super::token::user_still_valid;
use crate::context::Context;
use crate::identity::User;
use crate::store::StoreError;

/// An active token with its user, if a user is the subject.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub claims: AccessClaims,
    pub user: Option<User>,
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
            return Ok(Err(if e == super::jwt::JwtError::Expired {
                Inactive::Expired
            } else {
                Inactive::Malformed
            }));
        }
    };
    if ctx.store.is_jti_revoked(&claims.jti).await? {
        return Ok(Err(Inactive::Revoked));
    }
    if let Some(user_id) = claims.client_id.strip_prefix(CLIENT_PREFIX) {
        // A user API-secret token: no client application behind it.
        let Some(user) = user_still_valid(ctx, user_id.parse().unwrap_or(-1), claims.av).await?
        else {
            return Ok(Err(Inactive::Revoked));
        };
        if user.api_secret_verifier.is_none() {
            return Ok(Err(Inactive::Revoked));
        }
        return Ok(Ok(ActiveToken {
            claims,
            user: Some(user),
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
    if let Some(fam) = &claims.fam {
        let live = ctx
            .store
            .family(fam)
            .await?
            .is_some_and(|f| f.revoked_at.is_none());
        if !live {
            return Ok(Err(Inactive::Revoked));
        }
    }
    let user = match claims.user_id() {
        Some(id) => match user_still_valid(ctx, id, claims.av).await? {
            Some(u) => Some(u),
            None => return Ok(Err(Inactive::Revoked)),
        },
        // A client's own token: its tenant must still be active.
        None => match ctx.store.tenant(app.tenant_id).await? {
            Some(t) if t.active => None,
            _ => return Ok(Err(Inactive::Revoked)),
        },
    };
    Ok(Ok(ActiveToken { claims, user }))
}
