//! The browser sign-in flow of the authorization endpoint (SPEC §2), decided here and
//! returned as the next [`Step`] for the server to show: one function per entry point,
//! [`request`] (an authorization request arrives, with or without a session),
//! [`login`] (the login form is posted), [`consent`] (the consent form is posted) and
//! [`logout`]. The server extracts the request, calls one of them and renders the
//! step (a page, or a redirect with what to do to the session cookie); it decides
//! nothing itself. After kanidm, whose `IdmServer` returns an `AuthState` its
//! handlers render.
//!
//! Decided here: the order session → tenant → consent → code; the CSRF checks (every
//! form's token is bound to the session, or on the login form to the pre-sign-in
//! cookie, with [`session::csrf_token`]); the wrong-tenant rule; whether the login page
//! asks for the tenant (only when another active tenant exists, one short store read);
//! consent coverage and the issuing of codes; starting, resuming and ending sessions.
//!
//! OpenID Connect plugs in at one place, `proceed` below, where a valid request meets
//! the session: `prompt=login` and `max_age` (against [`SignedIn::since`]) send a
//! signed-in user to [`Step::Login`] again, `prompt=none` turns a `Login` or `Consent`
//! into an error redirect, `login_hint` pre-fills [`LoginPage::username`].
//!
//! A device request (RFC 8628, [`super::device`]) rides the same steps: its
//! [`ValidRequest`] has `device` set and always asks for consent; where a code would
//! go to the client, [`code`] approves the device request instead and a deny records
//! the refusal, each ending on [`Step::Device`].

use super::authorize::{self, AuthorizeError, ErrorRedirect, ValidRequest};
use super::params::{AuthorizeParams, ResponseMode};
use super::step::{
    unavailable, ClientRedirect, ConsentPage, ErrorPage, Location, LoginPage, Refusal,
    SessionCookie, SignOutForm, Step,
};
use crate::auth::Attempt;
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::identity::User;
use crate::model::token::SignInContext;
use crate::session::{self, SignInFailure, SignedIn};

/// What the login form's CSRF token is bound for (with the pre-sign-in cookie).
const LOGIN_PURPOSE: &str = "login";
/// What the consent and sign-out forms' tokens are bound for (with the session).
pub(crate) const SESSION_PURPOSE: &str = "session";

/// Where the authorization endpoint is; the steps send the browser back to it.
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";

/// The authorization endpoint's path with `params` as its query (where a step goes
/// back to: the request is then validated again from scratch).
pub fn authorize_path(params: &AuthorizeParams) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.pairs())
        .finish();
    format!("{AUTHORIZE_PATH}?{query}")
}

/// The flow's cookies as the browser sent them (the server reads them; their names
/// and attributes are its business).
#[derive(Debug, Clone, Default)]
pub struct Browser {
    /// The session cookie's value: a session id.
    pub session: Option<String>,
    /// The pre-sign-in cookie's value, which the login form's CSRF token is bound to.
    pub login_binding: Option<String>,
}

/// The login form's fields, as posted.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginForm<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    /// Sent when the page asked for it.
    pub tenant: Option<&'a str>,
    pub csrf_token: Option<&'a str>,
}

/// The consent form's fields, as posted.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsentForm<'a> {
    /// `allow` or `deny`.
    pub decision: Option<&'a str>,
    pub csrf_token: Option<&'a str>,
}

/// An authorization request arrived (`GET|POST /oauth2/authorize`): the login page,
/// the consent page, or (consent already recorded) back to the client with a code.
pub async fn request(ctx: &Context, params: AuthorizeParams, browser: &Browser) -> Step {
    match authorize::validate(ctx, params).await {
        Ok(req) => proceed(ctx, req, browser).await,
        Err(e) => refused(ctx, e),
    }
}

