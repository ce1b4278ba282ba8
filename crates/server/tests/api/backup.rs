//! `portcullis backup` and `portcullis restore` with the real binary (issue 16): a
//! backup taken while the real server is under write load holds every write
//! acknowledged before it began and passes `PRAGMA integrity_check`; restored into a
//! new location, a server on it serves those clients. And the refusals: an existing
//! target, a missing file, a file that is not SQLite, a database from a newer version,
//! a database in use, PostgreSQL (pointed to pg_dump). And the start-up lock both take:
//! a restore waits for a server that is starting, and a server waits for a restore.
//!
//! Ordering is by acknowledgements, never by sleeps: the backup starts once the writers
//! have had a counted number of registrations acknowledged, and the load is stopped
//! only after more were acknowledged once the backup had finished.

use crate::cli::portcullis;
use crate::crash::{applications, integrity_ok, listed, register, start};
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

/// The names of the client applications a server lists.
async fn names(http: &reqwest::Client, base: &str) -> Vec<String> {
    applications(http, base)
        .await
        .iter()
        .filter_map(|a| a["name"].as_str().map(str::to_owned))
        .collect()
}

/// The lock file a starting server and a restore take (`<database>-migrate.lock`).
fn startup_lock(db: &std::path::Path) -> std::fs::File {
    let mut p = db.to_path_buf().into_os_string();
    p.push("-migrate.lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .expect("the lock file")
}

/// Whether some process waits for a `flock` on `file`: Linux lists a blocked request in
/// `/proc/locks` as `N: -> FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> …`.
fn someone_waits_on(file: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let inode = file.metadata().expect("metadata").ino();
    let locks = std::fs::read_to_string("/proc/locks").expect("/proc/locks");
    locks.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&"->")
            && f.get(2) == Some(&"FLOCK")
            && f.get(6)
                .and_then(|dev_ino| dev_ino.rsplit(':').next())
                .is_some_and(|i| i == inode.to_string())
    })
}

/// Waits (a condition, with a generous deadline) until a process blocks on `lock`.
async fn until_blocked(lock: &std::fs::File, who: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !someone_waits_on(lock) {
        assert!(
            std::time::Instant::now() < deadline,
            "{who} never waited for the start-up lock"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The lock between `restore` and a starting server, from both sides. The test takes
/// the lock itself to stand for the other party, proves from `/proc/locks` that the
/// binary waits for it, and checks what the binary does once it has it: a restore
/// checks "in use" only then (so a server that got there first is seen), and a server
/// opens the database only then (so it serves the restored file, never a half one).
async fn restore_and_start_wait_for_each_other(_: Backend) {
    let http = reqwest::Client::new();
    // A backup holding one client, "in-the-backup".
    let src_dir = tempfile::tempdir().expect("dir");
    let src = fresh_database(Backend::Sqlite, &src_dir).await;
    let server = start(&src, src_dir.path()).await;
    let kept = register(&http, &server.base, "in-the-backup")
        .await
        .expect("a client");
    drop(server);
    let backup = src_dir.path().join("backup.db");
    let backup_s = backup.display().to_string();
    portcullis(&src, &["backup", &backup_s]).await.ok();

    // The installation to restore onto, with another client.
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(Backend::Sqlite, &dir).await;
    let db = dir.path().join("portcullis.db");
    let server = start(&url, dir.path()).await;
    let other = register(&http, &server.base, "not-in-the-backup")
        .await
        .expect("a client");
    drop(server);
    let before = std::fs::read(&db).expect("database");

    // 1. A restore waits for a server that holds the lock while starting, and checks
    //    "in use" after: the server, serving by then, is seen and the restore refused.
    let lock = startup_lock(&db);
    lock.lock().expect("lock");
    let restore = {
        let (url, backup_s) = (url.to_string(), backup_s.clone());
        tokio::spawn(async move { portcullis(&url, &["restore", &backup_s]).await })
    };
    until_blocked(&lock, "restore").await;
    assert_eq!(
        std::fs::read(&db).expect("database"),
        before,
        "a waiting restore has not touched the database"
    );
    // The "server" opens the database, then lets go of the start-up lock.
    let serving = sqlx::SqlitePool::connect(&url).await.expect("open");
    sqlx::query("SELECT count(*) FROM client_apps")
        .fetch_one(&serving)
        .await
        .expect("read");
    lock.unlock().expect("unlock");
    let refused = restore.await.expect("join");
    assert!(refused.bad_input().contains("in use"), "{refused:?}");
    serving.close().await;

    // 2. A server starting while a restore holds the lock waits, and then serves the
    //    restored database. The test stands for the restore: it holds the lock and
    //    puts the backup in place while the server waits.
    lock.lock().expect("lock");
    let starting = {
        let (url, cwd) = (url.to_string(), dir.path().to_owned());
        tokio::spawn(async move { start(&url, &cwd).await })
    };
    until_blocked(&lock, "the starting server").await;
    for suffix in ["-wal", "-shm"] {
        let mut stale = db.clone().into_os_string();
        stale.push(suffix);
        let _ = std::fs::remove_file(stale);
    }
    std::fs::copy(&backup, &db).expect("put the backup in place");
    lock.unlock().expect("unlock");
    let server = starting.await.expect("join");
    let names = names(&http, &server.base).await;
    assert!(
        names.contains(&kept["name"].as_str().expect("name").to_owned())
            && !names.contains(&other["name"].as_str().expect("name").to_owned()),
        "the server opened the restored database, not the one it replaced: {names:?}"
    );
    drop(server);
    integrity_ok(&url).await;
}

once!(
    backup_under_load_restores,
    restore_refuses_bad_files,
    restore_and_start_wait_for_each_other
);
