//! Management use cases with their permission checks. Each function takes the shared
//! [`crate::context::Context`] and who acts: the authenticated
//! [`crate::auth::Principal`], or (where the admin commands need it) any
//! [`crate::actor::Actor`], the operator at the console included. Each answers
//! with domain values or an [`crate::error::ApiFailure`] from the catalogue.

pub mod allowed_apps;
pub mod audit;
pub mod client_apps;
pub mod initial_access_tokens;
pub mod keys;
pub mod limits;
pub mod policy;
pub mod resources;
pub mod tenants;
pub mod token_exchange;
pub mod users;
