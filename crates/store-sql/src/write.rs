//! Write transactions ([`WriteTx`]) and, on SQLite, group commit ([`Writer`], issue #17).
//!
//! SQLite has one write lock per database file. With a transaction per request, 50
//! concurrent writers queue on it through SQLite's busy handler, which sleeps and backs
//! off, and each pays its own `COMMIT` (a WAL append and, at `synchronous = FULL`, an
//! fsync). Instead a SQLite store owns one dedicated connection, driven by one task,
//! the [`Writer`]: a write unit (what was one transaction) asks it for the connection;
//! the writer opens `BEGIN IMMEDIATE` if no batch is open, wraps the unit in
//! `SAVEPOINT unit` and lends it the connection. The unit runs its statements and
//! hands the connection back, telling the writer to `RELEASE` its savepoint (it
//! committed) or to `ROLLBACK TO` it (it failed, returned early or was dropped: a
//! failing unit rolls back alone). A unit of one statement gets no savepoint (SQLite
//! keeps a statement atomic by itself), and a `RELEASE` waits to share a round trip
//! with the next `SAVEPOINT` or is done by the `COMMIT`. The writer then lends the connection to the next
//! unit already waiting; when none waits (or the batch is full) it `COMMIT`s once and
//! answers every unit that released its savepoint with the commit's outcome. A unit's
//! caller is answered only after that `COMMIT`, so an acknowledged write is a committed
//! one; a failed `COMMIT` fails every unit of the batch, none of whose writes remain.
//!
//! PostgreSQL has row locks and no store-wide write lock: a [`WriteTx`] there is a
//! plain `sqlx::Transaction` (or, for one statement, a pooled connection in autocommit),
//! as before. Call sites are the same for both: `let mut tx = self.begin_write().await?;
//! … &mut *tx …; tx.commit().await`.
//!
//! A unit holds the store's only writing connection: it must never begin a second
//! write (it would wait for itself), nor wait on anything but its own statements. No
//! store method does either; a unit that waits more than [`LEASE_TIMEOUT`] for the
//! connection fails with an error saying so rather than hanging.

use crate::backend::Backend;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Histogram: units committed by one `COMMIT` of the SQLite writer (1 when writes come
/// one at a time; up to [`MAX_UNITS`] under load).
pub const BATCH_UNITS: &str = "portcullis_db_batch_units";

/// At most this many units in one batch, so a steady stream of writes still commits.
/// No time bound is needed beside it: a unit's caller is answered only at the batch's
/// `COMMIT`, so one client is in a batch at most once and a batch holds at most the
/// writes in flight when it began plus those arriving while it runs, never more than
/// the concurrent writers (and never more than this). A time bound would also make a
/// batch's extent depend on the machine's speed, which the tests could not pin.
pub const MAX_UNITS: usize = 256;

/// How long a unit waits for the writer's connection before failing (the pool's
/// acquire timeout, for the same reason: a store that cannot write says so).
pub const LEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// A write transaction: deref to the connection its statements run on, then
/// [`commit`](Self::commit). Dropped without a commit, it rolls back (on SQLite, its
/// savepoint only; the rest of the batch is untouched).
#[derive(Debug)]
pub struct WriteTx<B: Backend>(Inner<B>);

#[derive(Debug)]
enum Inner<B: Backend> {
    /// A transaction of its own (PostgreSQL; SQLite stores opened without a writer).
    Tx(sqlx::Transaction<'static, B>),
    /// One statement in autocommit on a pooled connection (PostgreSQL).
    Single(sqlx::pool::PoolConnection<B>),
    /// The SQLite writer's connection, lent for one unit inside its savepoint.
    Lent(Lease<B>),
}

impl<B: Backend> WriteTx<B> {
    pub(crate) fn transaction(tx: sqlx::Transaction<'static, B>) -> Self {
        Self(Inner::Tx(tx))
    }

    pub(crate) fn single(conn: sqlx::pool::PoolConnection<B>) -> Self {
        Self(Inner::Single(conn))
    }

    /// Commits: on SQLite, releases the unit's savepoint, hands the connection back and
    /// waits for the batch's `COMMIT`, whose outcome it returns.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Tx(tx) => tx.commit().await,
            Inner::Single(_) => Ok(()),
            Inner::Lent(mut lease) => {
                let (done, outcome) = oneshot::channel();
                lease.give_back(End::Release(done));
                match outcome.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(why)) => Err(unavailable(&why)),
                    Err(_) => Err(unavailable("the writer stopped before the commit")),
                }
            }
        }
    }
}

impl<B: Backend> WriteTx<B> {
    /// Rolls back (on SQLite, the unit's savepoint; the writer does it before lending
    /// the connection again). Dropping the transaction does the same.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Tx(tx) => tx.rollback().await,
            Inner::Single(_) | Inner::Lent(_) => Ok(()),
        }
    }
}

impl<B: Backend> std::ops::Deref for WriteTx<B> {
    type Target = B::Connection;

    fn deref(&self) -> &B::Connection {
        match &self.0 {
            Inner::Tx(tx) => tx,
            Inner::Single(conn) => conn,
            Inner::Lent(lease) => lease.conn(),
        }
    }
}

