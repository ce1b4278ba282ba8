//! `portcullis backup` and `portcullis restore` with the real binary (issue 16): a
//! backup taken while the real server is under write load holds every write
//! acknowledged before it began and passes `PRAGMA integrity_check`; restored into a
//! new location, a server on it serves those clients. And the refusals: an existing
//! target, a missing file, a file that is not SQLite, a database from a newer version,
//! a database in use, PostgreSQL (pointed to pg_dump).
//!
//! Ordering is by acknowledgements, never by sleeps: the backup starts once the writers
//! have had a counted number of registrations acknowledged, and the load is stopped
//! only after more were acknowledged once the backup had finished.

use crate::cli::portcullis;
use crate::crash::{integrity_ok, listed, register, start};
use crate::helpers::{fresh_database, once, Backend, ADMIN_PASSWORD};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Registration writers running at once.
const WRITERS: usize = 3;
/// Acknowledged registrations before the backup starts, and after it ended.
const BEFORE: usize = 12;
const AFTER: usize = 6;

async fn backup_under_load_restores(_: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(Backend::Sqlite, &dir).await;
    let server = start(&url, dir.path()).await;
    let http = reqwest::Client::new();
    let first = register(&http, &server.base, "before-load")
        .await
        .expect("a client");

    // The load: writers registering clients until told to stop; every acknowledged id
    // is published, and the count announced.
    let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (count_tx, mut count_rx) = tokio::sync::watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (http, base, acked, stop, count_tx) = (
            http.clone(),
            server.base.clone(),
            acked.clone(),
            stop.clone(),
            count_tx.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let v = register(&http, &base, &format!("w{w}n{i}"))
                    .await
                    .expect("a registration under load");
                let n = {
                    let mut a = acked.lock().expect("lock");
                    a.push(v["id"].as_i64().expect("id"));
                    a.len()
                };
                count_tx.send_replace(n);
                i += 1;
            }
        }));
    }
    count_rx.wait_for(|n| *n >= BEFORE).await.expect("writers");
    // Every write acknowledged before the backup began.
    let mut before: Vec<i64> = acked.lock().expect("lock").clone();
    before.push(first["id"].as_i64().expect("id"));

    let target = dir.path().join("backup.db");
    let target_s = target.display().to_string();
    let out = portcullis(&url, &["backup", &target_s]).await.ok();
    assert_eq!(out["backup"]["file"], target_s.as_str(), "{out}");
    let key_file_note = out["keepAlso"].as_str().expect("keepAlso");
    assert!(key_file_note.contains("master key"), "{out}");
    let printed = out.to_string();
    assert!(
        !printed.contains("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        "the master key itself is never printed: {printed}"
    );
    // The load went on during and after the backup.
    let ended = *count_rx.borrow();
    count_rx
        .wait_for(|n| *n >= ended + AFTER)
        .await
        .expect("writers");
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }

    // A second backup to the same name is refused, and leaves the first alone.
    let size = std::fs::metadata(&target).expect("backup").len();
    let refused = portcullis(&url, &["backup", &target_s]).await;
    assert!(
        refused.bad_input().contains("already exists"),
        "{refused:?}"
    );
    assert_eq!(std::fs::metadata(&target).expect("backup").len(), size);
    let partials: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(partials.is_empty(), "no temporary file left: {partials:?}");

    integrity_ok(&format!("sqlite://{target_s}")).await;

    // Restored into a new location, a server there serves every client acknowledged
    // before the backup began.
    let dir2 = tempfile::tempdir().expect("dir");
    let url2 = fresh_database(Backend::Sqlite, &dir2).await;
    let restored = portcullis(&url2, &["restore", &target_s]).await.ok();
    assert_eq!(
        restored["restored"]["schemaVersion"],
        out["backup"]["schemaVersion"]
    );
    let server2 = start(&url2, dir2.path()).await;
    let present = listed(&http, &server2.base).await;
    let lost: Vec<_> = before.iter().filter(|id| !present.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "acknowledged before the backup, lost: {lost:?}"
    );
    // The client's secret (hashed) and the signing keys (sealed with the master key)
    // came along: the client gets a token.
    let r = http
        .post(format!("{}/oauth2/token", server2.base))
        .basic_auth(
            first["clientId"].as_str().expect("clientId"),
            Some(first["clientSecret"].as_str().expect("clientSecret")),
        )
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    // Restoring onto a database a server has open is refused.
    let busy = portcullis(&url2, &["restore", &target_s]).await;
    assert!(busy.bad_input().contains("in use"), "{busy:?}");
    drop(server2);
    drop(server);
}

async fn restore_refuses_bad_files(_: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(Backend::Sqlite, &dir).await;
    let path = |name: &str| dir.path().join(name).display().to_string();

    let missing = portcullis(&url, &["restore", &path("nowhere.db")]).await;
    assert!(
        missing.bad_input().contains("there is no file"),
        "{missing:?}"
    );
    let backup_missing = portcullis(&url, &["backup", &path("b.db")]).await;
    assert!(
        backup_missing.bad_input().contains("no database file"),
        "{backup_missing:?}"
    );

    std::fs::write(path("notes.txt"), "not a database at all").expect("write");
    let text = portcullis(&url, &["restore", &path("notes.txt")]).await;
    assert!(
        text.bad_input().contains("not a SQLite database"),
        "{text:?}"
    );

    // A database from a newer Portcullis: a backup with one more migration applied.
    portcullis(&url, &["migrate"]).await;
    portcullis(&url, &["backup", &path("newer.db")]).await.ok();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path("newer.db")))
        .await
        .expect("open");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .expect("insert");
    pool.close().await;
    let newer = portcullis(&url, &["restore", &path("newer.db")]).await;
    assert!(newer.bad_input().contains("newer Portcullis"), "{newer:?}");
    // None of the refusals touched the database: it still opens and serves.
    integrity_ok(&url).await;

    let pg = portcullis(
        "postgres://nobody@127.0.0.1:1/none",
        &["backup", &path("pg.db")],
    )
    .await;
    assert!(pg.bad_input().contains("pg_dump"), "{pg:?}");
    assert!(!std::path::Path::new(&path("pg.db")).exists());
}

once!(backup_under_load_restores, restore_refuses_bad_files);
