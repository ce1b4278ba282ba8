//! The state every handler shares.

use portcullis_core::auth::CredentialCache;
use portcullis_core::context::Context;
use portcullis_core::ratelimit::FailureLimiter;
use portcullis_core::upstream::UpstreamClient;
use std::ops::Deref;
use std::sync::Arc;

/// Shared by all handlers: one pointer, so the clone axum makes for every extractor and
/// middleware that takes the state is a reference count, not a copy of the
/// [`Context`] (its keys, policies and a dozen `Arc`s; 4 % of the server's time under
/// `client_credentials` load when it was copied). The fields are [`Shared`]'s.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
#[derive(Debug)]
pub struct Shared {
    pub ctx: Context,
    pub credentials: Arc<CredentialCache>,
    pub issuer: Arc<str>,
    /// Failed client authentications (per client id and address) and failed user
    /// passwords (per address, and per address and login name).
    pub limiter: Arc<FailureLimiter>,
    /// Proxies whose forwarding headers name the client's address.
    pub trusted_proxies: Arc<crate::http::peer::TrustedProxies>,
    /// The client for upstream token endpoints (token vault): [`crate::upstream`].
    pub upstream: Arc<dyn UpstreamClient>,
    /// Origins that may call the management API from a browser (`cors_allowed_origins`).
    pub cors_allowed_origins: Arc<crate::http::cors::ManagementOrigins>,
    /// Whether DPoP proofs must carry a server nonce (`dpop_nonces`).
    pub dpop_nonces: bool,
}
