//! Argon2id password hashing on a bounded blocking pool (SPEC §5.1).
//!
//! Hashing costs tens of milliseconds of CPU and 19 MiB of memory, so it never runs on
//! the async worker threads: each hash waits for one of a fixed number of permits and
//! then runs on one of as many dedicated threads, started with the pool. A flood of
//! logins queues here while every other request keeps being served. On Linux those
//! threads run at a lower scheduling priority ([`HASH_THREAD_NICE`]), so while they
//! hash, a request ready on an async worker still gets a core at once: the flood takes
//! the CPU that is left, not the CPU other requests need. Dedicated threads also bound
//! the memory: the allocator keeps a freed 19 MiB block per thread that hashed, and
//! tokio's blocking pool would bring many threads (hundreds of MiB after a flood).
//! Verifying an unknown user runs the same hash against a dummy so that "no such user"
//! and "wrong password" take the same time.

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use subtle::ConstantTimeEq as _;
use tokio::sync::{oneshot, OnceCell, Semaphore};

/// The nice value of the hashing threads (Linux): their CPU share is about a tenth of
/// a normal thread's while both want the CPU, and all of an idle CPU.
pub const HASH_THREAD_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// This hashing thread's Argon2 working memory (19 MiB with OWASP parameters), kept
    /// from one hash to the next: allocating it per hash let glibc keep a freed copy
    /// per arena, and RSS grew by 19 MiB steps to over 100 MiB.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes an Argon2 output into `out` in this thread's kept memory (`keep`), or in
/// memory allocated for this hash only.
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    keep: bool,
) -> argon2::Result<()> {
    if !keep {
        return argon.hash_password_into(password, salt, out);
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let n = params.block_count();
        if blocks.len() < n {
            blocks.resize(n, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..n])
    })
}

/// Hashes into a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
fn hash_phc(params: &Params, password: &[u8], keep: bool) -> password_hash::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let hash = Output::init_with(len, |out| {
        Ok(compute(&argon, params, password, salt_bytes, out, keep)?)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    }
    .to_string())
}

/// Whether `password` matches the PHC string `phc` (any Argon2 variant and parameters
/// the string names), compared in constant time.
fn verify_phc(phc: &str, password: &[u8]) -> password_hash::Result<bool> {
    let parsed = PasswordHash::new(phc)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf)?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    compute(&argon, &params, password, salt_bytes, &mut out, true)?;
    Ok(bool::from(out.ct_eq(expected.as_bytes())))
}

/// Starts `n` hashing threads taking jobs from one queue; they end when every sender
/// is gone (the last clone of the pool dropped). Falls back to tokio's blocking pool
/// (`None`) when a thread cannot be started.
fn start_threads(n: usize) -> Option<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        let started = std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                #[cfg(target_os = "linux")]
                let _ = rustix::process::setpriority_process(
                    Some(rustix::thread::gettid()),
                    HASH_THREAD_NICE,
                );
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if started.is_err() {
            return None;
        }
    }
    Some(tx)
}

/// OWASP's first recommended Argon2id setting: m = 19 MiB, t = 2, p = 1.
pub const OWASP_M_COST_KIB: u32 = 19 * 1024;
pub const OWASP_T_COST: u32 = 2;

/// Why hashing failed (never because of the password's content).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(String),
    #[error("password hashing task failed")]
    Join,
}

/// Counters of the pool's work, for tests and metrics.
#[derive(Debug, Default)]
pub struct HashStats {
    /// Argon2 computations finished (hashes and verifications, the dummy included).
    pub computed: AtomicU64,
    in_flight: AtomicUsize,
    /// The most computations ever running at once.
    pub peak_in_flight: AtomicUsize,
}

/// Gauge: hashes waiting for a permit of the pool now (issue 16's Argon2 queue depth).
pub const QUEUE_DEPTH: &str = "portcullis_argon2_queue_depth";
/// Histogram: seconds a hash waited before it started computing.
pub const WAIT_SECONDS: &str = "portcullis_argon2_wait_seconds";

/// One caller in [`QUEUE_DEPTH`] until dropped: when the permit is granted, or when
/// the caller gives up (its request cancelled), so the gauge never drifts.
struct Queued;

impl Queued {
    fn enter() -> Self {
        metrics::gauge!(QUEUE_DEPTH).increment(1.0);
        Self
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        metrics::gauge!(QUEUE_DEPTH).decrement(1.0);
    }
}

/// The bounded Argon2id pool.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// The dedicated threads' queue (`None`: tokio's blocking pool).
    threads: Option<mpsc::Sender<Job>>,
    params: Params,
    dummy: Arc<OnceCell<String>>,
    stats: Arc<HashStats>,
}

