//! The rows: each source value bound as its target column's type, inserted many per
//! statement; the sequences set past the copied ids; the rows read back as [`Cell`]s
//! for the check.

use super::schema::{Column, Kind};
use super::{failed, quoted};
use portcullis_store_sql::copy::{Cell, CopyError, Table};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments as _, PgConnection, Row as _};

/// A source value as the target column wants it.
fn bind(
    args: &mut PgArguments,
    table: &str,
    column: &Column,
    cell: &Cell,
) -> Result<(), CopyError> {
    // The value's class only, never the value (it may be a secret's verifier).
    let wrong = || {
        let class = match cell {
            Cell::Null => "NULL",
            Cell::Int(_) => "an integer",
            Cell::Real(_) => "a real number",
            Cell::Text(_) => "text",
            Cell::Blob(_) => "a blob",
        };
        let wanted = match column.kind {
            _ if *cell == Cell::Null => "a value (it is NOT NULL)",
            Kind::Int => "an integer",
            Kind::Bool => "a boolean (0 or 1)",
            Kind::Text | Kind::Cast => "text",
            Kind::Bytes => "bytes",
            Kind::Float => "a real number",
        };
        CopyError::Invalid(format!(
            "a row of the source's {table} holds {class} in column {}, which needs {wanted}: the source is damaged, nothing was copied",
            column.name
        ))
    };
    if *cell == Cell::Null && !column.nullable {
        return Err(wrong());
    }
    let added = match (column.kind, cell) {
        (Kind::Int, Cell::Null) => args.add(None::<i64>),
        (Kind::Int, Cell::Int(i)) => args.add(*i),
        (Kind::Bool, Cell::Null) => args.add(None::<bool>),
        (Kind::Bool, Cell::Int(0)) => args.add(false),
        (Kind::Bool, Cell::Int(1)) => args.add(true),
        (Kind::Float, Cell::Null) => args.add(None::<f64>),
        (Kind::Float, Cell::Real(f)) => args.add(*f),
        (Kind::Bytes, Cell::Null) => args.add(None::<Vec<u8>>),
        (Kind::Bytes, Cell::Blob(b)) => args.add(b.clone()),
        (Kind::Bytes, Cell::Text(s)) => args.add(s.as_bytes().to_vec()),
        (Kind::Text | Kind::Cast, Cell::Null) => args.add(None::<String>),
        (Kind::Text | Kind::Cast, Cell::Text(s)) => args.add(s.clone()),
        _ => return Err(wrong()),
    };
    added.map_err(failed)
}

/// Inserts the table's rows, many per statement (PostgreSQL takes at most 65 535
/// parameters in one).
pub(super) async fn insert(
    conn: &mut PgConnection,
    table: &Table,
    target: &[Column],
) -> Result<(), CopyError> {
    if table.rows.is_empty() || target.is_empty() {
        return Ok(());
    }
    let list = target
        .iter()
        .map(|c| quoted(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let per_statement = (30_000 / target.len()).max(1);
    for chunk in table.rows.chunks(per_statement) {
        let mut args = PgArguments::default();
        let mut values = Vec::with_capacity(chunk.len());
        let mut n = 0;
        for row in chunk {
            let mut placeholders = Vec::with_capacity(target.len());
            for (column, cell) in target.iter().zip(row) {
                bind(&mut args, &table.name, column, cell)?;
                n += 1;
                placeholders.push(match column.kind {
                    Kind::Cast => format!("${n}::{}", quoted(&column.udt)),
                    _ => format!("${n}"),
                });
            }
            values.push(format!("({})", placeholders.join(", ")));
        }
        let sql = format!(
            "INSERT INTO {} ({list}) OVERRIDING SYSTEM VALUE VALUES {}",
            quoted(&table.name),
            values.join(", ")
        );
        sqlx::query_with(&sql, args)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                CopyError::Failed(format!(
                    "cannot write the rows of {} into the target: {e}",
                    table.name
                ))
            })?;
    }
    Ok(())
}

/// Sets every column sequence (identity or serial) of the current schema so that the
/// next value is past the largest copied one (or its start, for an empty table).
pub(super) async fn advance_sequences(conn: &mut PgConnection) -> Result<(), CopyError> {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text,
                pg_get_serial_sequence(quote_ident(table_name), column_name)
         FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    for r in rows {
        let table: String = r.try_get(0).map_err(failed)?;
        let column: String = r.try_get(1).map_err(failed)?;
        let sequence: String = r.try_get(2).map_err(failed)?;
        let max: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT MAX({})::bigint FROM {}",
            quoted(&column),
            quoted(&table)
        ))
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
        if let Some(max) = max {
            sqlx::query("SELECT setval($1::regclass, $2, true)")
                .bind(&sequence)
                .bind(max)
                .execute(&mut *conn)
                .await
                .map_err(failed)?;
        }
    }
    Ok(())
}

/// The table's rows as the target holds them, as [`Cell`]s in the source's column order.
pub(super) async fn read_back(
    conn: &mut PgConnection,
    table: &Table,
    target: &[Column],
) -> Result<Vec<Vec<Cell>>, CopyError> {
    if target.is_empty() {
        return Ok(Vec::new());
    }
    let list = target
        .iter()
        .map(|c| match c.kind {
            Kind::Cast => format!("{}::text", quoted(&c.name)),
            _ => quoted(&c.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!("SELECT {list} FROM {}", quoted(&table.name)))
        .fetch_all(&mut *conn)
        .await
        .map_err(failed)?;
    rows.iter().map(|r| cells(r, target)).collect()
}

fn cells(row: &PgRow, target: &[Column]) -> Result<Vec<Cell>, CopyError> {
    target
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(match c.kind {
                Kind::Int => match c.udt.as_str() {
                    "int2" => row
                        .try_get::<Option<i16>, _>(i)
                        .map_err(failed)?
                        .map(|v| Cell::Int(v.into())),
                    "int4" => row
                        .try_get::<Option<i32>, _>(i)
                        .map_err(failed)?
                        .map(|v| Cell::Int(v.into())),
                    _ => row
                        .try_get::<Option<i64>, _>(i)
                        .map_err(failed)?
                        .map(Cell::Int),
                },
                Kind::Bool => row
                    .try_get::<Option<bool>, _>(i)
                    .map_err(failed)?
                    .map(|b| Cell::Int(i64::from(b))),
                Kind::Float => match c.udt.as_str() {
                    "float4" => row
                        .try_get::<Option<f32>, _>(i)
                        .map_err(failed)?
                        .map(|v| Cell::Real(v.into())),
                    _ => row
                        .try_get::<Option<f64>, _>(i)
                        .map_err(failed)?
                        .map(Cell::Real),
                },
                Kind::Bytes => row
                    .try_get::<Option<Vec<u8>>, _>(i)
                    .map_err(failed)?
                    .map(Cell::Blob),
                Kind::Text | Kind::Cast => row
                    .try_get::<Option<String>, _>(i)
                    .map_err(failed)?
                    .map(Cell::Text),
            }
            .unwrap_or(Cell::Null))
        })
        .collect()
}
