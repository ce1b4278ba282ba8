//! The authorization endpoint and its pages (SPEC §2, RFC 6749 §4.1, RFC 7636):
//! `GET|POST /oauth2/authorize` (and HDP's `/api/mgmt/oauth2/authorize`), the login
//! form (`POST /oauth2/login`), the consent form (`POST /oauth2/consent`), signing out
//! (`POST /oauth2/logout`) and the stylesheet.
//!
//! The pending request travels in hidden fields and is re-validated by
//! [`authorize::validate`] at every step. Sessions are server-side
//! ([`portcullis_core::session`]); the cookie is HttpOnly, SameSite=Lax, and Secure
//! with the `__Host-` prefix when the issuer is https (set through axum-extra's
//! [`CookieJar`], read with the cookie crate's parser, the first of a name winning).
//! Every form carries a CSRF token bound to the session (or, on the login form, to a
//! pre-sign-in cookie). Pages are rendered by [`pages`]
//! from templates; the router wraps these routes in [`pages::page_headers`] (a strict
//! CSP whose `form-action` also admits the client's redirect origin, set here as a
//! [`pages::FormTarget`], `frame-ancestors 'none'`, no-store and no-referrer).
//! Redirect targets are built with the `url` crate.

use super::pages;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use portcullis_core::model::identity::User;
use portcullis_core::oauth::authorize::{
    self, AuthorizeError, AuthorizeParams, ErrorRedirect, ValidRequest,
};
use portcullis_core::session::{self, SignInFailure};
use std::net::SocketAddr;
use url::{form_urlencoded, Url};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const LOGIN_PURPOSE: &str = "login";
const SESSION_PURPOSE: &str = "session";
/// Form fields longer than this are refused (a state or scope is far shorter).
const MAX_FIELD: usize = 4096;

/// A page's form body. Unreadable or over the size limit (413), it is refused with
/// the HTML error page in plain words, not axum's plain-text rejection.
#[derive(Debug)]
pub struct PageForm(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        Bytes::from_request(req, state).await.map(PageForm).map_err(|r| {
            let (status, message) = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "The form is larger than {} bytes, the most this page accepts. Start again from the application.",
                        super::extract::MAX_BODY
                    ),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "The form could not be read (the connection ended before it was complete)."
                        .to_owned(),
                )
            };
            html(status, pages::error("Invalid request", &message, None), None)
        })
    }
}

/// The cookie names: `__Host-` prefixed (Secure, Path=/, no Domain) under https.
fn cookie_names(s: &AppState) -> (&'static str, &'static str, bool) {
    if s.issuer.starts_with("https://") {
        ("__Host-portcullis_session", "__Host-portcullis_login", true)
    } else {
        ("portcullis_session", "portcullis_login", false)
    }
}

/// A session or pre-sign-in cookie: Path=/, HttpOnly, SameSite=Lax, Secure under
/// https; a session cookie (no Max-Age) unless `max_age` says otherwise.
fn new_cookie(
    name: &'static str,
    value: String,
    secure: bool,
    max_age: Option<time::Duration>,
) -> Cookie<'static> {
    let mut c = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    if let Some(age) = max_age {
        c.set_max_age(age);
    }
    c
}

/// The value of the first cookie `name` the browser sent, if it can be one of ours.
/// The first, not the last: browsers send longer paths and older cookies first (RFC
/// 6265 §5.4), so a same-named cookie planted later (from a sibling host, over plain
/// http) cannot displace ours. axum-extra's `CookieJar` keeps the last one of a name,
/// so requests are read with the cookie crate's parser and the jar only writes.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// `res` with `cookie` set.
fn with_cookie(res: Response, cookie: Cookie<'static>) -> Response {
    (CookieJar::new().add(cookie), res).into_response()
}

