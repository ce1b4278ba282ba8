//! OAuth 2.0 protocol logic: the authorization endpoint's rules and its browser
//! sign-in flow (`authorize`, `signin`), the token endpoint and its grants (RFC 6749, 7636),
//! access-token claims and signing (RFC 9068, 7517), validation, introspection
//! (RFC 7662) and revocation (RFC 7009), client authentication and its rate limit.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod error;
pub mod grant;
pub mod grants;
pub mod introspect;
pub mod jwt;
pub mod keys;
pub mod ratelimit;
pub mod request;
pub mod signin;
pub mod token;
pub mod validate;

#[cfg(test)]
mod tests;
