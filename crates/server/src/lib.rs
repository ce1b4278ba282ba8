//! # Portcullis server
//!
//! The HTTP face of Portcullis and the `portcullis` binary.
//!
//! * [`config`] — layered configuration (defaults → file → `PORTCULLIS_*` → flags).
//! * [`startup`] — [`startup::Application`]: opens the store, prepares it, binds; tests
//!   start the server exactly as `main` does.
//! * [`http`] — one module per surface, each with a `router()`; the HDP error envelope
//!   and extractors that fail with it; the generated OpenAPI document.
//! * [`tls`] — HTTPS with rustls from certificate and key files.
//! * [`upstream`] — the token vault's HTTP client for upstream token endpoints (core's
//!   `UpstreamClient` over reqwest, with the outbound policy's guarded DNS resolver).
//! * [`fetch`] — the guarded fetcher of documents clients name (client ID metadata
//!   documents, `jwks_uri`): core's `DocumentFetcher` over reqwest.
//! * [`outbound`] — what both outbound clients share: the reqwest client with the
//!   guarded resolver, bounded reads.
//! * [`cli`] — subcommands and exit codes; the admin commands (`tenant`, `user`,
//!   `client`, `keys`) call core's use cases as the operator.

pub mod cli;
pub mod config;
pub mod fetch;
pub mod http;
pub mod outbound;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod upstream;
