//! Fetching JSON documents from URLs a client chooses: Client ID Metadata Documents
//! ([draft-ietf-oauth-client-id-metadata-document](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/))
//! and the `jwks_uri` of `private_key_jwt` clients
//! ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2),
//! [RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)).
//!
//! Every such fetch is a request the server makes on an attacker's behalf, so it is
//! guarded twice:
//!
//! * **The transport** ([`DocumentFetcher`], implemented by the server crate with
//!   reqwest): `https` only, no redirects (a 3xx is an error naming it), the addresses
//!   checked against [`super::outbound::OutboundPolicy`] after DNS resolution (literal
//!   addresses directly), no proxy, at most [`DocumentKind::max_bytes`] read, a short
//!   total timeout, `Accept: application/json`.
//! * **The cache in front of it** ([`Documents`]): a document is kept for the lifetime
//!   its server announced (`Cache-Control: max-age`, `no-store`/`no-cache`, `Expires`,
//!   [`Freshness`]) clamped to [`CacheSettings::min_secs`, `max_secs`] (5 minutes to
//!   24 hours by default), at most [`CacheSettings::capacity`] documents (1,000; the
//!   soonest to expire is evicted first); and at most
//!   [`CacheSettings::per_host_limit`] actual fetches per host per
//!   [`CacheSettings::per_host_window_secs`] (10 a minute), so neither a client nor an
//!   attacker can turn Portcullis into a load generator against one host. Time comes
//!   from the caller (`ctx.now()`), so tests drive it.
//!
//! Failures are not cached: the per-host limit bounds how often a failing URL is
//! tried. Errors ([`FetchError`]) say what was wrong in plain words and never quote
//! the document, the resolved address or a library's message.

use super::outbound::Refused;
use crate::model::time::UnixTime;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use url::Url;

/// What kind of document is fetched; it decides the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A Client ID Metadata Document: at most 5 KiB, as the draft suggests.
    ClientMetadata,
    /// A JWK Set (`jwks_uri`): at most 64 KiB (several RSA-4096 keys fit easily).
    Jwks,
}

impl DocumentKind {
    /// The largest body read; a longer one is refused without reading the rest.
    pub fn max_bytes(self) -> usize {
        match self {
            DocumentKind::ClientMetadata => 5 * 1024,
            DocumentKind::Jwks => 64 * 1024,
        }
    }

    /// What the document is called in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::ClientMetadata => "client metadata document",
            DocumentKind::Jwks => "JWK Set",
        }
    }
}

/// Why a document could not be had. The words are fixed; only the URL's host (which
/// the requester chose) and numbers are quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL is not an https URL; documents are fetched over https only")]
    NotHttps,
    #[error("{0}")]
    NotAllowed(Refused),
    #[error("the server answered with a redirect (HTTP {status}); redirects are not followed, so give the document's final URL")]
    Redirect { status: u16 },
    #[error("the server answered HTTP {status} instead of the document")]
    Status { status: u16 },
    #[error("the document is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the server did not send the document within {millis} ms")]
    Timeout { millis: u64 },
    #[error("the server could not be reached")]
    Unreachable,
    #[error("the document is not a JSON object")]
    NotJson,
    #[error("Portcullis has fetched {limit} documents from {host} within {window_secs} seconds, its limit per host; try again in {retry_after} seconds")]
    RateLimited {
        host: String,
        limit: u32,
        window_secs: i64,
        retry_after: i64,
    },
}

/// The caching lifetime a response announced (RFC 9111 §4.2.1, §5.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// `no-store` or `no-cache`: kept only for the minimum lifetime.
    NoStore,
    /// `max-age` (seconds; an invalid value counts as 0).
    MaxAge(i64),
    /// `Expires` (a Unix time; an unreadable date counts as already expired), with the
    /// response's `Date` when it had one.
    Expires {
        at: UnixTime,
        date: Option<UnixTime>,
    },
    /// Nothing said: kept for the minimum lifetime.
    Unspecified,
}

