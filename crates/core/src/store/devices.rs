//! [`DeviceStore`]: the device authorization grant's requests (RFC 8628), kept by the
//! keyed verifiers of their device and user codes. Atomic by contract: a user's
//! decision lands on a pending, unexpired request only, and of concurrent polls of an
//! approved request exactly one takes it ([`DevicePoll::Taken`]); the others see it
//! used. Expired requests go with `TokenStore::purge_expired`.

use super::error::StoreResult;
use crate::model::device::{DeviceGrant, DevicePoll, DeviceStatus};
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// Device authorization requests.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a new request; `Conflict` when its device or user verifier is taken.
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()>;
    /// The request whose user code has this verifier, whatever its state.
    async fn device_grant_by_user_code(
        &self,
        user_verifier: &str,
    ) -> StoreResult<Option<DeviceGrant>>;
    /// Records the user's decision (`Approved` or `Denied`) on the request if it is
    /// still pending and unexpired at `now`; `false` (nothing changed) otherwise.
    async fn decide_device_grant(
        &self,
        user_verifier: &str,
        decision: &DeviceStatus,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// A poll by `client_app_id` at `now`, decided by [`DeviceGrant::poll`] and
    /// stored with it atomically.
    async fn poll_device_grant(
        &self,
        device_verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<DevicePoll>;
}
