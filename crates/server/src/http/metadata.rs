//! Authorization server metadata (RFC 8414) at `/.well-known/oauth-authorization-server`
//! and OpenID Provider metadata
//! ([OpenID Connect Discovery 1.0 §3/§4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata))
//! at `/.well-known/openid-configuration`, both built by [`document`] (the OpenID one
//! a superset with the same `issuer`) and derived from the router's own OpenAPI
//! document: an endpoint is advertised only if a route serves it, so neither document
//! can promise what the server does not do. The client authentication methods come from
//! [`ClientEndpoint::methods`], the list the endpoints enforce; the OpenID Connect lists
//! from [`portcullis_core::oauth::oidc`]. `require_pushed_authorization_requests`
//! (RFC 9126 §5) is the server's setting; `request_uri_parameter_supported` stays
//! false: it is about request objects by reference, which are not built.

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_core::oauth::client_auth::{ClientEndpoint, Method};
use portcullis_core::oauth::{metadata_document, oidc};
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Seconds clients may cache either document: it changes only when the server is
/// upgraded or reconfigured.
pub const METADATA_MAX_AGE_SECS: u32 = 3600;

/// (metadata field, path) of every endpoint the metadata may advertise.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("authorization_endpoint", "/oauth2/authorize"),
    ("token_endpoint", "/oauth2/token"),
    ("jwks_uri", "/oauth2/jwks"),
    ("introspection_endpoint", "/oauth2/introspect"),
    ("revocation_endpoint", "/oauth2/revoke"),
    ("userinfo_endpoint", "/oauth2/userinfo"),
    ("end_session_endpoint", "/oauth2/end_session"),
    ("pushed_authorization_request_endpoint", "/oauth2/par"),
    // RFC 8628 §4.
    (
        "device_authorization_endpoint",
        "/oauth2/device_authorization",
    ),
    // RFC 7591 §3: advertised whenever the route is served, whatever the tenants'
    // policies (docs/decisions.md): a closed server answers 401 invalid_token there.
    ("registration_endpoint", "/oauth2/register"),
];

/// Which of the two documents [`document`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// RFC 8414 authorization server metadata.
    OAuth,
    /// OpenID Connect Discovery 1.0 provider metadata: the RFC 8414 fields and the
    /// OpenID ones.
    OpenId,
}

