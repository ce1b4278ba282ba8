//! [`AssertionStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::time::UnixTime;
use crate::store::{AssertionStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl AssertionStore for MemoryStore {
    async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let key = (client_id.to_owned(), jti.to_owned());
            if s.assertion_jtis.get(&key).is_some_and(|e| *e > now) {
                return Ok(false);
            }
            s.assertion_jtis.insert(key, expires_at);
            Ok(true)
        })
    }

    async fn purge_assertion_jtis(&self, now: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.assertion_jtis.len();
            s.assertion_jtis.retain(|_, e| *e > now);
            Ok((before - s.assertion_jtis.len()) as u64)
        })
    }
}
