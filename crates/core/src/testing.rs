//! Test support (feature `test-util`): an in-memory store ([`memory`]) and the store
//! contract suite every adapter runs ([`contract`]), so the in-memory, SQLite and
//! PostgreSQL stores behave alike.

use crate::store::SetupStore as _;

pub mod contract;
pub mod memory;

pub use memory::MemoryStore;

/// A [`Context`](crate::context::Context) over a seeded [`MemoryStore`] with a pinned
/// clock, fixed verifier keys and a fresh in-memory signer, for core tests.
pub async fn test_context() -> (crate::context::Context, crate::clock::ManualClock) {
    use std::sync::Arc;
    let store = Arc::new(MemoryStore::new());
    #[allow(clippy::expect_used)]
    store.seed(&crate::bootstrap::seed()).await.expect("seed");
    let clock = crate::clock::ManualClock::at(1_800_000_000);
    #[allow(clippy::expect_used)]
    let signer = crate::keys::Signer::ephemeral("http://portcullis.test").expect("signer");
    let ctx = crate::context::Context {
        audit: crate::audit::Audit::new(store.clone()),
        store,
        clock: Arc::new(clock.clone()),
        keys: crate::crypto::VerifierKeys::from_pepper(&[3; 32]),
        keyring: crate::crypto::Keyring::new(crate::crypto::MasterKey::generate(), vec![]),
        hasher: crate::crypto::PasswordHasher::new(2),
        signer: Arc::new(signer),
        redirects: Default::default(),
        require_pushed_requests: false,
        device_poll_interval: 5,
        documents: Arc::new(crate::upstream::fetch::Documents::none()),
    };
    (ctx, clock)
}
