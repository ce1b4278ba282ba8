//! Startup: open the store, load the master key, prepare the database, bind the
//! listener. `Application::build` does everything `main` does, so tests start the real
//! server the same way (on port 0).

use crate::config::{redact_url, Config};
use crate::fetch::HttpFetcher;
use crate::state::AppState;
use crate::upstream::HttpUpstream;
use portcullis_core::auth::CredentialCache;
use portcullis_core::bootstrap::{self, BootstrapError};
use portcullis_core::clock::{Clock, SystemClock};
use portcullis_core::context::Context;
use portcullis_core::crypto::{Keyring, MasterKey, PasswordHasher, Secret};
use portcullis_core::keys::{KeyError, Signer, REFRESH_EVERY_SECS};
use portcullis_core::store::{Store, StoreError};
use portcullis_core::upstream::fetch::{CacheSettings, Documents};
use portcullis_core::upstream::outbound::OutboundPolicy;
use portcullis_core::upstream::UpstreamClient;
use portcullis_core::vault::refresher;
use portcullis_store_postgres::PgStore;
use portcullis_store_sqlite::{database_file, SqliteStore};
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: StoreError },
    #[error("the master key is invalid: {0}")]
    MasterKey(String),
    #[error("PostgreSQL needs a master key: set PORTCULLIS_MASTER_KEY (32 bytes as base64; e.g. `openssl rand -base64 32`), the same on every node")]
    MasterKeyRequired,
    #[error("master key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error("token vault: {0}")]
    Vault(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    TrustedProxies(String),
    #[error("{0}")]
    CorsOrigins(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Opens the store named by `url`, running migrations.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StartupError> {
    let wrap = |source| StartupError::Database {
        url: redact_url(url),
        source,
    };
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await.map_err(wrap)?))
    } else {
        Ok(Arc::new(PgStore::connect(url).await.map_err(wrap)?))
    }
}

/// Reads the key file, or creates it with mode 0600 holding a new random key.
///
/// The key is written whole to a temporary file (0600) in the same directory, synced,
/// and then made visible under its name by a hard link, which fails rather than
/// replace an existing file: a second process starting at the same moment either sees
/// no file or the complete key, never an empty one. When another process won the race,
/// its key is read and used.
fn key_file(path: &Path) -> Result<MasterKey, StartupError> {
    let io = |source| StartupError::KeyFile {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::parse(&text)
            .map_err(|e| StartupError::MasterKey(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            let tmp = {
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".{}.tmp", temp_suffix()));
                PathBuf::from(name)
            };
            let written = write_private(&tmp, &format!("{}\n", key.to_base64()));
            let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        // Make the new name durable; a failure here loses nothing yet.
                        if let Ok(d) = std::fs::File::open(dir) {
                            let _ = d.sync_all();
                        }
                    }
                    tracing::info!(path = %path.display(), key_id = key.id(), "created a new master key file");
                    Ok(key)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => key_file(path),
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

/// A name part unique to this process and call, for temporary files.
fn temp_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `text` to a new file at `path` with mode 0600 and syncs it.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// The outbound policy and the extra CA certificates of every outbound call.
fn outbound_settings(config: &Config) -> Result<(OutboundPolicy, Option<Vec<u8>>), StartupError> {
    let policy = OutboundPolicy::parse(&config.outbound_allow).map_err(StartupError::Vault)?;
    let roots = match &config.outbound_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            StartupError::Vault(format!("outbound_ca_file {}: {e}", path.display()))
        })?),
        None => None,
    };
    Ok((policy, roots))
}

/// Names the CA file in an error about it.
fn ca_file_error(config: &Config, e: String) -> StartupError {
    let file = config
        .outbound_ca_file
        .as_ref()
        .map(|p| format!("outbound_ca_file {}: ", p.display()))
        .unwrap_or_default();
    StartupError::Vault(format!("{file}{e}"))
}

/// The vault's HTTP client: the outbound policy and any extra CA certificates.
fn upstream(config: &Config) -> Result<Arc<dyn UpstreamClient>, StartupError> {
    let (policy, roots) = outbound_settings(config)?;
    let client =
        HttpUpstream::new(policy, roots.as_deref()).map_err(|e| ca_file_error(config, e))?;
    Ok(Arc::new(client))
}

/// The cache of documents clients name, in front of the guarded HTTP fetcher.
fn documents(config: &Config) -> Result<Arc<Documents>, StartupError> {
    let (policy, roots) = outbound_settings(config)?;
    let timeout = std::time::Duration::from_millis(config.fetch_timeout_ms);
    let fetcher = HttpFetcher::new(policy, roots.as_deref(), timeout)
        .map_err(|e| ca_file_error(config, e))?;
    Ok(Arc::new(Documents::new(
        Arc::new(fetcher),
        CacheSettings::default(),
    )))
}

