//! The authorization endpoint's rules (RFC 6749 §4.1.1–§4.1.2.1, RFC 7636, SPEC §2):
//! which requests are valid, which failures may be sent back to the client and which
//! must be shown to the user instead, when a recorded consent covers a request, and
//! the issuing of codes. The browser flow around them (sessions, CSRF, which page
//! comes next) is [`super::signin`]; pages and cookies are the server's.
//!
//! Only absolute URIs with an allowed scheme are ever redirected to
//! ([`RedirectUrl::classify`], checked here on every request, not only at
//! registration), and every redirect carries the issuer as `iss`
//! ([RFC 9207](https://www.rfc-editor.org/rfc/rfc9207)), which the server adds.
//!
//! Every step of the flow (the first visit, the login form, the consent form)
//! re-validates the request from scratch with [`validate`]: nothing the browser
//! carries between steps is trusted. A pushed request (RFC 9126, [`super::par`]) is
//! taken here, once, and its parameters travel on with a keyed proof of the push.
//! A device request (RFC 8628, [`super::device`]) arrives here as its user code with
//! the verification page's keyed proof; its [`ValidRequest`] has no redirect URI and
//! always asks for consent.

use super::metadata_document::LookupError;
use super::params::{AuthorizeParams, Prompt, ResponseMode, PROOF_PARAM, REQUEST_URI_PREFIX};
use super::token::{allowed_scopes_for_user, resolve_scope_for};
use super::user_code;
use crate::context::Context;
use crate::crypto::pkce::valid_verifier;
use crate::crypto::Secret;
use crate::limits::oauth_limits;
use crate::model::client_app::{ClientApp, GrantType, RedirectKind, RedirectUrl};
use crate::model::device::DeviceStatus;
use crate::model::identity::{Tenant, User};
use crate::model::resource::ResourceServer;
use crate::model::token::{AuthCode, SignInContext};
use crate::store::StoreError;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: tell the user, never redirect
    /// (RFC 6749 §4.1.2.1 first paragraph).
    Page { title: String, message: String },
    /// Tell the client, at its verified redirect URI (RFC 6749 §4.1.2.1).
    Redirect(ErrorRedirect),
    /// The database failed; the text is for the log.
    Store(String),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        AuthorizeError::Store(e.to_string())
    }
}

/// An error for the client: `redirect_uri?error=…&error_description=…&state=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    /// An RFC 6749 §4.1.2.1 error code.
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
    pub mode: ResponseMode,
}

/// A request that passed every rule.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub app: ClientApp,
    pub tenant: Tenant,
    /// Where the answer goes: the one sent, or the only one registered.
    pub redirect_uri: String,
    /// Whether the request named the redirect URI (then the token request must too).
    pub redirect_uri_sent: bool,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    /// The S256 challenge, if one was sent.
    pub code_challenge: Option<String>,
    pub response_mode: ResponseMode,
    pub prompt: Prompt,
    /// `max_age`: the most seconds since the user signed in for a session to count.
    pub max_age: Option<i64>,
    /// Whether `openid` was granted: the code exchange then gives an ID token.
    pub openid: bool,
    /// The `sub` of a valid `id_token_hint`: who the client believes is signed in.
    pub hinted_subject: Option<String>,
    /// The `claims` request, checked and normalised ([`super::claims_request`]).
    pub claims: Option<String>,
    /// The resource servers the request names (RFC 8707, [`super::resource`]);
    /// empty: the issuer.
    pub resources: Vec<ResourceServer>,
    /// The request as received, to carry through the login and consent forms.
    pub params: AuthorizeParams,
    /// The user-code verifier of a device request (RFC 8628) this sign-in approves;
    /// then there is no redirect URI and the flow ends on a page ([`super::device`]).
    pub device: Option<String>,
}

impl ValidRequest {
    /// An error redirect for this request.
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
            mode: self.response_mode,
        }
    }

    /// What the client asked to be told about the user, for the code.
    pub fn nonce(&self) -> Option<&str> {
        self.params.nonce.as_deref().filter(|_| self.openid)
    }
}

fn page(title: &str, message: impl Into<String>) -> AuthorizeError {
    AuthorizeError::Page {
        title: title.to_owned(),
        message: message.into(),
    }
}

