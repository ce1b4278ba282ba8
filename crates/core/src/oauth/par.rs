//! Pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)):
//! a client authenticates at `/oauth2/par` and sends its authorization request there
//! ([`push`]); the request is checked with the authorization endpoint's own rules
//! ([`super::authorize::validate`]) before it is stored, and the client gets a
//! single-use `request_uri` (`urn:ietf:params:oauth:request_uri:` and 256 random bits)
//! that lives [`LIFETIME`] seconds. Only the keyed verifier of the random part is
//! stored, as for codes.
//!
//! At the authorization endpoint a `request_uri` of that form, sent with the
//! `client_id` that pushed it, is taken ([`resolve`]) and its parameters replace the
//! request's (§4: the others are ignored). The login and consent forms then carry the
//! taken parameters, not the spent `request_uri`, with a keyed proof
//! ([`PROOF_PARAM`]) that they came from a push, so a client that must push
//! (`require_pushed_authorization_requests`) can still finish its sign-in, and the
//! browser cannot forge a pushed request.

use super::authorize::{self, AuthorizeError};
use super::client_auth::AuthenticatedClient;
use super::error::{ErrorCode, OAuthError};
use super::params::AuthorizeParams;
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::client_app::ClientApp;
use crate::model::token::PushedRequest;
use crate::store::StoreError;

/// What every pushed `request_uri` starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How many seconds a pushed request waits for its authorization request (RFC 9126
/// §2.2 suggests 5 to 600; one is used once, right after the push).
pub const LIFETIME: i64 = 60;

/// The hidden parameter that carries the proof of a taken push through the forms.
pub const PROOF_PARAM: &str = "pushed_request";

/// A stored push: what the endpoint answers (`201`, RFC 9126 §2.2).
#[derive(Debug, Clone)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// Checks and stores the authorization request `pairs` of `client` (its body, client
/// authentication already taken out). Refusals are RFC 9126 §2.3 errors.
pub async fn push(
    ctx: &Context,
    client: &AuthenticatedClient,
    pairs: &[(String, String)],
) -> Result<Pushed, OAuthError> {
    let mut params =
        AuthorizeParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if params.request_uri.is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri cannot be pushed (RFC 9126 §2.1); send the parameters themselves.",
        ));
    }
    let app = &client.app;
    if params
        .client_id
        .as_deref()
        .is_some_and(|id| id != app.client_id)
    {
        return Err(OAuthError::invalid_request(
            "client_id names a different client than the one that authenticated.",
        ));
    }
    params.client_id = Some(app.client_id.clone());
    params.pushed_request = None;
    let req = match authorize::validate_push(ctx, params).await {
        Ok(req) => req,
        Err(e) => return Err(refusal(e)),
    };
    let now = ctx.now();
    let secret = Secret::generate();
    let stored: Vec<(&str, &str)> = req.params.pairs();
    ctx.store
        .insert_pushed_request(&PushedRequest {
            verifier: ctx.keys.verifier(secret.expose()),
            client_app_id: app.id,
            params: serde_json::to_string(&stored).map_err(|_| OAuthError::server_error())?,
            created_at: now,
            expires_at: now + LIFETIME,
        })
        .await?;
    tracing::info!(client = %app.client_id, "authorization request pushed");
    Ok(Pushed {
        request_uri: format!("{REQUEST_URI_PREFIX}{}", secret.expose()),
        expires_in: LIFETIME,
    })
}

/// An authorization endpoint refusal as a push error: what would be shown to the
/// user (a bad redirect URI) is `invalid_request` (RFC 9126 §2.3); the codes the
/// token endpoint's errors know keep their code, the others are `invalid_request`
/// with the reason in the description.
fn refusal(e: AuthorizeError) -> OAuthError {
    match e {
        AuthorizeError::Page { message, .. } => OAuthError::invalid_request(message),
        AuthorizeError::Redirect(r) => {
            let code = match r.error {
                "invalid_scope" => ErrorCode::InvalidScope,
                "unauthorized_client" => ErrorCode::UnauthorizedClient,
                _ => ErrorCode::InvalidRequest,
            };
            OAuthError::new(code, r.description)
        }
        AuthorizeError::Store(detail) => StoreError::Backend(detail).into(),
    }
}

/// The request to go on with at the authorization endpoint, and whether it was
/// pushed: a pushed `request_uri` of `app` is taken and its parameters replace
/// `params`; parameters carried from a taken push keep their proof; anything else is
/// `params` as sent, not pushed. An unknown, expired, spent or other client's
/// `request_uri` is a page for the user.
pub(crate) async fn resolve(
    ctx: &Context,
    app: &ClientApp,
    params: AuthorizeParams,
) -> Result<(AuthorizeParams, bool), AuthorizeError> {
    let Some(random) = params
        .request_uri
        .as_deref()
        .and_then(|u| u.strip_prefix(REQUEST_URI_PREFIX))
    else {
        let pushed = params
            .pushed_request
            .as_deref()
            .is_some_and(|p| ctx.keys.verify(&proof_text(&params), p));
        return Ok((params, pushed));
    };
    let taken = ctx
        .store
        .take_pushed_request(&ctx.keys.verifier(random), app.id, ctx.now())
        .await?;
    let stored: Option<Vec<(String, String)>> =
        taken.and_then(|t| serde_json::from_str(&t.params).ok());
    let Some(stored) = stored else {
        return Err(AuthorizeError::Page {
            title: "Invalid request".to_owned(),
            message: "The request_uri is unknown, has expired, was already used or was pushed by another application. Start again from the application.".to_owned(),
        });
    };
    let mut taken =
        AuthorizeParams::from_pairs(stored.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    taken.pushed_request = Some(ctx.keys.verifier(&proof_text(&taken)));
    Ok((taken, true))
}

/// What the proof of a taken push signs: the parameters, without the proof and
/// without those the flow itself drops after a sign-in
/// ([`AuthorizeParams::after_sign_in`]), which can only ask for more interaction.
fn proof_text(params: &AuthorizeParams) -> String {
    let signed: Vec<(&str, &str)> = params
        .pairs()
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "prompt" | "max_age" | "id_token_hint" | PROOF_PARAM))
        .collect();
    format!(
        "pushed-request\n{}",
        serde_json::to_string(&signed).unwrap_or_default()
    )
}
