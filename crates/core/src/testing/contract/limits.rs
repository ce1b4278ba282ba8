//! Contract cases of [`crate::store::LimitStore`]: values per level, resolved user,
//! then tenant, then system.

use super::{new_tenant, seeded};
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::model::limits::LimitLevel;
use crate::store::Store;
use std::sync::Arc;

async fn set_limit(store: &Arc<dyn Store>, level: LimitLevel, limit: i64, value: Option<i64>) {
    store.set_limit(level, limit, value).await.expect("set");
}

pub async fn limits_resolve_user_then_tenant_then_system(store: Arc<dyn Store>) {
    seeded(&store).await;
    assert_eq!(
        store.limit(3, SYSTEM_TENANT_ID, None).await.expect("limit"),
        None
    );
    set_limit(&store, LimitLevel::System, 3, Some(5)).await;
    set_limit(&store, LimitLevel::System, 3, Some(6)).await;
    assert_eq!(
        store
            .limit(3, SYSTEM_TENANT_ID, Some(42))
            .await
            .expect("limit"),
        Some(6)
    );
}

pub async fn limits_are_set_and_cleared_per_level(store: Arc<dyn Store>) {
    seeded(&store).await;
    let t = new_tenant(&store, "acme").await;
    set_limit(&store, LimitLevel::System, 1001, Some(100)).await;
    set_limit(&store, LimitLevel::Tenant(t.id), 1001, Some(200)).await;
    set_limit(&store, LimitLevel::User(77), 1001, Some(300)).await;
    set_limit(&store, LimitLevel::System, 2, Some(60)).await;
    assert_eq!(
        store
            .limit(1001, SYSTEM_TENANT_ID, None)
            .await
            .expect("get"),
        Some(100)
    );
    assert_eq!(store.limit(1001, t.id, None).await.expect("get"), Some(200));
    assert_eq!(
        store.limit(1001, t.id, Some(77)).await.expect("get"),
        Some(300)
    );
    assert_eq!(
        store.limits_at(LimitLevel::System).await.expect("at"),
        vec![(2, 60), (1001, 100)]
    );
    assert_eq!(
        store.limits_at(LimitLevel::Tenant(t.id)).await.expect("at"),
        vec![(1001, 200)]
    );
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, None)
        .await
        .expect("clear");
    assert_eq!(store.limit(1001, t.id, None).await.expect("get"), Some(100));
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, None)
        .await
        .expect("clearing twice is fine");
}
