//! [`DeviceStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::device::{DeviceGrant, DevicePoll, DeviceStatus};
use crate::model::time::UnixTime;
use crate::store::{DeviceStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()> {
        self.with(|s| {
            let taken = s.devices.contains_key(&grant.device_verifier)
                || s.devices
                    .values()
                    .any(|d| d.user_verifier == grant.user_verifier);
            if taken {
                return Err(StoreError::Conflict("device code exists".into()));
            }
            s.devices
                .insert(grant.device_verifier.clone(), grant.clone());
            Ok(())
        })
    }

    async fn device_grant_by_user_code(
        &self,
        user_verifier: &str,
    ) -> StoreResult<Option<DeviceGrant>> {
        self.with(|s| {
            Ok(s.devices
                .values()
                .find(|d| d.user_verifier == user_verifier)
                .cloned())
        })
    }

    async fn decide_device_grant(
        &self,
        user_verifier: &str,
        decision: &DeviceStatus,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(d) = s.devices.values_mut().find(|d| {
                d.user_verifier == user_verifier
                    && d.status == DeviceStatus::Pending
                    && d.expires_at > now
            }) else {
                return Ok(false);
            };
            d.status = decision.clone();
            Ok(true)
        })
    }

    async fn poll_device_grant(
        &self,
        device_verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<DevicePoll> {
        self.with(|s| {
            let Some(d) = s.devices.get(device_verifier) else {
                return Ok(DevicePoll::Unknown);
            };
            let (answer, next) = d.poll(client_app_id, now);
            if let Some(next) = next {
                s.devices.insert(device_verifier.to_owned(), next);
            }
            Ok(answer)
        })
    }
}
