//! Tenants with their host names and administrators, and roles (`TenantStore`).
//! Reads of one tenant go through the row cache ([`crate::cache`]); every write to a
//! tenant drops it.

use crate::backend::Backend;
use crate::cache::insert_bounded;
use crate::store::{
    err, execute, exists, fetch_all, fetch_one, fetch_optional, from_row, ids, json_list, to_json,
    SqlStore,
};
use async_trait::async_trait;
use portcullis_core::model::identity::{NewTenant, Role, Tenant, TenantChanges, SYSTEM_TENANT_ID};
use portcullis_core::store::{StoreError, StoreResult, TenantStore};
use sqlx::Row;

pub(crate) fn tenant_row<B: Backend>(r: &B::Row) -> Result<Tenant, sqlx::Error> {
    from_row!(r => Tenant {
        id, name, description, parent_id, active;
        allowed_scopes: json_list(r.try_get("allowed_scopes")?, "allowed_scopes")?,
    })
}

fn role_row<B: Backend>(r: &B::Row) -> Result<Role, sqlx::Error> {
    let perms: Option<String> = r.try_get("perms")?;
    let mut permissions: Vec<i64> = perms
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    permissions.sort_unstable();
    from_row!(r => Role {
        id, tenant_id, name, description;
        permissions,
    })
}

pub(crate) const TENANT_COLS: &str = "id, name, description, parent_id, active, allowed_scopes";
/// Roles with their permissions folded into one text column (`perms`).
const ROLE_SELECT: &str = "SELECT r.id, r.tenant_id, r.name, r.description, \
    (SELECT string_agg(CAST(permission_id AS TEXT), ',') FROM role_permissions rp WHERE rp.role_id = r.id) AS perms \
    FROM roles r";

