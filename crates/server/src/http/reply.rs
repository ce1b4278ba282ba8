//! Response helpers the handlers share.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// An answer that must not be cached: it carries a secret, a token or a token's claims
/// (RFC 6749 §5.1, RFC 7662 §2.2).
pub fn no_store(res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `Retry-After` in seconds, when a refusal says when to try again.
pub fn set_retry_after(headers: &mut HeaderMap, secs: Option<u64>) {
    if let Some(v) = secs.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        headers.insert(header::RETRY_AFTER, v);
    }
}
