//! Resource servers (`ResourceStore`, RFC 8707): one row per registered resource,
//! unique by `(tenant_id, uri)`.

use crate::backend::Backend;
use crate::store::{fetch_all, fetch_optional, json_list, to_json, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::resource::{ResourceInput, ResourceServer, ResourceUri};
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{ResourceStore, StoreResult};
use sqlx::Row;

const COLS: &str = "id, tenant_id, uri, name, scopes, access_token_lifetime, created_at";

fn resource_row<B: Backend>(r: &B::Row) -> Result<ResourceServer, sqlx::Error> {
    let uri: String = r.try_get("uri")?;
    let uri = ResourceUri::parse(&uri).map_err(|e| sqlx::Error::ColumnDecode {
        index: "uri".to_owned(),
        source: e.into(),
    })?;
    Ok(ResourceServer {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        uri,
        name: r.try_get("name")?,
        scopes: json_list(r.try_get("scopes")?, "scopes")?,
        access_token_lifetime: r.try_get("access_token_lifetime")?,
        created_at: r.try_get("created_at")?,
        built_in: false,
    })
}

#[async_trait]
impl<B: Backend> ResourceStore for SqlStore<B> {
    async fn create_resource(
        &self,
        tenant_id: i64,
        input: &ResourceInput,
        now: UnixTime,
    ) -> StoreResult<ResourceServer> {
        let sql = format!(
            "INSERT INTO resource_servers (tenant_id, uri, name, scopes, access_token_lifetime, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLS}"
        );
        let q = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(input.uri.as_str())
            .bind(&input.name)
            .bind(to_json(&input.scopes))
            .bind(input.access_token_lifetime)
            .bind(now);
        self.write_fetch_one(q, resource_row::<B>).await
    }

    async fn resource(&self, id: i64) -> StoreResult<Option<ResourceServer>> {
        let sql = format!("SELECT {COLS} FROM resource_servers WHERE id = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(id), resource_row::<B>).await
    }

    async fn resource_by_uri(
        &self,
        tenant_id: i64,
        uri: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        let sql = format!("SELECT {COLS} FROM resource_servers WHERE tenant_id = $1 AND uri = $2");
        let q = sqlx::query(&sql).bind(tenant_id).bind(uri);
        fetch_optional(&self.pool, q, resource_row::<B>).await
    }

    async fn list_resources(&self, tenant_id: i64) -> StoreResult<Vec<ResourceServer>> {
        let sql = format!("SELECT {COLS} FROM resource_servers WHERE tenant_id = $1 ORDER BY id");
        fetch_all(
            &self.pool,
            sqlx::query(&sql).bind(tenant_id),
            resource_row::<B>,
        )
        .await
    }

    async fn update_resource(
        &self,
        id: i64,
        input: &ResourceInput,
    ) -> StoreResult<Option<ResourceServer>> {
        let sql = format!(
            "UPDATE resource_servers SET uri = $2, name = $3, scopes = $4, access_token_lifetime = $5 \
             WHERE id = $1 RETURNING {COLS}"
        );
        let q = sqlx::query(&sql)
            .bind(id)
            .bind(input.uri.as_str())
            .bind(&input.name)
            .bind(to_json(&input.scopes))
            .bind(input.access_token_lifetime);
        self.write_fetch_optional(q, resource_row::<B>).await
    }

    async fn delete_resource(&self, id: i64) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM resource_servers WHERE id = $1").bind(id);
        self.write_one(q).await
    }
}
