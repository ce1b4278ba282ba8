//! Administration from the command line, working directly on the configured database
//! (no HTTP, no credentials): `portcullis tenant create`, `portcullis user
//! create|set-password|unlock`, `portcullis client register`, `portcullis keys
//! rotate|list`. For bootstrapping a server, for recovery (an administrator who locked
//! themselves out) and for operations (rotating the token signing keys).
//!
//! The database is opened, migrated and prepared exactly as `serve` does
//! ([`crate::startup::prepare`]), and the commands reuse the core's rules: login and
//! password policy ([`portcullis_core::mgmt::users`]), Argon2id hashing, and
//! registration through [`portcullis_core::mgmt::client_apps::register`] as the owner.
//! The operator is trusted: no permission is checked.
//!
//! Results are printed to stdout as one JSON object, so scripts can read them;
//! generated secrets appear there once and never in the log. Exit codes: 0 success,
//! 1 runtime failure (database, master key…), 2 bad input (invalid value, unknown
//! tenant, user or role, name already taken).

use crate::config::Config;
use crate::startup::{prepare, StartupError};
use clap::{Args, Subcommand};
use portcullis_core::auth::Principal;
use portcullis_core::clock::SystemClock;
use portcullis_core::context::Context;
use portcullis_core::crypto::Secret;
use portcullis_core::error::{ApiFailure, Kind};
use portcullis_core::identity::{NewTenant, NewUser, Tenant, User, SYSTEM_TENANT_ID};
use portcullis_core::mgmt::{client_apps, users};
use portcullis_core::oauth::keys::{self, KeyError};
use portcullis_core::store::StoreError;
use serde_json::{json, Value};
use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

/// Roles copied into a new tenant when none are named: Administrator, User and Tenant
/// Administrator (HDP's `importedRoles`, renumbered in the tenant).
pub const DEFAULT_IMPORTED_ROLES: &[i64] = &[1, 2, 3];
/// The role a new user gets when none is named.
pub const DEFAULT_ROLE: &str = "User";
/// Longest accepted tenant name and description.
const MAX_TENANT_NAME: usize = 128;
const MAX_DESCRIPTION: usize = 256;

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
        /// default 1, 2 and 3: Administrator, User, Tenant Administrator).
        #[arg(long = "import-role", value_name = "ROLE_ID")]
        import_roles: Vec<i64>,
    },
}

/// Which user a command is about.
#[derive(Debug, Args)]
pub struct UserRef {
    /// The user's login name.
    #[arg(long)]
    pub login: String,
    /// The user's tenant, by name (default: the system tenant).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

/// `portcullis user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints it, with the password when it was generated.
    Create {
        #[command(flatten)]
        who: UserRef,
        /// A role of the tenant, by id or name (repeatable; default: the tenant's
        /// "User" role).
        #[arg(long = "role", value_name = "ID|NAME")]
        roles: Vec<String>,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (and end any lock); prints the password when generated.
    SetPassword {
        #[command(flatten)]
        who: UserRef,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// End a user's lock after failed sign-ins and forget counted failures.
    Unlock {
        #[command(flatten)]
        who: UserRef,
    },
}

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

/// An admin command.
#[derive(Debug)]
pub enum AdminCommand {
    Tenant(TenantCommand),
    User(UserCommand),
    Client(ClientCommand),
    Keys(KeysCommand),
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input; exit code 2.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("database error")]
    Store(#[from] StoreError),
    /// Any other runtime failure; exit code 1.
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    /// 2 for bad input, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Invalid(_) => 2,
            _ => 1,
        }
    }
}

impl From<ApiFailure> for AdminError {
    fn from(f: ApiFailure) -> Self {
        match f.kind() {
            Kind::BadRequest | Kind::NotFound | Kind::Conflict | Kind::Forbidden => {
                AdminError::Invalid(f.message)
            }
            _ => AdminError::Failed(f.message),
        }
    }
}

fn invalid(msg: impl Into<String>) -> AdminError {
    AdminError::Invalid(msg.into())
}

