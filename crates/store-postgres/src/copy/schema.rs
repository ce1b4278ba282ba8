//! The target's schema as the copy needs it: each column's type class ([`Kind`]), the
//! source's columns matched to the target's, and the order tables are filled in.

use super::failed;
use portcullis_store_sql::copy::{CopyError, Table};
use sqlx::{PgConnection, Row as _};
use std::collections::{BTreeMap, BTreeSet};

/// How a column's values are given to PostgreSQL and read back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
    Float,
    /// Given as text and cast to the column's type (`json`, `timestamptz`…).
    Cast,
}

#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) name: String,
    pub(super) kind: Kind,
    /// The type name to cast a parameter to.
    pub(super) udt: String,
    /// Whether it takes NULL.
    pub(super) nullable: bool,
}

/// Every column of every table of the current schema, in order, by table.
pub(super) async fn target_columns(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, Vec<Column>>, CopyError> {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.udt_name::text,
                c.is_nullable = 'YES'
         FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
           AND c.table_name <> '_sqlx_migrations'
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    let mut out: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for r in rows {
        let table: String = r.try_get(0).map_err(failed)?;
        let name: String = r.try_get(1).map_err(failed)?;
        let data_type: String = r.try_get(2).map_err(failed)?;
        let udt: String = r.try_get(3).map_err(failed)?;
        let nullable: bool = r.try_get(4).map_err(failed)?;
        let kind = match data_type.as_str() {
            "bigint" | "integer" | "smallint" => Kind::Int,
            "boolean" => Kind::Bool,
            "text" | "character varying" | "character" => Kind::Text,
            "bytea" => Kind::Bytes,
            "double precision" | "real" => Kind::Float,
            _ => Kind::Cast,
        };
        out.entry(table).or_default().push(Column {
            name,
            kind,
            udt,
            nullable,
        });
    }
    Ok(out)
}

/// The target's columns in the source's order; the two must name the same columns.
pub(super) fn matched_columns(table: &Table, target: &[Column]) -> Result<Vec<Column>, CopyError> {
    let mut out = Vec::new();
    for c in &table.columns {
        match target.iter().find(|t| &t.name == c) {
            Some(t) => out.push(t.clone()),
            None => {
                return Err(CopyError::Invalid(format!(
                "the source's table {} has a column {c} the target's has not: the schemas differ",
                table.name
            )))
            }
        }
    }
    if let Some(extra) = target.iter().find(|t| !table.columns.contains(&t.name)) {
        return Err(CopyError::Invalid(format!(
            "the target's table {} has a column {} the source's has not: the schemas differ",
            table.name, extra.name
        )));
    }
    Ok(out)
}

/// Parents before children (foreign keys; a table's references to itself are left to
/// the source's key order), migration-filled tables as late as their references allow.
pub(super) async fn fill_order(
    conn: &mut PgConnection,
    columns: &BTreeMap<String, Vec<Column>>,
    seeded: &BTreeSet<String>,
) -> Result<Vec<String>, CopyError> {
    let edges = sqlx::query(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = columns
        .keys()
        .map(|t| (t.clone(), BTreeSet::new()))
        .collect();
    for e in edges {
        let child: String = e.try_get(0).map_err(failed)?;
        let parent: String = e.try_get(1).map_err(failed)?;
        let (child, parent) = (unquote(&child), unquote(&parent));
        if child != parent {
            if let Some(p) = parents.get_mut(&child) {
                p.insert(parent);
            }
        }
    }
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    while order.len() < parents.len() {
        let ready: Vec<&String> = parents
            .iter()
            .filter(|(t, p)| !done.contains(*t) && p.iter().all(|x| done.contains(x)))
            .map(|(t, _)| t)
            .collect();
        let next = ready
            .iter()
            .find(|t| !seeded.contains(**t))
            .or_else(|| ready.first())
            .map(|t| (*t).clone());
        let Some(next) = next else {
            return Err(CopyError::Failed(
                "the target's foreign keys form a cycle; cannot order the tables".to_owned(),
            ));
        };
        done.insert(next.clone());
        order.push(next);
    }
    Ok(order)
}

fn unquote(name: &str) -> String {
    name.trim_matches('"').to_owned()
}
