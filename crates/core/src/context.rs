//! The services every use case needs, bundled: store, clock, verifier keys, master
//! keyring, the password pool and the access-token signer. Built once at startup and
//! shared.

use crate::audit::Audit;
use crate::clock::Clock;
use crate::crypto::{Keyring, PasswordHasher, VerifierKeys};
use crate::keys::Signer;
use crate::model::client_app::RedirectPolicy;
use crate::store::Store;
use crate::upstream::fetch::Documents;
use std::sync::Arc;

/// Shared services for the use cases in [`crate::mgmt`] and [`crate::auth`].
#[derive(Debug, Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keys: VerifierKeys,
    pub keyring: Keyring,
    pub hasher: PasswordHasher,
    /// Signs and verifies access tokens with the keys of the store.
    pub signer: Arc<Signer>,
    /// What the operator allows as redirect URLs (checked at registration and at
    /// the authorization endpoint).
    pub redirects: RedirectPolicy,
    /// Whether every authorization request must be pushed first (RFC 9126 §5,
    /// `require_pushed_authorization_requests`).
    pub require_pushed_requests: bool,
    /// The seconds a device must wait between polls of the device authorization grant
    /// (RFC 8628 §3.2 `interval`; `device_poll_interval`).
    pub device_poll_interval: i64,
    /// Documents fetched from URLs clients name (client ID metadata documents,
    /// `jwks_uri`), cached and rate limited per host: [`crate::upstream::fetch`].
    pub documents: Arc<Documents>,
    /// The audit trail's sink: events queued here reach the store a batch at a time
    /// ([`crate::audit`]).
    pub audit: Audit,
}

impl Context {
    pub fn now(&self) -> crate::model::time::UnixTime {
        self.clock.now()
    }
}
