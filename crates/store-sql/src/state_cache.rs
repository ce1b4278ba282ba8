//! Token state in memory (issue #17 item 3): what `TokenStore::token_state` reads for
//! every introspection, userinfo and protected request — whether a `jti` is revoked,
//! whether a token family is live, and the user row — kept by this process so a live
//! token costs no database round trip.
//!
//! Correctness rests on three rules (docs/decisions.md, "Token state from memory"):
//!
//! * **This process's own writes** drop what they change after their commit: a revoked
//!   `jti` or family by its key, a user by id, and the whole cache for the rare writes
//!   whose reach is wider (deleting a user, tenant or application, withdrawing consent,
//!   resetting a client secret, a code replay). A read that began before the drop cannot
//!   put its older answer back: answers are stored only when no drop happened since the
//!   read began (the `epoch`, as in [`crate::cache::RowCache`]).
//! * **Other processes' writes**, by one of two means chosen by the backend crate:
//!   * *polling* (SQLite, where the only other writers are admin commands on the same
//!     file): triggers (migration 0020) bump `state_generation.n` in the same
//!     transaction as any change to `users`, `token_families` or `revoked_tokens`; a
//!     cached read checks it at most every [`GENERATION_CHECK_MS`] and drops everything
//!     when it moved;
//!   * *notifications* (PostgreSQL): triggers `NOTIFY` the table and key, and the
//!     backend's listener drops that entry ([`StateCache::forget`]). While the listener
//!     is not subscribed ([`StateCache::set_listening`] `false`) nothing is served from
//!     or stored in memory: every read goes to the database.
//! * **Bounded memory**: each map holds at most [`STATE_MAX_ENTRIES`] entries and starts
//!   over past that.
//!
//! Only answers that can go stale in one direction are kept, and only what a database
//! read found: a missing family or user is never cached (a token naming one is refused
//! all the same, by reading again).

use crate::backend::Backend;
use crate::cache::{insert_bounded_to, GENERATION_CHECK_MS};
use portcullis_core::model::identity::User;
use portcullis_core::model::token::TokenState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

/// Entries per map at most (revoked-or-not `jti`s, families, users); past this a map
/// starts over. 50,000 `jti`s and families and 10,000 users stay under ~15 MB.
pub const STATE_MAX_ENTRIES: usize = 50_000;
const USERS_MAX_ENTRIES: usize = 10_000;

/// How the cache learns of other processes' writes.
const POLLING: u8 = 0;
/// Notifications: subscribed, so the cache is current.
const LISTENING: u8 = 1;
/// Notifications: not (yet, or no longer) subscribed: read through, keep nothing.
const DEAF: u8 = 2;

#[derive(Debug, Default)]
struct StateMaps {
    /// `jti` → revoked.
    jtis: HashMap<String, bool>,
    /// Family id → live (not revoked). Revocation is final, so `false` never changes.
    families: HashMap<String, bool>,
    users: HashMap<i64, User>,
}

/// The process-local cache behind `TokenStore::token_state` (see the module docs).
#[derive(Debug)]
pub struct StateCache {
    maps: RwLock<StateMaps>,
    /// Bumped by every drop; a read stores its answer only if unchanged since it began.
    epoch: AtomicU64,
    mode: AtomicU8,
    /// The database's `state_generation.n` when last checked (-1: never).
    generation: AtomicI64,
    /// Milliseconds since `started` of the last check.
    checked_at: AtomicU64,
    checking: AtomicBool,
    started: std::time::Instant,
    /// Whatever the backend's listener needs to live exactly as long as this cache
    /// (PostgreSQL: the sender whose drop stops the listener task).
    guard: Mutex<Option<Box<dyn std::any::Any + Send + Sync>>>,
}

impl Default for StateCache {
    fn default() -> Self {
        Self {
            maps: RwLock::default(),
            epoch: AtomicU64::new(0),
            mode: AtomicU8::new(POLLING),
            generation: AtomicI64::new(-1),
            checked_at: AtomicU64::new(0),
            checking: AtomicBool::new(false),
            started: std::time::Instant::now(),
            guard: Mutex::new(None),
        }
    }
}

/// Which entry a notification or a write names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateKey {
    Jti(String),
    Family(String),
    User(i64),
}

/// Drops everything when it goes out of scope (after the write's commit).
#[derive(Debug)]
pub struct ForgetAll<'a>(&'a StateCache);

impl Drop for ForgetAll<'_> {
    fn drop(&mut self) {
        self.0.clear();
    }
}

/// Drops one entry when it goes out of scope (after the write's commit).
#[derive(Debug)]
pub struct ForgetOne<'a>(&'a StateCache, StateKey);

impl Drop for ForgetOne<'_> {
    fn drop(&mut self) {
        self.0.forget(&self.1);
    }
}

