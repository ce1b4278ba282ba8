//! Contract cases of [`crate::store::KeyStore`]: one active and one next key per
//! algorithm however many nodes start or rotate together, rotations of every algorithm
//! at once, and retirement.

use super::{race, T0};
use crate::clock::ManualClock;
use crate::crypto::{Keyring, MasterKey};
use crate::keys::Signer;
use crate::model::signing_key::{KeyRotation, KeyState, SigAlg, StoredKey};
use crate::store::Store;
use std::sync::Arc;

/// An ES256 key.
fn key(kid: &str, state: KeyState, created_at: i64) -> StoredKey {
    key_of(SigAlg::Es256, kid, state, created_at)
}

fn key_of(alg: SigAlg, kid: &str, state: KeyState, created_at: i64) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: alg.as_str().into(),
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

/// Eight racers each insert a `state` key (`{prefix}-0` …), of the algorithms in
/// `algs` in turn; how many of each algorithm inserted theirs.
async fn racing_inserts(
    store: &Arc<dyn Store>,
    prefix: &str,
    state: KeyState,
    algs: &[SigAlg],
) -> Vec<usize> {
    let inserts = race((0..8).map(|i| {
        let store = store.clone();
        let kid = format!("{prefix}-{i}");
        let alg = algs[i % algs.len()];
        async move {
            let won = store
                .insert_signing_key(&key_of(alg, &kid, state, T0))
                .await
                .expect("insert");
            (alg, won)
        }
    }))
    .await;
    algs.iter()
        .map(|a| inserts.iter().filter(|(alg, won)| alg == a && *won).count())
        .collect()
}

pub async fn of_concurrent_first_starts_one_active_key_wins(store: Arc<dyn Store>) {
    let es256 = [SigAlg::Es256];
    assert_eq!(
        racing_inserts(&store, "kid", KeyState::Active, &es256).await,
        [1]
    );
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].state, KeyState::Active);
    // The same for next keys.
    assert_eq!(
        racing_inserts(&store, "next", KeyState::Next, &es256).await,
        [1]
    );
    assert_eq!(store.signing_keys().await.expect("keys").len(), 2);
}

pub async fn each_algorithm_has_its_own_active_and_next_key(store: Arc<dyn Store>) {
    for alg in SigAlg::ALL {
        for state in [KeyState::Active, KeyState::Next] {
            let kid = format!("{alg}-{}", state.as_str());
            assert!(
                store
                    .insert_signing_key(&key_of(alg, &kid, state, T0))
                    .await
                    .expect("insert"),
                "{kid}"
            );
            assert!(
                !store
                    .insert_signing_key(&key_of(alg, &format!("{kid}-2"), state, T0))
                    .await
                    .expect("insert"),
                "a second {kid}"
            );
        }
    }
    // Retiring keys are not limited, whatever their algorithm.
    for (i, alg) in SigAlg::ALL.into_iter().cycle().take(4).enumerate() {
        let mut r = key_of(alg, &format!("retiring-{i}"), KeyState::Retiring, T0 - 10);
        r.retire_at = Some(T0 + 100);
        assert!(store.insert_signing_key(&r).await.expect("insert"));
    }
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 8, "{keys:?}");
    for alg in SigAlg::ALL {
        for state in [KeyState::Active, KeyState::Next] {
            let of = keys
                .iter()
                .filter(|k| k.state == state && k.alg == alg.as_str());
            assert_eq!(of.count(), 1, "{alg} {state:?}");
        }
    }
}

pub async fn of_concurrent_first_starts_across_algorithms_one_key_per_algorithm_wins(
    store: Arc<dyn Store>,
) {
    let all = SigAlg::ALL;
    assert_eq!(
        racing_inserts(&store, "active", KeyState::Active, &all).await,
        [1, 1]
    );
    assert_eq!(
        racing_inserts(&store, "next", KeyState::Next, &all).await,
        [1, 1]
    );
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 4, "{keys:?}");
    for alg in SigAlg::ALL {
        let of_alg: Vec<KeyState> = keys
            .iter()
            .filter(|k| k.alg == alg.as_str())
            .map(|k| k.state)
            .collect();
        assert_eq!(of_alg.len(), 2, "{alg}: {of_alg:?}");
        assert!(of_alg.contains(&KeyState::Active) && of_alg.contains(&KeyState::Next));
    }
}

