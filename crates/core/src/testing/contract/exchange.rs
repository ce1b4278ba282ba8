//! Contract cases of [`crate::store::ExchangeStore`].

use super::{app, seeded, user, T0};
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
    assert!(store
        .set_exchange_policy(a.id, ExchangePolicy::Impersonation)
        .await
        .expect("set"));
    assert_eq!(policy(a.id).await, ExchangePolicy::Impersonation);
    assert!(
        !store
            .set_exchange_policy(a.id + 1000, ExchangePolicy::Impersonation)
            .await
            .expect("set"),
        "no such application"
    );
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
