//! The row cache in front of client applications, tenants and limits.
//!
//! Every token request reads its client application, the tenant and four limits, and
//! through sqlx each of those reads costs more than the rest of the request (a round
//! trip to the connection's worker thread, or to PostgreSQL). They change rarely, so
//! this process keeps them, and stays correct by two rules:
//!
//! * Its own writes: every method that changes a cached table drops the whole cache
//!   after its commit ([`RowCache::invalidate_on_drop`]). A read that started before the
//!   drop cannot put its older row back: entries are stored only when no drop happened
//!   since the read began (the `epoch`).
//! * Everyone else's writes (other nodes, admin commands in another process): on
//!   SQLite, triggers in the database (migration 0007) bump `cache_generation.n` in the
//!   same transaction as any change to `client_apps`, `tenants` or `limit_values`. A
//!   cached read checks that number at most every [`GENERATION_CHECK_MS`] and drops the
//!   cache when it moved, so another process's change is seen within that bound. On
//!   PostgreSQL the node's listener (store-postgres `listener.rs`, migration 0020's
//!   `NOTIFY`) drops the cache instead, and no read polls; while the listener is not
//!   subscribed the cache keeps nothing and every read goes to the database
//!   ([`RowCache::set_listening`]).
//!
//! Token state (revocations, families, users) has its own cache, [`crate::state_cache`];
//! refresh tokens and codes are never cached.

use crate::backend::Backend;
use portcullis_core::model::client_app::ClientApp;
use portcullis_core::model::identity::Tenant as CachedTenant;
use portcullis_core::store::StoreResult;
use std::collections::HashMap as CacheMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering as AtomicOrdering};

/// Milliseconds between checks of the database's change counter: the most a change
/// made elsewhere stays invisible here.
pub const GENERATION_CHECK_MS: u64 = 250;
/// Entries per map at most; past this a map starts over.
const CACHE_MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct CacheMaps {
    pub(crate) apps_by_client_id: CacheMap<String, ClientApp>,
    pub(crate) apps_by_id: CacheMap<i64, ClientApp>,
    pub(crate) tenants: CacheMap<i64, CachedTenant>,
    /// Every application's redirect URLs (`ClientStore::all_redirect_urls`): one
    /// list, shared until the cache is dropped.
    pub(crate) all_redirect_urls: Option<std::sync::Arc<[String]>>,
    /// `(limit id, tenant, user)` → the value in force (`None`: the default).
    pub(crate) limits: CacheMap<(i64, i64, Option<i64>), Option<i64>>,
}

/// The process-local cache of client applications, tenants and limit values.
#[derive(Debug)]
pub struct RowCache {
    maps: std::sync::RwLock<CacheMaps>,
    /// Bumped by every drop; a miss stores its row only if unchanged since it began.
    epoch: AtomicU64,
    /// The database's `cache_generation.n` when last checked (-1: never).
    generation: AtomicI64,
    /// Milliseconds since `started` of the last check.
    checked_at: AtomicU64,
    checking: AtomicBool,
    started: std::time::Instant,
    /// 0: polls `cache_generation` (SQLite); 1: a listener keeps it current
    /// (PostgreSQL, subscribed); 2: a listener should, but is not subscribed: read
    /// through and keep nothing.
    mode: std::sync::atomic::AtomicU8,
}

impl Default for RowCache {
    fn default() -> Self {
        Self {
            maps: std::sync::RwLock::default(),
            epoch: AtomicU64::new(0),
            generation: AtomicI64::new(-1),
            checked_at: AtomicU64::new(0),
            checking: AtomicBool::new(false),
            started: std::time::Instant::now(),
            mode: std::sync::atomic::AtomicU8::new(0),
        }
    }
}

/// Drops the cache when it goes out of scope (after the write's commit).
#[derive(Debug)]
pub struct Invalidate<'a>(&'a RowCache);

impl Drop for Invalidate<'_> {
    fn drop(&mut self) {
        self.0.clear();
    }
}

