//! Client applications and users' consents to them (`ClientStore`). Reads of one
//! application go through the row cache ([`crate::cache`]); every write to an
//! application drops it.

use crate::backend::Backend;
use crate::cache::insert_bounded;
use crate::store::{
    err, execute, fetch_all, fetch_optional, from_row, json_list, to_json, SqlStore,
};
use async_trait::async_trait;
use portcullis_core::model::client_app::{AppListScope, Consent};
use portcullis_core::model::client_app::{
    ClientApp, ClientAppChanges, ClientProfile, GrantType, NewClientApp, RegisteredBy,
    TokenEndpointAuthMethod,
};
use portcullis_core::model::scope::union_scopes;
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{ClientStore, StoreResult};
use sqlx::Row;

pub(crate) const APP_COLS: &str =
    "id, tenant_id, owner_id, name, description, redirect_urls, client_id, secret_verifier, \
    public, grant_types, scopes, tokens_valid_after, created_at, updated_at, \
    post_logout_redirect_uris, id_token_signed_response_alg, userinfo_signed_response_alg, \
    require_pushed_authorization_requests, token_endpoint_auth_method, jwks, jwks_uri, logo_uri, \
    client_uri, policy_uri, tos_uri, contacts, software_id, software_version, registered_by, \
    initial_access_token_id, registration_verifier, first_used_at, dpop_bound_access_tokens";

fn grants_json(g: &[GrantType]) -> String {
    to_json(&g.iter().map(|g| g.as_str()).collect::<Vec<_>>())
}

fn grants(raw: &str) -> Result<Vec<GrantType>, sqlx::Error> {
    json_list(raw, "grant_types")?
        .iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "grant_types".to_owned(),
                source: format!("unknown grant type '{g}'").into(),
            })
        })
        .collect()
}

fn decode_error(column: &str, what: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: what.into(),
    }
}

pub(crate) fn app_row<B: Backend>(r: &B::Row) -> Result<ClientApp, sqlx::Error> {
    let method: String = r.try_get("token_endpoint_auth_method")?;
    let by: String = r.try_get("registered_by")?;
    let profile: Result<ClientProfile, sqlx::Error> = from_row!(r => ClientProfile {
        jwks, jwks_uri, logo_uri, client_uri, policy_uri, tos_uri, software_id, software_version,
        dpop_bound_access_tokens;
        contacts: json_list(r.try_get("contacts")?, "contacts")?,
    });
    let profile = profile?;
    from_row!(r => ClientApp {
        id, tenant_id, owner_id, name, description, client_id, secret_verifier, public,
        tokens_valid_after, created_at, updated_at, id_token_signed_response_alg,
        userinfo_signed_response_alg, require_pushed_authorization_requests,
        registration_verifier, first_used_at;
        token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&method).ok_or_else(|| {
            decode_error("token_endpoint_auth_method", format!("unknown method '{method}'"))
        })?,
        registered_by: RegisteredBy::from_parts(&by, r.try_get("initial_access_token_id")?)
            .ok_or_else(|| decode_error("registered_by", format!("unknown kind '{by}'")))?,
        profile,
        redirect_urls: json_list(r.try_get("redirect_urls")?, "redirect_urls")?,
        post_logout_redirect_uris: json_list(
            r.try_get("post_logout_redirect_uris")?,
            "post_logout_redirect_uris",
        )?,
        grant_types: grants(r.try_get("grant_types")?)?,
        scopes: json_list(r.try_get("scopes")?, "scopes")?,
    })
}

/// Every column a new application sets.
static INSERT_APP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO client_apps (tenant_id, owner_id, name, description, redirect_urls, client_id, \
         secret_verifier, public, grant_types, scopes, tokens_valid_after, created_at, updated_at, \
         post_logout_redirect_uris, id_token_signed_response_alg, userinfo_signed_response_alg, \
         require_pushed_authorization_requests, token_endpoint_auth_method, jwks, jwks_uri, \
         logo_uri, client_uri, policy_uri, tos_uri, contacts, software_id, software_version, \
         registered_by, initial_access_token_id, registration_verifier, dpop_bound_access_tokens, \
         token_exchange_policy) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) RETURNING {APP_COLS}"
    )
});

