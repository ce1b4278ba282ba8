//! Contract cases of [`RegistrationStore`](crate::store::RegistrationStore).

use super::{app, found, new_tenant, race, seeded, user, T0};
use crate::model::client_app::{RegisteredBy, TokenEndpointAuthMethod};
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::model::registration::{NewInitialAccessToken, RegistrationMode, RegistrationPolicy};
use crate::store::{Store, StoreError};
use std::sync::Arc;

fn token(
    tenant: i64,
    verifier: &str,
    uses: Option<i64>,
    expires_at: Option<i64>,
) -> NewInitialAccessToken {
    NewInitialAccessToken {
        tenant_id: tenant,
        verifier: verifier.into(),
        uses,
        expires_at,
        created_by: None,
        now: T0,
    }
}

/// A self-registered client (no owner) of `tenant`, by initial access token `iat`.
fn dynamic(
    tenant: i64,
    client_id: &str,
    by: RegisteredBy,
) -> crate::model::client_app::NewClientApp {
    let mut a = app(tenant, 0, client_id);
    a.owner_id = None;
    a.public = true;
    a.secret_verifier = None;
    a.token_endpoint_auth_method = TokenEndpointAuthMethod::None;
    a.registered_by = by;
    a.registration_verifier = Some(format!("reg-{client_id}"));
    a.profile.contacts = vec!["ops@app.example".into()];
    a.profile.jwks_uri = Some("https://app.example/jwks".into());
    a.now = T0 + 1;
    a
}

pub async fn an_n_use_initial_access_token_registers_exactly_n_clients(store: Arc<dyn Store>) {
    seeded(&store).await;
    let t = store
        .create_initial_access_token(token(SYSTEM_TENANT_ID, "iat-v", Some(3), Some(T0 + 100)))
        .await
        .expect("token");
    assert_eq!((t.uses_left, t.used), (Some(3), 0));
    let by = RegisteredBy::InitialAccessToken(t.id);
    let outcomes = race((0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .register_client(
                    dynamic(SYSTEM_TENANT_ID, &format!("dyn-{i}"), by),
                    Some("iat-v"),
                )
                .await
                .expect("register")
        }
    }))
    .await;
    let made: Vec<_> = outcomes.into_iter().flatten().collect();
    assert_eq!(made.len(), 3, "exactly as many clients as uses");
    let t = found(store.initial_access_token_by_verifier("iat-v").await);
    assert_eq!((t.uses_left, t.used), (Some(0), 3));
    let listed = store
        .list_client_apps(crate::model::client_app::AppListScope::Tenant(
            SYSTEM_TENANT_ID,
        ))
        .await
        .expect("list");
    assert_eq!(listed.iter().filter(|a| a.registered_by == by).count(), 3);
    let one = &made[0];
    assert_eq!(one.owner_id, None);
    assert_eq!(
        one.token_endpoint_auth_method,
        TokenEndpointAuthMethod::None
    );
    assert_eq!(one.profile.contacts, vec!["ops@app.example".to_owned()]);
    assert_eq!(
        one.profile.jwks_uri.as_deref(),
        Some("https://app.example/jwks")
    );
    assert_eq!(one.first_used_at, None);
    assert_eq!(found(store.client_app(one.id).await), *one);
}

pub async fn initial_access_tokens_expire_are_unlimited_or_wrong_and_delete(store: Arc<dyn Store>) {
    seeded(&store).await;
    let other = new_tenant(&store, "other").await;
    let expiring = store
        .create_initial_access_token(token(SYSTEM_TENANT_ID, "exp", Some(5), Some(T0 + 10)))
        .await
        .expect("token");
    let mut late = dynamic(
        SYSTEM_TENANT_ID,
        "late",
        RegisteredBy::InitialAccessToken(expiring.id),
    );
    late.now = T0 + 10;
    assert_eq!(
        store.register_client(late, Some("exp")).await.expect("ran"),
        None
    );
    let wrong_tenant = dynamic(
        other.id,
        "wt",
        RegisteredBy::InitialAccessToken(expiring.id),
    );
    assert_eq!(
        store
            .register_client(wrong_tenant, Some("exp"))
            .await
            .expect("ran"),
        None
    );
    let wrong_verifier = dynamic(
        SYSTEM_TENANT_ID,
        "wv",
        RegisteredBy::InitialAccessToken(expiring.id),
    );
    assert_eq!(
        store
            .register_client(wrong_verifier, Some("nope"))
            .await
            .expect("ran"),
        None
    );
    assert_eq!(
        found(store.initial_access_token_by_verifier("exp").await).used,
        0
    );
    assert!(store
        .client_app_by_client_id("late")
        .await
        .expect("read")
        .is_none());

    let unlimited = store
        .create_initial_access_token(token(SYSTEM_TENANT_ID, "inf", None, None))
        .await
        .expect("token");
    for i in 0..4 {
        let a = dynamic(
            SYSTEM_TENANT_ID,
            &format!("u{i}"),
            RegisteredBy::InitialAccessToken(unlimited.id),
        );
        assert!(store
            .register_client(a, Some("inf"))
            .await
            .expect("ran")
            .is_some());
    }
    let u = found(store.initial_access_token_by_verifier("inf").await);
    assert_eq!((u.uses_left, u.used), (None, 4));
    let ids: Vec<i64> = store
        .initial_access_tokens(SYSTEM_TENANT_ID)
        .await
        .expect("list")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![expiring.id, unlimited.id]);
    assert!(!store
        .delete_initial_access_token(other.id, unlimited.id)
        .await
        .expect("ran"));
    assert!(store
        .delete_initial_access_token(SYSTEM_TENANT_ID, unlimited.id)
        .await
        .expect("ran"));
    assert!(store
        .initial_access_token_by_verifier("inf")
        .await
        .expect("read")
        .is_none());
    // The clients registered with it stay, still saying how they came.
    let kept = found(store.client_app_by_client_id("u0").await);
    assert_eq!(
        kept.registered_by,
        RegisteredBy::InitialAccessToken(unlimited.id)
    );
    // The tokens go with their tenant.
    store
        .create_initial_access_token(token(other.id, "o", None, None))
        .await
        .expect("token");
    assert!(store.delete_tenant(other.id).await.expect("delete"));
    assert!(store
        .initial_access_token_by_verifier("o")
        .await
        .expect("read")
        .is_none());
}