impl RowCache {
    /// Drops every entry.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, AtomicOrdering::SeqCst);
        let mut maps = self
            .maps
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *maps = CacheMaps::default();
    }

    /// The listener's state (PostgreSQL, see `state_cache`): subscribed, the cache
    /// stops polling and serves until a notification drops it; not subscribed, it is
    /// dropped and every read goes to the database.
    pub fn set_listening(&self, listening: bool) {
        self.clear();
        self.mode
            .store(if listening { 1 } else { 2 }, AtomicOrdering::SeqCst);
        // A read that began before the switch cannot store (the epoch).
        self.clear();
    }

    /// A guard that drops the cache when the calling write method returns.
    pub fn invalidate_on_drop(&self) -> Invalidate<'_> {
        Invalidate(self)
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(AtomicOrdering::SeqCst)
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&CacheMaps) -> Option<T>) -> Option<T> {
        let maps = self
            .maps
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&maps)
    }

    /// Stores what a read found, unless the cache was dropped since `epoch`.
    pub(crate) fn store(&self, epoch: u64, f: impl FnOnce(&mut CacheMaps)) {
        let mut maps = self
            .maps
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.epoch() == epoch && self.mode.load(AtomicOrdering::SeqCst) != 2 {
            f(&mut maps);
        }
    }

    /// A read through the cache: `get` looks the value up (after [`Self::revalidate`]);
    /// on a miss `load` (a future not yet polled, so it runs only then) reads the
    /// database and `put` stores what it found, unless a write dropped the cache since
    /// the read began. `V` is what the caller returns
    /// (an `Option` for a row that may be missing; `put` decides whether a miss is
    /// kept too).
    pub(crate) async fn read_through<B: Backend, V>(
        &self,
        pool: &sqlx::Pool<B>,
        get: impl FnOnce(&CacheMaps) -> Option<V>,
        load: impl Future<Output = StoreResult<V>>,
        put: impl FnOnce(&mut CacheMaps, &V),
    ) -> StoreResult<V> {
        self.revalidate(pool).await;
        let serving = self.mode.load(AtomicOrdering::SeqCst) != 2;
        if let Some(v) = self.read(get).filter(|_| serving) {
            metrics::counter!("portcullis_cache_hits_total", "cache" => "rows").increment(1);
            return Ok(v);
        }
        metrics::counter!("portcullis_cache_misses_total", "cache" => "rows").increment(1);
        let epoch = self.epoch();
        let v = load.await?;
        self.store(epoch, |m| put(m, &v));
        Ok(v)
    }

    /// [`Self::read_through`] for a row that may be missing: a miss is not kept, a
    /// found row is `put`.
    pub(crate) async fn read_row_through<B: Backend, T: Clone>(
        &self,
        pool: &sqlx::Pool<B>,
        get: impl FnOnce(&CacheMaps) -> Option<T>,
        load: impl Future<Output = StoreResult<Option<T>>>,
        put: impl FnOnce(&mut CacheMaps, T),
    ) -> StoreResult<Option<T>> {
        let get = |m: &CacheMaps| get(m).map(Some);
        let put = |m: &mut CacheMaps, row: &Option<T>| {
            if let Some(row) = row {
                put(m, row.clone());
            }
        };
        self.read_through(pool, get, load, put).await
    }

    /// Checks the database's change counter when the last check is older than
    /// [`GENERATION_CHECK_MS`], dropping the cache when it moved. One caller checks at a
    /// time; the others go on with the cache meanwhile. A failed check drops the cache
    /// (the reads that follow go to the database and report its failure).
    pub(crate) async fn revalidate<B: Backend>(&self, pool: &sqlx::Pool<B>) {
        if self.mode.load(AtomicOrdering::SeqCst) != 0 {
            return;
        }
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let never = self.generation.load(AtomicOrdering::SeqCst) < 0;
        if !never
            && now.saturating_sub(self.checked_at.load(AtomicOrdering::SeqCst))
                < GENERATION_CHECK_MS
        {
            return;
        }
        if self.checking.swap(true, AtomicOrdering::SeqCst) {
            return;
        }
        let seen: Result<i64, _> =
            sqlx::query_scalar("SELECT n FROM cache_generation WHERE id = 1")
                .fetch_one(pool)
                .await;
        match seen {
            Ok(n) => {
                if self.generation.swap(n, AtomicOrdering::SeqCst) != n {
                    self.clear();
                }
            }
            Err(_) => {
                self.generation.store(-1, AtomicOrdering::SeqCst);
                self.clear();
            }
        }
        self.checked_at.store(now, AtomicOrdering::SeqCst);
        self.checking.store(false, AtomicOrdering::SeqCst);
    }
}

/// Inserts into one of the cache's maps, starting the map over when it is full.
pub(crate) fn insert_bounded<K: std::hash::Hash + Eq, V>(
    map: &mut CacheMap<K, V>,
    key: K,
    value: V,
) {
    insert_bounded_to(map, CACHE_MAX_ENTRIES, key, value);
}

/// Inserts into `map`, starting it over when it holds `max` entries.
pub(crate) fn insert_bounded_to<K: std::hash::Hash + Eq, V>(
    map: &mut CacheMap<K, V>,
    max: usize,
    key: K,
    value: V,
) {
    if map.len() >= max && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}
