//! Authentication of management callers by login name and password (HTTP Basic, HDP
//! §0.1), with HDP's lockout (limits 2/3/4) and a short-lived credential cache.
//!
//! The cache exists because HDP clients send Basic credentials on every call and an
//! Argon2id hash per call would cap the management API at a few dozen requests per
//! second per core. It maps `HMAC(cache key, user id ‖ password)` — never the password
//! itself — to the user's `auth_version` at the time of a successful verification, for
//! at most [`CACHE_TTL`] seconds. The user row is read on every call anyway (status,
//! lock, permissions), and any password change, lock or deactivation bumps
//! `auth_version`, so a stale entry never authenticates, on this node or any other.
//!
//! The same cache remembers each user's effective permissions under their
//! `auth_version`: a user's role assignments change only through `set_role_assignments`, which bumps
//! it, and roles' permission sets are fixed when the role is created, so permissions
//! read under one `auth_version` stay true until it moves (checked on every call, on
//! every node, because the user row is read on every call).

use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::model::audit::{EventType, NewAuditEvent};
use crate::model::identity::{Lock, Permission, User, SYSTEM_TENANT_ID};
use crate::model::time::{hdp_timestamp, UnixTime};
use crate::ratelimit::{password_keys, FailureLimiter};
use crate::store::StoreError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Seconds a verified credential is trusted without re-hashing.
pub const CACHE_TTL: i64 = 60;
/// Entries kept at most; past this the cache is pruned (expired first, then all).
pub const CACHE_MAX: usize = 10_000;

/// An authenticated caller with their effective permissions.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub permissions: Vec<i64>,
}

impl Principal {
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.binary_search(&p.0).is_ok()
    }

    pub fn is_administrator(&self) -> bool {
        self.has(Permission::ADMINISTRATOR)
    }
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    auth_version: i64,
    expires: UnixTime,
}

/// Keeps a full cache map under [`CACHE_MAX`]: drops the entries `live` rejects, then
/// everything if that was not enough.
fn make_room<K, V>(map: &mut HashMap<K, V>, live: impl Fn(&V) -> bool) {
    if map.len() >= CACHE_MAX {
        map.retain(|_, v| live(v));
        if map.len() >= CACHE_MAX {
            map.clear();
        }
    }
}

/// A user's effective permissions as read under one `auth_version`.
#[derive(Debug, Clone)]
struct CachedPermissions {
    auth_version: i64,
    expires: UnixTime,
    permissions: Vec<i64>,
}

/// The credential cache (one per process).
#[derive(Debug, Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<[u8; 32], Cached>>,
    /// Credentials being verified now: a caller with the same credentials waits for
    /// that verification instead of starting its own hash, so a client opening many
    /// connections with one expired entry costs one Argon2 hash, not one per request.
    inflight: Mutex<HashMap<[u8; 32], std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Effective permissions by user id.
    permissions: Mutex<HashMap<i64, CachedPermissions>>,
}

impl CredentialCache {
    fn get(&self, key: &[u8; 32], auth_version: i64, now: UnixTime) -> bool {
        let Ok(map) = self.entries.lock() else {
            return false;
        };
        map.get(key)
            .is_some_and(|c| c.expires > now && c.auth_version == auth_version)
    }