impl Freshness {
    /// Reads the response's `Cache-Control`, `Expires` and `Date` headers:
    /// `no-store`/`no-cache` win, then `max-age`, then `Expires` (RFC 9111 §5.3:
    /// ignored when `max-age` is present).
    pub fn from_headers(
        cache_control: Option<&str>,
        expires: Option<&str>,
        date: Option<&str>,
    ) -> Self {
        let mut max_age = None;
        for directive in cache_control.unwrap_or_default().split(',') {
            let (name, value) = match directive.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Freshness::NoStore;
            }
            if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
                let secs = value
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .map(|v| v.parse::<i64>().unwrap_or(i64::MAX))
                    .unwrap_or(0);
                max_age = Some(secs);
            }
        }
        if let Some(secs) = max_age {
            return Freshness::MaxAge(secs);
        }
        match expires {
            Some(e) => Freshness::Expires {
                at: http_date(e).unwrap_or(i64::MIN),
                date: date.and_then(http_date),
            },
            None => Freshness::Unspecified,
        }
    }

    /// How long a document fetched at `now` is kept: the announced lifetime clamped
    /// to `[min, max]`.
    pub fn lifetime(self, now: UnixTime, settings: &CacheSettings) -> i64 {
        let announced = match self {
            Freshness::NoStore | Freshness::Unspecified => settings.min_secs,
            Freshness::MaxAge(secs) => secs,
            Freshness::Expires { at, date } => at.saturating_sub(date.unwrap_or(now)),
        };
        announced.clamp(settings.min_secs, settings.max_secs)
    }
}

/// An HTTP date (RFC 9110 §5.6.7, all three formats) as a Unix time.
fn http_date(s: &str) -> Option<UnixTime> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => -i64::try_from(e.duration().as_secs()).ok()?,
    };
    Some(secs)
}

/// A document as fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The document, a JSON object.
    pub document: Value,
    /// The caching lifetime its response announced.
    pub freshness: Freshness,
}

/// The transport: one guarded GET of a JSON document (see the module's text for the
/// guards every implementation applies). Implemented by the server crate.
#[async_trait]
pub trait DocumentFetcher: Send + Sync + std::fmt::Debug {
    /// Fetches the JSON object at `url`, reading at most `kind.max_bytes()`.
    async fn fetch_json(&self, url: &Url, kind: DocumentKind) -> Result<Fetched, FetchError>;
}

/// A fetcher for servers that fetch nothing: every fetch fails as unreachable.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFetcher;

#[async_trait]
impl DocumentFetcher for NoFetcher {
    async fn fetch_json(&self, _: &Url, _: DocumentKind) -> Result<Fetched, FetchError> {
        Err(FetchError::Unreachable)
    }
}

/// The cache's and the rate limit's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Shortest a document is kept (also for `no-store` and for no caching headers).
    pub min_secs: i64,
    /// Longest a document is kept, whatever its server announced.
    pub max_secs: i64,
    /// Most documents kept.
    pub capacity: usize,
    /// Most fetches from one host within [`Self::per_host_window_secs`].
    pub per_host_limit: u32,
    pub per_host_window_secs: i64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            min_secs: 5 * 60,
            max_secs: 24 * 60 * 60,
            capacity: 1_000,
            per_host_limit: 10,
            per_host_window_secs: 60,
        }
    }
}

#[derive(Debug)]
struct Entry {
    document: Arc<Value>,
    expires_at: UnixTime,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<(DocumentKind, String), Entry>,
    /// When each host was fetched from, within the window.
    fetches: HashMap<String, VecDeque<UnixTime>>,
}

/// Fetched documents, cached, behind the per-host rate limit: what use cases call.
#[derive(Debug)]
pub struct Documents {
    fetcher: Arc<dyn DocumentFetcher>,
    settings: CacheSettings,
    state: Mutex<State>,
}

impl Documents {
    pub fn new(fetcher: Arc<dyn DocumentFetcher>, settings: CacheSettings) -> Self {
        Self {
            fetcher,
            settings,
            state: Mutex::default(),
        }
    }

    /// A cache in front of [`NoFetcher`].
    pub fn none() -> Self {
        Self::new(Arc::new(NoFetcher), CacheSettings::default())
    }

    pub fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The document at `url`: from the cache while fresh at `now`, else fetched (if
    /// the host's rate limit allows) and kept.
    pub async fn get(
        &self,
        url: &Url,
        kind: DocumentKind,
        now: UnixTime,
    ) -> Result<Arc<Value>, FetchError> {
        if url.scheme() != "https" {
            return Err(FetchError::NotHttps);
        }
        let key = (kind, url.as_str().to_owned());
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        {
            let mut state = self.state();
            if let Some(e) = state.entries.get(&key) {
                if e.expires_at > now {
                    return Ok(e.document.clone());
                }
                state.entries.remove(&key);
            }
            self.count_fetch(&mut state, &host, now)?;
        }
        let fetched = self.fetcher.fetch_json(url, kind).await?;
        let document = Arc::new(fetched.document);
        let expires_at = now.saturating_add(fetched.freshness.lifetime(now, &self.settings));
        let mut state = self.state();
        if state.entries.len() >= self.settings.capacity && !state.entries.contains_key(&key) {
            state.entries.retain(|_, e| e.expires_at > now);
            while state.entries.len() >= self.settings.capacity.max(1) {
                let soonest = state
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| k.clone());
                match soonest {
                    Some(k) => state.entries.remove(&k),
                    None => break,
                };
            }
        }
        if self.settings.capacity > 0 {
            state.entries.insert(
                key,
                Entry {
                    document: document.clone(),
                    expires_at,
                },
            );
        }
        Ok(document)
    }

