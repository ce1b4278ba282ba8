//! The target side of `portcullis copy`: writes a [`Snapshot`] read from SQLite into an
//! empty PostgreSQL database, all in ONE transaction — the migrations, the rows, the
//! sequences and the check — so that either the whole installation lands or the target
//! is left as it was.
//!
//! Nothing here names a table. In order:
//! 1. The target must be empty: no row in any table but sqlx's `_sqlx_migrations` and
//!    the tables the migrations themselves fill (found in the migrations' SQL, e.g.
//!    `cache_generation`, whose rows are replaced by the source's).
//! 2. This binary's migrations run (in the transaction), so the target ends at the
//!    version the source has.
//! 3. The target's columns and types are read from `information_schema`; the source's
//!    tables and columns must be the same (same names) and each value is converted to
//!    its column's type: integers to `bigint`/`integer`/`smallint`, SQLite's 0/1 to
//!    `boolean`, text to `text`/`json`/`varchar`, blobs (or text) to `bytea`, reals to
//!    `double precision`/`real`; anything else is given as text and cast by
//!    PostgreSQL. Sealed values are text and copied unchanged.
//! 4. Tables are filled parents first (the foreign keys of `pg_constraint`), with every
//!    deferred trigger and constraint made immediate, and the migration-filled tables
//!    last (their triggers — the cache generation's — fire while the others are filled;
//!    filled last, they hold exactly the source's values).
//! 5. Every sequence of a column (identity or serial) is set past the largest copied
//!    value.
//! 6. Each table is read back and its row count and checksum
//!    ([`portcullis_store_sql::copy::checksum`]) compared with the source's; any
//!    difference rolls everything back.

mod rows;
mod schema;

use portcullis_store_sql::copy::{checksum, CopyError, Snapshot, TableSum};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};
use std::collections::BTreeSet;
use std::str::FromStr as _;
use std::time::Duration;

/// One table's outcome: the source's and the target's count and checksum (equal, or
/// the copy fails).
#[derive(Debug, Clone)]
pub struct Copied {
    /// The table.
    pub table: String,
    /// Row count and checksum of the table as read from the source.
    pub source: TableSum,
    /// The same, read back from the target before commit.
    pub target: TableSum,
}

