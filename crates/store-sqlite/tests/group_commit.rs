//! Group commit on SQLite (issue #17): the units waiting for the writer share one
//! transaction, each in its own savepoint; a unit that fails, or is dropped while it
//! holds the connection, rolls back alone and the batch still commits.

// A test: a failed expectation is the test failing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use portcullis_store_sqlite::SqliteStore;
use std::sync::atomic::Ordering;
use std::sync::Arc;

async fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::Builder::new()
        .prefix("portcullis-group-commit-")
        .tempdir()
        .expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    (dir, Arc::new(store))
}

async fn insert(store: &SqliteStore, name: &str) -> Result<(), String> {
    let mut tx = store.begin_write_unit().await.map_err(|e| e.to_string())?;
    put(&mut tx, name).await?;
    tx.commit().await.map_err(|e| e.to_string())
}

async fn put(
    tx: &mut portcullis_store_sql::WriteTx<sqlx::Sqlite>,
    name: &str,
) -> Result<(), String> {
    sqlx::query("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, 'v', 0)")
        .bind(name)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn names(store: &SqliteStore) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM server_secrets WHERE name LIKE 'gc-%' ORDER BY name")
        .fetch_all(store.pool())
        .await
        .expect("read")
}

/// Waits until `n` units in all have asked the writer for its connection (queued
/// behind the unit holding it): a condition, not a sleep.
async fn asked(store: &SqliteStore, n: u64) {
    let counts = store
        .writer()
        .expect("a SQLite store has a writer")
        .counts();
    while counts.asked.load(Ordering::SeqCst) < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_units_commit_together_and_a_failing_or_dropped_one_rolls_back_alone() {
    let (_dir, store) = store().await;
    let batches_before = store
        .writer()
        .expect("writer")
        .counts()
        .batches
        .load(Ordering::SeqCst);
    let asked_before = store
        .writer()
        .expect("writer")
        .counts()
        .asked
        .load(Ordering::SeqCst);

    // The first unit holds the connection while the others queue behind it.
    let mut first = store.begin_write_unit().await.expect("first unit");
    put(&mut first, "gc-a").await.expect("insert a");

    let ok_b = tokio::spawn({
        let s = Arc::clone(&store);
        async move { insert(&s, "gc-b").await }
    });
    asked(&store, asked_before + 2).await;
    // Fails inside its savepoint: `gc-a` is already in this batch.
    let conflict = tokio::spawn({
        let s = Arc::clone(&store);
        async move { insert(&s, "gc-a").await }
    });
    asked(&store, asked_before + 3).await;
    // Dropped while it holds the connection, after a write: its write must go.
    let (holding, held) = tokio::sync::oneshot::channel();
    let dropped = tokio::spawn({
        let s = Arc::clone(&store);
        async move {
            let mut tx = s.begin_write_unit().await.expect("unit");
            put(&mut tx, "gc-dropped").await.expect("insert");
            let _ = holding.send(());
            std::future::pending::<()>().await;
            drop(tx);
        }
    });
    asked(&store, asked_before + 4).await;
    let ok_e = tokio::spawn({
        let s = Arc::clone(&store);
        async move { insert(&s, "gc-e").await }
    });
    asked(&store, asked_before + 5).await;

    // Nothing is visible to the pool's readers before the batch commits.
    assert!(names(&store).await.is_empty());
    let first_done = tokio::spawn(async move { first.commit().await.map_err(|e| e.to_string()) });

    held.await.expect("the dropped unit got the connection");
    dropped.abort();
    assert!(dropped.await.expect_err("aborted").is_cancelled());

    assert_eq!(first_done.await.expect("task"), Ok(()));
    assert_eq!(ok_b.await.expect("task"), Ok(()));
    let failed = conflict
        .await
        .expect("task")
        .expect_err("a duplicate name fails");
    assert!(failed.contains("UNIQUE"), "{failed}");
    assert_eq!(ok_e.await.expect("task"), Ok(()));
    assert_eq!(names(&store).await, ["gc-a", "gc-b", "gc-e"]);
    let batches = store
        .writer()
        .expect("writer")
        .counts()
        .batches
        .load(Ordering::SeqCst);
    assert_eq!(batches - batches_before, 1, "five units, one COMMIT");

    // The writer carries on after the dropped unit.
    insert(&store, "gc-f").await.expect("a later unit");
    assert_eq!(names(&store).await, ["gc-a", "gc-b", "gc-e", "gc-f"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_that_stops_waiting_for_its_turn_changes_nothing() {
    let (_dir, store) = store().await;
    let asked_before = store
        .writer()
        .expect("writer")
        .counts()
        .asked
        .load(Ordering::SeqCst);
    let mut first = store.begin_write_unit().await.expect("first unit");
    put(&mut first, "gc-a").await.expect("insert a");
    // Asks for the connection, then goes away before its turn (a client that hung up).
    let gone = tokio::spawn({
        let s = Arc::clone(&store);
        async move { insert(&s, "gc-gone").await }
    });
    asked(&store, asked_before + 2).await;
    gone.abort();
    assert!(gone.await.expect_err("aborted").is_cancelled());
    first.commit().await.expect("commit");
    insert(&store, "gc-b").await.expect("a later unit");
    assert_eq!(names(&store).await, ["gc-a", "gc-b"]);
}
