//! Management use cases with their permission checks. Each function takes the shared
//! [`crate::context::Context`] and the authenticated [`crate::auth::Principal`], and
//! answers with domain values or an [`crate::error::ApiFailure`] from the catalogue.

pub mod allowed_apps;
pub mod client_apps;
pub mod limits;
pub mod policy;
pub mod tenants;
pub mod users;