    fn put(&self, key: [u8; 32], auth_version: i64, now: UnixTime) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        make_room(&mut map, |c| c.expires > now);
        map.insert(
            key,
            Cached {
                auth_version,
                expires: now + CACHE_TTL,
            },
        );
    }

    /// The lock of one credential's verification (see `inflight`).
    fn flight(&self, key: &[u8; 32]) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let Ok(mut map) = self.inflight.lock() else {
            return std::sync::Arc::default();
        };
        if map.len() >= CACHE_MAX {
            map.retain(|_, m| std::sync::Arc::strong_count(m) > 1);
        }
        map.entry(*key).or_default().clone()
    }

    /// Forgets a finished verification's lock when nobody else holds it.
    fn land(&self, key: &[u8; 32]) {
        if let Ok(mut map) = self.inflight.lock() {
            if map
                .get(key)
                .is_some_and(|m| std::sync::Arc::strong_count(m) == 1)
            {
                map.remove(key);
            }
        }
    }

    /// The permissions remembered for `user` at its current `auth_version`.
    fn permissions_of(&self, user: &User, now: UnixTime) -> Option<Vec<i64>> {
        let map = self.permissions.lock().ok()?;
        map.get(&user.id)
            .filter(|c| c.auth_version == user.auth_version && c.expires > now)
            .map(|c| c.permissions.clone())
    }

    fn remember_permissions(&self, user: &User, now: UnixTime, permissions: &[i64]) {
        let Ok(mut map) = self.permissions.lock() else {
            return;
        };
        make_room(&mut map, |c| c.expires > now);
        map.insert(
            user.id,
            CachedPermissions {
                auth_version: user.auth_version,
                expires: now + CACHE_TTL,
                permissions: permissions.to_vec(),
            },
        );
    }

    fn forget(&self, key: &[u8; 32]) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Logs a store failure and turns it into a client-safe failure (503 when the
/// database is unreachable, else an internal error).
pub fn store_failure(e: StoreError) -> ApiFailure {
    store_failure_as(e, Code::INTERNAL)
}

/// As [`store_failure`], but an internal error carries `code` (one of HDP's
/// "Problem … at this time" codes) instead of the generic one.
pub fn store_failure_as(e: StoreError, code: Code) -> ApiFailure {
    tracing::error!(error = %e, "store failure");
    match e {
        StoreError::Unavailable(_) => ApiFailure::new(
            Code::UNAVAILABLE,
            "The database is unavailable. Please try again shortly.",
        ),
        _ => ApiFailure::internal(code),
    }
}

fn locked(lock: Lock, now: UnixTime) -> ApiFailure {
    let mut f = ApiFailure::new(
        Code::ACCOUNT_LOCKED,
        format!(
            "The account is locked after too many failed sign-ins until {} UTC. Try again later or ask an administrator to unlock it.",
            hdp_timestamp(lock.locked_until)
        ),
    );
    f.retry_after = Some((lock.locked_until - now).max(1) as u64);
    f
}

/// A password hash that could not be checked (a corrupt stored hash, a dead pool).
fn verification_failed(e: impl std::fmt::Display) -> ApiFailure {
    tracing::error!(error = %e, "password verification failed");
    ApiFailure::internal(Code::INTERNAL)
}

/// Records a failed password for user `id` under the lockout policy; the lock in
/// force afterwards, if any.
async fn count_failure(ctx: &Context, id: i64, now: UnixTime) -> Result<Option<Lock>, ApiFailure> {
    let policy = crate::limits::lockout_policy(ctx.store.as_ref())
        .await
        .map_err(store_failure)?;
    ctx.store
        .record_login_failure(id, now, policy)
        .await
        .map_err(store_failure)
}

fn invalid() -> ApiFailure {
    ApiFailure::new(Code::INVALID_CREDENTIALS, "Invalid user name or password.")
}

/// The user id failures of an unknown login name are recorded against: no user has
/// it, so the store runs the same statements and changes nothing.
pub const NO_USER: i64 = 0;

/// Where a password attempt comes from, for the spraying limits
/// ([`crate::ratelimit`]): the limiter and the caller's address.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub limiter: &'a FailureLimiter,
    pub peer: Option<IpAddr>,
}

/// One password attempt admitted by the limiter; reports its outcome back to it.
#[derive(Debug)]
pub struct Throttle<'a> {
    limiter: &'a FailureLimiter,
    keys: Vec<String>,
}

impl<'a> Attempt<'a> {
    /// Admits an attempt for `login`, or refuses it (429) while the address, or the
    /// address and name, are over their budget of failures.
    pub fn begin(&self, login: &str, now: UnixTime) -> Result<Throttle<'a>, ApiFailure> {
        let keys = password_keys(self.peer, login);
        self.limiter.check(&keys, now).map_err(too_many)?;
        Ok(Throttle {
            limiter: self.limiter,
            keys,
        })
    }
}

