//! Backup and restore of a SQLite installation's database file (`portcullis backup`,
//! `portcullis restore`). The master key is not in the file; the server's command says
//! where it lives.
//!
//! A backup is `VACUUM INTO` on a connection to the live database: one read
//! transaction, so the copy is the database as of one instant, while the server keeps
//! writing (WAL: readers and the writer do not block each other). It is written to a
//! temporary name in the target's directory and hard-linked to the target name at the
//! end: a crash leaves no half file under that name, and an existing target is refused
//! even when it appears during the copy (a link never replaces a file).
//!
//! A restore checks the file (SQLite header, `PRAGMA integrity_check`, the migrations
//! table, no migration newer than this binary's), refuses while another process has the
//! target database open (detected by asking SQLite for an exclusive lock, which any
//! open connection of a running server or admin command denies at once), then copies
//! the file to a temporary name beside the target, removes the target's stale `-wal`
//! and `-shm` and renames the copy over it — all under the migration lock a starting
//! server takes first, so a server started meanwhile waits for the restored file.

use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a backup or restore failed: bad input (the operator can fix the command) or a
/// runtime failure.
#[derive(Debug)]
pub enum FileError {
    /// Bad input: a missing or existing file, not a Portcullis database, a newer one.
    Invalid(String),
    /// The database or file system failed.
    Failed(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Invalid(m) | FileError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FileError {}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> FileError {
    FileError::Failed(format!("{what} {}: {e}", path.display()))
}

/// What a backup or restore wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The newest migration the database has.
    pub schema_version: i64,
}

/// The newest migration this binary knows.
pub fn latest_migration() -> i64 {
    crate::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A name beside `target` for the file being written (same directory, so the final
/// link or rename stays on one file system and is atomic).
fn temporary_beside(target: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".partial-{}", std::process::id()));
    target.with_file_name(name)
}

/// Creates `path` empty, readable by its owner only (the database holds password
/// hashes and sealed secrets).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create.open(path)
}

/// Flushes `path` to disk.
fn sync(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .sync_all()
}

/// Copies the database at `url` (`sqlite://file`) into the new file `target` while
/// other connections keep using it.
pub async fn backup(url: &str, target: &Path) -> Result<Written, FileError> {
    let Some(file) = crate::database_file(url) else {
        return Err(FileError::Invalid(format!(
            "{url} is not a SQLite database file; backup copies a SQLite installation"
        )));
    };
    if !file.is_file() {
        return Err(FileError::Invalid(format!(
            "there is no database file at {} (the configured database_url)",
            file.display()
        )));
    }
    if target.exists() {
        return Err(FileError::Invalid(format!(
            "{} already exists; backup never overwrites a file, name a new one",
            target.display()
        )));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(&file)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| failed("cannot open the database", &file, e))?;
    let schema_version = applied_version(&mut conn).await?.ok_or_else(|| {
        FileError::Invalid(format!(
            "{} is not a Portcullis database (it has no migrations table)",
            file.display()
        ))
    })?;
    let partial = temporary_beside(target);
    create_private(&partial).map_err(|e| failed("cannot create", &partial, e))?;
    let copied = async {
        sqlx::query("VACUUM INTO ?")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&mut conn)
            .await
            .map_err(|e| failed("cannot copy the database into", &partial, e))?;
        sync(&partial).map_err(|e| failed("cannot flush", &partial, e))?;
        std::fs::hard_link(&partial, target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                FileError::Invalid(format!(
                    "{} already exists; backup never overwrites a file, name a new one",
                    target.display()
                ))
            } else {
                failed("cannot create", target, e)
            }
        })
    }
    .await;
    let _ = std::fs::remove_file(&partial);
    let _ = conn.close().await;
    copied?;
    let bytes = std::fs::metadata(target)
        .map_err(|e| failed("cannot read", target, e))?
        .len();
    Ok(Written {
        path: target.to_owned(),
        bytes,
        schema_version,
    })
}

/// The newest applied migration, `None` when there is no migrations table.
async fn applied_version(conn: &mut sqlx::SqliteConnection) -> Result<Option<i64>, FileError> {
    let table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| FileError::Failed(format!("cannot read the database: {e}")))?;
    if table.is_none() {
        return Ok(None);
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| FileError::Failed(format!("cannot read the migrations table: {e}")))?;
    Ok(Some(version.unwrap_or(0)))
}

