//! [`ExchangeStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::token_exchange::{ExchangePolicy, VaultRetrieval};
use crate::store::{ExchangeStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl ExchangeStore for MemoryStore {
    async fn exchange_policy(&self, client_app_id: i64) -> StoreResult<ExchangePolicy> {
        self.with(|s| {
            Ok(match s.apps.contains_key(&client_app_id) {
                true => s
                    .exchange_policies
                    .get(&client_app_id)
                    .copied()
                    .unwrap_or_default(),
                false => ExchangePolicy::default(),
            })
        })
    }

    async fn record_vault_retrieval(&self, retrieval: &VaultRetrieval) -> StoreResult<()> {
        self.with(|s| {
            s.vault_retrievals.push(retrieval.clone());
            Ok(())
        })
    }

    async fn vault_retrievals(&self, oauth_profile_id: i64) -> StoreResult<Vec<VaultRetrieval>> {
        self.with(|s| {
            Ok(s.vault_retrievals
                .iter()
                .filter(|r| r.oauth_profile_id == oauth_profile_id)
                .cloned()
                .collect())
        })
    }
}
