//! Sealing the vault's secrets (client secrets, upstream access and refresh tokens)
//! under the master key, each bound to a purpose so a sealed value copied into another
//! row does not open; a value that does not open is an error the operator can act on.

use crate::context::Context;
use crate::error::{ApiFailure, Code};

/// Seals `plaintext` under the master key for `purpose`.
pub fn seal(ctx: &Context, plaintext: &str, purpose: &str) -> Result<String, ApiFailure> {
    ctx.keyring
        .seal(plaintext.as_bytes(), purpose)
        .map_err(|e| {
            tracing::error!(error = %e, "sealing a vault secret failed");
            ApiFailure::internal(Code::INTERNAL)
        })
}

/// Opens a value sealed for `purpose`.
pub fn open(ctx: &Context, sealed: &str, purpose: &str) -> Result<String, ApiFailure> {
    let bytes = ctx.keyring.open(sealed, purpose).map_err(|e| {
        tracing::error!(error = %e, purpose, "a sealed vault secret does not open");
        ApiFailure::new(
            Code::SEALED_VALUE_UNREADABLE,
            "A stored secret cannot be opened with the configured master keys.",
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ApiFailure::new(
            Code::SEALED_VALUE_UNREADABLE,
            "A stored secret is not valid text.",
        )
    })
}
