//! What the admin commands share: opening the database as `serve` does, their error
//! type and exit codes, finding a tenant or user named on the command line, reading a
//! password, and printing the result.
//!
//! Results are printed to stdout as one JSON object, so scripts can read them;
//! generated secrets appear there once and never in the log. Exit codes: 0 success,
//! 1 runtime failure (database, master key…), 2 bad input (invalid value, unknown
//! tenant, user or role, name already taken). A rule broken in core answers core's
//! message, the one the API gives, with exit code 2.

use crate::config::Config;
use crate::startup::{prepare, StartupError};
use clap::Args;
use portcullis_core::clock::SystemClock;
use portcullis_core::context::Context;
use portcullis_core::crypto::Secret;
use portcullis_core::error::{ApiFailure, Kind};
use portcullis_core::model::identity::input;
use portcullis_core::model::identity::{Tenant, User, SYSTEM_TENANT_ID};
use portcullis_core::store::StoreError;
use serde_json::Value;
use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

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

pub(crate) fn invalid(msg: impl Into<String>) -> AdminError {
    AdminError::Invalid(msg.into())
}

/// Prints an admin command's result (stdout) or its error (stderr); the exit code.
pub fn report(result: Result<Value, AdminError>) -> ExitCode {
    match result {
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

/// Opens and prepares the database as `serve` does ([`crate::startup::prepare`]).
pub(crate) async fn open(config: &Config) -> Result<Context, AdminError> {
    let (mut ctx, generated) = prepare(config, Arc::new(SystemClock)).await?;
    // No background writer runs here: each event is written as it is recorded.
    ctx.audit = portcullis_core::audit::Audit::immediate(ctx.store.clone())
        .skipping(config.audit_skip_types().unwrap_or_default());
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

/// The password from stdin (checked against core's policy), or a generated one; the
/// flag says whether it was generated (and is to be printed).
pub(crate) fn password(login: &str, from_stdin: bool) -> Result<(Secret, bool), AdminError> {
    if !from_stdin {
        // A random password may, rarely, contain a short login name, which core's
        // policy refuses: draw again rather than fail.
        for _ in 0..16 {
            let generated = Secret::generate();
            if input::check_password(login, generated.expose()).is_ok() {
                return Ok((generated, true));
            }
        }
        return Err(AdminError::Failed(
            "could not generate a password the policy accepts; use --password-stdin".into(),
        ));
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
    input::check_password(login, line)?;
    Ok((Secret::new(line), false))
}

/// The tenant named `name`, or the system tenant.
pub(crate) async fn tenant(ctx: &Context, name: Option<&str>) -> Result<Tenant, AdminError> {
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

/// The user a command names, with their tenant.
pub(crate) async fn user(ctx: &Context, who: &UserRef) -> Result<(Tenant, User), AdminError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_exits_2_and_runtime_failures_1() {
        assert_eq!(invalid("x").exit_code(), 2);
        assert_eq!(AdminError::Failed("x".into()).exit_code(), 1);
        assert_eq!(
            AdminError::Store(StoreError::Backend("x".into())).exit_code(),
            1
        );
        let core = ApiFailure::invalid_field("name", "must not be empty");
        assert_eq!(AdminError::from(core).exit_code(), 2);
    }

    #[test]
    fn generated_passwords_pass_the_policy_even_for_a_short_login() {
        // "abc" sits in about one random password in a thousand; none may come out.
        for _ in 0..2000 {
            let (pw, generated) = password("abc", false).expect("generated");
            assert!(generated);
            assert!(input::check_password("abc", pw.expose()).is_ok());
        }
    }
}
