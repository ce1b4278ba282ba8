//! [`SessionStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::session::Session;
use crate::model::time::UnixTime;
use crate::store::{SessionStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        self.with(|s| {
            if s.sessions.contains_key(&session.verifier) {
                return Err(StoreError::Conflict("session exists".into()));
            }
            if !s.users.contains_key(&session.user_id) {
                return Err(StoreError::Backend("no such user".into()));
            }
            s.sessions.insert(session.verifier.clone(), session.clone());
            Ok(())
        })
    }

    async fn session(&self, verifier: &str) -> StoreResult<Option<Session>> {
        self.with(|s| Ok(s.sessions.get(verifier).cloned()))
    }

    async fn touch_session(&self, verifier: &str, idle_until: UnixTime) -> StoreResult<()> {
        self.with(|s| {
            if let Some(x) = s.sessions.get_mut(verifier) {
                x.idle_until = x.idle_until.max(idle_until);
            }
            Ok(())
        })
    }

    async fn delete_session(&self, verifier: &str) -> StoreResult<bool> {
        self.with(|s| Ok(s.sessions.remove(verifier).is_some()))
    }

    async fn purge_sessions(&self, now: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.sessions.len();
            s.sessions
                .retain(|_, x| x.idle_until > now && x.expires_at > now);
            Ok((before - s.sessions.len()) as u64)
        })
    }
}
