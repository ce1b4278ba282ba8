//! The SQL both stores share: one text for SQLite and PostgreSQL, whose dialects agree
//! on everything here (`$n` placeholders, `RETURNING`, `ON CONFLICT`), so the two
//! cannot drift and the store contract proves both.
//!
//! [`SqlStore<B>`] implements every storage trait of core over a pool of the database
//! `B`; [`Backend`] is what differs between the two (how a write transaction begins,
//! what runs after seeding, the sqlx bounds). The backend crates (`store-sqlite`,
//! `store-postgres`) connect, run their migrations and name the result
//! (`SqliteStore = SqlStore<Sqlite>`, `PgStore = SqlStore<Postgres>`).
//!
//! One module per storage trait of core, each with its one `impl XStore for
//! SqlStore<B>`: [`setup`] (liveness, seed, server secrets), [`tenants`] (tenants,
//! hosts, admins, roles), [`users`] (users, role assignments, lockout), [`limits`],
//! [`clients`] (client applications and consents), [`tokens`], [`keys`],
//! [`sessions`], [`vault`]; and [`cache`] (the row cache in front of clients, tenants
//! and limits).

pub mod backend;
pub mod cache;
pub mod clients;
pub mod keys;
pub mod limits;
pub mod sessions;
pub mod setup;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod vault;

pub use backend::Backend;
pub use cache::{RowCache, GENERATION_CHECK_MS};

use portcullis_core::store::{StoreError, StoreResult};
use std::future::Future;
use std::sync::Arc;
pub(crate) use store_error as err;

/// Every storage trait of core on the database `B`.
#[derive(Debug)]
pub struct SqlStore<B: Backend> {
    pool: sqlx::Pool<B>,
    /// Client applications, tenants and limits (see [`cache`]).
    cache: Arc<RowCache>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            cache: Arc::clone(&self.cache),
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
        }
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

    /// The row cache, for tests that watch it work.
    pub fn row_cache(&self) -> &RowCache {
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

/// Decodes an optional row with `f`.
pub(crate) fn one<B: Backend, T>(
    row: Option<B::Row>,
    f: fn(&B::Row) -> Result<T, sqlx::Error>,
) -> StoreResult<Option<T>> {
    row.as_ref().map(f).transpose().map_err(err)
}
