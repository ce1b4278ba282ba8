//! `portcullis master-key status|reseal`: which master keys seal the stored secrets, and
//! re-sealing them all under the primary one ([`portcullis_core::reseal`]), the step
//! that lets an old key leave `previous_master_keys` after a rotation.

use super::common::{open, AdminError};
use crate::config::Config;
use clap::Subcommand;
use portcullis_core::actor::Operator;
use portcullis_core::mgmt::audit;
use portcullis_core::model::audit::EventType;
use portcullis_core::model::identity::SYSTEM_TENANT_ID;
use portcullis_core::reseal::{reseal, sealed_by_key, ResealError};
use serde_json::{json, Map, Value};

/// `portcullis master-key …`
#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Count the stored sealed values by the master key that sealed them.
    Status,
    /// Seal every stored secret again with the primary master key (`master_key`), opening
    /// each with whichever configured key sealed it. Safe while servers run and safe to
    /// run again; afterwards the keys in `previous_master_keys` are no longer needed.
    Reseal,
}

/// Runs a master-key command and returns what it prints.
pub async fn execute(config: &Config, command: MasterKeyCommand) -> Result<Value, AdminError> {
    let ctx = open(config).await?;
    let primary = ctx.keyring.primary_id().to_owned();
    match command {
        MasterKeyCommand::Status => status(&ctx, &primary).await,
        MasterKeyCommand::Reseal => {
            let done = reseal(ctx.store.as_ref(), &ctx.keyring)
                .await
                .map_err(|e| match e {
                    ResealError::Store(e) => AdminError::Store(e),
                    e => AdminError::Failed(e.to_string()),
                })?;
            let columns: Map<String, Value> = done
                .columns
                .iter()
                .map(|(c, r)| {
                    (
                        c.name().to_owned(),
                        json!({"resealed": r.resealed, "current": r.current}),
                    )
                })
                .collect();
            let resealed: u64 = done.columns.iter().map(|(_, r)| r.resealed).sum();
            ctx.audit
                .record(
                    audit::by(
                        &ctx,
                        Operator::at_console(),
                        EventType::KeyRotated,
                        SYSTEM_TENANT_ID,
                    )
                    .subject("master key")
                    .reason(format!(
                        "{resealed} sealed value(s) re-sealed with master key {}",
                        done.key_id
                    )),
                )
                .await;
            let mut out = json!({ "resealedWith": done.key_id, "columns": columns });
            out["status"] = status(&ctx, &primary).await?;
            Ok(out)
        }
    }
}

/// `{"primary": id, "sealedBy": {id: count}, "previousKeysNeeded": bool}`.
async fn status(
    ctx: &portcullis_core::context::Context,
    primary: &str,
) -> Result<Value, AdminError> {
    let by_key = sealed_by_key(ctx.store.as_ref()).await?;
    let others = by_key.keys().any(|k| k != primary);
    Ok(json!({
        "primary": primary,
        "sealedBy": by_key,
        "previousKeysNeeded": others,
    }))
}
