//! The HDP error envelope (`spec/hdp-reference.md` §0.2) as an axum response:
//! `{"error":{"code":N,"message":{"lang":"en-US","value":"…"}}}` with the HTTP status
//! of the code's kind. Only the catalogue message is ever sent; causes are logged.

use super::reply::set_retry_after;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::error::{ApiFailure, Code, Kind};
use serde::Serialize;
use utoipa::ToSchema;

/// The error body every management endpoint answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A code from the catalogue (`docs/errors.md`), e.g. 222206634.
    pub code: u32,
    pub message: ErrorMessage,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorMessage {
    /// Always `en-US`.
    pub lang: &'static str,
    pub value: String,
}

/// A failed management call.
#[derive(Debug)]
pub struct ApiError(pub ApiFailure);

impl From<ApiFailure> for ApiError {
    fn from(f: ApiFailure) -> Self {
        Self(f)
    }
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self(ApiFailure::new(code, message))
    }
}

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::BadGateway => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let f = self.0;
        let status = status_of(f.kind());
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: f.code.code,
                message: ErrorMessage {
                    lang: "en-US",
                    value: f.message,
                },
            },
        };
        let mut res = (status, Json(body)).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Portcullis\", charset=\"UTF-8\""),
            );
        }
        set_retry_after(headers, f.retry_after);
        res
    }
}

/// Fallback for paths no route serves.
pub async fn no_such_path(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        Code::NO_SUCH_PATH,
        format!("There is no API at {}.", uri.path()),
    )
}

/// Fallback for a known path called with a method it does not take.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        Code::METHOD_NOT_ALLOWED,
        format!("{} does not accept {method}.", uri.path()),
    )
}
