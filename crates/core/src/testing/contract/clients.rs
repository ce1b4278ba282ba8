//! Contract cases of [`crate::store::ClientStore`]: client applications and consents.

use super::{app, found, new_tenant, seeded, user, T0};
use crate::model::client_app::AppListScope;
use crate::model::client_app::{ClientAppChanges, GrantType};
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::store::{Store, StoreError};
use std::sync::Arc;

pub async fn client_applications_round_trip(store: Arc<dyn Store>) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "owner", vec![]).await;
    let created = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-1"))
        .await
        .expect("create");
    assert_eq!(created.name, "App cid-1");
    assert_eq!(
        created.redirect_urls,
        vec!["https://a.example/cb".to_owned(), "host.example".to_owned()]
    );
    assert_eq!(
        created.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::Password]
    );
    assert_eq!(created.secret_verifier.as_deref(), Some("v1.verifier"));
    assert_eq!(created.tokens_valid_after, T0);
    assert_eq!(
        store.client_app(created.id).await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(
        store.client_app_by_client_id("cid-1").await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(
        store.client_app_by_client_id("nope").await.expect("get"),
        None
    );
    let dup = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-1"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let mut public = app(SYSTEM_TENANT_ID, owner.id, "cid-2");
    public.public = true;
    public.secret_verifier = None;
    let public = store
        .create_client_app(public)
        .await
        .expect("create public");
    assert!(public.public);
    assert_eq!(public.secret_verifier, None);

    let updated = store
        .update_client_app(
            created.id,
            ClientAppChanges {
                name: "Renamed".into(),
                description: "".into(),
                redirect_urls: vec!["https://b.example/cb".into()],
                grant_types: vec![GrantType::ClientCredentials],
                scopes: vec!["api.access.mgmt".into()],
                post_logout_redirect_uris: vec![],
                id_token_signed_response_alg: None,
                userinfo_signed_response_alg: None,
                require_pushed_authorization_requests: false,
                profile: Default::default(),
                token_exchange_policy: None,
                now: T0 + 5,
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(updated.name, "Renamed");
    assert_eq!(
        updated.redirect_urls,
        vec!["https://b.example/cb".to_owned()]
    );
    assert_eq!(updated.grant_types, vec![GrantType::ClientCredentials]);
    assert_eq!(updated.updated_at, T0 + 5);
    assert_eq!(updated.client_id, "cid-1");
    assert_eq!(
        store.client_app(created.id).await.expect("get"),
        Some(updated.clone())
    );

    let ids = |v: Vec<crate::model::client_app::ClientApp>| {
        v.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .list_client_apps(AppListScope::Owner(owner.id))
            .await
            .expect("list")),
        vec![created.id, public.id]
    );
    assert_eq!(
        ids(store
            .list_client_apps(AppListScope::Tenant(SYSTEM_TENANT_ID))
            .await
            .expect("list"))
        .len(),
        2
    );
    assert!(store
        .list_client_apps(AppListScope::Owner(owner.id + 1000))
        .await
        .expect("list")
        .is_empty());

    assert!(store.delete_client_app(public.id).await.expect("delete"));
    assert!(!store.delete_client_app(public.id).await.expect("delete"));
    assert_eq!(store.client_app(public.id).await.expect("get"), None);
    assert_eq!(
        store
            .update_client_app(
                public.id,
                ClientAppChanges {
                    name: "x".into(),
                    description: "".into(),
                    redirect_urls: vec![],
                    grant_types: vec![],
                    scopes: vec![],
                    post_logout_redirect_uris: vec![],
                    id_token_signed_response_alg: None,
                    userinfo_signed_response_alg: None,
                    require_pushed_authorization_requests: false,
                    profile: Default::default(),
                    token_exchange_policy: None,
                    now: T0,
                }
            )
            .await
            .expect("update"),
        None
    );
}

pub async fn every_tenants_redirect_urls_are_listed_and_follow_changes(store: Arc<dyn Store>) {
    seeded(&store).await;
    let before = store.all_redirect_urls().await.expect("list").len();
    let owner = user(&store, SYSTEM_TENANT_ID, "owner", vec![]).await;
    let first = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-a"))
        .await
        .expect("create");
    let other = new_tenant(&store, "other").await;
    let other_owner = user(&store, other.id, "owner", vec![]).await;
    let mut second = app(other.id, other_owner.id, "cid-b");
    second.redirect_urls = vec!["https://b.example/cb".into()];
    store.create_client_app(second).await.expect("create");

    let urls = store.all_redirect_urls().await.expect("list");
    assert_eq!(urls.len(), before + 3, "{urls:?}");
    for u in [
        "https://a.example/cb",
        "host.example",
        "https://b.example/cb",
    ] {
        assert!(urls.iter().any(|x| x == u), "{u} in {urls:?}");
    }
    assert_eq!(store.all_redirect_urls().await.expect("again"), urls);

    assert!(store.delete_client_app(first.id).await.expect("delete"));
    let urls = store.all_redirect_urls().await.expect("list");
    assert!(
        !urls.iter().any(|x| x == "https://a.example/cb"),
        "{urls:?}"
    );
    assert!(urls.iter().any(|x| x == "https://b.example/cb"), "{urls:?}");
}

pub async fn client_oidc_settings_are_stored_replaced_and_cleared(store: Arc<dyn Store>) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "owner", vec![]).await;
    let plain = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-plain"))
        .await
        .expect("create");
    assert!(plain.post_logout_redirect_uris.is_empty());
    assert_eq!(plain.id_token_signed_response_alg, None);
    assert_eq!(plain.userinfo_signed_response_alg, None);

    let mut new = app(SYSTEM_TENANT_ID, owner.id, "cid-oidc");
    new.post_logout_redirect_uris = vec![
        "https://a.example/bye".into(),
        "com.example.app:/bye".into(),
    ];
    new.id_token_signed_response_alg = Some("ES256".into());
    new.userinfo_signed_response_alg = Some("RS256".into());
    // RFC 9449 §5.2 metadata round-trips with the profile.
    new.profile.dpop_bound_access_tokens = true;
    let created = store.create_client_app(new).await.expect("create");
    assert!(created.profile.dpop_bound_access_tokens);
    assert!(!plain.profile.dpop_bound_access_tokens);
    assert_eq!(
        created.post_logout_redirect_uris,
        vec![
            "https://a.example/bye".to_owned(),
            "com.example.app:/bye".to_owned()
        ]
    );
    assert_eq!(
        created.id_token_signed_response_alg.as_deref(),
        Some("ES256")
    );
    assert_eq!(
        created.userinfo_signed_response_alg.as_deref(),
        Some("RS256")
    );
    assert_eq!(found(store.client_app(created.id).await), created);
    assert_eq!(
        found(store.client_app_by_client_id("cid-oidc").await),
        created
    );

    let changes =
        |uris: Vec<String>, id_alg: Option<&str>, ui_alg: Option<&str>| ClientAppChanges {
            name: created.name.clone(),
            description: created.description.clone(),
            redirect_urls: created.redirect_urls.clone(),
            grant_types: created.grant_types.clone(),
            scopes: created.scopes.clone(),
            post_logout_redirect_uris: uris,
            id_token_signed_response_alg: id_alg.map(str::to_owned),
            userinfo_signed_response_alg: ui_alg.map(str::to_owned),
            require_pushed_authorization_requests: false,
            profile: Default::default(),
            token_exchange_policy: None,
            now: T0 + 1,
        };
    let replaced = found(
        store
            .update_client_app(
                created.id,
                changes(vec!["https://b.example/bye".into()], Some("RS256"), None),
            )
            .await,
    );
    assert_eq!(
        (
            replaced.post_logout_redirect_uris.clone(),
            replaced.id_token_signed_response_alg.as_deref(),
            replaced.userinfo_signed_response_alg.as_deref()
        ),
        (
            vec!["https://b.example/bye".to_owned()],
            Some("RS256"),
            None
        )
    );
    assert_eq!(found(store.client_app(created.id).await), replaced);
    let cleared = found(
        store
            .update_client_app(created.id, changes(vec![], None, None))
            .await,
    );
    assert!(cleared.post_logout_redirect_uris.is_empty());
    assert_eq!(cleared.id_token_signed_response_alg, None);
    assert!(!cleared.profile.dpop_bound_access_tokens);
    assert_eq!(
        found(store.client_app_by_client_id("cid-oidc").await),
        cleared,
        "the cached row was dropped on update"
    );
    assert_eq!(found(store.client_app(plain.id).await), plain);
}

