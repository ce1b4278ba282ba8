//! `portcullis tenant create`: a child of the system tenant, created by
//! [`portcullis_core::mgmt::tenants::create`] as the operator, so names, host names,
//! imported roles (default: the API's, User and Tenant Administrator) and uniqueness
//! follow the Tenant API's rules. The operator is no user, so the new tenant starts
//! without admins.

use super::common::{open, AdminError};
use crate::config::Config;
use clap::Subcommand;
use portcullis_core::actor::Operator;
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
}

/// Runs a tenant command and returns what it prints.
pub async fn execute(config: &Config, command: TenantCommand) -> Result<Value, AdminError> {
    match command {
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