/// What the copy did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The schema version of the target after the copy.
    pub schema_version: i64,
    /// Per table, in the order they were filled.
    pub tables: Vec<Copied>,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn failed(e: impl std::fmt::Display) -> CopyError {
    CopyError::Failed(format!("the target database failed: {e}"))
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            match user.split_once(':') {
                Some((name, _)) => format!("{}{name}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The tables this binary's migrations fill (`INSERT INTO name`), lowercased.
fn seeded_by_migrations() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in crate::MIGRATOR.iter() {
        let sql = m.sql.to_ascii_lowercase();
        let mut rest = sql.as_str();
        while let Some(at) = rest.find("insert into ") {
            rest = &rest[at + "insert into ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The transaction-level advisory lock a copy holds on its target ("portcull" in ASCII).
const COPY_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// The newest migration this binary knows.
pub fn latest_migration() -> i64 {
    crate::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Copies `source` into the empty PostgreSQL database at `url`.
pub async fn write(url: &str, source: &Snapshot) -> Result<Report, CopyError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(CopyError::Invalid(format!(
            "the target must be a PostgreSQL database (postgres://…), not {}",
            redacted(url)
        )));
    }
    if source.schema_version != latest_migration() {
        return Err(CopyError::Invalid(format!(
            "the source is at schema version {}, this binary's PostgreSQL migrations end at {}",
            source.schema_version,
            latest_migration()
        )));
    }
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        CopyError::Invalid(format!(
            "the target URL {} is not valid: {e}",
            redacted(url)
        ))
    })?;
    let connect = tokio::time::timeout(Duration::from_secs(15), options.connect()).await;
    let mut conn = match connect {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return Err(CopyError::Failed(format!(
                "cannot connect to the target database {}: {e}",
                redacted(url)
            )))
        }
        Err(_) => {
            return Err(CopyError::Failed(format!(
                "cannot connect to the target database {}: no answer within 15 seconds",
                redacted(url)
            )))
        }
    };
    let mut tx = conn.begin().await.map_err(failed)?;
    let copied = fill(&mut tx, source).await;
    let report = match copied {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.rollback().await;
            let _ = conn.close().await;
            return Err(e);
        }
    };
    tx.commit().await.map_err(failed)?;
    let _ = conn.close().await;
    Ok(report)
}

async fn fill(conn: &mut PgConnection, source: &Snapshot) -> Result<Report, CopyError> {
    let seeded = seeded_by_migrations();
    // Two copies into one target at once: the second waits here for the first to end,
    // then finds it filled (refused) or still empty (rolled back).
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(COPY_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    // 1. Empty?
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    let mut occupied = Vec::new();
    for t in &existing {
        if t == "_sqlx_migrations" || seeded.contains(t) {
            continue;
        }
        let any: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(t)))
            .fetch_one(&mut *conn)
            .await
            .map_err(failed)?;
        if any {
            occupied.push(t.clone());
        }
    }
    if !occupied.is_empty() {
        return Err(CopyError::Invalid(format!(
            "the target database is not empty (rows in {}): copy only into a new, empty database; nothing was changed",
            occupied.join(", ")
        )));
    }
    // 2. Migrations, inside this transaction (PostgreSQL's DDL is transactional).
    crate::MIGRATOR
        .run_direct(&mut *conn)
        .await
        .map_err(|e| CopyError::Failed(format!("the target's migrations failed: {e}")))?;
    sqlx::query("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    // 3. The target's schema, against the source's.
    let columns = schema::target_columns(conn).await?;
    let target_tables: BTreeSet<&String> = columns.keys().collect();
    let source_tables: BTreeSet<&String> = source.tables.iter().map(|t| &t.name).collect();
    if target_tables != source_tables {
        let only_source: Vec<_> = source_tables.difference(&target_tables).collect();
        let only_target: Vec<_> = target_tables.difference(&source_tables).collect();
        return Err(CopyError::Invalid(format!(
            "the source's tables do not match this version's schema (only in the source: {only_source:?}; only in the target: {only_target:?})"
        )));
    }
    let order = schema::fill_order(conn, &columns, &seeded).await?;
    for name in seeded.iter().filter(|n| columns.contains_key(*n)) {
        sqlx::query(&format!("DELETE FROM {}", quoted(name)))
            .execute(&mut *conn)
            .await
            .map_err(failed)?;
    }
    // 4. The rows.
    let mut tables = Vec::new();
    for name in &order {
        let Some(table) = source.table(name) else {
            continue;
        };
        let target = schema::matched_columns(table, &columns[name])?;
        rows::insert(conn, table, &target).await?;
        tables.push((table, target));
    }
    // 5. Sequences.
    rows::advance_sequences(conn).await?;
    // 6. Read back, compare.
    let mut report = Vec::new();
    let mut differ = Vec::new();
    for (table, target) in tables {
        let from = checksum(&table.key, &table.rows);
        let back = rows::read_back(conn, table, &target).await?;
        let to = checksum(&table.key, &back);
        if from != to {
            differ.push(format!(
                "{} (source {} rows {}, target {} rows {})",
                table.name, from.rows, from.sha256, to.rows, to.sha256
            ));
        }
        report.push(Copied {
            table: table.name.clone(),
            source: from,
            target: to,
        });
    }
    if !differ.is_empty() {
        return Err(CopyError::Failed(format!(
            "the copy does not match the source in {}; nothing was committed",
            differ.join(", ")
        )));
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(failed)?;
    Ok(Report {
        schema_version: version.unwrap_or(0),
        tables: report,
    })
}

#[cfg(test)]
mod tests;
