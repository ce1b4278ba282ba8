//! [`KeyStore`]: the signing keys of tokens, per algorithm ([`crate::keys`]).

use super::error::StoreResult;
use crate::model::signing_key::{KeyRotation, StoredKey};
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// The signing keys of tokens. Nodes starting together on an empty database, and
/// rotations racing each other, leave exactly one active and one next key per
/// algorithm: the store decides, atomically.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every signing key, ordered by creation time, then kid.
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Stores `key` unless its kid is taken or, for a key in state `active` or `next`,
    /// another key of its algorithm already is in that state. Returns whether it was
    /// stored.
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Atomically, for every rotation (one per algorithm): the active key of its `alg`
    /// starts retiring (until `retire_at`), the next key `promote` becomes active (at
    /// `now`) and `next` is stored as the next key. Returns `false`, changing nothing
    /// at all, when any `promote` is no longer the next key of its algorithm (another
    /// rotation won).
    async fn rotate_signing_keys(&self, rotations: &[KeyRotation]) -> StoreResult<bool>;
    /// Deletes the retiring keys whose `retire_at` is at or before `before`; returns
    /// how many.
    async fn delete_retired_keys(&self, before: UnixTime) -> StoreResult<u64>;
}
