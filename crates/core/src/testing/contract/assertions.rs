//! Contract cases of [`crate::store::AssertionStore`].

use super::{race, T0};
use crate::store::Store;
use std::sync::Arc;

pub async fn assertion_jtis_are_used_once_per_client_until_they_expire(store: Arc<dyn Store>) {
    let used = |client: &'static str, jti: &'static str, now| {
        let store = store.clone();
        async move {
            store
                .use_assertion_jti(client, jti, T0 + 300, now)
                .await
                .expect("use")
        }
    };
    assert!(used("client-a", "j1", T0).await, "first use");
    assert!(!used("client-a", "j1", T0 + 1).await, "replay");
    assert!(
        !used("client-a", "j1", T0 + 299).await,
        "replay before expiry"
    );
    assert!(
        used("client-b", "j1", T0).await,
        "another client's jti is its own"
    );
    assert!(used("client-a", "j2", T0).await);
    assert!(
        used("client-a", "j1", T0 + 300).await,
        "an expired record no longer blocks (its assertion is refused as expired anyway)"
    );
    // Three records, each expiring at T0 + 300.
    assert_eq!(
        store.purge_assertion_jtis(T0 + 299).await.expect("purge"),
        0
    );
    assert_eq!(
        store.purge_assertion_jtis(T0 + 300).await.expect("purge"),
        3
    );
    assert!(used("client-b", "j1", T0 + 301).await, "purged");
}

pub async fn of_concurrent_uses_of_one_assertion_exactly_one_succeeds(store: Arc<dyn Store>) {
    for round in 0..5 {
        let jti = format!("race-{round}");
        let racers = (0..4).map(|_| {
            let store = store.clone();
            let jti = jti.clone();
            async move {
                store
                    .use_assertion_jti("racer", &jti, T0 + 60, T0)
                    .await
                    .expect("use")
            }
        });
        let outcomes = race(racers).await;
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {outcomes:?}"
        );
    }
}
