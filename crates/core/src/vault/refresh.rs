//! The refresh of an OAuth profile at its upstream's token endpoint (RFC 6749 §6),
//! single-flight across callers and nodes: on request ([`now`], `POST
//! …/oauthprofiles/{id}/refresh`) and for the background timer ([`super::refresher`]),
//! both through [`refresh_profile`].
//!
//! A refresh serialises on a lease in the database, so concurrent refreshes of one
//! profile, on any node, make one upstream call: the caller that takes the lease (its
//! holder, a random id) calls the upstream; the others wait for it to finish and
//! answer with the stored result. The upstream call and the store write run in a task
//! of their own, so a rotated refresh token is stored even when the caller goes away.
//! A failure leaves the tokens as they were and records the error and a backoff on the
//! profile.

use super::apps;
use super::profiles::{
    access_purpose, app_of, not_found, refresh_purpose, require, view, visible, View,
};
use super::sealing::{open, seal};
use crate::auth::{store_failure, Principal};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::identity::Permission;
use crate::model::vault::{OAuthProfile, RefreshFailure, RefreshSuccess};
use crate::upstream::{ClientAuth, TokenGrant, UpstreamClient, UpstreamError};
use std::sync::Arc;
use std::time::Duration;

/// Seconds a refresh lease lasts: longer than the upstream call may take
/// ([`crate::upstream::TOTAL_TIMEOUT`]), so a lease only runs out when its node died.
pub const LEASE_SECS: i64 = 30;
/// How long a caller waits for another caller's refresh of the same profile.
pub const WAIT_FOR_OTHER: Duration = Duration::from_secs(20);
/// Longest background-refresh backoff after repeated failures.
pub const MAX_BACKOFF_SECS: i64 = 3600;
/// First background-refresh backoff.
pub const FIRST_BACKOFF_SECS: i64 = 60;

/// How a stored refresh error begins, by its code ([`refresh_error`]).
const REFUSED_PREFIX: &str = "The upstream refused the refresh: ";
const NOT_ALLOWED_PREFIX: &str = "Portcullis did not call the upstream token endpoint: ";

/// Refreshes the profile's access token at the upstream now (`POST …/{id}/refresh`).
pub async fn now(
    ctx: &Context,
    upstream: &Arc<dyn UpstreamClient>,
    caller: &Principal,
    id: i64,
) -> Result<View, ApiFailure> {
    require(
        caller,
        Permission::MODIFY_DATA_SOURCE,
        "Refreshing an OAuth profile",
    )?;
    visible(ctx, caller, id).await?;
    let p = refresh_profile(ctx, upstream, id, true)
        .await?
        .ok_or_else(|| not_found(id))?;
    let app = app_of(ctx, &p).await?;
    view(ctx, caller, p, app)
}

/// Seconds to wait before the next background attempt after `failures` failures in a row.
pub fn backoff_secs(failures: i64) -> i64 {
    let exp = failures.clamp(1, 16) - 1;
    FIRST_BACKOFF_SECS
        .saturating_mul(1_i64 << exp)
        .min(MAX_BACKOFF_SECS)
}

/// Refreshes profile `id` under its lease. When another caller holds the lease,
/// `wait` waits for it and answers with the stored outcome; without `wait` it
/// answers `Ok(None)` at once. `Ok(None)` also when the profile does not exist.
pub async fn refresh_profile(
    ctx: &Context,
    upstream: &Arc<dyn UpstreamClient>,
    id: i64,
    wait: bool,
) -> Result<Option<OAuthProfile>, ApiFailure> {
    let (holder, leased) = acquire(ctx, id).await?;
    match leased {
        Some(p) => refresh_leased(ctx, upstream, p, holder).await.map(Some),
        None if wait => wait_for_other(ctx, id).await,
        None => Ok(None),
    }
}

