//! `portcullis copy --from sqlite://portcullis.db --to postgres://…`: moves a whole
//! installation from SQLite into a new, empty PostgreSQL database, so that it can grow
//! from one machine to several nodes sharing that database.
//!
//! The reading is [`portcullis_store_sqlite::copy`]'s (one read transaction, the
//! server stopped), the writing and checking [`portcullis_store_postgres::copy`]'s (one
//! transaction: migrations, rows, sequences, per-table count and checksum). What is
//! this command's: the master key. Sealed values are copied byte for byte, so the
//! PostgreSQL nodes need the key the SQLite installation was sealed with; before
//! anything is written, the configured key (as `serve` finds it: `master_key`,
//! `PORTCULLIS_MASTER_KEY`, or the key file beside the SQLite database, never created
//! here) must open the source's sealed values — the signing keys and the verifier
//! pepper. The output names the key to give the new nodes; it never prints it.

use super::common::{invalid, AdminError};
use crate::config::Config;
use portcullis_core::crypto::{Keyring, MasterKey};
use portcullis_core::model::signing_key::sealing_purpose;
use portcullis_store_sqlite::copy::{Cell, CopyError, Snapshot};
use portcullis_store_sqlite::database_file;
use serde_json::{json, Value};

impl From<CopyError> for AdminError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Invalid(m) => AdminError::Invalid(m),
            CopyError::Failed(m) => AdminError::Failed(m),
        }
    }
}

/// The keyring the source was sealed with, as `serve` on the source would load it,
/// except that a missing key file is an error here (never created), and where it
/// came from, in words.
fn source_keyring(config: &Config, from: &str) -> Result<(Keyring, String), AdminError> {
    let parse = |text: &str, what: &str| {
        MasterKey::parse(text).map_err(|e| invalid(format!("{what} is not a master key: {e}")))
    };
    let (primary, location) = match &config.master_key {
        Some(k) => (
            parse(k, "the configured master key")?,
            "the configured master key (PORTCULLIS_MASTER_KEY or master_key)".to_owned(),
        ),
        None => {
            let db = database_file(from).ok_or_else(|| {
                invalid(format!(
                    "the source must be a SQLite database file (sqlite://<file>), not {from}"
                ))
            })?;
            let path = config
                .master_key_file
                .clone()
                .unwrap_or_else(|| db.with_extension("key"));
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(format!(
                    "cannot read the master key file {} ({e}): set PORTCULLIS_MASTER_KEY (or master_key_file) to the key this installation was created with",
                    path.display()
                ))
            })?;
            (
                parse(&text, &format!("the key file {}", path.display()))?,
                format!("the key file {}", path.display()),
            )
        }
    };
    let previous = config
        .previous_master_keys
        .iter()
        .map(|k| parse(k, "an entry of previous_master_keys"))
        .collect::<Result<_, _>>()?;
    Ok((Keyring::new(primary, previous), location))
}

/// The sealed values of the source the keyring must open: every signing key's
/// private key and the server secrets (the verifier pepper), with their purposes.
fn sealed_values(snapshot: &Snapshot) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let text = |c: Option<&Cell>| match c {
        Some(Cell::Text(s)) => Some(s.clone()),
        _ => None,
    };
    if let Some(t) = snapshot.table("signing_keys") {
        if let (Some(kid), Some(sealed)) = (t.column("kid"), t.column("private_sealed")) {
            for row in &t.rows {
                if let (Some(k), Some(s)) = (text(row.get(kid)), text(row.get(sealed))) {
                    out.push((format!("signing key {k}"), s, sealing_purpose(&k)));
                }
            }
        }
    }
    if let Some(t) = snapshot.table("server_secrets") {
        if let (Some(name), Some(value)) = (t.column("name"), t.column("value")) {
            for row in &t.rows {
                if let (Some(n), Some(v)) = (text(row.get(name)), text(row.get(value))) {
                    out.push((format!("server secret {n}"), v, n));
                }
            }
        }
    }
    out
}

/// `portcullis copy --from <sqlite> --to <postgres>`.
pub async fn copy(config: &Config, from: &str, to: &str) -> Result<Value, AdminError> {
    if database_file(from).is_none() {
        return Err(invalid(format!(
            "--from must name a SQLite database file (sqlite://<file>), not {from}"
        )));
    }
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(invalid(
            "--to must name a PostgreSQL database (postgres://user:password@host/database)",
        ));
    }
    // The key first: a wrong key is refused before anything is read or written.
    let (keyring, location) = source_keyring(config, from)?;
    let snapshot = portcullis_store_sqlite::copy::read(from).await?;
    for (what, sealed, purpose) in sealed_values(&snapshot) {
        if keyring.open(&sealed, &purpose).is_err() {
            return Err(invalid(format!(
                "the master key does not open this installation's sealed values ({what} cannot be opened with {location}); give the key it was created with (PORTCULLIS_MASTER_KEY, or the key file beside the database); nothing was written"
            )));
        }
    }
    let report = portcullis_store_postgres::copy::write(to, &snapshot).await?;
    // The report for people, on stderr; stdout stays one JSON document.
    eprintln!("{:<28} {:>8}  sha256 (source = target)", "table", "rows");
    for t in &report.tables {
        eprintln!("{:<28} {:>8}  {}", t.table, t.target.rows, t.target.sha256);
    }
    let tables: Vec<Value> = report
        .tables
        .iter()
        .map(|t| {
            json!({
                "table": t.table,
                "rows": t.target.rows,
                "sha256": t.target.sha256,
            })
        })
        .collect();
    Ok(json!({
        "copied": {
            "schemaVersion": report.schema_version,
            "tables": tables,
            "rows": report.tables.iter().map(|t| t.target.rows).sum::<u64>(),
        },
        "masterKey": format!(
            "the sealed values were copied unchanged: every node on the new database needs {location} as PORTCULLIS_MASTER_KEY"
        ),
        "next": "point database_url at the PostgreSQL database on every node and start them; keep the SQLite file until the new nodes serve",
    }))
}
