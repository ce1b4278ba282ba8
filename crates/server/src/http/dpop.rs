//! DPoP ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)) on the HTTP side: reading
//! the `DPoP` header (one only) for the token endpoint, the `DPoP-Nonce` header when
//! nonces are on (`dpop_nonces`), and, at Portcullis's own resources (UserInfo, the
//! management API's Bearer caller), the `Authorization: DPoP` scheme with its proof
//! and the `WWW-Authenticate: DPoP` challenge (§7.1). The rules are core's
//! ([`portcullis_core::oauth::dpop`]); the URL a proof must name is built from the
//! public URL (the issuer) and the path, never from the `Host` header.

use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::model::confirmation::Confirmation;
use portcullis_core::oauth::dpop::{self, AtResource, Presented, ResourceRefusal};
use portcullis_core::oauth::error::{ErrorCode, OAuthError};

/// The `DPoP` request header.
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header.
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The one `DPoP` header's value, if sent; two or more are refused (§4.3 item 1).
pub fn proof(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut all = headers.get_all(DPOP).iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| {
            OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "The DPoP header is not readable text.",
            )
        }),
        (Some(_), Some(_)) => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "The DPoP header was sent more than once; send one proof.",
        )),
    }
}

/// The token request's proof, for the endpoint at `path`.
pub fn presented(
    s: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<Presented>, OAuthError> {
    Ok(proof(headers)?.map(|p| Presented {
        proof: p.to_owned(),
        url: format!("{}{path}", s.issuer),
        require_nonce: s.dpop_nonces,
    }))
}

/// The current server nonce when nonces are on (the `dpop_nonces` setting).
pub fn current_nonce(s: &AppState) -> Option<String> {
    s.dpop_nonces.then(|| dpop::nonce(&s.ctx, s.ctx.now()))
}

/// Adds a current `DPoP-Nonce` to `res` when nonces are on (§8.2: on any response).
pub fn add_nonce(s: &AppState, res: &mut Response) {
    if let Some(v) = current_nonce(s).and_then(|n| HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert(DPOP_NONCE, v);
    }
}

/// An access token as `Authorization` presented it: `Bearer` or `DPoP`.
#[derive(Debug, Clone, Copy)]
pub struct Presentation<'h> {
    pub token: &'h str,
    pub dpop_scheme: bool,
}

/// The token of one `Authorization: Bearer …` or `Authorization: DPoP …` value.
pub fn presentation(value: &HeaderValue) -> Option<Presentation<'_>> {
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presentation {
            token,
            dpop_scheme: false,
        })
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some(Presentation {
            token,
            dpop_scheme: true,
        })
    } else {
        None
    }
}

/// A refusal at a resource: its error code and description.
pub type Refusal = (ErrorCode, String);

/// Checks how a valid access token with `cnf` was presented at `method` `path`.
pub async fn check_at_resource(
    s: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    p: Presentation<'_>,
    cnf: Option<&Confirmation>,
) -> Result<(), Refusal> {
    let proof = proof(headers).map_err(|e| (e.code, e.description))?;
    let url = format!("{}{path}", s.issuer);
    let at = AtResource {
        dpop_scheme: p.dpop_scheme,
        proof,
        token: p.token,
        method,
        url: &url,
        require_nonce: s.dpop_nonces,
    };
    dpop::check_at_resource(&s.ctx, &at, cnf)
        .await
        .map_err(|r| match r {
            ResourceRefusal::Token(why) => (ErrorCode::InvalidToken, why.to_owned()),
            ResourceRefusal::Proof(e) => {
                let e = OAuthError::from(e);
                (e.code, e.description)
            }
        })
}

/// The `WWW-Authenticate: DPoP` challenge of a refusal (§7.1), with the algorithms.
pub fn challenge_value(error: Option<&Refusal>) -> String {
    let algs = dpop::ALGORITHMS.join(" ");
    match error {
        None => format!("DPoP algs=\"{algs}\""),
        Some((code, desc)) => format!(
            "DPoP error=\"{}\", error_description=\"{}\", algs=\"{algs}\"",
            code.as_str(),
            desc.replace(['"', '\\'], "'")
        ),
    }
}

/// Adds the DPoP challenge (§7.1) beside a resource's Bearer challenge to a request
/// that presented no token.
pub fn offer(res: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&challenge_value(None)) {
        res.headers_mut().append(header::WWW_AUTHENTICATE, v);
    }
}

/// A resource's answer to a refused DPoP presentation: 401 (400 for a malformed
/// request), the DPoP challenge, the nonce when one is needed, and the error as JSON.
pub fn refused(s: &AppState, refusal: Refusal) -> Response {
    let status = match refusal.0 {
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut res = (
        status,
        Json(serde_json::json!({"error": refusal.0.as_str(), "error_description": refusal.1})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge_value(Some(&refusal))) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    add_nonce(s, &mut res);
    res
}
