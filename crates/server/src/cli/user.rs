//! `portcullis user create|set-password|unlock|set-profile`: the command line names a
//! tenant and roles by name, a user by login, reads or generates the password and takes
//! the optional profile (`--display-name`, `--email`, …, `--clear FIELD`); then
//! [`portcullis_core::mgmt::users`] does the work as the operator, with the API's
//! rules (login and password policy, roles of the tenant, unique logins, Argon2id).

use super::common::{invalid, open, password, tenant, user, AdminError, UserRef};
use crate::config::Config;
use clap::{Args, Subcommand, ValueEnum};
use portcullis_core::actor::Operator;
use portcullis_core::mgmt::users::{self, CreateUser};
use portcullis_core::model::identity::input;
use portcullis_core::model::identity::profile::ProfileChanges;
use portcullis_core::model::identity::RoleAssignments;
use serde_json::{json, Value};

/// The role a new user gets when none is named.
pub const DEFAULT_ROLE: &str = "User";

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
        #[command(flatten)]
        profile: ProfileArgs,
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
    /// Set or clear a user's profile fields; those not named stay. Prints the user.
    SetProfile {
        #[command(flatten)]
        who: UserRef,
        #[command(flatten)]
        profile: ProfileArgs,
        /// A field to clear (repeatable).
        #[arg(long, value_enum, value_name = "FIELD")]
        clear: Vec<ProfileField>,
    },
}

/// A profile field, as `--clear` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileField {
    DisplayName,
    GivenName,
    FamilyName,
    Email,
    EmailVerified,
    Locale,
}

/// The optional profile of a new user (the OpenID Connect standard claims), checked
/// with the API's rules.
#[derive(Debug, Default, Args)]
pub struct ProfileArgs {
    /// Full name for display (the `name` claim; at most 256 characters).
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// Given name (at most 256 characters).
    #[arg(long, value_name = "NAME")]
    pub given_name: Option<String>,
    /// Family name (at most 256 characters).
    #[arg(long, value_name = "NAME")]
    pub family_name: Option<String>,
    /// E-mail address (name@domain).
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// Vouch that the user's e-mail address is theirs (`emailVerified` true; a new
    /// --email without it is unverified).
    #[arg(long)]
    pub email_verified: bool,
    /// BCP 47 language tag, such as en or en-US.
    #[arg(long, value_name = "TAG")]
    pub locale: Option<String>,
}

impl From<ProfileArgs> for ProfileChanges {
    fn from(a: ProfileArgs) -> Self {
        Self {
            name: a.display_name.map(Some),
            given_name: a.given_name.map(Some),
            family_name: a.family_name.map(Some),
            email: a.email.map(Some),
            email_verified: a.email_verified.then_some(Some(true)),
            locale: a.locale.map(Some),
        }
    }
}

/// `profile`'s changes with the `clear`ed fields cleared; a field both set and cleared
/// is refused.
fn profile_changes(
    profile: ProfileArgs,
    clear: &[ProfileField],
) -> Result<ProfileChanges, AdminError> {
    let mut changes = ProfileChanges::from(profile);
    for field in clear {
        // Each arm clears the field and says whether an option had set it.
        let (was_set, name) = match field {
            ProfileField::DisplayName => (
                changes.name.replace(None).flatten().is_some(),
                "display-name",
            ),
            ProfileField::GivenName => (
                changes.given_name.replace(None).flatten().is_some(),
                "given-name",
            ),
            ProfileField::FamilyName => (
                changes.family_name.replace(None).flatten().is_some(),
                "family-name",
            ),
            ProfileField::Email => (changes.email.replace(None).flatten().is_some(), "email"),
            ProfileField::EmailVerified => (
                changes.email_verified.replace(None).flatten().is_some(),
                "email-verified",
            ),
            ProfileField::Locale => (changes.locale.replace(None).flatten().is_some(), "locale"),
        };
        if was_set {
            return Err(invalid(format!(
                "--{name} and --clear {name} contradict each other; give one"
            )));
        }
    }
    Ok(changes)
}

/// What a command prints about a user: who they are and the profile fields set.
fn printed(view: users::UserView) -> Value {
    let mut out = json!({
        "id": view.user.id,
        "userName": view.user.login,
        "tenantId": view.user.tenant_id,
        "tenantName": view.tenant_name,
        "roles": view.assignments.roles,
    });
    let p = view.user.profile;
    for (key, value) in [
        ("displayName", p.name),
        ("givenName", p.given_name),
        ("familyName", p.family_name),
        ("email", p.email.clone()),
        ("locale", p.locale),
    ] {
        if let Some(v) = value {
            out[key] = Value::from(v);
        }
    }
    if p.email.is_some() {
        out["emailVerified"] = Value::from(p.email_verified);
    }
    out
}

/// Runs a user command and returns what it prints.
pub async fn execute(config: &Config, command: UserCommand) -> Result<Value, AdminError> {
    let operator = Operator::at_console();
    match command {
        UserCommand::Create {
            who,
            roles,
            password_stdin,
            profile,
        } => {
            // Checked before the database is opened, with core's rule.
            input::check_login(&who.login)?;
            let (password, generated) = password(&who.login, password_stdin)?;
            let ctx = open(config).await?;
            let tenant = tenant(&ctx, who.tenant.as_deref()).await?;
            let role_ids = role_ids(&ctx, &tenant, &roles).await?;
            let create = CreateUser {
                login: who.login,
                tenant_id: Some(tenant.id),
                active: true,
                password: password.expose().to_owned(),
                password_status: None,
                password_expiration: None,
                assignments: RoleAssignments {
                    roles: role_ids,
                    permissions: Vec::new(),
                },
                profile: profile.into(),
            };
            let view = users::create(&ctx, operator, create).await?;
            let mut out = printed(view);
            if generated {
                out["password"] = Value::from(password.expose());
            }
            Ok(out)
        }
        UserCommand::SetPassword {
            who,
            password_stdin,
        } => {
            let (password, generated) = password(&who.login, password_stdin)?;
            let ctx = open(config).await?;
            let (tenant, user) = user(&ctx, &who).await?;
            users::set_password(&ctx, operator, user.id, password.expose(), None, false).await?;
            let mut out = json!({"id": user.id, "userName": user.login, "tenantName": tenant.name});
            if generated {
                out["password"] = Value::from(password.expose());
            }
            Ok(out)
        }
        UserCommand::SetProfile {
            who,
            profile,
            clear,
        } => {
            let changes = profile_changes(profile, &clear)?;
            let ctx = open(config).await?;
            let (_, user) = user(&ctx, &who).await?;
            let view = users::set_profile(&ctx, operator, user.id, changes).await?;
            Ok(printed(view))
        }
        UserCommand::Unlock { who } => {
            let ctx = open(config).await?;
            let (tenant, user) = user(&ctx, &who).await?;
            let was_locked = user.lock_at(ctx.now()).is_some();
            users::unlock(&ctx, operator, user.id).await?;
            Ok(json!({
                "id": user.id,
                "userName": user.login,
                "tenantName": tenant.name,
                "wasLocked": was_locked,
            }))
        }
    }
}

/// The ids of the roles named by id or name (default [`DEFAULT_ROLE`]), each once.
async fn role_ids(
    ctx: &portcullis_core::context::Context,
    tenant: &portcullis_core::model::identity::Tenant,
    roles: &[String],
) -> Result<Vec<i64>, AdminError> {
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
    let mut ids = Vec::new();
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
        if !ids.contains(&role.id) {
            ids.push(role.id);
        }
    }
    Ok(ids)
}
