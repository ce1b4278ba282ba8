//! Contract cases of [`crate::store::VaultStore`]: round trips, cascades,
//! the refresh lease under concurrency, due profiles and single-use connect states.

use super::{race, seeded, user, T0};
use crate::model::identity::{User, ROLE_USER, SYSTEM_TENANT_ID};
use crate::model::vault::ProfileScope;
use crate::model::vault::{
    ConnectState, NewOAuthApp, NewOAuthProfile, OAuthApp, OAuthAppChanges, ProfileChanges,
    RefreshFailure, RefreshSuccess, TokenAuthMethod,
};
use crate::store::{Store, StoreError};
use std::sync::Arc;

fn new_app(tenant: i64, name: &str) -> NewOAuthApp {
    NewOAuthApp {
        seal_ref: format!("ref-{name}"),
        tenant_id: tenant,
        name: name.into(),
        data_store: 54,
        description: "d".into(),
        client_id: "cid".into(),
        client_secret_sealed: "mk1.sealed.secret".into(),
        authorize_uri: "https://up.example/authorize".into(),
        token_uri: "https://up.example/token".into(),
        scope: "offline".into(),
        token_auth_method: TokenAuthMethod::ClientSecretPost,
        now: T0,
    }
}

fn new_profile(app: i64, owner: i64, name: &str) -> NewOAuthProfile {
    NewOAuthProfile {
        seal_ref: format!("pref-{name}-{owner}"),
        oauth_app_id: app,
        tenant_id: SYSTEM_TENANT_ID,
        owner_id: owner,
        name: name.into(),
        description: String::new(),
        access_token_sealed: Some("mk1.a".into()),
        refresh_token_sealed: "mk1.r".into(),
        access_expires_at: Some(T0 + 100),
        now: T0,
    }
}

/// A seeded store's user `u` and an OAuth application `App` in the system tenant.
async fn user_and_app(store: &Arc<dyn Store>) -> (User, OAuthApp) {
    seeded(store).await;
    let u = user(store, SYSTEM_TENANT_ID, "u", vec![ROLE_USER]).await;
    let app = store
        .create_oauth_app(new_app(SYSTEM_TENANT_ID, "App"))
        .await
        .expect("app");
    (u, app)
}

