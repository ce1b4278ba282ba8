//! Token exchange's SQL (`ExchangeStore`): the `token_exchange_policy` column of
//! `client_apps` and the `vault_retrievals` table (migration 0018).

use crate::backend::Backend;
use crate::store::{fetch_all, fetch_optional, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::token_exchange::{ExchangePolicy, RetrievalOutcome, VaultRetrieval};
use portcullis_core::store::{ExchangeStore, StoreResult};
use sqlx::Row;

fn policy_row<B: Backend>(r: &B::Row) -> Result<ExchangePolicy, sqlx::Error> {
    let p: String = r.try_get("token_exchange_policy")?;
    ExchangePolicy::parse(&p)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown exchange policy '{p}'").into()))
}

fn retrieval_row<B: Backend>(r: &B::Row) -> Result<VaultRetrieval, sqlx::Error> {
    let outcome: String = r.try_get("outcome")?;
    Ok(VaultRetrieval {
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        client_app_id: r.try_get("client_app_id")?,
        oauth_profile_id: r.try_get("oauth_profile_id")?,
        at: r.try_get("at")?,
        outcome: RetrievalOutcome::parse(&outcome).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown retrieval outcome '{outcome}'").into())
        })?,
    })
}

#[async_trait]
impl<B: Backend> ExchangeStore for SqlStore<B> {
    async fn exchange_policy(&self, client_app_id: i64) -> StoreResult<ExchangePolicy> {
        let q = sqlx::query("SELECT token_exchange_policy FROM client_apps WHERE id = $1")
            .bind(client_app_id);
        Ok(fetch_optional(&self.pool, q, policy_row::<B>)
            .await?
            .unwrap_or_default())
    }

    async fn record_vault_retrieval(&self, r: &VaultRetrieval) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO vault_retrievals \
             (tenant_id, user_id, client_app_id, oauth_profile_id, at, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.tenant_id)
        .bind(r.user_id)
        .bind(r.client_app_id)
        .bind(r.oauth_profile_id)
        .bind(r.at)
        .bind(r.outcome.as_str());
        self.write(q).await.map(|_| ())
    }

    async fn vault_retrievals(&self, oauth_profile_id: i64) -> StoreResult<Vec<VaultRetrieval>> {
        let q = sqlx::query(
            "SELECT tenant_id, user_id, client_app_id, oauth_profile_id, at, outcome \
             FROM vault_retrievals WHERE oauth_profile_id = $1 ORDER BY at, id",
        )
        .bind(oauth_profile_id);
        fetch_all(&self.pool, q, retrieval_row::<B>).await
    }
}
