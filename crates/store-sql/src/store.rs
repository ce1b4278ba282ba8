//! [`SqlStore`]: the pool of one database and the row cache, how a backend crate
//! connects it ([`Connector`]), and the helpers every aggregate module shares: error
//! classification, JSON list columns, row decoding (`from_row!`) and running one
//! statement on the pool or in a transaction (`fetch_one`, `fetch_optional`,
//! `fetch_all`, `execute`, `changed_one`, `exists`, `ids`).

use crate::backend::Backend;
use crate::backend::RowsAffected as _;
use crate::cache::RowCache;
use crate::state_cache::StateCache;
use crate::write::{WriteTx, Writer};
use portcullis_core::store::{StoreError, StoreResult};
use sqlx::Executor;
use std::future::Future;
use std::sync::Arc;
pub(crate) use store_error as err;

#[cfg(feature = "sqlite")]
impl SqlStore<sqlx::Sqlite> {
    /// A store on `pool` whose writes go through one writer with group commit (see
    /// [`crate::write`]): one connection is taken out of the pool for it (the pool may
    /// open another in its place); reads stay on the pool.
    pub async fn with_group_commit(pool: sqlx::SqlitePool) -> StoreResult<Self> {
        let conn = pool.acquire().await.map_err(err)?.detach();
        let writer = Writer::start(conn, pool.clone());
        Ok(Self {
            writer: Some(writer),
            ..Self::new(pool)
        })
    }
}

/// Every storage trait of core on the database `B`.
#[derive(Debug)]
pub struct SqlStore<B: Backend> {
    pub(crate) pool: sqlx::Pool<B>,
    /// Client applications, tenants and limits (see [`cache`]).
    pub(crate) cache: Arc<RowCache>,
    /// Token state: revocations, families, users (see [`crate::state_cache`]).
    pub(crate) state: Arc<StateCache>,
    /// SQLite's group commit ([`crate::write`]); `None`: a transaction per write.
    pub(crate) writer: Option<Writer<B>>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            cache: Arc::clone(&self.cache),
            state: Arc::clone(&self.state),
            writer: self.writer.clone(),
        }
    }
}

/// How a backend crate opens its store: connecting and migrating are the backend
/// crate's, so it implements this for its database. `M` is a type of that crate (the
/// orphan rule lets a crate implement a foreign trait for a foreign type only when one
/// of its own types appears); there is one implementation per database, so callers
/// never name it: `SqliteStore::connect(url)`.
pub trait Connector<M>: Backend {
    /// Connects to `url` and runs pending migrations.
    fn connect(url: &str) -> impl Future<Output = StoreResult<SqlStore<Self>>> + Send;

    /// Runs pending migrations.
    fn migrate(pool: &sqlx::Pool<Self>) -> impl Future<Output = StoreResult<()>> + Send;
}

impl<B: Backend> SqlStore<B> {
    /// A store on `pool` (connected and migrated by the backend crate).
    pub fn new(pool: sqlx::Pool<B>) -> Self {
        Self {
            pool,
            cache: Arc::default(),
            state: Arc::default(),
            writer: None,
        }
    }

    /// Begins a write transaction: a unit of the writer's next batch when the store has
    /// one (SQLite), else a transaction of its own (`Backend::begin_write`).
    pub(crate) async fn begin_write(&self) -> StoreResult<WriteTx<B>> {
        match &self.writer {
            Some(w) => w.begin(true).await.map_err(err),
            None => B::begin_write(&self.pool)
                .await
                .map(WriteTx::transaction)
                .map_err(err),
        }
    }

    /// Begins a write of one statement, atomic by itself: through the writer when the
    /// store has one (so it never fights a batch for SQLite's lock), else a pooled
    /// connection in autocommit (one round trip on PostgreSQL, no `BEGIN`).
    pub(crate) async fn begin_single(&self) -> StoreResult<WriteTx<B>> {
        match &self.writer {
            Some(w) => w.begin(false).await.map_err(err),
            None => crate::backend::acquire_timed(&self.pool)
                .await
                .map(WriteTx::single)
                .map_err(err),
        }
    }

