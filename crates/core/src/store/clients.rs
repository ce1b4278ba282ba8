//! [`ClientStore`]: client applications and the consents users gave them ("allowed
//! applications"). Deleting an application, or resetting its secret, takes its
//! consents with it.

use super::error::StoreResult;
use crate::model::client_app::AppListScope;
use crate::model::client_app::Consent;
use crate::model::client_app::{ClientApp, ClientAppChanges, NewClientApp};
use crate::model::time::UnixTime;
use async_trait::async_trait;
use std::sync::Arc;

/// Client applications and consents.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `Conflict` when the client id is taken.
    async fn create_client_app(&self, app: NewClientApp) -> StoreResult<ClientApp>;
    async fn client_app(&self, id: i64) -> StoreResult<Option<ClientApp>>;
    async fn client_app_by_client_id(&self, client_id: &str) -> StoreResult<Option<ClientApp>>;
    /// Ordered by id.
    async fn list_client_apps(&self, scope: AppListScope) -> StoreResult<Vec<ClientApp>>;
    /// The registered redirect URLs of every application of every tenant (in
    /// application id order), for the origins that may call the token endpoints from a
    /// browser. Asked on every cross-origin request, so an adapter with a row cache
    /// answers from it: the same `Arc` until an application changes (here, on another
    /// node or from an admin command), a new one after.
    async fn all_redirect_urls(&self) -> StoreResult<Arc<[String]>>;
    async fn update_client_app(
        &self,
        id: i64,
        changes: ClientAppChanges,
    ) -> StoreResult<Option<ClientApp>>;
    /// Replaces the secret verifier and moves `tokens_valid_after` to `now`, revoking
    /// everything issued before; deletes the application's consents and revokes its
    /// token families, atomically.
    async fn reset_client_secret(
        &self,
        id: i64,
        verifier: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ClientApp>>;
    /// Deletes the application and its consents.
    async fn delete_client_app(&self, id: i64) -> StoreResult<bool>;

    // ---- consents ("allowed applications") ----
    /// Records (or widens to the union of scopes) the user's consent to the application.
    async fn grant_consent(
        &self,
        user_id: i64,
        client_app_id: i64,
        scopes: &[String],
        now: UnixTime,
    ) -> StoreResult<()>;
    /// The user's consents, ordered by application id.
    async fn consents_of_user(&self, user_id: i64) -> StoreResult<Vec<Consent>>;
    /// Withdraws the user's consent and, atomically, revokes every token family of
    /// that user and application. `false` when there was no consent.
    async fn revoke_consent(
        &self,
        user_id: i64,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
}
