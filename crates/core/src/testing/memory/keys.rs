//! [`KeyStore`] for the in-memory store: every operation under the store's one lock,
//! which makes each atomic as the contract asks.

use super::MemoryStore;
use crate::model::signing_key::{KeyRotation, KeyState, StoredKey};
use crate::model::time::UnixTime;
use crate::store::{KeyStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl KeyStore for MemoryStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.with(|s| {
            let mut keys: Vec<StoredKey> = s.signing_keys.values().cloned().collect();
            keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
            Ok(keys)
        })
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<bool> {
        self.with(|s| {
            let taken = s.signing_keys.contains_key(&key.kid)
                || (key.state != KeyState::Retiring
                    && s.signing_keys
                        .values()
                        .any(|k| k.state == key.state && k.alg == key.alg));
            if !taken {
                s.signing_keys.insert(key.kid.clone(), key.clone());
            }
            Ok(!taken)
        })
    }

    async fn rotate_signing_keys(&self, rotations: &[KeyRotation]) -> StoreResult<bool> {
        self.with(|s| {
            // Every check before any change: all rotations apply, or none.
            for r in rotations {
                let alg = r.alg.as_str();
                if s.signing_keys
                    .get(&r.promote)
                    .is_none_or(|k| k.state != KeyState::Next || k.alg != alg)
                {
                    return Ok(false);
                }
            }
            for (i, r) in rotations.iter().enumerate() {
                let reused = rotations[..i].iter().any(|o| o.next.kid == r.next.kid);
                if s.signing_keys.contains_key(&r.next.kid)
                    || reused
                    || r.next.state != KeyState::Next
                    || r.next.alg != r.alg.as_str()
                {
                    return Err(StoreError::Conflict(format!("signing key {}", r.next.kid)));
                }
            }
            for r in rotations {
                let alg = r.alg.as_str();
                for k in s.signing_keys.values_mut() {
                    if k.state == KeyState::Active && k.alg == alg {
                        k.state = KeyState::Retiring;
                        k.retire_at = Some(r.retire_at);
                    }
                }
                if let Some(k) = s.signing_keys.get_mut(&r.promote) {
                    k.state = KeyState::Active;
                    k.activated_at = Some(r.now);
                }
                s.signing_keys.insert(r.next.kid.clone(), r.next.clone());
            }
            Ok(true)
        })
    }

    async fn delete_retired_keys(&self, before: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let n = s.signing_keys.len();
            s.signing_keys.retain(|_, k| {
                k.state != KeyState::Retiring || k.retire_at.is_none_or(|t| t > before)
            });
            Ok((n - s.signing_keys.len()) as u64)
        })
    }
}
