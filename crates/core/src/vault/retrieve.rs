//! The vault's retrieval interface (issue 15): a client holding `vault.retrieve`
//! exchanges a user's Portcullis access token for that user's *upstream* access token
//! at an OAuth application (RFC 8693 token exchange,
//! [`crate::oauth::grant::token_exchange`]).
//!
//! The stored token is handed over as it is while it lives longer than [`MARGIN_SECS`];
//! otherwise it is refreshed at the upstream first, under the profile's refresh lease
//! ([`super::refresh::refresh_unless_fresh`]): however many retrievals find it expiring
//! at once, on any node, one upstream call is made. Every retrieval is recorded
//! (`vault_retrievals`: who, which client, which profile, when, how it ended; never a
//! token) and logged without secrets.

use super::profiles::access_purpose;
use super::refresh::{fresh_until, refresh_unless_fresh};
use super::sealing::open;
use crate::context::Context;
use crate::model::client_app::ClientApp;
use crate::model::identity::{User, SYSTEM_TENANT_ID};
use crate::model::token_exchange::{RetrievalOutcome, VaultRetrieval, VAULT_RETRIEVE};
use crate::model::vault::{OAuthApp, OAuthProfile, ProfileScope};
use crate::oauth::error::OAuthError;
use crate::upstream::UpstreamClient;
use std::sync::Arc;

/// A stored upstream token expiring within this many seconds is refreshed before it
/// is handed over, so the caller gets one it can use for at least about a minute.
pub const MARGIN_SECS: i64 = 60;

/// The path after the issuer of an OAuth application's URL, which names it as a
/// token exchange's `resource`: `<issuer>/api/mgmt/oauthapps/{id}`.
pub const APP_PATH: &str = "/api/mgmt/oauthapps/";

/// An upstream access token handed over.
#[derive(Clone)]
pub struct Retrieved {
    pub access_token: String,
    /// Seconds it still lives; [`MARGIN_SECS`] when the upstream never said (ask
    /// again by then).
    pub expires_in: i64,
    /// The scope the application asks the upstream for.
    pub scope: String,
}

impl std::fmt::Debug for Retrieved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retrieved")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Which OAuth application a token exchange names, if it names one: a `resource` of
/// the form `<issuer>/api/mgmt/oauthapps/{id}` (`Some(Err)` when the id is not a
/// number).
pub fn app_id_in(issuer: &str, resource: &str) -> Option<Result<i64, OAuthError>> {
    let rest = resource.strip_prefix(issuer)?.strip_prefix(APP_PATH)?;
    Some(rest.parse().map_err(|_| {
        OAuthError::invalid_target(format!(
            "'{resource}' does not name an OAuth application: expected {issuer}{APP_PATH}<id>."
        ))
    }))
}

/// The OAuth application named `name` that users of `tenant_id` may use (their
/// tenant's, else the system tenant's), if any.
pub async fn app_named(
    ctx: &Context,
    tenant_id: i64,
    name: &str,
) -> Result<Option<OAuthApp>, OAuthError> {
    let apps = ctx
        .store
        .list_oauth_apps(Some(&[tenant_id, SYSTEM_TENANT_ID]))
        .await?;
    let mut named: Vec<OAuthApp> = apps.into_iter().filter(|a| a.name == name).collect();
    named.sort_by_key(|a| a.tenant_id != tenant_id);
    Ok(named.into_iter().next())
}

/// The OAuth application `id` if users of `tenant_id` may use it.
pub async fn app_by_id(
    ctx: &Context,
    tenant_id: i64,
    id: i64,
) -> Result<Option<OAuthApp>, OAuthError> {
    Ok(ctx
        .store
        .oauth_app(id)
        .await?
        .filter(|a| a.tenant_id == tenant_id || a.tenant_id == SYSTEM_TENANT_ID))
}

/// Whether `client` was given `vault.retrieve` (by an administrator: dynamic
/// registration cannot ask for it).
pub fn may_retrieve(client: &ClientApp) -> bool {
    client.scopes.iter().any(|s| s == VAULT_RETRIEVE)
}

