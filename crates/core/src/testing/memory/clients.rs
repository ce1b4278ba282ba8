//! [`ClientStore`] for the in-memory store: client applications and consents.

use super::MemoryStore;
use crate::model::client_app::{AppListScope, Consent};
use crate::model::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use crate::model::scope::union_scopes;
use crate::model::time::UnixTime;
use crate::store::{ClientStore, StoreError, StoreResult};
use async_trait::async_trait;
use std::sync::Arc;

#[async_trait]
impl ClientStore for MemoryStore {
    async fn create_client_app(&self, a: NewClientApp) -> StoreResult<ClientApp> {
        self.with(|s| s.insert_app(a))
    }

    async fn client_app(&self, id: i64) -> StoreResult<Option<ClientApp>> {
        self.with(|s| Ok(s.apps.get(&id).cloned()))
    }

    async fn client_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>> {
        self.with(|s| Ok(s.apps.values().find(|a| a.client_id == client_id).cloned()))
    }

    async fn list_client_apps(&self, scope: AppListScope) -> StoreResult<Vec<ClientApp>> {
        self.with(|s| {
            Ok(s.apps
                .values()
                .filter(|a| match scope {
                    AppListScope::Owner(u) => a.owner_id == Some(u),
                    AppListScope::Tenant(t) => a.tenant_id == t,
                })
                .cloned()
                .collect())
        })
    }

    async fn all_redirect_urls(&self) -> StoreResult<Arc<[String]>> {
        self.with(|s| {
            Ok(s.apps
                .values()
                .flat_map(|a| a.redirect_urls.iter().cloned())
                .collect())
        })
    }

    async fn update_client_app(
        &self,
        id: i64,
        c: ClientAppChanges,
    ) -> StoreResult<Option<ClientApp>> {
        self.with(|s| {
            if let Some(p) = c.token_exchange_policy.filter(|_| s.apps.contains_key(&id)) {
                s.exchange_policies.insert(id, p);
            }
            Ok(s.apps.get_mut(&id).map(|a| {
                a.name = c.name;
                a.description = c.description;
                a.redirect_urls = c.redirect_urls;
                a.grant_types = c.grant_types;
                a.scopes = c.scopes;
                a.post_logout_redirect_uris = c.post_logout_redirect_uris;
                a.id_token_signed_response_alg = c.id_token_signed_response_alg;
                a.userinfo_signed_response_alg = c.userinfo_signed_response_alg;
                a.require_pushed_authorization_requests = c.require_pushed_authorization_requests;
                a.profile = c.profile;
                a.updated_at = c.now;
                a.clone()
            }))
        })
    }

    async fn reset_client_secret(
        &self,
        id: i64,
        verifier: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ClientApp>> {
        self.with(|s| {
            let Some(a) = s.apps.get_mut(&id) else {
                return Ok(None);
            };
            a.secret_verifier = Some(verifier.to_owned());
            a.tokens_valid_after = now;
            a.updated_at = now;
            let app = a.clone();
            s.consents.retain(|(_, app_id), _| *app_id != id);
            for f in s.families.values_mut() {
                if f.client_app_id == id && f.revoked_at.is_none() {
                    f.revoked_at = Some(now);
                }
            }
            Ok(Some(app))
        })
    }

    async fn delete_client_app(&self, id: i64) -> StoreResult<bool> {
        self.with(|s| {
            s.consents.retain(|(_, app_id), _| *app_id != id);
            let removed = s.apps.remove(&id).is_some();
            s.cascade();
            Ok(removed)
        })
    }

    async fn grant_consent(
        &self,
        user_id: i64,
        app_id: i64,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()> {
        self.with(|s| {
            if !s.apps.contains_key(&app_id) || !s.users.contains_key(&user_id) {
                return Err(StoreError::Backend(
                    "consent to a missing user or application".into(),
                ));
            }
            let entry = s
                .consents
                .entry((user_id, app_id))
                .or_insert_with(|| (Vec::new(), now));
            entry.0 = union_scopes(&entry.0, scopes);
            Ok(())
        })
    }

    async fn consents_of_user(&self, user_id: i64) -> StoreResult<Vec<Consent>> {
        self.with(|s| {
            Ok(s.consents
                .iter()
                .filter(|((u, _), _)| *u == user_id)
                .filter_map(|((u, a), (scopes, at))| {
                    s.apps.get(a).map(|app| Consent {
                        user_id: *u,
                        client_app_id: *a,
                        app_name: app.name.clone(),
                        scopes: scopes.clone(),
                        granted_at: *at,
                    })
                })
                .collect())
        })
    }

    async fn revoke_consent(&self, user_id: i64, app_id: i64, now: UnixTime) -> StoreResult<bool> {
        self.with(|s| {
            let existed = s.consents.remove(&(user_id, app_id)).is_some();
            for f in s.families.values_mut() {
                if f.user_id == Some(user_id) && f.client_app_id == app_id && f.revoked_at.is_none()
                {
                    f.revoked_at = Some(now);
                }
            }
            Ok(existed)
        })
    }
}

impl super::State {
    /// Inserts a new application (`Conflict` when the client id is taken).
    pub(super) fn insert_app(&mut self, a: NewClientApp) -> StoreResult<ClientApp> {
        let s = self;
        if s.apps.values().any(|x| x.client_id == a.client_id) {
            return Err(StoreError::Conflict(format!("client id {}", a.client_id)));
        }
        let app = ClientApp {
            id: s.id(),
            tenant_id: a.tenant_id,
            owner_id: a.owner_id,
            name: a.name,
            description: a.description,
            redirect_urls: a.redirect_urls,
            client_id: a.client_id,
            secret_verifier: a.secret_verifier,
            public: a.public,
            grant_types: a.grant_types,
            scopes: a.scopes,
            post_logout_redirect_uris: a.post_logout_redirect_uris,
            id_token_signed_response_alg: a.id_token_signed_response_alg,
            userinfo_signed_response_alg: a.userinfo_signed_response_alg,
            require_pushed_authorization_requests: a.require_pushed_authorization_requests,
            tokens_valid_after: a.now,
            created_at: a.now,
            updated_at: a.now,
            token_endpoint_auth_method: a.token_endpoint_auth_method,
            profile: a.profile,
            registered_by: a.registered_by,
            registration_verifier: a.registration_verifier,
            first_used_at: None,
        };
        if let Some(p) = a.token_exchange_policy {
            s.exchange_policies.insert(app.id, p);
        }
        s.apps.insert(app.id, app.clone());
        Ok(app)
    }
}
