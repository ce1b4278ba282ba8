//! [`RegistrationStore`] for the in-memory store.

use super::MemoryStore;
use crate::model::client_app::{ClientApp, NewClientApp, RegisteredBy};
use crate::model::registration::{
    InitialAccessToken, NewInitialAccessToken, RegistrationMode, RegistrationPolicy,
};
use crate::model::time::UnixTime;
use crate::store::{RegistrationStore, StoreError, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl RegistrationStore for MemoryStore {
    async fn registration_policy(&self, tenant_id: i64) -> StoreResult<Option<RegistrationPolicy>> {
        self.with(|s| Ok(s.registration_policies.get(&tenant_id).cloned()))
    }

    async fn set_registration_policy(
        &self,
        tenant_id: i64,
        policy: &RegistrationPolicy,
    ) -> StoreResult<()> {
        self.with(|s| {
            let others = || {
                s.registration_policies
                    .iter()
                    .filter(|(t, _)| **t != tenant_id)
            };
            if policy.policy == RegistrationMode::Open
                && others().any(|(_, p)| p.policy == RegistrationMode::Open)
            {
                return Err(StoreError::Conflict("another tenant is open".into()));
            }
            if policy.metadata_documents && others().any(|(_, p)| p.metadata_documents) {
                return Err(StoreError::Conflict(
                    "another tenant accepts metadata documents".into(),
                ));
            }
            s.registration_policies.insert(tenant_id, policy.clone());
            Ok(())
        })
    }

    async fn registration_policies(&self) -> StoreResult<Vec<(i64, RegistrationPolicy)>> {
        self.with(|s| {
            Ok(s.registration_policies
                .iter()
                .map(|(t, p)| (*t, p.clone()))
                .collect())
        })
    }

    async fn create_initial_access_token(
        &self,
        t: NewInitialAccessToken,
    ) -> StoreResult<InitialAccessToken> {
        self.with(|s| {
            if s.initial_access_tokens
                .values()
                .any(|(v, _)| *v == t.verifier)
            {
                return Err(StoreError::Conflict("verifier".into()));
            }
            let token = InitialAccessToken {
                id: s.id(),
                tenant_id: t.tenant_id,
                uses_left: t.uses,
                used: 0,
                expires_at: t.expires_at,
                created_at: t.now,
                created_by: t.created_by,
            };
            s.initial_access_tokens
                .insert(token.id, (t.verifier, token.clone()));
            Ok(token)
        })
    }

    async fn initial_access_tokens(&self, tenant_id: i64) -> StoreResult<Vec<InitialAccessToken>> {
        self.with(|s| {
            Ok(s.initial_access_tokens
                .values()
                .filter(|(_, t)| t.tenant_id == tenant_id)
                .map(|(_, t)| t.clone())
                .collect())
        })
    }

    async fn initial_access_token_by_verifier(
        &self,
        verifier: &str,
    ) -> StoreResult<Option<InitialAccessToken>> {
        self.with(|s| {
            Ok(s.initial_access_tokens
                .values()
                .find(|(v, _)| v == verifier)
                .map(|(_, t)| t.clone()))
        })
    }

    async fn delete_initial_access_token(&self, tenant_id: i64, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            let found = s
                .initial_access_tokens
                .get(&id)
                .is_some_and(|(_, t)| t.tenant_id == tenant_id);
            if found {
                s.initial_access_tokens.remove(&id);
            }
            Ok(found)
        })
    }

    async fn register_client(
        &self,
        app: NewClientApp,
        verifier: Option<&str>,
    ) -> StoreResult<Option<ClientApp>> {
        self.with(|s| {
            if let RegisteredBy::InitialAccessToken(id) = app.registered_by {
                let usable = s.initial_access_tokens.get(&id).is_some_and(|(v, t)| {
                    Some(v.as_str()) == verifier
                        && t.tenant_id == app.tenant_id
                        && t.uses_left.is_none_or(|n| n > 0)
                        && t.expires_at.is_none_or(|e| e > app.now)
                });
                if !usable {
                    return Ok(None);
                }
                if s.apps.values().any(|x| x.client_id == app.client_id) {
                    return Err(StoreError::Conflict(format!("client id {}", app.client_id)));
                }
                if let Some((_, t)) = s.initial_access_tokens.get_mut(&id) {
                    t.used += 1;
                    t.uses_left = t.uses_left.map(|n| n - 1);
                }
            }
            s.insert_app(app).map(Some)
        })
    }

    async fn mark_client_used(&self, client_app_id: i64, now: UnixTime) -> StoreResult<()> {
        self.with(|s| {
            if let Some(a) = s.apps.get_mut(&client_app_id) {
                a.first_used_at.get_or_insert(now);
            }
            Ok(())
        })
    }

    async fn delete_unused_clients(
        &self,
        tenant_id: i64,
        by: RegisteredBy,
        created_before: UnixTime,
    ) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.apps.len();
            s.apps.retain(|_, a| {
                !(a.tenant_id == tenant_id
                    && a.registered_by == by
                    && a.first_used_at.is_none()
                    && a.created_at < created_before)
            });
            let n = (before - s.apps.len()) as u64;
            s.consents.retain(|(_, app), _| s.apps.contains_key(app));
            s.cascade();
            Ok(n)
        })
    }
}
