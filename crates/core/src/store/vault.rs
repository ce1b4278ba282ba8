//! [`VaultStore`]: the token vault's upstream applications, OAuth profiles and
//! connect states ([`crate::vault`]).
//!
//! Atomic by contract in every adapter: a refresh lease is taken by at most one caller
//! at a time (on every node sharing the database), finishing or failing a refresh
//! only applies for the lease holder, and a connect state is taken exactly once.

use super::error::StoreResult;
use crate::model::time::UnixTime;
use crate::model::vault::ProfileScope;
use crate::model::vault::{
    ConnectState, NewOAuthApp, NewOAuthProfile, OAuthApp, OAuthAppChanges, OAuthProfile,
    ProfileChanges, RefreshFailure, RefreshSuccess,
};
use async_trait::async_trait;

/// Upstream applications, profiles and connect states.
#[async_trait]
pub trait VaultStore: Send + Sync {
    /// `Conflict` when the tenant already has an application of that name.
    async fn create_oauth_app(&self, app: NewOAuthApp) -> StoreResult<OAuthApp>;
    async fn oauth_app(&self, id: i64) -> StoreResult<Option<OAuthApp>>;
    /// The applications of these tenants (`None`: all), ordered by id.
    async fn list_oauth_apps(&self, tenants: Option<&[i64]>) -> StoreResult<Vec<OAuthApp>>;
    /// `Conflict` as for create.
    async fn update_oauth_app(
        &self,
        id: i64,
        changes: OAuthAppChanges,
    ) -> StoreResult<Option<OAuthApp>>;
    /// Deletes the application with its profiles and pending connect states.
    async fn delete_oauth_app(&self, id: i64) -> StoreResult<bool>;

    /// `Conflict` when the owner already has a profile of that name.
    async fn create_oauth_profile(&self, profile: NewOAuthProfile) -> StoreResult<OAuthProfile>;
    async fn oauth_profile(&self, id: i64) -> StoreResult<Option<OAuthProfile>>;
    /// Ordered by id.
    async fn list_oauth_profiles(&self, scope: ProfileScope) -> StoreResult<Vec<OAuthProfile>>;
    /// Replaces name, description, application and tokens; clears the refresh status.
    /// `Conflict` as for create.
    async fn update_oauth_profile(
        &self,
        id: i64,
        changes: ProfileChanges,
    ) -> StoreResult<Option<OAuthProfile>>;
    async fn delete_oauth_profile(&self, id: i64) -> StoreResult<bool>;

    /// Takes the refresh lease of profile `id` for `holder` until `until`, unless
    /// another holder's lease is still running at `now`. Returns the profile when
    /// taken, `None` when it is held by someone else or the profile does not exist.
    async fn acquire_refresh_lease(
        &self,
        id: i64,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> StoreResult<Option<OAuthProfile>>;
    /// Stores refreshed tokens and releases the lease, if `holder` still holds it.
    async fn finish_refresh(
        &self,
        id: i64,
        holder: &str,
        done: &RefreshSuccess,
    ) -> StoreResult<Option<OAuthProfile>>;
    /// Releases the lease without changing tokens or the refresh status, if `holder`
    /// still holds it: for a caller that found, once holding the lease, that another
    /// caller had refreshed the token meanwhile. Whether it released.
    async fn release_refresh_lease(&self, id: i64, holder: &str) -> StoreResult<bool>;
    /// Records a failed refresh (tokens unchanged) and releases the lease, if `holder`
    /// still holds it.
    async fn fail_refresh(
        &self,
        id: i64,
        holder: &str,
        failure: &RefreshFailure,
    ) -> StoreResult<Option<OAuthProfile>>;
    /// Profiles whose access token expires at or before `expiring_by`, whose backoff
    /// has passed and whose lease is free at `now`, ordered by expiry, at most `limit`.
    async fn profiles_due(
        &self,
        expiring_by: UnixTime,
        now: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<OAuthProfile>>;

    /// Stores a pending connect flow.
    async fn insert_connect_state(&self, state: &ConnectState) -> StoreResult<()>;
    /// Removes and returns the connect state, atomically (a second take finds nothing).
    /// Expired states are returned too; the caller checks `expires_at`.
    async fn take_connect_state(&self, state_verifier: &str) -> StoreResult<Option<ConnectState>>;
    /// Deletes connect states expired at `now`; returns how many.
    async fn purge_connect_states(&self, now: UnixTime) -> StoreResult<u64>;
}
