//! [`GrantStore`] for the in-memory store: each combined write checks everything it
//! needs before changing anything, under the store's one lock, so it is atomic and a
//! failure leaves no trace.

use super::MemoryStore;
use crate::model::scope::union_scopes;
use crate::model::time::UnixTime;
use crate::model::token::{Family, RefreshToken};
use crate::store::{GrantStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl GrantStore for MemoryStore {
    async fn start_user_grant(
        &self,
        family: &Family,
        refresh: Option<&RefreshToken>,
        code: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(user_id) = family.user_id else {
                return Err(StoreError::Backend("a user's grant without a user".into()));
            };
            let app_id = family.client_app_id;
            if !s.apps.contains_key(&app_id) || !s.users.contains_key(&user_id) {
                return Err(StoreError::Backend(
                    "consent to a missing user or application".into(),
                ));
            }
            if s.families.contains_key(&family.id)
                || refresh.is_some_and(|r| s.refresh.contains_key(&r.verifier))
            {
                return Err(StoreError::Conflict(
                    "family or refresh token exists".into(),
                ));
            }
            let entry = s
                .consents
                .entry((user_id, app_id))
                .or_insert_with(|| (Vec::new(), now));
            entry.0 = union_scopes(&entry.0, &family.scopes);
            let replayed_at = code.and_then(|v| {
                if let Some(c) = s.codes.get_mut(v) {
                    c.family_id = Some(family.id.clone());
                }
                s.replayed_codes.get(v).copied()
            });
            let mut family = family.clone();
            if let Some(at) = replayed_at {
                family.revoked_at.get_or_insert(at);
            }
            s.families.insert(family.id.clone(), family);
            if let Some(r) = refresh {
                s.refresh.insert(r.verifier.clone(), r.clone());
            }
            Ok(replayed_at.is_some())
        })
    }

    async fn revoke_refresh_family(
        &self,
        verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(String, Option<i64>)>> {
        self.with(|s| {
            let Some(r) = s.refresh.get(verifier) else {
                return Ok(None);
            };
            Ok(match s.families.get_mut(&r.family_id) {
                Some(f) if f.client_app_id == client_app_id && f.revoked_at.is_none() => {
                    f.revoked_at = Some(now);
                    Some((f.id.clone(), f.user_id))
                }
                _ => None,
            })
        })
    }
}