impl Throttle<'_> {
    fn failed(&self, now: UnixTime) {
        self.limiter.record_failure(&self.keys, now);
    }

    fn succeeded(&self) {
        // The address keeps its count; only this name from it starts over.
        self.limiter.forgive(&self.keys[self.keys.len() - 1..]);
    }
}

/// The answer while an address is over its budget of failed passwords.
pub fn too_many(retry_after: u64) -> ApiFailure {
    let mut f = ApiFailure::new(
        Code::TOO_MANY_REQUESTS,
        format!("Too many failed sign-ins from your address; try again in {retry_after} seconds."),
    );
    f.retry_after = Some(retry_after);
    f
}

/// Finds the account a login name designates: the only user with that name, or
/// `name@tenant` when the name exists in several tenants. A known and an unknown
/// name of the same form cost the same store reads.
async fn resolve(ctx: &Context, login: &str) -> Result<Option<User>, ApiFailure> {
    let mut users = ctx
        .store
        .users_by_login(login)
        .await
        .map_err(store_failure)?;
    match users.len() {
        1 => return Ok(users.pop()),
        0 => {}
        _ => {
            return Err(ApiFailure::new(
                Code::INVALID_CREDENTIALS,
                "This user name exists in several tenants; sign in as name@tenant.",
            ))
        }
    }
    let Some((name, tenant)) = login.rsplit_once('@') else {
        return Ok(None);
    };
    let candidates = ctx
        .store
        .users_by_login(name)
        .await
        .map_err(store_failure)?;
    let tenant = ctx
        .store
        .tenant_by_name(tenant)
        .await
        .map_err(store_failure)?;
    Ok(tenant.and_then(|t| candidates.into_iter().find(|u| u.tenant_id == t.id)))
}

/// Authenticates a login name and password, counting failures toward lockout and
/// toward the address's spraying limits.
pub async fn authenticate_password(
    ctx: &Context,
    cache: &CredentialCache,
    attempt: Attempt<'_>,
    login: &str,
    password: &str,
) -> Result<Principal, ApiFailure> {
    let throttle = attempt.begin(login, ctx.now())?;
    let user = resolve(ctx, login).await;
    let user = match user {
        Ok(u) => u,
        Err(f) => {
            if f.code == Code::INVALID_CREDENTIALS {
                throttle.failed(ctx.now());
            }
            return Err(f);
        }
    };
    let user = check_password(ctx, Some(cache), &throttle, user, password).await?;
    let now = ctx.now();
    let permissions = match cache.permissions_of(&user, now) {
        Some(p) => p,
        None => {
            let p = ctx
                .store
                .effective_permissions(user.id)
                .await
                .map_err(store_failure)?;
            cache.remember_permissions(&user, now, &p);
            p
        }
    };
    Ok(Principal { user, permissions })
}