/// Checks that `source` is a sound Portcullis SQLite database this binary can run;
/// returns its newest migration.
pub async fn check(source: &Path) -> Result<i64, FileError> {
    let mut header = [0u8; 16];
    let read = std::fs::File::open(source).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FileError::Invalid(format!(
                "there is no file {}",
                source.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(not_sqlite(source));
        }
        Err(e) => return Err(failed("cannot read", source, e)),
    }
    if &header != b"SQLite format 3\0" {
        return Err(not_sqlite(source));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(source)
        .read_only(true)
        // No locks, no -shm or -wal created beside the backup.
        .immutable(true)
        .connect()
        .await
        .map_err(|e| failed("cannot open", source, e))?;
    let checked: Vec<String> = sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| FileError::Invalid(format!("{} is damaged: {e}", source.display())))?
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
        .collect();
    if checked != ["ok"] {
        return Err(FileError::Invalid(format!(
            "{} is damaged (PRAGMA integrity_check: {})",
            source.display(),
            checked.join("; ")
        )));
    }
    let version = applied_version(&mut conn).await?.ok_or_else(|| {
        FileError::Invalid(format!(
            "{} is a SQLite database but not a Portcullis one (it has no migrations table)",
            source.display()
        ))
    })?;
    let _ = conn.close().await;
    let latest = latest_migration();
    if version > latest {
        return Err(FileError::Invalid(format!(
            "{} comes from a newer Portcullis (schema version {version}; this binary knows up to {latest}): restore it with that version or newer",
            source.display()
        )));
    }
    Ok(version)
}

fn not_sqlite(source: &Path) -> FileError {
    FileError::Invalid(format!(
        "{} is not a SQLite database (no SQLite header)",
        source.display()
    ))
}

/// Whether another connection has the database at `file` open: SQLite refuses an
/// exclusive lock at once (busy timeout 0) while any other connection, idle or not,
/// holds the file in WAL mode.
pub(crate) async fn in_use(file: &Path) -> Result<bool, FileError> {
    let conn = SqliteConnectOptions::new()
        .filename(file)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await;
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) if e.to_string().contains("locked") || e.to_string().contains("busy") => {
            return Ok(true)
        }
        Err(e) => return Err(failed("cannot open the database", file, e)),
    };
    let locked = sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await;
    let answer = match locked {
        Ok(_) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
            Ok(false)
        }
        Err(e) if e.to_string().contains("locked") || e.to_string().contains("busy") => Ok(true),
        Err(e) => Err(failed("cannot lock the database", file, e)),
    };
    let _ = conn.close().await;
    answer
}

/// Replaces the database at `url` with the backup `source`.
pub async fn restore(source: &Path, url: &str) -> Result<Written, FileError> {
    let Some(target) = crate::database_file(url) else {
        return Err(FileError::Invalid(format!(
            "{url} is not a SQLite database file; restore replaces a SQLite installation's file"
        )));
    };
    let schema_version = check(source).await?;
    // The lock a starting server takes before its first connection (see `connect`):
    // held from the in-use check to the rename, a server started meanwhile waits and
    // then opens the restored file.
    let lock_path = {
        let mut p = target.clone().into_os_string();
        p.push("-migrate.lock");
        PathBuf::from(p)
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| failed("cannot open the lock file", &lock_path, e))?;
    let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .map_err(|e| FileError::Failed(format!("lock: {e}")))?
        .map_err(|e| failed("cannot lock", &lock_path, e))?;
    if target.is_file() && in_use(&target).await? {
        return Err(FileError::Invalid(format!(
            "the database {} is in use (a server or an admin command has it open): stop it, then restore",
            target.display()
        )));
    }
    let partial = temporary_beside(&target);
    let written = (|| {
        let mut to = create_private(&partial).map_err(|e| failed("cannot create", &partial, e))?;
        let mut from = std::fs::File::open(source).map_err(|e| failed("cannot read", source, e))?;
        let bytes = std::io::copy(&mut from, &mut to)
            .map_err(|e| failed("cannot copy the backup into", &partial, e))?;
        to.sync_all()
            .map_err(|e| failed("cannot flush", &partial, e))?;
        for suffix in ["-wal", "-shm"] {
            let mut stale = target.clone().into_os_string();
            stale.push(suffix);
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(failed("cannot remove", Path::new(&stale), e)),
            }
        }
        std::fs::rename(&partial, &target).map_err(|e| failed("cannot replace", &target, e))?;
        Ok(bytes)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    drop(lock);
    Ok(Written {
        path: target,
        bytes: written?,
        schema_version,
    })
}
