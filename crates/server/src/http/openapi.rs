//! The OpenAPI 3.1 document, generated from the handlers' annotations by utoipa and
//! served at `/api/openapi.json`. Routes are registered only through `OpenApiRouter`,
//! so a route cannot exist without being documented (and a test checks the reverse).
//!
//! The handlers' annotations declare what is particular to each operation; [`complete`]
//! then adds, in one pass, the answers that whole surfaces share and that no handler
//! spells out: malformed ids and queries (400), credentials (401, 403), the body's
//! size and type (413, 415), rate limits (429), internal failures (500) and an
//! unavailable database (503), each in its surface's format (the HDP envelope, RFC 6749
//! JSON, or an HTML page).

use crate::state::AppState;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
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
        (name = "resources", description = "Resource servers (RFC 8707): the APIs a tenant's clients may ask tokens for with `resource`"),
        (name = "tenants", description = "HDP Tenant API: tenants, their admins, host names and allowed scopes"),
        (name = "oauth applications", description = "HDP OAuth application objects: upstream OAuth applications of the token vault"),
        (name = "oauth profiles", description = "HDP OAuth profiles: upstream tokens sealed at rest, refresh and the connect flow"),
        (name = "operations", description = "Health, readiness and this document"),
        (name = "authorization", description = "OAuth 2.0 authorization code flow: the authorization endpoint with its login and consent pages"),
        (name = "audit", description = "The audit trail: security events per tenant"),
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

/// How an operation answers its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// The management API: the HDP envelope.
    Envelope,
    /// The RFC 6749 form endpoints: `{"error", "error_description"}`.
    Rfc,
    /// The token endpoints that also take HDP JSON: RFC 6749 JSON for forms, the
    /// envelope for JSON requests.
    RfcOrEnvelope,
    /// RFC 6750 protected resources (userinfo).
    Bearer,
    /// The browser pages: an HTML error page.
    Page,
    /// Health, metadata and documents: no common errors.
    Plain,
}

