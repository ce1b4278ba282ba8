//! `SealedStore`: the columns holding values sealed under the master key, read and
//! replaced with a compare-and-set on the sealed text itself (unique: each value has
//! its own random nonce), so a re-seal never undoes a write made meanwhile.

use crate::backend::Backend;
use crate::store::{fetch_all, SqlStore};
use async_trait::async_trait;
use portcullis_core::store::{SealedColumn, SealedStore, SealedValue, StoreResult};
use sqlx::Row as _;

/// The table, the column of what the purpose is made from, and the sealed column.
fn place(column: SealedColumn) -> (&'static str, &'static str, &'static str) {
    match column {
        SealedColumn::ServerSecret => ("server_secrets", "name", "value"),
        SealedColumn::SigningKey => ("signing_keys", "kid", "private_sealed"),
        SealedColumn::OAuthAppSecret => ("oauth_apps", "seal_ref", "client_secret_sealed"),
        SealedColumn::ProfileAccessToken => ("oauth_profiles", "seal_ref", "access_token_sealed"),
        SealedColumn::ProfileRefreshToken => ("oauth_profiles", "seal_ref", "refresh_token_sealed"),
        SealedColumn::ConnectVerifier => (
            "oauth_connect_states",
            "state_verifier",
            "code_verifier_sealed",
        ),
    }
}

fn sealed_row<B: Backend>(r: &B::Row) -> Result<SealedValue, sqlx::Error> {
    Ok(SealedValue {
        bound_to: r.try_get("bound_to")?,
        sealed: r.try_get("sealed")?,
    })
}

#[async_trait]
impl<B: Backend> SealedStore for SqlStore<B> {
    async fn sealed_values(&self, column: SealedColumn) -> StoreResult<Vec<SealedValue>> {
        let (table, bound_to, sealed) = place(column);
        let sql = format!(
            "SELECT {bound_to} AS bound_to, {sealed} AS sealed FROM {table} \
             WHERE {sealed} IS NOT NULL ORDER BY {bound_to}"
        );
        fetch_all(&self.pool, sqlx::query(&sql), sealed_row::<B>).await
    }

    async fn replace_sealed(
        &self,
        column: SealedColumn,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let (table, _, sealed) = place(column);
        let sql = format!("UPDATE {table} SET {sealed} = $1 WHERE {sealed} = $2");
        self.write_one(sqlx::query(&sql).bind(new).bind(old)).await
    }
}
