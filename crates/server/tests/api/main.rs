//! The integration tests: the real server, spawned per test on a fresh database, on
//! SQLite and PostgreSQL (see `helpers::backends!`).

// A test binary: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod helpers;

mod auth;
mod authorize;
mod browser;
mod caches;
mod cli;
mod client_apps;
mod crash;
mod errors;
mod jwks;
mod limits;
mod oauth_clients;
mod openapi;
mod security_auth;
mod security_ops;
mod security_protocol;
mod startup;
mod tenants;
mod tls;
mod users;
mod vault;
