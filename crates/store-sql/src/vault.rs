//! The token vault's SQL (`VaultStore`). Refresh leases are one conditional UPDATE …
//! RETURNING: the row lock (PostgreSQL) or the write lock (SQLite) lets exactly one
//! caller, on any node, take a free or expired lease; finishing and failing are guarded
//! by the holder. Connect states are taken with DELETE … RETURNING, so a second take
//! finds nothing.

use crate::backend::Backend;
use crate::store::{fetch_all, fetch_optional, from_row, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::time::UnixTime;
use portcullis_core::model::vault::ProfileScope;
use portcullis_core::model::vault::{
    ConnectState, NewOAuthApp, NewOAuthProfile, OAuthApp, OAuthAppChanges, OAuthProfile,
    ProfileChanges, RefreshFailure, RefreshSuccess, TokenAuthMethod,
};
use portcullis_core::store::StoreResult;
use portcullis_core::store::VaultStore;
use sqlx::Row;

const OAUTH_APP_COLS: &str = "id, seal_ref, tenant_id, name, data_store, description, client_id, \
     client_secret_sealed, authorize_uri, token_uri, scope, token_auth_method, created_at, updated_at";

const PROFILE_COLS: &str = "id, seal_ref, oauth_app_id, tenant_id, owner_id, name, description, \
     access_token_sealed, refresh_token_sealed, access_expires_at, last_refreshed_at, \
     last_attempt_at, last_refresh_error, refresh_failures, next_attempt_at, \
     refresh_lease_until, created_at, updated_at";

const CONNECT_COLS: &str = "state_verifier, user_id, oauth_app_id, name, description, \
     code_verifier_sealed, redirect_uri, expires_at";

fn oauth_app_row<B: Backend>(r: &B::Row) -> Result<OAuthApp, sqlx::Error> {
    let method: String = r.try_get("token_auth_method")?;
    from_row!(r => OAuthApp {
        id, seal_ref, tenant_id, name, data_store, description, client_id,
        client_secret_sealed, authorize_uri, token_uri, scope, created_at, updated_at;
        token_auth_method: TokenAuthMethod::parse(&method).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown token auth method '{method}'").into())
        })?,
    })
}

fn profile_row<B: Backend>(r: &B::Row) -> Result<OAuthProfile, sqlx::Error> {
    from_row!(r => OAuthProfile {
        id, seal_ref, oauth_app_id, tenant_id, owner_id, name, description,
        access_token_sealed, refresh_token_sealed, access_expires_at, last_refreshed_at,
        last_attempt_at, last_refresh_error, refresh_failures, next_attempt_at,
        refresh_lease_until, created_at, updated_at
    })
}

fn connect_row<B: Backend>(r: &B::Row) -> Result<ConnectState, sqlx::Error> {
    from_row!(r => ConnectState {
        state_verifier, user_id, oauth_app_id, name, description, code_verifier_sealed,
        redirect_uri, expires_at
    })
}

#[async_trait]
impl<B: Backend> VaultStore for SqlStore<B> {
    async fn create_oauth_app(&self, a: NewOAuthApp) -> StoreResult<OAuthApp> {
        let sql = format!(
            "INSERT INTO oauth_apps (seal_ref, tenant_id, name, data_store, description, client_id, \
             client_secret_sealed, authorize_uri, token_uri, scope, token_auth_method, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {OAUTH_APP_COLS}"
        );
        self.write_fetch_one(
            sqlx::query(&sql)
                .bind(&a.seal_ref)
                .bind(a.tenant_id)
                .bind(&a.name)
                .bind(a.data_store)
                .bind(&a.description)
                .bind(&a.client_id)
                .bind(&a.client_secret_sealed)
                .bind(&a.authorize_uri)
                .bind(&a.token_uri)
                .bind(&a.scope)
                .bind(a.token_auth_method.as_str())
                .bind(a.now),
            oauth_app_row::<B>,
        )
        .await
    }

