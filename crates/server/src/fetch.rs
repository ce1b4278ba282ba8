//! The guarded fetcher of documents clients name — Client ID Metadata Documents and
//! `jwks_uri` JWK Sets: core's [`DocumentFetcher`] over reqwest. Core's
//! [`Documents`](portcullis_core::upstream::fetch::Documents) caches what this fetches
//! and limits fetches per host; this module moves the bytes, guarded:
//!
//! * `https` only; literal-address URLs checked against the outbound policy here,
//!   host names by the [`GuardedResolver`](crate::outbound::GuardedResolver) after DNS
//!   resolution (no loopback, private, link-local or metadata addresses unless
//!   `outbound_allow` lists them); no proxy; `outbound_ca_file` roots trusted.
//! * No redirects: a 3xx is an error naming its status.
//! * At most [`DocumentKind::max_bytes`] read (5 KiB for metadata documents, 64 KiB
//!   for JWK Sets); a longer `Content-Length` is refused before the body is read.
//! * The whole fetch (connect, TLS, headers, body) within `fetch_timeout_ms` (3 s by
//!   default).
//! * `Accept: application/json`; the body must be a JSON object.
//!
//! Failures are logged with the host and a fixed reason; errors returned name the
//! reason only, never the resolved address or a library's message.

use crate::outbound::{self, ReadError};
use async_trait::async_trait;
use portcullis_core::upstream::fetch::{
    DocumentFetcher, DocumentKind, FetchError, Fetched, Freshness,
};
use portcullis_core::upstream::outbound::OutboundPolicy;
use reqwest::header::{ACCEPT, CACHE_CONTROL, DATE, EXPIRES};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The default total time a fetch may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// The HTTP document fetcher (cheap to clone).
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    timeout: Duration,
}

impl HttpFetcher {
    /// A fetcher reaching public addresses and those `policy` allows, trusting the
    /// built-in roots and `extra_roots_pem`, giving up after `timeout` in total.
    pub fn new(
        policy: OutboundPolicy,
        extra_roots_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let http = outbound::client(policy.clone(), extra_roots_pem, timeout, timeout)?;
        Ok(Self {
            http,
            policy,
            timeout,
        })
    }

    fn timed_out(&self) -> FetchError {
        FetchError::Timeout {
            millis: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Maps a request error to what the caller is told; the cause goes to the log.
    fn failed(&self, host: &str, e: reqwest::Error) -> FetchError {
        if let Some(refused) = outbound::refused_in(&e) {
            tracing::warn!(host = %refused.host, addr = ?refused.addr, "document fetch refused: the host resolves to internal addresses");
            return FetchError::NotAllowed(refused);
        }
        if e.is_timeout() {
            tracing::warn!(host, "document fetch timed out");
            return self.timed_out();
        }
        tracing::warn!(host, error = %e.without_url(), "document fetch failed");
        FetchError::Unreachable
    }
}

#[async_trait]
impl DocumentFetcher for HttpFetcher {
    async fn fetch_json(&self, url: &Url, kind: DocumentKind) -> Result<Fetched, FetchError> {
        if url.scheme() != "https" {
            return Err(FetchError::NotHttps);
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        if let Err(refused) = self.policy.check_url(url) {
            tracing::warn!(host = %refused.host, "document fetch refused: internal address");
            return Err(FetchError::NotAllowed(refused));
        }
        let res = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.failed(&host, e))?;
        let status = res.status();
        if status.is_redirection() {
            tracing::warn!(
                host,
                status = status.as_u16(),
                "document fetch refused: redirect"
            );
            return Err(FetchError::Redirect {
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            tracing::warn!(host, status = status.as_u16(), "document fetch: HTTP error");
            return Err(FetchError::Status {
                status: status.as_u16(),
            });
        }
        let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok());
        let freshness =
            Freshness::from_headers(header(CACHE_CONTROL), header(EXPIRES), header(DATE));
        let limit = kind.max_bytes();
        let body = match outbound::read_limited(res, limit).await {
            Ok(body) => body,
            Err(ReadError::TooLarge) => {
                tracing::warn!(host, limit, "document fetch refused: too large");
                return Err(FetchError::TooLarge { limit });
            }
            Err(ReadError::Failed(e)) => return Err(self.failed(&host, e)),
        };
        let document: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)?;
        if !document.is_object() {
            return Err(FetchError::NotJson);
        }
        Ok(Fetched {
            document,
            freshness,
        })
    }
}
