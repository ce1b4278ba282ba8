//! # Portcullis core
//!
//! The protocol and identity logic of Portcullis, an OAuth 2.0 authorization server
//! that speaks Hybrid Data Pipeline's management API. This crate knows neither HTTP
//! frameworks nor SQL: the server crate turns requests into calls here, and the store
//! crates implement [`store::Store`].
//!
//! A tour:
//! * [`context::Context`] bundles the services (store, clock, keys, password pool).
//! * [`actor`] says who performs a use case: an HTTP user or the operator at the console.
//! * [`auth`] authenticates management callers (Basic) with lockout and a credential cache.
//! * [`mgmt`] holds the management use cases with their permission checks.
//! * [`oauth`] is the protocol: grants, tokens, signing keys, introspection.
//! * [`client_app`], [`identity`], [`scope`] are the domain types, parsed not validated.
//! * [`crypto`] keeps secrets: verifiers, Argon2id pool, AES-GCM sealing.
//! * [`session`] keeps browser sign-ins of the authorization endpoint.
//! * [`error`] is the one catalogue of error codes.
//! * [`bootstrap`] seeds a fresh database and creates the initial administrator.
//! * [`upstream`] is the outbound OAuth call and the fetch of documents clients name
//!   (traits the server implements, the latter behind a cache and a per-host rate
//!   limit) and the policy of which destinations they may reach.
//! * [`vault`] is the token vault: upstream OAuth applications and profiles.
//! * [`testing`] (feature `test-util`) has the in-memory store and the store contract.

pub mod actor;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod error;
pub mod keys;
pub mod limits;
pub mod mgmt;
pub mod model;
pub mod oauth;
pub mod ratelimit;
pub mod reseal;
pub mod session;
pub mod store;
pub mod upstream;
pub mod vault;

#[cfg(any(test, feature = "test-util"))]
pub mod testing;