impl StateCache {
    /// Keeps `guard` until this cache is dropped (see the `guard` field).
    pub fn hold(&self, guard: Box<dyn std::any::Any + Send + Sync>) {
        *self.guard.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
    }

    /// A guard that drops the entry `key` names when the calling write method returns.
    pub fn forget_on_drop(&self, key: StateKey) -> ForgetOne<'_> {
        ForgetOne(self, key)
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        *self.maps.write().unwrap_or_else(PoisonError::into_inner) = StateMaps::default();
    }

    /// A guard that drops every entry when the calling write method returns.
    pub fn forget_all_on_drop(&self) -> ForgetAll<'_> {
        ForgetAll(self)
    }

    /// Drops the entry `key` names (and stops reads in flight from storing theirs).
    pub fn forget(&self, key: &StateKey) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        match key {
            StateKey::Jti(j) => {
                maps.jtis.remove(j);
            }
            StateKey::Family(f) => {
                maps.families.remove(f);
            }
            StateKey::User(id) => {
                maps.users.remove(id);
            }
        }
    }

    /// Switches to notifications (the backend runs a listener): until the first
    /// [`Self::set_listening`] `true`, every read goes to the database.
    pub fn use_notifications(&self) {
        self.mode.store(DEAF, Ordering::SeqCst);
        self.clear();
    }

    /// The listener's state: subscribed (`true`: serve from memory again, starting
    /// empty) or lost (`false`: drop everything and read through).
    pub fn set_listening(&self, listening: bool) {
        if listening {
            // Empty first: what was kept before the subscription may have missed a
            // notification. Reads that began before this cannot store (the epoch).
            self.clear();
            self.mode.store(LISTENING, Ordering::SeqCst);
        } else {
            self.mode.store(DEAF, Ordering::SeqCst);
            self.clear();
        }
    }

    /// Whether the answer for `jti` is held (for the propagation probe and tests).
    pub fn holds_jti(&self, jti: &str) -> bool {
        self.maps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .jtis
            .contains_key(jti)
    }

    /// Whether answers are served from memory (polling, or subscribed).
    pub fn is_serving(&self) -> bool {
        self.mode.load(Ordering::SeqCst) != DEAF
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Before a lookup: `None` when nothing may be served (deaf), else the epoch a
    /// database read that follows a miss is stored under (polling first when due).
    async fn begin<B: Backend>(&self, pool: &sqlx::Pool<B>) -> Option<u64> {
        match self.mode.load(Ordering::SeqCst) {
            DEAF => return None,
            POLLING => self.revalidate(pool).await,
            _ => {}
        }
        Some(self.epoch())
    }

    /// The cached user `id`, else the epoch to store the database's row under (`None`:
    /// do not store). `UserStore::user` reads through this, so the refresh grant's
    /// user check costs no round trip either.
    pub(crate) async fn user<B: Backend>(
        &self,
        pool: &sqlx::Pool<B>,
        id: i64,
    ) -> Result<User, Option<u64>> {
        let epoch = self.begin(pool).await.ok_or(None)?;
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        maps.users.get(&id).cloned().ok_or(Some(epoch))
    }

    /// Stores a user row a database read found, unless anything was dropped since
    /// `epoch` or the cache stopped serving.
    pub(crate) fn store_user(&self, epoch: u64, user: &User) {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        if self.epoch() == epoch && self.is_serving() {
            insert_bounded_to(&mut maps.users, USERS_MAX_ENTRIES, user.id, user.clone());
        }
    }

    /// The cached answer for this token, if every part of it is cached; else the
    /// epoch the caller's database read must be stored under (`None`: do not store).
    pub(crate) async fn lookup<B: Backend>(
        &self,
        pool: &sqlx::Pool<B>,
        jti: &str,
        family: Option<&str>,
        user_id: Option<i64>,
    ) -> Result<TokenState, Option<u64>> {
        let epoch = self.begin(pool).await.ok_or(None)?;
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        let hit = (|| {
            let jti_revoked = *maps.jtis.get(jti)?;
            let family_live = match family {
                Some(f) => Some(*maps.families.get(f)?),
                None => None,
            };
            let user = match user_id {
                Some(id) => Some(maps.users.get(&id)?.clone()),
                None => None,
            };
            Some(TokenState {
                jti_revoked,
                family_live,
                user,
            })
        })();
        hit.ok_or(Some(epoch))
    }

    /// Stores what a database read found (`family_found`: whether the family row
    /// exists), unless anything was dropped since `epoch` or the cache stopped serving.
    pub(crate) fn store(
        &self,
        epoch: u64,
        jti: &str,
        family: Option<&str>,
        family_found: bool,
        state: &TokenState,
    ) {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        if self.epoch() != epoch || !self.is_serving() {
            return;
        }
        insert_bounded_to(
            &mut maps.jtis,
            STATE_MAX_ENTRIES,
            jti.to_owned(),
            state.jti_revoked,
        );
        if let (Some(f), Some(live), true) = (family, state.family_live, family_found) {
            insert_bounded_to(&mut maps.families, STATE_MAX_ENTRIES, f.to_owned(), live);
        }
        if let Some(u) = &state.user {
            insert_bounded_to(&mut maps.users, USERS_MAX_ENTRIES, u.id, u.clone());
        }
    }

    /// Polling mode: checks `state_generation` when the last check is older than
    /// [`GENERATION_CHECK_MS`], dropping everything when it moved (or the check failed).
    /// One caller checks at a time; the others go on with the cache meanwhile.
    async fn revalidate<B: Backend>(&self, pool: &sqlx::Pool<B>) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let never = self.generation.load(Ordering::SeqCst) < 0;
        if !never
            && now.saturating_sub(self.checked_at.load(Ordering::SeqCst)) < GENERATION_CHECK_MS
        {
            return;
        }
        if self.checking.swap(true, Ordering::SeqCst) {
            return;
        }
        let seen: Result<i64, _> =
            sqlx::query_scalar("SELECT n FROM state_generation WHERE id = 1")
                .fetch_one(pool)
                .await;
        match seen {
            Ok(n) => {
                if self.generation.swap(n, Ordering::SeqCst) != n {
                    self.clear();
                }
            }
            Err(_) => {
                self.generation.store(-1, Ordering::SeqCst);
                self.clear();
            }
        }
        self.checked_at.store(now, Ordering::SeqCst);
        self.checking.store(false, Ordering::SeqCst);
    }
}