/// The metadata document for `issuer`, given the paths the router serves, whether
/// every authorization request must be pushed (RFC 9126 §5) and whether a tenant
/// accepts clients by metadata document (`client_id_metadata_document_supported`).
pub fn document(
    issuer: &str,
    served: &dyn Fn(&str) -> bool,
    flavour: Flavour,
    require_par: bool,
    metadata_documents: bool,
) -> Value {
    let mut doc = json!({
        "issuer": issuer,
        "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials", portcullis_core::model::token_exchange::GRANT],
        "token_endpoint_auth_methods_supported": ClientEndpoint::Token.method_names(),
        "scopes_supported": portcullis_core::model::scope::supported().collect::<Vec<_>>(),
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint_auth_methods_supported": ClientEndpoint::Introspection.method_names(),
        "revocation_endpoint_auth_methods_supported": ClientEndpoint::Revocation.method_names(),
        "response_types_supported": [],
    });
    // RFC 8414 §2: each endpoint offering private_key_jwt lists the algorithms its
    // assertions may be signed with (PAR shares the token endpoint's fields).
    for (endpoint, field) in [
        (
            ClientEndpoint::Token,
            "token_endpoint_auth_signing_alg_values_supported",
        ),
        (
            ClientEndpoint::Introspection,
            "introspection_endpoint_auth_signing_alg_values_supported",
        ),
        (
            ClientEndpoint::Revocation,
            "revocation_endpoint_auth_signing_alg_values_supported",
        ),
    ] {
        if endpoint.methods().contains(&Method::PrivateKeyJwt) {
            doc[field] = json!(portcullis_core::oauth::client_assertion::ALGORITHMS);
        }
    }
    for (field, path) in ENDPOINTS {
        if served(path) {
            doc[*field] = Value::String(format!("{issuer}{path}"));
        }
    }
    if served("/oauth2/device_authorization") {
        if let Some(grants) = doc["grant_types_supported"].as_array_mut() {
            grants.push(json!(
                portcullis_core::model::client_app::GrantType::DeviceCode.as_str()
            ));
        }
    }
    if served(portcullis_core::oauth::client_auth::TOKEN_PATH) {
        // RFC 9449 §5.1: the token endpoint takes DPoP proofs with these algorithms.
        doc["dpop_signing_alg_values_supported"] = json!(portcullis_core::oauth::dpop::ALGORITHMS);
    }
    if served("/oauth2/par") {
        // RFC 9126 §2: clients authenticate at the push endpoint as at the token
        // endpoint, so `token_endpoint_auth_methods_supported` is its list too.
        debug_assert_eq!(
            ClientEndpoint::Par.methods(),
            ClientEndpoint::Token.methods()
        );
        doc["require_pushed_authorization_requests"] = json!(require_par);
    }
    let authorize = served("/oauth2/authorize");
    if authorize {
        doc["response_types_supported"] = json!(oidc::RESPONSE_TYPES_SUPPORTED);
        // RFC 9207: every authorization response redirect carries `iss`, this issuer.
        doc["authorization_response_iss_parameter_supported"] = json!(true);
        // The client ID metadata document draft, §6: only when clients identifying
        // themselves by URL are accepted, so that none is sent to a dead end.
        if metadata_documents {
            doc["client_id_metadata_document_supported"] = json!(true);
        }
    }
    if flavour == Flavour::OpenId {
        let openid = json!({
            "subject_types_supported": oidc::SUBJECT_TYPES_SUPPORTED,
            "id_token_signing_alg_values_supported": oidc::ID_TOKEN_SIGNING_ALGS,
            "userinfo_signing_alg_values_supported": oidc::USERINFO_SIGNING_ALGS,
            "claims_supported": oidc::CLAIMS_SUPPORTED,
            "claim_types_supported": oidc::CLAIM_TYPES_SUPPORTED,
            "claims_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        merge(&mut doc, openid);
        if authorize {
            let flow = json!({
                "response_modes_supported": oidc::RESPONSE_MODES_SUPPORTED,
                "prompt_values_supported": oidc::PROMPT_VALUES_SUPPORTED,
                "ui_locales_supported": oidc::UI_LOCALES_SUPPORTED,
            });
            merge(&mut doc, flow);
        }
    }
    doc
}

/// Copies the fields of the object `extra` into the object `doc`.
fn merge(doc: &mut Value, extra: Value) {
    if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
}

/// The document of `flavour` for this server, cacheable for [`METADATA_MAX_AGE_SECS`].
async fn answer(s: &AppState, routes: &OpenApi, flavour: Flavour) -> impl IntoResponse {
    let served = |path: &str| routes.paths.paths.contains_key(path);
    let metadata_documents = metadata_document::supported(&s.ctx)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading the registration policies for the metadata failed");
            false
        });
    (
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={METADATA_MAX_AGE_SECS}"),
        )],
        Json(document(
            s.ctx.signer.issuer(),
            &served,
            flavour,
            s.ctx.require_pushed_requests,
            metadata_documents,
        )),
    )
}

/// RFC 8414 metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "RFC 8414 authorization server metadata")))]
pub async fn metadata(
    State(s): State<AppState>,
    Extension(doc): Extension<Arc<OpenApi>>,
) -> impl IntoResponse {
    answer(&s, &doc, Flavour::OAuth).await
}

/// OpenID Connect Discovery 1.0 provider metadata: the RFC 8414 document with the
/// OpenID Provider's fields (subject types, ID token algorithms, claims, prompts,
/// response modes).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses((status = 200, description = "OpenID Connect Discovery 1.0 provider metadata (a superset of the RFC 8414 document, same issuer)")))]
pub async fn openid_configuration(
    State(s): State<AppState>,
    Extension(doc): Extension<Arc<OpenApi>>,
) -> impl IntoResponse {
    answer(&s, &doc, Flavour::OpenId).await
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(metadata))
        .routes(routes!(openid_configuration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openid_document_is_a_superset_of_the_oauth_one() {
        let served = |_: &str| true;
        let oauth = document("https://idp.example", &served, Flavour::OAuth, false, false);
        let openid = document(
            "https://idp.example",
            &served,
            Flavour::OpenId,
            false,
            false,
        );
        for (field, value) in oauth.as_object().into_iter().flatten() {
            assert_eq!(openid.get(field), Some(value), "{field}");
        }
        assert_eq!(openid["subject_types_supported"], json!(["public"]));
        assert_eq!(
            openid["end_session_endpoint"],
            "https://idp.example/oauth2/end_session"
        );
    }

    #[test]
    fn an_endpoint_that_is_not_routed_is_not_advertised() {
        let served = |p: &str| p != "/oauth2/authorize" && p != "/oauth2/end_session";
        let openid = document(
            "https://idp.example",
            &served,
            Flavour::OpenId,
            false,
            false,
        );
        assert!(openid.get("authorization_endpoint").is_none());
        assert!(openid.get("end_session_endpoint").is_none());
        assert!(openid.get("response_modes_supported").is_none());
        assert_eq!(openid["response_types_supported"], json!([]));
    }
}
