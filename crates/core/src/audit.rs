//! The audit trail's sink ([`Audit`], on the [`crate::context::Context`]): use cases
//! hand it one [`NewAuditEvent`] where an outcome is decided; it writes the event as
//! one structured log line (target `portcullis::audit`) and queues it; a background
//! writer ([`Audit::run`], started by the server) inserts whatever is queued in ONE
//! transaction. So the token endpoint never waits for a database write of its own
//! (SQLite has one writer: a write per token would cap the issuance rate), and a burst
//! becomes a few large transactions.
//!
//! **Back-pressure, not loss.** The queue is bounded ([`QUEUE_CAPACITY`]); when it is
//! full (the database is down or slower than the traffic), [`Audit::record`] waits for
//! room, so requests slow down instead of events vanishing. A failed write keeps the
//! batch queued and is retried; a batch leaves the queue only once committed, so the
//! writer may be aborted at any point (a commit whose answer was lost with it may be
//! written twice, never lost).
//!
//! **Durability.** An event is in the database at most one batch after its action
//! (the writer wakes as soon as an event is queued and lets others gather for 20 ms,
//! so a burst is one transaction rather than one per request); a crash (not a clean shutdown,
//! which flushes) can lose the events still queued. The events API flushes this
//! node's queue before it reads, so a caller reads their own writes.
//!
//! **Where the request came from.** The server runs each request inside
//! [`serving`], a task-local [`RequestMeta`] (the caller's address after
//! `trusted_proxies`, and the `User-Agent`); `record` fills both in from it. A
//! task-local rather than a parameter, because the address would otherwise have to be
//! threaded through every use case that records an event; core still never sees HTTP.

use crate::model::audit::{EventType, NewAuditEvent, USER_AGENT_MAX};
use crate::store::{Store, StoreResult};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// The most events waiting to be written; more wait for room.
pub const QUEUE_CAPACITY: usize = 10_000;

/// The most events written in one transaction.
pub const BATCH_MAX: usize = 1_000;

/// How long the writer lets events gather after the first one before writing them.
const GATHER: Duration = Duration::from_millis(20);

/// How long the writer waits before retrying a failed write when nothing new arrives.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Where the request being served comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The caller's address (the TCP peer, or what trusted proxies forwarded).
    pub source: Option<String>,
    /// The `User-Agent` header, cut to [`USER_AGENT_MAX`] characters.
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn new(source: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            source,
            user_agent: user_agent.map(|u| u.chars().take(USER_AGENT_MAX).collect()),
        }
    }
}

tokio::task_local! {
    static REQUEST: RequestMeta;
}

/// Runs `f` (a request's handling) with `meta` as the request's origin for the
/// events it records.
pub async fn serving<F: Future>(meta: RequestMeta, f: F) -> F::Output {
    REQUEST.scope(meta, f).await
}

/// The audit sink: a bounded queue in front of [`crate::store::AuditStore`].
#[derive(Clone)]
pub struct Audit {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    queue: Mutex<VecDeque<NewAuditEvent>>,
    /// One permit per free place in the queue.
    room: Semaphore,
    /// Wakes the writer when an event is queued.
    wake: Notify,
    /// One writer at a time, so batches land in the order they were queued.
    writing: tokio::sync::Mutex<()>,
    /// Whether `record` writes at once (no background writer: the admin commands).
    immediate: bool,
    /// Event types the operator chose not to record (`audit_skip`).
    skip: Vec<EventType>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

impl Audit {
    /// A sink writing to `store`, with room for [`QUEUE_CAPACITY`] events.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_capacity(store, QUEUE_CAPACITY)
    }

    /// A sink that writes each event as it is recorded, for processes that run no
    /// background writer (the admin commands: one action, then exit).
    pub fn immediate(store: Arc<dyn Store>) -> Self {
        let mut a = Self::new(store);
        if let Some(inner) = Arc::get_mut(&mut a.inner) {
            inner.immediate = true;
        }
        a
    }

