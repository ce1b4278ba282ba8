//! Browser sign-in sessions (`SessionStore`).

use crate::backend::Backend;
use crate::store::{fetch_optional, from_row, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::session::Session;
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::SessionStore;
use portcullis_core::store::StoreResult;

const SESSION_COLS: &str = "verifier, user_id, auth_version, created_at, idle_until, expires_at";

fn session_row<B: Backend>(r: &B::Row) -> Result<Session, sqlx::Error> {
    from_row!(r => Session {
        verifier, user_id, auth_version, created_at, idle_until, expires_at
    })
}

#[async_trait]
impl<B: Backend> SessionStore for SqlStore<B> {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        let sql = format!("INSERT INTO sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6)");
        self.write(
            sqlx::query(&sql)
                .bind(&s.verifier)
                .bind(s.user_id)
                .bind(s.auth_version)
                .bind(s.created_at)
                .bind(s.idle_until)
                .bind(s.expires_at),
        )
        .await
        .map(|_| ())
    }

    async fn session(&self, verifier: &str) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE verifier = $1");
        fetch_optional(
            &self.pool,
            sqlx::query(&sql).bind(verifier),
            session_row::<B>,
        )
        .await
    }

    async fn touch_session(&self, verifier: &str, idle_until: UnixTime) -> StoreResult<()> {
        self.write(
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
        self.write_one(sqlx::query("DELETE FROM sessions WHERE verifier = $1").bind(verifier))
            .await
    }

    async fn purge_sessions(&self, now: UnixTime) -> StoreResult<u64> {
        let q = sqlx::query("DELETE FROM sessions WHERE idle_until <= $1 OR expires_at <= $1");
        self.write(q.bind(now)).await
    }
}
