//! The edge every request passes on its way in and out, as one tower service
//! ([`Edge`]) around each route: the request id ([`super::request_log`]), the `http`
//! span, the request's origin for the audit trail
//! ([`portcullis_core::audit::serving`]), the CORS policy of its path
//! ([`super::cors`]), the timeout, panics, the headers every answer carries and the
//! access log with its metrics.
//!
//! These were once a dozen layers (tower-http's request-id, trace, catch-panic,
//! timeout and set-header layers, and four `axum::middleware::from_fn`s). Each one
//! cloned the service below it, boxed a future or wrapped the body, for every request;
//! together they cost about a quarter of the CPU a `client_credentials` token takes
//! (docs/benchmarks.md, "client_credentials at the ceiling"). Here the same work is
//! one boxed future and one pass over the headers; the behaviour is the same, as the
//! tests of request ids, CORS, timeouts, panics and the access log check.

use super::cors::Cors;
use super::error::ApiError;
use super::peer::TrustedProxies;
use super::request_log;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, FutureExt};
use portcullis_core::audit::{serving, RequestMeta};
use portcullis_core::error::{ApiFailure, Code};
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

/// Seconds a request may take before it is abandoned.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the edge needs besides the route: the CORS policies and the proxies whose
/// forwarding headers are believed.
#[derive(Debug)]
pub struct EdgeConfig {
    pub cors: Cors,
    pub trusted_proxies: Arc<TrustedProxies>,
}

/// Wraps each route in an [`Edge`].
#[derive(Debug, Clone)]
pub struct EdgeLayer(Arc<EdgeConfig>);

impl EdgeLayer {
    pub fn new(config: EdgeConfig) -> Self {
        Self(Arc::new(config))
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            config: Arc::clone(&self.0),
        }
    }
}

/// The service: see the module documentation.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
    config: Arc<EdgeConfig>,
}

type Handling<S> = Either<Oneshot<tower_http::cors::Cors<S>, Request>, Oneshot<S, Request>>;

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let id = request_log::settle_id(req.headers_mut());
        let route = req.extensions().get::<MatchedPath>().cloned();
        let route_str = route
            .as_ref()
            .map_or(request_log::UNMATCHED_ROUTE, MatchedPath::as_str);
        let method = req.method().clone();
        // Method, route template and request id only: never headers (Authorization),
        // raw paths or query strings (codes).
        let span = tracing::info_span!(
            "http",
            method = %method,
            route = %route_str,
            request_id = %id.to_str().unwrap_or_default()
        );
        // At debug level, a line when the request arrives (the access line is the one
        // when it is answered).
        tracing::debug!(parent: &span, "request received");
        let meta = self.origin(&req);
        // The service that was made ready answers; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let handling: Handling<S> = match self.config.cors.policy(&req) {
            Some(cors) => Either::Left(cors.layer(inner).oneshot(req)),
            None => Either::Right(inner.oneshot(req)),
        };
        let guarded = AssertUnwindSafe(serving(
            meta,
            tokio::time::timeout(REQUEST_TIMEOUT, handling),
        ))
        .catch_unwind();
        Box::pin(async move {
            let outcome = guarded.instrument(span.clone()).await;
            span.in_scope(|| {
                let mut res = match outcome {
                    Ok(Ok(Ok(res))) => res,
                    Ok(Ok(Err(never))) => match never {},
                    Ok(Err(_elapsed)) => timed_out(),
                    Err(_panic) => panicked(),
                };
                let headers = res.headers_mut();
                headers
                    .entry(header::X_CONTENT_TYPE_OPTIONS)
                    .or_insert(HeaderValue::from_static("nosniff"));
                headers
                    .entry(header::CACHE_CONTROL)
                    .or_insert(HeaderValue::from_static("no-store"));
                headers.entry(request_log::REQUEST_ID).or_insert(id);
                let route = route.as_ref().map(MatchedPath::as_str);
                request_log::log_access(route, &method, res.status(), started.elapsed());
                Ok(res)
            })
        })
    }
}