/// The login form was posted: checks its CSRF token and the password (failures count
/// toward lockout and the address's limits) and starts a session, then goes back to
/// the request; or shows the login page again saying what was wrong.
pub async fn login(
    ctx: &Context,
    attempt: Attempt<'_>,
    params: AuthorizeParams,
    browser: &Browser,
    form: LoginForm<'_>,
) -> Step {
    let req = match authorize::validate(ctx, params).await {
        Ok(req) => req,
        Err(e) => return refused(ctx, e),
    };
    let csrf_ok = match (browser.login_binding.as_deref(), form.csrf_token) {
        (Some(binding), Some(token)) => session::csrf_ok(ctx, LOGIN_PURPOSE, binding, token),
        _ => false,
    };
    if !csrf_ok {
        return bad_form(&req.params);
    }
    let username = form.username.unwrap_or("").trim();
    let password = form.password.unwrap_or("");
    let tenant = form.tenant.map(str::trim).filter(|t| !t.is_empty());
    let again = |error, retry_after| Typed {
        username,
        tenant,
        error: Some(error),
        retry_after,
    };
    if username.is_empty() || password.is_empty() {
        let typed = again("Enter your user name and password.", None);
        return login_page(ctx, req, browser, typed).await;
    }
    let tenant_name = tenant.unwrap_or(&req.tenant.name);
    match session::sign_in(ctx, attempt, tenant_name, username, password).await {
        Ok(user) => match session::start(ctx, &user).await {
            Ok(id) => Step::Redirect {
                to: Location::Authorize(authorize_path(&req.params.after_sign_in())),
                session: SessionCookie::Set(id),
            },
            Err(e) => unavailable(e),
        },
        Err(SignInFailure::Unavailable) => unavailable("sign-in: database unavailable"),
        Err(f) => {
            let retry_after = match f {
                SignInFailure::TooMany(secs) => Some(secs),
                _ => None,
            };
            login_page(ctx, req, browser, again(f.message(), retry_after)).await
        }
    }
}

/// The consent form was posted: Allow records the consent and goes back to the client
/// with a code, Deny with `error=access_denied`. Without a session (any more), back to
/// the request.
pub async fn consent(
    ctx: &Context,
    params: AuthorizeParams,
    browser: &Browser,
    form: ConsentForm<'_>,
) -> Step {
    let req = match authorize::validate(ctx, params).await {
        Ok(req) => req,
        Err(e) => return refused(ctx, e),
    };
    let (SignedIn { user, since }, id) = match signed_in(ctx, browser).await {
        Err(step) => return step,
        Ok(None) => {
            return Step::Redirect {
                to: Location::Authorize(authorize_path(&req.params)),
                session: SessionCookie::Keep,
            }
        }
        Ok(Some(x)) => x,
    };
    if !session::csrf_ok(ctx, SESSION_PURPOSE, id, form.csrf_token.unwrap_or("")) {
        return bad_form(&req.params);
    }
    if !authorize::same_tenant(&req, &user) {
        return wrong_tenant(ctx, &req, &user, id);
    }
    match form.decision {
        Some("allow") => {
            if let Err(e) = authorize::record_consent(ctx, &req, &user).await {
                return unavailable(e);
            }
            tracing::info!(client = %req.app.client_id, user = user.id, "consent recorded");
            code(ctx, &req, &user, since, id).await
        }
        Some("deny") if req.device.is_some() => super::device::deny(ctx, &req, &user).await,
        Some("deny") => {
            tracing::info!(client = %req.app.client_id, user = user.id, "consent denied");
            error_redirect(ctx, req.error("access_denied", "User denied OAuth access"))
        }
        _ => Step::Error(ErrorPage::new(
            Refusal::Invalid,
            "Invalid request",
            "Choose Allow or Deny (the form's decision field is missing or unknown).",
        )),
    }
}

/// Signing out (its form carries the session's CSRF token): ends the session. With an
/// authorization request in the form, goes back to it (to sign in as someone else);
/// otherwise [`Step::SignedOut`]. The session cookie is cleared either way.
pub async fn logout(
    ctx: &Context,
    params: AuthorizeParams,
    browser: &Browser,
    csrf_token: Option<&str>,
) -> Step {
    if let Some(id) = browser.session.as_deref() {
        if !session::csrf_ok(ctx, SESSION_PURPOSE, id, csrf_token.unwrap_or("")) {
            return bad_form(&params);
        }
        if let Err(e) = session::end(ctx, id).await {
            return unavailable(e);
        }
        tracing::info!("browser session ended");
    }
    if params.client_id.is_some() {
        Step::Redirect {
            to: Location::Authorize(authorize_path(&params)),
            session: SessionCookie::Clear,
        }
    } else {
        Step::SignedOut
    }
}