/// What a notification (`table:key`, written by migration 0020's triggers) asks of
/// this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Drop this token-state entry.
    State(StateKey),
    /// A client application, tenant or limit changed: drop the row cache.
    Rows,
    /// Not understood: drop everything (the safe answer).
    Unknown,
}

/// Parses a notification's payload.
pub fn parse_payload(payload: &str) -> Notice {
    let (table, key) = payload.split_once(':').unwrap_or((payload, ""));
    match table {
        "revoked_tokens" => Notice::State(StateKey::Jti(key.to_owned())),
        "token_families" => Notice::State(StateKey::Family(key.to_owned())),
        "users" => key
            .parse()
            .map_or(Notice::Unknown, |id| Notice::State(StateKey::User(id))),
        "client_apps" | "tenants" | "limit_values" => Notice::Rows,
        _ => Notice::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> TokenState {
        TokenState {
            jti_revoked: false,
            family_live: Some(true),
            user: None,
        }
    }

    #[test]
    fn payloads_name_the_entry_or_the_row_cache() {
        assert_eq!(
            parse_payload("revoked_tokens:j-1"),
            Notice::State(StateKey::Jti("j-1".into()))
        );
        assert_eq!(
            parse_payload("token_families:f:1"),
            Notice::State(StateKey::Family("f:1".into()))
        );
        assert_eq!(parse_payload("users:42"), Notice::State(StateKey::User(42)));
        assert_eq!(parse_payload("users:x"), Notice::Unknown);
        assert_eq!(parse_payload("tenants:"), Notice::Rows);
        assert_eq!(parse_payload("limit_values:"), Notice::Rows);
        assert_eq!(parse_payload("something"), Notice::Unknown);
    }

    #[test]
    fn a_read_that_began_before_a_drop_stores_nothing() {
        let cache = StateCache::default();
        let before = cache.epoch();
        cache.forget(&StateKey::Jti("other".into()));
        cache.store(before, "j", Some("f"), true, &live());
        assert!(!cache.holds_jti("j"), "stale read kept");
        cache.store(cache.epoch(), "j", Some("f"), true, &live());
        assert!(cache.holds_jti("j"));
        cache.forget(&StateKey::Jti("j".into()));
        assert!(!cache.holds_jti("j"));
    }

    #[test]
    fn a_deaf_cache_keeps_nothing_and_starts_empty_when_subscribed() {
        let cache = StateCache::default();
        cache.use_notifications();
        assert!(!cache.is_serving());
        cache.store(cache.epoch(), "j", None, false, &live());
        assert!(!cache.holds_jti("j"), "kept while deaf");
        cache.set_listening(true);
        cache.store(cache.epoch(), "j", None, false, &live());
        assert!(cache.holds_jti("j"));
        cache.set_listening(false);
        assert!(!cache.holds_jti("j"), "dropped when the listener is lost");
        cache.set_listening(true);
        assert!(!cache.holds_jti("j"), "empty when subscribed again");
    }

    #[test]
    fn maps_are_bounded() {
        let mut m = HashMap::new();
        for i in 0..10 {
            insert_bounded_to(&mut m, 4, i, ());
            assert!(m.len() <= 4);
        }
        insert_bounded_to(&mut m, 4, 9, ());
        assert!(m.contains_key(&9));
    }
}