/// Checks an authorization request against every rule of SPEC §2, in the order
/// RFC 6749 §4.1.2.1 implies: the client and its redirect URI first (failures shown
/// to the user), then the rest (failures sent to the client). A pushed `request_uri`
/// is taken here and its parameters replace the request's ([`super::par`]).
pub async fn validate(
    ctx: &Context,
    params: AuthorizeParams,
) -> Result<ValidRequest, AuthorizeError> {
    check(ctx, params, false).await
}

/// [`validate`] for a request being pushed (RFC 9126 §2.1): it is the push itself, so
/// a requirement to push is met.
pub(crate) async fn validate_push(
    ctx: &Context,
    params: AuthorizeParams,
) -> Result<ValidRequest, AuthorizeError> {
    check(ctx, params, true).await
}

async fn check(
    ctx: &Context,
    params: AuthorizeParams,
    pushing: bool,
) -> Result<ValidRequest, AuthorizeError> {
    const BAD_CLIENT: &str = "Unknown application";
    const BAD_REDIRECT: &str = "Invalid redirect address";
    if matches!(
        params.duplicate.as_deref(),
        Some("client_id" | "redirect_uri")
    ) {
        return Err(page(
            "Invalid request",
            "The request names its client_id or redirect_uri more than once.",
        ));
    }
    if params.user_code.is_some() {
        return device_request(ctx, params).await;
    }
    let Some(client_id) = params.client_id.as_deref() else {
        return Err(page(
            "Invalid request",
            "The request does not say which application is asking (client_id is missing).",
        ));
    };
    let found = match super::metadata_document::find_client(ctx, client_id).await {
        Ok(found) => found,
        Err(LookupError::Store(e)) => return Err(e.into()),
        Err(LookupError::Document(why)) => return Err(page(BAD_CLIENT, why)),
    };
    let Some(app) = found else {
        return Err(page(
            BAD_CLIENT,
            "No application is registered with this client_id. Ask the application's maker to check its settings.",
        ));
    };
    let (params, pushed) = pushed_params(ctx, &app, params).await?;
    let (redirect_uri, redirect_uri_sent) = match params.redirect_uri.as_deref() {
        Some(uri) => {
            if !app.redirect_urls.iter().any(|r| r == uri) {
                return Err(page(
                    BAD_REDIRECT,
                    "The redirect_uri is not one registered for this application, so the answer cannot be sent back to it.",
                ));
            }
            (uri.to_owned(), true)
        }
        None => match app.redirect_urls.as_slice() {
            [only] => (only.clone(), false),
            [] => {
                return Err(page(
                    BAD_REDIRECT,
                    "This application has no registered redirect address.",
                ))
            }
            _ => {
                return Err(page(
                    BAD_REDIRECT,
                    "This application has several redirect addresses; the request must name one (redirect_uri).",
                ))
            }
        },
    };
    // Registered is not enough: host-only entries (HDP's samples) and rows stored
    // under older, laxer rules are never redirected to (RFC 9700 §4.1).
    match RedirectUrl::classify(&redirect_uri, ctx.redirects) {
        Ok(RedirectKind::Target) => {}
        Ok(RedirectKind::HostOnly) => {
            return Err(page(
                BAD_REDIRECT,
                format!(
                    "The redirect address '{redirect_uri}' is registered as a host name only, which a browser cannot be sent to. The application's settings must name a full address such as https://{redirect_uri}/callback."
                ),
            ))
        }
        Err(why) => {
            return Err(page(
                BAD_REDIRECT,
                format!("The answer cannot be sent to this application's redirect address: {why}."),
            ))
        }
    }
    let state = params.state.clone();
    // Known before any other error, so that every error after it is sent the way the
    // client asked; an unknown mode itself is told in the query.
    let (response_mode, mode_error) = match params.response_mode.as_deref().map(ResponseMode::parse)
    {
        None => (ResponseMode::Query, None),
        Some(Some(m)) => (m, None),
        Some(None) => (ResponseMode::Query, params.response_mode.clone()),
    };
    let fail = |error: &'static str, description: String| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: state.clone(),
            mode: response_mode,
        })
    };
    if let Some(mode) = mode_error {
        return Err(fail(
            "invalid_request",
            format!("response_mode '{mode}' is not supported; use query, fragment or form_post."),
        ));
    }
    let must_push = ctx.require_pushed_requests || app.require_pushed_authorization_requests;
    if must_push && !pushed && !pushing {
        return Err(fail(
            "invalid_request",
            "This client must use pushed authorization requests (RFC 9126): push the request to the pushed_authorization_request_endpoint and send its request_uri.".into(),
        ));
    }
    if let Some(name) = &params.duplicate {
        return Err(fail(
            "invalid_request",
            format!("The parameter {name} was sent more than once."),
        ));
    }
    match params.response_type.as_deref() {
        None => {
            return Err(fail(
                "invalid_request",
                "The response_type parameter is required (response_type=code).".into(),
            ))
        }
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("response_type '{other}' is not supported; use response_type=code."),
            ))
        }
    }
    if !app.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "This application is not allowed to use the authorization code grant.".into(),
        ));
    }
    let code_challenge = match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) => {
            // An S256 challenge is a base64url SHA-256: 43 characters of the verifier alphabet.
            if c.len() != 43 || !valid_verifier(c) {
                return Err(fail(
                    "invalid_request",
                    "code_challenge must be the 43-character base64url SHA-256 of the code verifier (RFC 7636 §4.2).".into(),
                ));
            }
            Some(c.to_owned())
        }
        (Some(_), Some("plain")) | (Some(_), None) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256; the plain method is not accepted.".into(),
            ))
        }
        (_, Some(m)) if m != "S256" => {
            return Err(fail(
                "invalid_request",
                format!("code_challenge_method '{m}' is not supported; use S256."),
            ))
        }
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method was sent without a code_challenge.".into(),
            ))
        }
        (_, _) => None,
    };
    super::dpop::check_dpop_jkt(params.dpop_jkt.as_deref())
        .map_err(|e| fail("invalid_request", e.description))?;
    if app.public && code_challenge.is_none() {
        return Err(fail(
            "invalid_request",
            "Public clients must send a PKCE code_challenge with code_challenge_method=S256."
                .into(),
        ));
    }
    let tenant = match ctx.store.tenant(app.tenant_id).await? {
        Some(t) if t.active => t,
        _ => {
            return Err(fail(
                "unauthorized_client",
                "The application's tenant is inactive.".into(),
            ))
        }
    };
    let resources = super::resource::resolve(ctx, tenant.id, &params.resource)
        .await
        .map_err(|e| fail(e.code.as_str(), e.description))?;
    let scopes = resolve_scope_for(
        params.scope.as_deref(),
        &allowed_scopes_for_user(&app, &tenant),
        &resources,
    )
    .map_err(|e| fail(e.code.as_str(), e.description))?;
    let oidc = super::oidc_params::check(ctx, &app, &params, &scopes)
        .map_err(|(error, description)| fail(error, description))?;
    Ok(ValidRequest {
        app,
        tenant,
        redirect_uri,
        redirect_uri_sent,
        scopes,
        state,
        code_challenge,
        response_mode,
        prompt: oidc.prompt,
        max_age: oidc.max_age,
        openid: oidc.openid,
        hinted_subject: oidc.hinted_subject,
        claims: oidc.claims,
        resources,
        params,
        device: None,
    })
}