    /// Counts a fetch from `host` at `now`, or refuses it when the host's window is
    /// full.
    fn count_fetch(&self, state: &mut State, host: &str, now: UnixTime) -> Result<(), FetchError> {
        let window = self.settings.per_host_window_secs;
        if state.fetches.len() > self.settings.capacity.max(64) {
            state
                .fetches
                .retain(|_, times| times.back().is_some_and(|t| *t > now - window));
        }
        let times = state.fetches.entry(host.to_owned()).or_default();
        while times.front().is_some_and(|t| *t <= now - window) {
            times.pop_front();
        }
        if times.len() >= self.settings.per_host_limit as usize {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(FetchError::RateLimited {
                host: host.to_owned(),
                limit: self.settings.per_host_limit,
                window_secs: window,
                retry_after: (oldest + window - now).max(1),
            });
        }
        times.push_back(now);
        Ok(())
    }

    /// Drops the cached document at `url`: one found invalid is not kept (the client
    /// metadata document draft, §5.2), so its next use fetches it again.
    pub fn forget(&self, url: &Url, kind: DocumentKind) {
        self.state()
            .entries
            .remove(&(kind, url.as_str().to_owned()));
    }

    /// How many documents are cached (for tests and metrics).
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const T0: UnixTime = 1_800_000_000;

    #[test]
    fn cache_control_beats_expires_and_no_store_beats_both() {
        let f = Freshness::from_headers;
        assert_eq!(
            f(Some("public, max-age=600"), None, None),
            Freshness::MaxAge(600)
        );
        assert_eq!(f(Some("Max-Age=\"60\""), None, None), Freshness::MaxAge(60));
        assert_eq!(
            f(Some("max-age=60, no-store"), None, None),
            Freshness::NoStore
        );
        assert_eq!(f(Some("no-cache"), None, None), Freshness::NoStore);
        assert_eq!(f(Some("max-age=abc"), None, None), Freshness::MaxAge(0));
        assert_eq!(f(Some("max-age=-5"), None, None), Freshness::MaxAge(0));
        assert_eq!(
            f(Some("max-age=99999999999999999999"), None, None),
            Freshness::MaxAge(i64::MAX)
        );
        assert_eq!(
            f(
                Some("max-age=60"),
                Some("Thu, 01 Jan 2099 00:00:00 GMT"),
                None
            ),
            Freshness::MaxAge(60),
            "max-age wins over Expires"
        );
        assert_eq!(
            f(
                Some("public"),
                Some("Sun, 06 Nov 1994 08:49:37 GMT"),
                Some("Sun, 06 Nov 1994 08:39:37 GMT")
            ),
            Freshness::Expires {
                at: 784_111_777,
                date: Some(784_111_177)
            }
        );
        assert_eq!(
            f(None, Some("0"), None),
            Freshness::Expires {
                at: i64::MIN,
                date: None
            },
            "an unreadable Expires is already past"
        );
        assert_eq!(f(None, None, None), Freshness::Unspecified);
    }

    #[test]
    fn lifetimes_are_clamped_to_the_window() {
        let s = CacheSettings::default();
        assert_eq!(Freshness::MaxAge(600).lifetime(T0, &s), 600);
        assert_eq!(Freshness::MaxAge(0).lifetime(T0, &s), 300, "at least 5 min");
        assert_eq!(
            Freshness::MaxAge(i64::MAX).lifetime(T0, &s),
            86_400,
            "at most 24 h"
        );
        assert_eq!(Freshness::NoStore.lifetime(T0, &s), 300);
        assert_eq!(Freshness::Unspecified.lifetime(T0, &s), 300);
        let exp = |at, date| Freshness::Expires { at, date };
        assert_eq!(exp(T0 + 3600, None).lifetime(T0, &s), 3600, "from now");
        assert_eq!(
            exp(T0 + 3600, Some(T0 - 1000)).lifetime(T0, &s),
            4600,
            "from the server's Date, whatever our clock says"
        );
        assert_eq!(exp(i64::MIN, None).lifetime(T0, &s), 300);
        assert_eq!(exp(T0 + 999_999, None).lifetime(T0, &s), 86_400);
    }