/// Validates the configured master keys without touching the database or a key file
/// (`portcullis check-config`).
pub fn check_keys(config: &Config) -> Result<(), StartupError> {
    if let Some(k) = &config.master_key {
        MasterKey::parse(k).map_err(|e| StartupError::MasterKey(e.to_string()))?;
    } else if database_file(&config.database_url).is_none()
        && !config.database_url.starts_with("sqlite:")
    {
        return Err(StartupError::MasterKeyRequired);
    }
    for k in &config.previous_master_keys {
        MasterKey::parse(k)
            .map_err(|e| StartupError::MasterKey(format!("previous_master_keys: {e}")))?;
    }
    Ok(())
}

/// The master keyring from configuration (or the SQLite key file).
pub fn keyring(config: &Config) -> Result<Keyring, StartupError> {
    let primary = match (&config.master_key, database_file(&config.database_url)) {
        (Some(k), _) => MasterKey::parse(k).map_err(|e| StartupError::MasterKey(e.to_string()))?,
        (None, Some(db)) => {
            let path = config
                .master_key_file
                .clone()
                .unwrap_or_else(|| db.with_extension("key"));
            key_file(&path)?
        }
        (None, None) if config.database_url.starts_with("sqlite:") => MasterKey::generate(),
        (None, None) => return Err(StartupError::MasterKeyRequired),
    };
    let previous = config
        .previous_master_keys
        .iter()
        .map(|k| {
            MasterKey::parse(k)
                .map_err(|e| StartupError::MasterKey(format!("previous_master_keys: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Keyring::new(primary, previous))
}

/// Everything before serving: loads the master keyring, opens (and migrates) the store,
/// prepares it ([`bootstrap::prepare`]), loads (on first start creates) the signing
/// keys and builds the core [`Context`]. Returns the initial administrator's password
/// when this call generated it. Used by the admin commands of the CLI; the issuer is
/// the configured one ([`Config::issuer`]).
pub async fn prepare(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(Context, Option<Secret>), StartupError> {
    prepare_with_issuer(config, clock, config.issuer()).await
}

/// [`prepare`] with the issuer tokens carry (`iss`) and must carry to verify: for a
/// server without `public_url`, its bound address ([`Application::build`]).
pub async fn prepare_with_issuer(
    config: &Config,
    clock: Arc<dyn Clock>,
    issuer: String,
) -> Result<(Context, Option<Secret>), StartupError> {
    let keyring = keyring(config)?;
    let store = open_store(&config.database_url).await?;
    let concurrency = config.password_hash_concurrency.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let hasher = PasswordHasher::new(concurrency);
    let (keys, generated_admin_password) = bootstrap::prepare(
        store.clone(),
        &keyring,
        &hasher,
        clock.as_ref(),
        config.admin_password.as_deref(),
    )
    .await?;
    let signer = Signer::load(store.as_ref(), &keyring, clock.as_ref(), issuer).await?;
    let ctx = Context {
        // Validated with the rest of the configuration; an invalid list was refused there.
        audit: portcullis_core::audit::Audit::new(store.clone())
            .skipping(config.audit_skip_types().unwrap_or_default()),
        store,
        clock,
        keys,
        keyring,
        hasher,
        signer: Arc::new(signer),
        redirects: portcullis_core::model::client_app::RedirectPolicy {
            allow_http: config.allow_http_redirect_uris,
        },
        require_pushed_requests: config.require_pushed_authorization_requests,
        device_poll_interval: config.device_poll_interval,
        documents: documents(config)?,
    };
    Ok((ctx, generated_admin_password))
}

/// Reloads the signing keys every [`REFRESH_EVERY_SECS`], so a rotation made on another
/// node or by `portcullis keys rotate` is picked up. A failed reload keeps the keys in
/// memory and is tried again at the next tick.
async fn refresh_signing_keys(ctx: Context) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(REFRESH_EVERY_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = ctx
            .signer
            .refresh(ctx.store.as_ref(), &ctx.keyring, ctx.now())
            .await
        {
            tracing::warn!(error = %e, "reloading the signing keys failed; keeping the current ones");
        }
    }
}

/// Seconds between sweeps of expired codes, refresh tokens, revocations, used
/// client assertion `jti`s and sessions.
pub const PURGE_EVERY_SECS: u64 = 600;

/// Deletes what has expired from the token tables every [`PURGE_EVERY_SECS`], so they
/// do not grow without bound. Any node may do it; the deletes are idempotent.
async fn purge_expired_tokens(ctx: Context) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(PURGE_EVERY_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match ctx.store.purge_expired(ctx.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                rows = n,
                "purged expired codes, refresh tokens and revocations"
            ),
            Err(e) => tracing::warn!(error = %e, "purging expired tokens failed; will retry"),
        }
        match ctx.store.purge_assertion_jtis(ctx.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired client assertion jtis"),
            Err(e) => tracing::warn!(error = %e, "purging used assertion jtis failed; will retry"),
        }
        match ctx.store.purge_sessions(ctx.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired browser sessions"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed; will retry"),
        }
    }
}

/// Binds the `metrics_listen` address.
async fn bind_metrics(addr: &str) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind {
        addr: addr.to_owned(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// A built server, bound and ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState,
    generated_admin_password: Option<Secret>,
    vault_refresh: Option<VaultRefresh>,
    /// The listener of `metrics_listen`, when set (then `/metrics` is served only there).
    metrics_listener: Option<(TcpListener, SocketAddr)>,
}

/// The background refresher's settings, when it is enabled.
#[derive(Debug, Clone, Copy)]
struct VaultRefresh {
    window_secs: i64,
    interval: std::time::Duration,
}

impl Application {
    /// Binds the listener, then opens and prepares the database.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with an injected clock (tests pin time with it).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        // Certificate problems are reported before anything else happens.
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                Some(crate::tls::load(cert, key).map_err(StartupError::Tls)?)
            }
            _ => None,
        };
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.listen.clone(),
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
        let metrics_listener = match &config.metrics_listen {
            Some(m) => Some(bind_metrics(m).await?),
            None => None,
        };
        // Installed once per process; every later server reuses the recorder.
        crate::telemetry::install();
        // Bound first, so that with port 0 the issuer names the real port; the signer
        // verifies `iss` against the same string the token service puts there.
        let mut issuer = config.issuer();
        if config.public_url.is_none() {
            issuer = format!("{}://{addr}", config.scheme());
        }
        let (ctx, generated_admin_password) =
            prepare_with_issuer(&config, clock, issuer.clone()).await?;
        let state = AppState::new(crate::state::Shared {
            ctx,
            credentials: Arc::new(CredentialCache::default()),
            issuer: issuer.into(),
            limiter: Arc::default(),
            trusted_proxies: Arc::new(
                crate::http::peer::TrustedProxies::parse(&config.trusted_proxies)
                    .map_err(StartupError::TrustedProxies)?,
            ),
            upstream: upstream(&config)?,
            cors_allowed_origins: Arc::new(
                crate::http::cors::ManagementOrigins::parse(&config.cors_allowed_origins)
                    .map_err(StartupError::CorsOrigins)?,
            ),
            dpop_nonces: config.dpop_nonces,
        });
        let vault_refresh = config.vault_refresh_enabled.then(|| VaultRefresh {
            window_secs: i64::try_from(config.vault_refresh_window_secs).unwrap_or(i64::MAX),
            interval: std::time::Duration::from_secs(config.vault_refresh_interval_secs),
        });
        Ok(Self {
            listener,
            addr,
            tls,
            state,
            generated_admin_password,
            vault_refresh,
            metrics_listener,
        })
    }

    /// The bound address of the `metrics_listen` listener, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, a)| *a)
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The initial administrator's password when this start generated it.
    pub fn generated_admin_password(&self) -> Option<&Secret> {
        self.generated_admin_password.as_ref()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let refresher = tokio::spawn(refresh_signing_keys(self.state.ctx.clone()));
        let purger = tokio::spawn(purge_expired_tokens(self.state.ctx.clone()));
        // The audit trail: the writer inserts queued events a batch per transaction;
        // retention runs with the token purge's period.
        let audit = self.state.ctx.audit.clone();
        let audit_writer = tokio::spawn(audit.clone().run());
        let audit_retention = tokio::spawn(portcullis_core::mgmt::audit::run_retention(
            self.state.ctx.clone(),
            std::time::Duration::from_secs(PURGE_EVERY_SECS),
        ));
        // Unused clients registered in the open (RFC 7591) expire after their tenant's
        // unusedClientLifetime; a sweep a minute is one read and a delete per policy.
        let expiry = tokio::spawn(portcullis_core::oauth::registration::run_expiry(
            self.state.ctx.clone(),
            std::time::Duration::from_secs(60),
        ));
        let vault = self.vault_refresh.map(|v| {
            tracing::info!(
                window_secs = v.window_secs,
                interval_secs = v.interval.as_secs(),
                "token vault background refresh enabled"
            );
            tokio::spawn(refresher::run(
                self.state.ctx.clone(),
                self.state.upstream.clone(),
                v.window_secs,
                v.interval,
            ))
        });
        let scrape = crate::telemetry::router(self.state.ctx.clone());
        let mut router = crate::http::router(self.state);
        let metrics = match self.metrics_listener {
            Some((listener, addr)) => {
                tracing::info!(addr = %addr, "serving /metrics");
                Some(tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, scrape).await {
                        tracing::error!(error = %e, "the metrics listener failed");
                    }
                }))
            }
            None => {
                router = router.merge(scrape);
                None
            }
        };
        let served = match self.tls {
            Some(tls) => {
                tracing::info!(addr = %self.addr, "listening (HTTPS)");
                crate::tls::serve(self.listener, tls, router, shutdown).await
            }
            None => {
                tracing::info!(addr = %self.addr, "listening");
                axum::serve(
                    self.listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
            }
        };
        refresher.abort();
        purger.abort();
        audit_writer.abort();
        audit_retention.abort();
        // What the served requests recorded is written before the process ends.
        if let Err(e) = audit.flush().await {
            tracing::error!(error = %e, queued = audit.queued(), "writing the last audit events failed; they are lost");
        }
        expiry.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        if let Some(v) = vault {
            v.abort();
        }
        served
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
