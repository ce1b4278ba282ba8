//! Contract cases of [`crate::store::SessionStore`].

use super::{seeded, user, T0};
use crate::model::identity::{ROLE_USER, SYSTEM_TENANT_ID};
use crate::store::Store;
use std::sync::Arc;

pub async fn sessions_round_trip_expire_and_go_with_their_user(store: Arc<dyn Store>) {
    use crate::model::session::Session;
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "sess", vec![ROLE_USER]).await;
    let s = Session::new("sv-1".into(), u.id, 4, T0);
    store.insert_session(&s).await.expect("insert");
    assert!(
        store.insert_session(&s).await.is_err(),
        "verifiers are unique"
    );
    assert_eq!(store.session("sv-1").await.expect("get"), Some(s.clone()));
    assert_eq!(store.session("nope").await.expect("get"), None);
    store
        .touch_session("sv-1", T0 + 500 + crate::model::session::IDLE_LIFETIME)
        .await
        .expect("touch");
    store
        .touch_session("sv-1", T0 + 100)
        .await
        .expect("an earlier deadline is ignored");
    assert_eq!(
        store
            .session("sv-1")
            .await
            .expect("get")
            .map(|x| x.idle_until),
        Some(T0 + 500 + crate::model::session::IDLE_LIFETIME)
    );
    store
        .insert_session(&Session::new("sv-2".into(), u.id, 4, T0))
        .await
        .expect("insert");
    // sv-2 is idle past its deadline; sv-1 was touched.
    assert_eq!(
        store
            .purge_sessions(T0 + crate::model::session::IDLE_LIFETIME)
            .await
            .expect("purge"),
        1
    );
    assert_eq!(store.session("sv-2").await.expect("get"), None);
    assert!(store.delete_session("sv-1").await.expect("delete"));
    assert!(!store.delete_session("sv-1").await.expect("delete"));
    store
        .insert_session(&Session::new("sv-3".into(), u.id, 4, T0))
        .await
        .expect("insert");
    assert!(store.delete_user(u.id).await.expect("delete user"));
    assert_eq!(
        store.session("sv-3").await.expect("get"),
        None,
        "a deleted user's sessions go with them"
    );
}
