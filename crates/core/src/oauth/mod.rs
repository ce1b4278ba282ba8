//! OAuth 2.0 protocol logic: access-token claims and signing (RFC 9068, RFC 7517).

pub mod claims;
pub mod grants;