    /// Runs one writing statement (UPDATE, DELETE or INSERT, see [`Self::begin_single`]);
    /// how many rows it changed.
    pub(crate) async fn write(&self, q: Query<'_, B>) -> StoreResult<u64> {
        let mut w = self.begin_single().await?;
        let n = execute(&mut *w, q).await?;
        w.commit().await.map_err(err)?;
        Ok(n)
    }

    /// [`Self::write`] for a statement naming one row by its key: whether it changed it.
    pub(crate) async fn write_one(&self, q: Query<'_, B>) -> StoreResult<bool> {
        Ok(self.write(q).await? == 1)
    }

    /// [`Self::write`] for a statement that returns a row (`INSERT … RETURNING`),
    /// decoded with `f`.
    pub(crate) async fn write_fetch_one<T>(
        &self,
        q: Query<'_, B>,
        f: Decoder<B, T>,
    ) -> StoreResult<T> {
        let mut w = self.begin_single().await?;
        let t = fetch_one(&mut *w, q, f).await?;
        w.commit().await.map_err(err)?;
        Ok(t)
    }

    /// [`Self::write`] for a statement that may return a row (`UPDATE … RETURNING`),
    /// decoded with `f`.
    pub(crate) async fn write_fetch_optional<T>(
        &self,
        q: Query<'_, B>,
        f: Decoder<B, T>,
    ) -> StoreResult<Option<T>> {
        let mut w = self.begin_single().await?;
        let t = fetch_optional(&mut *w, q, f).await?;
        w.commit().await.map_err(err)?;
        Ok(t)
    }

    /// Connects to `url` and runs pending migrations (see the backend crate).
    pub async fn connect<M>(url: &str) -> StoreResult<Self>
    where
        B: Connector<M>,
    {
        B::connect(url).await
    }

    /// Runs pending migrations.
    pub async fn migrate<M>(&self) -> StoreResult<()>
    where
        B: Connector<M>,
    {
        B::migrate(&self.pool).await
    }

    /// The pool, for tests that inspect the raw database.
    pub fn pool(&self) -> &sqlx::Pool<B> {
        &self.pool
    }

    /// The group-commit writer, if the store has one (SQLite), for tests that drive it.
    pub fn writer(&self) -> Option<&Writer<B>> {
        self.writer.as_ref()
    }

    /// Begins a write unit as the store's own writes do, for tests of the write path
    /// (group commit: a batch of units, a unit failing or dropped mid-way).
    pub async fn begin_write_unit(&self) -> StoreResult<WriteTx<B>> {
        self.begin_write().await
    }

    /// The row cache, for tests that watch it work.
    pub fn row_cache(&self) -> &RowCache {
        &self.cache
    }

    /// The token-state cache (the PostgreSQL listener keeps it current).
    pub fn state_cache(&self) -> &Arc<StateCache> {
        &self.state
    }

    /// The row cache, shared (the PostgreSQL listener keeps it current).
    pub fn row_cache_arc(&self) -> &Arc<RowCache> {
        &self.cache
    }
}

/// A database error as a store error: a unique violation is a conflict, a lost or
/// exhausted connection is unavailability, anything else a backend failure. sqlx
/// classifies both databases' errors alike, so this is shared, not a backend hook.
pub fn store_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        e => StoreError::Backend(e.to_string()),
    }
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