/// A valid request meets the session: who is signed in decides the step, with OpenID
/// Connect's rules (Core §3.1.2.1): `prompt=login` (or `select_account`) and a
/// session older than `max_age` ask for a fresh sign-in; an `id_token_hint` naming
/// someone else than the signed-in user does too; `prompt=consent` asks for consent
/// even when it was given; and `prompt=none` turns each page it would show into an
/// error for the client (`login_required`, `consent_required`).
async fn proceed(ctx: &Context, req: ValidRequest, browser: &Browser) -> Step {
    let session = match signed_in(ctx, browser).await {
        Err(step) => return step,
        Ok(s) => s,
    };
    let now = ctx.now();
    let session = session.filter(|(s, _)| {
        let too_old = req.max_age.is_some_and(|max| now - s.since > max);
        let other_user = req
            .hinted_subject
            .as_ref()
            .is_some_and(|sub| *sub != s.user.id.to_string());
        !(req.prompt.login || too_old || other_user)
    });
    let Some((SignedIn { user, since }, id)) = session else {
        if req.prompt.none {
            return error_redirect(
                ctx,
                req.error(
                    "login_required",
                    "The user must sign in, and prompt=none forbids showing the login page.",
                ),
            );
        }
        return login_page(ctx, req, browser, Typed::default()).await;
    };
    if !authorize::same_tenant(&req, &user) {
        if req.prompt.none {
            return error_redirect(
                ctx,
                req.error(
                    "login_required",
                    "The signed-in user belongs to another tenant than the application, and prompt=none forbids showing a page.",
                ),
            );
        }
        return wrong_tenant(ctx, &req, &user, id);
    }
    let covered = match authorize::consent_covers(ctx, &req, &user).await {
        Ok(covered) => covered && !req.prompt.consent,
        Err(e) => return unavailable(e),
    };
    if covered {
        return code(ctx, &req, &user, since, id).await;
    }
    if req.prompt.none {
        return error_redirect(
            ctx,
            req.error(
                "consent_required",
                "The user has not allowed this application these scopes, and prompt=none forbids asking.",
            ),
        );
    }
    Step::Consent(ConsentPage {
        csrf: session::csrf_token(ctx, SESSION_PURPOSE, id),
        user: user.login,
        req,
    })
}

/// The live session of the browser, with its id, if any.
async fn signed_in<'b>(
    ctx: &Context,
    browser: &'b Browser,
) -> Result<Option<(SignedIn, &'b str)>, Step> {
    let Some(id) = browser.session.as_deref() else {
        return Ok(None);
    };
    match session::resume(ctx, id).await {
        Ok(signed_in) => Ok(signed_in.map(|s| (s, id))),
        Err(e) => Err(unavailable(e)),
    }
}

/// What the login page shows again of the last attempt.
#[derive(Debug, Default, Clone, Copy)]
struct Typed<'a> {
    username: &'a str,
    tenant: Option<&'a str>,
    error: Option<&'static str>,
    retry_after: Option<u64>,
}