pub async fn of_concurrent_signer_starts_on_an_empty_store_all_sign_with_one_key(
    store: Arc<dyn Store>,
) {
    let ring = Keyring::new(MasterKey::generate(), vec![]);
    let clock = ManualClock::at(T0);
    let kids = race((0..4).map(|_| {
        let (store, ring, clock) = (store.clone(), ring.clone(), clock.clone());
        async move {
            let signer = Signer::load(store.as_ref(), &ring, &clock, "https://iss.example")
                .await
                .expect("load");
            SigAlg::ALL.map(|alg| signer.active_kid(alg))
        }
    }))
    .await;
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 4, "{keys:?}");
    for (i, alg) in SigAlg::ALL.into_iter().enumerate() {
        let of = |state| {
            keys.iter()
                .find(|k| k.state == state && k.alg == alg.as_str())
        };
        let active = of(KeyState::Active).expect("active");
        assert!(kids.iter().all(|k| k[i] == active.kid), "{alg}: {kids:?}");
        assert!(of(KeyState::Next).is_some(), "{alg}: {keys:?}");
    }
}

pub async fn rotation_is_atomic_and_of_concurrent_rotations_one_wins(store: Arc<dyn Store>) {
    for (alg, active, next) in [(SigAlg::Es256, "a", "b"), (SigAlg::Rs256, "ra", "rb")] {
        for (kid, state, at) in [
            (active, KeyState::Active, T0),
            (next, KeyState::Next, T0 + 1),
        ] {
            assert!(store
                .insert_signing_key(&key_of(alg, kid, state, at))
                .await
                .expect("insert"));
        }
    }
    let rotation = |new: &str| {
        [(SigAlg::Es256, "b", ""), (SigAlg::Rs256, "rb", "r")].map(|(alg, promote, prefix)| {
            KeyRotation {
                alg,
                promote: promote.into(),
                next: key_of(alg, &format!("{prefix}{new}"), KeyState::Next, T0 + 2),
                now: T0 + 50,
                retire_at: T0 + 500,
            }
        })
    };
    let rotations = race((0..6).map(|i| {
        let (store, r) = (store.clone(), rotation(&format!("c{i}")));
        async move { store.rotate_signing_keys(&r).await.expect("rotate") }
    }))
    .await;
    let won = rotations.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.len(), 6, "{keys:?}");
    for (alg, prefix) in [(SigAlg::Es256, ""), (SigAlg::Rs256, "r")] {
        let of_alg: Vec<&StoredKey> = keys.iter().filter(|k| k.alg == alg.as_str()).collect();
        let a = of_alg[0];
        assert_eq!(
            (a.kid.as_str(), a.state),
            (format!("{prefix}a").as_str(), KeyState::Retiring)
        );
        assert_eq!(a.retire_at, Some(T0 + 500));
        let b = of_alg[1];
        assert_eq!(
            (b.kid.as_str(), b.state),
            (format!("{prefix}b").as_str(), KeyState::Active)
        );
        assert_eq!(b.activated_at, Some(T0 + 50));
        assert_eq!(b.retire_at, None);
        assert_eq!(of_alg[2].state, KeyState::Next);
        assert!(of_alg[2].kid.starts_with(&format!("{prefix}c")));
    }
    // Both algorithms rotated in the same step: the winner's new next keys.
    let next_of = |alg: SigAlg| {
        keys.iter()
            .find(|k| k.state == KeyState::Next && k.alg == alg.as_str())
            .map(|k| k.kid.clone())
            .expect("next")
    };
    assert_eq!(
        format!("r{}", next_of(SigAlg::Es256)),
        next_of(SigAlg::Rs256)
    );

    // A rotation of a key that is no longer next changes nothing.
    let before = store.signing_keys().await.expect("keys");
    assert!(!store
        .rotate_signing_keys(&rotation("late"))
        .await
        .expect("rotate"));
    assert_eq!(store.signing_keys().await.expect("keys"), before);
    // Nor does one whose other algorithm is stale: all or nothing.
    let [_, mut stale_rs256] = rotation("half");
    let fresh_es256 = KeyRotation {
        promote: next_of(SigAlg::Es256),
        ..rotation("half")[0].clone()
    };
    stale_rs256.next.kid = "r-half".into();
    assert!(!store
        .rotate_signing_keys(&[fresh_es256, stale_rs256])
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
