//! What the token service stores: token families (one per grant of access), refresh
//! tokens and authorization codes, as the [`crate::store::TokenStore`] keeps them.

use crate::model::identity::User;
use crate::model::time::UnixTime;

/// A grant of access: every refresh token and access token issued under it belongs to
/// it, and revoking it ends them all (RFC 9700 §4.14.2 refresh-token families).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Random id, carried in access tokens as `fam`.
    pub id: String,
    pub client_app_id: i64,
    /// `None` for `client_credentials` grants to a client itself (no refresh tokens).
    pub user_id: Option<i64>,
    pub tenant_id: i64,
    pub scopes: Vec<String>,
    /// The user's `auth_version` when access was granted.
    pub auth_version: Option<i64>,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// The sign-in behind the grant (OpenID Connect): a refresh's ID token keeps its
    /// `auth_time`, `sid` and requested claims. Families keep no `nonce`.
    pub sign_in: SignInContext,
    /// The resource indicators (RFC 8707) the grant was given for, in the order
    /// asked; empty: the issuer, as before resource indicators. A refresh may name a
    /// subset of them.
    pub resources: Vec<String>,
    /// The DPoP key (RFC 7638 thumbprint) the grant's refresh tokens are bound to: a
    /// public client's proof key at issuance (RFC 9449 §5); `None` otherwise.
    pub dpop_jkt: Option<String>,
}

/// What a sign-in carries from the authorization request through the code into the
/// grant, for OpenID Connect: when the user signed in, the request's `nonce`, the
/// browser session's `sid`, and the request's `claims` parameter (JSON, as checked by
/// [`crate::oauth::claims_request`]). All `None` for grants without a sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInContext {
    pub auth_time: Option<UnixTime>,
    pub nonce: Option<String>,
    pub sid: Option<String>,
    pub claims: Option<String>,
}

/// A stored refresh token (the token itself is only a verifier here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub verifier: String,
    pub family_id: String,
    pub created_at: UnixTime,
    /// `None`: never expires (HDP's default).
    pub expires_at: Option<UnixTime>,
    /// When it was exchanged for a successor (rotation); using it again is reuse.
    pub rotated_at: Option<UnixTime>,
}

impl RefreshToken {
    /// Whether the token may still be used at `now`: its family is not revoked, it has
    /// not expired, and its grant began after the client's last secret reset
    /// (`app_tokens_valid_after`). Rotation and the user are checked by the caller.
    pub fn is_live(
        &self,
        family: &Family,
        app_tokens_valid_after: UnixTime,
        now: UnixTime,
    ) -> bool {
        family.revoked_at.is_none()
            && self.expires_at.is_none_or(|e| e > now)
            && family.created_at >= app_tokens_valid_after
    }
}

/// The outcome of [`crate::store::TokenStore::rotate_refresh_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current and now has `new` as its successor.
    Rotated,
    /// The token had already been rotated: reuse. The family is now revoked.
    Reused { family_id: String },
    /// No such token.
    Unknown,
}

/// An authorization code as issued (RFC 6749 §4.1.2), bound to its client, redirect
/// URI and PKCE challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub verifier: String,
    pub client_app_id: i64,
    pub user_id: i64,
    /// The `redirect_uri` of the authorization request, if it named one.
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    /// The S256 `code_challenge`, if one was sent.
    pub code_challenge: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    /// The family of the tokens issued from this code.
    pub family_id: Option<String>,
    /// The sign-in the code was issued after.
    pub sign_in: SignInContext,
    /// The resource indicators (RFC 8707) of the authorization request; the token
    /// request may name a subset of them.
    pub resources: Vec<String>,
    /// The authorization request's `dpop_jkt` (RFC 9449 §10): the code exchange's
    /// DPoP proof must be signed by this key.
    pub dpop_jkt: Option<String>,
}

/// The outcome of [`crate::store::TokenStore::take_auth_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeTake {
    /// First use: the code is now spent.
    Taken(AuthCode),
    /// Already used: a replay (RFC 6749 §4.1.2); the family issued from it is revoked.
    Replayed(AuthCode),
    Unknown,
}

/// The current state behind an access token ([`TokenStore::token_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub jti_revoked: bool,
    /// `Some(true)` when the family exists and is not revoked; `None` when none was asked.
    pub family_live: Option<bool>,
    /// The user, when one was asked and exists.
    pub user: Option<User>,
}

/// A pushed authorization request (RFC 9126): the parameters a client sent to
/// `/oauth2/par`, waiting for the authorization request that names them by
/// `request_uri`. Stored by the keyed verifier of the random part of its
/// `request_uri`, never the value itself (as codes are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub verifier: String,
    pub client_app_id: i64,
    /// The authorization request's parameters as `[name, value]` pairs, in JSON.
    pub params: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}