/// The insert of a new application (returning its row).
pub(crate) fn insert_app<B: Backend>(
    a: &NewClientApp,
) -> sqlx::query::Query<'_, B, <B as sqlx::Database>::Arguments<'_>> {
    let p = &a.profile;
    sqlx::query(INSERT_APP.as_str())
        .bind(a.tenant_id)
        .bind(a.owner_id)
        .bind(&a.name)
        .bind(&a.description)
        .bind(to_json(&a.redirect_urls))
        .bind(&a.client_id)
        .bind(&a.secret_verifier)
        .bind(a.public)
        .bind(grants_json(&a.grant_types))
        .bind(to_json(&a.scopes))
        .bind(a.now)
        .bind(to_json(&a.post_logout_redirect_uris))
        .bind(&a.id_token_signed_response_alg)
        .bind(&a.userinfo_signed_response_alg)
        .bind(a.require_pushed_authorization_requests)
        .bind(a.token_endpoint_auth_method.as_str())
        .bind(&p.jwks)
        .bind(&p.jwks_uri)
        .bind(&p.logo_uri)
        .bind(&p.client_uri)
        .bind(&p.policy_uri)
        .bind(&p.tos_uri)
        .bind(to_json(&p.contacts))
        .bind(&p.software_id)
        .bind(&p.software_version)
        .bind(a.registered_by.as_str())
        .bind(a.registered_by.initial_access_token())
        .bind(&a.registration_verifier)
        .bind(p.dpop_bound_access_tokens)
        .bind(a.token_exchange_policy.unwrap_or_default().as_str())
}

#[async_trait]
impl<B: Backend> ClientStore for SqlStore<B> {
    async fn create_client_app(&self, a: NewClientApp) -> StoreResult<ClientApp> {
        let _invalidate = self.cache.invalidate_on_drop();
        self.write_fetch_one(insert_app::<B>(&a), app_row::<B>)
            .await
    }

    async fn client_app(&self, id: i64) -> StoreResult<Option<ClientApp>> {
        self.cached_app(id).await
    }

    async fn client_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>> {
        self.cached_app_by_client_id(client_id).await
    }

    async fn list_client_apps(&self, scope: AppListScope) -> StoreResult<Vec<ClientApp>> {
        let (column, id) = match scope {
            AppListScope::Owner(u) => ("owner_id", u),
            AppListScope::Tenant(t) => ("tenant_id", t),
        };
        let sql = format!("SELECT {APP_COLS} FROM client_apps WHERE {column} = $1 ORDER BY id");
        fetch_all(&self.pool, sqlx::query(&sql).bind(id), app_row::<B>).await
    }

    /// Through the row cache, as one shared list.
    async fn all_redirect_urls(&self) -> StoreResult<std::sync::Arc<[String]>> {
        let load = async {
            let q = sqlx::query("SELECT redirect_urls FROM client_apps ORDER BY id");
            let lists = fetch_all(&self.pool, q, |r| {
                json_list(r.try_get("redirect_urls")?, "redirect_urls")
            })
            .await?;
            Ok(lists.into_iter().flatten().collect())
        };
        self.cache
            .read_through(
                &self.pool,
                |m| m.all_redirect_urls.clone(),
                load,
                |m, urls| m.all_redirect_urls = Some(std::sync::Arc::clone(urls)),
            )
            .await
    }

