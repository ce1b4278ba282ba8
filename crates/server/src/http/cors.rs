//! Cross-origin requests (the [Fetch standard's CORS protocol](https://fetch.spec.whatwg.org/#http-cors-protocol)):
//! which routes a browser may call from another origin, and from which origins. The
//! request's edge ([`super::edge::Edge`]) asks [`Cors::policy`], which picks it by path
//! ([`surface`]), and lets `tower-http`'s [`CorsLayer`] answer with it:
//!
//! * [`Surface::Public`]: the metadata documents (RFC 8414, OpenID, RFC 9728) and the
//!   JWKS, from any origin (`*`, no credentials): they are public.
//! * [`Surface::Clients`]: the token, UserInfo and revocation endpoints, from the
//!   origins (`scheme://host[:port]`) of the registered applications' redirect URLs
//!   ([`ClientOrigins`]), echoed with `Vary: Origin`, never with credentials: these
//!   endpoints take no cookies. Any other origin gets no CORS headers, so the browser
//!   withholds the answer; the request itself is answered as for any client (CORS is
//!   not authentication).
//! * [`Surface::Management`]: the management API, only from the operator's
//!   `cors_allowed_origins` ([`ManagementOrigins`]), with credentials (its Basic
//!   authentication); without that setting, same-origin.
//! * [`Surface::SameOrigin`]: everything else, the sign-in pages in particular: no CORS
//!   headers ever.
//!
//! The client origins are read through the store's row cache
//! ([`ClientStore::all_redirect_urls`](portcullis_core::store::ClientStore::all_redirect_urls)),
//! which every change to an application drops (on this node at once, on the others
//! and after admin commands within the cache's generation check); the origin set is
//! derived again only when the store hands out a new list.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method};
use portcullis_core::store::Store;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tower_http::cors::{AllowCredentials, AllowOrigin, Any, CorsLayer};

/// Exposed on every surface, so a page can quote the id of a failed request
/// ([`super::request_log`]) to an operator.
const REQUEST_ID: HeaderName = HeaderName::from_static(super::request_log::REQUEST_ID);

/// Seconds a browser may keep a preflight's answer. Short, so that an application's
/// deleted redirect URL stops passing preflights soon (its answers already carry no
/// CORS headers).
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// Public documents any origin may read (the metadata documents, the protected
/// resource metadata of RFC 9728, the JWKS).
const PUBLIC_PATHS: &[&str] = &[
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/api/mgmt",
    "/oauth2/jwks",
];
/// Endpoints browser clients call with their tokens.
const CLIENT_PATHS: &[&str] = &["/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke"];
/// Where the management API lives.
const MANAGEMENT_PREFIXES: &[&str] = &["/api/", "/configapi/"];
/// Sign-in pages under the management prefix (HDP's authorize path): same-origin.
const SIGN_IN_PATHS: &[&str] = &["/api/mgmt/oauth2/authorize"];

/// Request headers a cross-origin caller may send besides the CORS-safelisted ones.
const ALLOWED_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("dpop"),
];

/// Which CORS policy a path answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Any origin, no credentials.
    Public,
    /// The origins of registered redirect URLs, no credentials.
    Clients,
    /// The operator's `cors_allowed_origins`, with credentials.
    Management,
    /// No CORS headers.
    SameOrigin,
}

/// The CORS policy of `path`.
pub fn surface(path: &str) -> Surface {
    if PUBLIC_PATHS.contains(&path) {
        Surface::Public
    } else if CLIENT_PATHS.contains(&path) {
        Surface::Clients
    } else if MANAGEMENT_PREFIXES.iter().any(|p| path.starts_with(p))
        && !SIGN_IN_PATHS.contains(&path)
    {
        Surface::Management
    } else {
        Surface::SameOrigin
    }
}

/// The origin (`scheme://host[:port]`, the default port left out, as browsers send it)
/// of an `http` or `https` URL; `None` for anything else (an app's own scheme, a bare
/// host name).
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return None;
    }
    Some(u.origin().ascii_serialization())
}

/// The origins the operator lets call the management API (`cors_allowed_origins`).
#[derive(Debug, Clone, Default)]
pub struct ManagementOrigins(Vec<HeaderValue>);

