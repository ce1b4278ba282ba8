//! [`KeyStore`]: the signing keys of access tokens ([`crate::keys`]).

use super::error::StoreResult;
use crate::model::signing_key::{KeyRotation, StoredKey};
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// The signing keys of access tokens. Nodes starting together on an empty database,
/// and rotations racing each other, leave exactly one active and one next key: the
/// store decides, atomically.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every signing key, ordered by creation time, then kid.
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Stores `key` unless its kid is taken or, for a key in state `active` or `next`,
    /// another key already is in that state. Returns whether it was stored.
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Atomically: the active key starts retiring (until `retire_at`), the next key
    /// `promote` becomes active (at `now`) and `next` is stored as the next key.
    /// Returns `false`, changing nothing, when `promote` is no longer the next key
    /// (another rotation won).
    async fn rotate_signing_keys(&self, rotation: &KeyRotation) -> StoreResult<bool>;
    /// Deletes the retiring keys whose `retire_at` is at or before `before`; returns
    /// how many.
    async fn delete_retired_keys(&self, before: UnixTime) -> StoreResult<u64>;
}
