//! `portcullis keys rotate|list`: the access-token signing keys, through
//! [`portcullis_core::mgmt::keys`] as the operator (there is no HTTP surface for them).

use super::common::{invalid, open, AdminError};
use crate::config::Config;
use clap::Subcommand;
use portcullis_core::actor::Operator;
use portcullis_core::context::Context;
use portcullis_core::keys::KeyError;
use portcullis_core::mgmt::keys;
use serde_json::{json, Value};

/// `portcullis keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate the signing keys: the pre-published next key starts signing, the active
    /// key retires once the longest token lifetime has passed, a new next key is
    /// published. Running servers pick the change up within 30 seconds.
    Rotate {
        /// Rotate even though the next key was published less than 330 seconds ago
        /// (resource servers that cached the key set may refuse new tokens until they
        /// fetch it again).
        #[arg(long)]
        force: bool,
    },
    /// List the signing keys with their states and dates (no private parts).
    List,
}

/// Runs a keys command and returns what it prints.
pub async fn execute(config: &Config, command: KeysCommand) -> Result<Value, AdminError> {
    let ctx = open(config).await?;
    match command {
        KeysCommand::Rotate { force } => {
            let rotated = keys::rotate(&ctx, Operator::at_console(), force)
                .await
                .map_err(key_error)?;
            let mut out = json!({
                "active": rotated.active,
                "next": rotated.next,
                "retired": rotated.retired,
                "retireAt": rfc3339(rotated.retire_at),
                "deleted": rotated.deleted,
            });
            out["keys"] = list(&ctx).await?;
            Ok(out)
        }
        KeysCommand::List => Ok(json!({ "keys": list(&ctx).await? })),
    }
}

/// A Unix time as RFC 3339 (UTC), for listings.
fn rfc3339(t: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::from)
}

fn key_error(e: KeyError) -> AdminError {
    match e {
        KeyError::TooEarly { .. } => invalid(format!("{e} with --force")),
        KeyError::Store(e) => e.into(),
        e => AdminError::Failed(e.to_string()),
    }
}

/// The keys as listed.
async fn list(ctx: &Context) -> Result<Value, AdminError> {
    let keys = keys::list(ctx, Operator::at_console()).await?;
    Ok(keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid,
                "state": k.state.as_str(),
                "alg": k.alg,
                "createdAt": rfc3339(k.created_at),
                "activatedAt": k.activated_at.map_or(Value::Null, rfc3339),
                "retireAt": k.retire_at.map_or(Value::Null, rfc3339),
            })
        })
        .collect())
}