pub async fn consents_union_their_scopes_and_go_with_reset_and_delete(store: Arc<dyn Store>) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "owner", vec![]).await;
    let alice = user(&store, SYSTEM_TENANT_ID, "alice", vec![]).await;
    let a = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-a"))
        .await
        .expect("create");
    let b = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-b"))
        .await
        .expect("create");
    store
        .grant_consent(alice.id, b.id, &["api.access.odata".into()], T0)
        .await
        .expect("grant");
    store
        .grant_consent(alice.id, a.id, &["api.access.odata".into()], T0)
        .await
        .expect("grant");
    store
        .grant_consent(
            alice.id,
            a.id,
            &["api.access.mgmt".into(), "api.access.odata".into()],
            T0 + 1,
        )
        .await
        .expect("grant");
    let list = store.consents_of_user(alice.id).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].client_app_id, list[0].app_name.as_str()),
        (a.id, "App cid-a")
    );
    assert_eq!(
        list[0].scopes,
        vec!["api.access.odata".to_owned(), "api.access.mgmt".to_owned()]
    );
    assert_eq!(list[0].granted_at, T0);
    assert!(store
        .consents_of_user(owner.id)
        .await
        .expect("list")
        .is_empty());

    let reset = store
        .reset_client_secret(a.id, "v1.new", T0 + 10)
        .await
        .expect("reset")
        .expect("exists");
    assert_eq!(reset.secret_verifier.as_deref(), Some("v1.new"));
    assert_eq!(reset.tokens_valid_after, T0 + 10);
    let list = store.consents_of_user(alice.id).await.expect("list");
    assert_eq!(
        list.iter().map(|c| c.client_app_id).collect::<Vec<_>>(),
        vec![b.id]
    );
    assert_eq!(
        store
            .reset_client_secret(9_999_999, "v", T0)
            .await
            .expect("reset"),
        None
    );

    assert!(store.delete_client_app(b.id).await.expect("delete"));
    assert!(store
        .consents_of_user(alice.id)
        .await
        .expect("list")
        .is_empty());

    store
        .grant_consent(alice.id, a.id, &["api.access.odata".into()], T0)
        .await
        .expect("grant");
    assert!(store
        .revoke_consent(alice.id, a.id, T0)
        .await
        .expect("revoke"));
    assert!(!store
        .revoke_consent(alice.id, a.id, T0)
        .await
        .expect("revoke"));
}
