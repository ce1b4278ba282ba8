//! [`SetupStore`]: what a node needs before it serves: the database answers, the seed
//! catalogue exists, the server secrets are initialised (once, however many nodes
//! start together).

use super::error::StoreResult;
use crate::model::seed::Seed;
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// A connection pool's state at one moment (the `portcullis_db_pool_*` gauges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, idle or in use.
    pub size: u32,
    /// Open connections no one is using.
    pub idle: u32,
    /// The most connections the pool will open.
    pub max: u32,
}

/// Liveness, seeding and server secrets.
#[async_trait]
pub trait SetupStore: Send + Sync {
    /// Cheap liveness check of the database (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// The connection pool's state now, read from memory (no query); `None` for a
    /// store without a pool (the in-memory one).
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    /// Makes sure the catalogue rows of [`Seed`] exist. Idempotent.
    async fn seed(&self, seed: &Seed) -> StoreResult<()>;

    /// A named server secret (sealed), if initialised.
    async fn server_secret(&self, name: &str) -> StoreResult<Option<String>>;
    /// Stores `value` under `name` unless a value is already there; returns the value
    /// now stored, so nodes starting together agree on one.
    async fn init_server_secret(
        &self,
        name: &str,
        value: &str,
        now: UnixTime,
    ) -> StoreResult<String>;
}