/// `user`'s upstream access token at `app`, refreshed first when it expires within
/// [`MARGIN_SECS`]. The caller has checked the client ([`may_retrieve`]) and the
/// subject token.
pub async fn retrieve(
    ctx: &Context,
    upstream: Option<&Arc<dyn UpstreamClient>>,
    client: &ClientApp,
    user: &User,
    app: &OAuthApp,
) -> Result<Retrieved, OAuthError> {
    let profile = profile_of(ctx, user, app).await?;
    let until = ctx.now() + MARGIN_SECS;
    let (profile, outcome) = if fresh_until(&profile, until) {
        (profile, RetrievalOutcome::Stored)
    } else {
        let Some(upstream) = upstream else {
            tracing::error!("token exchange reached the vault without an upstream client");
            return Err(OAuthError::server_error());
        };
        match refresh_unless_fresh(ctx, upstream, profile.id, until).await {
            Ok(Some((p, refreshed))) => {
                let outcome = if refreshed {
                    RetrievalOutcome::Refreshed
                } else {
                    RetrievalOutcome::Stored
                };
                (p, outcome)
            }
            Ok(None) => return Err(no_profile(app)),
            Err(failure) => {
                record(
                    ctx,
                    client,
                    user,
                    &profile,
                    RetrievalOutcome::UpstreamFailed,
                )
                .await?;
                tracing::warn!(
                    client = %client.client_id, user = user.id, oauth_profile_id = profile.id,
                    code = failure.code.code, "vault retrieval failed upstream"
                );
                return Err(OAuthError::invalid_grant(format!(
                    "Your token for the OAuth application '{}' could not be renewed: {}",
                    app.name, failure.message
                )));
            }
        }
    };
    let Some(sealed) = &profile.access_token_sealed else {
        return Err(no_profile(app));
    };
    let access_token = open(ctx, sealed, &access_purpose(&profile.seal_ref)).map_err(|e| {
        tracing::error!(
            oauth_profile_id = profile.id,
            code = e.code.code,
            "opening a vault token failed"
        );
        OAuthError::server_error()
    })?;
    record(ctx, client, user, &profile, outcome).await?;
    let now = ctx.now();
    let expires_in = profile
        .access_expires_at
        .map_or(MARGIN_SECS, |e| (e - now).max(0));
    tracing::info!(
        client = %client.client_id, user = user.id, oauth_profile_id = profile.id,
        outcome = outcome.as_str(), "vault token handed over by token exchange"
    );
    Ok(Retrieved {
        access_token,
        expires_in,
        scope: app.scope.clone(),
    })
}

fn no_profile(app: &OAuthApp) -> OAuthError {
    OAuthError::invalid_grant(format!(
        "You have no OAuth profile with a token for the OAuth application '{}'.",
        app.name
    ))
}

/// The user's own profile at `app` (the oldest, when they have several). Profiles of
/// other users are never considered, so a client learns nothing about them.
async fn profile_of(
    ctx: &Context,
    user: &User,
    app: &OAuthApp,
) -> Result<OAuthProfile, OAuthError> {
    ctx.store
        .list_oauth_profiles(ProfileScope::Owner(user.id))
        .await?
        .into_iter()
        .find(|p| p.oauth_app_id == app.id && p.owner_id == user.id)
        .ok_or_else(|| no_profile(app))
}

async fn record(
    ctx: &Context,
    client: &ClientApp,
    user: &User,
    profile: &OAuthProfile,
    outcome: RetrievalOutcome,
) -> Result<(), OAuthError> {
    ctx.store
        .record_vault_retrieval(&VaultRetrieval {
            tenant_id: user.tenant_id,
            user_id: user.id,
            client_app_id: client.id,
            oauth_profile_id: profile.id,
            at: ctx.now(),
            outcome,
        })
        .await?;
    let event = crate::model::audit::NewAuditEvent::new(
        crate::model::audit::EventType::VaultRetrieved,
        user.tenant_id,
        ctx.now(),
    )
    .by_client(&client.client_id)
    .subject_user(user.id)
    .subject(format!("oauth_profile {}", profile.id));
    let event = match outcome {
        RetrievalOutcome::UpstreamFailed => event.failed(outcome.as_str()),
        _ => event.reason(outcome.as_str()),
    };
    ctx.audit.record(event).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_application_url_names_its_id() {
        let issuer = "https://idp.example";
        assert_eq!(
            app_id_in(issuer, "https://idp.example/api/mgmt/oauthapps/12").map(|r| r.ok()),
            Some(Some(12))
        );
        assert!(matches!(
            app_id_in(issuer, "https://idp.example/api/mgmt/oauthapps/x"),
            Some(Err(_))
        ));
        assert!(app_id_in(issuer, "https://idp.example/api/mgmt").is_none());
        assert!(app_id_in(issuer, "https://other.example/api/mgmt/oauthapps/1").is_none());
    }
}
