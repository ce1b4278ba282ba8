//! Contract cases of [`crate::store::ExchangeStore`].

use super::{app, seeded, user, T0};
use crate::model::client_app::{ClientAppChanges, NewClientApp};
use crate::model::identity::SYSTEM_TENANT_ID;
use crate::model::token_exchange::{ExchangePolicy, RetrievalOutcome, VaultRetrieval};
use crate::store::Store;
use std::sync::Arc;

pub async fn exchange_policies_default_to_delegation_and_vault_retrievals_are_kept(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "exchanger", vec![]).await;
    let a = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "exchange-a"))
        .await
        .expect("app");
    let policy = |id| {
        let store = store.clone();
        async move { store.exchange_policy(id).await.expect("policy") }
    };
    assert_eq!(policy(a.id).await, ExchangePolicy::Delegation, "default");
    // Created with a policy: written with the row.
    let b = store
        .create_client_app(NewClientApp {
            token_exchange_policy: Some(ExchangePolicy::Impersonation),
            ..app(SYSTEM_TENANT_ID, owner.id, "exchange-b")
        })
        .await
        .expect("app");
    assert_eq!(policy(b.id).await, ExchangePolicy::Impersonation);
    // An update sets it with the row's other fields, and leaves it when it names none.
    let changes = |p| ClientAppChanges {
        name: a.name.clone(),
        description: a.description.clone(),
        redirect_urls: a.redirect_urls.clone(),
        grant_types: a.grant_types.clone(),
        scopes: a.scopes.clone(),
        post_logout_redirect_uris: vec![],
        id_token_signed_response_alg: None,
        userinfo_signed_response_alg: None,
        require_pushed_authorization_requests: false,
        profile: a.profile.clone(),
        token_exchange_policy: p,
        now: T0 + 1,
    };
    let updated = store
        .update_client_app(a.id, changes(Some(ExchangePolicy::Impersonation)))
        .await
        .expect("update");
    assert!(updated.is_some());
    assert_eq!(policy(a.id).await, ExchangePolicy::Impersonation);
    store
        .update_client_app(a.id, changes(None))
        .await
        .expect("update");
    assert_eq!(
        policy(a.id).await,
        ExchangePolicy::Impersonation,
        "unchanged"
    );
    // No such application: nothing written, the default read.
    let none = store
        .update_client_app(a.id + 1000, changes(Some(ExchangePolicy::Impersonation)))
        .await
        .expect("update");
    assert!(none.is_none());
    assert_eq!(policy(a.id + 1000).await, ExchangePolicy::Delegation);

    let record = |profile, at, outcome| VaultRetrieval {
        tenant_id: SYSTEM_TENANT_ID,
        user_id: owner.id,
        client_app_id: a.id,
        oauth_profile_id: profile,
        at,
        outcome,
    };
    let first = record(7, T0, RetrievalOutcome::Stored);
    let second = record(7, T0 + 5, RetrievalOutcome::UpstreamFailed);
    let other = record(8, T0 + 1, RetrievalOutcome::Refreshed);
    for r in [&first, &other, &second] {
        store.record_vault_retrieval(r).await.expect("record");
    }
    assert_eq!(
        store.vault_retrievals(7).await.expect("list"),
        vec![first, second]
    );
    assert_eq!(store.vault_retrievals(8).await.expect("list"), vec![other]);
    // The record outlives the application it names.
    assert!(store.delete_client_app(a.id).await.expect("delete"));
    assert_eq!(store.vault_retrievals(8).await.expect("list").len(), 1);
}
