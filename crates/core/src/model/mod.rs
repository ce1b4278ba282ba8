//! The records: what users, tenants, client applications, tokens, signing keys,
//! sessions and the vault are, with the validating types that parse them. This layer
//! imports nothing above it (only [`crate::error`], the catalogue of error codes);
//! storage, services and use cases are built on it.

pub mod audit;
pub mod claims;
pub mod client_app;
pub mod client_id_url;
pub mod client_metadata;
pub mod confirmation;
pub mod device;
pub mod identity;
pub mod limits;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod seed;
pub mod session;
pub mod signing_key;
pub mod text;
pub mod time;
pub mod token;
pub mod token_exchange;
pub mod vault;