fn gone() -> AuthorizeError {
    AuthorizeError::Page {
        title: "Device code not valid".to_owned(),
        message: "This device code has expired or was already used. Start again on your device."
            .to_owned(),
    }
}

/// The authorization endpoint's [`ValidRequest`] for a device request carried by the
/// forms (a `user_code` parameter, [`super::device`]): the proof must match, the
/// request must still be pending. It always asks for consent (RFC 8628 §5.4: the user
/// confirms which device they let in).
async fn device_request(
    ctx: &Context,
    params: AuthorizeParams,
) -> Result<ValidRequest, AuthorizeError> {
    let code = params.user_code.clone().unwrap_or_default();
    let proven = params
        .device_request
        .as_deref()
        .is_some_and(|p| user_code::proof_ok(ctx, &code, p));
    if !proven {
        return Err(AuthorizeError::Page {
            title: "Enter the code first".to_owned(),
            message: format!(
                "Enter the code your device shows at {}{}.",
                ctx.signer.issuer(),
                user_code::VERIFICATION_PATH
            ),
        });
    }
    let verifier = user_code::user_verifier(ctx, &code);
    let now = ctx.now();
    let grant = ctx
        .store
        .device_grant_by_user_code(&verifier)
        .await?
        .filter(|g| g.status == DeviceStatus::Pending && g.expires_at > now)
        .ok_or_else(gone)?;
    let app = ctx
        .store
        .client_app(grant.client_app_id)
        .await?
        .ok_or_else(gone)?;
    let tenant = match ctx.store.tenant(app.tenant_id).await? {
        Some(t) if t.active => t,
        _ => return Err(gone()),
    };
    let resources = super::resource::resolve(ctx, tenant.id, &grant.resources)
        .await
        .map_err(|_| gone())?;
    Ok(ValidRequest {
        openid: grant
            .scopes
            .iter()
            .any(|s| s == crate::model::scope::OPENID),
        app,
        tenant,
        redirect_uri: String::new(),
        redirect_uri_sent: false,
        scopes: grant.scopes,
        state: None,
        code_challenge: None,
        response_mode: ResponseMode::Query,
        prompt: Prompt {
            consent: true,
            ..Prompt::default()
        },
        max_age: None,
        hinted_subject: None,
        claims: None,
        resources,
        params: AuthorizeParams {
            client_id: params.client_id,
            user_code: Some(code),
            device_request: params.device_request,
            ..AuthorizeParams::default()
        },
        device: Some(verifier),
    })
}

