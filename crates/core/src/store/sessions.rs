//! [`SessionStore`]: browser sign-in sessions of the authorization endpoint
//! ([`crate::session`]).

use super::error::StoreResult;
use crate::model::session::Session;
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// Where sessions live.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session. `Conflict` if the verifier exists.
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// The session with this verifier, live or not.
    async fn session(&self, verifier: &str) -> StoreResult<Option<Session>>;
    /// Moves the idle deadline (never past the absolute one is the caller's rule).
    async fn touch_session(&self, verifier: &str, idle_until: UnixTime) -> StoreResult<()>;
    /// Ends a session; `false` when there was none.
    async fn delete_session(&self, verifier: &str) -> StoreResult<bool>;
    /// Deletes sessions whose idle or absolute deadline is at or before `now`.
    async fn purge_sessions(&self, now: UnixTime) -> StoreResult<u64>;
}
