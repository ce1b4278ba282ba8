//! The HTTP surface: one module per surface, each exposing `router()`, assembled here
//! with the cross-cutting layers (CORS, body limit, security headers, request ids, tracing
//! and the access log, panics).

pub mod authorize;
pub mod client_apps;
pub mod cors;
pub mod device;
pub mod dpop;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod jwks;
pub mod limits;
pub mod metadata;
pub mod oauth;
pub mod openapi;
pub mod pages;
pub mod peer;
pub mod permissions;
pub mod plain;
pub mod register;
pub mod reply;
pub mod request_log;
pub mod resource_metadata;
pub mod resources;
pub mod tenants;
pub mod users;
pub mod vault;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::Router;
use portcullis_core::error::Code;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Every documented route, and the OpenAPI document generated from them.
pub fn api() -> (Router<AppState>, OpenApi) {
    let (routes, doc) = documented();
    (routes, openapi::complete(doc))
}

/// The routes and their document as the annotations give it, before
/// [`openapi::complete`] adds the answers every operation shares. The server keeps
/// this one: the metadata documents need only its paths, and `GET /api/openapi.json`
/// completes it when asked, so start-up does not convert the whole document to JSON
/// and back (a few MB of short-lived heap that stayed in the idle process's RSS).
fn documented() -> (Router<AppState>, OpenApi) {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(health::router())
        .merge(client_apps::router())
        .merge(oauth::router())
        .merge(register::router())
        .merge(metadata::router())
        .merge(resource_metadata::router())
        .merge(jwks::router())
        .merge(limits::router())
        .merge(users::router())
        .merge(permissions::router())
        .merge(resources::router())
        .merge(tenants::router())
        .merge(vault::router())
        .merge(openapi::router())
        .merge(authorize::router())
        .merge(device::router())
        .merge(events::router())
        .split_for_parts()
}

/// Seconds a request may take before it is abandoned.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeout layer answers a bare 408; clients get the envelope (503) instead.
async fn timeout_envelope(res: axum::response::Response) -> axum::response::Response {
    if res.status() == axum::http::StatusCode::REQUEST_TIMEOUT {
        return error::ApiError::new(
            Code::TIMED_OUT,
            format!(
                "The request took longer than {} seconds and was abandoned.",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response();
    }
    res
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    error::ApiError(portcullis_core::error::ApiFailure::internal(Code::INTERNAL)).into_response()
}

/// The complete application router.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = documented();
    let doc = std::sync::Arc::new(doc);
    let cors = std::sync::Arc::new(cors::Cors::new(
        state.ctx.store.clone(),
        &state.cors_allowed_origins,
    ));
    routes
        .layer(axum::Extension(doc))
        .fallback(error::no_such_path)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(cors, cors::answer))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            events::origin,
        ))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::map_response(timeout_envelope))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_log::access_log))
        // Method, route template and request id only: never headers (Authorization),
        // raw paths or query strings (codes).
        .layer(TraceLayer::new_for_http().make_span_with(request_log::span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::from_fn(request_log::drop_malformed_id))
        .with_state(state)
}
