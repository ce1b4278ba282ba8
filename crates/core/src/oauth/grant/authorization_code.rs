//! The authorization code grant's exchange (RFC 6749 §4.1.3) with PKCE (RFC 7636):
//! the code is spent atomically, must belong to this client, match the redirect URI
//! of the authorization request, and prove the S256 challenge. A replayed code
//! revokes the tokens issued from it (§4.1.2, SPEC §1.2).

use crate::auth::user_still_valid;
use crate::context::Context;
use crate::crypto::pkce::{s256, valid_verifier};
use crate::model::token::CodeTake;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::request::{TokenRequest, TokenResponse};
use crate::oauth::token::{issue_for_user_from, tenant_and_limits, Target};
use subtle::ConstantTimeEq;

pub async fn exchange(
    ctx: &Context,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = req
        .code
        .ok_or_else(|| OAuthError::invalid_request("The code parameter is required."))?;
    let verifier = ctx.keys.verifier(code.expose());
    let now = ctx.now();
    let stored = match ctx.store.take_auth_code(&verifier, now).await? {
        CodeTake::Taken(c) => c,
        CodeTake::Replayed(c) => {
            tracing::warn!(
                client = c.client_app_id,
                "authorization code replayed; its tokens are revoked"
            );
            return Err(OAuthError::invalid_grant(
                "The authorization code was already used; the tokens issued from it are now revoked.",
            ));
        }
        CodeTake::Unknown => {
            return Err(OAuthError::invalid_grant(
                "The authorization code is invalid.",
            ))
        }
    };
    if stored.client_app_id != client.app.id {
        return Err(OAuthError::invalid_grant(
            "The authorization code was issued to another client.",
        ));
    }
    if stored.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "The authorization code has expired.",
        ));
    }
    if stored.redirect_uri.is_some() && stored.redirect_uri != req.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the one of the authorization request.",
        ));
    }
    match (&stored.code_challenge, &req.code_verifier) {
        (Some(challenge), Some(v)) => {
            if !valid_verifier(v.expose()) {
                return Err(OAuthError::invalid_request(
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1).",
                ));
            }
            if !bool::from(s256(v.expose()).as_bytes().ct_eq(challenge.as_bytes())) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code challenge.",
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "code_verifier is required (PKCE).",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier was sent but the authorization request had no code_challenge.",
            ))
        }
        (None, None) if client.app.public => {
            return Err(OAuthError::invalid_grant("Public clients must use PKCE."));
        }
        (None, None) => {}
    }
    crate::oauth::dpop::check_code(stored.dpop_jkt.as_deref())?;
    let user = user_still_valid(ctx, stored.user_id, None)
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_grant("The user who authorized this code can no longer sign in.")
        })?;
    let (_, limits) = tenant_and_limits(ctx, user.tenant_id).await?;
    if stored.scopes.is_empty() {
        return Err(OAuthError::invalid_grant(
            "The authorization code grants no scope.",
        ));
    }
    // The token may be for a subset of the code's resources (RFC 8707 §2.2).
    let token =
        crate::oauth::resource::select(ctx, user.tenant_id, &stored.resources, &req.resource)
            .await?;
    let target = Target {
        granted: stored.resources.clone(),
        token,
    };
    // The code learns its family in the same write that creates it; a replay that
    // came in meanwhile fails the exchange there.
    let (response, _) = issue_for_user_from(
        ctx,
        client,
        &user,
        stored.scopes.clone(),
        &limits,
        stored.sign_in,
        target,
        Some(&verifier),
    )
    .await?;
    Ok(response)
}
