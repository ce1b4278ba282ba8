//! Contract cases of [`crate::store::GrantStore`]: a user's grant started in one write
//! (consent, family, code link), also when a replay of its code races it, and
//! revocation by refresh token, once, for its own client only.

use super::tokens::{code, family, refresh, token_fixture};
use super::{app, found, race, T0};
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::model::token::CodeTake;
use crate::store::{Store, StoreResult};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A racer's answer: `Some(replayed)` from the start of the grant, `None` from a replay.
type Racer = Pin<Box<dyn Future<Output = StoreResult<Option<bool>>> + Send>>;

pub async fn a_user_grant_records_consent_family_and_code_in_one_write(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    store
        .insert_auth_code(&code("code-g", a, u))
        .await
        .expect("insert");
    let CodeTake::Taken(_) = store.take_auth_code("code-g", T0 + 1).await.expect("take") else {
        panic!("first use")
    };
    let f = family("fam-g", a, Some(u));
    let replayed = store
        .start_user_grant(&f, Some(&refresh("rt-g", "fam-g")), Some("code-g"), T0 + 1)
        .await
        .expect("start");
    assert!(!replayed, "no replay: the grant stands");
    assert_eq!(
        found(store.family("fam-g").await),
        f,
        "the family round-trips"
    );
    let (rt, fam) = found(store.refresh_token("rt-g").await);
    assert_eq!((rt.family_id.as_str(), fam.revoked_at), ("fam-g", None));
    let consents = store.consents_of_user(u).await.expect("consents");
    assert_eq!(consents.len(), 1);
    assert_eq!(
        (consents[0].client_app_id, consents[0].scopes.clone()),
        (a, vec!["api.access.odata".to_owned()])
    );
    // The code knows its family: a later replay revokes it.
    let CodeTake::Replayed(c) = store.take_auth_code("code-g", T0 + 3).await.expect("take") else {
        panic!("replay")
    };
    assert_eq!(c.family_id.as_deref(), Some("fam-g"));
    assert_eq!(found(store.family("fam-g").await).revoked_at, Some(T0 + 3));

    // A second grant (a password grant: no code, no refresh token) widens the consent
    // to the union of the scopes, in order.
    let mut wider = family("fam-w", a, Some(u));
    wider.scopes = vec!["api.access.mgmt".into(), "api.access.odata".into()];
    assert!(!store
        .start_user_grant(&wider, None, None, T0 + 4)
        .await
        .expect("start"));
    assert_eq!(found(store.family("fam-w").await).revoked_at, None);
    let consents = store.consents_of_user(u).await.expect("consents");
    assert_eq!(
        consents[0].scopes,
        vec!["api.access.odata".to_owned(), "api.access.mgmt".to_owned()]
    );
    assert_eq!(consents[0].granted_at, T0 + 1, "granted when first granted");

    // A failed grant (its family exists already) leaves nothing: no consent to
    // another application, no refresh token.
    let other = store
        .create_client_app(app(SYSTEM_TENANT_ID, u, "cid-g2"))
        .await
        .expect("app");
    let mut clash = family("fam-g", other.id, Some(u));
    clash.scopes = vec!["api.access.mgmt".into()];
    assert!(store
        .start_user_grant(&clash, Some(&refresh("rt-clash", "fam-g")), None, T0 + 5)
        .await
        .is_err());
    assert_eq!(store.refresh_token("rt-clash").await.expect("get"), None);
    let consents = store.consents_of_user(u).await.expect("consents");
    assert_eq!(consents.len(), 1, "no consent from a failed grant");
}

pub async fn a_replay_racing_the_start_of_its_grant_leaves_the_family_revoked(
    store: Arc<dyn Store>,
) {
    let (u, a) = token_fixture(&store).await;
    // The replay comes first: the grant learns of it and its family is born revoked.
    store
        .insert_auth_code(&code("code-early", a, u))
        .await
        .expect("insert");
    store
        .take_auth_code("code-early", T0 + 1)
        .await
        .expect("take");
    store
        .take_auth_code("code-early", T0 + 2)
        .await
        .expect("replay");
    assert!(store
        .start_user_grant(
            &family("fam-early", a, Some(u)),
            Some(&refresh("rt-early", "fam-early")),
            Some("code-early"),
            T0 + 3,
        )
        .await
        .expect("start"));
    assert_eq!(
        found(store.family("fam-early").await).revoked_at,
        Some(T0 + 2)
    );
    // Replays racing the start: whatever the interleaving, the family ends revoked,
    // and the start says so when a replay came before it.
    for round in 0..4 {
        let (c, f) = (format!("code-gr-{round}"), format!("fam-gr-{round}"));
        store
            .insert_auth_code(&code(&c, a, u))
            .await
            .expect("insert");
        let CodeTake::Taken(_) = store.take_auth_code(&c, T0 + 1).await.expect("take") else {
            panic!("first use")
        };
        let mut racers: Vec<Racer> = Vec::new();
        for _ in 0..3 {
            let (s, c) = (store.clone(), c.clone());
            racers.push(Box::pin(async move {
                s.take_auth_code(&c, T0 + 2).await.map(|_| None)
            }));
        }
        let (s, c2, f2) = (store.clone(), c.clone(), f.clone());
        racers.push(Box::pin(async move {
            s.start_user_grant(&family(&f2, a, Some(u)), None, Some(&c2), T0 + 3)
                .await
                .map(Some)
        }));
        let outcomes: Vec<Option<bool>> = race(racers)
            .await
            .into_iter()
            .map(|o| o.expect("store call"))
            .collect();
        assert_eq!(outcomes.iter().flatten().count(), 1, "one start");
        assert_eq!(
            found(store.family(&f).await).revoked_at,
            Some(T0 + 2),
            "round {round}: a replay racing the start revokes its family"
        );
    }
}

pub async fn revocation_by_refresh_token_is_once_and_for_its_own_client(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    let other = store
        .create_client_app(app(SYSTEM_TENANT_ID, u, "cid-rv"))
        .await
        .expect("app");
    store
        .create_family(
            &family("fam-rv", a, Some(u)),
            Some(&refresh("rt-rv", "fam-rv")),
        )
        .await
        .expect("family");
    assert_eq!(
        store
            .revoke_refresh_family("unknown", a, T0)
            .await
            .expect("revoke"),
        None
    );
    assert_eq!(
        store
            .revoke_refresh_family("rt-rv", other.id, T0)
            .await
            .expect("revoke"),
        None,
        "another client's token is left alone"
    );
    assert_eq!(found(store.family("fam-rv").await).revoked_at, None);
    // Concurrent revocations: exactly one revokes.
    let racers = (0..4).map(|i| {
        let s = store.clone();
        async move { s.revoke_refresh_family("rt-rv", a, T0 + 1 + i).await }
    });
    let revoked: Vec<(String, Option<i64>)> = race(racers)
        .await
        .into_iter()
        .filter_map(|o| o.expect("revoke"))
        .collect();
    assert_eq!(revoked, vec![("fam-rv".to_owned(), Some(u))]);
    assert!(found(store.family("fam-rv").await).revoked_at.is_some());
    assert_eq!(
        store
            .revoke_refresh_family("rt-rv", a, T0 + 9)
            .await
            .expect("revoke"),
        None,
        "already revoked"
    );
}