/// Checks `password` for an already resolved account (`None`: no such user),
/// counting a failure toward lockout and toward `throttle`'s limits, refusing locked
/// and inactive accounts. With a `cache`, a recent success skips the hash
/// (management calls); without, every call hashes (the password grant, the form).
///
/// An unknown user, a wrong password and a locked account do the same work: one
/// Argon2 hash (against a dummy hash when there is no user), the same cache steps
/// under a key of [`NO_USER`], the lockout policy read and the failure write
/// (against [`NO_USER`], which changes no row), and give the same answer for the
/// first two.
pub async fn check_password(
    ctx: &Context,
    cache: Option<&CredentialCache>,
    throttle: &Throttle<'_>,
    user: Option<User>,
    password: &str,
) -> Result<User, ApiFailure> {
    let now = ctx.now();
    let id = user.as_ref().map_or(NO_USER, |u| u.id);
    let auth_version = user.as_ref().map(|u| u.auth_version);
    let key = ctx
        .keys
        .cache_key(&[&id.to_be_bytes(), password.as_bytes()]);
    // An unknown user looks under a version no entry has, so it misses like the rest.
    let version = auth_version.unwrap_or(i64::MIN);
    let mut cached = cache.is_some_and(|c| c.get(&key, version, now));
    // A miss waits for a verification of the same credentials already running, then
    // looks again.
    let flight = match cache {
        Some(c) if !cached => {
            let lock = c.flight(&key);
            let guard = lock.clone().lock_owned().await;
            cached = c.get(&key, version, now);
            Some((c, lock, guard))
        }
        _ => None,
    };
    if cache.is_some() {
        // Issue 16: the credential cache's hit ratio (a waiter that finds the entry
        // another caller just stored is a hit).
        let counter = if cached {
            "portcullis_cache_hits_total"
        } else {
            "portcullis_cache_misses_total"
        };
        metrics::counter!(counter, "cache" => "credentials").increment(1);
    }
    let verified = if cached {
        Ok(true)
    } else {
        ctx.hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
    };
    let lock_before = user.as_ref().and_then(|u| u.lock_at(now));
    if let Some((c, lock, guard)) = flight {
        // The entry is stored below only on success; a waiter that finds none hashes
        // itself, as before.
        if verified.as_ref().is_ok_and(|ok| *ok) && lock_before.is_none() {
            if let Some(v) = auth_version {
                c.put(key, v, now);
            }
        }
        drop(guard);
        drop(lock);
        c.land(&key);
    }
    let ok = verified.map_err(verification_failed)?;
    let user = match user {
        Some(u) if ok && lock_before.is_none() => u,
        user => {
            if let Some(c) = cache {
                c.forget(&key);
            }
            throttle.failed(now);
            // Counted only for an unlocked account; a lock in force is returned.
            let lock = count_failure(ctx, id, now).await?;
            metrics::counter!("portcullis_sign_ins_total", "outcome" => "failure").increment(1);
            let reason = match (&user, lock_before) {
                (None, _) => "unknown user name",
                (Some(_), Some(_)) => "account locked",
                (Some(_), None) => "wrong password",
            };
            let tenant = user.as_ref().map_or(SYSTEM_TENANT_ID, |u| u.tenant_id);
            let mut event = NewAuditEvent::new(EventType::SignIn, tenant, now).failed(reason);
            if let Some(u) = &user {
                event = event.by_user(u.id).subject_user(u.id);
            }
            ctx.audit.record(event).await;
            if lock_before.is_none() && lock.is_some() && user.is_some() {
                // This failure is the one that locked the account.
                metrics::counter!("portcullis_lockouts_total").increment(1);
                if let (Some(u), Some(l)) = (&user, lock) {
                    ctx.audit
                        .record(
                            NewAuditEvent::new(EventType::Lockout, u.tenant_id, now)
                                .by_user(u.id)
                                .subject_user(u.id)
                                .reason(format!(
                                    "locked until {} UTC",
                                    hdp_timestamp(l.locked_until)
                                )),
                        )
                        .await;
                }
            }
            return Err(match (user, lock) {
                (Some(_), Some(lock)) => locked(lock, now),
                _ => invalid(),
            });
        }
    };
    let tenant_active = ctx
        .store
        .tenant(user.tenant_id)
        .await
        .map_err(store_failure)?
        .is_some_and(|t| t.active);
    if !user.active || !tenant_active {
        return Err(ApiFailure::new(
            Code::ACCOUNT_INACTIVE,
            "The account is inactive. Ask an administrator to activate it.",
        ));
    }
    throttle.succeeded();
    metrics::counter!("portcullis_sign_ins_total", "outcome" => "success").increment(1);
    // A sign-in is a password checked for a session or a token (no credential
    // cache); the management API's Basic authentication of each call is not one.
    if cache.is_none() {
        ctx.audit
            .record(
                NewAuditEvent::new(EventType::SignIn, user.tenant_id, now)
                    .by_user(user.id)
                    .subject_user(user.id),
            )
            .await;
    }
    if user.failed_logins > 0 {
        ctx.store
            .clear_login_failures(user.id)
            .await
            .map_err(store_failure)?;
    }
    Ok(user)
}

