//! [`GrantStore`]: the writes of a token grant combined, so that each grant does them
//! in one transaction (one statement where the backend allows it) instead of one per
//! step (issue #17). Each operation is atomic by contract, and of a grant racing a
//! replay of its code or a revocation, the contract says who wins.

use super::error::StoreResult;
use crate::model::time::UnixTime;
use crate::model::token::{Family, RefreshToken};
use async_trait::async_trait;

/// The combined writes of the token grants.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Starts a user's grant, atomically: records the user's consent to the family's
    /// scopes for its client (their union with any earlier consent, as
    /// `ClientStore::grant_consent`), creates `family` with its first refresh token
    /// (as `TokenStore::create_family`), and, for a grant from an authorization code,
    /// records the family on the code `code` for replay revocation (as
    /// `TokenStore::set_code_family`). If that code was replayed between its take and
    /// now, the family is stored revoked as of the replay and the answer is `true`;
    /// a replay that comes later finds the family and revokes it.
    ///
    /// `family.user_id` must be set: a grant without a user has no consent.
    async fn start_user_grant(
        &self,
        family: &Family,
        refresh: Option<&RefreshToken>,
        code: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Revokes the family of the refresh token `verifier` when it belongs to the
    /// application `client_app_id` (RFC 7009 §2.1), as one write: the family's id and
    /// user (none for a client's own grant) when this call revoked it; `None` when the
    /// token is unknown, another client's, or its family was revoked already.
    async fn revoke_refresh_family(
        &self,
        verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(String, Option<i64>)>>;
}
