//! Contract cases of [`crate::store::DeviceStore`].

use super::*;
use crate::model::device::{DeviceGrant, DevicePoll, DeviceStatus};
use crate::model::identity::{ROLE_USER, SYSTEM_TENANT_ID};

/// A user and two applications of the system tenant: (user, app, other app).
async fn device_fixture(store: &Arc<dyn Store>) -> (i64, i64, i64) {
    seeded(store).await;
    let u = user(store, SYSTEM_TENANT_ID, "dev", vec![ROLE_USER]).await;
    let a = store
        .create_client_app(app(SYSTEM_TENANT_ID, u.id, "cid-dev"))
        .await
        .expect("app");
    let b = store
        .create_client_app(app(SYSTEM_TENANT_ID, u.id, "cid-dev-other"))
        .await
        .expect("app");
    (u.id, a.id, b.id)
}

fn grant(device: &str, user_code: &str, app: i64) -> DeviceGrant {
    DeviceGrant {
        device_verifier: device.to_owned(),
        user_verifier: user_code.to_owned(),
        client_app_id: app,
        scopes: vec!["api.access.odata".into()],
        resources: vec!["https://api.example".into()],
        interval: 5,
        last_poll_at: None,
        created_at: T0,
        expires_at: T0 + 600,
        status: DeviceStatus::Pending,
    }
}

fn approved(user_id: i64) -> DeviceStatus {
    DeviceStatus::Approved {
        user_id,
        auth_time: Some(T0 + 1),
        sid: Some("sid-1".into()),
    }
}

pub async fn device_grants_are_decided_once_polled_by_their_client_and_purged(
    store: Arc<dyn Store>,
) {
    let (u, a, b) = device_fixture(&store).await;
    let g = grant("dv-1", "uv-1", a);
    store.insert_device_grant(&g).await.expect("insert");
    assert!(
        store
            .insert_device_grant(&grant("dv-2", "uv-1", a))
            .await
            .is_err(),
        "user codes are unique"
    );
    assert!(
        store
            .insert_device_grant(&grant("dv-1", "uv-2", a))
            .await
            .is_err(),
        "device codes are unique"
    );
    assert_eq!(found(store.device_grant_by_user_code("uv-1").await), g);
    assert_eq!(
        store.device_grant_by_user_code("uv-x").await.expect("get"),
        None
    );

    let poll = |v: &'static str, app: i64, now: i64| {
        let s = store.clone();
        async move { s.poll_device_grant(v, app, now).await.expect("poll") }
    };
    assert_eq!(
        poll("dv-1", b, T0 + 1).await,
        DevicePoll::Unknown,
        "another client"
    );
    assert_eq!(poll("dv-x", a, T0 + 1).await, DevicePoll::Unknown);
    assert_eq!(poll("dv-1", a, T0 + 1).await, DevicePoll::Pending);
    assert_eq!(poll("dv-1", a, T0 + 3).await, DevicePoll::SlowDown(10));
    let stored = found(store.device_grant_by_user_code("uv-1").await);
    assert_eq!(
        (stored.interval, stored.last_poll_at),
        (10, Some(T0 + 3)),
        "remembered"
    );
    assert_eq!(poll("dv-1", a, T0 + 13).await, DevicePoll::Pending);

    assert!(store
        .decide_device_grant("uv-1", &approved(u), T0 + 20)
        .await
        .expect("decide"));
    assert!(
        !store
            .decide_device_grant("uv-1", &DeviceStatus::Denied, T0 + 21)
            .await
            .expect("decide"),
        "decided once"
    );
    let DevicePoll::Taken(taken) = poll("dv-1", a, T0 + 30).await else {
        panic!("not taken")
    };
    assert_eq!(taken.status, approved(u), "the approval round-trips");
    assert_eq!(poll("dv-1", a, T0 + 40).await, DevicePoll::Used);

    store
        .insert_device_grant(&grant("dv-3", "uv-3", a))
        .await
        .expect("insert");
    assert!(store
        .decide_device_grant("uv-3", &DeviceStatus::Denied, T0 + 5)
        .await
        .expect("deny"));
    assert_eq!(poll("dv-3", a, T0 + 10).await, DevicePoll::Denied);

    store
        .insert_device_grant(&grant("dv-4", "uv-4", a))
        .await
        .expect("insert");
    assert!(
        !store
            .decide_device_grant("uv-4", &approved(u), T0 + 600)
            .await
            .expect("decide"),
        "not after expiry"
    );
    assert_eq!(poll("dv-4", a, T0 + 600).await, DevicePoll::Expired);
    let before = found(store.device_grant_by_user_code("uv-4").await);
    assert_eq!(before.last_poll_at, None, "an expired poll changes nothing");

    store.purge_expired(T0 + 600).await.expect("purge");
    assert_eq!(
        store.device_grant_by_user_code("uv-4").await.expect("get"),
        None,
        "purged"
    );
}

pub async fn of_concurrent_polls_of_an_approved_device_code_exactly_one_takes_it(
    store: Arc<dyn Store>,
) {
    let (u, a, _) = device_fixture(&store).await;
    store
        .insert_device_grant(&grant("dv-race", "uv-race", a))
        .await
        .expect("insert");
    assert!(store
        .decide_device_grant("uv-race", &approved(u), T0 + 1)
        .await
        .expect("decide"));
    let polls = race((0..6).map(|_| {
        let s = store.clone();
        async move { s.poll_device_grant("dv-race", a, T0 + 10).await }
    }))
    .await;
    let polls: Vec<DevicePoll> = polls.into_iter().map(|p| p.expect("poll")).collect();
    let taken = polls
        .iter()
        .filter(|p| matches!(p, DevicePoll::Taken(_)))
        .count();
    assert_eq!(taken, 1, "exactly one poll takes it: {polls:?}");
    assert!(polls
        .iter()
        .all(|p| matches!(p, DevicePoll::Taken(_) | DevicePoll::Used)));
}
