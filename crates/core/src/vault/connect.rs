//! The connect flow (SPEC §4.3): instead of pasting tokens, a user is sent to the
//! upstream's `authorizeURI` (RFC 6749 §4.1.1, with `state` and PKCE S256, RFC 7636)
//! and comes back to `/oauth2callback`, where the code is exchanged at `tokenURI` and
//! the profile created.
//!
//! The `state` is 256 random bits; only its keyed verifier is stored, with the PKCE
//! code verifier (sealed), the profile's name and the user, for [`STATE_TTL`] seconds.
//! The callback takes the state exactly once, so a replayed callback finds nothing.
//! The user's permissions and the application are checked again at the callback.

use super::profiles::{self, check_new, View};
use super::refresh::upstream_failure;
use super::sealing::{open, seal};
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::crypto::pkce::s256;
use crate::crypto::Secret;
use crate::error::{ApiFailure, Code};
use crate::model::vault::ConnectState;
use crate::model::vault::ProfileScope;
use crate::upstream::{ClientAuth, TokenGrant, UpstreamClient};
use std::sync::Arc;

/// Seconds a connect flow may take from redirect to callback.
pub const STATE_TTL: i64 = 600;

pub(crate) fn verifier_purpose(state_verifier: &str) -> String {
    crate::model::vault::purpose("oauthconnect", state_verifier, "code_verifier")
}

/// Keeps printable ASCII of an upstream text, at most 200 characters.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(200)
        .collect()
}

fn invalid_state() -> ApiFailure {
    ApiFailure::new(
        Code::CONNECT_STATE_INVALID,
        "This authorization response is unknown, already used or expired; start the connection again.",
    )
}

/// Starts connecting a new profile `name` to application `oauth_app_id`; returns the
/// upstream authorization URL to send the user to.
pub async fn start(
    ctx: &Context,
    caller: &Principal,
    oauth_app_id: i64,
    name: &str,
    description: Option<&str>,
    redirect_uri: &str,
) -> Result<String, ApiFailure> {
    let checked = check_new(ctx, caller, name, description, oauth_app_id).await?;
    // Refuse a taken name now rather than after the user consented upstream.
    let taken = ctx
        .store
        .list_oauth_profiles(ProfileScope::Owner(caller.user.id))
        .await
        .map_err(store_failure)?
        .iter()
        .any(|p| p.name == checked.name);
    if taken {
        return Err(ApiFailure::new(
            Code::OAUTH_PROFILE_NAME_CONFLICT,
            format!(
                "You already have an OAuth profile named '{}'.",
                checked.name
            ),
        ));
    }
    let mut url = url::Url::parse(&checked.app.authorize_uri).map_err(|_| {
        ApiFailure::invalid_field(
            "authorizeURI",
            "the application's authorizeURI is not a URL",
        )
    })?;
    let state = Secret::generate();
    let code_verifier = Secret::generate();
    let state_verifier = ctx.keys.verifier(state.expose());
    let record = ConnectState {
        code_verifier_sealed: seal(
            ctx,
            code_verifier.expose(),
            &verifier_purpose(&state_verifier),
        )?,
        state_verifier,
        user_id: caller.user.id,
        oauth_app_id: checked.app.id,
        name: checked.name,
        description: checked.description,
        redirect_uri: redirect_uri.to_owned(),
        expires_at: ctx.now() + STATE_TTL,
    };
    ctx.store
        .insert_connect_state(&record)
        .await
        .map_err(store_failure)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &checked.app.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state.expose())
            .append_pair("code_challenge", &s256(code_verifier.expose()))
            .append_pair("code_challenge_method", "S256");
        if !checked.app.scope.trim().is_empty() {
            q.append_pair("scope", checked.app.scope.trim());
        }
    }
    tracing::info!(
        oauth_app_id = checked.app.id,
        user = caller.user.id,
        "connect flow started"
    );
    Ok(url.into())
}

/// What the upstream sent back to `/oauth2callback` (RFC 6749 §4.1.2).
#[derive(Clone, Default)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Completes a connect flow: takes the state, exchanges the code and creates the
/// profile for the user who started it.
pub async fn finish(
    ctx: &Context,
    upstream: &Arc<dyn UpstreamClient>,
    cb: Callback,
) -> Result<View, ApiFailure> {
    let state = cb
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(invalid_state)?;
    let record = ctx
        .store
        .take_connect_state(&ctx.keys.verifier(state))
        .await
        .map_err(store_failure)?
        .filter(|r| r.expires_at > ctx.now())
        .ok_or_else(invalid_state)?;
    if let Some(error) = cb.error.as_deref() {
        let mut msg = format!(
            "The upstream authorization ended with '{}'",
            printable(error)
        );
        if let Some(d) = cb.error_description.as_deref() {
            msg.push_str(&format!(": {}", printable(d)));
        }
        msg.push_str(". No profile was created.");
        return Err(ApiFailure::new(Code::CONNECT_DENIED, msg));
    }
    let code = cb
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiFailure::new(
                Code::CONNECT_DENIED,
                "The upstream sent neither a code nor an error. No profile was created.",
            )
        })?;
    let user = ctx
        .store
        .user(record.user_id)
        .await
        .map_err(store_failure)?
        .filter(|u| u.active)
        .ok_or_else(invalid_state)?;
    let permissions = ctx
        .store
        .effective_permissions(user.id)
        .await
        .map_err(store_failure)?;
    let owner = Principal { user, permissions };
    let checked = check_new(
        ctx,
        &owner,
        &record.name,
        Some(&record.description),
        record.oauth_app_id,
    )
    .await?;
    let code_verifier = open(
        ctx,
        &record.code_verifier_sealed,
        &verifier_purpose(&record.state_verifier),
    )?;
    let secret = open(
        ctx,
        &checked.app.client_secret_sealed,
        &super::apps::secret_purpose(&checked.app.seal_ref),
    )?;
    let client = ClientAuth {
        client_id: &checked.app.client_id,
        client_secret: &secret,
        method: checked.app.token_auth_method,
    };
    let grant = TokenGrant::AuthorizationCode {
        code,
        redirect_uri: &record.redirect_uri,
        code_verifier: &code_verifier,
    };
    let tokens = upstream
        .token(&checked.app.token_uri, &client, grant)
        .await
        .map_err(|e| upstream_failure(&e, "the authorization code", "No profile was created."))?;
    let Some(refresh) = tokens.refresh_token.as_deref() else {
        return Err(ApiFailure::new(
            Code::UPSTREAM_FAILED,
            "The upstream issued no refresh token (the application's scope may need offline access). No profile was created.",
        ));
    };
    let expires_at = tokens.expires_at(ctx.now());
    profiles::store_new(
        ctx,
        &owner,
        checked,
        Some(&tokens.access_token),
        refresh,
        expires_at,
    )
    .await
}
