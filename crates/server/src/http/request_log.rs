//! Request ids and the access log.
//!
//! Every request gets an id so that an operator can pick one request's lines out of a
//! busy log and match them with what a client or a proxy reported. A proxy's
//! `x-request-id` is kept when it is well formed, so ids line up across hops; it is
//! replaced when it is not (too long, or characters that could forge a log line or
//! break a log parser). [`super::edge::Edge`] settles the id ([`settle_id`]) and echoes it; the
//! id is a field of the request's `http` span, so every line logged while serving the request
//! carries it, and one `portcullis::access` line per request says what was answered.
//!
//! Nothing taken from the raw request is logged but the method and the id: the access
//! line names the route template (`/api/users/{id}`), never the path as sent or the query
//! string, which can carry authorization codes and tokens.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::time::Duration;

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

/// The request's id, settled before anything else runs: the one `x-request-id` a
/// client or proxy sent when it is [`acceptable`], else a fresh UUID (v4) that replaces
/// whatever was sent (an unacceptable value, or several). The request carries the
/// settled id from here on, and the answer carries it back.
pub fn settle_id(headers: &mut HeaderMap) -> HeaderValue {
    let mut sent = headers.get_all(REQUEST_ID).iter();
    if let (Some(one), None) = (sent.next(), sent.next()) {
        if acceptable(one) {
            return one.clone();
        }
    }
    let mut buf = uuid::Uuid::encode_buffer();
    let fresh = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    // Hex digits and hyphens: always a header value.
    #[allow(clippy::expect_used)]
    let id = HeaderValue::from_str(fresh).expect("a UUID is a header value");
    headers.insert(REQUEST_ID, id.clone());
    id
}

/// One `portcullis::access` line per request, inside its span: route template
/// ([`UNMATCHED_ROUTE`] when no route matched), method, status and duration in
/// milliseconds; the same figures go to the request metrics
/// ([`crate::telemetry::record_request`]) for matched routes, so each request is timed
/// once. Called by [`super::edge::Edge`] after the timeout and panic handling, so the
/// status is the one the client receives.
pub fn log_access(route: Option<&str>, method: &Method, status: StatusCode, elapsed: Duration) {
    if let Some(route) = route {
        crate::telemetry::record_request(route, method, status, elapsed);
    }
    // Milliseconds to the microsecond: finer is noise.
    let duration_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    tracing::info!(
        target: "portcullis::access",
        route = route.unwrap_or(UNMATCHED_ROUTE),
        method = method.as_str(),
        status = status.as_u16(),
        duration_ms,
        "request served"
    );
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

    #[test]
    fn an_acceptable_id_is_kept_and_anything_else_is_replaced_by_a_fresh_one() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("req-1"));
        assert_eq!(settle_id(&mut h), "req-1");
        assert_eq!(h.get_all(REQUEST_ID).iter().count(), 1);

        let mut fresh = Vec::new();
        let mut twice = HeaderMap::new();
        twice.append(REQUEST_ID, HeaderValue::from_static("a"));
        twice.append(REQUEST_ID, HeaderValue::from_static("b"));
        let mut bad = HeaderMap::new();
        bad.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        for mut h in [HeaderMap::new(), twice, bad] {
            let id = settle_id(&mut h);
            let sent: Vec<&HeaderValue> = h.get_all(REQUEST_ID).iter().collect();
            assert_eq!(sent, [&id], "the request carries the settled id alone");
            let id = id.to_str().expect("ascii").to_owned();
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
            fresh.push(id);
        }
        fresh.dedup();
        assert_eq!(fresh.len(), 3, "each fresh id is new: {fresh:?}");
    }
}
