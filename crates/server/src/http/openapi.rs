//! The OpenAPI 3.1 document, generated from the handlers' annotations by utoipa and
//! served at `/api/openapi.json`. Routes are registered only through `OpenApiRouter`,
//! so a route cannot exist without being documented (and a test checks the reverse).

use crate::state::AppState;
use axum::{Extension, Json};
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Portcullis", description = "OAuth 2.0 authorization server speaking Hybrid Data Pipeline's management API."),
    tags(
        (name = "client applications", description = "HDP Client Application Registration API"),
        (name = "oauth", description = "OAuth 2.0: token, introspection, revocation, userinfo, metadata"),
        (name = "users", description = "HDP Users and Permissions APIs, and the caller's own account"),
        (name = "limits", description = "HDP Limits API: lockout and OAuth token limits, per system and tenant"),
        (name = "tenants", description = "HDP Tenant API: tenants, their admins, host names and allowed scopes"),
        (name = "oauth applications", description = "HDP OAuth application objects: upstream OAuth applications of the token vault"),
        (name = "oauth profiles", description = "HDP OAuth profiles: upstream tokens sealed at rest, refresh and the connect flow"),
        (name = "operations", description = "Health, readiness and this document"),
        (name = "authorization", description = "OAuth 2.0 authorization code flow: the authorization endpoint with its login and consent pages"),
    )
)]
struct Base;

/// The document's fixed parts: info, tags and the security schemes.
pub fn base() -> OpenApi {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    doc
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<Arc<OpenApi>>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(doc.as_ref()).unwrap_or_default())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}
