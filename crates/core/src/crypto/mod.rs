//! Secrets and how they are kept (SPEC §5.1): generated secrets and their keyed
//! verifiers, the Argon2id password pool, PKCE, and AES-256-GCM sealing under the master key.

pub mod password;
pub mod pkce;
pub mod seal;
pub mod secret;

pub use password::PasswordHasher;
pub use seal::{Keyring, MasterKey, SealError};
pub use secret::{Secret, VerifierKeys};
