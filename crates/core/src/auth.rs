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
//! `auth_version`: a user's grants change only through `set_user_grants`, which bumps
//! it, and roles' permission sets are fixed when the role is created, so permissions
//! read under one `auth_version` stay true until it moves (checked on every call, on
//! every node, because the user row is read on every call).

use crate::clock::{hdp_timestamp, UnixTime};
use crate::context::Context;
use crate::error::{ApiFailure, Code};
use crate::identity::{Lock, Permission, User};
use crate::store::StoreError;
use std::collections::HashMap;
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
    fn get(&self, key: &[u8; 32], user: &User, now: UnixTime) -> bool {
        let Ok(map) = self.entries.lock() else {
            return false;
        };
        map.get(key)
            .is_some_and(|c| c.expires > now && c.auth_version == user.auth_version)
    }

    fn put(&self, key: [u8; 32], user: &User, now: UnixTime) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        make_room(&mut map, |c| c.expires > now);
        map.insert(
            key,
            Cached {
                auth_version: user.auth_version,
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

fn invalid() -> ApiFailure {
    ApiFailure::new(Code::INVALID_CREDENTIALS, "Invalid user name or password.")
}

/// Finds the account a login name designates: the only user with that name, or
/// `name@tenant` when the name exists in several tenants.
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
    for user in ctx
        .store
        .users_by_login(name)
        .await
        .map_err(store_failure)?
    {
        if let Some(t) = ctx
            .store
            .tenant(user.tenant_id)
            .await
            .map_err(store_failure)?
        {
            if t.name == tenant {
                return Ok(Some(user));
            }
        }
    }
    Ok(None)
}

/// Authenticates a login name and password, counting failures toward lockout.
pub async fn authenticate_password(
    ctx: &Context,
    cache: &CredentialCache,
    login: &str,
    password: &str,
) -> Result<Principal, ApiFailure> {
    let user = resolve(ctx, login).await?;
    let user = check_password(ctx, Some(cache), user, password).await?;
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

/// Checks `password` for an already resolved account (`None`: no such user, which
/// costs the same hash and gives the same answer as a wrong password), counting a
/// failure toward lockout, refusing locked and inactive accounts. With a `cache`, a
/// recent success skips the hash (management calls); without, every call hashes
/// (the password grant).
pub async fn check_password(
    ctx: &Context,
    cache: Option<&CredentialCache>,
    user: Option<User>,
    password: &str,
) -> Result<User, ApiFailure> {
    let cache = cache.filter(|_| user.is_some());
    let now = ctx.now();
    if let Some(lock) = user.as_ref().and_then(|u| u.lock_at(now)) {
        return Err(locked(lock, now));
    }
    let key = user.as_ref().map(|u| {
        ctx.keys
            .cache_key(&[&u.id.to_be_bytes(), password.as_bytes()])
    });
    let mut cached = match (&user, &key, cache) {
        (Some(u), Some(k), Some(c)) => c.get(k, u, now),
        _ => false,
    };
    // A miss waits for a verification of the same credentials already running, then
    // looks again.
    let flight = match (&user, &key, cache) {
        (Some(u), Some(k), Some(c)) if !cached => {
            let lock = c.flight(k);
            let guard = lock.clone().lock_owned().await;
            cached = c.get(k, u, now);
            Some((c, *k, lock, guard))
        }
        _ => None,
    };
    let verified = if cached {
        Ok(true)
    } else {
        ctx.hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
    };
    if let Some((c, k, lock, guard)) = flight {
        // The entry is stored below only on success; a waiter that finds none hashes
        // itself, as before.
        if verified.as_ref().is_ok_and(|ok| *ok) {
            if let Some(u) = &user {
                c.put(k, u, now);
            }
        }
        drop(guard);
        drop(lock);
        c.land(&k);
    }
    let ok = verified.map_err(|e| {
        tracing::error!(error = %e, "password verification failed");
        ApiFailure::internal(Code::INTERNAL)
    })?;
    let Some(user) = user else {
        return Err(invalid());
    };
    if !ok {
        if let (Some(k), Some(c)) = (&key, cache) {
            c.forget(k);
        }
        let policy = crate::limits::lockout_policy(ctx.store.as_ref())
            .await
            .map_err(store_failure)?;
        let lock = ctx
            .store
            .record_login_failure(user.id, now, policy)
            .await
            .map_err(store_failure)?;
        return Err(match lock {
            Some(lock) => locked(lock, now),
            None => invalid(),
        });
    }
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
    if user.failed_logins > 0 {
        ctx.store
            .clear_login_failures(user.id)
            .await
            .map_err(store_failure)?;
    }
    if let (Some(k), Some(c)) = (key, cache) {
        if !cached {
            c.put(k, &user, now);
        }
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::crypto::{Keyring, MasterKey, PasswordHasher, VerifierKeys};
    use crate::identity::{NewUser, ROLE_USER, SYSTEM_TENANT_ID};
    use crate::store::Store;
    use crate::testing::MemoryStore;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    async fn context() -> (Context, ManualClock) {
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
            store,
            clock: Arc::new(clock.clone()),
            keys: VerifierKeys::from_pepper(&[3; 32]),
            keyring: Keyring::new(MasterKey::generate(), vec![]),
            hasher,
            signer: Arc::new(crate::oauth::keys::Signer::ephemeral("http://test").expect("signer")),
            redirects: Default::default(),
        };
        (ctx, clock)
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
        let wrong = authenticate_password(&ctx, &cache, "ann", "wrong")
            .await
            .expect_err("wrong");
        let after_wrong = computed(&ctx);
        let unknown = authenticate_password(&ctx, &cache, "nobody", "wrong")
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
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (ctx, cache) = (ctx.clone(), cache.clone());
                tokio::spawn(async move {
                    authenticate_password(&ctx, &cache, "ann", "right")
                        .await
                        .is_ok()
                })
            })
            .collect();
        for c in calls {
            assert!(c.await.expect("task"));
        }
        assert_eq!(computed(&ctx) - before, 1, "one hash for eight callers");
        assert!(cache.inflight.lock().expect("lock").is_empty());
        // Wrong passwords are not served by the right one's verification.
        let wrong = authenticate_password(&ctx, &cache, "ann", "wrong").await;
        assert!(wrong.is_err());
        assert_eq!(computed(&ctx) - before, 2);
    }

    #[tokio::test]
    async fn a_cached_credential_skips_the_hash_until_it_expires() {
        let (ctx, clock) = context().await;
        let cache = CredentialCache::default();
        let p = authenticate_password(&ctx, &cache, "ann", "right")
            .await
            .expect("first");
        assert_eq!(p.permissions, (1..=11).collect::<Vec<_>>());
        let before = computed(&ctx);
        authenticate_password(&ctx, &cache, "ann", "right")
            .await
            .expect("cached");
        assert_eq!(computed(&ctx), before, "served from the cache");
        clock.advance(CACHE_TTL);
        authenticate_password(&ctx, &cache, "ann", "right")
            .await
            .expect("expired");
        assert_eq!(computed(&ctx), before + 1, "re-verified after the TTL");
        authenticate_password(&ctx, &cache, "ann", "wrong")
            .await
            .expect_err("wrong is never cached");
        assert_eq!(computed(&ctx), before + 2);
    }

    #[tokio::test]
    async fn remembered_permissions_follow_a_change_of_grants_at_once() {
        let (ctx, _) = context().await;
        let cache = CredentialCache::default();
        let p = authenticate_password(&ctx, &cache, "ann", "right")
            .await
            .expect("first");
        assert_eq!(p.permissions, (1..=11).collect::<Vec<_>>());
        let grants = crate::store::Grants {
            roles: vec![],
            permissions: vec![11, 28],
        };
        assert!(ctx
            .store
            .set_user_grants(p.user.id, &grants)
            .await
            .expect("grants"));
        let p = authenticate_password(&ctx, &cache, "ann", "right")
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
        authenticate_password(&ctx, &cache, "ann", "right")
            .await
            .expect("ok");
        assert_eq!(cache.len(), 1);
        assert!(!format!("{cache:?}").contains("right"));
    }
}