/// Verifies the caller's current password before a change of their own password
/// (item 1 of issue 11): a wrong or missing one is refused as `field`, changes
/// nothing and counts toward the account's lockout like a failed sign-in.
pub async fn confirm_current_password(
    ctx: &Context,
    user: &User,
    current: Option<&str>,
    field: &str,
) -> Result<(), ApiFailure> {
    let ok = match current {
        Some(p) if !p.is_empty() => ctx
            .hasher
            .verify(p, Some(&user.password_hash))
            .await
            .map_err(verification_failed)?,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let now = ctx.now();
    if let Some(lock) = count_failure(ctx, user.id, now).await? {
        return Err(locked(lock, now));
    }
    Err(ApiFailure::invalid_field(
        field,
        if current.is_some_and(|p| !p.is_empty()) {
            "is not your current password"
        } else {
            "is required: changing your own password needs your current password"
        },
    ))
}

/// Whether the user may still hold tokens: exists, active, in an active tenant, and
/// unchanged since `auth_version` (no password change, lock, deactivation or new grants).
pub async fn user_still_valid(
    ctx: &Context,
    user_id: i64,
    auth_version: Option<i64>,
) -> Result<Option<User>, crate::store::StoreError> {
    let Some(user) = ctx.store.user(user_id).await? else {
        return Ok(None);
    };
    user_valid(ctx, user, auth_version).await
}

/// [`user_still_valid`] for a user already read.
pub async fn user_valid(
    ctx: &Context,
    user: User,
    auth_version: Option<i64>,
) -> Result<Option<User>, crate::store::StoreError> {
    if !user.active
        || auth_version.is_some_and(|v| v != user.auth_version)
        || user.lock_at(ctx.now()).is_some()
    {
        return Ok(None);
    }
    let tenant_active = ctx
        .store
        .tenant(user.tenant_id)
        .await?
        .is_some_and(|t| t.active);
    Ok(tenant_active.then_some(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::crypto::{Keyring, MasterKey, PasswordHasher, VerifierKeys};
    use crate::model::identity::{NewUser, ROLE_USER, SYSTEM_TENANT_ID};
    use crate::store::{SetupStore as _, UserStore as _};
    use crate::testing::MemoryStore;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    async fn context() -> (Context, ManualClock) {
        let (ctx, clock, _) = context_and_store().await;
        (ctx, clock)
    }

    async fn context_and_store() -> (Context, ManualClock, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        store.seed(&crate::bootstrap::seed()).await.expect("seed");
        let clock = ManualClock::at(1_800_000_000);
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("right").await.expect("hash");
        store
            .create_user(NewUser::new(
                SYSTEM_TENANT_ID,
                "ann",
                hash,
                vec![ROLE_USER],
                clock.now(),
            ))
            .await
            .expect("user");
        let ctx = Context {
            audit: crate::audit::Audit::new(store.clone()),
            store: store.clone(),
            clock: Arc::new(clock.clone()),
            keys: VerifierKeys::from_pepper(&[3; 32]),
            keyring: Keyring::new(MasterKey::generate(), vec![]),
            hasher,
            signer: Arc::new(crate::keys::Signer::ephemeral("http://test").expect("signer")),
            redirects: Default::default(),
            require_pushed_requests: false,
            device_poll_interval: 5,
            documents: Arc::new(crate::upstream::fetch::Documents::none()),
        };
        (ctx, clock, store)
    }

    fn nowhere(limiter: &FailureLimiter) -> Attempt<'_> {
        Attempt {
            limiter,
            peer: Some("192.0.2.1".parse().expect("ip")),
        }
    }

    /// Signs in from one address with a limiter of its own (so no test trips it).
    async fn sign_in(
        ctx: &Context,
        cache: &CredentialCache,
        login: &str,
        password: &str,
    ) -> Result<Principal, ApiFailure> {
        authenticate_password(
            ctx,
            cache,
            nowhere(&FailureLimiter::default()),
            login,
            password,
        )
        .await
    }

    fn computed(ctx: &Context) -> u64 {
        ctx.hasher.stats().computed.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn an_unknown_user_costs_one_hash_like_a_wrong_password() {
        let (ctx, _) = context().await;
        let cache = CredentialCache::default();
        ctx.hasher.warm_up().await.expect("warm up");
        let before = computed(&ctx);
        let wrong = sign_in(&ctx, &cache, "ann", "wrong")
            .await
            .expect_err("wrong");
        let after_wrong = computed(&ctx);
        let unknown = sign_in(&ctx, &cache, "nobody", "wrong")
            .await
            .expect_err("unknown");
        let after_unknown = computed(&ctx);
        assert_eq!(after_wrong - before, 1);
        assert_eq!(after_unknown - after_wrong, 1);
        assert_eq!(wrong, unknown);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_with_one_credential_share_one_hash() {
        let (ctx, _) = context().await;
        let cache = Arc::new(CredentialCache::default());
        let before = computed(&ctx);
        // The eight start together, so they really overlap.
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (ctx, cache, start) = (ctx.clone(), cache.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    sign_in(&ctx, &cache, "ann", "right").await.is_ok()
                })
            })
            .collect();
        for c in calls {
            assert!(c.await.expect("task"));
        }
        assert_eq!(computed(&ctx) - before, 1, "one hash for eight callers");
        assert!(cache.inflight.lock().expect("lock").is_empty());
        // Wrong passwords are not served by the right one's verification.
        let wrong = sign_in(&ctx, &cache, "ann", "wrong").await;
        assert!(wrong.is_err());
        assert_eq!(computed(&ctx) - before, 2);
    }

    #[tokio::test]
    async fn a_cached_credential_skips_the_hash_until_it_expires() {
        let (ctx, clock) = context().await;
        let cache = CredentialCache::default();
        let p = sign_in(&ctx, &cache, "ann", "right").await.expect("first");
        assert_eq!(p.permissions, (1..=11).collect::<Vec<_>>());
        let before = computed(&ctx);
        sign_in(&ctx, &cache, "ann", "right").await.expect("cached");
        assert_eq!(computed(&ctx), before, "served from the cache");
        clock.advance(CACHE_TTL);
        sign_in(&ctx, &cache, "ann", "right")
            .await
            .expect("expired");
        assert_eq!(computed(&ctx), before + 1, "re-verified after the TTL");
        sign_in(&ctx, &cache, "ann", "wrong")
            .await
            .expect_err("wrong is never cached");
        assert_eq!(computed(&ctx), before + 2);
    }

    #[tokio::test]
    async fn remembered_permissions_follow_a_change_of_grants_at_once() {
        let (ctx, _) = context().await;
        let cache = CredentialCache::default();
        let p = sign_in(&ctx, &cache, "ann", "right").await.expect("first");
        assert_eq!(p.permissions, (1..=11).collect::<Vec<_>>());
        let grants = crate::model::identity::RoleAssignments {
            roles: vec![],
            permissions: vec![11, 28],
        };
        assert!(ctx
            .store
            .set_role_assignments(p.user.id, &grants)
            .await
            .expect("grants"));
        let p = sign_in(&ctx, &cache, "ann", "right")
            .await
            .expect("after the change");
        assert_eq!(
            p.permissions,
            vec![11, 28],
            "new grants are seen on the next call, not after the cache's TTL"
        );
    }

    #[tokio::test]
    async fn the_cache_never_holds_the_password() {
        let (ctx, _) = context().await;
        let cache = CredentialCache::default();
        sign_in(&ctx, &cache, "ann", "right").await.expect("ok");
        assert_eq!(cache.len(), 1);
        assert!(!format!("{cache:?}").contains("right"));
    }

    /// The store operations and hashes one failed attempt costs.
    async fn work<F: std::future::Future>(
        ctx: &Context,
        store: &MemoryStore,
        attempt: F,
    ) -> (Vec<String>, u64) {
        store.take_calls();
        let before = computed(ctx);
        attempt.await;
        (store.take_calls(), computed(ctx) - before)
    }

    #[tokio::test]
    async fn unknown_names_cost_the_same_store_work_as_wrong_passwords_over_basic() {
        let (ctx, _, store) = context_and_store().await;
        let limiter = FailureLimiter::default();
        let cache = CredentialCache::default();
        ctx.hasher.warm_up().await.expect("warm up");
        let attempt = nowhere(&limiter);
        let wrong = work(&ctx, &store, async {
            authenticate_password(&ctx, &cache, attempt, "ann", "wrong")
                .await
                .expect_err("wrong")
        })
        .await;
        let unknown = work(&ctx, &store, async {
            authenticate_password(&ctx, &cache, attempt, "nobody", "wrong")
                .await
                .expect_err("unknown")
        })
        .await;
        assert_eq!(wrong.1, 1, "one hash");
        assert_eq!(wrong, unknown, "same store calls, in order, and hashes");
        assert!(
            wrong.0.len() >= 3,
            "the lookup, the policy read and the failure write: {:?}",
            wrong.0
        );
        // name@tenant forms too.
        let wrong = work(&ctx, &store, async {
            authenticate_password(&ctx, &cache, attempt, "ann@system", "wrong").await
        })
        .await;
        let unknown = work(&ctx, &store, async {
            authenticate_password(&ctx, &cache, attempt, "bob@system", "wrong").await
        })
        .await;
        assert_eq!(wrong, unknown);
        // A locked account costs the same as well.
        for _ in 0..3 {
            let _ = authenticate_password(&ctx, &cache, attempt, "ann", "wrong").await;
        }
        let locked = work(&ctx, &store, async {
            authenticate_password(&ctx, &cache, attempt, "ann", "wrong")
                .await
                .expect_err("locked")
        })
        .await;
        let unknown = work(&ctx, &store, async {
            authenticate_password(&ctx, &cache, attempt, "nobody", "wrong").await
        })
        .await;
        assert_eq!(locked, unknown);
    }

    #[tokio::test]
    async fn unknown_names_and_tenants_cost_the_same_store_work_at_the_form() {
        let (ctx, _, store) = context_and_store().await;
        let limiter = FailureLimiter::default();
        let attempt = nowhere(&limiter);
        ctx.hasher.warm_up().await.expect("warm up");
        let wrong = work(&ctx, &store, async {
            crate::session::sign_in(&ctx, attempt, "system", "ann", "wrong")
                .await
                .expect_err("wrong")
        })
        .await;
        let unknown = work(&ctx, &store, async {
            crate::session::sign_in(&ctx, attempt, "system", "nobody", "wrong")
                .await
                .expect_err("unknown")
        })
        .await;
        let no_tenant = work(&ctx, &store, async {
            crate::session::sign_in(&ctx, attempt, "Nowhere", "ann", "wrong")
                .await
                .expect_err("unknown tenant")
        })
        .await;
        assert_eq!(wrong.1, 1);
        assert_eq!(wrong, unknown);
        assert_eq!(wrong, no_tenant);
    }

    #[tokio::test]
    async fn unknown_names_cost_the_same_store_work_at_the_password_grant() {
        use crate::crypto::Secret;
        use crate::model::client_app::{GrantType, NewClientApp};
        use crate::oauth::request::{ClientCredentials, Endpoint, TokenRequest};
        let (ctx, clock, store) = context_and_store().await;
        let limiter = FailureLimiter::default();
        let owner = ctx
            .store
            .users_by_login("ann")
            .await
            .expect("ann")
            .remove(0);
        ctx.store
            .create_client_app(NewClientApp {
                tenant_id: SYSTEM_TENANT_ID,
                owner_id: Some(owner.id),
                name: "app".into(),
                description: String::new(),
                redirect_urls: vec!["https://app.example/cb".into()],
                client_id: "client-1".into(),
                secret_verifier: Some(ctx.keys.verifier("client-secret-0123456789")),
                public: false,
                grant_types: GrantType::ALL.to_vec(),
                scopes: vec!["api.access.odata".into()],
                post_logout_redirect_uris: Vec::new(),
                id_token_signed_response_alg: None,
                userinfo_signed_response_alg: None,
                require_pushed_authorization_requests: false,
                token_endpoint_auth_method:
                    crate::model::client_app::TokenEndpointAuthMethod::for_public(false),
                profile: Default::default(),
                registered_by: crate::model::client_app::RegisteredBy::User,
                registration_verifier: None,
                token_exchange_policy: None,
                now: clock.now(),
            })
            .await
            .expect("app");
        ctx.hasher.warm_up().await.expect("warm up");
        let request = |username: &str| TokenRequest {
            grant_type: Some("password".into()),
            username: Some(username.into()),
            password: Some(Secret::new("wrong")),
            client: ClientCredentials {
                basic: Some(("client-1".into(), Secret::new("client-secret-0123456789"))),
                ..ClientCredentials::default()
            },
            peer: Some("192.0.2.1".parse().expect("ip")),
            ..TokenRequest::default()
        };
        let run = |username: &'static str| {
            let (ctx, limiter) = (&ctx, &limiter);
            let req = request(username);
            async move {
                crate::oauth::token::exchange(ctx, limiter, req, Endpoint::Standard)
                    .await
                    .expect_err("refused")
            }
        };
        let wrong = work(&ctx, &store, run("ann")).await;
        let unknown = work(&ctx, &store, run("nobody")).await;
        assert_eq!(wrong.1, 1);
        assert_eq!(wrong, unknown);
    }

    #[tokio::test]
    async fn an_address_spraying_passwords_is_refused_before_any_work() {
        let (ctx, clock, store) = context_and_store().await;
        let limiter = FailureLimiter::default();
        let cache = CredentialCache::default();
        let attempt = nowhere(&limiter);
        for i in 0..crate::ratelimit::PASSWORD_PER_ADDRESS {
            let e = authenticate_password(&ctx, &cache, attempt, &format!("user{i}"), "pw")
                .await
                .expect_err("unknown");
            assert_eq!(e.code, Code::INVALID_CREDENTIALS);
        }
        let (calls, hashes) = work(&ctx, &store, async {
            let e = authenticate_password(&ctx, &cache, attempt, "ann", "right")
                .await
                .expect_err("throttled");
            assert_eq!(e.code, Code::TOO_MANY_REQUESTS);
            assert_eq!(e.retry_after, Some(300));
        })
        .await;
        assert_eq!((calls.len(), hashes), (0, 0), "no store call, no hash");
        let other = Attempt {
            limiter: &limiter,
            peer: Some("192.0.2.2".parse().expect("ip")),
        };
        authenticate_password(&ctx, &cache, other, "ann", "right")
            .await
            .expect("another address is not limited");
        clock.advance(crate::ratelimit::PASSWORD_WINDOW);
        authenticate_password(&ctx, &cache, attempt, "ann", "right")
            .await
            .expect("after the window");
    }

    #[tokio::test]
    async fn a_wrong_or_missing_current_password_counts_toward_lockout() {
        let (ctx, _) = context().await;
        let ann = ctx
            .store
            .users_by_login("ann")
            .await
            .expect("ann")
            .remove(0);
        let e = confirm_current_password(&ctx, &ann, None, "oldPassword")
            .await
            .expect_err("missing");
        assert_eq!(e.code, Code::INVALID_FIELD);
        let e = confirm_current_password(&ctx, &ann, Some("wrong"), "oldPassword")
            .await
            .expect_err("wrong");
        assert_eq!(e.code, Code::INVALID_FIELD);
        let after = ctx.store.user(ann.id).await.expect("user").expect("ann");
        assert_eq!(after.failed_logins, 2);
        confirm_current_password(&ctx, &ann, Some("right"), "oldPassword")
            .await
            .expect("right");
        let e = confirm_current_password(&ctx, &ann, Some("wrong"), "oldPassword")
            .await
            .expect_err("third");
        assert_eq!(e.code, Code::ACCOUNT_LOCKED, "the third failure locks");
    }
}
