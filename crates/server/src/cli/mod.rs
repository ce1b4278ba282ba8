//! The command line: `portcullis [serve]`, `migrate`, `check-config`, and the admin
//! commands `tenant`, `user`, `client`, `resource`, `keys`, `master-key` (one module each),
//! `backup`/`restore` of a SQLite installation ([`backup`]), and `copy` of one into
//! PostgreSQL ([`copy`]). Exit codes: 0 success,
//! 1 runtime failure (database, bind…), 2 bad configuration, usage or input.
//!
//! The admin commands work directly on the configured database (no HTTP, no
//! credentials): for bootstrapping a server, for recovery (an administrator who locked
//! themselves out) and for operations (rotating the token signing keys). They open the
//! database as `serve` does and call the same use cases of `portcullis_core::mgmt` as
//! the API, as the operator ([`portcullis_core::actor::Operator`]): every permission,
//! the same rules and defaults. What is theirs is the translation of the command line
//! (tenant and role names, generated passwords) and the output ([`common`]).

pub mod backup;
pub mod client;
pub mod common;
pub mod copy;
pub mod keys;
pub mod master_key;
pub mod resource;
pub mod tenant;
pub mod user;

use self::client::ClientCommand;
use self::common::report;
use self::keys::KeysCommand;
use self::master_key::MasterKeyCommand;
use self::resource::ResourceCommand;
use self::tenant::TenantCommand;
use self::user::UserCommand;
use crate::config::{Config, ConfigError, LogFormat, Overrides};
use crate::startup::{open_store, Application};
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "OAuth 2.0 authorization server speaking Hybrid Data Pipeline's API"
)]
pub struct Cli {
    /// Configuration file (default: portcullis.toml when present).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address:port to listen on (default 127.0.0.1:8080).
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// sqlite://file or postgres://… (default sqlite://portcullis.db).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Externally visible base URL (the token issuer).
    #[arg(long, global = true)]
    pub public_url: Option<String>,
    /// PEM certificate chain to serve HTTPS with (needs --tls-key).
    #[arg(long, global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, global = true)]
    pub tls_key: Option<PathBuf>,
    /// Log format: text (default) or json, one JSON object a line.
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Load and validate the configuration, print it (secrets hidden) and exit.
    CheckConfig,
    /// Create tenants, straight in the configured database.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Create users, set passwords, unlock accounts, straight in the configured database.
    #[command(subcommand)]
    User(UserCommand),
    /// Register client applications, straight in the configured database.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Register, list, show, update and delete resource servers (RFC 8707), straight
    /// in the configured database.
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Rotate or list the token signing keys (ES256, RS256), straight in the configured database.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Which master keys seal the stored secrets, and re-sealing them all with the
    /// primary one after a rotation (`status`, `reseal`).
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Copy the SQLite database, consistently, while the server serves, into a new file;
    /// says where the master key lives (keep it too, apart from the backup).
    Backup {
        /// The file to write (must not exist).
        file: PathBuf,
    },
    /// Replace the SQLite database with a backup (the server must be stopped).
    Restore {
        /// The backup to restore.
        file: PathBuf,
    },
    /// Move a SQLite installation (stopped) into a new, empty PostgreSQL database:
    /// every table, sealed values unchanged, checked row by row.
    Copy {
        /// The SQLite database to copy (sqlite://portcullis.db).
        #[arg(long)]
        from: String,
        /// The empty PostgreSQL database to fill (postgres://user:password@host/db).
        #[arg(long)]
        to: String,
    },
}

fn load(cli: &Cli) -> Result<Config, ConfigError> {
    Config::load(
        cli.config.as_deref(),
        std::env::vars(),
        Overrides {
            listen: cli.listen.clone(),
            database_url: cli.database_url.clone(),
            public_url: cli.public_url.clone(),
            tls_cert: cli.tls_cert.clone(),
            tls_key: cli.tls_key.clone(),
            log_format: cli.log_format.clone(),
        },
    )
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    // Colours only on a terminal: in a file or a log collector they are escape codes
    // in the middle of `key=value` pairs.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn fail(e: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        eprintln!("  caused by: {s}");
        source = s.source();
    }
    ExitCode::from(1)
}

/// Runs the command line; returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let config = match load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            if let Err(e) = crate::startup::check_keys(&config) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{config:#?}");
            ExitCode::SUCCESS
        }
        Command::Tenant(c) => report(tenant::execute(&config, c).await),
        Command::User(c) => report(user::execute(&config, c).await),
        Command::Client(c) => report(client::execute(&config, c).await),
        Command::Resource(c) => report(resource::execute(&config, c).await),
        Command::Keys(c) => report(keys::execute(&config, c).await),
        Command::MasterKey(c) => report(master_key::execute(&config, c).await),
        Command::Backup { file } => report(backup::backup(&config, &file).await),
        Command::Restore { file } => report(backup::restore(&config, &file).await),
        Command::Copy { from, to } => report(copy::copy(&config, &from, &to).await),
        Command::Migrate => {
            match open_store(&config.database_url).await {
                Ok(_) => {
                    println!("the database schema is up to date (pending migrations, if any, were applied)");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Serve => {
            let scheme = config.scheme();
            let app = match Application::build(config).await {
                Ok(a) => a,
                Err(e) => return fail(&e),
            };
            if let Some(pw) = app.generated_admin_password() {
                // Printed once to the terminal, never to the log.
                println!(
                    "Created the initial administrator.\n  user name: admin\n  password:  {}\nStore it now: it is not shown again. (Set PORTCULLIS_ADMIN_PASSWORD to choose it.)",
                    pw.expose()
                );
            }
            println!("Portcullis listening on {scheme}://{}", app.local_addr());
            match app.run_until(crate::startup::shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read the source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The operator acts with every permission; only the console may be the operator.
    #[test]
    fn no_http_handler_can_act_as_the_operator() {
        let http = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut files = Vec::new();
        sources(&http, &mut files);
        assert!(files.len() > 5, "found the http sources");
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read a source file");
            assert!(
                !text.contains("Operator"),
                "{} mentions the operator actor",
                f.display()
            );
        }
    }
}
