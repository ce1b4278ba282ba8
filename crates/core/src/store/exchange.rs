//! [`ExchangeStore`]: what token exchange (RFC 8693, [`crate::oauth::grant::token_exchange`])
//! keeps: a client's exchange policy (a column of its row, written with the row by
//! [`crate::store::ClientStore`]'s create and update) and the record of every vault
//! retrieval.

use super::error::StoreResult;
use crate::model::token_exchange::{ExchangePolicy, VaultRetrieval};
use async_trait::async_trait;

#[async_trait]
pub trait ExchangeStore: Send + Sync {
    /// The exchange policy of client application `client_app_id`; the default
    /// ([`ExchangePolicy::Delegation`]) when none was set or the application is gone.
    async fn exchange_policy(&self, client_app_id: i64) -> StoreResult<ExchangePolicy>;
    /// Records one vault retrieval.
    async fn record_vault_retrieval(&self, retrieval: &VaultRetrieval) -> StoreResult<()>;
    /// The retrievals of profile `oauth_profile_id`, oldest first.
    async fn vault_retrievals(&self, oauth_profile_id: i64) -> StoreResult<Vec<VaultRetrieval>>;
}
