//! The HTTP surface: one module per surface, each exposing `router()`, assembled here
//! with what every request passes: its edge ([`edge`]: request id, span, CORS, timeout,
//! panics, common headers, access log) and the body limit.

pub mod authorize;
pub mod client_apps;
pub mod cors;
pub mod device;
pub mod dpop;
pub mod edge;
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
use axum::Router;
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

/// The complete application router: every route wrapped in its [`edge::Edge`] (request
/// id, span, audit origin, CORS, timeout, panics, common headers, access log) and the
/// request body limit.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = documented();
    let doc = std::sync::Arc::new(doc);
    let edge = edge::EdgeLayer::new(edge::EdgeConfig {
        cors: cors::Cors::new(state.ctx.store.clone(), &state.cors_allowed_origins),
        trusted_proxies: state.trusted_proxies.clone(),
    });
    routes
        .layer(axum::Extension(doc))
        .fallback(error::no_such_path)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(
            tower::ServiceBuilder::new()
                .layer(edge)
                .layer(DefaultBodyLimit::max(extract::MAX_BODY)),
        )
        .with_state(state)
}