impl<S> Edge<S> {
    /// Where the request comes from (address after `trusted_proxies`, `User-Agent`),
    /// for the events it records.
    fn origin(&self, req: &Request) -> RequestMeta {
        let source = super::peer::client_ip(
            &self.config.trusted_proxies,
            req.extensions(),
            req.headers(),
        )
        .map(|ip| ip.to_string());
        let agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        RequestMeta::new(source, agent)
    }
}

/// A request that outlived [`REQUEST_TIMEOUT`]: the envelope, 503.
fn timed_out() -> Response {
    ApiError::new(
        Code::TIMED_OUT,
        format!(
            "The request took longer than {} seconds and was abandoned.",
            REQUEST_TIMEOUT.as_secs()
        ),
    )
    .into_response()
}

/// A handler that panicked: logged, and answered with the envelope, 500. The panic's
/// message is not logged here (the panic hook printed it) nor sent.
fn panicked() -> Response {
    tracing::error!("a request handler panicked");
    ApiError(ApiFailure::internal(Code::INTERNAL)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::cors::ManagementOrigins;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use portcullis_core::testing::memory::MemoryStore;

    /// A router with the given routes behind the edge, as `http::router` builds it.
    fn behind_the_edge(routes: Router) -> Router {
        let edge = EdgeLayer::new(EdgeConfig {
            cors: Cors::new(Arc::new(MemoryStore::new()), &ManagementOrigins::default()),
            trusted_proxies: Arc::new(TrustedProxies::default()),
        });
        routes.layer(edge)
    }

    async fn envelope(res: Response) -> serde_json::Value {
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("a body");
        serde_json::from_slice(&body).expect("a JSON envelope")
    }

    fn get_request(path: &str) -> Request {
        Request::get(path).body(Body::empty()).expect("a request")
    }

    #[tokio::test]
    async fn every_answer_carries_its_id_and_the_common_headers_unless_the_route_set_them() {
        let app = behind_the_edge(Router::new().route("/plain", get(|| async { "ok" })).route(
            "/cached",
            get(|| async { ([(header::CACHE_CONTROL, "max-age=60")], "ok") }),
        ));
        let mut sent = get_request("/plain");
        sent.headers_mut()
            .insert(request_log::REQUEST_ID, HeaderValue::from_static("req-7"));
        let res = app.clone().oneshot(sent).await.expect("infallible");
        assert_eq!(res.headers()[request_log::REQUEST_ID], "req-7");
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");

        let res = app
            .oneshot(get_request("/cached"))
            .await
            .expect("infallible");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "max-age=60");
        let id = res.headers()[request_log::REQUEST_ID]
            .to_str()
            .expect("ascii");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "a fresh id: {id}");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_the_envelope() {
        let app = behind_the_edge(Router::new().route(
            "/boom",
            get(|| async {
                if true {
                    panic!("the handler fails");
                }
                "unreachable"
            }),
        ));
        let res = app.oneshot(get_request("/boom")).await.expect("infallible");
        assert_eq!(res.status(), 500);
        assert!(res.headers().contains_key(request_log::REQUEST_ID));
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let body = envelope(res).await;
        assert_eq!(body["error"]["code"], Code::INTERNAL.code, "{body}");
    }

    /// Time is paused: tokio advances the clock to the timeout as soon as every task
    /// waits, so the 30 seconds pass at once and exactly.
    #[tokio::test(start_paused = true)]
    async fn a_request_that_outlives_the_timeout_is_abandoned_with_the_envelope() {
        let app = behind_the_edge(Router::new().route(
            "/stuck",
            get(|| async {
                std::future::pending::<()>().await;
                "unreachable"
            }),
        ));
        let started = tokio::time::Instant::now();
        let res = app
            .oneshot(get_request("/stuck"))
            .await
            .expect("infallible");
        assert_eq!(started.elapsed(), REQUEST_TIMEOUT);
        assert_eq!(res.status(), 503);
        assert!(res.headers().contains_key(request_log::REQUEST_ID));
        let body = envelope(res).await;
        assert_eq!(body["error"]["code"], Code::TIMED_OUT.code, "{body}");
    }
}
