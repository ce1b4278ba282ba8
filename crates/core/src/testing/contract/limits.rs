//! Contract cases of [`crate::store::LimitStore`]: values per level, resolved user,
//! then tenant, then system.

use super::{seeded, T0};
use crate::model::identity::{NewTenant, SYSTEM_TENANT_ID};
use crate::model::limits::LimitLevel;
use crate::store::Store;
use std::sync::Arc;

pub async fn limits_resolve_user_then_tenant_then_system(store: Arc<dyn Store>) {
    seeded(&store).await;
    assert_eq!(
        store.limit(3, SYSTEM_TENANT_ID, None).await.expect("limit"),
        None
    );
    store
        .set_limit(LimitLevel::System, 3, Some(5))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::System, 3, Some(6))
        .await
        .expect("set");
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
    let t = store
        .create_tenant(NewTenant::named("acme", T0))
        .await
        .expect("tenant");
    store
        .set_limit(LimitLevel::System, 1001, Some(100))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, Some(200))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::User(77), 1001, Some(300))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::System, 2, Some(60))
        .await
        .expect("set");
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
