//! The storage traits on SQLite (the default backend): one file, WAL journal, foreign
//! keys on, created on first start. Migrations are embedded and run by [`SqliteStore::connect`].
//!
//! The SQL is the shared crate's (`portcullis-store-sql`, [`SqlStore`]); this crate
//! connects, keeps the migrations and the database file's permissions. Every write
//! transaction opens with a write, so SQLite takes the write lock up front and two
//! connections never deadlock upgrading read locks.

pub mod backup;
pub mod copy;

use portcullis_core::store::{StoreError, StoreResult};
use portcullis_store_sql::{store_error, Connector, SqlStore};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Sqlite;
use std::str::FromStr;
use std::time::Duration;

pub use portcullis_store_sql::write::BATCH_UNITS;
pub use portcullis_store_sql::{RowCache, GENERATION_CHECK_MS};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The SQLite store: the shared SQL ([`SqlStore`]) on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

/// This crate's [`Connector`] (a type of this crate, which the orphan rule needs; see
/// [`Connector`]). Never named by callers: `SqliteStore::connect(url)`.
#[derive(Debug)]
pub enum SqliteConnector {}

impl Connector<SqliteConnector> for Sqlite {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) and runs pending migrations.
    async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename().to_owned();
        let on_disk = database_file(url).is_some();
        if on_disk {
            private_files(&file)?;
        }
        // Two processes starting on one new file would both switch it to WAL and both
        // apply the first migration; an exclusive advisory lock (flock), taken before
        // the first connection opens, makes the second wait and then find the file in
        // WAL mode with the migrations applied. (Switching to WAL needs an exclusive
        // lock on the file, which SQLite refuses at once, busy timeout or not, to a
        // second connection switching at the same moment: "database is locked".) The
        // lock is on a sidecar file, never on the database file itself: closing any
        // descriptor of the database file drops every fcntl lock SQLite holds on it in
        // this process, after which another process (an admin command, a second node)
        // closing its last connection would checkpoint and delete the WAL under this
        // one's feet (sqlite.org/howtocorrupt.html §2.2).
        let lock_path = {
            let mut p = file.clone().into_os_string();
            p.push("-migrate.lock");
            std::path::PathBuf::from(p)
        };
        let guard = if on_disk {
            let lock_error = |e: std::io::Error| {
                StoreError::Backend(format!("migration lock on {}: {e}", lock_path.display()))
            };
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(lock_error)?;
            Some(
                tokio::task::spawn_blocking(move || f.lock().map(|()| f))
                    .await
                    .map_err(|e| StoreError::Backend(format!("migration lock: {e}")))?
                    .map_err(lock_error)?,
            )
        } else {
            None // in-memory database
        };
        // No ping before handing out a pooled connection (sqlx's default): an SQLite
        // connection is a file handle in this process and cannot have been dropped by
        // a server, and the ping is a second round trip to the connection's worker
        // thread on every query (docs/benchmarks.md).
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(store_error)?;
        let migrated = <Self as Connector<SqliteConnector>>::migrate(&pool).await;
        drop(guard);
        migrated?;
        // Every write through one connection, a transaction per batch of the writes
        // waiting at that moment (group commit, issue #17; `portcullis_store_sql::write`).
        SqlStore::with_group_commit(pool).await
    }

    /// Runs pending migrations.
    async fn migrate(pool: &sqlx::SqlitePool) -> StoreResult<()> {
        MIGRATOR
            .run(pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }
}

/// The file a SQLite URL names: `None` for an in-memory database (`sqlite::memory:`,
/// `…?mode=memory`, which sqlx gives a made-up name, `file:sqlx-in-memory-N`, that must
/// not be created on disk, nor a migration lock beside it) and for an empty name. The
/// server asks the same question to place the master key file beside the database.
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.starts_with(":memory:") || query.split('&').any(|p| p == "mode=memory");
    (!path.is_empty() && !in_memory).then(|| std::path::PathBuf::from(path))
}

/// The database holds password hashes and sealed secrets: only its owner may read it.
/// A new database file is created with mode 0600 before SQLite opens it; SQLite gives
/// the `-wal` and `-shm` files it creates the database file's mode. Files of an
/// existing database that others can read (created by an earlier version under a
/// 0022 umask) are tightened to 0600, with a log line saying so.
fn private_files(file: &std::path::Path) -> StoreResult<()> {
    let io = |path: &std::path::Path, e: std::io::Error| {
        StoreError::Unavailable(format!("database file {}: {e}", path.display()))
    };
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(file) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        // A missing directory and the like: SQLite reports it when it opens the file.
        Err(_) => return Ok(()),
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        let path = std::path::PathBuf::from(path);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(&path, e))?;
            tracing::warn!(path = %path.display(), "the database file was readable by others; its mode is now 0600");
        }
    }
    Ok(())
}

#[cfg(test)]
mod contract {
    use super::SqliteStore;
    use portcullis_core::testing::contract::Fixture;
    use std::sync::Arc;

    /// A new database in its own temporary directory, removed when the case ends: the
    /// cleanup owns it, and a case that fails drops the cleanup unrun, which removes the
    /// directory all the same.
    async fn fresh() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("portcullis-contract-")
            .tempdir()
            .expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = SqliteStore::connect(&url).await.expect("connect");
        Fixture::with_cleanup(Arc::new(store), async move { drop(dir) })
    }

    portcullis_core::store_contract_tests!(fresh());
}

#[cfg(test)]
mod memory_databases {
    use super::{database_file, SqliteStore};
    use std::path::PathBuf;

    #[test]
    fn in_memory_urls_are_told_apart_from_files() {
        assert_eq!(database_file("sqlite::memory:"), None);
        assert_eq!(database_file("sqlite://:memory:"), None);
        assert_eq!(
            database_file("sqlite://shared?mode=memory&cache=shared"),
            None
        );
        assert_eq!(database_file("sqlite://"), None);
        assert_eq!(database_file("postgres://db/portcullis"), None);
        assert_eq!(
            database_file("sqlite://portcullis.db?mode=rwc"),
            Some(PathBuf::from("portcullis.db"))
        );
        assert_eq!(
            database_file("sqlite:///var/lib/portcullis/memory.db"),
            Some(PathBuf::from("/var/lib/portcullis/memory.db"))
        );
    }

    /// sqlx names an in-memory database `file:sqlx-in-memory-N`; that name, and a
    /// migration lock beside it, used to be created as empty files in the working
    /// directory (the bench's ceiling context left them in the repository).
    #[tokio::test]
    async fn an_in_memory_database_creates_no_file() {
        let store = SqliteStore::connect("sqlite::memory:")
            .await
            .expect("connect");
        drop(store);
        let stray: Vec<_> = std::fs::read_dir(".")
            .expect("working directory")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("file:sqlx-in-memory"))
            .collect();
        assert!(stray.is_empty(), "files created: {stray:?}");
    }
}