/// An HTML page; `redirect` is the other origin its forms may end at (read by
/// [`pages::page_headers`], which adds the CSP and the other security headers).
fn html(status: StatusCode, body: String, redirect: Option<&str>) -> Response {
    let mut res = (status, Html(body)).into_response();
    if let Some(uri) = redirect {
        res.extensions_mut()
            .insert(pages::FormTarget(uri.to_owned()));
    }
    res
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut res = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `uri` with `params` added to its query.
/// Parameters are form-encoded (RFC 6749 appendix B) after any query the URI already
/// has. A registered URI the `url` crate cannot parse (registration checks its own
/// rules, not WHATWG's) still gets them, appended to the text.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.into()
        }
        Err(_) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}{}", query(params))
        }
    }
}

/// `params` as an `application/x-www-form-urlencoded` query.
fn query(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// The RFC 6749 §4.1.2.1 error redirect, with `iss` (RFC 9207 §2).
fn error_redirect(s: &AppState, e: &ErrorRedirect) -> Response {
    let mut params = vec![("error", e.error), ("error_description", &e.description)];
    if let Some(state) = &e.state {
        params.push(("state", state));
    }
    params.push(("iss", s.ctx.signer.issuer()));
    redirect(StatusCode::FOUND, &with_query(&e.redirect_uri, &params))
}

fn unavailable(detail: &str) -> Response {
    tracing::error!(error = %detail, "store failure at the authorization endpoint");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::error(
            "Temporarily unavailable",
            "The service cannot complete this right now. Please try again shortly.",
            None,
        ),
        None,
    )
}

fn refused(s: &AppState, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page { title, message } => html(
            StatusCode::BAD_REQUEST,
            pages::error(&title, &message, None),
            None,
        ),
        AuthorizeError::Redirect(r) => error_redirect(s, &r),
        AuthorizeError::Store(detail) => unavailable(&detail),
    }
}

/// Decoded form or query pairs; `None` when a field is too long or not UTF-8.
fn pairs(raw: &[u8]) -> Option<Vec<(String, String)>> {
    let out: Vec<(String, String)> = form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    out.iter()
        .all(|(k, v)| k.len() <= 64 && v.len() <= MAX_FIELD)
        .then_some(out)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn params_of(pairs: &[(String, String)]) -> AuthorizeParams {
    AuthorizeParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn too_long() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        pages::error(
            "Invalid request",
            "A parameter of the request is too long.",
            None,
        ),
        None,
    )
}

/// The authorization URL of this server for `params` (where the steps go back to).
fn authorize_url(params: &AuthorizeParams) -> String {
    format!("/oauth2/authorize?{}", query(&params.pairs()))
}

