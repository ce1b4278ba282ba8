//! Configuration, layered: built-in defaults → `portcullis.toml` (or the file named by
//! `--config` / `PORTCULLIS_CONFIG`) → `PORTCULLIS_*` environment variables → flags.
//! Unknown keys are refused, with the source that carried them, so a typo never
//! silently falls back to a default.

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The default configuration file, read when present in the working directory.
pub const DEFAULT_FILE: &str = "portcullis.toml";

const ENV_PREFIX: &str = "PORTCULLIS_";

/// `PORTCULLIS_*` variables as a configuration layer (the prefix stripped, lowercased).
struct EnvVars(Vec<(String, String)>);

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (k, v) in &self.0 {
            let key = k[ENV_PREFIX.len()..].to_ascii_lowercase();
            let value = env_value(&key, v);
            dict.insert(key, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Everything the server can be told.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on (`PORTCULLIS_LISTEN`, `--listen`).
    pub listen: String,
    /// `sqlite://path` (default `sqlite://portcullis.db`) or `postgres://…`
    /// (`PORTCULLIS_DATABASE_URL`, `--database-url`).
    pub database_url: String,
    /// The externally visible base URL, used as the token issuer
    /// (`PORTCULLIS_PUBLIC_URL`, `--public-url`). Default `http://<listen>`.
    pub public_url: Option<String>,
    /// Password for the initial `admin` user, used only when the database has no user
    /// (`PORTCULLIS_ADMIN_PASSWORD`). When absent one is generated and printed once.
    pub admin_password: Option<String>,
    /// The master key, 32 bytes as base64 or hex (`PORTCULLIS_MASTER_KEY`). Required
    /// for PostgreSQL; with SQLite a key file beside the database is used otherwise.
    pub master_key: Option<String>,
    /// Previous master keys, still accepted for opening sealed values during rotation.
    pub previous_master_keys: Vec<String>,
    /// Where the SQLite key file lives (default: the database path with `.key`).
    pub master_key_file: Option<PathBuf>,
    /// Log filter, e.g. `info` or `portcullis=debug` (`RUST_LOG` overrides).
    pub log_level: String,
    /// `text` or `json`, one JSON object a line (`PORTCULLIS_LOG_FORMAT`, `--log-format`).
    pub log_format: LogFormat,
    /// How many Argon2id hashes may run at once (default: the number of CPUs).
    pub password_hash_concurrency: Option<usize>,
    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS itself
    /// (`PORTCULLIS_TLS_CERT`, `--tls-cert`). Without both, plain HTTP (for development
    /// and behind a TLS-terminating load balancer).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert` (`PORTCULLIS_TLS_KEY`,
    /// `--tls-key`).
    pub tls_key: Option<PathBuf>,
    /// Token vault: renew OAuth profiles' access tokens in the background
    /// (`PORTCULLIS_VAULT_REFRESH_ENABLED`). Default off.
    pub vault_refresh_enabled: bool,
    /// Token vault: renew access tokens expiring within this many seconds. Default 300.
    pub vault_refresh_window_secs: u64,
    /// Token vault: seconds between background sweeps. Default 60.
    pub vault_refresh_interval_secs: u64,
    /// Accept `http` redirect URLs on hosts other than loopback
    /// (`PORTCULLIS_ALLOW_HTTP_REDIRECT_URIS`). Default off: codes would travel in
    /// clear (RFC 9700 §2.6); loopback `http` (RFC 8252 §7.3) is always accepted.
    pub allow_http_redirect_uris: bool,
    /// Whether every authorization request must be pushed to `/oauth2/par` first
    /// (`PORTCULLIS_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS`, RFC 9126 §5). Default off.
    pub require_pushed_authorization_requests: bool,
    /// Seconds a device must wait between polls of the device authorization grant
    /// (`PORTCULLIS_DEVICE_POLL_INTERVAL`, RFC 8628 §3.2 `interval`), 1–60. Default 5.
    pub device_poll_interval: i64,
    /// Whether DPoP proofs must carry a server nonce (`PORTCULLIS_DPOP_NONCES`, RFC
    /// 9449 §8, §9): the token endpoint and the resources answer `use_dpop_nonce`
    /// with a `DPoP-Nonce` header. Default off.
    pub dpop_nonces: bool,
    /// Internal destinations the vault's outbound calls and the document fetches
    /// (client metadata documents, `jwks_uri`) may reach: host names,
    /// addresses or CIDR blocks (`PORTCULLIS_OUTBOUND_ALLOW` as a TOML list). Loopback,
    /// private, link-local and similar addresses are refused otherwise.
    pub outbound_allow: Vec<String>,
    /// Audit event types not to record, neither as a row nor as a log line
    /// (`PORTCULLIS_AUDIT_SKIP` as a TOML list, e.g. `'["token_issued"]'`). Default
    /// none: every type is recorded.
    pub audit_skip: Vec<String>,
    /// PEM certificates trusted for outbound HTTPS besides the built-in roots
    /// (`PORTCULLIS_OUTBOUND_CA_FILE`), for upstreams with a private CA.
    pub outbound_ca_file: Option<PathBuf>,
    /// Milliseconds a fetch of a document a client names (client ID metadata
    /// document, `jwks_uri`) may take in total (`PORTCULLIS_FETCH_TIMEOUT_MS`).
    /// Default 3000. The same guards as the vault's outbound calls apply.
    pub fetch_timeout_ms: u64,
    /// Reverse proxies (addresses or CIDR networks) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client's address for the failure rate
    /// limits (`PORTCULLIS_TRUSTED_PROXIES`, a TOML list). Default none: the TCP
    /// peer's address is used.
    pub trusted_proxies: Vec<String>,
    /// Origins (`https://admin.example`) whose pages may call the management API from
    /// a browser (`PORTCULLIS_CORS_ALLOWED_ORIGINS`, a TOML list). Default none: the
    /// management API is same-origin. The token, UserInfo and revocation endpoints
    /// answer the origins of registered redirect URLs regardless.
    pub cors_allowed_origins: Vec<String>,
    /// Address and port of a listener serving only `GET /metrics`
    /// (`PORTCULLIS_METRICS_LISTEN`). Default none: `/metrics` is on the main listener.
    /// When set, `/metrics` is served there and not on the main listener.
    pub metrics_listen: Option<String>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            database_url: "sqlite://portcullis.db".to_owned(),
            public_url: None,
            admin_password: None,
            master_key: None,
            previous_master_keys: Vec::new(),
            master_key_file: None,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            password_hash_concurrency: None,
            tls_cert: None,
            tls_key: None,
            vault_refresh_enabled: false,
            vault_refresh_window_secs: 300,
            vault_refresh_interval_secs: 60,
            allow_http_redirect_uris: false,
            require_pushed_authorization_requests: false,
            device_poll_interval: 5,
            dpop_nonces: false,
            outbound_allow: Vec::new(),
            audit_skip: Vec::new(),
            outbound_ca_file: None,
            fetch_timeout_ms: 3000,
            trusted_proxies: Vec::new(),
            cors_allowed_origins: Vec::new(),
            metrics_listen: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |o: &Option<String>| o.as_ref().map(|_| "***");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("admin_password", &hidden(&self.admin_password))
            .field("master_key", &hidden(&self.master_key))
            .field("previous_master_keys", &self.previous_master_keys.len())
            .field("master_key_file", &self.master_key_file)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("password_hash_concurrency", &self.password_hash_concurrency)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("vault_refresh_enabled", &self.vault_refresh_enabled)
            .field("vault_refresh_window_secs", &self.vault_refresh_window_secs)
            .field(
                "vault_refresh_interval_secs",
                &self.vault_refresh_interval_secs,
            )
            .field("allow_http_redirect_uris", &self.allow_http_redirect_uris)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
            .field("device_poll_interval", &self.device_poll_interval)
            .field("dpop_nonces", &self.dpop_nonces)
            .field("outbound_allow", &self.outbound_allow)
            .field("audit_skip", &self.audit_skip)
            .field("outbound_ca_file", &self.outbound_ca_file)
            .field("fetch_timeout_ms", &self.fetch_timeout_ms)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("metrics_listen", &self.metrics_listen)
            .finish()
    }
}

