//! OAuth 2.0 and OpenID Connect use cases: the authorization endpoint and its browser
//! sign-in flow (`authorize`, `oidc_params`, `signin`), ID tokens and UserInfo
//! (`id_token`, `claims_request`, `userinfo`), RP-initiated logout (`end_session`),
//! pushed authorization requests (`par`, RFC 9126), the device authorization grant
//! (`device`, RFC 8628), the token endpoint and
//! its grants (RFC 6749, 7636), access-token validation, introspection (RFC 7662) and
//! revocation (RFC 7009), client authentication, DPoP proofs (`dpop`, RFC 9449). The tokens' records are in
//! [`crate::model::token`], their signing in [`crate::keys`].

pub mod authorize;
pub mod claims_request;
pub mod client_assertion;
pub mod client_auth;
pub mod device;
pub mod dpop;
pub mod end_session;
pub mod error;
pub mod grant;
pub mod id_token;
pub mod introspect;
pub mod metadata_document;
pub mod oidc;
pub mod oidc_params;
pub mod par;
pub mod params;
pub mod registration;
pub mod request;
pub mod resource;
pub mod signin;
pub mod step;
pub mod token;
pub mod token_audit;
pub mod user_code;
pub mod userinfo;
pub mod validate;

#[cfg(test)]
mod tests;
