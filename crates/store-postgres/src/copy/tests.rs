//! The writer's tests: the pure parts here, the rest on a real PostgreSQL database each
//! (ignored under a plain `cargo test`; `scripts/test` runs them).

// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::{latest_migration, redacted, seeded_by_migrations, write};
use crate::testing::TestDatabase;
use crate::PgStore;
use portcullis_store_sql::copy::{Cell, CopyError, Snapshot, Table};
use sqlx::{Connection as _, PgConnection};

/// A snapshot of an empty installation at this version: every table of a freshly
/// migrated database with its columns, no rows.
async fn empty_snapshot() -> Snapshot {
    let scratch = TestDatabase::create().await;
    drop(PgStore::connect(scratch.url()).await.expect("migrate"));
    let mut conn = PgConnection::connect(scratch.url()).await.expect("connect");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .expect("columns");
    conn.close().await.ok();
    let mut tables: Vec<Table> = Vec::new();
    for (table, column) in rows {
        match tables.last_mut() {
            Some(t) if t.name == table => t.columns.push(column),
            _ => tables.push(Table {
                name: table,
                columns: vec![column],
                key: vec![0],
                rows: Vec::new(),
            }),
        }
    }
    Snapshot {
        schema_version: latest_migration(),
        tables,
    }
}

fn set_rows(s: &mut Snapshot, table: &str, rows: Vec<Vec<Cell>>) {
    s.tables
        .iter_mut()
        .find(|t| t.name == table)
        .expect("table")
        .rows = rows;
}

async fn table_count(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let n = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    conn.close().await.ok();
    n
}

/// A bad value in the table filled last rolls back everything before it, the
/// migrations included; the good snapshot lands whole, with the migration-filled
/// table holding the source's value (not the one its triggers left), sequences
/// past the copied ids; a second copy is refused.
#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
async fn the_copy_lands_whole_or_not_at_all() {
    let target = TestDatabase::create().await;
    let mut snapshot = empty_snapshot().await;
    set_rows(
        &mut snapshot,
        "permissions",
        vec![vec![
            Cell::Int(41),
            Cell::Text("ReadAll".into()),
            Cell::Text("everything".into()),
        ]],
    );
    set_rows(
        &mut snapshot,
        "tenants",
        vec![vec![
            Cell::Int(7),
            Cell::Text("Acme".into()),
            Cell::Null,
            Cell::Null,
            Cell::Int(1),
            Cell::Int(0),
            Cell::Text("[]".into()),
        ]],
    );
    set_rows(
        &mut snapshot,
        "cache_generation",
        vec![vec![Cell::Int(1), Cell::Text("many".into())]],
    );
    let mut nameless = snapshot.clone();
    set_rows(
        &mut nameless,
        "permissions",
        vec![vec![Cell::Int(41), Cell::Null, Cell::Text("none".into())]],
    );
    let refused = write(target.url(), &nameless).await;
    assert!(
        matches!(&refused, Err(CopyError::Invalid(m)) if m.contains("permissions holds NULL in column name, which needs a value")),
        "{refused:?}"
    );
    let bad = write(target.url(), &snapshot).await;
    assert!(
        matches!(&bad, Err(CopyError::Invalid(m)) if m.contains("cache_generation holds text in column n")),
        "{bad:?}"
    );
    assert_eq!(table_count(target.url()).await, 0, "nothing is left behind");

    set_rows(
        &mut snapshot,
        "cache_generation",
        vec![vec![Cell::Int(1), Cell::Int(99)]],
    );
    let report = write(target.url(), &snapshot).await.expect("copied");
    assert_eq!(report.schema_version, latest_migration());
    let tenants = report
        .tables
        .iter()
        .find(|t| t.table == "tenants")
        .expect("tenants");
    assert_eq!(tenants.source, tenants.target);
    assert_eq!(tenants.target.rows, 1);
    let mut conn = PgConnection::connect(target.url()).await.expect("connect");
    let n: i64 = sqlx::query_scalar("SELECT n FROM cache_generation")
        .fetch_one(&mut conn)
        .await
        .expect("generation");
    assert_eq!(n, 99);
    let active: bool = sqlx::query_scalar("SELECT active FROM tenants WHERE id = 7")
        .fetch_one(&mut conn)
        .await
        .expect("tenant");
    assert!(active);
    let next: i64 = sqlx::query_scalar("INSERT INTO tenants (name) VALUES ('Next') RETURNING id")
        .fetch_one(&mut conn)
        .await
        .expect("insert");
    assert_eq!(next, 8, "the identity continues after the copied ids");
    conn.close().await.ok();

    let again = write(target.url(), &snapshot).await;
    assert!(
        matches!(&again, Err(CopyError::Invalid(m)) if m.contains("not empty")),
        "{again:?}"
    );
}

/// A target already migrated by this version (`portcullis migrate`, which seeds
/// nothing but what the migrations insert) is still empty: the copy fills it.
#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
async fn a_migrated_but_unused_target_is_empty() {
    let target = TestDatabase::create().await;
    drop(PgStore::connect(target.url()).await.expect("migrate"));
    let mut snapshot = empty_snapshot().await;
    set_rows(
        &mut snapshot,
        "cache_generation",
        vec![vec![Cell::Int(1), Cell::Int(3)]],
    );
    let report = write(target.url(), &snapshot).await.expect("copied");
    assert!(report.tables.iter().all(|t| t.source == t.target));
}

/// Two copies into one empty target, started together: one lands, the other is
/// refused as non-empty (the advisory lock orders them; no mixed or doubled rows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
async fn two_copies_at_once_fill_the_target_once() {
    let target = TestDatabase::create().await;
    let mut snapshot = empty_snapshot().await;
    set_rows(
        &mut snapshot,
        "permissions",
        vec![vec![
            Cell::Int(41),
            Cell::Text("ReadAll".into()),
            Cell::Text("everything".into()),
        ]],
    );
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (url, snapshot, barrier) =
                (target.url().to_owned(), snapshot.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                write(&url, &snapshot).await
            })
        })
        .collect();
    let mut landed = 0;
    let mut refused = 0;
    for r in runs {
        match r.await.expect("join") {
            Ok(_) => landed += 1,
            Err(CopyError::Invalid(m)) if m.contains("not empty") => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((landed, refused), (1, 1));
    let mut conn = PgConnection::connect(target.url()).await.expect("connect");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM permissions")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(n, 1);
    conn.close().await.ok();
}

/// The only table the migrations fill today; a migration that fills another is
/// found the same way (and then copied last, replaced by the source's rows).
#[test]
fn the_migration_filled_tables_are_found_in_the_migrations() {
    assert!(seeded_by_migrations().contains("cache_generation"));
}

/// Messages name the target without its password.
#[test]
fn urls_in_messages_hide_the_password() {
    assert_eq!(
        redacted("postgres://app:s3cret@db.internal:5432/portcullis"),
        "postgres://app:***@db.internal:5432/portcullis"
    );
    assert_eq!(
        redacted("postgres://app@db/portcullis"),
        "postgres://app@db/portcullis"
    );
}
