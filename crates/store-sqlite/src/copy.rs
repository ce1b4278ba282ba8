//! The source side of `portcullis copy`: reads a whole SQLite installation into a
//! [`Snapshot`], every table of its schema but sqlx's `_sqlx_migrations`, in one read
//! transaction (a consistent snapshot; a writer could not change what is read), with
//! each value as SQLite stores it.
//!
//! Refused, before anything is read: a file that is missing, not SQLite, not a
//! Portcullis database (no migrations table), at another migration version than this
//! binary's, or open in another process (a running server: see
//! [`crate::backup`]'s in-use check). Nothing is ever written to the source; the
//! connection is read-only.

pub use portcullis_store_sql::copy::{Cell, CopyError, Snapshot, Table, TableSum};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{ConnectOptions as _, Connection as _, Row as _, TypeInfo as _, ValueRef as _};
use std::time::Duration;

/// The name SQLite gives a table in `sqlite_master` quoted for SQL.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn failed(e: impl std::fmt::Display) -> CopyError {
    CopyError::Failed(format!("cannot read the source database: {e}"))
}

/// Reads the installation at `url` (`sqlite://file`).
pub async fn read(url: &str) -> Result<Snapshot, CopyError> {
    let Some(file) = crate::database_file(url) else {
        return Err(CopyError::Invalid(format!(
            "the source must be a SQLite database file (sqlite://<file>), not {url}"
        )));
    };
    if !file.is_file() {
        return Err(CopyError::Invalid(format!(
            "there is no database file at {} (--from)",
            file.display()
        )));
    }
    let mut header = [0u8; 16];
    let head =
        std::fs::File::open(&file).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if head.is_err() || &header != b"SQLite format 3\0" {
        return Err(CopyError::Invalid(format!(
            "{} is not a SQLite database (no SQLite header)",
            file.display()
        )));
    }
    if crate::backup::in_use(&file)
        .await
        .map_err(|e| CopyError::Failed(e.to_string()))?
    {
        return Err(CopyError::Invalid(format!(
            "the database {} is in use (a server or an admin command has it open): stop the server, then copy",
            file.display()
        )));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(&file)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| CopyError::Failed(format!("cannot open {}: {e}", file.display())))?;
    let read = snapshot(&mut conn, &file).await;
    let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
    let _ = conn.close().await;
    read
}

async fn snapshot(
    conn: &mut sqlx::SqliteConnection,
    file: &std::path::Path,
) -> Result<Snapshot, CopyError> {
    // A deferred transaction takes its read snapshot at the first SELECT; everything
    // below reads that one snapshot.
    sqlx::query("BEGIN")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    if !names.iter().any(|n| n == "_sqlx_migrations") {
        return Err(CopyError::Invalid(format!(
            "{} is a SQLite database but not a Portcullis one (it has no migrations table)",
            file.display()
        )));
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(failed)?;
    let version = version.unwrap_or(0);
    let latest = crate::backup::latest_migration();
    if version != latest {
        let which = if version > latest {
            "a newer"
        } else {
            "an older"
        };
        return Err(CopyError::Invalid(format!(
            "{} is at schema version {version}, this binary's is {latest}: it comes from {which} Portcullis. Copy with the version it runs on{}",
            file.display(),
            if version < latest {
                " (or upgrade it first: `portcullis migrate` with this binary)"
            } else {
                ""
            }
        )));
    }
    let mut tables = Vec::new();
    for name in names.into_iter().filter(|n| n != "_sqlx_migrations") {
        tables.push(table(conn, name).await?);
    }
    Ok(Snapshot {
        schema_version: version,
        tables,
    })
}

/// One table: columns from `PRAGMA table_info` (in order, with their place in the
/// primary key), rows as stored.
async fn table(conn: &mut sqlx::SqliteConnection, name: String) -> Result<Table, CopyError> {
    let info = sqlx::query(&format!("PRAGMA table_info({})", quoted(&name)))
        .fetch_all(&mut *conn)
        .await
        .map_err(failed)?;
    let mut columns = Vec::new();
    let mut key: Vec<(i64, usize)> = Vec::new();
    for (i, row) in info.iter().enumerate() {
        columns.push(row.try_get::<String, _>("name").map_err(failed)?);
        let pk: i64 = row.try_get("pk").map_err(failed)?;
        if pk > 0 {
            key.push((pk, i));
        }
    }
    key.sort();
    let list = columns
        .iter()
        .map(|c| quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!("SELECT {list} FROM {}", quoted(&name)))
        .fetch_all(&mut *conn)
        .await
        .map_err(failed)?
        .iter()
        .map(|r| cells(r, columns.len()))
        .collect::<Result<_, _>>()?;
    Ok(Table {
        name,
        columns,
        key: key.into_iter().map(|(_, i)| i).collect(),
        rows,
    })
}

/// A row's values by the storage class each one has (SQLite types values, not columns).
fn cells(row: &SqliteRow, n: usize) -> Result<Vec<Cell>, CopyError> {
    (0..n)
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(failed)?;
            if raw.is_null() {
                return Ok(Cell::Null);
            }
            let class = raw.type_info().name().to_owned();
            Ok(match class.as_str() {
                "INTEGER" => Cell::Int(row.try_get(i).map_err(failed)?),
                "REAL" => Cell::Real(row.try_get(i).map_err(failed)?),
                "BLOB" => Cell::Blob(row.try_get(i).map_err(failed)?),
                _ => Cell::Text(row.try_get(i).map_err(failed)?),
            })
        })
        .collect()
}