/// A JSON list column (scopes, redirect URLs, grant types). A value that is not a JSON
/// list of strings is a store error naming the column (logged; the API answers 500),
/// never an empty list: an empty list would silently drop a client's redirect URLs or
/// a consent's scopes.
pub(crate) fn json_list(raw: &str, column: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(raw).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

/// A record decoded from a row: `from_row!(r => User { id, login, …; lock: expr })` reads
/// each field before the `;` from the column of its name and sets the ones after it
/// as given (or from the variable of its name); the first column that fails to decode is the error.
macro_rules! from_row {
    ($r:ident => $ty:ident { $($col:ident),+ $(; $($field:ident $(: $value:expr)?),+ $(,)?)? }) => {
        Ok($ty {
            $($col: sqlx::Row::try_get($r, stringify!($col))?,)+
            $($($field $(: $value)?,)+)?
        })
    };
}
pub(crate) use from_row;

/// A statement with its arguments bound, as `sqlx::query(..).bind(..)` builds it.
pub(crate) type Query<'q, B> = sqlx::query::Query<'q, B, <B as sqlx::Database>::Arguments<'q>>;

/// Decodes one row into a record (`user_row`, `client_row`, …).
pub(crate) type Decoder<B, T> = fn(&<B as sqlx::Database>::Row) -> Result<T, sqlx::Error>;

/// Decodes an optional row with `f`.
pub(crate) fn one<B: Backend, T>(row: Option<B::Row>, f: Decoder<B, T>) -> StoreResult<Option<T>> {
    row.as_ref().map(f).transpose().map_err(err)
}

/// Decodes every row with `f`.
pub(crate) fn all<B: Backend, T>(rows: &[B::Row], f: Decoder<B, T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect::<Result<_, _>>().map_err(err)
}

/// Histogram: seconds one statement took, through the shared helpers below (on the
/// pool this includes the wait for a connection).
pub const QUERY_SECONDS: &str = "portcullis_db_query_duration_seconds";

/// Awaits one statement and records its duration in [`QUERY_SECONDS`] (monotonic
/// clock; one histogram call, no labels, so no allocation).
async fn timed<F: Future>(statement: F) -> F::Output {
    let started = std::time::Instant::now();
    let out = statement.await;
    metrics::histogram!(QUERY_SECONDS).record(started.elapsed().as_secs_f64());
    out
}

// Running one statement and decoding what it returns: the
// `query(..).bind(..).fetch_x(executor).await.map_err(err)` + decode chain, written
// once. The executor is `&self.pool`, or `&mut *tx` inside a transaction.

/// The one row `q` returns (an `INSERT … RETURNING`), decoded with `f`.
pub(crate) async fn fetch_one<'c, B: Backend, T>(
    e: impl Executor<'c, Database = B>,
    q: Query<'_, B>,
    f: Decoder<B, T>,
) -> StoreResult<T> {
    let row = timed(q.fetch_one(e)).await.map_err(err)?;
    f(&row).map_err(err)
}

/// The row `q` returns, if any, decoded with `f`.
pub(crate) async fn fetch_optional<'c, B: Backend, T>(
    e: impl Executor<'c, Database = B>,
    q: Query<'_, B>,
    f: Decoder<B, T>,
) -> StoreResult<Option<T>> {
    let row = timed(q.fetch_optional(e)).await.map_err(err)?;
    one::<B, T>(row, f)
}

/// Every row `q` returns, decoded with `f`.
pub(crate) async fn fetch_all<'c, B: Backend, T>(
    e: impl Executor<'c, Database = B>,
    q: Query<'_, B>,
    f: Decoder<B, T>,
) -> StoreResult<Vec<T>> {
    let rows = timed(q.fetch_all(e)).await.map_err(err)?;
    all::<B, T>(&rows, f)
}

/// Runs `q` (an UPDATE, DELETE or INSERT); how many rows it changed.
pub(crate) async fn execute<'c, B: Backend>(
    e: impl Executor<'c, Database = B>,
    q: Query<'_, B>,
) -> StoreResult<u64> {
    timed(q.execute(e))
        .await
        .map(|r| r.rows_affected())
        .map_err(err)
}

/// Runs `q`, which names one row by its key; whether it changed that row.
pub(crate) async fn changed_one<'c, B: Backend>(
    e: impl Executor<'c, Database = B>,
    q: Query<'_, B>,
) -> StoreResult<bool> {
    Ok(execute(e, q).await? == 1)
}

/// Whether `q` returns a row.
pub(crate) async fn exists<'c, B: Backend>(
    e: impl Executor<'c, Database = B>,
    q: Query<'_, B>,
) -> StoreResult<bool> {
    timed(q.fetch_optional(e))
        .await
        .map(|row| row.is_some())
        .map_err(err)
}

/// The ids `sql` selects for its one parameter (`… WHERE tenant_id = $1 ORDER BY …`).
pub(crate) async fn ids<'c, B: Backend>(
    e: impl Executor<'c, Database = B>,
    sql: &str,
    id: i64,
) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_all(e)
        .await
        .map_err(err)
}
