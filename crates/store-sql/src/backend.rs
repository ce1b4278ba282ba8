//! The [`Backend`] trait: everything the shared SQL needs from a database that is not
//! the SQL text itself. It is sealed (implemented here, for `sqlx::Sqlite` under the
//! feature `sqlite` and `sqlx::Postgres` under `postgres`, and nowhere else) and it
//! bundles the sqlx bounds the generic code relies on, so `impl<B: Backend>` is the
//! whole bound at every use.
//!
//! Rust only carries a trait's bounds to its users when they are bounds on `Self`
//! (supertraits) or on `Self`'s associated types. A bound such as "`i64` encodes for
//! this database" is neither, so each is written as a bound on an associated type of
//! [`Is`], pinned to `T` (`Is<T, Ty = T>`): the compiler carries both along and so
//! knows the bound holds for `T` itself.

use portcullis_core::store::StoreResult;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type,
};
use std::future::Future;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// `Ty` is `T`: a carrier for bounds on types other than `Self` (see the module docs).
pub trait Is<T: ?Sized> {
    /// Always `T`.
    type Ty: ?Sized;
}

impl<X: ?Sized, T: ?Sized> Is<T> for X {
    type Ty = T;
}

/// How many rows a statement changed (sqlx has it as an inherent method per database).
pub trait RowsAffected {
    /// The number of rows the statement inserted, updated or deleted.
    fn rows_affected(&self) -> u64;
}

mod sealed {
    pub trait Sealed {}
}

/// A database the shared SQL runs on: `sqlx::Sqlite` or `sqlx::Postgres`.
pub trait Backend: sealed::Sealed
    + Database<QueryResult: RowsAffected>
    + for<'q> Database<Arguments<'q>: IntoArguments<'q, Self>>
    // Statements run on a pooled or a transaction's connection.
    + for<'c> Is<&'c mut <Self as Database>::Connection, Ty = &'c mut <Self as Database>::Connection>
    + for<'c> Is<&'c mut <Self as Database>::Connection, Ty: Executor<'c, Database = Self>>
    // The column types (integers, flags, text; sqlx encodes `Option` per database) and
    // reading columns by name and position.
    + Is<i64, Ty = i64>
    + Is<i64, Ty: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>>
    + Is<bool, Ty = bool>
    + Is<bool, Ty: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>>
    + Is<String, Ty = String>
    + Is<String, Ty: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>>
    + Is<str, Ty = str>
    + Is<str, Ty: Type<Self>>
    + for<'a> Is<&'a str, Ty = &'a str>
    + for<'a> Is<&'a str, Ty: Encode<'a, Self> + Decode<'a, Self> + ColumnIndex<<Self as Database>::Row>>
    + Is<Option<i64>, Ty = Option<i64>>
    + Is<Option<i64>, Ty: for<'q> Encode<'q, Self>>
    + Is<Option<bool>, Ty = Option<bool>>
    + Is<Option<bool>, Ty: for<'q> Encode<'q, Self>>
    + Is<Option<String>, Ty = Option<String>>
    + Is<Option<String>, Ty: for<'q> Encode<'q, Self>>
    + for<'a> Is<Option<&'a str>, Ty = Option<&'a str>>
    + for<'a> Is<Option<&'a str>, Ty: Encode<'a, Self>>
    + Is<usize, Ty = usize>
    + Is<usize, Ty: ColumnIndex<<Self as Database>::Row>>
{
    /// Whether a statement may hold data-modifying common table expressions
    /// (`WITH x AS (UPDATE … RETURNING …) INSERT …`): PostgreSQL yes, SQLite no. Where
    /// it can, a single-use write and what follows from it are one statement, one round
    /// trip and atomic without an explicit transaction (issue #17).
    const WRITING_CTES: bool;

    /// Begins a transaction that will write. Both use `BEGIN` today: the shared SQL
    /// opens every write transaction with a write, so SQLite takes its write lock up
    /// front and two writers never deadlock upgrading read locks, and PostgreSQL's row
    /// locks need no more (see the SQLite impl for why not `BEGIN IMMEDIATE` yet).
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// Runs after the seed rows (explicit ids) are inserted, in the same transaction:
    /// PostgreSQL moves its identity sequences past them; SQLite needs nothing.
    fn after_seed(
        conn: &mut <Self as Database>::Connection,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Histogram: seconds a write transaction waited for a connection (a pooled one; on
/// SQLite its turn on the group-commit writer's, see `crate::write`).
pub const ACQUIRE_SECONDS: &str = "portcullis_db_acquire_seconds";

/// A pooled connection, with the wait for it recorded in [`ACQUIRE_SECONDS`] (a
/// one-statement write in autocommit, see `SqlStore::begin_single`).
pub(crate) async fn acquire_timed<B: Database>(
    pool: &Pool<B>,
) -> Result<sqlx::pool::PoolConnection<B>, sqlx::Error> {
    let started = std::time::Instant::now();
    let conn = pool.acquire().await;
    metrics::histogram!(ACQUIRE_SECONDS).record(started.elapsed().as_secs_f64());
    conn
}

/// `pool.begin()` with the wait for a connection timed apart from the `BEGIN`
/// (issue 16's database pool waits): acquires, records [`ACQUIRE_SECONDS`], then
/// begins on that connection as `Pool::begin` does. Reads outside transactions
/// acquire inside sqlx; their wait is part of `portcullis_db_query_duration_seconds`.
pub(crate) async fn begin_timed<B: Database>(
    pool: &Pool<B>,
) -> Result<Transaction<'static, B>, sqlx::Error> {
    let started = std::time::Instant::now();
    let conn = pool.acquire().await;
    metrics::histogram!(ACQUIRE_SECONDS).record(started.elapsed().as_secs_f64());
    // `Transaction::begin` is what `Pool::begin` runs on its acquired connection
    // (public, hidden from sqlx's docs); the transaction owns the connection.
    Transaction::begin(conn?, None).await
}