fn surface(path: &str) -> Surface {
    match path {
        "/oauth2/token" | "/api/mgmt/oauth2/token" => Surface::RfcOrEnvelope,
        "/configapi/v2/oauth/token"
        | "/oauth2/introspect"
        | "/oauth2/revoke"
        | "/oauth2/par"
        | "/oauth2/device_authorization" => Surface::Rfc,
        "/oauth2/userinfo" => Surface::Bearer,
        "/oauth2/authorize"
        | "/api/mgmt/oauth2/authorize"
        | "/oauth2/login"
        | "/oauth2/consent"
        | "/oauth2/logout"
        | "/oauth2/end_session"
        | "/oauth2/device"
        | "/oauth2callback" => Surface::Page,
        p if p.starts_with("/api/") && p != "/api/openapi.json" => Surface::Envelope,
        _ => Surface::Plain,
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A response whose body is `schema` as JSON.
fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error_response(surface: Surface, description: &str) -> Value {
    match surface {
        Surface::Envelope => json_response(description, schema_ref("ErrorEnvelope")),
        Surface::Rfc | Surface::Bearer => json_response(description, schema_ref("RfcError")),
        Surface::RfcOrEnvelope => json_response(
            description,
            json!({"oneOf": [schema_ref("RfcError"), schema_ref("ErrorEnvelope")]}),
        ),
        Surface::Page => json!({"description": description,
            "content": {"text/html": {"schema": {"type": "string"}}}}),
        Surface::Plain => json!({"description": description}),
    }
}

fn with_header(mut response: Value, name: &str, description: &str, schema: Value) -> Value {
    response["headers"][name] = json!({"description": description, "schema": schema});
    response
}

/// Adds the answers every operation of a surface can give and its annotation does not
/// declare, and states that path ids are positive integers.
pub fn complete(doc: OpenApi) -> OpenApi {
    let mut value = match serde_json::to_value(&doc) {
        Ok(v) => v,
        Err(_) => return doc,
    };
    complete_value(&mut value);
    serde_json::from_value(value).unwrap_or(doc)
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn complete_value(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let surface = surface(path);
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            complete_operation(surface, path, method, op);
        }
    }
}

fn complete_operation(surface: Surface, path: &str, method: &str, op: &mut Map<String, Value>) {
    let params: Vec<Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let in_path = params.iter().any(|p| p["in"] == "path");
    let in_query = params.iter().any(|p| p["in"] == "query");
    let has_body = op.contains_key("requestBody");
    let mut secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if surface == Surface::Envelope && !secured {
        // Every management operation takes the caller's Basic credentials or token.
        op.insert("security".into(), json!([{"basic": []}, {"bearer": []}]));
        secured = true;
    }
    if let Some(list) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in list.iter_mut().filter(|p| p["in"] == "path") {
            if p["schema"]["type"] == "integer" && p["schema"].get("minimum").is_none() {
                p["schema"]["minimum"] = json!(1);
            }
        }
    }
    let mut add: Vec<(&str, Value)> = Vec::new();
    let retry_after = |r: Value| {
        with_header(
            r,
            "Retry-After",
            "Seconds to wait before trying again",
            json!({"type": "integer"}),
        )
    };
    match surface {
        Surface::Envelope => {
            if in_path || in_query || has_body {
                add.push(("400", error_response(surface,
                    "A path id, query parameter or body field is malformed; the message names it and says what is expected")));
            }
            if secured {
                add.push(("401", with_header(
                    error_response(surface, "No credentials, wrong credentials, or an invalid, expired or revoked token"),
                    "WWW-Authenticate", "The authentication scheme to use", json!({"type": "string"}))));
                add.push(("403", error_response(surface,
                    "The caller lacks the permission, or the token lacks the api.access.mgmt scope")));
                add.push(("429", retry_after(error_response(surface,
                    "Too many failed sign-ins from this address; try again after Retry-After seconds"))));
            }
            if in_path || in_query {
                add.push((
                    "404",
                    error_response(
                        surface,
                        "No such object, or it is not visible to the caller",
                    ),
                ));
            }
            if has_body {
                add.push((
                    "413",
                    error_response(surface, "The body is larger than 64 KiB"),
                ));
                add.push((
                    "415",
                    error_response(surface, "The body is not application/json"),
                ));
            }
            add.push((
                "500",
                error_response(surface, "An internal failure, such as a failed database write; the message is HDP's \"Problem … at this time\" text and the cause is only logged"),
            ));
            add.push((
                "503",
                error_response(surface, "The database is unavailable; try again later"),
            ));
        }
        Surface::Rfc | Surface::RfcOrEnvelope => {
            add.push(("400", error_response(surface,
                "invalid_request, invalid_grant, unsupported_grant_type, invalid_scope or unauthorized_client")));
            add.push((
                "401",
                with_header(
                    error_response(
                        surface,
                        "invalid_client: the client could not be authenticated",
                    ),
                    "WWW-Authenticate",
                    "Basic, for a client that tried HTTP Basic",
                    json!({"type": "string"}),
                ),
            ));
            add.push((
                "413",
                error_response(surface, "The body is larger than 64 KiB"),
            ));
            add.push((
                "415",
                error_response(surface, "The body is not of an accepted content type"),
            ));
            add.push(("429", retry_after(error_response(surface,
                "Too many failed attempts from this address; try again after Retry-After seconds"))));
        }
        // A bearer-protected resource adds only the 500 and 503 below.
        Surface::Bearer => {}
        Surface::Page => {
            add.push((
                "400",
                error_response(
                    surface,
                    "An HTML page saying what is wrong with the request",
                ),
            ));
            if method == "post" {
                add.push((
                    "413",
                    error_response(surface, "An HTML page: the form is larger than 64 KiB"),
                ));
            }
            add.push((
                "503",
                error_response(
                    surface,
                    "An HTML page: the service is temporarily unavailable",
                ),
            ));
        }
        Surface::Plain => {
            let _ = path;
        }
    }
    if matches!(
        surface,
        Surface::Rfc | Surface::RfcOrEnvelope | Surface::Bearer
    ) {
        add.push((
            "500",
            error_response(surface, "server_error: an internal failure (logged)"),
        ));
        add.push((
            "503",
            error_response(
                surface,
                "temporarily_unavailable: the database is unavailable",
            ),
        ));
    }
    if add.is_empty() {
        return;
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    for (status, response) in add {
        responses.entry(status).or_insert(response);
    }
}

/// This document. The server holds it as the annotations give it and completes it
/// here ([`complete`]), per request: a rare one, and nothing stays in memory.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<Arc<OpenApi>>) -> Json<serde_json::Value> {
    let mut value = serde_json::to_value(doc.as_ref()).unwrap_or_default();
    complete_value(&mut value);
    Json(value)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}
