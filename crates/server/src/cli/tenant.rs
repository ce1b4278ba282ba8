//! `portcullis tenant create`: a child of the system tenant, created by
//! [`portcullis_core::mgmt::tenants::create`] as the operator, so names, host names,
//! imported roles (default: the API's, User and Tenant Administrator) and uniqueness
//! follow the Tenant API's rules. The operator is no user, so the new tenant starts
//! without admins.
//!
//! `portcullis tenant initial-access-token create|list|delete`: initial access tokens
//! for dynamic client registration (RFC 7591), through
//! [`portcullis_core::mgmt::initial_access_tokens`] as the operator; the token is
//! printed once.

use super::common::{open, AdminError};
use crate::config::Config;
use clap::Subcommand;
use portcullis_core::actor::Operator;
use portcullis_core::mgmt::initial_access_tokens as iat;
use portcullis_core::mgmt::tenants;
use portcullis_core::model::identity::SYSTEM_TENANT_ID;
use serde_json::{json, Value};

/// `portcullis tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (a child of the system tenant); prints it with its roles.
    Create {
        /// The tenant's name (unique).
        name: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// A host name of the tenant (repeatable).
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        /// A role of the system tenant to copy into the new tenant (repeatable;
        /// default 2 and 3: User and Tenant Administrator, as for the Tenant API).
        #[arg(long = "import-role", value_name = "ROLE_ID")]
        import_roles: Vec<i64>,
    },
    /// Initial access tokens for registering clients (RFC 7591) into a tenant.
    #[command(subcommand, name = "initial-access-token")]
    InitialAccessToken(InitialAccessTokenCommand),
}

/// `portcullis tenant initial-access-token …`
#[derive(Debug, Subcommand)]
pub enum InitialAccessTokenCommand {
    /// Issue a token (printed once) for a tenant whose registration policy is not closed.
    Create {
        /// The tenant's id.
        tenant: i64,
        /// Registrations it allows (default 1).
        #[arg(long, conflicts_with = "unlimited")]
        uses: Option<i64>,
        /// No limit on registrations.
        #[arg(long)]
        unlimited: bool,
        /// Seconds it lives (default 86400).
        #[arg(long, conflicts_with = "no_expiry")]
        expires_in: Option<i64>,
        /// Never expires.
        #[arg(long)]
        no_expiry: bool,
    },
    /// List a tenant's tokens (without the tokens).
    List {
        /// The tenant's id.
        tenant: i64,
    },
    /// Delete a token (clients registered with it stay).
    Delete {
        /// The tenant's id.
        tenant: i64,
        /// The token's id.
        id: i64,
    },
}

fn token_json(t: &portcullis_core::model::registration::InitialAccessToken) -> Value {
    json!({
        "id": t.id,
        "tenantId": t.tenant_id,
        "usesLeft": t.uses_left,
        "used": t.used,
        "expiresAt": t.expires_at,
        "createdAt": t.created_at,
    })
}

async fn initial_access_token(
    config: &Config,
    command: InitialAccessTokenCommand,
) -> Result<Value, AdminError> {
    let ctx = open(config).await?;
    let operator = Operator::at_console();
    match command {
        InitialAccessTokenCommand::Create {
            tenant,
            uses,
            unlimited,
            expires_in,
            no_expiry,
        } => {
            let creation = iat::Creation {
                uses: if unlimited {
                    Some(None)
                } else {
                    uses.map(Some)
                },
                expires_in: if no_expiry {
                    Some(None)
                } else {
                    expires_in.map(Some)
                },
            };
            let (token, secret) = iat::create(&ctx, operator, tenant, creation).await?;
            let mut out = token_json(&token);
            out["token"] = json!(secret.expose());
            Ok(out)
        }
        InitialAccessTokenCommand::List { tenant } => {
            let tokens = iat::list(&ctx, operator, tenant).await?;
            Ok(json!({"initialAccessTokens": tokens.iter().map(token_json).collect::<Vec<_>>()}))
        }
        InitialAccessTokenCommand::Delete { tenant, id } => {
            iat::delete(&ctx, operator, tenant, id).await?;
            Ok(json!({"deleted": id}))
        }
    }
}

/// Runs a tenant command and returns what it prints.
pub async fn execute(config: &Config, command: TenantCommand) -> Result<Value, AdminError> {
    match command {
        TenantCommand::InitialAccessToken(c) => initial_access_token(config, c).await,
        TenantCommand::Create {
            name,
            description,
            hosts,
            import_roles,
        } => {
            let ctx = open(config).await?;
            let creation = tenants::Creation {
                name,
                description,
                parent_tenant: SYSTEM_TENANT_ID,
                host_names: (!hosts.is_empty()).then_some(hosts),
                imported_roles: (!import_roles.is_empty()).then_some(import_roles),
                ..tenants::Creation::default()
            };
            let view = tenants::create(&ctx, Operator::at_console(), creation).await?;
            let roles = ctx.store.roles(view.tenant.id).await?;
            Ok(json!({
                "id": view.tenant.id,
                "name": view.tenant.name,
                "description": view.tenant.description,
                "hosts": view.hosts,
                "roles": roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
            }))
        }
    }
}