    async fn oauth_app(&self, id: i64) -> StoreResult<Option<OAuthApp>> {
        let sql = format!("SELECT {OAUTH_APP_COLS} FROM oauth_apps WHERE id = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(id), oauth_app_row::<B>).await
    }

    async fn list_oauth_apps(&self, tenants: Option<&[i64]>) -> StoreResult<Vec<OAuthApp>> {
        let sql = format!("SELECT {OAUTH_APP_COLS} FROM oauth_apps ORDER BY id");
        let apps = fetch_all(&self.pool, sqlx::query(&sql), oauth_app_row::<B>).await?;
        Ok(apps
            .into_iter()
            .filter(|a| tenants.is_none_or(|t| t.contains(&a.tenant_id)))
            .collect())
    }

    async fn update_oauth_app(&self, id: i64, c: OAuthAppChanges) -> StoreResult<Option<OAuthApp>> {
        let sql = format!(
            "UPDATE oauth_apps SET name = $2, data_store = $3, description = $4, client_id = $5, \
             client_secret_sealed = $6, authorize_uri = $7, token_uri = $8, scope = $9, \
             token_auth_method = $10, updated_at = $11 WHERE id = $1 RETURNING {OAUTH_APP_COLS}"
        );
        self.write_fetch_optional(
            sqlx::query(&sql)
                .bind(id)
                .bind(&c.name)
                .bind(c.data_store)
                .bind(&c.description)
                .bind(&c.client_id)
                .bind(&c.client_secret_sealed)
                .bind(&c.authorize_uri)
                .bind(&c.token_uri)
                .bind(&c.scope)
                .bind(c.token_auth_method.as_str())
                .bind(c.now),
            oauth_app_row::<B>,
        )
        .await
    }

    async fn delete_oauth_app(&self, id: i64) -> StoreResult<bool> {
        // Profiles and connect states go with it (ON DELETE CASCADE).
        self.write_one(sqlx::query("DELETE FROM oauth_apps WHERE id = $1").bind(id))
            .await
    }

    async fn create_oauth_profile(&self, p: NewOAuthProfile) -> StoreResult<OAuthProfile> {
        let sql = format!(
            "INSERT INTO oauth_profiles (seal_ref, oauth_app_id, tenant_id, owner_id, name, description, \
             access_token_sealed, refresh_token_sealed, access_expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {PROFILE_COLS}"
        );
        self.write_fetch_one(
            sqlx::query(&sql)
                .bind(&p.seal_ref)
                .bind(p.oauth_app_id)
                .bind(p.tenant_id)
                .bind(p.owner_id)
                .bind(&p.name)
                .bind(&p.description)
                .bind(&p.access_token_sealed)
                .bind(&p.refresh_token_sealed)
                .bind(p.access_expires_at)
                .bind(p.now),
            profile_row::<B>,
        )
        .await
    }

    async fn oauth_profile(&self, id: i64) -> StoreResult<Option<OAuthProfile>> {
        let sql = format!("SELECT {PROFILE_COLS} FROM oauth_profiles WHERE id = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(id), profile_row::<B>).await
    }

    async fn list_oauth_profiles(&self, scope: ProfileScope) -> StoreResult<Vec<OAuthProfile>> {
        let profiles = match &scope {
            ProfileScope::Owner(owner) => {
                let sql = format!(
                    "SELECT {PROFILE_COLS} FROM oauth_profiles WHERE owner_id = $1 ORDER BY id"
                );
                fetch_all(&self.pool, sqlx::query(&sql).bind(owner), profile_row::<B>).await?
            }
            ProfileScope::Tenants { .. } | ProfileScope::All => {
                let sql = format!("SELECT {PROFILE_COLS} FROM oauth_profiles ORDER BY id");
                fetch_all(&self.pool, sqlx::query(&sql), profile_row::<B>).await?
            }
        };
        Ok(profiles
            .into_iter()
            .filter(|p| match &scope {
                ProfileScope::Tenants { tenants, owner } => {
                    p.owner_id == *owner || tenants.contains(&p.tenant_id)
                }
                _ => true,
            })
            .collect())
    }

    async fn update_oauth_profile(
        &self,
        id: i64,
        c: ProfileChanges,
    ) -> StoreResult<Option<OAuthProfile>> {
        let sql = format!(
            "UPDATE oauth_profiles SET oauth_app_id = $2, name = $3, description = $4, \
             access_token_sealed = $5, refresh_token_sealed = $6, access_expires_at = $7, \
             last_refresh_error = NULL, refresh_failures = 0, next_attempt_at = NULL, updated_at = $8 \
             WHERE id = $1 RETURNING {PROFILE_COLS}"
        );
        self.write_fetch_optional(
            sqlx::query(&sql)
                .bind(id)
                .bind(c.oauth_app_id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(&c.access_token_sealed)
                .bind(&c.refresh_token_sealed)
                .bind(c.access_expires_at)
                .bind(c.now),
            profile_row::<B>,
        )
        .await
    }

    async fn delete_oauth_profile(&self, id: i64) -> StoreResult<bool> {
        self.write_one(sqlx::query("DELETE FROM oauth_profiles WHERE id = $1").bind(id))
            .await
    }

    async fn acquire_refresh_lease(
        &self,
        id: i64,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> StoreResult<Option<OAuthProfile>> {
        let sql = format!(
            "UPDATE oauth_profiles SET refresh_lease_holder = $2, refresh_lease_until = $4 \
             WHERE id = $1 AND (refresh_lease_until IS NULL OR refresh_lease_until <= $3) \
             RETURNING {PROFILE_COLS}"
        );
        self.write_fetch_optional(
            sqlx::query(&sql)
                .bind(id)
                .bind(holder)
                .bind(now)
                .bind(until),
            profile_row::<B>,
        )
        .await
    }

    async fn release_refresh_lease(&self, id: i64, holder: &str) -> StoreResult<bool> {
        self.write_one(
            sqlx::query(
                "UPDATE oauth_profiles SET refresh_lease_holder = NULL, \
                 refresh_lease_until = NULL WHERE id = $1 AND refresh_lease_holder = $2",
            )
            .bind(id)
            .bind(holder),
        )
        .await
    }

    async fn finish_refresh(
        &self,
        id: i64,
        holder: &str,
        d: &RefreshSuccess,
    ) -> StoreResult<Option<OAuthProfile>> {
        let sql = format!(
            "UPDATE oauth_profiles SET access_token_sealed = $3, \
             refresh_token_sealed = COALESCE($4, refresh_token_sealed), access_expires_at = $5, \
             last_refreshed_at = $6, last_attempt_at = $6, last_refresh_error = NULL, \
             refresh_failures = 0, next_attempt_at = NULL, refresh_lease_holder = NULL, \
             refresh_lease_until = NULL, updated_at = $6 \
             WHERE id = $1 AND refresh_lease_holder = $2 RETURNING {PROFILE_COLS}"
        );
        self.write_fetch_optional(
            sqlx::query(&sql)
                .bind(id)
                .bind(holder)
                .bind(&d.access_token_sealed)
                .bind(&d.refresh_token_sealed)
                .bind(d.access_expires_at)
                .bind(d.now),
            profile_row::<B>,
        )
        .await
    }

    async fn fail_refresh(
        &self,
        id: i64,
        holder: &str,
        f: &RefreshFailure,
    ) -> StoreResult<Option<OAuthProfile>> {
        let sql = format!(
            "UPDATE oauth_profiles SET last_attempt_at = $3, last_refresh_error = $4, \
             refresh_failures = refresh_failures + 1, next_attempt_at = $5, \
             refresh_lease_holder = NULL, refresh_lease_until = NULL \
             WHERE id = $1 AND refresh_lease_holder = $2 RETURNING {PROFILE_COLS}"
        );
        self.write_fetch_optional(
            sqlx::query(&sql)
                .bind(id)
                .bind(holder)
                .bind(f.now)
                .bind(&f.error)
                .bind(f.next_attempt_at),
            profile_row::<B>,
        )
        .await
    }

    async fn profiles_due(
        &self,
        expiring_by: UnixTime,
        now: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<OAuthProfile>> {
        let sql = format!(
            "SELECT {PROFILE_COLS} FROM oauth_profiles \
             WHERE access_expires_at IS NOT NULL AND access_expires_at <= $1 \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
             AND (refresh_lease_until IS NULL OR refresh_lease_until <= $2) \
             ORDER BY access_expires_at, id LIMIT $3"
        );
        fetch_all(
            &self.pool,
            sqlx::query(&sql).bind(expiring_by).bind(now).bind(limit),
            profile_row::<B>,
        )
        .await
    }

    async fn insert_connect_state(&self, c: &ConnectState) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO oauth_connect_states ({CONNECT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        self.write(
            sqlx::query(&sql)
                .bind(&c.state_verifier)
                .bind(c.user_id)
                .bind(c.oauth_app_id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(&c.code_verifier_sealed)
                .bind(&c.redirect_uri)
                .bind(c.expires_at),
        )
        .await?;
        Ok(())
    }

    async fn take_connect_state(&self, v: &str) -> StoreResult<Option<ConnectState>> {
        let sql = format!(
            "DELETE FROM oauth_connect_states WHERE state_verifier = $1 RETURNING {CONNECT_COLS}"
        );
        self.write_fetch_optional(sqlx::query(&sql).bind(v), connect_row::<B>)
            .await
    }

    async fn purge_connect_states(&self, now: UnixTime) -> StoreResult<u64> {
        self.write(sqlx::query("DELETE FROM oauth_connect_states WHERE expires_at <= $1").bind(now))
            .await
    }
}
