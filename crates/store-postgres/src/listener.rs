//! Each node's ear on the database (issue #17 item 3): one connection that `LISTEN`s on
//! `portcullis_cache`, where migration 0020's triggers announce every change to users,
//! token families, revoked tokens (`table:key`), client applications, tenants and
//! limits (`table:`). A notice drops the entry it names from the token-state cache
//! ([`StateCache`]) or the whole row cache ([`RowCache`]).
//!
//! The loss-of-listener rule: while this connection is not subscribed — before the
//! first `LISTEN`, and from the moment it is lost until a new one is in place — both
//! caches serve nothing and keep nothing, so every read goes to the database; each
//! starts empty once subscribed again. The gauge [`LISTENING_GAUGE`] counts the stores
//! of this process that are subscribed (a server has one: 1 listening, 0 not).
//!
//! The connection's `application_name` is [`APPLICATION_NAME`], so an operator (or a
//! test) can find it in `pg_stat_activity`.

use portcullis_store_sql::state_cache::{parse_payload, Notice};
use portcullis_store_sql::{RowCache, StateCache};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::oneshot;

/// The channel migration 0020's triggers notify.
pub const CHANNEL: &str = "portcullis_cache";
/// The listener connection's `application_name`.
pub const APPLICATION_NAME: &str = "portcullis-listener";
/// Gauge: stores in this process whose listener is subscribed.
pub const LISTENING_GAUGE: &str = "portcullis_cache_listening";
/// How long a lost or failed subscription waits before the next attempt: the
/// database is not hammered while it is down, and meanwhile the node reads through.
pub const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

/// Starts the listener of a store's caches: both read through until it has
/// subscribed. It stops when the token-state cache is dropped (with the last clone of
/// the store), which drops the sender it holds.
pub(crate) fn start(pool: &PgPool, state: &Arc<StateCache>, rows: &Arc<RowCache>) {
    state.use_notifications();
    rows.set_listening(false);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    state.hold(Box::new(stop_tx));
    tokio::spawn(run(
        pool.clone(),
        Arc::downgrade(state),
        Arc::downgrade(rows),
        stop_rx,
    ));
}

/// A listener connection, named and subscribed.
async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // The built-in reconnection is not used: this module replaces a lost connection
    // itself, so it knows when the node is deaf.
    listener.ignore_pool_close_event(true);
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(APPLICATION_NAME)
        .execute(&mut listener)
        .await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Both caches' listening state.
fn set_listening(state: &Weak<StateCache>, rows: &Weak<RowCache>, listening: bool) -> bool {
    let (Some(state), Some(rows)) = (state.upgrade(), rows.upgrade()) else {
        return false;
    };
    state.set_listening(listening);
    rows.set_listening(listening);
    true
}

async fn run(
    pool: PgPool,
    state: Weak<StateCache>,
    rows: Weak<RowCache>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let subscribed = tokio::select! {
            _ = &mut stop => return,
            s = subscribe(&pool) => s,
        };
        let mut listener = match subscribed {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cache listener cannot subscribe; reading through");
                tokio::select! {
                    _ = &mut stop => return,
                    () = tokio::time::sleep(RESUBSCRIBE_DELAY) => continue,
                }
            }
        };
        if !set_listening(&state, &rows, true) {
            return;
        }
        metrics::gauge!(LISTENING_GAUGE).increment(1.0);
        tracing::info!("cache listener subscribed");
        let lost = loop {
            let notice = tokio::select! {
                _ = &mut stop => break false,
                n = listener.try_recv() => n,
            };
            match notice {
                Ok(Some(n)) => {
                    if !apply(&state, &rows, n.payload()) {
                        break false;
                    }
                }
                Ok(None) => break true,
                Err(e) => {
                    tracing::warn!(error = %e, "cache listener failed");
                    break true;
                }
            }
        };
        metrics::gauge!(LISTENING_GAUGE).decrement(1.0);
        if !lost || !set_listening(&state, &rows, false) {
            return;
        }
        tracing::warn!(
            "cache listener lost its connection; reading through until subscribed again"
        );
        drop(listener);
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
        }
    }
}

/// Drops what a notice names; `false` when the caches are gone.
fn apply(state: &Weak<StateCache>, rows: &Weak<RowCache>, payload: &str) -> bool {
    let (Some(state), Some(rows)) = (state.upgrade(), rows.upgrade()) else {
        return false;
    };
    match parse_payload(payload) {
        Notice::State(key) => state.forget(&key),
        Notice::Rows => rows.clear(),
        Notice::Unknown => {
            state.clear();
            rows.clear();
        }
    }
    true
}
