//! [`TokenStore`] for the in-memory store: every rotation and code take under the
//! store's one lock, so of two racing exactly one wins.

use super::MemoryStore;
use crate::model::time::UnixTime;
use crate::model::token::TokenState;
use crate::model::token::{AuthCode, CodeTake, Family, PushedRequest, RefreshToken, Rotation};
use crate::store::{StoreError, StoreResult, TokenStore};
use async_trait::async_trait;

#[async_trait]
impl TokenStore for MemoryStore {
    async fn create_family(
        &self,
        family: &Family,
        refresh: Option<&RefreshToken>,
    ) -> StoreResult<()> {
        self.with(|s| {
            if s.families.contains_key(&family.id)
                || refresh.is_some_and(|r| s.refresh.contains_key(&r.verifier))
            {
                return Err(StoreError::Conflict(
                    "family or refresh token exists".into(),
                ));
            }
            s.families.insert(family.id.clone(), family.clone());
            if let Some(r) = refresh {
                s.refresh.insert(r.verifier.clone(), r.clone());
            }
            Ok(())
        })
    }

    async fn family(&self, id: &str) -> StoreResult<Option<Family>> {
        self.with(|s| Ok(s.families.get(id).cloned()))
    }

    async fn refresh_token(&self, verifier: &str) -> StoreResult<Option<(RefreshToken, Family)>> {
        self.with(|s| {
            Ok(s.refresh
                .get(verifier)
                .and_then(|r| s.families.get(&r.family_id).map(|f| (r.clone(), f.clone()))))
        })
    }

    async fn rotate_refresh_token(
        &self,
        verifier: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation> {
        self.with(|s| {
            let Some(r) = s.refresh.get_mut(verifier) else {
                return Ok(Rotation::Unknown);
            };
            if r.rotated_at.is_some() {
                let family_id = r.family_id.clone();
                if let Some(f) = s.families.get_mut(&family_id) {
                    f.revoked_at.get_or_insert(now);
                }
                return Ok(Rotation::Reused { family_id });
            }
            r.rotated_at = Some(now);
            s.refresh
                .insert(successor.verifier.clone(), successor.clone());
            Ok(Rotation::Rotated)
        })
    }

    async fn revoke_family(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        self.with(|s| {
            Ok(match s.families.get_mut(id) {
                Some(f) if f.revoked_at.is_none() => {
                    f.revoked_at = Some(now);
                    true
                }
                _ => false,
            })
        })
    }

    async fn insert_auth_code(&self, code: &AuthCode) -> StoreResult<()> {
        self.with(|s| {
            if s.codes.contains_key(&code.verifier) {
                return Err(StoreError::Conflict("code exists".into()));
            }
            s.codes.insert(code.verifier.clone(), code.clone());
            Ok(())
        })
    }

    async fn take_auth_code(&self, verifier: &str, now: UnixTime) -> StoreResult<CodeTake> {
        self.with(|s| {
            let Some(c) = s.codes.get_mut(verifier) else {
                return Ok(CodeTake::Unknown);
            };
            if c.used_at.is_some() {
                let c = c.clone();
                s.replayed_codes.entry(c.verifier.clone()).or_insert(now);
                if let Some(f) = c.family_id.as_ref().and_then(|f| s.families.get_mut(f)) {
                    f.revoked_at.get_or_insert(now);
                }
                return Ok(CodeTake::Replayed(c));
            }
            c.used_at = Some(now);
            Ok(CodeTake::Taken(c.clone()))
        })
    }

    async fn set_code_family(&self, verifier: &str, family_id: &str) -> StoreResult<bool> {
        self.with(|s| {
            if let Some(c) = s.codes.get_mut(verifier) {
                c.family_id = Some(family_id.to_owned());
            }
            let Some(at) = s.replayed_codes.get(verifier).copied() else {
                return Ok(false);
            };
            if let Some(f) = s.families.get_mut(family_id) {
                f.revoked_at.get_or_insert(at);
            }
            Ok(true)
        })
    }

    async fn insert_pushed_request(&self, request: &PushedRequest) -> StoreResult<()> {
        self.with(|s| {
            if s.pushed.contains_key(&request.verifier) {
                return Err(StoreError::Conflict("pushed request exists".into()));
            }
            s.pushed.insert(request.verifier.clone(), request.clone());
            Ok(())
        })
    }

    async fn take_pushed_request(
        &self,
        verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>> {
        self.with(|s| {
            let live = s
                .pushed
                .get(verifier)
                .is_some_and(|p| p.client_app_id == client_app_id && p.expires_at > now);
            Ok(if live {
                s.pushed.remove(verifier)
            } else {
                None
            })
        })
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.with(|s| {
            s.revoked_jtis.insert(jti.to_owned(), expires_at);
            Ok(())
        })
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        self.with(|s| Ok(s.revoked_jtis.contains_key(jti)))
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.codes.len() + s.pushed.len() + s.refresh.len() + s.revoked_jtis.len();
            s.codes.retain(|_, c| c.expires_at > now);
            s.pushed.retain(|_, p| p.expires_at > now);
            s.refresh
                .retain(|_, r| r.expires_at.is_none_or(|e| e > now));
            s.revoked_jtis.retain(|_, e| *e > now);
            let devices = s.devices.len();
            s.devices.retain(|_, d| d.expires_at > now);
            let devices = devices - s.devices.len();
            let after = s.codes.len() + s.pushed.len() + s.refresh.len() + s.revoked_jtis.len();
            Ok((before - after + devices) as u64)
        })
    }

    async fn token_state(
        &self,
        jti: &str,
        family: Option<&str>,
        user_id: Option<i64>,
    ) -> StoreResult<TokenState> {
        self.with(|s| {
            Ok(TokenState {
                jti_revoked: s.revoked_jtis.contains_key(jti),
                family_live: family
                    .map(|f| s.families.get(f).is_some_and(|f| f.revoked_at.is_none())),
                user: user_id.and_then(|id| s.users.get(&id).cloned()),
            })
        })
    }
}