impl<B: Backend> std::ops::DerefMut for WriteTx<B> {
    fn deref_mut(&mut self) -> &mut B::Connection {
        match &mut self.0 {
            Inner::Tx(tx) => tx,
            Inner::Single(conn) => conn,
            Inner::Lent(lease) => lease.conn_mut(),
        }
    }
}

fn unavailable(why: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!("group commit: {why}")))
}

/// How a unit ends: released (committed into the batch; the sender gets the batch's
/// outcome) or rolled back to its savepoint.
enum End {
    Release(oneshot::Sender<Result<(), Arc<str>>>),
    Rollback,
}

/// The connection handed back to the writer, with how the unit ended.
struct Returned<B: Backend> {
    conn: B::Connection,
    end: End,
}

/// The writer's connection on loan to one unit. Dropped without being given back (a
/// unit that returned early with an error, a request future dropped when its client
/// went away, a lease never picked up), it gives the connection back with
/// [`End::Rollback`]: the writer rolls the unit's savepoint back and carries on.
struct Lease<B: Backend> {
    /// `Some` until given back (by [`WriteTx::commit`] or by drop).
    conn: Option<B::Connection>,
    back: Option<oneshot::Sender<Returned<B>>>,
}

impl<B: Backend> std::fmt::Debug for Lease<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("held", &self.conn.is_some())
            .finish()
    }
}

impl<B: Backend> Lease<B> {
    fn conn(&self) -> &B::Connection {
        match &self.conn {
            Some(conn) => conn,
            // Taken only by `give_back`, from `commit(self)` and `drop`: no borrow after.
            None => unreachable!("a lease's connection is taken only when the lease ends"),
        }
    }

    fn conn_mut(&mut self) -> &mut B::Connection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable!("a lease's connection is taken only when the lease ends"),
        }
    }

    fn give_back(&mut self, end: End) {
        if let (Some(conn), Some(back)) = (self.conn.take(), self.back.take()) {
            // A writer that is gone (the store dropped) closes nothing: the connection
            // closes here and SQLite rolls its open transaction back.
            let _ = back.send(Returned { conn, end });
        }
    }
}

impl<B: Backend> Drop for Lease<B> {
    fn drop(&mut self) {
        self.give_back(End::Rollback);
    }
}

/// What a unit asks the writer for: the connection (inside a savepoint of its own, or
/// for one statement, atomic by itself, without one), or why the batch could not begin.
struct Request<B: Backend> {
    savepoint: bool,
    reply: oneshot::Sender<Result<Lease<B>, Arc<str>>>,
}

/// The handle on a SQLite store's writer task (cloned with the store; the task ends
/// when the last handle is dropped).
#[derive(Debug)]
pub struct Writer<B: Backend> {
    queue: mpsc::UnboundedSender<Request<B>>,
    counts: Arc<Counts>,
}

impl<B: Backend> Clone for Writer<B> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            counts: Arc::clone(&self.counts),
        }
    }
}

/// What the writer has done so far, for tests that drive it (a test waits until its
/// units have asked before letting the first one go; the batch count says how many
/// `COMMIT`s it took).
#[derive(Debug, Default)]
pub struct Counts {
    /// Units that asked for the connection.
    pub asked: AtomicU64,
    /// Batches ended (committed or rolled back).
    pub batches: AtomicU64,
}

#[cfg(feature = "sqlite")]
impl Writer<sqlx::Sqlite> {
    /// Starts the writer task on `conn`, a connection of its own (taken out of `pool`,
    /// which it goes back to for a new one if a unit ever loses it). SQLite only: the
    /// spawned task names its database (the compiler cannot prove the generic future
    /// `Send` for every backend) and only SQLite needs it.
    pub(crate) fn start(conn: sqlx::SqliteConnection, pool: sqlx::SqlitePool) -> Self {
        let (queue, requests) = mpsc::unbounded_channel();
        let counts = Arc::<Counts>::default();
        tokio::spawn(run(conn, pool, requests, Arc::clone(&counts)));
        Self { queue, counts }
    }
}

impl<B: Backend> Writer<B> {
    /// What the writer has done so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Waits for the connection, inside a savepoint of the open batch when `savepoint`
    /// (a unit of several statements). Without one (a unit of one statement, which
    /// SQLite keeps atomic by itself: a failing statement undoes only itself) the unit
    /// costs the writer no round trip of its own; such a unit dropped after its
    /// statement ran keeps its write, as the same statement run on the pool did.
    pub(crate) async fn begin(&self, savepoint: bool) -> Result<WriteTx<B>, sqlx::Error> {
        let started = Instant::now();
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request { savepoint, reply })
            .map_err(|_| unavailable("the writer has stopped"))?;
        self.counts.asked.fetch_add(1, Ordering::Relaxed);
        let lease = tokio::time::timeout(LEASE_TIMEOUT, answer).await;
        // The unit's wait for a connection, as a pooled transaction's is: its turn.
        metrics::histogram!(crate::backend::ACQUIRE_SECONDS)
            .record(started.elapsed().as_secs_f64());
        match lease {
            Ok(Ok(Ok(lease))) => Ok(WriteTx(Inner::Lent(lease))),
            Ok(Ok(Err(why))) => Err(unavailable(&why)),
            Ok(Err(_)) => Err(unavailable("the writer has stopped")),
            Err(_) => Err(unavailable(
                "no turn on the writing connection within 10 s (a write unit held it that long, \
                 or began a second write while holding it)",
            )),
        }
    }
}

