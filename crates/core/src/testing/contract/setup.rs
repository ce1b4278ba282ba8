//! Contract cases of [`crate::store::SetupStore`]: seeding is idempotent and safe to
//! race, server secrets are initialised once.

use super::{race, seeded, T0};
use crate::bootstrap::seed;
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::store::Store;
use std::sync::Arc;

pub async fn seeding_is_idempotent_and_creates_the_system_tenant(store: Arc<dyn Store>) {
    seeded(&store).await;
    seeded(&store).await;
    let t = store
        .tenant(SYSTEM_TENANT_ID)
        .await
        .expect("tenant")
        .expect("system tenant");
    assert_eq!(t.name, "system");
    assert!(t.active);
    assert_eq!(t.parent_id, None);
}

pub async fn nodes_seeding_together_all_succeed(store: Arc<dyn Store>) {
    let seeds = race((0..4).map(|_| {
        let s = store.clone();
        async move { s.seed(&seed()).await }
    }))
    .await;
    for seeded in seeds {
        seeded.expect("a concurrent seed succeeds");
    }
    assert!(store
        .tenant(SYSTEM_TENANT_ID)
        .await
        .expect("tenant")
        .is_some());
}

pub async fn server_secrets_are_initialised_once(store: Arc<dyn Store>) {
    seeded(&store).await;
    assert_eq!(store.server_secret("pepper").await.expect("get"), None);
    assert_eq!(
        store
            .init_server_secret("pepper", "first", T0)
            .await
            .expect("init"),
        "first"
    );
    assert_eq!(
        store
            .init_server_secret("pepper", "second", T0)
            .await
            .expect("init"),
        "first"
    );
    assert_eq!(
        store.server_secret("pepper").await.expect("get").as_deref(),
        Some("first")
    );
    // Nodes starting together on a fresh database agree on one value.
    let values = race((0..4).map(|i| {
        let s = store.clone();
        async move { s.init_server_secret("salt", &format!("node-{i}"), T0).await }
    }))
    .await;
    let values: Vec<String> = values.into_iter().map(|v| v.expect("init")).collect();
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
    assert_eq!(
        store.server_secret("salt").await.expect("get"),
        Some(values[0].clone())
    );
}
