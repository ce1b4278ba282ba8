//! The background refresher (SPEC §4.3; off by default): every interval it renews the
//! access tokens of profiles that expire within the window, through the same leased
//! refresh as the API ([`super::refresh::refresh_profile`]), so it never races a
//! manual refresh or another node. A failure is recorded on the profile
//! (`lastRefreshError`) with an exponential backoff (`next_attempt_at`: 1 min, 2, 4 …
//! up to 1 h); a success clears both. Profiles whose access-token expiry is unknown
//! (tokens pasted without one) are left alone until a refresh tells their expiry.

use super::refresh::refresh_profile;
use crate::context::Context;
use crate::store::StoreError;
use crate::upstream::UpstreamClient;
use std::sync::Arc;
use std::time::Duration;

/// Profiles handled per sweep at most.
pub const BATCH: i64 = 100;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    pub refreshed: u64,
    pub failed: u64,
    /// Leased by someone else meanwhile.
    pub skipped: u64,
}

/// Refreshes the profiles due now: access token expiring within `window_secs`.
pub async fn sweep(
    ctx: &Context,
    upstream: &Arc<dyn UpstreamClient>,
    window_secs: i64,
) -> Result<Sweep, StoreError> {
    let now = ctx.now();
    let due = ctx
        .store
        .profiles_due(now.saturating_add(window_secs), now, BATCH)
        .await?;
    let mut out = Sweep::default();
    for p in due {
        match refresh_profile(ctx, upstream, p.id, false).await {
            Ok(Some(_)) => out.refreshed += 1,
            Ok(None) => out.skipped += 1,
            Err(f) => {
                tracing::warn!(
                    oauth_profile_id = p.id,
                    code = f.code.code,
                    "background refresh failed"
                );
                out.failed += 1;
            }
        }
    }
    if let Err(e) = ctx.store.purge_connect_states(now).await {
        tracing::warn!(error = %e, "purging expired connect states failed");
    }
    Ok(out)
}

/// Sweeps every `interval` until the task is aborted.
pub async fn run(
    ctx: Context,
    upstream: Arc<dyn UpstreamClient>,
    window_secs: i64,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sweep(&ctx, &upstream, window_secs).await {
            Ok(s) if s == Sweep::default() => {}
            Ok(s) => tracing::info!(
                refreshed = s.refreshed,
                failed = s.failed,
                skipped = s.skipped,
                "background refresh of OAuth profiles"
            ),
            Err(e) => tracing::warn!(error = %e, "background refresh: listing due profiles failed"),
        }
    }
}