    async fn update_client_app(
        &self,
        id: i64,
        c: ClientAppChanges,
    ) -> StoreResult<Option<ClientApp>> {
        let _invalidate = self.cache.invalidate_on_drop();
        let sql = format!(
            "UPDATE client_apps SET name = $2, description = $3, redirect_urls = $4, grant_types = $5, \
             scopes = $6, updated_at = $7, post_logout_redirect_uris = $8, \
             id_token_signed_response_alg = $9, userinfo_signed_response_alg = $10, \
             require_pushed_authorization_requests = $11, jwks = $12, jwks_uri = $13, \
             logo_uri = $14, client_uri = $15, policy_uri = $16, tos_uri = $17, contacts = $18, \
             software_id = $19, software_version = $20, dpop_bound_access_tokens = $21, \
             token_exchange_policy = COALESCE($22, token_exchange_policy) \
             WHERE id = $1 RETURNING {APP_COLS}"
        );
        self.write_fetch_optional(
            sqlx::query(&sql)
                .bind(id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(to_json(&c.redirect_urls))
                .bind(grants_json(&c.grant_types))
                .bind(to_json(&c.scopes))
                .bind(c.now)
                .bind(to_json(&c.post_logout_redirect_uris))
                .bind(&c.id_token_signed_response_alg)
                .bind(&c.userinfo_signed_response_alg)
                .bind(c.require_pushed_authorization_requests)
                .bind(&c.profile.jwks)
                .bind(&c.profile.jwks_uri)
                .bind(&c.profile.logo_uri)
                .bind(&c.profile.client_uri)
                .bind(&c.profile.policy_uri)
                .bind(&c.profile.tos_uri)
                .bind(to_json(&c.profile.contacts))
                .bind(&c.profile.software_id)
                .bind(&c.profile.software_version)
                .bind(c.profile.dpop_bound_access_tokens)
                .bind(c.token_exchange_policy.map(|p| p.as_str())),
            app_row::<B>,
        )
        .await
    }

    async fn reset_client_secret(
        &self,
        id: i64,
        verifier: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ClientApp>> {
        // Revokes (or deletes) families by application: token state drops whole.
        let _forget = self.state.forget_all_on_drop();
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE client_apps SET secret_verifier = $2, tokens_valid_after = $3, updated_at = $3 \
             WHERE id = $1 RETURNING {APP_COLS}"
        );
        let app = fetch_optional(
            &mut *tx,
            sqlx::query(&sql).bind(id).bind(verifier).bind(now),
            app_row::<B>,
        )
        .await?;
        execute(
            &mut *tx,
            sqlx::query("DELETE FROM consents WHERE client_app_id = $1").bind(id),
        )
        .await?;
        // `tokens_valid_after` has whole-second precision: a grant made earlier in the
        // same second would survive it. Revoking the families is exact.
        execute(&mut *tx,
            sqlx::query(
                "UPDATE token_families SET revoked_at = $2 WHERE client_app_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now),
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(app)
    }

    async fn delete_client_app(&self, id: i64) -> StoreResult<bool> {
        // Revokes (or deletes) families by application: token state drops whole.
        let _forget = self.state.forget_all_on_drop();
        let _invalidate = self.cache.invalidate_on_drop();
        // Consents go with the application (ON DELETE CASCADE).
        self.write_one(sqlx::query("DELETE FROM client_apps WHERE id = $1").bind(id))
            .await
    }

    async fn grant_consent(
        &self,
        user_id: i64,
        app_id: i64,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        execute(&mut *tx,
            sqlx::query(
                "INSERT INTO consents (user_id, client_app_id, scopes, granted_at, updated_at) VALUES ($1, $2, '[]', $3, $3) \
                 ON CONFLICT (user_id, client_app_id) DO UPDATE SET updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(app_id)
            .bind(now),
        )
        .await?;
        let current: String = sqlx::query_scalar(
            "SELECT scopes FROM consents WHERE user_id = $1 AND client_app_id = $2",
        )
        .bind(user_id)
        .bind(app_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        sqlx::query("UPDATE consents SET scopes = $3 WHERE user_id = $1 AND client_app_id = $2")
            .bind(user_id)
            .bind(app_id)
            .bind(to_json(&union_scopes(
                &json_list(&current, "scopes").map_err(err)?,
                scopes,
            )))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn consents_of_user(&self, user_id: i64) -> StoreResult<Vec<Consent>> {
        let rows = sqlx::query(
            "SELECT c.user_id, c.client_app_id, a.name, c.scopes, c.granted_at FROM consents c \
             JOIN client_apps a ON a.id = c.client_app_id WHERE c.user_id = $1 ORDER BY c.client_app_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        rows.iter()
            .map(|r| {
                Ok(Consent {
                    user_id: r.try_get(0)?,
                    client_app_id: r.try_get(1)?,
                    app_name: r.try_get(2)?,
                    scopes: json_list(r.try_get(3)?, "scopes")?,
                    granted_at: r.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(err)
    }

    async fn revoke_consent(&self, user_id: i64, app_id: i64, now: UnixTime) -> StoreResult<bool> {
        // Revokes (or deletes) families by application: token state drops whole.
        let _forget = self.state.forget_all_on_drop();
        let mut tx = self.begin_write().await?;
        let r = execute(
            &mut *tx,
            sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_app_id = $2")
                .bind(user_id)
                .bind(app_id),
        )
        .await?;
        execute(
            &mut *tx,
            sqlx::query(
                "UPDATE token_families SET revoked_at = $3 \
             WHERE user_id = $1 AND client_app_id = $2 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(app_id)
            .bind(now),
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(r == 1)
    }
}

impl<B: Backend> SqlStore<B> {
    /// The client application with `client_id`, from the cache or the database.
    pub(crate) async fn cached_app_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ClientApp>> {
        let sql = format!("SELECT {APP_COLS} FROM client_apps WHERE client_id = $1");
        let load = fetch_optional(&self.pool, sqlx::query(&sql).bind(client_id), app_row::<B>);
        self.cache
            .read_row_through(
                &self.pool,
                |m| m.apps_by_client_id.get(client_id).cloned(),
                load,
                |m, a| insert_bounded(&mut m.apps_by_client_id, a.client_id.clone(), a),
            )
            .await
    }

    /// The client application with `id`, from the cache or the database.
    pub(crate) async fn cached_app(&self, id: i64) -> StoreResult<Option<ClientApp>> {
        let sql = format!("SELECT {APP_COLS} FROM client_apps WHERE id = $1");
        let load = fetch_optional(&self.pool, sqlx::query(&sql).bind(id), app_row::<B>);
        self.cache
            .read_row_through(
                &self.pool,
                |m| m.apps_by_id.get(&id).cloned(),
                load,
                |m, a| insert_bounded(&mut m.apps_by_id, a.id, a),
            )
            .await
    }
}
