//! Registration policies, initial access tokens and registered clients' upkeep
//! (`RegistrationStore`, RFC 7591/7592). A registration with an initial access token
//! takes one use and inserts the client in one write transaction; the conditional
//! `UPDATE … WHERE uses_left > 0` is what makes an n-use token register exactly n
//! clients when requests race.

use crate::backend::Backend;
use crate::clients::{app_row, insert_app};
use crate::store::{err, execute, fetch_all, fetch_one, fetch_optional, from_row, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::client_app::{ClientApp, NewClientApp, RegisteredBy};
use portcullis_core::model::registration::{
    InitialAccessToken, NewInitialAccessToken, RegistrationMode, RegistrationPolicy,
};
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{RegistrationStore, StoreError, StoreResult};
use sqlx::Row;

const IAT_COLS: &str = "id, tenant_id, uses_left, used, expires_at, created_at, created_by";

fn iat_row<B: Backend>(r: &B::Row) -> Result<InitialAccessToken, sqlx::Error> {
    from_row!(r => InitialAccessToken {
        id, tenant_id, uses_left, used, expires_at, created_at, created_by
    })
}

fn policy_of(raw: &str) -> Result<RegistrationPolicy, sqlx::Error> {
    serde_json::from_str(raw).map_err(|e| sqlx::Error::ColumnDecode {
        index: "policy".to_owned(),
        source: Box::new(e),
    })
}

#[async_trait]
impl<B: Backend> RegistrationStore for SqlStore<B> {
    async fn registration_policy(&self, tenant_id: i64) -> StoreResult<Option<RegistrationPolicy>> {
        fetch_optional(
            &self.pool,
            sqlx::query("SELECT policy FROM registration_policies WHERE tenant_id = $1")
                .bind(tenant_id),
            |r| policy_of(r.try_get("policy")?),
        )
        .await
    }

    async fn set_registration_policy(
        &self,
        tenant_id: i64,
        policy: &RegistrationPolicy,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(policy)
            .map_err(|e| StoreError::Backend(format!("policy to JSON: {e}")))?;
        self.write(
            sqlx::query(
                "INSERT INTO registration_policies (tenant_id, policy, open, metadata_documents) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET \
                 policy = excluded.policy, open = excluded.open, \
                 metadata_documents = excluded.metadata_documents",
            )
            .bind(tenant_id)
            .bind(json)
            .bind(policy.policy == RegistrationMode::Open)
            .bind(policy.metadata_documents),
        )
        .await
        .map(|_| ())
    }

    async fn registration_policies(&self) -> StoreResult<Vec<(i64, RegistrationPolicy)>> {
        fetch_all(
            &self.pool,
            sqlx::query("SELECT tenant_id, policy FROM registration_policies ORDER BY tenant_id"),
            |r| Ok((r.try_get("tenant_id")?, policy_of(r.try_get("policy")?)?)),
        )
        .await
    }

    async fn create_initial_access_token(
        &self,
        t: NewInitialAccessToken,
    ) -> StoreResult<InitialAccessToken> {
        let sql = format!(
            "INSERT INTO initial_access_tokens (tenant_id, verifier, uses_left, expires_at, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {IAT_COLS}"
        );
        self.write_fetch_one(
            sqlx::query(&sql)
                .bind(t.tenant_id)
                .bind(&t.verifier)
                .bind(t.uses)
                .bind(t.expires_at)
                .bind(t.now)
                .bind(t.created_by),
            iat_row::<B>,
        )
        .await
    }

    async fn initial_access_tokens(&self, tenant_id: i64) -> StoreResult<Vec<InitialAccessToken>> {
        let sql = format!(
            "SELECT {IAT_COLS} FROM initial_access_tokens WHERE tenant_id = $1 ORDER BY id"
        );
        fetch_all(&self.pool, sqlx::query(&sql).bind(tenant_id), iat_row::<B>).await
    }

    async fn initial_access_token_by_verifier(
        &self,
        verifier: &str,
    ) -> StoreResult<Option<InitialAccessToken>> {
        let sql = format!("SELECT {IAT_COLS} FROM initial_access_tokens WHERE verifier = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(verifier), iat_row::<B>).await
    }

    async fn delete_initial_access_token(&self, tenant_id: i64, id: i64) -> StoreResult<bool> {
        let n = execute(
            &self.pool,
            sqlx::query("DELETE FROM initial_access_tokens WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id),
        )
        .await?;
        Ok(n == 1)
    }

    async fn register_client(
        &self,
        app: NewClientApp,
        verifier: Option<&str>,
    ) -> StoreResult<Option<ClientApp>> {
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = self.begin_write().await?;
        if let RegisteredBy::InitialAccessToken(id) = app.registered_by {
            let taken = execute(
                &mut *tx,
                sqlx::query(
                    "UPDATE initial_access_tokens SET used = used + 1, \
                     uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END \
                     WHERE id = $1 AND tenant_id = $2 AND verifier = $3 \
                     AND (uses_left IS NULL OR uses_left > 0) \
                     AND (expires_at IS NULL OR expires_at > $4)",
                )
                .bind(id)
                .bind(app.tenant_id)
                .bind(verifier.unwrap_or(""))
                .bind(app.now),
            )
            .await?;
            if taken != 1 {
                return Ok(None);
            }
        }
        let created = fetch_one(&mut *tx, insert_app::<B>(&app), app_row::<B>).await?;
        tx.commit().await.map_err(err)?;
        Ok(Some(created))
    }

    async fn mark_client_used(&self, client_app_id: i64, now: UnixTime) -> StoreResult<()> {
        let _invalidate = self.cache.invalidate_on_drop();
        self.write(
            sqlx::query(
                "UPDATE client_apps SET first_used_at = $2 WHERE id = $1 AND first_used_at IS NULL",
            )
            .bind(client_app_id)
            .bind(now),
        )
        .await
        .map(|_| ())
    }

    async fn delete_unused_clients(
        &self,
        tenant_id: i64,
        by: RegisteredBy,
        created_before: UnixTime,
    ) -> StoreResult<u64> {
        let _invalidate = self.cache.invalidate_on_drop();
        self.write(
            sqlx::query(
                "DELETE FROM client_apps WHERE tenant_id = $1 AND registered_by = $2 \
                 AND first_used_at IS NULL AND created_at < $3",
            )
            .bind(tenant_id)
            .bind(by.as_str())
            .bind(created_before),
        )
        .await
    }
}
