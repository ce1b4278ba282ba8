//! The token vault (SPEC §4.3; HDP `spec/hdp-reference.md` §2): upstream OAuth
//! applications ("OAuth application objects") and OAuth profiles (a user's access and
//! refresh tokens at that upstream), sealed at rest, refreshed against the upstream's
//! token endpoint ([`crate::upstream`]) on request ([`refresh`]) or in the background
//! ([`refresher`]), and created by consent through the connect flow ([`connect`]).
//!
//! Sealing: an application's `clientSecret` and a profile's tokens are AES-256-GCM
//! sealed under the master key ([`crate::crypto::Keyring`]), with associated data
//! naming the row's random `seal_ref` and the column
//! (`oauthprofile:<seal_ref>:refresh_token`), so ciphertexts cannot be moved between
//! rows or columns.

pub mod apps;
pub mod connect;
pub mod profiles;
pub mod refresh;
pub mod refresher;
pub mod retrieve;
pub mod sealing;
