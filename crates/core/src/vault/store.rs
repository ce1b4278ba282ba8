//! What the token vault's storage trait ([`crate::store::VaultStore`]) lists by.

/// Which OAuth profiles a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileScope {
    /// Those of one user.
    Owner(i64),
    /// Those of the users of these tenants, plus those of `owner`.
    Tenants { tenants: Vec<i64>, owner: i64 },
    /// Every profile.
    All,
}
