//! `portcullis keys rotate|list`: the token signing keys (ES256 and RS256), through
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
    /// Rotate the signing keys of every algorithm (ES256, RS256): each pre-published
    /// next key starts signing, each active key retires once the longest token
    /// lifetime has passed, new next keys are published. Running servers pick the
    /// change up within 30 seconds.
    Rotate {
        /// Rotate even though the next key was published less than 330 seconds ago
        /// (resource servers that cached the key set may refuse new tokens until they
        /// fetch it again).
        #[arg(long)]
        force: bool,
    },
    /// List the signing keys with their algorithms, states and dates (no private parts).
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
            let per_alg: Vec<Value> = rotated
                .keys
                .iter()
                .map(|r| {
                    json!({
                        "alg": r.alg.as_str(),
                        "active": r.active,
                        "next": r.next,
                        "retired": r.retired,
                    })
                })
                .collect();
            let mut out = json!({
                "rotated": per_alg,
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
                "alg": k.alg,
                "state": k.state.as_str(),
                "createdAt": rfc3339(k.created_at),
                "activatedAt": k.activated_at.map_or(Value::Null, rfc3339),
                "retireAt": k.retire_at.map_or(Value::Null, rfc3339),
            })
        })
        .collect())
}