impl PasswordHasher {
    /// A pool running at most `concurrency` hashes at once with OWASP parameters.
    pub fn new(concurrency: usize) -> Self {
        let params = Params::new(OWASP_M_COST_KIB, OWASP_T_COST, 1, None).unwrap_or_default();
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            threads: start_threads(concurrency.max(1)),
            params,
            dummy: Arc::default(),
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> &HashStats {
        &self.stats
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let queued = std::time::Instant::now();
        let waiting = Queued::enter();
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        drop(waiting);
        let stats = self.stats.clone();
        let counted = move || {
            // From the call to the start of the computation: the permit, then the
            // thread queue (as long as the permits, so rarely a wait of its own).
            metrics::histogram!(WAIT_SECONDS).record(queued.elapsed().as_secs_f64());
            let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            stats.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            let out = f();
            stats.in_flight.fetch_sub(1, Ordering::SeqCst);
            stats.computed.fetch_add(1, Ordering::SeqCst);
            out
        };
        let Some(threads) = &self.threads else {
            return tokio::task::spawn_blocking(counted)
                .await
                .map_err(|_| HashError::Join);
        };
        let (done, result) = oneshot::channel();
        threads
            .send(Box::new(move || {
                let _ = done.send(counted());
            }))
            .map_err(|_| HashError::Join)?;
        result.await.map_err(|_| HashError::Join)
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        self.hash_keeping(password, true).await
    }

    /// [`Self::hash`]; `keep: false` frees the working memory afterwards (the dummy
    /// hash at startup, so an idle server holds no hashing buffer).
    async fn hash_keeping(&self, password: &str, keep: bool) -> Result<String, HashError> {
        let password = password.to_owned();
        let params = self.params.clone();
        self.run(move || {
            hash_phc(&params, password.as_bytes(), keep)
                .map_err(|e| HashError::Argon2(e.to_string()))
        })
        .await?
    }

    /// Verifies `password` against `phc`; with `None` (no such user) verifies against a
    /// dummy hash so the caller spends the same time, and answers `false`.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, HashError> {
        let (phc, real) = match phc {
            Some(p) => (p.to_owned(), true),
            None => (self.dummy().await?, false),
        };
        let password = password.to_owned();
        let ok = self
            .run(move || verify_phc(&phc, password.as_bytes()).unwrap_or(false))
            .await?;
        Ok(ok && real)
    }

    /// Computes the dummy hash now (at startup), so the first unknown-user sign-in does
    /// not take two hashes' time.
    pub async fn warm_up(&self) -> Result<(), HashError> {
        self.dummy().await.map(|_| ())
    }

    async fn dummy(&self) -> Result<String, HashError> {
        self.dummy
            .get_or_try_init(|| self.hash_keeping("portcullis-dummy-password", false))
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let pool = PasswordHasher::new(2);
        let h = pool.hash("correct horse").await.ok().unwrap_or_default();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(pool
            .verify("correct horse", Some(&h))
            .await
            .unwrap_or(false));
        assert!(!pool.verify("correct hors", Some(&h)).await.unwrap_or(true));
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies_even_with_the_dummy_password() {
        let pool = PasswordHasher::new(1);
        assert!(!pool
            .verify("portcullis-dummy-password", None)
            .await
            .unwrap_or(true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_the_pool_allows() {
        let pool = PasswordHasher::new(2);
        // The six start together, so they really contend for the two permits.
        let start = Arc::new(tokio::sync::Barrier::new(6));
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let (p, start) = (pool.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    p.hash(&format!("pw{i}")).await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.map(|r| r.is_ok()).unwrap_or(false));
        }
        assert_eq!(pool.stats().computed.load(Ordering::SeqCst), 6);
        assert!(pool.stats().peak_in_flight.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test]
    async fn hashes_of_the_argon2_crates_own_hasher_verify_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let pool = PasswordHasher::new(1);
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(pool
            .verify("correct horse", Some(&theirs))
            .await
            .unwrap_or(false));
        assert!(!pool
            .verify("correct hors", Some(&theirs))
            .await
            .unwrap_or(true));
        let ours = pool.hash("correct horse").await.unwrap_or_default();
        let parsed = PasswordHash::new(&ours).ok();
        assert!(parsed.is_some_and(|p| Argon2::default()
            .verify_password(b"correct horse", &p)
            .is_ok()));
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_fails_closed() {
        let pool = PasswordHasher::new(1);
        assert!(!pool
            .verify("x", Some("not-a-phc-string"))
            .await
            .unwrap_or(true));
    }
}
