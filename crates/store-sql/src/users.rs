//! Users with their role assignments, effective permissions, passwords, sign-in
//! failures and locks, and API secrets (`UserStore`). A failed sign-in is counted and
//! locked in one write transaction, so concurrent failures are each counted once.

use crate::backend::Backend;
use crate::state_cache::StateKey;
use crate::store::{
    err, execute, fetch_all, fetch_one, fetch_optional, from_row, ids, Query, SqlStore,
};
use async_trait::async_trait;
use portcullis_core::model::identity::RoleAssignments;
use portcullis_core::model::identity::{
    Lock, LockoutPolicy, NewUser, User, UserChanges, UserProfile,
};
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{StoreResult, UserStore};
use sqlx::Row;

pub(crate) fn user_row<B: Backend>(r: &B::Row) -> Result<User, sqlx::Error> {
    let locked_at: Option<i64> = r.try_get("locked_at")?;
    let locked_until: Option<i64> = r.try_get("locked_until")?;
    from_row!(r => User {
        id, tenant_id, login, password_hash, active, auth_version, failed_logins,
        failed_window_start, password_status, password_expiration, api_secret_verifier,
        created_at;
        lock: locked_at
            .zip(locked_until)
            .map(|(locked_at, locked_until)| Lock {
                locked_at,
                locked_until,
            }),
        profile: profile_row::<B>(r)?,
    })
}

fn profile_row<B: Backend>(r: &B::Row) -> Result<UserProfile, sqlx::Error> {
    from_row!(r => UserProfile {
        given_name, family_name, email, email_verified, locale;
        name: r.try_get("display_name")?,
        updated_at: r.try_get("profile_updated_at")?,
    })
}

pub(crate) const USER_COLS: &str =
    "id, tenant_id, login, password_hash, active, auth_version, failed_logins, \
    failed_window_start, locked_at, locked_until, password_status, password_expiration, \
    api_secret_verifier, created_at, display_name, given_name, family_name, email, \
    email_verified, locale, profile_updated_at";

/// Binds a profile's columns in the order of [`PROFILE_COLS`].
fn bind_profile<'q, B: Backend>(q: Query<'q, B>, p: &'q UserProfile) -> Query<'q, B> {
    q.bind(&p.name)
        .bind(&p.given_name)
        .bind(&p.family_name)
        .bind(&p.email)
        .bind(p.email_verified)
        .bind(&p.locale)
        .bind(p.updated_at)
}

/// The profile columns, in the order [`bind_profile`] binds them.
const PROFILE_COLS: [&str; 7] = [
    "display_name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "locale",
    "profile_updated_at",
];