impl ManagementOrigins {
    /// Each entry must be an origin: `https://admin.example` or `http://host:port`,
    /// without path, query or `*`.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Self, String> {
        let mut origins = Vec::with_capacity(list.len());
        for entry in list {
            let entry = entry.as_ref();
            let bare = url::Url::parse(entry).is_ok_and(|u| {
                u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
                    && u.password().is_none()
            });
            let origin = origin_of(entry)
                .filter(|_| bare && !entry.ends_with("/."))
                .ok_or_else(|| {
                    format!(
                        "cors_allowed_origins entry '{entry}' is not an origin; write scheme://host[:port] such as https://admin.example (no path, no wildcard)"
                    )
                })?;
            let value = HeaderValue::from_str(&origin).map_err(|_| {
                format!("cors_allowed_origins entry '{entry}' cannot be a header value")
            })?;
            origins.push(value);
        }
        Ok(Self(origins))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Origins, and the redirect URL list they were derived from.
#[derive(Debug)]
struct Derived {
    from: Arc<[String]>,
    origins: Arc<HashSet<String>>,
}

/// The origins of every registered redirect URL, derived again only when the store
/// hands out a new list.
#[derive(Debug)]
pub struct ClientOrigins {
    store: Arc<dyn Store>,
    derived: Mutex<Option<Derived>>,
}

impl ClientOrigins {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            derived: Mutex::new(None),
        }
    }

    /// Whether `origin` is the origin of some application's redirect URL. A store
    /// failure allows nothing (and is logged).
    pub async fn allows(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        match self.store.all_redirect_urls().await {
            Ok(urls) => self.origins(urls).contains(origin),
            Err(e) => {
                tracing::warn!(error = %e, "CORS: the registered redirect URLs could not be read");
                false
            }
        }
    }

    fn origins(&self, urls: Arc<[String]>) -> Arc<HashSet<String>> {
        let mut derived = self.derived.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = &*derived {
            if Arc::ptr_eq(&d.from, &urls) {
                return Arc::clone(&d.origins);
            }
        }
        let origins: Arc<HashSet<String>> =
            Arc::new(urls.iter().filter_map(|u| origin_of(u)).collect());
        *derived = Some(Derived {
            from: urls,
            origins: Arc::clone(&origins),
        });
        origins
    }
}

/// The three CORS policies, built once.
#[derive(Debug, Clone)]
pub struct Cors {
    public: CorsLayer,
    clients: CorsLayer,
    management: Option<CorsLayer>,
}

impl Cors {
    pub fn new(store: Arc<dyn Store>, management: &ManagementOrigins) -> Self {
        let max_age = Duration::from_secs(PREFLIGHT_MAX_AGE_SECS);
        let public = CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers([REQUEST_ID])
            .max_age(max_age)
            // Nothing in these answers depends on the origin: shared caches keep one copy.
            .vary(Vec::<HeaderName>::new());
        let origins = Arc::new(ClientOrigins::new(store));
        let clients = CorsLayer::new()
            .allow_origin(AllowOrigin::async_predicate(
                move |origin: HeaderValue, _: &axum::http::request::Parts| async move {
                    origins.allows(&origin).await
                },
            ))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers([header::WWW_AUTHENTICATE, REQUEST_ID])
            .max_age(max_age);
        let management = (!management.is_empty()).then(|| {
            let allowed = management.0.clone();
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(management.0.clone()))
                .allow_credentials(AllowCredentials::predicate(move |origin, _| {
                    allowed.contains(origin)
                }))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers(ALLOWED_HEADERS)
                .expose_headers([REQUEST_ID])
                .max_age(max_age)
        });
        Self {
            public,
            clients,
            management,
        }
    }

    /// The CORS policy a request is answered with ([`super::edge::Edge`] wraps the
    /// route in it; a preflight is answered without calling the route), or `None` when
    /// it passes on untouched. The public documents carry `*` always, since a shared
    /// cache may hand one copy to browsers and other clients alike; other requests
    /// without `Origin` (not from a page) pass on untouched, so other clients see no
    /// difference.
    pub fn policy(&self, req: &Request) -> Option<&CorsLayer> {
        let surface = surface(req.uri().path());
        if surface != Surface::Public && !req.headers().contains_key(header::ORIGIN) {
            return None;
        }
        match surface {
            Surface::Public => Some(&self.public),
            Surface::Clients => Some(&self.clients),
            Surface::Management => self.management.as_ref(),
            Surface::SameOrigin => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_of_web_urls_only() {
        assert_eq!(
            origin_of("https://App.Example/cb?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("https://app.example:443/cb").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8400/cb").as_deref(),
            Some("http://127.0.0.1:8400")
        );
        assert_eq!(origin_of("com.example.app:/callback"), None);
        assert_eq!(origin_of("host.example"), None);
    }

    #[test]
    fn each_path_has_its_policy() {
        assert_eq!(
            surface("/.well-known/openid-configuration"),
            Surface::Public
        );
        assert_eq!(surface("/oauth2/jwks"), Surface::Public);
        assert_eq!(
            surface("/.well-known/oauth-protected-resource/api/mgmt"),
            Surface::Public
        );
        assert_eq!(surface("/oauth2/token"), Surface::Clients);
        assert_eq!(surface("/oauth2/introspect"), Surface::SameOrigin);
        assert_eq!(surface("/oauth2/authorize"), Surface::SameOrigin);
        assert_eq!(surface("/oauth2/login"), Surface::SameOrigin);
        assert_eq!(surface("/api/mgmt/oauth2/authorize"), Surface::SameOrigin);
        assert_eq!(surface("/api/admin/users"), Surface::Management);
        assert_eq!(surface("/configapi/v2/oauth/token"), Surface::Management);
    }

    #[test]
    fn management_origins_must_be_origins() {
        let ok = ManagementOrigins::parse(&["https://Admin.example:443", "http://localhost:3000/"])
            .expect("origins");
        assert_eq!(ok.0, ["https://admin.example", "http://localhost:3000"]);
        for bad in [
            "*",
            "https://admin.example/console",
            "admin.example",
            "ftp://x.example",
        ] {
            let e = ManagementOrigins::parse(&[bad]).expect_err(bad);
            assert!(e.contains("cors_allowed_origins") && e.contains(bad), "{e}");
        }
    }
}
