//! A token request (RFC 6749 §4, §6; HDP's JSON variant), as the HTTP layer hands it
//! over: fields already decoded, nothing validated yet.

use crate::crypto::Secret;
use std::net::IpAddr;

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/oauth2/token` and `/api/mgmt/oauth2/token`.
    Standard,
    /// `/configapi/v2/oauth/token`: user API secrets, tenant in `scope` (SPEC §1.4).
    ConfigApi,
}

/// Client credentials from the request: HTTP Basic and/or the body.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From `Authorization: Basic` (RFC 6749 §2.3.1), already form-decoded.
    pub basic: Option<(String, Secret)>,
    /// `client_id` / `clientId` in the body.
    pub body_id: Option<String>,
    /// `client_secret` / `clientSecret` in the body.
    pub body_secret: Option<Secret>,
    /// `client_assertion_type` and `client_assertion` in the body, when either was
    /// sent (RFC 7521 §4.2; read by [`super::client_assertion::presented_assertion`]).
    pub assertion: Option<ClientAssertion>,
}

/// A client assertion as the body sent it (either part may be missing: that is the
/// reader's error to report).
#[derive(Debug, Clone, Default)]
pub struct ClientAssertion {
    pub assertion_type: Option<String>,
    /// The JWT, a credential: its `Debug` prints `***`.
    pub assertion: Option<Secret>,
}

/// The fields of a token request.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub code: Option<Secret>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<Secret>,
    /// The device code of the device authorization grant (RFC 8628 §3.4).
    pub device_code: Option<Secret>,
    /// The resource indicators (RFC 8707 §2), in the order sent; empty when none.
    pub resource: Vec<String>,
    pub client: ClientCredentials,
    /// The caller's address, for rate limiting.
    pub peer: Option<IpAddr>,
    /// The user id of an HDP login sent as HTTP Basic next to client credentials in a
    /// JSON body (seed 000), already verified; the password grant's `username` must
    /// name the same user.
    pub login_user: Option<i64>,
    /// Token exchange's parameters (RFC 8693 §2.1); empty for other grants.
    pub exchange: ExchangeParams,
    /// The client for upstream token endpoints, for token exchange's vault retrieval
    /// ([`crate::vault::retrieve`]); the HTTP layer passes the server's.
    pub upstream: Option<std::sync::Arc<dyn crate::upstream::UpstreamClient>>,
    /// The `DPoP` proof (RFC 9449), when the request carried one.
    pub dpop: Option<super::dpop::Presented>,
}

/// The parameters of a token-exchange request (RFC 8693 §2.1), as sent. Its
/// `resource` and `scope` are [`TokenRequest`]'s.
#[derive(Debug, Clone, Default)]
pub struct ExchangeParams {
    /// The token being exchanged, a credential: its `Debug` prints `***`.
    pub subject_token: Option<Secret>,
    pub subject_token_type: Option<String>,
    pub actor_token: Option<Secret>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    /// The `audience` values, in the order sent; empty when none.
    pub audience: Vec<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<Secret>,
    pub scope: String,
    /// An OpenID Connect ID token, when `openid` was granted to a user.
    pub id_token: Option<String>,
    /// Token exchange's `issued_token_type` (RFC 8693 §2.2.1); `None` for other grants.
    pub issued_token_type: Option<&'static str>,
    /// The `token_type` when the grant decides it: `Bearer` for the vault's upstream
    /// token, which is not ours to bind to a DPoP key. `None`: `DPoP` when the request
    /// carried a proof (the token is bound), else `Bearer`.
    pub token_type: Option<&'static str>,
}
