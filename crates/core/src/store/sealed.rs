//! [`SealedStore`]: every value sealed under the master key, listed column by column and
//! replaced one at a time, so `portcullis master-key reseal` can move them all under a
//! new master key (after which the old key can be dropped from `previous_master_keys`).

use super::error::StoreResult;
use async_trait::async_trait;

/// A column holding sealed values (`mk1.<key id>.…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedColumn {
    /// `server_secrets.value` (the verifier pepper), bound to the secret's name.
    ServerSecret,
    /// `signing_keys.private_sealed`, bound to the key id.
    SigningKey,
    /// `oauth_apps.client_secret_sealed`, bound to the row's `seal_ref`.
    OAuthAppSecret,
    /// `oauth_profiles.access_token_sealed`, bound to the row's `seal_ref`.
    ProfileAccessToken,
    /// `oauth_profiles.refresh_token_sealed`, bound to the row's `seal_ref`.
    ProfileRefreshToken,
    /// `oauth_connect_states.code_verifier_sealed`, bound to the state's verifier.
    ConnectVerifier,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 6] = [
        SealedColumn::ServerSecret,
        SealedColumn::SigningKey,
        SealedColumn::OAuthAppSecret,
        SealedColumn::ProfileAccessToken,
        SealedColumn::ProfileRefreshToken,
        SealedColumn::ConnectVerifier,
    ];

    /// `table.column`, for reports.
    pub fn name(self) -> &'static str {
        match self {
            SealedColumn::ServerSecret => "server_secrets.value",
            SealedColumn::SigningKey => "signing_keys.private_sealed",
            SealedColumn::OAuthAppSecret => "oauth_apps.client_secret_sealed",
            SealedColumn::ProfileAccessToken => "oauth_profiles.access_token_sealed",
            SealedColumn::ProfileRefreshToken => "oauth_profiles.refresh_token_sealed",
            SealedColumn::ConnectVerifier => "oauth_connect_states.code_verifier_sealed",
        }
    }
}

/// One sealed value and what its sealing purpose is made from (a secret's name, a key
/// id, a `seal_ref`, a state verifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub bound_to: String,
    pub sealed: String,
}

/// Sealed values, read and replaced.
#[async_trait]
pub trait SealedStore: Send + Sync {
    /// Every non-null value of `column`.
    async fn sealed_values(&self, column: SealedColumn) -> StoreResult<Vec<SealedValue>>;
    /// Replaces `old` by `new` in `column` where it still holds `old` (sealed values
    /// are unique: each has its own random nonce). `false` when it no longer does — the
    /// row changed or went meanwhile — so a running server's writes are never undone.
    async fn replace_sealed(&self, column: SealedColumn, old: &str, new: &str)
        -> StoreResult<bool>;
}