/// Tries to take the refresh lease of profile `id`: a holder id of this caller, and
/// the profile when the lease is now this caller's.
async fn acquire(ctx: &Context, id: i64) -> Result<(String, Option<OAuthProfile>), ApiFailure> {
    let holder = uuid::Uuid::new_v4().to_string();
    let now = ctx.now();
    let leased = ctx
        .store
        .acquire_refresh_lease(id, &holder, now, now + LEASE_SECS)
        .await
        .map_err(store_failure)?;
    Ok((holder, leased))
}

/// Refreshes `p`, whose lease `holder` holds. The upstream may rotate its refresh
/// token on this call, and only the store write keeps the successor: the call and the
/// write run in a task of their own, which finishes even when the caller goes away
/// (an HTTP request cancelled by its client) instead of losing the new token.
async fn refresh_leased(
    ctx: &Context,
    upstream: &Arc<dyn UpstreamClient>,
    p: OAuthProfile,
    holder: String,
) -> Result<OAuthProfile, ApiFailure> {
    let id = p.id;
    let (tenant, owner) = (p.tenant_id, p.owner_id);
    let audit = ctx.audit.clone();
    let (ctx, upstream) = (ctx.clone(), upstream.clone());
    let now = ctx.now();
    let result =
        tokio::spawn(async move { run_refresh(&ctx, upstream.as_ref(), p, &holder).await })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, oauth_profile_id = id, "the refresh task failed");
                ApiFailure::internal(Code::INTERNAL)
            })?;
    count_refresh(&result);
    let event = match &result {
        Ok(_) => NewAuditEvent::new(EventType::VaultRefreshed, tenant, now),
        Err(f) => NewAuditEvent::new(EventType::VaultFailed, tenant, now)
            .failed(format!("refresh failed ({})", f.code.code)),
    };
    audit
        .record(
            event
                .subject_user(owner)
                .subject(format!("oauth_profile {id}")),
        )
        .await;
    result
}

/// Counts one upstream refresh (background or on demand) by outcome: `succeeded`, or
/// why it failed (`refused`, `not_allowed`, `unreachable`, `error`).
fn count_refresh(result: &Result<OAuthProfile, ApiFailure>) {
    let outcome = match result {
        Ok(_) => "succeeded",
        Err(f) if f.code == Code::UPSTREAM_REFUSED => "refused",
        Err(f) if f.code == Code::UPSTREAM_NOT_ALLOWED => "not_allowed",
        Err(f) if f.code == Code::UPSTREAM_FAILED => "unreachable",
        Err(_) => "error",
    };
    metrics::counter!("portcullis_vault_refreshes_total", "outcome" => outcome).increment(1);
}

/// Whether profile `p` has an access token that lives past `until` (or whose upstream
/// never said how long it lives).
pub fn fresh_until(p: &OAuthProfile, until: crate::model::time::UnixTime) -> bool {
    p.access_token_sealed.is_some() && p.access_expires_at.is_none_or(|e| e > until)
}

/// [`refresh_profile`] (waiting) for a caller that needs a token living past `until`:
/// once holding the lease, it reads the profile again and, when another caller has
/// refreshed it meanwhile, releases the lease without calling the upstream. So however
/// many callers find a token expiring at once, on any node, one upstream call is made.
/// Answers the profile and whether it was refreshed (by this caller or the one it
/// waited for); `Ok(None)` when the profile does not exist.
pub async fn refresh_unless_fresh(
    ctx: &Context,
    upstream: &Arc<dyn UpstreamClient>,
    id: i64,
    until: crate::model::time::UnixTime,
) -> Result<Option<(OAuthProfile, bool)>, ApiFailure> {
    let (holder, leased) = acquire(ctx, id).await?;
    let Some(p) = leased else {
        return Ok(wait_for_other(ctx, id).await?.map(|p| (p, true)));
    };
    if fresh_until(&p, until) {
        ctx.store
            .release_refresh_lease(id, &holder)
            .await
            .map_err(store_failure)?;
        return Ok(Some((p, false)));
    }
    refresh_leased(ctx, upstream, p, holder)
        .await
        .map(|p| Some((p, true)))
}

