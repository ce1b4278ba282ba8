//! `portcullis resource create|list|show|update|delete`: the resource servers (RFC 8707)
//! of a tenant, managed through [`portcullis_core::mgmt::resources`] as the operator,
//! so URIs, scopes, lifetimes and uniqueness follow the resources API's rules.

use super::common::{open, tenant, AdminError};
use crate::config::Config;
use clap::{Args, Subcommand};
use portcullis_core::actor::Operator;
use portcullis_core::mgmt::resources::{self, Fields};
use portcullis_core::model::resource::ResourceServer;
use serde_json::{json, Value};

/// `portcullis resource …`
#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register a resource server; prints it.
    Create {
        /// The tenant, by name (default: the system tenant).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// List a tenant's resource servers (Portcullis's own first, without an id).
    List {
        /// The tenant, by name (default: the system tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Print one resource server.
    Show {
        /// The resource server's id.
        id: i64,
    },
    /// Replace every field of a resource server; prints it.
    Update {
        /// The resource server's id.
        id: i64,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Delete a resource server.
    Delete {
        /// The resource server's id.
        id: i64,
    },
}

/// The fields of a resource server.
#[derive(Debug, Args)]
pub struct FieldArgs {
    /// The resource indicator: an absolute URI without a fragment.
    #[arg(long)]
    uri: String,
    /// The name shown on the consent page.
    #[arg(long)]
    name: String,
    /// An API scope the resource accepts (repeatable; at least one).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    scopes: Vec<String>,
    /// Seconds its access tokens live (default: the tenant's limit).
    #[arg(long, value_name = "SECONDS")]
    access_token_lifetime: Option<i64>,
}

impl FieldArgs {
    fn into_fields(self, tenant_id: Option<i64>) -> Fields {
        Fields {
            tenant_id,
            uri: self.uri,
            name: self.name,
            scopes: self.scopes,
            access_token_lifetime: self.access_token_lifetime,
        }
    }
}

fn shown(r: &ResourceServer) -> Value {
    json!({
        "id": (!r.built_in).then_some(r.id),
        "tenantId": r.tenant_id,
        "uri": r.uri.as_str(),
        "name": r.name,
        "scopes": r.scopes,
        "accessTokenLifetime": r.access_token_lifetime,
        "builtIn": r.built_in,
    })
}

/// Runs a resource command and returns what it prints.
pub async fn execute(config: &Config, command: ResourceCommand) -> Result<Value, AdminError> {
    let ctx = open(config).await?;
    let op = Operator::at_console();
    Ok(match command {
        ResourceCommand::Create { tenant: t, fields } => {
            let t = tenant(&ctx, t.as_deref()).await?;
            shown(&resources::create(&ctx, op, fields.into_fields(Some(t.id))).await?)
        }
        ResourceCommand::List { tenant: t } => {
            let t = tenant(&ctx, t.as_deref()).await?;
            let list = resources::list(&ctx, op, Some(t.id)).await?;
            json!({"resources": list.iter().map(shown).collect::<Vec<_>>()})
        }
        ResourceCommand::Show { id } => shown(&resources::get(&ctx, op, id).await?),
        ResourceCommand::Update { id, fields } => {
            shown(&resources::update(&ctx, op, id, fields.into_fields(None)).await?)
        }
        ResourceCommand::Delete { id } => {
            resources::delete(&ctx, op, id).await?;
            json!({"deleted": id})
        }
    })
}