#[async_trait]
impl<B: Backend> TenantStore for SqlStore<B> {
    async fn tenant(&self, id: i64) -> StoreResult<Option<Tenant>> {
        self.cached_tenant(id).await
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id");
        fetch_all(&self.pool, sqlx::query(&sql), tenant_row::<B>).await
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE name = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(name), tenant_row::<B>).await
    }

    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!(
            "SELECT {TENANT_COLS} FROM tenants WHERE id = (SELECT tenant_id FROM tenant_hosts WHERE host = $1)"
        );
        fetch_optional(
            &self.pool,
            sqlx::query(&sql).bind(host.to_lowercase()),
            tenant_row::<B>,
        )
        .await
    }

    async fn create_tenant(&self, n: NewTenant) -> StoreResult<Tenant> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO tenants (name, description, parent_id, active, allowed_scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TENANT_COLS}"
        );
        let tenant = fetch_one(
            &mut *tx,
            sqlx::query(&sql)
                .bind(&n.name)
                .bind(&n.description)
                .bind(SYSTEM_TENANT_ID)
                .bind(n.active)
                .bind(to_json(&n.allowed_scopes))
                .bind(n.now),
            tenant_row::<B>,
        )
        .await?;
        insert_hosts(&mut tx, tenant.id, &n.hosts).await?;
        for role in &n.imported_roles {
            let new_id: i64 = sqlx::query_scalar(
                "INSERT INTO roles (tenant_id, name, description) \
                 SELECT $1, name, description FROM roles WHERE id = $2 RETURNING id",
            )
            .bind(tenant.id)
            .bind(role)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?
            .ok_or_else(|| StoreError::Backend(format!("no role {role} to import")))?;
            execute(
                &mut *tx,
                sqlx::query(
                    "INSERT INTO role_permissions (role_id, permission_id) \
                 SELECT $1, permission_id FROM role_permissions WHERE role_id = $2",
                )
                .bind(new_id)
                .bind(role),
            )
            .await?;
        }
        for admin in &n.admins {
            execute(
                &mut *tx,
                sqlx::query("INSERT INTO tenant_admins (tenant_id, user_id) VALUES ($1, $2)")
                    .bind(tenant.id)
                    .bind(admin),
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(tenant)
    }

    async fn update_tenant(&self, id: i64, c: TenantChanges) -> StoreResult<Option<Tenant>> {
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE tenants SET name = $2, description = $3, active = $4, allowed_scopes = $5 \
             WHERE id = $1 RETURNING {TENANT_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(&c.name)
            .bind(&c.description)
            .bind(c.active)
            .bind(to_json(&c.allowed_scopes))
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
        let Some(row) = row else { return Ok(None) };
        let tenant = tenant_row::<B>(&row).map_err(err)?;
        execute(
            &mut *tx,
            sqlx::query("DELETE FROM tenant_hosts WHERE tenant_id = $1").bind(id),
        )
        .await?;
        insert_hosts(&mut tx, id, &c.hosts).await?;
        tx.commit().await.map_err(err)?;
        Ok(Some(tenant))
    }

    async fn delete_tenant(&self, id: i64) -> StoreResult<bool> {
        // Users and their families go with the tenant (ON DELETE CASCADE).
        let _forget = self.state.forget_all_on_drop();
        let limits = "DELETE FROM limit_values WHERE (level = 'tenant' AND target_id = $1) \
            OR (level = 'user' AND target_id IN (SELECT id FROM users WHERE tenant_id = $1))";
        // Users, roles, applications, hosts and admins go by ON DELETE CASCADE.
        let delete = "DELETE FROM tenants WHERE id = $1";
        self.delete_with_limits(limits, delete, id).await
    }

    async fn tenant_hosts(&self, id: i64) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT host FROM tenant_hosts WHERE tenant_id = $1 ORDER BY host")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(err)
    }

    async fn tenant_admins(&self, tenant_id: i64) -> StoreResult<Vec<i64>> {
        let sql = "SELECT user_id FROM tenant_admins WHERE tenant_id = $1 ORDER BY user_id";
        ids(&self.pool, sql, tenant_id).await
    }

    async fn set_tenant_admins(&self, tenant_id: i64, users: &[i64]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        execute(
            &mut *tx,
            sqlx::query("DELETE FROM tenant_admins WHERE tenant_id = $1").bind(tenant_id),
        )
        .await?;
        for u in users {
            execute(&mut *tx,
                sqlx::query(
                    "INSERT INTO tenant_admins (tenant_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(tenant_id)
                .bind(u),
            )
            .await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn administered_tenants(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        let sql = "SELECT tenant_id FROM tenant_admins WHERE user_id = $1 ORDER BY tenant_id";
        ids(&self.pool, sql, user_id).await
    }

    async fn has_other_active_tenant(&self, except: i64) -> StoreResult<bool> {
        let q =
            sqlx::query("SELECT id FROM tenants WHERE active AND id <> $1 LIMIT 1").bind(except);
        exists(&self.pool, q).await
    }

    async fn roles(&self, tenant_id: i64) -> StoreResult<Vec<Role>> {
        let sql = format!("{ROLE_SELECT} WHERE r.tenant_id = $1 ORDER BY r.id");
        fetch_all(&self.pool, sqlx::query(&sql).bind(tenant_id), role_row::<B>).await
    }

    async fn role(&self, id: i64) -> StoreResult<Option<Role>> {
        let sql = format!("{ROLE_SELECT} WHERE r.id = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(id), role_row::<B>).await
    }
}

/// Inserts a tenant's host names (lowercased).
async fn insert_hosts<B: Backend>(
    tx: &mut crate::write::WriteTx<B>,
    tenant_id: i64,
    hosts: &[String],
) -> StoreResult<()> {
    for h in hosts {
        execute(
            &mut **tx,
            sqlx::query("INSERT INTO tenant_hosts (host, tenant_id) VALUES ($1, $2)")
                .bind(h.to_lowercase())
                .bind(tenant_id),
        )
        .await?;
    }
    Ok(())
}

impl<B: Backend> SqlStore<B> {
    /// The tenant with `id`, from the cache or the database.
    pub(crate) async fn cached_tenant(&self, id: i64) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1");
        let load = fetch_optional(&self.pool, sqlx::query(&sql).bind(id), tenant_row::<B>);
        self.cache
            .read_row_through(
                &self.pool,
                |m| m.tenants.get(&id).cloned(),
                load,
                |m, t| insert_bounded(&mut m.tenants, t.id, t),
            )
            .await
    }
}