/// Waits until the lease of profile `id` is released, then answers with the stored
/// outcome: the profile, or the error its refresh ended with.
async fn wait_for_other(ctx: &Context, id: i64) -> Result<Option<OAuthProfile>, ApiFailure> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Some(p) = ctx.store.oauth_profile(id).await.map_err(store_failure)? else {
            return Ok(None);
        };
        let free = p.refresh_lease_until.is_none_or(|u| u <= ctx.now());
        if free {
            return match &p.last_refresh_error {
                Some(e) => Err(refresh_error(e)),
                None => Ok(Some(p)),
            };
        }
        if tokio::time::Instant::now() >= deadline {
            let mut f = ApiFailure::new(
                Code::REFRESH_IN_PROGRESS,
                format!(
                    "Another refresh of OAuth profile {id} is still running; try again shortly."
                ),
            );
            f.retry_after = Some(5);
            return Err(f);
        }
    }
}

fn refresh_error(message: &str) -> ApiFailure {
    let code = if message.starts_with(REFUSED_PREFIX) {
        Code::UPSTREAM_REFUSED
    } else if message.starts_with(NOT_ALLOWED_PREFIX) {
        Code::UPSTREAM_NOT_ALLOWED
    } else {
        Code::UPSTREAM_FAILED
    };
    ApiFailure::new(code, message.to_owned())
}

/// An upstream failure as answered: `what` the upstream refused ("the refresh", "the
/// authorization code") and the `outcome` ("The stored tokens are unchanged.").
pub(super) fn upstream_failure(e: &UpstreamError, what: &str, outcome: &str) -> ApiFailure {
    match e {
        UpstreamError::Refused { status, error } => ApiFailure::new(
            Code::UPSTREAM_REFUSED,
            format!("The upstream refused {what}: {error} (HTTP {status}). {outcome}"),
        ),
        UpstreamError::NotAllowed(refused) => ApiFailure::new(
            Code::UPSTREAM_NOT_ALLOWED,
            format!("{NOT_ALLOWED_PREFIX}{refused}. {outcome}"),
        ),
        UpstreamError::Unreachable(why) => ApiFailure::new(
            Code::UPSTREAM_FAILED,
            format!("The upstream token endpoint failed: {why}. {outcome}"),
        ),
    }
}

async fn call_upstream(
    ctx: &Context,
    upstream: &dyn UpstreamClient,
    p: &OAuthProfile,
) -> Result<RefreshSuccess, ApiFailure> {
    let app = app_of(ctx, p).await?;
    let refresh_token = open(ctx, &p.refresh_token_sealed, &refresh_purpose(&p.seal_ref))?;
    let secret = open(
        ctx,
        &app.client_secret_sealed,
        &apps::secret_purpose(&app.seal_ref),
    )?;
    let client = ClientAuth {
        client_id: &app.client_id,
        client_secret: &secret,
        method: app.token_auth_method,
    };
    let grant = TokenGrant::RefreshToken {
        refresh_token: &refresh_token,
    };
    let tokens = upstream
        .token(&app.token_uri, &client, grant)
        .await
        .map_err(|e| upstream_failure(&e, "the refresh", "The stored tokens are unchanged."))?;
    let now = ctx.now();
    let rotated = tokens
        .refresh_token
        .as_deref()
        .filter(|r| *r != refresh_token);
    Ok(RefreshSuccess {
        access_token_sealed: seal(ctx, &tokens.access_token, &access_purpose(&p.seal_ref))?,
        refresh_token_sealed: rotated
            .map(|r| seal(ctx, r, &refresh_purpose(&p.seal_ref)))
            .transpose()?,
        access_expires_at: tokens.expires_at(now),
        now,
    })
}