/// A database URL with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Values given as command-line flags (highest precedence).
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}\nhint: see README.md#configuration for every key; environment variables are PORTCULLIS_<KEY>")]
    Invalid(String),
}

impl Config {
    /// Loads the layers. `file` is the explicitly named file, if any; otherwise
    /// `portcullis.toml` is read when it exists. `env` is the environment to read
    /// (`std::env::vars()` in the binary; tests pass their own).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: Overrides,
    ) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.to_owned())),
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_FILE).exists() => {
                fig = fig.merge(Toml::file_exact(DEFAULT_FILE))
            }
            None => {}
        }
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k != "PORTCULLIS_CONFIG")
            .collect();
        fig = fig.merge(EnvVars(vars));
        fig = fig.merge(Serialized::defaults(overrides));
        let config: Config = fig.extract().map_err(|e| {
            let msgs: Vec<String> = e.into_iter().map(describe).collect();
            ConfigError::Invalid(msgs.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen.parse::<SocketAddr>().map_err(|_| {
            ConfigError::Invalid(format!(
                "listen = '{}' is not an address:port such as 127.0.0.1:8080",
                self.listen
            ))
        })?;
        if let Some(m) = &self.metrics_listen {
            m.parse::<SocketAddr>().map_err(|_| {
                ConfigError::Invalid(format!(
                    "metrics_listen = '{m}' is not an address:port such as 127.0.0.1:9090"
                ))
            })?;
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "database_url = '{}' is neither sqlite://… nor postgres://…",
                redact_url(&self.database_url)
            )));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "public_url = '{url}' must start with http:// or https://"
                )));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key go together: set both to serve HTTPS, or neither".to_owned(),
            ));
        }
        if self.password_hash_concurrency == Some(0) {
            return Err(ConfigError::Invalid(
                "password_hash_concurrency must be at least 1".to_owned(),
            ));
        }
        if self.vault_refresh_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "vault_refresh_interval_secs must be at least 1".to_owned(),
            ));
        }
        portcullis_core::upstream::outbound::OutboundPolicy::parse(&self.outbound_allow)
            .map_err(ConfigError::Invalid)?;
        if !(1..=60).contains(&self.device_poll_interval) {
            return Err(ConfigError::Invalid(
                "device_poll_interval must be between 1 and 60 (seconds)".to_owned(),
            ));
        }
        if !(1..=60_000).contains(&self.fetch_timeout_ms) {
            return Err(ConfigError::Invalid(
                "fetch_timeout_ms must be between 1 and 60000 (milliseconds)".to_owned(),
            ));
        }
        crate::http::peer::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(ConfigError::Invalid)?;
        self.audit_skip_types().map_err(ConfigError::Invalid)?;
        crate::http::cors::ManagementOrigins::parse(&self.cors_allowed_origins)
            .map_err(ConfigError::Invalid)?;
        if i64::try_from(self.vault_refresh_window_secs).is_err() {
            return Err(ConfigError::Invalid(
                "vault_refresh_window_secs is too large".to_owned(),
            ));
        }
        Ok(())
    }

    /// The event types of `audit_skip`; the error names an entry that is no event type
    /// and lists the types.
    pub fn audit_skip_types(
        &self,
    ) -> Result<Vec<portcullis_core::model::audit::EventType>, String> {
        use portcullis_core::model::audit::EventType;
        self.audit_skip
            .iter()
            .map(|name| {
                EventType::parse(name.trim()).ok_or_else(|| {
                    let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                    format!(
                        "audit_skip entry '{name}' is not an audit event type; the types are {}",
                        known.join(", ")
                    )
                })
            })
            .collect()
    }

    /// Whether the server terminates TLS itself.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// The issuer: `public_url` without a trailing slash, or `http(s)://<listen>`.
    pub fn issuer(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("{}://{}", self.scheme(), self.listen),
        }
    }

    /// `https` when the server terminates TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls() {
            "https"
        } else {
            "http"
        }
    }
}

