//! The integration tests: the real server, spawned per test on a fresh database, on
//! SQLite and PostgreSQL (see `helpers::backends!`).

// A test binary: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod helpers;
mod support;

mod audit;
mod auth;
mod authorize;
mod backup;
mod bearer_mgmt;
mod browser;
mod cache_notify;
mod caches;
mod cli;
mod client_apps;
mod client_assertion;
mod copy;
mod cors;
mod crash;
mod device;
mod dpop;
mod dpop_clients;
mod errors;
mod fetch;
mod grant_api_secret;
mod grant_client_credentials;
mod grant_password;
mod grant_refresh_token;
mod group_commit;
mod introspection_revocation;
mod jwks;
mod limits;
mod log_secrets;
mod logs;
mod master_key;
mod mcp;
mod metadata;
mod metadata_document;
mod metrics;
mod oidc;
mod oidc_clients;
mod openapi;
mod par;
mod private_key_jwt;
mod registration;
mod resource_metadata;
mod resources;
mod security_auth;
mod security_ops;
mod security_protocol;
mod startup;
mod tenants;
mod tls;
mod token_endpoint;
mod token_exchange;
mod two_processes;
mod users;
mod vault;
