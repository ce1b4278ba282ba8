//! One module per grant (RFC 6749 §4, RFC 8628's device code), plus SPEC §1.4's user
//! API secrets.

pub mod api_secret;
pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod password;
pub mod refresh_token;
pub mod token_exchange;
