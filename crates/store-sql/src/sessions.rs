//! Browser sign-in sessions (`SessionStore`).

use crate::backend::Backend;
use crate::store::{err, execute, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::session::Session;
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::SessionStore;
use portcullis_core::store::StoreResult;
use sqlx::Row;

#[async_trait]
impl<B: Backend> SessionStore for SqlStore<B> {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        execute(
            &self.pool,
            sqlx::query(
                "INSERT INTO sessions (verifier, user_id, auth_version, created_at, idle_until, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&s.verifier)
            .bind(s.user_id)
            .bind(s.auth_version)
            .bind(s.created_at)
            .bind(s.idle_until)
            .bind(s.expires_at),
        )
        .await.map(|_| ())
    }

    async fn session(&self, verifier: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT verifier, user_id, auth_version, created_at, idle_until, expires_at \
             FROM sessions WHERE verifier = $1",
        )
        .bind(verifier)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Session {
            verifier: r.try_get("verifier").map_err(err)?,
            user_id: r.try_get("user_id").map_err(err)?,
            auth_version: r.try_get("auth_version").map_err(err)?,
            created_at: r.try_get("created_at").map_err(err)?,
            idle_until: r.try_get("idle_until").map_err(err)?,
            expires_at: r.try_get("expires_at").map_err(err)?,
        }))
    }

    async fn touch_session(&self, verifier: &str, idle_until: UnixTime) -> StoreResult<()> {
        execute(
            &self.pool,
            sqlx::query(
                "UPDATE sessions SET idle_until = $2 WHERE verifier = $1 AND idle_until < $2",
            )
            .bind(verifier)
            .bind(idle_until),
        )
        .await
        .map(|_| ())
    }

    async fn delete_session(&self, verifier: &str) -> StoreResult<bool> {
        Ok(execute(
            &self.pool,
            sqlx::query("DELETE FROM sessions WHERE verifier = $1").bind(verifier),
        )
        .await?
            == 1)
    }

    async fn purge_sessions(&self, now: UnixTime) -> StoreResult<u64> {
        let r = execute(
            &self.pool,
            sqlx::query("DELETE FROM sessions WHERE idle_until <= $1 OR expires_at <= $1")
                .bind(now),
        )
        .await?;
        Ok(r)
    }
}