/// The user of the request's session, if any.
async fn signed_in(s: &AppState, headers: &HeaderMap) -> Result<Option<(User, String)>, Response> {
    let (name, _, _) = cookie_names(s);
    let Some(id) = cookie(headers, name) else {
        return Ok(None);
    };
    match session::resume(&s.ctx, &id).await {
        Ok(user) => Ok(user.map(|u| (u, id))),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

/// The login page for `req`, with a pre-sign-in cookie to bind its CSRF token to.
async fn login_page(
    s: &AppState,
    headers: &HeaderMap,
    req: &ValidRequest,
    status: StatusCode,
    username: &str,
    tenant: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (_, login_cookie, secure) = cookie_names(s);
    let (binding, fresh) = match cookie(headers, login_cookie) {
        Some(v) => (v, false),
        None => (
            portcullis_core::crypto::Secret::generate()
                .expose()
                .to_owned(),
            true,
        ),
    };
    let several_tenants = match s.ctx.store.tenants().await {
        Ok(t) => t.iter().filter(|t| t.active).count() > 1,
        Err(e) => return unavailable(&e.to_string()),
    };
    let tenant_field = several_tenants.then(|| tenant.unwrap_or(&req.tenant.name));
    let csrf = session::csrf_token(&s.ctx, LOGIN_PURPOSE, &binding);
    let params = req.params.pairs();
    let body = pages::login(&pages::Login {
        app_name: &req.app.name,
        tenant: tenant_field,
        username,
        error,
        csrf: &csrf,
        params: &params,
    });
    let res = html(status, body, Some(&req.redirect_uri));
    if fresh {
        return with_cookie(res, new_cookie(login_cookie, binding, secure, None));
    }
    res
}

/// The code redirect: `redirect_uri?code=…&state=…&iss=…` (RFC 9207 §2: `iss` is the
/// issuer exactly as in the metadata, so a client talking to several servers can tell
/// which one answered).
async fn grant(s: &AppState, req: &ValidRequest, user: &User) -> Response {
    match authorize::issue_code(&s.ctx, req, user).await {
        Ok(code) => {
            let mut params = vec![("code", code.expose())];
            if let Some(state) = &req.state {
                params.push(("state", state));
            }
            params.push(("iss", s.ctx.signer.issuer()));
            redirect(StatusCode::FOUND, &with_query(&req.redirect_uri, &params))
        }
        Err(e) => unavailable(&e.to_string()),
    }
}

fn wrong_tenant(s: &AppState, req: &ValidRequest, user: &User, session_id: &str) -> Response {
    let csrf = session::csrf_token(&s.ctx, SESSION_PURPOSE, session_id);
    let params = req.params.pairs();
    html(
        StatusCode::FORBIDDEN,
        pages::error(
            "Another tenant's application",
            &format!(
                "You are signed in as {} of another tenant. {} belongs to tenant {}; sign in with an account of that tenant.",
                user.login, req.app.name, req.tenant.name
            ),
            Some(&pages::SignOut {
                csrf: &csrf,
                params: &params,
            }),
        ),
        Some(&req.redirect_uri),
    )
}

/// What the user sees for a valid request: the login page, the consent page, or
/// (consent already recorded) straight back to the client with a code.
async fn proceed(s: &AppState, headers: &HeaderMap, req: ValidRequest) -> Response {
    let (user, session_id) = match signed_in(s, headers).await {
        Err(res) => return res,
        Ok(None) => return login_page(s, headers, &req, StatusCode::OK, "", None, None).await,
        Ok(Some(x)) => x,
    };
    if !authorize::same_tenant(&req, &user) {
        return wrong_tenant(s, &req, &user, &session_id);
    }
    match authorize::consent_covers(&s.ctx, &req, &user).await {
        Ok(true) => grant(s, &req, &user).await,
        Ok(false) => {
            let csrf = session::csrf_token(&s.ctx, SESSION_PURPOSE, &session_id);
            let params = req.params.pairs();
            html(
                StatusCode::OK,
                pages::consent(&pages::Consent {
                    app_name: &req.app.name,
                    app_description: &req.app.description,
                    scopes: &req.scopes,
                    user: &user.login,
                    csrf: &csrf,
                    params: &params,
                }),
                Some(&req.redirect_uri),
            )
        }
        Err(e) => unavailable(&e.to_string()),
    }
}

async fn run_authorize(
    s: AppState,
    headers: HeaderMap,
    method: Method,
    query: Option<String>,
    body: Bytes,
) -> Response {
    // A POSTed request (RFC 6749 §3.1 allows it) carries its parameters in the body.
    let raw: &[u8] = if method == Method::POST && !body.is_empty() {
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let Some(pairs) = pairs(raw) else {
        return too_long();
    };
    match authorize::validate(&s.ctx, params_of(&pairs)).await {
        Ok(req) => proceed(&s, &headers, req).await,
        Err(e) => refused(&s, e),
    }
}

/// The authorization endpoint (RFC 6749 §4.1.1): shows the login page, then the
/// consent page, then redirects to the client with a code.
#[utoipa::path(method(get, post), path = "/oauth2/authorize", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "With POST: the same parameters as a form"),
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query, description = "The application's clientId"),
        ("redirect_uri" = Option<String>, Query, description = "One of the registered redirect URLs, exactly; may be left out when only one is registered"),
        ("scope" = Option<String>, Query, description = "Space-separated scopes; default `api.access.odata` (alias `odata`)"),
        ("state" = Option<String>, Query, description = "Echoed back to the client"),
        ("code_challenge" = Option<String>, Query, description = "PKCE S256 challenge; required for public clients"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256` (`plain` is refused)"),
    ),
    responses(
        (status = 200, description = "The login or consent page (HTML)", content_type = "text/html"),
        (status = 302, description = "Back to the client's redirect_uri with `code` and `state`, or an RFC 6749 §4.1.2.1 error"),
        (status = 400, description = "Unknown client or redirect_uri: an error page, never a redirect", content_type = "text/html"),
    ))]
pub async fn authorize_endpoint(
    State(s): State<AppState>,
    headers: HeaderMap,
    method: Method,
    RawQuery(query): RawQuery,
    PageForm(body): PageForm,
) -> Response {
    run_authorize(s, headers, method, query, body).await
}

/// HDP's spelling of the authorization endpoint; identical behaviour.
#[utoipa::path(method(get, post), path = "/api/mgmt/oauth2/authorize", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "With POST: the authorization parameters as a form"),
    responses(
        (status = 200, description = "The login or consent page (HTML)", content_type = "text/html"),
        (status = 302, description = "Back to the client with a code or an error"),
        (status = 400, description = "Unknown client or redirect_uri: an error page", content_type = "text/html"),
    ))]
pub async fn mgmt_authorize_endpoint(
    State(s): State<AppState>,
    headers: HeaderMap,
    method: Method,
    RawQuery(query): RawQuery,
    PageForm(body): PageForm,
) -> Response {
    run_authorize(s, headers, method, query, body).await
}

fn bad_form(params: &AuthorizeParams) -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::error(
            "This form has expired",
            &format!(
                "The form was not sent by this page or has expired (its security token did not match). Start again from the application, or open {}.",
                authorize_url(params)
            ),
            None,
        ),
        None,
    )
}

/// The login form: checks the user's password (failures count toward lockout) and
/// starts a session, then goes back to the authorization request.
#[utoipa::path(post, path = "/oauth2/login", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "username, password, tenant (when shown), csrf_token and the authorization request's parameters"),
    responses(
        (status = 303, description = "Signed in: back to /oauth2/authorize"),
        (status = 200, description = "The login page again, saying what was wrong", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token", content_type = "text/html"),
        (status = 429, description = "Too many failed sign-ins from the address: the login page again, with Retry-After", content_type = "text/html"),
    ))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(body): PageForm,
) -> Response {
    let Some(pairs) = pairs(&body) else {
        return too_long();
    };
    let params = params_of(&pairs);
    let (session_cookie, login_cookie, secure) = cookie_names(&s);
    let csrf_ok = match (cookie(&headers, login_cookie), field(&pairs, "csrf_token")) {
        (Some(binding), Some(token)) => session::csrf_ok(&s.ctx, LOGIN_PURPOSE, &binding, token),
        _ => false,
    };
    let req = match authorize::validate(&s.ctx, params.clone()).await {
        Ok(req) => req,
        Err(e) => return refused(&s, e),
    };
    if !csrf_ok {
        return bad_form(&params);
    }
    let username = field(&pairs, "username").unwrap_or("").trim();
    let password = field(&pairs, "password").unwrap_or("");
    let tenant = field(&pairs, "tenant")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if username.is_empty() || password.is_empty() {
        return login_page(
            &s,
            &headers,
            &req,
            StatusCode::OK,
            username,
            tenant,
            Some("Enter your user name and password."),
        )
        .await;
    }
    let tenant_name = tenant.unwrap_or(&req.tenant.name).to_owned();
    let attempt = portcullis_core::auth::Attempt {
        limiter: &s.limiter,
        peer: Some(s.trusted_proxies.client_ip(peer.ip(), &headers)),
    };
    match session::sign_in(&s.ctx, attempt, &tenant_name, username, password).await {
        Ok(user) => match session::start(&s.ctx, &user).await {
            Ok(id) => with_cookie(
                redirect(StatusCode::SEE_OTHER, &authorize_url(&params)),
                new_cookie(session_cookie, id.expose().to_owned(), secure, None),
            ),
            Err(e) => unavailable(&e.to_string()),
        },
        Err(SignInFailure::Unavailable) => unavailable("sign-in: database unavailable"),
        Err(f @ SignInFailure::TooMany(secs)) => {
            let mut res = login_page(
                &s,
                &headers,
                &req,
                StatusCode::TOO_MANY_REQUESTS,
                username,
                tenant,
                Some(f.message()),
            )
            .await;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(f) => {
            login_page(
                &s,
                &headers,
                &req,
                StatusCode::OK,
                username,
                tenant,
                Some(f.message()),
            )
            .await
        }
    }
}

/// The consent form: Allow records the consent and redirects with a code; Deny
/// redirects with `error=access_denied`.
#[utoipa::path(post, path = "/oauth2/consent", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "decision (allow or deny), csrf_token and the authorization request's parameters"),
    responses(
        (status = 302, description = "Back to the client with a code (allow) or error=access_denied (deny)"),
        (status = 303, description = "Not signed in (any more): back to /oauth2/authorize"),
        (status = 403, description = "Missing or wrong CSRF token", content_type = "text/html"),
    ))]
pub async fn consent(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageForm(body): PageForm,
) -> Response {
    let Some(pairs) = pairs(&body) else {
        return too_long();
    };
    let params = params_of(&pairs);
    let req = match authorize::validate(&s.ctx, params.clone()).await {
        Ok(req) => req,
        Err(e) => return refused(&s, e),
    };
    let (user, session_id) = match signed_in(&s, &headers).await {
        Err(res) => return res,
        Ok(None) => return redirect(StatusCode::SEE_OTHER, &authorize_url(&params)),
        Ok(Some(x)) => x,
    };
    let token = field(&pairs, "csrf_token").unwrap_or("");
    if !session::csrf_ok(&s.ctx, SESSION_PURPOSE, &session_id, token) {
        return bad_form(&params);
    }
    if !authorize::same_tenant(&req, &user) {
        return wrong_tenant(&s, &req, &user, &session_id);
    }
    match field(&pairs, "decision") {
        Some("allow") => {
            if let Err(e) = authorize::record_consent(&s.ctx, &req, &user).await {
                return unavailable(&e.to_string());
            }
            tracing::info!(client = %req.app.client_id, user = user.id, "consent recorded");
            grant(&s, &req, &user).await
        }
        Some("deny") => {
            tracing::info!(client = %req.app.client_id, user = user.id, "consent denied");
            error_redirect(&s, &req.error("access_denied", "User denied OAuth access"))
        }
        _ => html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "Invalid request",
                "Choose Allow or Deny (the form's decision field is missing or unknown).",
                None,
            ),
            None,
        ),
    }
}

/// Signs out: ends the session. With an authorization request in the form, goes back
/// to it (to sign in as someone else); otherwise shows a signed-out page.
#[utoipa::path(post, path = "/oauth2/logout", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "csrf_token and, optionally, an authorization request's parameters to go back to"),
    responses(
        (status = 200, description = "Signed out", content_type = "text/html"),
        (status = 303, description = "Signed out, back to /oauth2/authorize"),
        (status = 403, description = "Missing or wrong CSRF token", content_type = "text/html"),
    ))]
pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageForm(body): PageForm,
) -> Response {
    let Some(pairs) = pairs(&body) else {
        return too_long();
    };
    let params = params_of(&pairs);
    let (session_cookie, _, secure) = cookie_names(&s);
    if let Some(id) = cookie(&headers, session_cookie) {
        let token = field(&pairs, "csrf_token").unwrap_or("");
        if !session::csrf_ok(&s.ctx, SESSION_PURPOSE, &id, token) {
            return bad_form(&params);
        }
        if let Err(e) = session::end(&s.ctx, &id).await {
            return unavailable(&e.to_string());
        }
        tracing::info!("browser session ended");
    }
    let res = if params.client_id.is_some() {
        redirect(StatusCode::SEE_OTHER, &authorize_url(&params))
    } else {
        html(StatusCode::OK, pages::signed_out(), None)
    };
    with_cookie(
        res,
        new_cookie(
            session_cookie,
            String::new(),
            secure,
            Some(time::Duration::ZERO),
        ),
    )
}

/// The pages' stylesheet.
#[utoipa::path(get, path = "/oauth2/assets/portcullis.css", tag = "authorization",
    responses((status = 200, description = "The stylesheet of the login and consent pages", content_type = "text/css")))]
pub async fn stylesheet() -> Response {
    let mut res = pages::CSS.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authorize_endpoint))
        .routes(routes!(mgmt_authorize_endpoint))
        .routes(routes!(login))
        .routes(routes!(consent))
        .routes(routes!(logout))
        // Every page and redirect above, not the stylesheet (cached) nor 405s.
        .route_layer(axum::middleware::map_response_with_state(
            pages::Policy::Sign,
            pages::page_headers,
        ))
        .routes(routes!(stylesheet))
}

#[cfg(test)]
mod tests {
    use super::*;

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// Arbitrary bytes as a query or form body: no panic, and whatever parses
            /// goes back out through `authorize_url` as a query that parses the same.
            #[test]
            fn arbitrary_queries_never_panic_and_round_trip(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
                if let Some(pairs) = pairs(&raw) {
                    let params = params_of(&pairs);
                    let url = authorize_url(&params);
                    let query = url.split_once('?').map_or("", |(_, q)| q);
                    let again = params_of(&pairs_or_empty(query.as_bytes()));
                    if params.duplicate.is_none() {
                        prop_assert_eq!(again.pairs(), params.pairs());
                    }
                }
            }

            #[test]
            fn query_shaped_strings_never_panic(raw in "([a-z_]{0,14}=[ -~]{0,10}&?){0,10}") {
                if let Some(pairs) = pairs(raw.as_bytes()) {
                    let _ = params_of(&pairs);
                }
            }
        }

        fn pairs_or_empty(raw: &[u8]) -> Vec<(String, String)> {
            pairs(raw).unwrap_or_default()
        }
    }

    #[test]
    fn the_first_cookie_of_a_name_is_ours() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("other=1; portcullis_session=first"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("portcullis_session=planted"),
        );
        assert_eq!(cookie(&h, "portcullis_session").as_deref(), Some("first"));
        assert_eq!(cookie(&h, "other").as_deref(), Some("1"));
        assert_eq!(cookie(&h, "portcullis_login"), None);
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=; a=x"));
        assert_eq!(cookie(&h, "a"), None, "an empty first one is not skipped");
    }

    #[test]
    fn cookies_are_written_as_before() {
        let c = new_cookie("__Host-portcullis_session", "v".into(), true, None).to_string();
        for part in [
            "__Host-portcullis_session=v",
            "Path=/",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
        ] {
            assert!(c.split("; ").any(|p| p == part), "{c}");
        }
        let c = new_cookie(
            "portcullis_session",
            String::new(),
            false,
            Some(time::Duration::ZERO),
        )
        .to_string();
        assert!(c.starts_with("portcullis_session=;"), "{c}");
        assert!(
            c.contains("Max-Age=0") && !c.contains("Secure") && !c.contains("Expires"),
            "{c}"
        );
    }

    #[test]
    fn redirects_keep_the_registered_uri_and_its_query() {
        assert_eq!(
            with_query(
                "com.example.app:/cb",
                &[("code", "c"), ("iss", "https://i")]
            ),
            "com.example.app:/cb?code=c&iss=https%3A%2F%2Fi"
        );
        assert_eq!(
            with_query(
                "http://127.0.0.1:9/cb?a=%20b",
                &[("error", "access_denied")]
            ),
            "http://127.0.0.1:9/cb?a=%20b&error=access_denied"
        );
        assert_eq!(
            with_query("no scheme", &[("code", "c")]),
            "no scheme?code=c"
        );
    }

    #[test]
    fn queries_are_appended() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y"), ("state", "&")]),
            "https://a/cb?code=x+y&state=%26"
        );
        assert_eq!(
            with_query("https://a/cb?k=v", &[("code", "c")]),
            "https://a/cb?k=v&code=c"
        );
    }
}