async fn run_refresh(
    ctx: &Context,
    upstream: &dyn UpstreamClient,
    p: OAuthProfile,
    holder: &str,
) -> Result<OAuthProfile, ApiFailure> {
    match call_upstream(ctx, upstream, &p).await {
        Ok(done) => {
            let stored = ctx
                .store
                .finish_refresh(p.id, holder, &done)
                .await
                .map_err(store_failure)?;
            tracing::info!(
                oauth_profile_id = p.id,
                rotated = done.refresh_token_sealed.is_some(),
                "OAuth profile refreshed"
            );
            stored.ok_or_else(|| {
                tracing::warn!(oauth_profile_id = p.id, "refresh lease lost before storing");
                let mut f = ApiFailure::new(
                    Code::REFRESH_IN_PROGRESS,
                    format!(
                        "The refresh of OAuth profile {} took too long; try again.",
                        p.id
                    ),
                );
                f.retry_after = Some(5);
                f
            })
        }
        Err(failure) => {
            let now = ctx.now();
            let record = RefreshFailure {
                error: failure.message.clone(),
                next_attempt_at: now + backoff_secs(p.refresh_failures + 1),
                now,
            };
            if let Err(e) = ctx.store.fail_refresh(p.id, holder, &record).await {
                tracing::error!(error = %e, oauth_profile_id = p.id, "recording a failed refresh failed");
            }
            Err(failure)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::model::identity::SYSTEM_TENANT_ID;
    use crate::model::vault::{new_seal_ref, NewOAuthApp, NewOAuthProfile, TokenAuthMethod};
    use crate::testing::test_context;
    use crate::upstream::outbound::Refused;
    use crate::upstream::Tokens;
    use crate::vault::profiles::reveal;
    use std::sync::Mutex;

    /// An upstream answering from a script, recording what it was sent: core's own
    /// seam, implemented in a few lines.
    #[derive(Debug)]
    struct Scripted {
        answer: Result<Tokens, UpstreamError>,
        /// (token URI, client id, client secret, refresh token) per call.
        calls: Mutex<Vec<(String, String, String, String)>>,
    }

    #[async_trait::async_trait]
    impl UpstreamClient for Scripted {
        async fn token(
            &self,
            token_uri: &str,
            client: &ClientAuth<'_>,
            grant: TokenGrant<'_>,
        ) -> Result<Tokens, UpstreamError> {
            let TokenGrant::RefreshToken { refresh_token } = grant else {
                panic!("a refresh presents its refresh token");
            };
            self.calls.lock().expect("calls").push((
                token_uri.into(),
                client.client_id.into(),
                client.client_secret.into(),
                refresh_token.into(),
            ));
            self.answer.clone()
        }
    }

    /// A profile with tokens `a0`/`r0` at an application whose secret is `s3cret`.
    async fn profile(ctx: &Context, clock: &ManualClock) -> OAuthProfile {
        let (store, hasher) = (ctx.store.as_ref(), &ctx.hasher);
        crate::bootstrap::initial_admin(store, hasher, clock, Some("Admin-Password-1"))
            .await
            .expect("owner");
        let owner = store
            .user_by_login(SYSTEM_TENANT_ID, crate::bootstrap::INITIAL_ADMIN)
            .await
            .expect("read")
            .expect("owner");
        let app_ref = new_seal_ref();
        let app = ctx
            .store
            .create_oauth_app(NewOAuthApp {
                client_secret_sealed: seal(ctx, "s3cret", &apps::secret_purpose(&app_ref))
                    .expect("seal"),
                seal_ref: app_ref,
                tenant_id: SYSTEM_TENANT_ID,
                name: "up".into(),
                data_store: 63,
                description: String::new(),
                client_id: "vault-client".into(),
                authorize_uri: "https://up.example/authorize".into(),
                token_uri: "https://up.example/token".into(),
                scope: String::new(),
                token_auth_method: TokenAuthMethod::ClientSecretBasic,
                now: clock.now(),
            })
            .await
            .expect("app");
        let seal_ref = new_seal_ref();
        ctx.store
            .create_oauth_profile(NewOAuthProfile {
                access_token_sealed: Some(
                    seal(ctx, "a0", &access_purpose(&seal_ref)).expect("seal"),
                ),
                refresh_token_sealed: seal(ctx, "r0", &refresh_purpose(&seal_ref)).expect("seal"),
                seal_ref,
                oauth_app_id: app.id,
                tenant_id: SYSTEM_TENANT_ID,
                owner_id: owner.id,
                name: "p".into(),
                description: String::new(),
                access_expires_at: None,
                now: clock.now(),
            })
            .await
            .expect("profile")
    }

    fn scripted(answer: Result<Tokens, UpstreamError>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answer,
            calls: Mutex::default(),
        })
    }

    #[tokio::test]
    async fn a_refresh_presents_the_stored_tokens_and_keeps_a_rotated_one() {
        let (ctx, clock) = test_context().await;
        let p = profile(&ctx, &clock).await;
        let up = scripted(Ok(Tokens {
            access_token: "a1".into(),
            refresh_token: Some("r1".into()),
            expires_in: Some(3600),
        }));
        let client: Arc<dyn UpstreamClient> = up.clone();
        let done = refresh_profile(&ctx, &client, p.id, true)
            .await
            .expect("refresh")
            .expect("profile");
        let calls = up.calls.lock().expect("calls").clone();
        let expected = ("https://up.example/token", "vault-client", "s3cret", "r0");
        let seen: Vec<_> = calls
            .iter()
            .map(|(u, i, s, r)| (u.as_str(), i.as_str(), s.as_str(), r.as_str()))
            .collect();
        assert_eq!(seen, [expected]);
        let tokens = reveal(&ctx, &done).expect("reveal");
        assert_eq!(tokens.access_token.as_deref(), Some("a1"));
        assert_eq!(tokens.refresh_token, "r1", "the rotated token is kept");
        assert_eq!(done.access_expires_at, Some(clock.now() + 3600));
        assert_eq!(done.refresh_lease_until, None, "the lease is released");
    }

    #[tokio::test]
    async fn a_refused_refresh_changes_no_token_and_backs_off() {
        let (ctx, clock) = test_context().await;
        let p = profile(&ctx, &clock).await;
        let client: Arc<dyn UpstreamClient> = scripted(Err(UpstreamError::Refused {
            status: 400,
            error: "invalid_grant".into(),
        }));
        let e = refresh_profile(&ctx, &client, p.id, true)
            .await
            .expect_err("refused");
        assert_eq!(e.code.code, Code::UPSTREAM_REFUSED.code);
        assert!(
            e.message.contains("invalid_grant (HTTP 400)"),
            "{}",
            e.message
        );
        let stored = ctx
            .store
            .oauth_profile(p.id)
            .await
            .expect("read")
            .expect("profile");
        let tokens = reveal(&ctx, &stored).expect("reveal");
        assert_eq!(
            (
                tokens.access_token.as_deref(),
                tokens.refresh_token.as_str()
            ),
            (Some("a0"), "r0")
        );
        assert_eq!(
            stored.last_refresh_error.as_deref(),
            Some(e.message.as_str())
        );
        assert_eq!(
            stored.next_attempt_at,
            Some(clock.now() + FIRST_BACKOFF_SECS)
        );
    }

    /// A stored failure message is read back with the code it was answered with.
    #[test]
    fn a_stored_refresh_error_keeps_its_code() {
        let refused = UpstreamError::Refused {
            status: 400,
            error: "invalid_grant".into(),
        };
        let not_allowed = UpstreamError::NotAllowed(Refused {
            host: "10.0.0.1".into(),
            addr: None,
        });
        let unreachable = UpstreamError::Unreachable("timed out".into());
        for e in [refused, not_allowed, unreachable] {
            let answered = upstream_failure(&e, "the refresh", "The stored tokens are unchanged.");
            let stored = refresh_error(&answered.message);
            assert_eq!(stored.code.code, answered.code.code, "{e}");
            assert_eq!(stored.message, answered.message);
        }
    }

    #[test]
    fn backoff_doubles_from_a_minute_up_to_an_hour() {
        let steps: Vec<i64> = (0..9).map(backoff_secs).collect();
        assert_eq!(steps, [60, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff_secs(i64::MAX), MAX_BACKOFF_SECS);
    }
}
