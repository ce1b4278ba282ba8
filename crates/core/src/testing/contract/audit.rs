//! Contract cases of [`crate::store::AuditStore`].

use super::{seeded, T0};
use crate::model::audit::{AuditQuery, EventType, NewAuditEvent, Outcome};
use crate::model::token_exchange::{RetrievalOutcome, VaultRetrieval};
use crate::store::Store;
use std::sync::Arc;

pub async fn audit_events_round_trip_filter_page_newest_first_and_purge_per_tenant(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let full = NewAuditEvent::new(EventType::SignIn, 1, T0)
        .by_user(7)
        .client("app-1")
        .subject_user(7)
        .failed("wrong password");
    let full = NewAuditEvent {
        source: Some("192.0.2.1".into()),
        user_agent: Some("agent/1".into()),
        ..full
    };
    let batch = vec![
        full.clone(),
        NewAuditEvent::new(EventType::TokenIssued, 1, T0 + 10).client("app-2"),
        NewAuditEvent::new(EventType::UserChanged, 1, T0 + 20)
            .by_user(3)
            .subject_user(7),
        NewAuditEvent::new(EventType::TokenIssued, 2, T0 + 30).client("app-1"),
    ];
    store.record_audit_events(&batch).await.expect("record");
    store.record_audit_events(&[]).await.expect("nothing");

    let read = |q: AuditQuery| {
        let store = store.clone();
        async move { store.audit_events(&q).await.expect("read") }
    };
    let all = read(AuditQuery::tenant(1)).await;
    assert_eq!(all.len(), 3, "tenant 1 only");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(all[2].event, full, "every field round-trips");
    assert_eq!(all[2].event.outcome, Outcome::Failure);

    let types = |v: Vec<crate::model::audit::AuditEvent>| {
        v.into_iter()
            .map(|e| e.event.event_type)
            .collect::<Vec<_>>()
    };
    let q = AuditQuery::tenant(1);
    assert_eq!(
        types(
            read(AuditQuery {
                event_type: Some(EventType::TokenIssued),
                ..q.clone()
            })
            .await
        ),
        [EventType::TokenIssued]
    );
    assert_eq!(
        types(
            read(AuditQuery {
                user_id: Some(7),
                ..q.clone()
            })
            .await
        ),
        [EventType::UserChanged, EventType::SignIn],
        "as actor or as subject"
    );
    assert_eq!(
        types(
            read(AuditQuery {
                client_id: Some("app-1".into()),
                ..q.clone()
            })
            .await
        ),
        [EventType::SignIn]
    );
    assert_eq!(
        types(
            read(AuditQuery {
                from: Some(T0 + 10),
                to: Some(T0 + 20),
                ..q.clone()
            })
            .await
        ),
        [EventType::TokenIssued],
        "from inclusive, to exclusive"
    );
    // Pages: the cursor is the last id seen.
    let first = read(AuditQuery {
        limit: 2,
        ..q.clone()
    })
    .await;
    assert_eq!(first.len(), 2);
    let rest = read(AuditQuery {
        limit: 2,
        before_id: Some(first[1].id),
        ..q.clone()
    })
    .await;
    assert_eq!(types(rest), [EventType::SignIn]);

    // Retention: per tenant, `at < before`, vault retrievals too.
    for (tenant, at) in [(1, T0), (1, T0 + 20), (2, T0)] {
        store
            .record_vault_retrieval(&VaultRetrieval {
                tenant_id: tenant,
                user_id: 7,
                client_app_id: 1,
                oauth_profile_id: 1,
                at,
                outcome: RetrievalOutcome::Stored,
            })
            .await
            .expect("retrieval");
    }
    assert_eq!(store.audit_tenant_ids().await.expect("ids"), [1, 2]);
    let gone = store.purge_audit(1, T0 + 20).await.expect("purge");
    assert_eq!(gone, 2 + 1, "two events and one retrieval of tenant 1");
    assert_eq!(
        types(read(AuditQuery::tenant(1)).await),
        [EventType::UserChanged]
    );
    assert_eq!(
        read(AuditQuery::tenant(2)).await.len(),
        1,
        "tenant 2 untouched"
    );
    let left = store.vault_retrievals(1).await.expect("retrievals");
    let mut left: Vec<_> = left.iter().map(|r| (r.tenant_id, r.at)).collect();
    left.sort_unstable();
    assert_eq!(left, [(1, T0 + 20), (2, T0)]);
    assert_eq!(store.purge_audit(1, T0 + 20).await.expect("again"), 0);
}

/// A batch of a size the SQL store splits over several multi-row `INSERT`s (1,000 is
/// 7 × 128 + 64 + 32 + 8 rows): every event lands, in the order given (ids rising),
/// each with its own fields, optional ones set and unset alternately.
pub async fn a_large_audit_batch_is_written_whole_in_order_with_every_field(store: Arc<dyn Store>) {
    seeded(&store).await;
    let n: i64 = 1_000;
    let batch: Vec<NewAuditEvent> = (0..n)
        .map(|i| {
            let e = NewAuditEvent::new(EventType::TokenIssued, 1, T0 + i)
                .client(&format!("app-{i}"))
                .reason(format!("grant {i}"));
            if i % 2 == 0 {
                NewAuditEvent {
                    source: Some(format!("192.0.2.{}", i % 250)),
                    user_agent: Some(format!("agent/{i}")),
                    ..e.by_user(i + 1).subject_user(i + 2)
                }
            } else {
                e.failed(format!("refused {i}"))
            }
        })
        .collect();
    store.record_audit_events(&batch).await.expect("record");
    let mut read = Vec::new();
    let mut q = AuditQuery::tenant(1);
    loop {
        let page = store.audit_events(&q).await.expect("read");
        let Some(last) = page.last() else { break };
        q.before_id = Some(last.id);
        read.extend(page);
    }
    read.reverse();
    assert_eq!(read.len(), batch.len(), "every event written");
    assert!(read.windows(2).all(|w| w[0].id < w[1].id), "ids rise");
    for (got, want) in read.iter().zip(&batch) {
        assert_eq!(&got.event, want, "in the order given, every field");
    }
}