/// The request to go on with at the authorization endpoint, and whether it was
/// pushed: a pushed `request_uri` of `app` is taken and its parameters replace
/// `params`; parameters carried from a taken push keep their proof; anything else is
/// `params` as sent, not pushed. An unknown, expired, spent or other client's
/// `request_uri` is a page for the user.
async fn pushed_params(
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
        return Err(page(
            "Invalid request",
            "The request_uri is unknown, has expired, was already used or was pushed by another application. Start again from the application.",
        ));
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

/// Whether `user` may authorize `req`'s application at all: only users of the
/// application's own tenant may (as at the password grant).
pub fn same_tenant(req: &ValidRequest, user: &User) -> bool {
    user.tenant_id == req.app.tenant_id
}

/// Whether a recorded consent of `user` to the application covers every scope asked.
/// Consents record scopes, not resources: a request naming a registered resource
/// server (not one of Portcullis's own) always asks the user.
pub async fn consent_covers(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
) -> Result<bool, StoreError> {
    if req.resources.iter().any(|r| !r.built_in) {
        return Ok(false);
    }
    let consents = ctx.store.consents_of_user(user.id).await?;
    Ok(consents
        .iter()
        .find(|c| c.client_app_id == req.app.id)
        .is_some_and(|c| req.scopes.iter().all(|s| c.scopes.contains(s))))
}

/// Records the user's consent to the request's application and scopes.
pub async fn record_consent(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
) -> Result<(), StoreError> {
    ctx.store
        .grant_consent(user.id, req.app.id, &req.scopes, ctx.now())
        .await?;
    ctx.audit
        .record(
            crate::model::audit::NewAuditEvent::new(
                crate::model::audit::EventType::ConsentGiven,
                user.tenant_id,
                ctx.now(),
            )
            .by_user(user.id)
            .subject_user(user.id)
            .client(&req.app.client_id)
            .reason(format!("scopes: {}", req.scopes.join(" "))),
        )
        .await;
    Ok(())
}

/// Issues a single-use code for `user`, bound to the client, the redirect URI (when
/// the request named it) and the PKCE challenge, living as long as limit 1004 says.
pub async fn issue_code(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
    sign_in: SignInContext,
) -> Result<Secret, StoreError> {
    let now = ctx.now();
    let limits = oauth_limits(ctx.store.as_ref(), req.app.tenant_id).await?;
    let code = Secret::generate();
    ctx.store
        .insert_auth_code(&AuthCode {
            verifier: ctx.keys.verifier(code.expose()),
            client_app_id: req.app.id,
            user_id: user.id,
            redirect_uri: req.redirect_uri_sent.then(|| req.redirect_uri.clone()),
            scopes: req.scopes.clone(),
            code_challenge: req.code_challenge.clone(),
            created_at: now,
            expires_at: now + limits.code_lifetime,
            used_at: None,
            family_id: None,
            sign_in,
            resources: super::resource::uris(&req.resources),
            dpop_jkt: req.params.dpop_jkt.clone(),
        })
        .await?;
    tracing::info!(client = %req.app.client_id, user = user.id, "authorization code issued");
    Ok(code)
}