    /// Serves one document per URL with the given freshness and counts the fetches.
    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        freshness: Option<Freshness>,
    }

    #[async_trait]
    impl DocumentFetcher for Counting {
        async fn fetch_json(&self, url: &Url, _: DocumentKind) -> Result<Fetched, FetchError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Fetched {
                document: json!({"url": url.as_str(), "n": n}),
                freshness: self.freshness.unwrap_or(Freshness::Unspecified),
            })
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[tokio::test]
    async fn documents_are_kept_for_their_lifetime_then_fetched_again() {
        let fetcher = Arc::new(Counting {
            freshness: Some(Freshness::MaxAge(600)),
            ..Counting::default()
        });
        let docs = Documents::new(fetcher.clone(), CacheSettings::default());
        let u = url("https://client.example/meta");
        let a = docs
            .get(&u, DocumentKind::ClientMetadata, T0)
            .await
            .expect("a");
        let b = docs
            .get(&u, DocumentKind::ClientMetadata, T0 + 599)
            .await
            .expect("b");
        assert_eq!(a, b);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
        docs.get(&u, DocumentKind::Jwks, T0)
            .await
            .expect("other kind");
        assert_eq!(
            fetcher.calls.load(Ordering::SeqCst),
            2,
            "kinds are cached apart"
        );
        let c = docs
            .get(&u, DocumentKind::ClientMetadata, T0 + 600)
            .await
            .expect("c");
        assert_ne!(a, c);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_its_capacity_evicting_the_soonest_to_expire() {
        let fetcher = Arc::new(Counting::default());
        let settings = CacheSettings {
            capacity: 3,
            per_host_limit: 100,
            ..CacheSettings::default()
        };
        let docs = Documents::new(fetcher.clone(), settings);
        for (i, t) in [(0, T0), (1, T0 + 10), (2, T0 + 20), (3, T0 + 30)] {
            let u = url(&format!("https://h.example/{i}"));
            docs.get(&u, DocumentKind::Jwks, t).await.expect("get");
        }
        assert_eq!(docs.len(), 3);
        // /0 expired soonest and was evicted; /1 is still there.
        docs.get(&url("https://h.example/1"), DocumentKind::Jwks, T0 + 40)
            .await
            .expect("get");
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 4);
        docs.get(&url("https://h.example/0"), DocumentKind::Jwks, T0 + 40)
            .await
            .expect("get");
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn each_host_is_fetched_at_most_ten_times_a_minute() {
        let fetcher = Arc::new(Counting {
            freshness: Some(Freshness::NoStore),
            ..Counting::default()
        });
        let docs = Documents::new(fetcher.clone(), CacheSettings::default());
        for i in 0..10 {
            let u = url(&format!("https://busy.example/{i}"));
            docs.get(&u, DocumentKind::Jwks, T0 + i)
                .await
                .expect("within the limit");
        }
        let e = docs
            .get(&url("https://BUSY.example/x"), DocumentKind::Jwks, T0 + 30)
            .await
            .expect_err("over the limit");
        assert!(
            matches!(e, FetchError::RateLimited { ref host, retry_after: 30, .. } if host == "busy.example"),
            "{e:?}"
        );
        assert!(e.to_string().contains("busy.example"), "{e}");
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 10);
        docs.get(&url("https://busy.example/1"), DocumentKind::Jwks, T0 + 30)
            .await
            .expect("cached documents are still served");
        docs.get(&url("https://other.example/x"), DocumentKind::Jwks, T0 + 30)
            .await
            .expect("other hosts are not limited");
        docs.get(&url("https://busy.example/x"), DocumentKind::Jwks, T0 + 60)
            .await
            .expect("the first fetch left the window");
    }

    #[tokio::test]
    async fn only_https_urls_are_fetched() {
        let fetcher = Arc::new(Counting::default());
        let docs = Documents::new(fetcher.clone(), CacheSettings::default());
        let e = docs
            .get(
                &url("http://client.example/meta"),
                DocumentKind::ClientMetadata,
                T0,
            )
            .await
            .expect_err("http");
        assert_eq!(e, FetchError::NotHttps);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 0);
    }
}