pub async fn at_most_one_tenant_is_open_even_when_two_race(store: Arc<dyn Store>) {
    seeded(&store).await;
    let a = new_tenant(&store, "a").await;
    let b = new_tenant(&store, "b").await;
    assert_eq!(store.registration_policy(a.id).await.expect("read"), None);
    let open = RegistrationPolicy {
        policy: RegistrationMode::Open,
        ..RegistrationPolicy::default()
    };
    let outcomes = race([a.id, b.id].map(|t| {
        let store = store.clone();
        let open = open.clone();
        async move { store.set_registration_policy(t, &open).await }
    }))
    .await;
    let wins = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Err(StoreError::Conflict(_)))));
    let (winner, loser) = if outcomes[0].is_ok() {
        (a.id, b.id)
    } else {
        (b.id, a.id)
    };
    // The winner may write its own policy again; the loser may be anything but open.
    store
        .set_registration_policy(winner, &open)
        .await
        .expect("same tenant");
    let iat = RegistrationPolicy {
        policy: RegistrationMode::InitialAccessToken,
        metadata_documents: true,
        ..RegistrationPolicy::default()
    };
    store
        .set_registration_policy(loser, &iat)
        .await
        .expect("not open");
    let docs = RegistrationPolicy {
        metadata_documents: true,
        ..open.clone()
    };
    assert!(matches!(
        store.set_registration_policy(winner, &docs).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(found(store.registration_policy(loser).await), iat);
    let all = store.registration_policies().await.expect("list");
    assert_eq!(all.len(), 2);
    assert!(store.delete_tenant(winner).await.expect("delete"));
    store
        .set_registration_policy(loser, &docs)
        .await
        .expect("the open one is gone");
}

pub async fn unused_clients_are_marked_once_and_swept_by_age_and_kind(store: Arc<dyn Store>) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "ann", vec![]).await;
    let fresh = |id: &str, by: RegisteredBy, now: i64| {
        let mut a = dynamic(SYSTEM_TENANT_ID, id, by);
        a.now = now;
        a
    };
    let old = store
        .register_client(fresh("old", RegisteredBy::Open, T0), None)
        .await
        .expect("ran")
        .expect("made");
    let used = store
        .register_client(fresh("used", RegisteredBy::Open, T0), None)
        .await
        .expect("ran")
        .expect("made");
    let young = store
        .register_client(fresh("young", RegisteredBy::Open, T0 + 50), None)
        .await
        .expect("ran")
        .expect("made");
    let mut by_user = app(SYSTEM_TENANT_ID, owner.id, "hdp");
    by_user.now = T0;
    let hdp = store.create_client_app(by_user).await.expect("hdp");
    store.mark_client_used(used.id, T0 + 5).await.expect("mark");
    store
        .mark_client_used(used.id, T0 + 9)
        .await
        .expect("mark again");
    assert_eq!(
        found(store.client_app(used.id).await).first_used_at,
        Some(T0 + 5)
    );
    let n = store
        .delete_unused_clients(SYSTEM_TENANT_ID, RegisteredBy::Open, T0 + 10)
        .await
        .expect("sweep");
    assert_eq!(n, 1);
    assert!(store.client_app(old.id).await.expect("read").is_none());
    for kept in [used.id, young.id, hdp.id] {
        assert!(store.client_app(kept).await.expect("read").is_some());
    }
}
