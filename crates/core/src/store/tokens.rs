//! [`TokenStore`]: what the token service keeps: token families, refresh tokens,
//! authorization codes, pushed authorization requests (RFC 9126) and revoked
//! access-token `jti`s. Single-use operations are atomic by contract: of two
//! concurrent rotations, code redemptions or takes of a pushed request exactly one
//! wins.

use super::error::StoreResult;
use crate::model::time::UnixTime;
use crate::model::token::TokenState;
use crate::model::token::{AuthCode, CodeTake, Family, PushedRequest, RefreshToken, Rotation};
use async_trait::async_trait;

/// The token service's storage.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates a family and, when given, its first refresh token, atomically.
    async fn create_family(
        &self,
        family: &Family,
        refresh: Option<&RefreshToken>,
    ) -> StoreResult<()>;
    async fn family(&self, id: &str) -> StoreResult<Option<Family>>;
    /// A refresh token by verifier, with its family.
    async fn refresh_token(&self, verifier: &str) -> StoreResult<Option<(RefreshToken, Family)>>;
    /// Marks `verifier` rotated at `now` and stores `successor` in its family, atomically.
    /// A token already rotated is reuse: its family is revoked instead.
    async fn rotate_refresh_token(
        &self,
        verifier: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation>;
    /// Revokes one family; `false` when unknown or already revoked.
    async fn revoke_family(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Stores a new authorization code.
    async fn insert_auth_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Spends a code atomically; a second use is a replay and revokes the family
    /// issued from the code.
    async fn take_auth_code(&self, verifier: &str, now: UnixTime) -> StoreResult<CodeTake>;
    /// Records the family issued from a code (for replay revocation), atomically with
    /// a check for a replay that came in between the take and now: if the code was
    /// replayed meanwhile, the family is revoked and the answer is `true`.
    async fn set_code_family(&self, verifier: &str, family_id: &str) -> StoreResult<bool>;
    /// Records an access token's `jti` as revoked until it expires anyway.
    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Stores a pushed authorization request.
    async fn insert_pushed_request(&self, request: &PushedRequest) -> StoreResult<()>;
    /// Takes (deletes and returns) the pushed request `verifier` of the application
    /// `client_app_id` if it has not expired at `now`, atomically: of concurrent takes
    /// the first wins and later ones get `None`. Another application's take leaves
    /// the request where it is.
    async fn take_pushed_request(
        &self,
        verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>>;
    /// Deletes expired codes, pushed requests, device requests and refresh tokens, and revocations of
    /// expired tokens.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;

    /// Whether an access token's `jti` is revoked, whether its family (if any) is live,
    /// and its user (if any), read together: what `is_jti_revoked`, `family` and
    /// `UserStore::user` answer, in one round trip (every introspection and protected
    /// request asks it).
    async fn token_state(
        &self,
        jti: &str,
        family: Option<&str>,
        user_id: Option<i64>,
    ) -> StoreResult<TokenState>;
}
