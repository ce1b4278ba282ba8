//! Request ids and the access log.
//!
//! Every request gets an id so that an operator can pick one request's lines out of a
//! busy log and match them with what a client or a proxy reported. A proxy's
//! `x-request-id` is kept when it is well formed, so ids line up across hops; it is
//! replaced when it is not (too long, or characters that could forge a log line or
//! break a log parser). tower-http's request-id layers set and echo the header; the id is
//! a field of the request's `http` span, so every line logged while serving the request
//! carries it, and one `portcullis::access` line per request says what was answered.
//!
//! Nothing taken from the raw request is logged but the method and the id: the access
//! line names the route template (`/api/users/{id}`), never the path as sent or the query
//! string, which can carry authorization codes and tokens.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The header carrying the id, in both directions.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id kept from a request; a longer one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The route of a request no route matched (the 404 fallback), so that probes for
/// random paths do not fill the log with their paths.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Whether a request id sent by a client or proxy is kept: 1 to
/// [`MAX_REQUEST_ID_LEN`] characters, ASCII letters, digits and `-_.:+/=@` (UUIDs,
/// hex, base64 and the usual trace-id formats; no spaces, quotes or control
/// characters that could forge or split a log line).
pub fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=@".contains(b))
}

/// Drops an unacceptable `x-request-id` (or several of them) before the request-id layer
/// runs, which then generates a fresh one.
pub async fn drop_malformed_id(mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let values: Vec<&HeaderValue> = headers.get_all(REQUEST_ID).iter().collect();
    let keep = matches!(values.as_slice(), [one] if acceptable(one));
    if !keep && !values.is_empty() {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

/// The request's `http` span: the method, the route template and the request id (set by
/// then by the request-id layer). Never headers (Authorization) or the raw path and query.
pub fn span(req: &Request) -> tracing::Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("http", method = %req.method(), route = %route(req), request_id = %id)
}

fn route(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
}

/// One `portcullis::access` line per request, inside its span: route template, method,
/// status and duration in milliseconds; the same figures go to the request metrics
/// ([`crate::telemetry::record_request`]), so each request is timed once. Runs outside
/// the timeout and panic layers, so the status is the one the client received.
pub async fn access_log(req: Request, next: Next) -> Response {
    let route = route(&req).to_owned();
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    if route != UNMATCHED_ROUTE {
        crate::telemetry::record_request(&route, &method, res.status(), elapsed);
    }
    // Milliseconds to the microsecond: finer is noise.
    let duration_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    tracing::info!(
        target: "portcullis::access",
        route = %route,
        method = %method,
        status = res.status().as_u16(),
        duration_ms,
        "request served"
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept_and_others_are_not() {
        for ok in [
            "3f1c2e4a-9b7d-4c1e-8a2b-0c9d8e7f6a5b",
            "abc123",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
        ] {
            assert!(acceptable(&HeaderValue::from_static(ok)), "{ok}");
        }
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        for bad in ["", "has space", "quote\"d", "new\tline", long.as_str()] {
            let v = HeaderValue::from_str(bad).expect("a header value");
            assert!(!acceptable(&v), "{bad:?}");
        }
        assert!(acceptable(
            &HeaderValue::from_str(&"a".repeat(MAX_REQUEST_ID_LEN)).expect("a header value")
        ));
        let non_ascii = HeaderValue::from_bytes("é".as_bytes()).expect("a header value");
        assert!(!acceptable(&non_ascii));
    }
}
