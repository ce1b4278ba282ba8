//! The storage layer: one trait per aggregate, composed into [`Store`]. Adapters:
//! in-memory ([`crate::testing`]), SQLite and PostgreSQL (`SqlStore<B>` in
//! `store-sql`), all held to one contract suite (`testing::contract`, one file per
//! trait).
//!
//! | trait | aggregate |
//! |---|---|
//! | [`SetupStore`] | liveness, the seed catalogue, server secrets |
//! | [`TenantStore`] | tenants with their hosts, admins and roles |
//! | [`UserStore`] | users, role assignments, passwords, lockout, API secrets |
//! | [`LimitStore`] | limit values per level |
//! | [`ClientStore`] | client applications and consents |
//! | [`ResourceStore`] | resource servers (RFC 8707) per tenant |
//! | [`TokenStore`] | token families, refresh tokens, codes, `jti` revocations |
//! | [`KeyStore`] | token signing keys (ES256, RS256) |
//! | [`SessionStore`] | browser sign-in sessions |
//! | [`RegistrationStore`] | registration policies, initial access tokens, unused clients |
//! | [`VaultStore`] | the token vault's upstream applications, profiles, connect states |
//! | [`AssertionStore`] | the `jti`s of used client assertions (`private_key_jwt`) |
//! | [`ExchangeStore`] | token exchange: client exchange policies, vault retrievals |
//! | [`DeviceStore`] | device authorization requests (RFC 8628) |
//! | [`AuditStore`] | the audit trail's security events and their retention |
//! | [`GrantStore`] | a grant's writes combined: consent, family, code; revocation by refresh token |
//!
//! Operations that must not race are atomic by contract in every adapter: a login
//! failure is counted exactly once and locks exactly when the limit is reached, a
//! server secret is initialised once however many nodes start together, and deleting a
//! client application takes its consents with it.

mod assertions;
mod audit;
mod clients;
mod devices;
mod error;
mod exchange;
mod grants;
mod keys;
mod limits;
mod registrations;
mod resources;
mod sealed;
mod sessions;
mod setup;
mod tenants;
mod tokens;
mod users;
mod vault;

pub use assertions::AssertionStore;
pub use audit::AuditStore;
pub use clients::ClientStore;
pub use devices::DeviceStore;
pub use error::{StoreError, StoreResult};
pub use exchange::ExchangeStore;
pub use grants::GrantStore;
pub use keys::KeyStore;
pub use limits::LimitStore;
pub use registrations::RegistrationStore;
pub use resources::ResourceStore;
pub use sealed::{SealedColumn, SealedStore, SealedValue};
pub use sessions::SessionStore;
pub use setup::{PoolStatus, SetupStore};
pub use tenants::TenantStore;
pub use tokens::TokenStore;
pub use users::UserStore;
pub use vault::VaultStore;

/// Declares a trait that is all of the listed traits (and `Debug + 'static`), and
/// implements it for every type that implements them all: the list is written once.
macro_rules! all_of {
    ($(#[$doc:meta])* $name:ident: $($t:ident),+ $(,)?) => {
        $(#[$doc])*
        pub trait $name: $($t +)+ std::fmt::Debug + 'static {}

        impl<T> $name for T where T: $($t +)+ std::fmt::Debug + 'static {}
    };
}

all_of! {
    /// Everything Portcullis keeps: every storage trait at once. Implemented for any
    /// type that implements them all; use cases hold an `Arc<dyn Store>`.
    Store: SetupStore, TenantStore, UserStore, LimitStore, ClientStore, TokenStore,
        ResourceStore, KeyStore, SessionStore, VaultStore, RegistrationStore, AssertionStore,
        ExchangeStore, DeviceStore, SealedStore, AuditStore, GrantStore
}
