//! OAuth 2.0 Protected Resource Metadata ([RFC 9728](https://www.rfc-editor.org/rfc/rfc9728))
//! for Portcullis's own Bearer-protected APIs, and the `WWW-Authenticate: Bearer …`
//! challenges (RFC 6750 §3) that point to it with `resource_metadata` (RFC 9728 §5.1),
//! as the MCP authorization spec asks of resource servers.
//!
//! Portcullis protects two resources ([`RESOURCES`]), each with its document at the
//! well-known path with the resource's path inserted (RFC 9728 §3.1):
//!
//! * `<issuer>/api/mgmt`, the management API under `/api/mgmt/…`, at
//!   `/.well-known/oauth-protected-resource/api/mgmt`;
//! * `<issuer>` itself, everything else a Bearer token opens (the rest of the
//!   management API, `/api/admin/…` and `/configapi/…`, and UserInfo), at
//!   `/.well-known/oauth-protected-resource`.
//!
//! A request belongs to the resource whose identifier is the longest prefix of its URL
//! ([`resource_for`]), so the `resource` a client reads from the document a challenge
//! points to is always a prefix of the URL it called (the check MCP clients make).

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use portcullis_core::model::scope;
use portcullis_core::oauth::error::ErrorCode;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The well-known path of the documents (RFC 9728 §3); a resource's own path follows it.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Seconds clients may cache a document: like the authorization server metadata, it
/// changes only when the server is upgraded or reconfigured.
pub const MAX_AGE_SECS: u32 = super::metadata::METADATA_MAX_AGE_SECS;

/// One of Portcullis's protected resources.
#[derive(Debug)]
pub struct Resource {
    /// The resource identifier's path after the issuer (`""` for the issuer itself).
    pub path: &'static str,
    /// `resource_name`.
    pub name: &'static str,
    /// `scopes_supported`: the scopes a token needs somewhere on this resource.
    pub scopes: &'static [&'static str],
}

/// The management API under `/api/mgmt`.
pub const MGMT_API: Resource = Resource {
    path: "/api/mgmt",
    name: "Portcullis management API",
    scopes: &[scope::MGMT],
};

/// The issuer as a resource: the management API outside `/api/mgmt` and UserInfo.
pub const ISSUER: Resource = Resource {
    path: "",
    name: "Portcullis",
    scopes: &[scope::MGMT, scope::OPENID, "profile", "email"],
};

/// Every protected resource, each with a document.
pub const RESOURCES: &[&Resource] = &[&ISSUER, &MGMT_API];

/// The resource a request to `path` (a path of this server) belongs to: the one whose
/// path is the longest prefix of it, segment by segment.
pub fn resource_for(path: &str) -> &'static Resource {
    RESOURCES
        .iter()
        .copied()
        .filter(|r| {
            path == r.path
                || path
                    .strip_prefix(r.path)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|r| r.path.len())
        .unwrap_or(&ISSUER)
}

/// The URL of the metadata document of the resource `path` belongs to.
pub fn metadata_url(issuer: &str, path: &str) -> String {
    format!("{issuer}{WELL_KNOWN}{}", resource_for(path).path)
}

/// The RFC 9728 §2 document of `resource`.
pub fn document(issuer: &str, resource: &Resource) -> Value {
    json!({
        "resource": format!("{issuer}{}", resource.path),
        "authorization_servers": [issuer],
        "scopes_supported": resource.scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": resource.name,
        "resource_documentation": format!("{issuer}/api/openapi.json"),
    })
}

/// The `WWW-Authenticate` value for a request to `path` (RFC 6750 §3): the realm, the
/// error and its description when a token was refused (none when there was no token,
/// §3.1), `scope` for `insufficient_scope` (only the management API answers it: the
/// scope it lacks is `api.access.mgmt`), and `resource_metadata` (RFC 9728 §5.1).
pub fn challenge(issuer: &str, path: &str, error: Option<(ErrorCode, &str)>) -> String {
    let mut out = String::from("Bearer realm=\"Portcullis\"");
    if let Some((code, description)) = error {
        let description = description.replace(['"', '\\'], "'");
        out.push_str(&format!(
            ", error=\"{code}\", error_description=\"{description}\""
        ));
        if code == ErrorCode::InsufficientScope {
            out.push_str(&format!(", scope=\"{}\"", scope::MGMT));
        }
    }
    out.push_str(&format!(
        ", resource_metadata=\"{}\"",
        metadata_url(issuer, path)
    ));
    out
}

/// The document of `resource`, cacheable for [`MAX_AGE_SECS`].
fn answer(s: &AppState, resource: &Resource) -> impl IntoResponse {
    (
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={MAX_AGE_SECS}"),
        )],
        Json(document(s.ctx.signer.issuer(), resource)),
    )
}

/// RFC 9728 metadata of the issuer as a protected resource (the management API outside
/// `/api/mgmt`, UserInfo).
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource", tag = "oauth",
    responses((status = 200, description = "RFC 9728 protected resource metadata of the resource `<issuer>`: the management API outside `/api/mgmt` (scope `api.access.mgmt`) and UserInfo")))]
pub async fn issuer_resource(State(s): State<AppState>) -> impl IntoResponse {
    answer(&s, &ISSUER)
}

/// RFC 9728 metadata of the management API under `/api/mgmt` (path insertion, §3.1).
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/api/mgmt", tag = "oauth",
    responses((status = 200, description = "RFC 9728 protected resource metadata of the resource `<issuer>/api/mgmt` (scope `api.access.mgmt`)")))]
pub async fn mgmt_resource(State(s): State<AppState>) -> impl IntoResponse {
    answer(&s, &MGMT_API)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issuer_resource))
        .routes(routes!(mgmt_resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_belongs_to_the_longest_resource_prefix() {
        assert_eq!(resource_for("/api/mgmt/user").path, "/api/mgmt");
        assert_eq!(resource_for("/api/mgmt").path, "/api/mgmt");
        assert_eq!(resource_for("/api/mgmtx").path, "");
        assert_eq!(resource_for("/api/admin/users").path, "");
        assert_eq!(resource_for("/oauth2/userinfo").path, "");
    }

    #[test]
    fn every_resource_has_its_document_where_its_challenges_point() {
        for r in RESOURCES {
            let url = metadata_url("https://idp.example", &format!("{}/x", r.path));
            assert_eq!(url, format!("https://idp.example{WELL_KNOWN}{}", r.path));
            let doc = document("https://idp.example", r);
            assert_eq!(doc["resource"], format!("https://idp.example{}", r.path));
        }
    }

    #[test]
    fn the_challenge_keeps_the_error_and_adds_the_pointer() {
        let c = challenge(
            "https://idp.example",
            "/api/mgmt/user",
            Some((ErrorCode::InsufficientScope, "a \"quoted\" word")),
        );
        assert_eq!(
            c,
            "Bearer realm=\"Portcullis\", error=\"insufficient_scope\", \
             error_description=\"a 'quoted' word\", scope=\"api.access.mgmt\", \
             resource_metadata=\"https://idp.example/.well-known/oauth-protected-resource/api/mgmt\""
        );
        assert_eq!(
            challenge("https://idp.example", "/oauth2/userinfo", None),
            "Bearer realm=\"Portcullis\", \
             resource_metadata=\"https://idp.example/.well-known/oauth-protected-resource\""
        );
    }
}