/// Runs `sql` (no arguments) on the writer's connection.
#[cfg(feature = "sqlite")]
async fn run_sql(conn: &mut sqlx::SqliteConnection, sql: &'static str) -> Result<(), Arc<str>> {
    sqlx::Executor::execute(conn, sql)
        .await
        .map(|_| ())
        .map_err(|e| Arc::from(format!("{sql}: {e}")))
}

/// The writer task: one batch per turn of the outer loop.
#[cfg(feature = "sqlite")]
async fn run(
    mut conn: sqlx::SqliteConnection,
    pool: sqlx::SqlitePool,
    mut requests: mpsc::UnboundedReceiver<Request<sqlx::Sqlite>>,
    counts: Arc<Counts>,
) {
    'batches: while let Some(first) = requests.recv().await {
        if let Err(why) = run_sql(&mut conn, "BEGIN IMMEDIATE").await {
            let _ = first.reply.send(Err(why));
            continue;
        }
        // A released savepoint not yet released in SQL: its `RELEASE` goes in one text
        // with the next unit's `SAVEPOINT`, or is done by the `COMMIT` (which releases
        // every savepoint). A unit without a savepoint runs inside it, harmlessly: the
        // next `ROLLBACK TO unit` names the newest savepoint of that name.
        let mut unreleased = false;
        let mut released: Vec<oneshot::Sender<Result<(), Arc<str>>>> = Vec::new();
        let mut units = 0usize;
        let mut broken: Option<Arc<str>> = None;
        let mut next = Some(first);
        while let Some(ask) = next.take() {
            let open = match (ask.savepoint, unreleased) {
                (true, true) => Some("RELEASE unit; SAVEPOINT unit"),
                (true, false) => Some("SAVEPOINT unit"),
                (false, _) => None,
            };
            if let Some(sql) = open {
                if let Err(why) = run_sql(&mut conn, sql).await {
                    let _ = ask.reply.send(Err(Arc::clone(&why)));
                    broken = Some(why);
                    break;
                }
                unreleased = false;
            }
            let (back, returned) = oneshot::channel();
            let lease = Lease {
                conn: Some(conn),
                back: Some(back),
            };
            // A unit that stopped waiting drops the lease here, which gives it back.
            drop(ask.reply.send(Ok(lease)));
            let Ok(Returned { conn: c, end }) = returned.await else {
                // Unreachable short of a leaked lease: the connection is gone, and its
                // open batch with it (closing rolls it back). Fail the batch's units and
                // go on with a new connection from the pool.
                metrics::histogram!(BATCH_UNITS).record(units as f64);
                counts.batches.fetch_add(1, Ordering::Relaxed);
                fail(
                    released,
                    "the writing connection was lost before the commit",
                );
                match pool.acquire().await {
                    Ok(c) => conn = c.detach(),
                    Err(_) => return, // later units are told "the writer has stopped"
                }
                continue 'batches;
            };
            conn = c;
            units += 1;
            match end {
                End::Release(done) => {
                    released.push(done);
                    unreleased |= ask.savepoint;
                }
                End::Rollback if ask.savepoint => {
                    if let Err(why) = run_sql(&mut conn, "ROLLBACK TO unit; RELEASE unit").await {
                        broken = Some(why);
                        break;
                    }
                }
                // One statement: it failed and undid itself, or never ran, or ran and
                // stays (its caller went away after it; see `Writer::begin`).
                End::Rollback => {}
            }
            if units >= MAX_UNITS {
                break;
            }
            next = requests.try_recv().ok();
        }
        let outcome = match broken {
            None => match run_sql(&mut conn, "COMMIT").await {
                Ok(()) => Ok(()),
                Err(why) => {
                    // A COMMIT that failed may leave the transaction open (SQLITE_BUSY).
                    let _ = run_sql(&mut conn, "ROLLBACK").await;
                    Err(why)
                }
            },
            Some(why) => {
                let _ = run_sql(&mut conn, "ROLLBACK").await;
                Err(why)
            }
        };
        metrics::histogram!(BATCH_UNITS).record(units as f64);
        counts.batches.fetch_add(1, Ordering::Relaxed);
        for done in released {
            let _ = done.send(outcome.clone());
        }
    }
}

/// Tells every released unit of a batch that it did not commit.
#[cfg(feature = "sqlite")]
fn fail(released: Vec<oneshot::Sender<Result<(), Arc<str>>>>, why: &str) {
    let why: Arc<str> = Arc::from(why);
    for done in released {
        let _ = done.send(Err(Arc::clone(&why)));
    }
}
