//! `portcullis backup <file>` and `portcullis restore <file>`: a consistent copy of a
//! SQLite installation's database while the server serves, and putting one back
//! (the work is [`portcullis_store_sqlite::backup`]'s). What is theirs here: refusing
//! PostgreSQL with a pointer to `pg_dump`, and saying where the master key lives — the
//! other thing to keep, without which the sealed secrets in a backup cannot be opened.
//! The key itself is never printed.

use super::common::{invalid, AdminError};
use crate::config::Config;
use portcullis_store_sqlite::backup::{self, FileError, Written};
use portcullis_store_sqlite::database_file;
use serde_json::{json, Value};
use std::path::Path;

impl From<FileError> for AdminError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Invalid(m) => AdminError::Invalid(m),
            FileError::Failed(m) => AdminError::Failed(m),
        }
    }
}

/// The refusal for a database that is not a SQLite file.
fn sqlite_only(config: &Config, command: &str) -> AdminError {
    if config.database_url.starts_with("postgres") {
        invalid(format!(
            "{command} is for SQLite installations; for PostgreSQL use pg_dump (e.g. `pg_dump --format=custom`) and pg_restore, and keep the master key (PORTCULLIS_MASTER_KEY) with the dump: the sealed secrets in it cannot be opened without it"
        ))
    } else {
        invalid(format!(
            "{command} needs a SQLite database file (database_url sqlite://<file>), not {}",
            config.database_url
        ))
    }
}

/// Where the master key of this configuration lives, in words (never the key).
fn master_key_location(config: &Config) -> String {
    let previous = if config.previous_master_keys.is_empty() {
        String::new()
    } else {
        " (and the previous_master_keys still configured)".to_owned()
    };
    match (&config.master_key, database_file(&config.database_url)) {
        (Some(_), _) => format!(
            "the configured master key (PORTCULLIS_MASTER_KEY or master_key in the configuration file){previous}"
        ),
        (None, Some(db)) => {
            let file = config
                .master_key_file
                .clone()
                .unwrap_or_else(|| db.with_extension("key"));
            format!("the key file {}{previous}", file.display())
        }
        (None, None) => "the configured master key".to_owned(),
    }
}

fn written(w: &Written) -> Value {
    json!({
        "file": w.path.display().to_string(),
        "bytes": w.bytes,
        "schemaVersion": w.schema_version,
    })
}

/// `portcullis backup <file>`.
pub async fn backup(config: &Config, target: &Path) -> Result<Value, AdminError> {
    if database_file(&config.database_url).is_none() {
        return Err(sqlite_only(config, "backup"));
    }
    let w = backup::backup(&config.database_url, target).await?;
    let key = master_key_location(config);
    Ok(json!({
        "backup": written(&w),
        "masterKey": key,
        "keepAlso": format!(
            "Keep {key} as well, stored apart from the backup: the backup is useless without it (the secrets in it are sealed with it)."
        ),
    }))
}

/// `portcullis restore <file>`.
pub async fn restore(config: &Config, source: &Path) -> Result<Value, AdminError> {
    if database_file(&config.database_url).is_none() {
        return Err(sqlite_only(config, "restore"));
    }
    let w = backup::restore(source, &config.database_url).await?;
    Ok(json!({
        "restored": written(&w),
        "from": source.display().to_string(),
        "masterKey": format!(
            "the server opens the sealed secrets with {}: it must be the key the backup was made with",
            master_key_location(config)
        ),
    }))
}
