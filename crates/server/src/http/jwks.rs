//! `GET /oauth2/jwks`: the public keys that sign tokens, as a JWK Set
//! ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)), for resource
//! servers verifying access tokens ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4))
//! and relying parties verifying ID tokens (OpenID Connect Core §10.1.1). Lists, for
//! each algorithm (ES256 P-256 keys, RS256 RSA keys), the active key, the next one
//! (published before it signs) and retiring ones (until their last token has expired);
//! active keys first. See [`portcullis_core::keys`].
//!
//! Cacheable for [`JWKS_MAX_AGE_SECS`]: rotation only makes a key sign after it has been
//! published for longer than that.

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use portcullis_core::keys::JWKS_MAX_AGE_SECS;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A public signing key: P-256 (`kty` EC, RFC 7518 §6.2.1, with `crv`, `x`, `y`) or
/// RSA (`kty` RSA, §6.3.1, with `n`, `e`). For the document only: the handler serves
/// the set the signer keeps.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// `EC` or `RSA`.
    pub kty: String,
    /// EC keys: `P-256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC keys: the x coordinate, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC keys: the y coordinate, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA keys: the modulus (2048 bits), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA keys: the public exponent, base64url (`AQAB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The key id (its RFC 7638 thumbprint), as in the `kid` header of tokens.
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `ES256` (EC keys) or `RS256` (RSA keys).
    pub alg: String,
}

/// A JWK Set.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// The public keys that sign and will sign tokens (access tokens, ID tokens).
#[utoipa::path(get, path = "/oauth2/jwks", tag = "oauth",
    responses((status = 200, description = "The JWK Set of the signing keys", body = JwkSet)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        )],
        Json(state.ctx.signer.jwks()),
    )
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
}
