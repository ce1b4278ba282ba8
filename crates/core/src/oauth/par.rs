//! Pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)):
//! a client authenticates at `/oauth2/par` and sends its authorization request there
//! ([`push`]); the request is checked with the authorization endpoint's own rules
//! ([`super::authorize::validate`]) before it is stored, and the client gets a
//! single-use `request_uri` (`urn:ietf:params:oauth:request_uri:` and 256 random bits)
//! that lives [`LIFETIME`] seconds. Only the keyed verifier of the random part is
//! stored, as for codes.
//!
//! At the authorization endpoint a `request_uri` of that form, sent with the
//! `client_id` that pushed it, is taken ([`super::authorize::validate`]) and its
//! parameters replace the request's (§4: the others are ignored). The login and consent forms then carry the
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
use crate::model::token::PushedRequest;
use crate::store::StoreError;

pub use super::params::{PROOF_PARAM, REQUEST_URI_PREFIX};

/// How many seconds a pushed request waits for its authorization request (RFC 9126
/// §2.2 suggests 5 to 600; one is used once, right after the push).
pub const LIFETIME: i64 = 60;

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
                "invalid_target" => ErrorCode::InvalidTarget,
                "unauthorized_client" => ErrorCode::UnauthorizedClient,
                _ => ErrorCode::InvalidRequest,
            };
            OAuthError::new(code, r.description)
        }
        AuthorizeError::Store(detail) => StoreError::Backend(detail).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client_auth::Method;
    use crate::oauth::tests::fixture;
    use std::sync::Arc;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    async fn pushed(ctx: &Context) -> (AuthenticatedClient, String) {
        let app = ctx
            .store
            .client_app_by_client_id("client-1")
            .await
            .expect("store")
            .expect("app");
        let client = AuthenticatedClient {
            app,
            method: Method::Basic,
        };
        let pairs: Vec<(String, String)> = [
            ("response_type", "code"),
            ("redirect_uri", "https://app.example/cb"),
            ("state", "s-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let p = push(ctx, &client, &pairs).await.expect("pushed");
        (client, p.request_uri)
    }

    fn by_reference(uri: &str) -> AuthorizeParams {
        AuthorizeParams::from_pairs([
            ("client_id", "client-1"),
            ("request_uri", uri),
            ("state", "forged"),
        ])
    }

    #[tokio::test]
    async fn the_taken_parameters_carry_a_proof_the_browser_cannot_forge() {
        let mut f = fixture(false).await;
        f.ctx.require_pushed_requests = true;
        let ctx = &f.ctx;
        let (_, uri) = pushed(ctx).await;
        let req = authorize::validate(ctx, by_reference(&uri))
            .await
            .expect("taken");
        assert_eq!(req.state.as_deref(), Some("s-1"), "the pushed state wins");
        assert!(
            req.params.request_uri.is_none(),
            "the spent urn is not carried"
        );
        assert!(req.params.pushed_request.is_some());
        // The forms' parameters pass again, also after a sign-in dropped a prompt.
        let mut again = req.params.clone();
        again.prompt = Some("login".into());
        authorize::validate(ctx, again.clone())
            .await
            .expect("carried");
        authorize::validate(ctx, again.after_sign_in())
            .await
            .expect("after sign-in");
        // Changing what was pushed breaks the proof.
        let mut tampered = req.params.clone();
        tampered.scope = Some("openid".into());
        let Err(AuthorizeError::Redirect(r)) = authorize::validate(ctx, tampered).await else {
            panic!("a tampered request passed")
        };
        assert_eq!(r.error, "invalid_request");
        // Spent.
        assert!(matches!(
            authorize::validate(ctx, by_reference(&uri)).await,
            Err(AuthorizeError::Page { .. })
        ));
    }

    #[tokio::test]
    async fn of_concurrent_uses_of_a_request_uri_one_wins() {
        let f = fixture(false).await;
        let ctx = Arc::new(f.ctx.clone());
        let (_, uri) = pushed(&ctx).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(4));
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (ctx, barrier, uri) = (ctx.clone(), barrier.clone(), uri.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    authorize::validate(&ctx, by_reference(&uri)).await.is_ok()
                })
            })
            .collect();
        let mut won = 0;
        for r in racers {
            if r.await.expect("join") {
                won += 1;
            }
        }
        assert_eq!(won, 1);
    }

    #[tokio::test]
    async fn an_expired_request_uri_is_refused() {
        let f = fixture(false).await;
        let (_, uri) = pushed(&f.ctx).await;
        f.clock.advance(LIFETIME);
        assert!(matches!(
            authorize::validate(&f.ctx, by_reference(&uri)).await,
            Err(AuthorizeError::Page { .. })
        ));
    }
}
