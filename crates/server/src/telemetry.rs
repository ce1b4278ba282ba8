//! Prometheus metrics (SPEC §5.4, issue 16): the process-wide recorder of the
//! `metrics` facade, the count of HTTP requests, and `GET /metrics`.
//!
//! Core counts outcomes where it decides them (`metrics::counter!` in the token
//! endpoint, sign-in and vault refresh, the caches, the Argon2 pool; store-sql times
//! statements and connection waits); this module installs the one recorder that
//! collects them, sets the gauges read at scrape time (database pool, signing-key
//! age) and renders its state with `metrics-exporter-prometheus`. The
//! exporter's own HTTP listener is not used: `/metrics` is an axum route, served on the
//! main listener or, when `metrics_listen` is set, only on a listener of its own.
//!
//! A recorder can be installed once per process, and one test process may start many
//! servers, so [`install`] is idempotent: the first call installs it, later calls reuse
//! its handle. Counters are therefore process-wide, and tests assert on deltas.
//!
//! Label values are bounded: route templates (never a raw path), a fixed list of
//! methods, status codes, grant types, client types, RFC error codes and outcomes.
//! Never a client id, user name or token.

use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use portcullis_core::context::Context;
use std::sync::OnceLock;
use std::time::Duration;

/// Name of the request latency histogram.
pub const HTTP_DURATION: &str = "portcullis_http_request_duration_seconds";
/// Name of the request counter.
pub const HTTP_REQUESTS: &str = "portcullis_http_requests_total";

/// Latency buckets in seconds: from a cached token check (~1 ms) to an Argon2 sign-in
/// under load and the 30 s request timeout.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets of `portcullis_db_batch_units` (write units per SQLite group commit): a
/// count, not seconds (a full-name matcher sorts before the prefix one, so wins).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Buckets of the database histograms (statements, connection waits), in seconds.
const DB_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global recorder, once; the
/// handle that renders it. `None` when another recorder was installed first (an
/// embedding program's): the counters then go there, and `/metrics` says so.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            // Every histogram gets buckets (else the exporter renders a summary); the
            // database's own, finer ones, since a cached SQLite read takes ~50 µs.
            let db = Matcher::Prefix("portcullis_db_".to_owned());
            let builder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(db, DB_BUCKETS))
                .and_then(|b| {
                    let batch = Matcher::Full(portcullis_store_sqlite::BATCH_UNITS.to_owned());
                    b.set_buckets_for_metric(batch, BATCH_BUCKETS)
                })
                .map_err(|e| tracing::error!(error = %e, "the metrics buckets are invalid"))
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "another metrics recorder is installed; /metrics is unavailable");
                    None
                }
            }
        })
        .as_ref()
}

/// The method label: the standard methods by name, anything else as `OTHER`, so a
/// client cannot invent label values.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts one answered request by route template (axum's
/// [`axum::extract::MatchedPath`], e.g. `/api/users/{id}`), method and status, and
/// observes its latency. Called by the access log
/// ([`crate::http::request_log::access_log`]), which times every request once with a
/// monotonic clock (not the injected clock, which tells the time of day to protocol
/// logic and may be pinned in tests), and only for requests a route matched, so a
/// scanner's paths cannot add label values.
pub fn record_request(route: &str, method: &Method, status: StatusCode, elapsed: Duration) {
    let method = method_label(method);
    let status = status.as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_owned(), "method" => method)
        .record(elapsed.as_secs_f64());
}

/// Sets the gauges read at scrape time, from memory: the database pool's connections
/// and each algorithm's signing-key age (seconds since it began signing, by the
/// injected clock). Process-wide like every series: with several servers in one
/// process (tests), the last scraped one's.
fn set_scrape_gauges(ctx: &Context) {
    if let Some(pool) = ctx.store.pool_status() {
        let in_use = pool.size.saturating_sub(pool.idle);
        metrics::gauge!("portcullis_db_pool_connections", "state" => "idle").set(pool.idle);
        metrics::gauge!("portcullis_db_pool_connections", "state" => "in_use").set(in_use);
        metrics::gauge!("portcullis_db_pool_max_connections").set(pool.max);
    }
    for (alg, age) in ctx.signer.active_key_ages(ctx.now()) {
        // Seconds fit an f64 exactly for 285 million years.
        #[allow(clippy::cast_precision_loss)]
        let age = age as f64;
        metrics::gauge!("portcullis_signing_key_age_seconds", "alg" => alg.as_str()).set(age);
    }
}

/// `GET /metrics`: the Prometheus text exposition format (version 0.0.4).
async fn render(State(ctx): State<Context>) -> Response {
    let Some(handle) = install() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Metrics are unavailable: another metrics recorder was installed in this process.\n",
        )
            .into_response();
    };
    set_scrape_gauges(&ctx);
    handle.run_upkeep();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        handle.render(),
    )
        .into_response()
}

/// The router serving `GET /metrics`, merged into the main router or served alone on
/// `metrics_listen`; `ctx` is read for the scrape-time gauges.
pub fn router(ctx: Context) -> Router {
    Router::new().route("/metrics", get(render)).with_state(ctx)
}