/// Runs an admin command; prints its result (stdout) or its error (stderr).
pub async fn run(config: &Config, command: AdminCommand) -> ExitCode {
    match execute(config, command).await {
        Ok(out) => {
            println!("{out:#}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs an admin command and returns what it prints.
pub async fn execute(config: &Config, command: AdminCommand) -> Result<Value, AdminError> {
    match command {
        AdminCommand::Tenant(TenantCommand::Create {
            name,
            description,
            hosts,
            import_roles,
        }) => {
            let name = tenant_name(&name)?;
            let description = description
                .map(|d| text("--description", &d, MAX_DESCRIPTION))
                .transpose()?;
            let hosts = hosts
                .iter()
                .map(|h| host(h))
                .collect::<Result<Vec<_>, _>>()?;
            let ctx = open(config).await?;
            create_tenant(&ctx, name, description, hosts, import_roles).await
        }
        AdminCommand::User(UserCommand::Create {
            who,
            roles,
            password_stdin,
        }) => {
            users::check_login(&who.login)?;
            let password = password(&who.login, password_stdin)?;
            let ctx = open(config).await?;
            create_user(&ctx, &who, &roles, password).await
        }
        AdminCommand::User(UserCommand::SetPassword {
            who,
            password_stdin,
        }) => {
            let password = password(&who.login, password_stdin)?;
            let ctx = open(config).await?;
            set_password(&ctx, &who, password).await
        }
        AdminCommand::User(UserCommand::Unlock { who }) => {
            let ctx = open(config).await?;
            unlock(&ctx, &who).await
        }
        AdminCommand::Client(ClientCommand::Register {
            owner,
            tenant,
            name,
            description,
            redirect_urls,
            public,
            grant_types,
            scopes,
        }) => {
            let ctx = open(config).await?;
            let who = UserRef {
                login: owner,
                tenant,
            };
            let reg = client_apps::Registration {
                name,
                description,
                redirect_urls,
                public: Some(public),
                grant_types: (!grant_types.is_empty()).then_some(grant_types),
                scopes: (!scopes.is_empty()).then_some(scopes),
            };
            register_client(&ctx, &who, reg).await
        }
        AdminCommand::Keys(KeysCommand::Rotate { force }) => {
            let ctx = open(config).await?;
            rotate_keys(&ctx, force).await
        }
        AdminCommand::Keys(KeysCommand::List) => {
            let ctx = open(config).await?;
            list_keys(&ctx).await
        }
    }
}

/// Opens and prepares the database as `serve` does.
async fn open(config: &Config) -> Result<Context, AdminError> {
    let (ctx, generated) = prepare(config, Arc::new(SystemClock)).await?;
    if let Some(pw) = generated {
        // The database was empty: `serve` would have created this account too. Shown
        // once, on stderr so that stdout stays one JSON document.
        eprintln!(
            "Created the initial administrator.\n  user name: admin\n  password:  {}\nStore it now: it is not shown again. (Set PORTCULLIS_ADMIN_PASSWORD to choose it.)",
            pw.expose()
        );
    }
    Ok(ctx)
}

/// A single-line text of at most `max` characters, without control characters.
fn text(what: &str, s: &str, max: usize) -> Result<String, AdminError> {
    let n = s.chars().count();
    if n > max {
        return Err(invalid(format!(
            "{what} is {n} characters long; at most {max} are allowed"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(s.to_owned())
}

fn tenant_name(s: &str) -> Result<String, AdminError> {
    let name = text("the tenant name", s, MAX_TENANT_NAME)?;
    if name.trim().is_empty() || name != name.trim() {
        return Err(invalid(
            "the tenant name must not be empty nor start or end with spaces",
        ));
    }
    Ok(name)
}

/// A host name (optionally with a port), lowercased.
fn host(s: &str) -> Result<String, AdminError> {
    let h = s.to_ascii_lowercase();
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (h.as_str(), None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let name_ok = !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if name_ok && port_ok {
        Ok(h)
    } else {
        Err(invalid(format!(
            "--host '{s}' is not a host name such as data.example.com (optionally with :port)"
        )))
    }
}

/// The password from stdin (checked against the policy), or a generated one.
fn password(login: &str, from_stdin: bool) -> Result<(Secret, bool), AdminError> {
    if !from_stdin {
        return Ok((Secret::generate(), true));
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| AdminError::Failed(format!("cannot read the password from stdin: {e}")))?;
    let line = input.strip_suffix('\n').unwrap_or(&input);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains('\n') {
        return Err(invalid(
            "the password on stdin must be one line (it contains a line break)",
        ));
    }
    users::check_password(login, line)?;
    Ok((Secret::new(line), false))
}

async fn hash(ctx: &Context, password: &Secret) -> Result<String, AdminError> {
    ctx.hasher
        .hash(password.expose())
        .await
        .map_err(|e| AdminError::Failed(format!("hashing the password failed: {e}")))
}

/// The tenant named `name`, or the system tenant.
async fn tenant(ctx: &Context, name: Option<&str>) -> Result<Tenant, AdminError> {
    let found = match name {
        Some(n) => ctx.store.tenant_by_name(n).await?,
        None => ctx.store.tenant(SYSTEM_TENANT_ID).await?,
    };
    found.ok_or_else(|| {
        invalid(format!(
            "there is no tenant named '{}'",
            name.unwrap_or("system")
        ))
    })
}

async fn user(ctx: &Context, who: &UserRef) -> Result<(Tenant, User), AdminError> {
    let tenant = tenant(ctx, who.tenant.as_deref()).await?;
    let user = ctx
        .store
        .user_by_login(tenant.id, &who.login)
        .await?
        .ok_or_else(|| {
            invalid(format!(
                "there is no user '{}' in tenant '{}'",
                who.login, tenant.name
            ))
        })?;
    Ok((tenant, user))
}

async fn create_tenant(
    ctx: &Context,
    name: String,
    description: Option<String>,
    hosts: Vec<String>,
    import_roles: Vec<i64>,
) -> Result<Value, AdminError> {
    let import = if import_roles.is_empty() {
        DEFAULT_IMPORTED_ROLES.to_vec()
    } else {
        import_roles
    };
    let system_roles = ctx.store.roles(SYSTEM_TENANT_ID).await?;
    if let Some(r) = import
        .iter()
        .find(|r| !system_roles.iter().any(|s| s.id == **r))
    {
        return Err(invalid(format!(
            "--import-role {r}: the system tenant has no role {r}"
        )));
    }
    // The same rules as the Tenant API: name syntax, host-name syntax, and names
    // unique ignoring case.
    let name = portcullis_core::mgmt::tenants::TenantName::parse(&name)
        .map_err(|f| invalid(f.message))?
        .into_inner();
    let hosts: Vec<String> = portcullis_core::mgmt::tenants::HostName::parse_list(&hosts)
        .map_err(|f| invalid(f.message))?
        .into_iter()
        .map(|h| h.into_inner())
        .collect();
    let lower = name.to_lowercase();
    if ctx
        .store
        .tenants()
        .await?
        .iter()
        .any(|t| t.name.to_lowercase() == lower)
    {
        return Err(invalid(format!(
            "a tenant named '{name}' already exists (names are unique, ignoring case)"
        )));
    }
    for h in &hosts {
        if let Some(t) = ctx.store.tenant_by_host(h).await? {
            return Err(invalid(format!(
                "the host name '{h}' already belongs to tenant '{}'",
                t.name
            )));
        }
    }
    let mut new = NewTenant::named(&name, ctx.now());
    new.description = description;
    new.hosts = hosts;
    new.imported_roles = import;
    let tenant = ctx.store.create_tenant(new).await.map_err(|e| match e {
        StoreError::Conflict(what) => invalid(format!(
            "the tenant name '{name}' or one of its host names is taken ({what})"
        )),
        e => e.into(),
    })?;
    let hosts = ctx.store.tenant_hosts(tenant.id).await?;
    let roles = ctx.store.roles(tenant.id).await?;
    tracing::info!(tenant = tenant.id, "tenant created from the command line");
    Ok(json!({
        "id": tenant.id,
        "name": tenant.name,
        "description": tenant.description,
        "hosts": hosts,
        "roles": roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
    }))
}

async fn create_user(
    ctx: &Context,
    who: &UserRef,
    roles: &[String],
    (password, generated): (Secret, bool),
) -> Result<Value, AdminError> {
    let tenant = tenant(ctx, who.tenant.as_deref()).await?;
    let available = ctx.store.roles(tenant.id).await?;
    let listing = || {
        available
            .iter()
            .map(|r| format!("{} {}", r.id, r.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wanted: Vec<String> = if roles.is_empty() {
        vec![DEFAULT_ROLE.to_owned()]
    } else {
        roles.to_vec()
    };
    let mut role_ids = Vec::new();
    for w in &wanted {
        let role = available
            .iter()
            .find(|r| w.parse::<i64>().is_ok_and(|id| id == r.id) || r.name.eq_ignore_ascii_case(w))
            .ok_or_else(|| {
                invalid(format!(
                    "tenant '{}' has no role '{w}'; its roles are: {}",
                    tenant.name,
                    listing()
                ))
            })?;
        if !role_ids.contains(&role.id) {
            role_ids.push(role.id);
        }
    }
    let new = NewUser::new(
        tenant.id,
        &who.login,
        hash(ctx, &password).await?,
        role_ids.clone(),
        ctx.now(),
    );
    let user = ctx.store.create_user(new).await.map_err(|e| match e {
        StoreError::Conflict(_) => invalid(format!(
            "a user named '{}' already exists in tenant '{}'",
            who.login, tenant.name
        )),
        e => e.into(),
    })?;
    tracing::info!(
        user_id = user.id,
        tenant = tenant.id,
        "user created from the command line"
    );
    let mut out = json!({
        "id": user.id,
        "userName": user.login,
        "tenantId": tenant.id,
        "tenantName": tenant.name,
        "roles": role_ids,
    });
    if generated {
        out["password"] = Value::from(password.expose());
    }
    Ok(out)
}

async fn set_password(
    ctx: &Context,
    who: &UserRef,
    (password, generated): (Secret, bool),
) -> Result<Value, AdminError> {
    let (tenant, user) = user(ctx, who).await?;
    let hash = hash(ctx, &password).await?;
    if !ctx.store.set_password(user.id, &hash, ctx.now()).await? {
        return Err(invalid(format!("user '{}' no longer exists", who.login)));
    }
    tracing::info!(user_id = user.id, "password set from the command line");
    let mut out = json!({"id": user.id, "userName": user.login, "tenantName": tenant.name});
    if generated {
        out["password"] = Value::from(password.expose());
    }
    Ok(out)
}

async fn unlock(ctx: &Context, who: &UserRef) -> Result<Value, AdminError> {
    let (tenant, user) = user(ctx, who).await?;
    let was_locked = user.lock_at(ctx.now()).is_some();
    if !ctx.store.unlock_user(user.id).await? {
        return Err(invalid(format!("user '{}' no longer exists", who.login)));
    }
    tracing::info!(
        user_id = user.id,
        was_locked,
        "user unlocked from the command line"
    );
    Ok(json!({
        "id": user.id,
        "userName": user.login,
        "tenantName": tenant.name,
        "wasLocked": was_locked,
    }))
}

async fn register_client(
    ctx: &Context,
    owner: &UserRef,
    reg: client_apps::Registration,
) -> Result<Value, AdminError> {
    let (_, user) = user(ctx, owner).await?;
    if !user.active {
        return Err(invalid(format!(
            "user '{}' is inactive and cannot own a new application",
            owner.login
        )));
    }
    let permissions = ctx.store.effective_permissions(user.id).await?;
    let principal = Principal { user, permissions };
    let out = client_apps::register(ctx, &principal, reg).await?;
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

async fn list_keys(ctx: &Context) -> Result<Value, AdminError> {
    let keys = ctx.store.signing_keys().await?;
    let listed: Vec<Value> = keys
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
        .collect();
    Ok(json!({ "keys": listed }))
}

async fn rotate_keys(ctx: &Context, force: bool) -> Result<Value, AdminError> {
    let now = ctx.now();
    if !force {
        keys::check_rotation_age(ctx.store.as_ref(), now)
            .await
            .map_err(key_error)?;
    }
    let lifetime = keys::longest_token_lifetime(ctx.store.as_ref()).await?;
    let rotated = ctx
        .signer
        .rotate(ctx.store.as_ref(), &ctx.keyring, now, lifetime)
        .await
        .map_err(key_error)?;
    let mut out = json!({
        "active": rotated.active,
        "next": rotated.next,
        "retired": rotated.retired,
        "retireAt": rfc3339(rotated.retire_at),
        "deleted": rotated.deleted,
    });
    out["keys"] = list_keys(ctx).await?["keys"].take();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_checked_and_lowercased() {
        assert_eq!(
            host("Data.Example.com").ok().as_deref(),
            Some("data.example.com")
        );
        assert_eq!(
            host("localhost:8443").ok().as_deref(),
            Some("localhost:8443")
        );
        for bad in [
            "",
            "a..b",
            "-a.com",
            "a b.com",
            "x.com:0",
            "x.com:99999",
            "http://x.com",
        ] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tenant_names_must_be_trimmed_and_short() {
        assert!(tenant_name("acme").is_ok());
        assert!(tenant_name(" acme").is_err());
        assert!(tenant_name("").is_err());
        assert!(tenant_name(&"x".repeat(129)).is_err());
        assert!(tenant_name("a\u{7}b").is_err());
    }

    #[test]
    fn bad_input_exits_2_and_runtime_failures_1() {
        assert_eq!(invalid("x").exit_code(), 2);
        assert_eq!(AdminError::Failed("x".into()).exit_code(), 1);
        assert_eq!(
            AdminError::Store(StoreError::Backend("x".into())).exit_code(),
            1
        );
    }
}