    /// This sink, recording no event of the `skip` types: neither a log line nor a
    /// row (`audit_skip`, e.g. `token_issued` for a machine client taking a token per
    /// call). Set before the sink is shared; a shared sink is returned unchanged.
    pub fn skipping(mut self, skip: Vec<EventType>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.skip = skip;
        }
        self
    }

    /// A sink with room for `capacity` events (tests use a small one).
    pub fn with_capacity(store: Arc<dyn Store>, capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                queue: Mutex::new(VecDeque::new()),
                room: Semaphore::new(capacity),
                wake: Notify::new(),
                writing: tokio::sync::Mutex::new(()),
                immediate: false,
                skip: Vec::new(),
            }),
        }
    }

    /// How many events wait to be written.
    pub fn queued(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<NewAuditEvent>> {
        self.inner
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Logs `event` and queues it for the writer, waiting while the queue is full.
    /// The request's address and user agent are filled in when `event` has none.
    pub async fn record(&self, mut event: NewAuditEvent) {
        if self.inner.skip.contains(&event.event_type) {
            return;
        }
        if let Ok(meta) = REQUEST.try_with(RequestMeta::clone) {
            if event.source.is_none() {
                event.source = meta.source;
            }
            if event.user_agent.is_none() {
                event.user_agent = meta.user_agent;
            }
        }
        tracing::info!(
            target: "portcullis::audit",
            event = event.event_type.as_str(),
            tenant = event.tenant_id,
            actor = %event.actor,
            client_id = event.client_id.as_deref(),
            subject = event.subject.as_deref(),
            source = event.source.as_deref(),
            user_agent = event.user_agent.as_deref(),
            outcome = event.outcome.as_str(),
            reason = event.reason.as_deref(),
            "audit event"
        );
        // The place is given back when the event is written. The semaphore is never
        // closed; were it, the event is queued anyway rather than lost.
        if let Ok(permit) = self.inner.room.acquire().await {
            permit.forget();
        }
        self.lock().push_back(event);
        if self.inner.immediate {
            if let Err(e) = self.flush().await {
                tracing::error!(error = %e, "writing an audit event failed");
            }
        } else {
            self.inner.wake.notify_one();
        }
    }

    /// Writes everything queued now, a transaction per [`BATCH_MAX`] events; how many
    /// were written. On a failure the unwritten events stay queued (in order) and the
    /// error is returned.
    ///
    /// Cancellation-safe: a batch leaves the queue only after its transaction
    /// committed, so a flush abandoned mid-write (the writer aborted at shutdown, a
    /// request that went away) loses nothing; the next flush writes it.
    pub async fn flush(&self) -> StoreResult<usize> {
        let _one_writer = self.inner.writing.lock().await;
        let mut written = 0;
        loop {
            // Only the holder of `writing` removes from the front; recorders only
            // push at the back, so the first `n` stay the ones written.
            let batch: Vec<NewAuditEvent> = self.lock().iter().take(BATCH_MAX).cloned().collect();
            if batch.is_empty() {
                return Ok(written);
            }
            self.inner.store.record_audit_events(&batch).await?;
            self.lock().drain(..batch.len());
            written += batch.len();
            self.inner.room.add_permits(batch.len());
        }
    }

    /// The background writer: writes whatever is queued each time an event arrives
    /// (retrying a failed write every second). Runs until aborted; the server then
    /// calls [`Audit::flush`] once more.
    pub async fn run(self) {
        let mut failing = false;
        loop {
            if failing {
                let _ = tokio::time::timeout(RETRY_AFTER, self.inner.wake.notified()).await;
            } else {
                self.inner.wake.notified().await;
                // Let a burst gather: under load, one transaction then carries hundreds
                // of events instead of the writer waking (and committing) per request.
                if self.queued() < BATCH_MAX {
                    tokio::time::sleep(GATHER).await;
                }
            }
            match self.flush().await {
                Ok(_) => failing = false,
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, queued = self.queued(), "writing audit events failed; will retry");
                    }
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit::{AuditQuery, EventType};
    use crate::testing::MemoryStore;

    #[tokio::test]
    async fn events_wait_in_the_queue_until_flushed_and_carry_the_requests_origin() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let audit = Audit::new(store.clone());
        let meta = RequestMeta::new(Some("192.0.2.7".into()), Some("curl/8"));
        serving(
            meta,
            audit.record(NewAuditEvent::new(EventType::SignIn, 1, 10).by_user(5)),
        )
        .await;
        audit
            .record(NewAuditEvent::new(EventType::KeyRotated, 1, 11))
            .await;
        assert_eq!(audit.queued(), 2);
        let q = AuditQuery::tenant(1);
        assert!(store.audit_events(&q).await.expect("read").is_empty());
        assert_eq!(audit.flush().await.expect("flush"), 2);
        let events = store.audit_events(&q).await.expect("read");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event.event_type, EventType::KeyRotated);
        assert_eq!(events[0].event.source, None);
        assert_eq!(events[1].event.source.as_deref(), Some("192.0.2.7"));
        assert_eq!(events[1].event.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(audit.queued(), 0);
    }

    #[tokio::test]
    async fn skipped_types_are_not_recorded_and_the_others_are() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let audit = Audit::new(store.clone()).skipping(vec![EventType::TokenIssued]);
        audit
            .record(NewAuditEvent::new(EventType::TokenIssued, 1, 10))
            .await;
        audit
            .record(NewAuditEvent::new(EventType::TokenRefused, 1, 11))
            .await;
        assert_eq!(audit.queued(), 1);
        assert_eq!(audit.flush().await.expect("flush"), 1);
        let events = store
            .audit_events(&AuditQuery::tenant(1))
            .await
            .expect("read");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.event_type, EventType::TokenRefused);
    }

    #[tokio::test]
    async fn a_full_queue_makes_the_recorder_wait_for_the_writer() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let audit = Audit::with_capacity(store.clone(), 1);
        audit
            .record(NewAuditEvent::new(EventType::SignIn, 1, 10))
            .await;
        let second = tokio::spawn({
            let audit = audit.clone();
            async move {
                audit
                    .record(NewAuditEvent::new(EventType::Lockout, 1, 11))
                    .await
            }
        });
        // The second waits for room (proven by the queue still holding one event
        // after the writer runs and by the second landing only after it).
        tokio::task::yield_now().await;
        assert_eq!(audit.queued(), 1);
        audit.flush().await.expect("flush");
        second.await.expect("recorded");
        audit.flush().await.expect("flush");
        let events = store
            .audit_events(&AuditQuery::tenant(1))
            .await
            .expect("read");
        assert_eq!(events.len(), 2, "nothing lost");
    }
}
