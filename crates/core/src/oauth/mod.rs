//! OAuth 2.0 protocol use cases: the authorization endpoint and its browser sign-in flow
//! (`authorize`, `signin`), the token endpoint and
//! its grants (RFC 6749, 7636), access-token validation, introspection (RFC 7662) and
//! revocation (RFC 7009), client authentication. The tokens' records are in
//! [`crate::model::token`], their signing in [`crate::keys`].

pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod oidc;
pub mod request;
pub mod signin;
pub mod token;
pub mod validate;

#[cfg(test)]
mod tests;
