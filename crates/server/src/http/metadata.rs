//! Authorization server metadata (RFC 8414) at `/.well-known/oauth-authorization-server`,
//! derived from the router's own OpenAPI document: an endpoint is advertised only if
//! a route serves it, so the document cannot promise what the server does not do. The
//! client authentication methods come from [`ClientEndpoint::methods`], the list the
//! endpoints enforce.

use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use portcullis_core::oauth::client_auth::ClientEndpoint;
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// (metadata field, path) of every endpoint the metadata may advertise.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("authorization_endpoint", "/oauth2/authorize"),
    ("token_endpoint", "/oauth2/token"),
    ("jwks_uri", "/oauth2/jwks"),
    ("introspection_endpoint", "/oauth2/introspect"),
    ("revocation_endpoint", "/oauth2/revoke"),
    ("userinfo_endpoint", "/oauth2/userinfo"),
];

/// The metadata document for `issuer`, given the paths the router serves.
pub fn document(issuer: &str, served: &dyn Fn(&str) -> bool) -> Value {
    let mut doc = json!({
        "issuer": issuer,
        "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ClientEndpoint::Token.method_names(),
        "scopes_supported": portcullis_core::model::scope::KNOWN.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint_auth_methods_supported": ClientEndpoint::Introspection.method_names(),
        "revocation_endpoint_auth_methods_supported": ClientEndpoint::Revocation.method_names(),
        "response_types_supported": [],
    });
    for (field, path) in ENDPOINTS {
        if served(path) {
            doc[*field] = Value::String(format!("{issuer}{path}"));
        }
    }
    if served("/oauth2/authorize") {
        doc["response_types_supported"] = json!(["code"]);
        // RFC 9207: every authorization response redirect carries `iss`, this issuer.
        doc["authorization_response_iss_parameter_supported"] = json!(true);
    }
    doc
}

/// RFC 8414 metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "RFC 8414 authorization server metadata")))]
pub async fn metadata(
    State(s): State<AppState>,
    Extension(doc): Extension<Arc<OpenApi>>,
) -> Json<Value> {
    let served = |path: &str| doc.paths.paths.contains_key(path);
    Json(document(s.ctx.signer.issuer(), &served))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metadata))
}
