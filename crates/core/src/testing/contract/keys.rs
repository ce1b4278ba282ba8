//! Contract cases of [`crate::store::KeyStore`]: one active and one next key however
//! many nodes start or rotate together, and retirement.

use super::{race, T0};
use crate::clock::ManualClock;
use crate::crypto::{Keyring, MasterKey};
use crate::keys::Signer;
use crate::model::signing_key::{KeyRotation, KeyState, StoredKey};
use crate::store::Store;
use std::sync::Arc;

fn key(kid: &str, state: KeyState, created_at: i64) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: "ES256".into(),
        private_sealed: format!("mk1.test.{kid}.sealed"),
        public_jwk: format!(r#"{{"kty":"EC","kid":"{kid}"}}"#),
        state,
        created_at,
        activated_at: (state == KeyState::Active).then_some(created_at),
        retire_at: None,
    }
}

fn states(keys: &[StoredKey]) -> Vec<(String, KeyState)> {
    keys.iter().map(|k| (k.kid.clone(), k.state)).collect()
}

pub async fn signing_keys_round_trip_with_one_active_and_one_next(store: Arc<dyn Store>) {
    assert!(store.signing_keys().await.expect("keys").is_empty());
    let a = key("kid-a", KeyState::Active, T0);
    assert!(store.insert_signing_key(&a).await.expect("insert"));
    assert!(!store
        .insert_signing_key(&key("kid-a2", KeyState::Active, T0))
        .await
        .expect("second active"));
    let n = key("kid-n", KeyState::Next, T0 + 1);
    assert!(store.insert_signing_key(&n).await.expect("insert"));
    assert!(!store
        .insert_signing_key(&key("kid-n2", KeyState::Next, T0 + 1))
        .await
        .expect("second next"));
    assert!(!store
        .insert_signing_key(&key("kid-n", KeyState::Retiring, T0))
        .await
        .expect("kid taken"));
    let mut r = key("kid-r", KeyState::Retiring, T0 - 10);
    r.retire_at = Some(T0 + 100);
    assert!(store.insert_signing_key(&r).await.expect("insert"));
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys, vec![r, a, n], "ordered by creation, every field kept");
}

/// Eight racers each insert a `state` key (`{prefix}-0` …); how many inserted theirs.
async fn racing_inserts(store: &Arc<dyn Store>, prefix: &str, state: KeyState) -> usize {
    let inserts = race((0..8).map(|i| {
        let store = store.clone();
        let kid = format!("{prefix}-{i}");
        async move {
            store
                .insert_signing_key(&key(&kid, state, T0))
                .await
                .expect("insert")
        }
    }))
    .await;
    inserts.into_iter().filter(|w| *w).count()
}

pub async fn of_concurrent_first_starts_one_active_key_wins(store: Arc<dyn Store>) {
    assert_eq!(racing_inserts(&store, "kid", KeyState::Active).await, 1);
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].state, KeyState::Active);
    // The same for next keys.
    assert_eq!(racing_inserts(&store, "next", KeyState::Next).await, 1);
    assert_eq!(store.signing_keys().await.expect("keys").len(), 2);
}

pub async fn of_concurrent_signer_starts_on_an_empty_store_all_sign_with_one_key(
    store: Arc<dyn Store>,
) {
    let ring = Keyring::new(MasterKey::generate(), vec![]);
    let clock = ManualClock::at(T0);
    let kids = race((0..4).map(|_| {
        let (store, ring, clock) = (store.clone(), ring.clone(), clock.clone());
        async move {
            Signer::load(store.as_ref(), &ring, &clock, "https://iss.example")
                .await
                .expect("load")
                .active_kid()
        }
    }))
    .await;
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 2, "{keys:?}");
    let active = keys
        .iter()
        .find(|k| k.state == KeyState::Active)
        .expect("active");
    assert!(kids.iter().all(|k| *k == active.kid), "{kids:?}");
    assert!(keys.iter().any(|k| k.state == KeyState::Next));
}

pub async fn rotation_is_atomic_and_of_concurrent_rotations_one_wins(store: Arc<dyn Store>) {
    assert!(store
        .insert_signing_key(&key("a", KeyState::Active, T0))
        .await
        .expect("insert"));
    assert!(store
        .insert_signing_key(&key("b", KeyState::Next, T0 + 1))
        .await
        .expect("insert"));
    let rotation = |new: &str| KeyRotation {
        promote: "b".into(),
        next: key(new, KeyState::Next, T0 + 2),
        now: T0 + 50,
        retire_at: T0 + 500,
    };
    let rotations = race((0..6).map(|i| {
        let (store, r) = (store.clone(), rotation(&format!("c{i}")));
        async move { store.rotate_signing_keys(&r).await.expect("rotate") }
    }))
    .await;
    let won = rotations.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 3, "{keys:?}");
    let a = &keys[0];
    assert_eq!((a.kid.as_str(), a.state), ("a", KeyState::Retiring));
    assert_eq!(a.retire_at, Some(T0 + 500));
    let b = &keys[1];
    assert_eq!((b.kid.as_str(), b.state), ("b", KeyState::Active));
    assert_eq!(b.activated_at, Some(T0 + 50));
    assert_eq!(b.retire_at, None);
    assert_eq!(keys[2].state, KeyState::Next);
    assert!(keys[2].kid.starts_with('c'));

    // A rotation of a key that is no longer next changes nothing.
    let before = store.signing_keys().await.expect("keys");
    assert!(!store
        .rotate_signing_keys(&rotation("late"))
        .await
        .expect("rotate"));
    assert_eq!(store.signing_keys().await.expect("keys"), before);
}

pub async fn retired_keys_are_deleted_once_their_retirement_ends(store: Arc<dyn Store>) {
    for (kid, retire_at) in [("r1", T0 + 10), ("r2", T0 + 20)] {
        let mut k = key(kid, KeyState::Retiring, T0 - 100);
        k.retire_at = Some(retire_at);
        assert!(store.insert_signing_key(&k).await.expect("insert"));
    }
    assert!(store
        .insert_signing_key(&key("a", KeyState::Active, T0))
        .await
        .expect("insert"));
    assert!(store
        .insert_signing_key(&key("n", KeyState::Next, T0))
        .await
        .expect("insert"));
    assert_eq!(store.delete_retired_keys(T0 + 9).await.expect("delete"), 0);
    assert_eq!(store.delete_retired_keys(T0 + 10).await.expect("delete"), 1);
    assert_eq!(
        states(&store.signing_keys().await.expect("keys")),
        vec![
            ("r2".to_owned(), KeyState::Retiring),
            ("a".to_owned(), KeyState::Active),
            ("n".to_owned(), KeyState::Next),
        ]
    );
    assert_eq!(
        store.delete_retired_keys(i64::MAX).await.expect("delete"),
        1
    );
    assert_eq!(store.signing_keys().await.expect("keys").len(), 2);
}
