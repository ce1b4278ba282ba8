//! `portcullis client register`: registers an application owned by a user, through
//! [`portcullis_core::mgmt::client_apps::register`] as that owner, so defaults (grant
//! types, scopes, public flag) and checks (redirect URLs, names) are the API's.

use super::common::{invalid, open, user, AdminError, UserRef};
use crate::config::Config;
use clap::Subcommand;
use portcullis_core::auth::Principal;
use portcullis_core::mgmt::client_apps;
use serde_json::{json, Value};

/// `portcullis client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client application owned by a user; prints clientId and, once,
    /// clientSecret.
    Register {
        /// Login name of the owner.
        #[arg(long, value_name = "LOGIN")]
        owner: String,
        /// The owner's tenant, by name (default: the system tenant).
        #[arg(long, value_name = "NAME")]
        tenant: Option<String>,
        /// The application's name.
        #[arg(long)]
        name: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// A redirect URL (repeatable; at least one).
        #[arg(long = "redirect-url", value_name = "URL", required = true)]
        redirect_urls: Vec<String>,
        /// A public client: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// An allowed grant type (repeatable; default as for the API).
        #[arg(long = "grant-type", value_name = "GRANT")]
        grant_types: Vec<String>,
        /// An allowed scope (repeatable; default api.access.odata).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
}

/// Runs a client command and returns what it prints.
pub async fn execute(config: &Config, command: ClientCommand) -> Result<Value, AdminError> {
    match command {
        ClientCommand::Register {
            owner,
            tenant,
            name,
            description,
            redirect_urls,
            public,
            grant_types,
            scopes,
        } => {
            let ctx = open(config).await?;
            let who = UserRef {
                login: owner,
                tenant,
            };
            let (_, user) = user(&ctx, &who).await?;
            if !user.active {
                return Err(invalid(format!(
                    "user '{}' is inactive and cannot own a new application",
                    who.login
                )));
            }
            let permissions = ctx.store.effective_permissions(user.id).await?;
            let owner = Principal { user, permissions };
            let reg = client_apps::Registration {
                name,
                description,
                redirect_urls,
                public: Some(public),
                grant_types: (!grant_types.is_empty()).then_some(grant_types),
                scopes: (!scopes.is_empty()).then_some(scopes),
                oidc: Default::default(),
                token_exchange_policy: None,
            };
            let out = client_apps::register(&ctx, &owner, reg).await?;
            let app = out.app;
            let mut v = json!({
                "id": app.id,
                "name": app.name,
                "clientId": app.client_id,
                "public": app.public,
                "redirectUrls": app.redirect_urls,
                "grantTypes": app.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                "scopes": app.scopes,
            });
            if let Some(secret) = out.secret {
                v["clientSecret"] = Value::from(secret.expose());
            }
            Ok(v)
        }
    }
}