/// Keys whose environment values are TOML values (numbers, lists) rather than strings.
const NON_STRING_KEYS: &[&str] = &[
    "password_hash_concurrency",
    "previous_master_keys",
    "vault_refresh_enabled",
    "vault_refresh_window_secs",
    "vault_refresh_interval_secs",
    "allow_http_redirect_uris",
    "require_pushed_authorization_requests",
    "device_poll_interval",
    "dpop_nonces",
    "outbound_allow",
    "audit_skip",
    "fetch_timeout_ms",
    "trusted_proxies",
    "cors_allowed_origins",
];

/// An environment value: a string, except for [`NON_STRING_KEYS`], which are parsed as
/// TOML values, so `PORTCULLIS_PASSWORD_HASH_CONCURRENCY=4` is a number and a numeric
/// password stays a string.
fn env_value(key: &str, v: &str) -> figment::value::Value {
    use std::str::FromStr;
    if NON_STRING_KEYS.contains(&key) {
        let Ok(val) = figment::value::Value::from_str(v);
        return val;
    }
    figment::value::Value::from(v.to_owned())
}

fn describe(e: figment::Error) -> String {
    let source = e.metadata.as_ref().map(|m| m.name.to_string());
    let mut key = e.path.join(".");
    if let figment::error::Kind::UnknownField(field, _) = &e.kind {
        key = field.clone();
    }
    let kind = e.kind.to_string();
    match source {
        Some(s) if s == "environment" && !key.is_empty() => {
            format!("{kind} (variable {ENV_PREFIX}{})", key.to_ascii_uppercase())
        }
        Some(s) if !key.is_empty() => format!("{kind} (key '{key}' in {s})"),
        Some(s) => format!("{kind} (from {s})"),
        None => kind,
    }
}
