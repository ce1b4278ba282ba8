//! Seeding, server secrets, tenants (with hosts and admins), roles, users (with their
//! roles, permissions and sign-in failures) and limits: the `Store` trait, whose client
//! application and consent methods are in [`crate::clients`].

use crate::backend::RowsAffected as _;
use crate::{clients, err, json_list, to_json, Backend, SqlStore};
use async_trait::async_trait;
use portcullis_core::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use portcullis_core::clock::UnixTime;
use portcullis_core::identity::{
    Lock, LockoutPolicy, NewTenant, NewUser, Role, Tenant, TenantChanges, User, UserChanges,
    SYSTEM_TENANT_ID,
};
use portcullis_core::store::{
    AppListScope, Consent, LimitLevel, RoleAssignments, Seed, Store, StoreError, StoreResult,
};
use sqlx::Row;

pub(crate) fn user_row<B: Backend>(r: &B::Row) -> Result<User, sqlx::Error> {
    let locked_at: Option<i64> = r.try_get("locked_at")?;
    let locked_until: Option<i64> = r.try_get("locked_until")?;
    Ok(User {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        login: r.try_get("login")?,
        password_hash: r.try_get("password_hash")?,
        active: r.try_get("active")?,
        auth_version: r.try_get("auth_version")?,
        failed_logins: r.try_get("failed_logins")?,
        failed_window_start: r.try_get("failed_window_start")?,
        lock: locked_at
            .zip(locked_until)
            .map(|(locked_at, locked_until)| Lock {
                locked_at,
                locked_until,
            }),
        password_status: r.try_get("password_status")?,
        password_expiration: r.try_get("password_expiration")?,
        api_secret_verifier: r.try_get("api_secret_verifier")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) fn tenant_row<B: Backend>(r: &B::Row) -> Result<Tenant, sqlx::Error> {
    Ok(Tenant {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        parent_id: r.try_get("parent_id")?,
        active: r.try_get("active")?,
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
    Ok(Role {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        permissions,
    })
}

pub(crate) const USER_COLS: &str =
    "id, tenant_id, login, password_hash, active, auth_version, failed_logins, \
    failed_window_start, locked_at, locked_until, password_status, password_expiration, \
    api_secret_verifier, created_at";
pub(crate) const TENANT_COLS: &str = "id, name, description, parent_id, active, allowed_scopes";
/// Roles with their permissions folded into one text column (`perms`).
const ROLE_SELECT: &str = "SELECT r.id, r.tenant_id, r.name, r.description, \
    (SELECT string_agg(CAST(permission_id AS TEXT), ',') FROM role_permissions rp WHERE rp.role_id = r.id) AS perms \
    FROM roles r";

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn seed(&self, seed: &Seed) -> StoreResult<()> {
        // `ON CONFLICT DO NOTHING` without a target: when two nodes seed an empty
        // PostgreSQL database at once, the loser's row collides on the id *and* on the
        // unique name, and a conflict target naming only the id would raise the latter.
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        for (id, name, description) in &seed.permissions {
            sqlx::query("INSERT INTO permissions (id, name, description) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(name)
                .bind(description)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        let t = &seed.system_tenant;
        sqlx::query("INSERT INTO tenants (id, name, description, parent_id, active) VALUES ($1, $2, $3, NULL, TRUE) ON CONFLICT DO NOTHING")
            .bind(t.id)
            .bind(&t.name)
            .bind(&t.description)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        for r in &seed.roles {
            let inserted = sqlx::query("INSERT INTO roles (id, tenant_id, name, description) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(r.id)
                .bind(r.tenant_id)
                .bind(r.name)
                .bind(r.description)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            if inserted.rows_affected() == 1 {
                for p in &r.permissions {
                    sqlx::query(
                        "INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2)",
                    )
                    .bind(r.id)
                    .bind(p)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                }
            }
        }
        B::after_seed(&mut tx).await?;
        tx.commit().await.map_err(err)
    }

    async fn server_secret(&self, name: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)
    }

    async fn init_server_secret(
        &self,
        name: &str,
        value: &str,
        now: UnixTime,
    ) -> StoreResult<String> {
        sqlx::query("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }

    async fn tenant(&self, id: i64) -> StoreResult<Option<Tenant>> {
        self.cached_tenant(id).await
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(err)?;
        rows.iter()
            .map(tenant_row::<B>)
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(tenant_row::<B>).transpose().map_err(err)
    }

    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!(
            "SELECT {TENANT_COLS} FROM tenants WHERE id = (SELECT tenant_id FROM tenant_hosts WHERE host = $1)"
        );
        let row = sqlx::query(&sql)
            .bind(host.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(tenant_row::<B>).transpose().map_err(err)
    }

    async fn create_tenant(&self, n: NewTenant) -> StoreResult<Tenant> {
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        let sql = format!(
            "INSERT INTO tenants (name, description, parent_id, active, allowed_scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TENANT_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(&n.name)
            .bind(&n.description)
            .bind(SYSTEM_TENANT_ID)
            .bind(n.active)
            .bind(to_json(&n.allowed_scopes))
            .bind(n.now)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let tenant = tenant_row::<B>(&row).map_err(err)?;
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
            sqlx::query(
                "INSERT INTO role_permissions (role_id, permission_id) \
                 SELECT $1, permission_id FROM role_permissions WHERE role_id = $2",
            )
            .bind(new_id)
            .bind(role)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        for admin in &n.admins {
            sqlx::query("INSERT INTO tenant_admins (tenant_id, user_id) VALUES ($1, $2)")
                .bind(tenant.id)
                .bind(admin)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(tenant)
    }

    async fn update_tenant(&self, id: i64, c: TenantChanges) -> StoreResult<Option<Tenant>> {
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
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
        sqlx::query("DELETE FROM tenant_hosts WHERE tenant_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        insert_hosts(&mut tx, id, &c.hosts).await?;
        tx.commit().await.map_err(err)?;
        Ok(Some(tenant))
    }

    async fn delete_tenant(&self, id: i64) -> StoreResult<bool> {
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        sqlx::query(
            "DELETE FROM limit_values WHERE (level = 'tenant' AND target_id = $1) \
             OR (level = 'user' AND target_id IN (SELECT id FROM users WHERE tenant_id = $1))",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        // Users, roles, applications, hosts and admins go by ON DELETE CASCADE.
        let r = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn tenant_hosts(&self, id: i64) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT host FROM tenant_hosts WHERE tenant_id = $1 ORDER BY host")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(err)
    }

    async fn tenant_admins(&self, tenant_id: i64) -> StoreResult<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT user_id FROM tenant_admins WHERE tenant_id = $1 ORDER BY user_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)
    }

    async fn set_tenant_admins(&self, tenant_id: i64, users: &[i64]) -> StoreResult<()> {
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        sqlx::query("DELETE FROM tenant_admins WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        for u in users {
            sqlx::query("INSERT INTO tenant_admins (tenant_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(tenant_id)
                .bind(u)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn administered_tenants(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT tenant_id FROM tenant_admins WHERE user_id = $1 ORDER BY tenant_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)
    }

    async fn roles(&self, tenant_id: i64) -> StoreResult<Vec<Role>> {
        let sql = format!("{ROLE_SELECT} WHERE r.tenant_id = $1 ORDER BY r.id");
        let rows = sqlx::query(&sql)
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(role_row::<B>)
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    async fn role(&self, id: i64) -> StoreResult<Option<Role>> {
        let sql = format!("{ROLE_SELECT} WHERE r.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(role_row::<B>).transpose().map_err(err)
    }

    async fn create_user(&self, u: NewUser) -> StoreResult<User> {
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        let sql = format!(
            "INSERT INTO users (tenant_id, login, password_hash, active, password_status, password_expiration, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {USER_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(u.tenant_id)
            .bind(&u.login)
            .bind(&u.password_hash)
            .bind(u.active)
            .bind(u.password_status)
            .bind(u.password_expiration)
            .bind(u.now)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let user = user_row::<B>(&row).map_err(err)?;
        insert_role_assignments(&mut tx, user.id, &u.roles, &u.permissions).await?;
        tx.commit().await.map_err(err)?;
        Ok(user)
    }

    async fn list_users(&self, tenant_id: Option<i64>) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(user_row::<B>)
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    async fn update_user(&self, id: i64, c: UserChanges) -> StoreResult<Option<User>> {
        let sql = format!(
            "UPDATE users SET login = $2, \
               auth_version = auth_version + CASE WHEN active AND NOT $3 THEN 1 ELSE 0 END, \
               active = $3, password_status = $4, password_expiration = $5, updated_at = $6 \
             WHERE id = $1 RETURNING {USER_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(&c.login)
            .bind(c.active)
            .bind(c.password_status)
            .bind(c.password_expiration)
            .bind(c.now)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_row::<B>).transpose().map_err(err)
    }

    async fn delete_user(&self, id: i64) -> StoreResult<bool> {
        let _invalidate = self.cache.invalidate_on_drop();
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        sqlx::query("DELETE FROM limit_values WHERE level = 'user' AND target_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        // Applications, consents, grants and admin rights go by ON DELETE CASCADE.
        let r = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn role_assignments(&self, id: i64) -> StoreResult<RoleAssignments> {
        let roles = sqlx::query_scalar(
            "SELECT role_id FROM user_roles WHERE user_id = $1 ORDER BY role_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        let permissions = sqlx::query_scalar(
            "SELECT permission_id FROM user_permissions WHERE user_id = $1 ORDER BY permission_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        Ok(RoleAssignments { roles, permissions })
    }

    async fn set_role_assignments(&self, id: i64, g: &RoleAssignments) -> StoreResult<bool> {
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        let r = sqlx::query("UPDATE users SET auth_version = auth_version + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query("DELETE FROM user_permissions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        insert_role_assignments(&mut tx, id, &g.roles, &g.permissions).await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn unlock_user(&self, id: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET locked_at = NULL, locked_until = NULL, failed_logins = 0, \
             failed_window_start = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn set_api_secret(
        &self,
        id: i64,
        verifier: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET api_secret_verifier = $2, \
             api_secret_created_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END WHERE id = $1",
        )
        .bind(id)
        .bind(verifier)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_row::<B>).transpose().map_err(err)
    }

    async fn users_by_login(&self, login: &str) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE login = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(login)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(user_row::<B>)
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    async fn user_by_login(&self, tenant_id: i64, login: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND login = $2");
        let row = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(login)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_row::<B>).transpose().map_err(err)
    }

    async fn count_users(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }

    async fn effective_permissions(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT rp.permission_id FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id \
             WHERE ur.user_id = $1 \
             UNION SELECT permission_id FROM user_permissions WHERE user_id = $1 \
             ORDER BY 1",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)
    }

    async fn set_password(&self, user_id: i64, hash: &str, now: UnixTime) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET password_hash = $2, failed_logins = 0, failed_window_start = NULL, locked_at = NULL, \
             locked_until = NULL, auth_version = auth_version + 1, updated_at = $3 WHERE id = $1",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn record_login_failure(
        &self,
        user_id: i64,
        now: UnixTime,
        p: LockoutPolicy,
    ) -> StoreResult<Option<Lock>> {
        let mut tx = B::begin_write(&self.pool).await.map_err(err)?;
        // Count the failure unless a lock is in force; a window older than the interval restarts at 1.
        sqlx::query(
            "UPDATE users SET \
               failed_logins = CASE WHEN failed_window_start IS NULL OR $2 - failed_window_start > $3 \
                                    THEN 1 ELSE failed_logins + 1 END, \
               failed_window_start = CASE WHEN failed_window_start IS NULL OR $2 - failed_window_start > $3 \
                                    THEN $2 ELSE failed_window_start END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(user_id)
        .bind(now)
        .bind(p.interval)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        if p.limit > 0 {
            sqlx::query(
                "UPDATE users SET locked_at = $2, locked_until = $2 + $3, failed_logins = 0, \
                 failed_window_start = NULL, auth_version = auth_version + 1 \
                 WHERE id = $1 AND failed_logins >= $4",
            )
            .bind(user_id)
            .bind(now)
            .bind(p.period)
            .bind(p.limit)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        let lock: Option<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT locked_at, locked_until FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(lock
            .and_then(|(a, u)| a.zip(u))
            .map(|(locked_at, locked_until)| Lock {
                locked_at,
                locked_until,
            })
            .filter(|l| l.locked_until > now))
    }

    async fn clear_login_failures(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, failed_window_start = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn limit(
        &self,
        limit_id: i64,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        self.cached_limit(limit_id, tenant_id, user_id).await
    }

    async fn set_limit(
        &self,
        level: LimitLevel,
        limit_id: i64,
        value: Option<i64>,
    ) -> StoreResult<()> {
        let _invalidate = self.cache.invalidate_on_drop();
        let (level, target) = level.key();
        let q = match value {
            Some(_) => sqlx::query(
                "INSERT INTO limit_values (limit_id, level, target_id, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (limit_id, level, target_id) DO UPDATE SET value = excluded.value",
            ),
            None => sqlx::query(
                "DELETE FROM limit_values WHERE limit_id = $1 AND level = $2 AND target_id = $3 AND $4 IS NULL",
            ),
        };
        q.bind(limit_id)
            .bind(level)
            .bind(target)
            .bind(value)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn limits_at(&self, level: LimitLevel) -> StoreResult<Vec<(i64, i64)>> {
        let (level, target) = level.key();
        sqlx::query_as(
            "SELECT limit_id, value FROM limit_values WHERE level = $1 AND target_id = $2 ORDER BY limit_id",
        )
        .bind(level)
        .bind(target)
        .fetch_all(&self.pool)
        .await
        .map_err(err)
    }

    // Client applications and consents: their SQL is in `crate::clients`.

    async fn create_client_app(&self, a: NewClientApp) -> StoreResult<ClientApp> {
        clients::create_client_app(self, a).await
    }

    async fn client_app(&self, id: i64) -> StoreResult<Option<ClientApp>> {
        self.cached_app(id).await
    }

    async fn client_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>> {
        self.cached_app_by_client_id(client_id).await
    }

    async fn list_client_apps(&self, scope: AppListScope) -> StoreResult<Vec<ClientApp>> {
        clients::list_client_apps(self, scope).await
    }

    async fn update_client_app(
        &self,
        id: i64,
        c: ClientAppChanges,
    ) -> StoreResult<Option<ClientApp>> {
        clients::update_client_app(self, id, c).await
    }

    async fn reset_client_secret(
        &self,
        id: i64,
        verifier: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ClientApp>> {
        clients::reset_client_secret(self, id, verifier, now).await
    }

    async fn delete_client_app(&self, id: i64) -> StoreResult<bool> {
        clients::delete_client_app(self, id).await
    }

    async fn grant_consent(
        &self,
        user_id: i64,
        app_id: i64,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        clients::grant_consent(self, user_id, app_id, scopes, now).await
    }

    async fn consents_of_user(&self, user_id: i64) -> StoreResult<Vec<Consent>> {
        clients::consents_of_user(self, user_id).await
    }

    async fn revoke_consent(&self, user_id: i64, app_id: i64, now: UnixTime) -> StoreResult<bool> {
        clients::revoke_consent(self, user_id, app_id, now).await
    }

    async fn token_state(
        &self,
        jti: &str,
        family: Option<&str>,
        user_id: Option<i64>,
    ) -> StoreResult<portcullis_core::store::TokenState> {
        self.read_token_state(jti, family, user_id).await
    }
}

/// Inserts a tenant's host names (lowercased).
async fn insert_hosts<B: Backend>(
    tx: &mut sqlx::Transaction<'_, B>,
    tenant_id: i64,
    hosts: &[String],
) -> StoreResult<()> {
    for h in hosts {
        sqlx::query("INSERT INTO tenant_hosts (host, tenant_id) VALUES ($1, $2)")
            .bind(h.to_lowercase())
            .bind(tenant_id)
            .execute(&mut **tx)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// Inserts a user's roles and explicit permissions.
async fn insert_role_assignments<B: Backend>(
    tx: &mut sqlx::Transaction<'_, B>,
    user_id: i64,
    roles: &[i64],
    permissions: &[i64],
) -> StoreResult<()> {
    for role in roles {
        sqlx::query(
            "INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(role)
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    }
    for p in permissions {
        sqlx::query("INSERT INTO user_permissions (user_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(p)
            .execute(&mut **tx)
            .await
            .map_err(err)?;
    }
    Ok(())
}
