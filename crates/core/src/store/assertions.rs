//! [`AssertionStore`]: the `jti`s of client assertions already used
//! ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3) item 7: the
//! authorization server may keep a list of used `jti`s to refuse replays), kept until
//! the assertion itself expires ([`crate::oauth::client_assertion`]).

use super::error::StoreResult;
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// Where used assertion identifiers live.
#[async_trait]
pub trait AssertionStore: Send + Sync {
    /// Records that `client_id` used the assertion `jti`, which expires at
    /// `expires_at`: `true` for its first use, `false` when it was used before and
    /// that use has not expired at `now`. Atomic: of concurrent uses of one `jti`
    /// exactly one gets `true`. A use whose record expired (not yet purged) counts as
    /// a first use again, since the assertion it named can no longer be accepted.
    async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes the records that expired at or before `now`.
    async fn purge_assertion_jtis(&self, now: UnixTime) -> StoreResult<u64>;
}
