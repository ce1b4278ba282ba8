//! [`RegistrationStore`]: what dynamic client registration (RFC 7591/7592) keeps besides
//! the client applications themselves — each tenant's registration policy, the
//! initial access tokens administrators hand out (verifiers only), the mark a client
//! gets when it is first used, and the sweep of unused ones.
//!
//! Atomic by contract: a registration with an initial access token consumes one use
//! and creates the client in one transaction, so an n-use token registers exactly n
//! clients however many requests race, and a refused registration uses nothing. At
//! most one tenant is `open` and at most one accepts metadata documents: a second is
//! `Conflict`, even when two writes race.

use super::error::StoreResult;
use crate::model::client_app::{ClientApp, NewClientApp, RegisteredBy};
use crate::model::registration::{InitialAccessToken, NewInitialAccessToken, RegistrationPolicy};
use crate::model::time::UnixTime;
use async_trait::async_trait;

/// Registration policies, initial access tokens, and registered clients' upkeep.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// The tenant's policy; `None` when none was ever set (closed).
    async fn registration_policy(&self, tenant_id: i64) -> StoreResult<Option<RegistrationPolicy>>;
    /// Sets the tenant's policy. `Conflict` when it is `open` (or accepts metadata
    /// documents) and another tenant already is (does).
    async fn set_registration_policy(
        &self,
        tenant_id: i64,
        policy: &RegistrationPolicy,
    ) -> StoreResult<()>;
    /// Every tenant with a policy that is not the default, ordered by tenant id.
    async fn registration_policies(&self) -> StoreResult<Vec<(i64, RegistrationPolicy)>>;

    async fn create_initial_access_token(
        &self,
        token: NewInitialAccessToken,
    ) -> StoreResult<InitialAccessToken>;
    /// The tenant's tokens (spent and expired ones too), ordered by id.
    async fn initial_access_tokens(&self, tenant_id: i64) -> StoreResult<Vec<InitialAccessToken>>;
    /// The token with this verifier, whatever its state.
    async fn initial_access_token_by_verifier(
        &self,
        verifier: &str,
    ) -> StoreResult<Option<InitialAccessToken>>;
    /// `false` when the tenant has no such token.
    async fn delete_initial_access_token(&self, tenant_id: i64, id: i64) -> StoreResult<bool>;

    /// Creates the client. With `RegisteredBy::InitialAccessToken`, first takes one use
    /// of the token whose verifier is `verifier` (unexpired at `app.now`, uses left, of
    /// `app.tenant_id`), in the same transaction: `None` (and nothing written) when
    /// the token has none left.
    async fn register_client(
        &self,
        app: NewClientApp,
        verifier: Option<&str>,
    ) -> StoreResult<Option<ClientApp>>;
    /// Records the first token issued to the application; later calls change nothing.
    async fn mark_client_used(&self, client_app_id: i64, now: UnixTime) -> StoreResult<()>;
    /// Deletes the tenant's clients registered `by` that were never used and were
    /// created before `created_before`; returns how many.
    async fn delete_unused_clients(
        &self,
        tenant_id: i64,
        by: RegisteredBy,
        created_before: UnixTime,
    ) -> StoreResult<u64>;
}