/// `col = $first, …` for the profile columns.
fn profile_set(first: usize) -> String {
    PROFILE_COLS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl<B: Backend> UserStore for SqlStore<B> {
    async fn create_user(&self, u: NewUser) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let placeholders: Vec<String> = (8..8 + PROFILE_COLS.len())
            .map(|i| format!("${i}"))
            .collect();
        let sql = format!(
            "INSERT INTO users (tenant_id, login, password_hash, active, password_status, password_expiration, \
             created_at, updated_at, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, {}) RETURNING {USER_COLS}",
            PROFILE_COLS.join(", "),
            placeholders.join(", ")
        );
        let query = sqlx::query(&sql)
            .bind(u.tenant_id)
            .bind(&u.login)
            .bind(&u.password_hash)
            .bind(u.active)
            .bind(u.password_status)
            .bind(u.password_expiration)
            .bind(u.now);
        let user = fetch_one(&mut *tx, bind_profile(query, &u.profile), user_row::<B>).await?;
        insert_role_assignments(&mut tx, user.id, &u.roles, &u.permissions).await?;
        tx.commit().await.map_err(err)?;
        Ok(user)
    }

    /// Through the token-state cache (`state_cache`): the refresh grant and the
    /// management API read users by id; every write here drops the row it changes.
    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        let epoch = match self.state.user(&self.pool, id).await {
            Ok(user) => {
                metrics::counter!("portcullis_cache_hits_total", "cache" => "token_state")
                    .increment(1);
                return Ok(Some(user));
            }
            Err(epoch) => epoch,
        };
        metrics::counter!("portcullis_cache_misses_total", "cache" => "token_state").increment(1);
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let user = fetch_optional(&self.pool, sqlx::query(&sql).bind(id), user_row::<B>).await?;
        if let (Some(epoch), Some(u)) = (epoch, &user) {
            self.state.store_user(epoch, u);
        }
        Ok(user)
    }

    async fn users_by_login(&self, login: &str) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE login = $1 ORDER BY id");
        fetch_all(&self.pool, sqlx::query(&sql).bind(login), user_row::<B>).await
    }

    async fn user_by_login(&self, tenant_id: i64, login: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND login = $2");
        fetch_optional(
            &self.pool,
            sqlx::query(&sql).bind(tenant_id).bind(login),
            user_row::<B>,
        )
        .await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }

    async fn list_users(&self, tenant_id: Option<i64>) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY id"
        );
        fetch_all(&self.pool, sqlx::query(&sql).bind(tenant_id), user_row::<B>).await
    }

    async fn update_user(&self, id: i64, c: UserChanges) -> StoreResult<Option<User>> {
        let _forget = self.state.forget_on_drop(StateKey::User(id));
        let sql = format!(
            "UPDATE users SET login = $2, \
               auth_version = auth_version + CASE WHEN active AND NOT $3 THEN 1 ELSE 0 END, \
               active = $3, password_status = $4, password_expiration = $5, updated_at = $6, {} \
             WHERE id = $1 RETURNING {USER_COLS}",
            profile_set(7)
        );
        let query = sqlx::query(&sql)
            .bind(id)
            .bind(&c.login)
            .bind(c.active)
            .bind(c.password_status)
            .bind(c.password_expiration)
            .bind(c.now);
        fetch_optional(&self.pool, bind_profile(query, &c.profile), user_row::<B>).await
    }

    async fn delete_user(&self, id: i64) -> StoreResult<bool> {
        // Families go with the user (ON DELETE CASCADE).
        let _forget = self.state.forget_all_on_drop();
        let limits = "DELETE FROM limit_values WHERE level = 'user' AND target_id = $1";
        // Applications, consents, grants and admin rights go by ON DELETE CASCADE.
        let delete = "DELETE FROM users WHERE id = $1";
        self.delete_with_limits(limits, delete, id).await
    }

    async fn role_assignments(&self, id: i64) -> StoreResult<RoleAssignments> {
        let sql = "SELECT role_id FROM user_roles WHERE user_id = $1 ORDER BY role_id";
        let roles = ids(&self.pool, sql, id).await?;
        let sql =
            "SELECT permission_id FROM user_permissions WHERE user_id = $1 ORDER BY permission_id";
        let permissions = ids(&self.pool, sql, id).await?;
        Ok(RoleAssignments { roles, permissions })
    }

    async fn set_role_assignments(&self, id: i64, g: &RoleAssignments) -> StoreResult<bool> {
        let _forget = self.state.forget_on_drop(StateKey::User(id));
        let mut tx = self.begin_write().await?;
        let r = execute(
            &mut *tx,
            sqlx::query("UPDATE users SET auth_version = auth_version + 1 WHERE id = $1").bind(id),
        )
        .await?;
        if r == 0 {
            return Ok(false);
        }
        execute(
            &mut *tx,
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(id),
        )
        .await?;
        execute(
            &mut *tx,
            sqlx::query("DELETE FROM user_permissions WHERE user_id = $1").bind(id),
        )
        .await?;
        insert_role_assignments(&mut tx, id, &g.roles, &g.permissions).await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn unlock_user(&self, id: i64) -> StoreResult<bool> {
        let _forget = self.state.forget_on_drop(StateKey::User(id));
        self.write_one(
            sqlx::query(
                "UPDATE users SET locked_at = NULL, locked_until = NULL, failed_logins = 0, \
             failed_window_start = NULL WHERE id = $1",
            )
            .bind(id),
        )
        .await
    }

    async fn set_api_secret(
        &self,
        id: i64,
        verifier: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let _forget = self.state.forget_on_drop(StateKey::User(id));
        self.write_one(
            sqlx::query(
                "UPDATE users SET api_secret_verifier = $2, \
             api_secret_created_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END WHERE id = $1",
            )
            .bind(id)
            .bind(verifier)
            .bind(now),
        )
        .await
    }

    async fn effective_permissions(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        let sql = "SELECT rp.permission_id FROM user_roles ur \
            JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = $1 \
            UNION SELECT permission_id FROM user_permissions WHERE user_id = $1 ORDER BY 1";
        ids(&self.pool, sql, user_id).await
    }

    async fn set_password(&self, user_id: i64, hash: &str, now: UnixTime) -> StoreResult<bool> {
        let _forget = self.state.forget_on_drop(StateKey::User(user_id));
        self.write_one(sqlx::query(
                "UPDATE users SET password_hash = $2, failed_logins = 0, failed_window_start = NULL, locked_at = NULL, \
                 locked_until = NULL, auth_version = auth_version + 1, updated_at = $3 WHERE id = $1",
            )
            .bind(user_id)
            .bind(hash)
            .bind(now)).await
    }

    async fn record_login_failure(
        &self,
        user_id: i64,
        now: UnixTime,
        p: LockoutPolicy,
    ) -> StoreResult<Option<Lock>> {
        let _forget = self.state.forget_on_drop(StateKey::User(user_id));
        let mut tx = self.begin_write().await?;
        // Count the failure unless a lock is in force; a window older than the interval restarts at 1.
        execute(&mut *tx,
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
            .bind(p.interval),
        )
        .await?;
        if p.limit > 0 {
            execute(
                &mut *tx,
                sqlx::query(
                    "UPDATE users SET locked_at = $2, locked_until = $2 + $3, failed_logins = 0, \
                 failed_window_start = NULL, auth_version = auth_version + 1 \
                 WHERE id = $1 AND failed_logins >= $4",
                )
                .bind(user_id)
                .bind(now)
                .bind(p.period)
                .bind(p.limit),
            )
            .await?;
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
        let _forget = self.state.forget_on_drop(StateKey::User(user_id));
        self.write(
            sqlx::query(
                "UPDATE users SET failed_logins = 0, failed_window_start = NULL WHERE id = $1",
            )
            .bind(user_id),
        )
        .await
        .map(|_| ())
    }
}

/// Inserts a user's roles and explicit permissions.
async fn insert_role_assignments<B: Backend>(
    tx: &mut crate::write::WriteTx<B>,
    user_id: i64,
    roles: &[i64],
    permissions: &[i64],
) -> StoreResult<()> {
    for role in roles {
        execute(
            &mut **tx,
            sqlx::query(
                "INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(role),
        )
        .await?;
    }
    for p in permissions {
        execute(&mut **tx,
            sqlx::query(
                "INSERT INTO user_permissions (user_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(p),
        )
        .await?;
    }
    Ok(())
}