/// The login page for `req`, with a new pre-sign-in cookie when the browser has none.
async fn login_page(ctx: &Context, req: ValidRequest, browser: &Browser, typed: Typed<'_>) -> Step {
    let (binding, new_binding) = match &browser.login_binding {
        Some(v) => (v.clone(), None),
        None => {
            let fresh = Secret::generate();
            (fresh.expose().to_owned(), Some(fresh))
        }
    };
    // The request's tenant is active (validated), so "another active tenant exists"
    // is "more than one is active".
    let tenant = match ctx.store.has_other_active_tenant(req.tenant.id).await {
        Ok(several) => several.then(|| typed.tenant.unwrap_or(&req.tenant.name).to_owned()),
        Err(e) => return unavailable(e),
    };
    // OpenID Connect's login_hint fills in the user name until the user types one.
    let username = match (typed.username, req.params.login_hint.as_deref()) {
        ("", Some(hint)) => hint,
        (typed, _) => typed,
    };
    Step::Login(LoginPage {
        tenant,
        username: username.to_owned(),
        error: typed.error,
        retry_after: typed.retry_after,
        csrf: session::csrf_token(ctx, LOGIN_PURPOSE, &binding),
        new_binding,
        req,
    })
}

/// Signed in as a user of another tenant than the application's: a page that offers
/// to sign in as someone else.
fn wrong_tenant(ctx: &Context, req: &ValidRequest, user: &User, session_id: &str) -> Step {
    Step::Error(ErrorPage {
        sign_out: Some(SignOutForm {
            csrf: session::csrf_token(ctx, SESSION_PURPOSE, session_id),
            request: req.params.clone(),
        }),
        form_target: (!req.redirect_uri.is_empty()).then(|| req.redirect_uri.clone()),
        ..ErrorPage::new(
            Refusal::Forbidden,
            "Another tenant's application",
            format!(
                "You are signed in as {} of another tenant. {} belongs to tenant {}; sign in with an account of that tenant.",
                user.login, req.app.name, req.tenant.name
            ),
        )
    })
}

/// A form whose CSRF token does not match.
fn bad_form(params: &AuthorizeParams) -> Step {
    Step::Error(ErrorPage::new(
        Refusal::Forbidden,
        "This form has expired",
        format!(
            "The form was not sent by this page or has expired (its security token did not match). Start again from the application, or open {}.",
            authorize_path(params)
        ),
    ))
}

/// A request [`authorize::validate`] refused.
fn refused(ctx: &Context, e: AuthorizeError) -> Step {
    match e {
        AuthorizeError::Page { title, message } => {
            Step::Error(ErrorPage::new(Refusal::Invalid, &title, message))
        }
        AuthorizeError::Redirect(r) => error_redirect(ctx, r),
        AuthorizeError::Store(detail) => unavailable(detail),
    }
}

/// Issues a code and sends it to the client: `redirect_uri?code=…&state=…&iss=…`.
/// The code remembers the sign-in (`since`, the session `session_id`) and the
/// request's `nonce` and `claims` for the ID token.
async fn code(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
    since: crate::model::time::UnixTime,
    session_id: &str,
) -> Step {
    if req.device.is_some() {
        return super::device::approve(ctx, req, user, since, session_id).await;
    }
    let sign_in = SignInContext {
        auth_time: Some(since),
        nonce: req.nonce().map(str::to_owned),
        sid: Some(session::sid(ctx, session_id)),
        claims: req.claims.clone(),
    };
    match authorize::issue_code(ctx, req, user, sign_in).await {
        Ok(code) => to_client(
            ctx,
            req.redirect_uri.clone(),
            vec![("code", code.expose().to_owned())],
            req.state.clone(),
            req.response_mode,
        ),
        Err(e) => unavailable(e),
    }
}

/// The RFC 6749 §4.1.2.1 error redirect.
fn error_redirect(ctx: &Context, e: ErrorRedirect) -> Step {
    let params = vec![
        ("error", e.error.to_owned()),
        ("error_description", e.description),
    ];
    to_client(ctx, e.redirect_uri, params, e.state, e.mode)
}

/// To the client with `params`, then the `state` and `iss`.
fn to_client(
    ctx: &Context,
    redirect_uri: String,
    mut params: Vec<(&'static str, String)>,
    state: Option<String>,
    mode: ResponseMode,
) -> Step {
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", ctx.signer.issuer().to_owned()));
    Step::Redirect {
        to: Location::Client(ClientRedirect {
            redirect_uri,
            params,
            mode,
        }),
        session: SessionCookie::Keep,
    }
}

#[cfg(test)]
mod tests;