pub async fn oauth_apps_and_profiles_round_trip_and_deleting_an_app_takes_its_profiles(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "u", vec![ROLE_USER]).await;
    let app = store
        .create_oauth_app(new_app(SYSTEM_TENANT_ID, "Google"))
        .await
        .expect("create app");
    assert_eq!(
        store.oauth_app(app.id).await.expect("get"),
        Some(app.clone())
    );
    assert_eq!(app.token_auth_method, TokenAuthMethod::ClientSecretPost);
    assert!(matches!(
        store
            .create_oauth_app(new_app(SYSTEM_TENANT_ID, "Google"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let other = store
        .create_oauth_app(new_app(SYSTEM_TENANT_ID, "Other"))
        .await
        .expect("second app");
    assert_eq!(store.list_oauth_apps(None).await.expect("list").len(), 2);
    assert_eq!(
        store.list_oauth_apps(Some(&[999])).await.expect("list"),
        vec![]
    );
    let changed = store
        .update_oauth_app(
            app.id,
            OAuthAppChanges {
                name: "Google2".into(),
                data_store: 62,
                description: "e".into(),
                client_id: "cid2".into(),
                client_secret_sealed: "mk1.other".into(),
                authorize_uri: "https://a2".into(),
                token_uri: "https://t2".into(),
                scope: String::new(),
                token_auth_method: TokenAuthMethod::ClientSecretBasic,
                now: T0 + 1,
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!((changed.name.as_str(), changed.data_store), ("Google2", 62));
    assert_eq!(changed.created_at, T0);

    let p = store
        .create_oauth_profile(new_profile(app.id, u.id, "User_1"))
        .await
        .expect("profile");
    assert_eq!(p.refresh_failures, 0);
    assert_eq!(
        store.oauth_profile(p.id).await.expect("get"),
        Some(p.clone())
    );
    assert!(matches!(
        store
            .create_oauth_profile(new_profile(other.id, u.id, "User_1"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let q = store
        .create_oauth_profile(new_profile(other.id, u.id, "User_2"))
        .await
        .expect("second profile");
    let updated = store
        .update_oauth_profile(
            q.id,
            ProfileChanges {
                oauth_app_id: app.id,
                name: "User_3".into(),
                description: "x".into(),
                access_token_sealed: None,
                refresh_token_sealed: "mk1.r2".into(),
                access_expires_at: None,
                now: T0 + 2,
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(updated.access_token_sealed, None);
    assert_eq!(updated.refresh_token_sealed, "mk1.r2");
    assert_eq!(
        store
            .list_oauth_profiles(ProfileScope::Owner(u.id))
            .await
            .expect("list")
            .len(),
        2
    );
    assert_eq!(
        store
            .list_oauth_profiles(ProfileScope::Tenants {
                tenants: vec![999],
                owner: 0
            })
            .await
            .expect("list"),
        vec![]
    );
    assert!(store.delete_oauth_app(app.id).await.expect("delete app"));
    assert_eq!(store.oauth_profile(p.id).await.expect("get"), None);
    assert_eq!(store.oauth_profile(q.id).await.expect("get"), None);
    assert!(!store.delete_oauth_app(app.id).await.expect("again"));
    let r = store
        .create_oauth_profile(new_profile(other.id, u.id, "User_4"))
        .await
        .expect("profile");
    assert!(store.delete_oauth_profile(r.id).await.expect("delete"));
    assert!(!store.delete_oauth_profile(r.id).await.expect("again"));
}

pub async fn of_concurrent_refresh_leases_one_wins_and_only_its_holder_finishes(
    store: Arc<dyn Store>,
) {
    let (u, app) = user_and_app(&store).await;
    let p = store
        .create_oauth_profile(new_profile(app.id, u.id, "P"))
        .await
        .expect("profile");
    let leases = race((0..8).map(|i| {
        let s = store.clone();
        async move {
            s.acquire_refresh_lease(p.id, &format!("h{i}"), T0, T0 + 30)
                .await
                .expect("lease")
                .map(|_| format!("h{i}"))
        }
    }))
    .await;
    let winners: Vec<String> = leases.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "exactly one lease: {winners:?}");
    let winner = &winners[0];
    let done = RefreshSuccess {
        access_token_sealed: "mk1.a2".into(),
        refresh_token_sealed: None,
        access_expires_at: Some(T0 + 3600),
        now: T0 + 1,
    };
    let loser = if winner == "h0" { "h1" } else { "h0" };
    assert_eq!(
        store
            .finish_refresh(p.id, loser, &done)
            .await
            .expect("finish"),
        None
    );
    let stored = store
        .finish_refresh(p.id, winner, &done)
        .await
        .expect("finish")
        .expect("the holder finishes");
    assert_eq!(stored.access_token_sealed.as_deref(), Some("mk1.a2"));
    assert_eq!(
        stored.refresh_token_sealed, "mk1.r",
        "kept without rotation"
    );
    assert_eq!(stored.refresh_lease_until, None);
    assert_eq!(stored.last_refreshed_at, Some(T0 + 1));
    // A released lease is free again; an expired one can be taken over.
    assert!(store
        .acquire_refresh_lease(p.id, "x", T0 + 2, T0 + 32)
        .await
        .expect("lease")
        .is_some());
    assert!(store
        .acquire_refresh_lease(p.id, "y", T0 + 3, T0 + 33)
        .await
        .expect("lease")
        .is_none());
    assert!(store
        .acquire_refresh_lease(p.id, "y", T0 + 32, T0 + 62)
        .await
        .expect("lease")
        .is_some());
    let failure = RefreshFailure {
        error: "invalid_grant".into(),
        next_attempt_at: T0 + 100,
        now: T0 + 33,
    };
    assert_eq!(
        store.fail_refresh(p.id, "x", &failure).await.expect("fail"),
        None,
        "the expired holder no longer counts"
    );
    let failed = store
        .fail_refresh(p.id, "y", &failure)
        .await
        .expect("fail")
        .expect("holder");
    assert_eq!(failed.last_refresh_error.as_deref(), Some("invalid_grant"));
    assert_eq!(failed.refresh_failures, 1);
    assert_eq!(failed.access_token_sealed.as_deref(), Some("mk1.a2"));
    assert_eq!(failed.refresh_lease_until, None);
    let rotated = RefreshSuccess {
        refresh_token_sealed: Some("mk1.r3".into()),
        ..done
    };
    store
        .acquire_refresh_lease(p.id, "z", T0 + 40, T0 + 70)
        .await
        .expect("lease")
        .expect("free");
    let ok = store
        .finish_refresh(p.id, "z", &rotated)
        .await
        .expect("finish")
        .expect("holder");
    assert_eq!(ok.refresh_token_sealed, "mk1.r3");
    assert_eq!((ok.refresh_failures, ok.last_refresh_error), (0, None));
}

pub async fn due_profiles_respect_expiry_backoff_and_leases(store: Arc<dyn Store>) {
    let (u, app) = user_and_app(&store).await;
    let soon = store
        .create_oauth_profile(new_profile(app.id, u.id, "Soon"))
        .await
        .expect("p");
    let mut later = new_profile(app.id, u.id, "Later");
    later.access_expires_at = Some(T0 + 10_000);
    store.create_oauth_profile(later).await.expect("p");
    let mut unknown = new_profile(app.id, u.id, "Unknown");
    unknown.access_expires_at = None;
    store.create_oauth_profile(unknown).await.expect("p");
    let ids =
        |v: Vec<crate::model::vault::OAuthProfile>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.profiles_due(T0 + 300, T0, 10).await.expect("due")),
        vec![soon.id]
    );
    store
        .acquire_refresh_lease(soon.id, "h", T0, T0 + 30)
        .await
        .expect("lease")
        .expect("free");
    assert!(store
        .profiles_due(T0 + 300, T0, 10)
        .await
        .expect("due")
        .is_empty());
    store
        .fail_refresh(
            soon.id,
            "h",
            &RefreshFailure {
                error: "e".into(),
                next_attempt_at: T0 + 60,
                now: T0,
            },
        )
        .await
        .expect("fail");
    assert!(store
        .profiles_due(T0 + 300, T0 + 59, 10)
        .await
        .expect("due")
        .is_empty());
    assert_eq!(
        ids(store
            .profiles_due(T0 + 300, T0 + 60, 10)
            .await
            .expect("due")),
        vec![soon.id]
    );
    assert_eq!(
        store
            .profiles_due(T0 + 20_000, T0 + 60, 1)
            .await
            .expect("due")
            .len(),
        1
    );
}

pub async fn connect_states_are_taken_once(store: Arc<dyn Store>) {
    let (u, app) = user_and_app(&store).await;
    let state = |v: &str, exp: i64| ConnectState {
        state_verifier: v.into(),
        user_id: u.id,
        oauth_app_id: app.id,
        name: "P".into(),
        description: String::new(),
        code_verifier_sealed: "mk1.v".into(),
        redirect_uri: "https://me.example/oauth2callback".into(),
        expires_at: exp,
    };
    store
        .insert_connect_state(&state("s1", T0 + 600))
        .await
        .expect("insert");
    store
        .insert_connect_state(&state("s2", T0 + 10))
        .await
        .expect("insert");
    let takes = race((0..4).map(|_| {
        let s = store.clone();
        async move { s.take_connect_state("s1").await.expect("take") }
    }))
    .await;
    let taken: Vec<ConnectState> = takes.into_iter().flatten().collect();
    assert_eq!(taken, vec![state("s1", T0 + 600)]);
    assert_eq!(store.purge_connect_states(T0 + 10).await.expect("purge"), 1);
    assert_eq!(store.take_connect_state("s2").await.expect("take"), None);
}

pub async fn vault_rows_go_with_their_tenant_and_owner(store: Arc<dyn Store>) {
    seeded(&store).await;
    let tenant = store
        .create_tenant(crate::model::identity::NewTenant::named("acme", T0))
        .await
        .expect("tenant");
    let owner = user(&store, tenant.id, "o", vec![]).await;
    let sys_user = user(&store, SYSTEM_TENANT_ID, "s", vec![ROLE_USER]).await;
    let tenant_app = store
        .create_oauth_app(new_app(tenant.id, "Acme"))
        .await
        .expect("app");
    let sys_app = store
        .create_oauth_app(new_app(SYSTEM_TENANT_ID, "Sys"))
        .await
        .expect("app");
    let p1 = store
        .create_oauth_profile(new_profile(sys_app.id, owner.id, "P1"))
        .await
        .expect("p1");
    let p2 = store
        .create_oauth_profile(new_profile(sys_app.id, sys_user.id, "P2"))
        .await
        .expect("p2");
    assert!(store.delete_user(sys_user.id).await.expect("delete user"));
    assert_eq!(store.oauth_profile(p2.id).await.expect("get"), None);
    assert!(store.delete_tenant(tenant.id).await.expect("delete tenant"));
    assert_eq!(store.oauth_app(tenant_app.id).await.expect("get"), None);
    assert_eq!(store.oauth_profile(p1.id).await.expect("get"), None);
    assert!(store.oauth_app(sys_app.id).await.expect("get").is_some());
}

pub async fn a_released_refresh_lease_leaves_the_tokens_and_frees_the_profile(
    store: Arc<dyn Store>,
) {
    let (u, app) = user_and_app(&store).await;
    let p = store
        .create_oauth_profile(new_profile(app.id, u.id, "P"))
        .await
        .expect("profile");
    let leased = store
        .acquire_refresh_lease(p.id, "h", T0, T0 + 30)
        .await
        .expect("lease")
        .expect("free");
    assert!(
        !store
            .release_refresh_lease(p.id, "other")
            .await
            .expect("release"),
        "only the holder releases"
    );
    assert!(store
        .release_refresh_lease(p.id, "h")
        .await
        .expect("release"));
    let after = store
        .oauth_profile(p.id)
        .await
        .expect("read")
        .expect("profile");
    assert_eq!(after.refresh_lease_until, None);
    assert_eq!(
        (
            &after.access_token_sealed,
            &after.refresh_token_sealed,
            after.last_refreshed_at,
            after.updated_at
        ),
        (
            &leased.access_token_sealed,
            &leased.refresh_token_sealed,
            leased.last_refreshed_at,
            leased.updated_at
        ),
        "nothing else changes"
    );
    assert!(store
        .acquire_refresh_lease(p.id, "next", T0 + 1, T0 + 31)
        .await
        .expect("lease")
        .is_some());
}

/// `SealedStore`: every sealed column is listed with what its purpose is bound to, and
/// a value is replaced only where the column still holds the old text.
pub async fn sealed_values_are_listed_and_replaced_only_where_unchanged(store: Arc<dyn Store>) {
    use crate::model::signing_key::{KeyState, StoredKey};
    use crate::store::SealedColumn as C;
    let (u, app) = user_and_app(&store).await;
    let profile = store
        .create_oauth_profile(new_profile(app.id, u.id, "P"))
        .await
        .expect("profile");
    store
        .init_server_secret("verifier-pepper", "mk1.pepper", T0)
        .await
        .expect("secret");
    store
        .insert_signing_key(&StoredKey {
            kid: "k1".into(),
            alg: "ES256".into(),
            private_sealed: "mk1.private".into(),
            public_jwk: "{}".into(),
            state: KeyState::Active,
            created_at: T0,
            activated_at: Some(T0),
            retire_at: None,
        })
        .await
        .expect("key");
    store
        .insert_connect_state(&ConnectState {
            state_verifier: "s1".into(),
            user_id: u.id,
            oauth_app_id: app.id,
            name: "P".into(),
            description: String::new(),
            code_verifier_sealed: "mk1.v".into(),
            redirect_uri: "https://me.example/oauth2callback".into(),
            expires_at: T0 + 600,
        })
        .await
        .expect("state");

    let listed = |c| {
        let store = store.clone();
        async move {
            store
                .sealed_values(c)
                .await
                .expect("list")
                .into_iter()
                .map(|v| (v.bound_to, v.sealed))
                .collect::<Vec<_>>()
        }
    };
    let pair = |a: &str, b: &str| vec![(a.to_owned(), b.to_owned())];
    assert_eq!(
        listed(C::ServerSecret).await,
        pair("verifier-pepper", "mk1.pepper")
    );
    assert_eq!(listed(C::SigningKey).await, pair("k1", "mk1.private"));
    assert_eq!(
        listed(C::OAuthAppSecret).await,
        pair("ref-App", "mk1.sealed.secret")
    );
    assert_eq!(
        listed(C::ProfileAccessToken).await,
        pair(&profile.seal_ref, "mk1.a")
    );
    assert_eq!(
        listed(C::ProfileRefreshToken).await,
        pair(&profile.seal_ref, "mk1.r")
    );
    assert_eq!(listed(C::ConnectVerifier).await, pair("s1", "mk1.v"));

    for (c, old) in [
        (C::ServerSecret, "mk1.pepper"),
        (C::SigningKey, "mk1.private"),
        (C::OAuthAppSecret, "mk1.sealed.secret"),
        (C::ProfileAccessToken, "mk1.a"),
        (C::ProfileRefreshToken, "mk1.r"),
        (C::ConnectVerifier, "mk1.v"),
    ] {
        let new = format!("{old}.new");
        assert!(store.replace_sealed(c, old, &new).await.expect("replace"));
        // The column no longer holds the old text: a second swap changes nothing.
        assert!(!store
            .replace_sealed(c, old, "mk1.other")
            .await
            .expect("replace"));
        assert_eq!(listed(c).await[0].1, new, "{}", c.name());
    }
    // The rows read back through their own traits carry the new values.
    let app = store.oauth_app(app.id).await.expect("read").expect("app");
    assert_eq!(app.client_secret_sealed, "mk1.sealed.secret.new");
    let p = store
        .oauth_profile(profile.id)
        .await
        .expect("read")
        .expect("p");
    assert_eq!(p.access_token_sealed.as_deref(), Some("mk1.a.new"));
    assert_eq!(p.refresh_token_sealed, "mk1.r.new");
    assert_eq!(
        store
            .server_secret("verifier-pepper")
            .await
            .expect("read")
            .as_deref(),
        Some("mk1.pepper.new")
    );
}
