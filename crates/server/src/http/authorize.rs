//! The authorization endpoint and its pages (SPEC §2, RFC 6749 §4.1, RFC 7636):
//! `GET|POST /oauth2/authorize` (and HDP's `/api/mgmt/oauth2/authorize`), the login
//! form (`POST /oauth2/login`), the consent form (`POST /oauth2/consent`), signing out
//! (`POST /oauth2/logout`) and the stylesheet.
//!
//! Each handler reads the request's parameters, form fields and cookies, calls one
//! function of [`signin`] (which decides the flow: session, tenant, CSRF, consent,
//! code) and [`render`]s the [`Step`] it returns. The pending request travels in
//! hidden fields and is re-validated by core at every step. The cookies are HttpOnly,
//! SameSite=Lax, and Secure with the `__Host-` prefix when the issuer is https (set
//! through axum-extra's [`CookieJar`], read with the cookie crate's parser, the first
//! of a name winning). Pages are rendered by [`pages`] from templates; the router
//! wraps these routes in [`pages::page_headers`] (a strict CSP whose `form-action`
//! also admits the client's redirect origin, set here as a [`pages::FormTarget`],
//! `frame-ancestors 'none'`, no-store and no-referrer). Redirect targets are built
//! with the `url` crate.

use super::pages;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use portcullis_core::oauth::end_session::{self, EndSessionParams};
use portcullis_core::oauth::metadata_document;
use portcullis_core::oauth::params::AuthorizeParams;
use portcullis_core::oauth::params::ResponseMode;
use portcullis_core::oauth::signin::{self, Browser, ConsentForm, LoginForm};
use portcullis_core::oauth::step::{ClientRedirect, Location, Refusal, SessionCookie, Step};
use std::net::SocketAddr;
use url::{form_urlencoded, Url};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
pub(super) fn html(status: StatusCode, body: String, redirect: Option<&str>) -> Response {
    let mut res = (status, Html(body)).into_response();
    if let Some(uri) = redirect {
        res.extensions_mut()
            .insert(pages::FormTarget(uri.to_owned()));
    }
    res
}

pub(super) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut res = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `uri` with `params` added to its query.
/// Parameters are form-encoded (RFC 6749 appendix B) after any query the URI already
/// has. A registered URI the `url` crate cannot parse (registration checks its own
/// rules, not WHATWG's) still gets them, appended to the text. With no parameters
/// (after an RP-initiated logout without `state`) the URI is left exactly as
/// registered.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return uri.to_owned();
    }
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

/// Decoded form or query pairs; `None` when a field is too long or not UTF-8.
pub(super) fn pairs(raw: &[u8]) -> Option<Vec<(String, String)>> {
    let out: Vec<(String, String)> = form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    out.iter()
        .all(|(k, v)| k.len() <= 64 && v.len() <= MAX_FIELD)
        .then_some(out)
}

/// The parameters of a request that may come by GET or POST: a POSTed request (RFC
/// 6749 §3.1 allows it for the authorization endpoint; RP-Initiated Logout §2 for the
/// end-session endpoint) carries them in the body.
fn request_pairs(
    method: &Method,
    query: Option<&str>,
    body: &[u8],
) -> Option<Vec<(String, String)>> {
    if *method == Method::POST && !body.is_empty() {
        pairs(body)
    } else {
        pairs(query.unwrap_or("").as_bytes())
    }
}

pub(super) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn params_of(pairs: &[(String, String)]) -> AuthorizeParams {
    AuthorizeParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

pub(super) fn too_long() -> Response {
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

/// The flow's cookies as the browser sent them.
fn browser(s: &AppState, headers: &HeaderMap) -> Browser {
    let (session, login, _) = cookie_names(s);
    Browser {
        session: cookie(headers, session),
        login_binding: cookie(headers, login),
    }
}

/// The response for a step of the sign-in flow: a page (with the client's redirect
/// URI as its [`pages::FormTarget`]) or a redirect, and the cookies the step sets.
fn render(s: &AppState, step: Step) -> Response {
    let (session_cookie, login_cookie, secure) = cookie_names(s);
    match step {
        Step::Login(p) => {
            let params = p.req.params.pairs();
            let body = pages::login(&pages::Login {
                app_name: &p.req.app.name,
                tenant: p.tenant.as_deref(),
                username: &p.username,
                error: p.error,
                csrf: &p.csrf,
                params: &params,
            });
            let status = match p.retry_after {
                Some(_) => StatusCode::TOO_MANY_REQUESTS,
                None => StatusCode::OK,
            };
            let mut res = html(status, body, Some(&p.req.redirect_uri));
            if let Some(b) = p.new_binding {
                res = with_cookie(
                    res,
                    new_cookie(login_cookie, b.expose().to_owned(), secure, None),
                );
            }
            if let Some(v) = p
                .retry_after
                .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Step::Consent(p) => {
            let params = p.req.params.pairs();
            let resources: Vec<(&str, &str)> = p
                .req
                .resources
                .iter()
                .map(|r| (r.name.as_str(), r.uri.as_str()))
                .collect();
            let host = metadata_document::display_host(&p.req.app);
            let body = pages::consent(&pages::Consent {
                app_name: &p.req.app.name,
                client_host: host.as_deref(),
                app_description: &p.req.app.description,
                scopes: &p.req.scopes,
                resources: &resources,
                user: &p.user,
                csrf: &p.csrf,
                params: &params,
                device: p.req.device.is_some(),
            });
            html(StatusCode::OK, body, Some(&p.req.redirect_uri))
        }
        Step::Redirect { to, session } => {
            let res = match to {
                Location::Authorize(path) => redirect(StatusCode::SEE_OTHER, &path),
                Location::Client(c) => to_client(&c),
            };
            match session {
                SessionCookie::Keep => res,
                SessionCookie::Set(id) => with_cookie(
                    res,
                    new_cookie(session_cookie, id.expose().to_owned(), secure, None),
                ),
                SessionCookie::Clear => with_cookie(res, cleared(session_cookie, secure)),
            }
        }
        Step::ConfirmSignOut(p) => {
            let params: Vec<(&str, &str)> =
                p.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let body = pages::confirm_sign_out(p.app_name.as_deref(), &p.csrf, &params);
            html(StatusCode::OK, body, None)
        }
        Step::SignedOut => with_cookie(
            html(StatusCode::OK, pages::signed_out(), None),
            cleared(session_cookie, secure),
        ),
        Step::Error(e) => {
            let status = match e.refusal {
                Refusal::Invalid => StatusCode::BAD_REQUEST,
                Refusal::Forbidden => StatusCode::FORBIDDEN,
                Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let params = e.sign_out.as_ref().map(|f| f.request.pairs());
            let sign_out = e
                .sign_out
                .as_ref()
                .zip(params.as_deref())
                .map(|(f, params)| pages::SignOut {
                    csrf: &f.csrf,
                    params,
                });
            let body = pages::error(&e.title, &e.message, sign_out.as_ref());
            html(status, body, e.form_target.as_deref())
        }
        Step::Device(d) => html(
            StatusCode::OK,
            pages::device_done(d.approved, &d.app_name),
            None,
        ),
    }
}

/// The answer to the client in its response mode: a 302 with the parameters in the
/// redirect URI's query or fragment, or the form_post page whose form the browser
/// POSTs there.
fn to_client(c: &ClientRedirect) -> Response {
    match c.mode {
        ResponseMode::Query => {
            redirect(StatusCode::FOUND, &with_query(&c.redirect_uri, &c.pairs()))
        }
        ResponseMode::Fragment => {
            let base = c.redirect_uri.split('#').next().unwrap_or_default();
            redirect(StatusCode::FOUND, &format!("{base}#{}", query(&c.pairs())))
        }
        ResponseMode::FormPost => {
            let mut res = html(
                StatusCode::OK,
                pages::form_post(&c.redirect_uri, &c.pairs()),
                Some(&c.redirect_uri),
            );
            res.extensions_mut().insert(pages::AutoSubmit);
            res
        }
    }
}

/// The session cookie, emptied and expired (signed out).
fn cleared(name: &'static str, secure: bool) -> Cookie<'static> {
    new_cookie(name, String::new(), secure, Some(time::Duration::ZERO))
}

async fn run_authorize(
    s: AppState,
    headers: HeaderMap,
    method: Method,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let Some(pairs) = request_pairs(&method, query.as_deref(), &body) else {
        return too_long();
    };
    let step = signin::request(&s.ctx, params_of(&pairs), &browser(&s, &headers)).await;
    render(&s, step)
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
        ("response_mode" = Option<String>, Query, description = "`query` (default), `fragment` or `form_post`"),
        ("nonce" = Option<String>, Query, description = "OpenID Connect: echoed in the ID token; needs `openid` in scope"),
        ("prompt" = Option<String>, Query, description = "`none` (alone), `login`, `consent`, `select_account`"),
        ("max_age" = Option<String>, Query, description = "Seconds since sign-in after which the user signs in again; needs `openid`"),
        ("login_hint" = Option<String>, Query, description = "Fills in the user name"),
        ("id_token_hint" = Option<String>, Query, description = "An ID token this server issued to the client; needs `openid`"),
        ("claims" = Option<String>, Query, description = "OpenID Connect claims request (JSON); needs `openid`"),
        ("ui_locales" = Option<String>, Query, description = "Accepted; the pages are in English"),
        ("acr_values" = Option<String>, Query, description = "Accepted, ignored (one way to sign in)"),
        ("display" = Option<String>, Query, description = "Accepted, ignored"),
        ("request" = Option<String>, Query, description = "Refused: `request_not_supported`"),
        ("request_uri" = Option<String>, Query, description = "Refused: `request_uri_not_supported`"),
    ),
    responses(
        (status = 200, description = "The login or consent page, or the form_post page (HTML)", content_type = "text/html"),
        (status = 302, description = "Back to the client's redirect_uri with `code` and `state` (in the query, or the fragment with response_mode=fragment), or an RFC 6749 §4.1.2.1 / OIDC Core §3.1.2.6 error"),
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
    let attempt = portcullis_core::auth::Attempt {
        limiter: &s.limiter,
        peer: Some(s.trusted_proxies.client_ip(peer.ip(), &headers)),
    };
    let form = LoginForm {
        username: field(&pairs, "username"),
        password: field(&pairs, "password"),
        tenant: field(&pairs, "tenant"),
        csrf_token: field(&pairs, "csrf_token"),
    };
    let browser = browser(&s, &headers);
    let step = signin::login(&s.ctx, attempt, params_of(&pairs), &browser, form).await;
    render(&s, step)
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
    let form = ConsentForm {
        decision: field(&pairs, "decision"),
        csrf_token: field(&pairs, "csrf_token"),
    };
    let step = signin::consent(&s.ctx, params_of(&pairs), &browser(&s, &headers), form).await;
    render(&s, step)
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
    let token = field(&pairs, "csrf_token");
    let step = signin::logout(&s.ctx, params_of(&pairs), &browser(&s, &headers), token).await;
    render(&s, step)
}

/// RP-Initiated Logout 1.0 (`end_session_endpoint`): signs the user out, at once when
/// the `id_token_hint` belongs to this browser's session, else after asking; then back
/// to the client's registered `post_logout_redirect_uri` with its `state`.
#[utoipa::path(method(get, post), path = "/oauth2/end_session", tag = "authorization",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "With POST: the same parameters as a form (and, from the confirmation page, csrf_token and confirm)"),
    params(
        ("id_token_hint" = Option<String>, Query, description = "An ID token this server issued to the client (may have expired)"),
        ("client_id" = Option<String>, Query, description = "The client, when no hint names it"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "One of the client's registered postLogoutRedirectUris, exactly"),
        ("state" = Option<String>, Query, description = "Echoed back to the post-logout redirect URI"),
        ("logout_hint" = Option<String>, Query, description = "Accepted, not used"),
        ("ui_locales" = Option<String>, Query, description = "Accepted; the pages are in English"),
    ),
    responses(
        (status = 302, description = "Signed out: to the post-logout redirect URI with `state`"),
        (status = 200, description = "The confirmation page, or the signed-out page", content_type = "text/html"),
        (status = 400, description = "A bad id_token_hint or an unregistered post_logout_redirect_uri: an error page, never a redirect", content_type = "text/html"),
        (status = 403, description = "The confirmation form's CSRF token is wrong", content_type = "text/html"),
    ))]
pub async fn end_session(
    State(s): State<AppState>,
    headers: HeaderMap,
    method: Method,
    RawQuery(query): RawQuery,
    PageForm(body): PageForm,
) -> Response {
    let Some(pairs) = request_pairs(&method, query.as_deref(), &body) else {
        return too_long();
    };
    let params = EndSessionParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let confirmed = (method == Method::POST && field(&pairs, "confirm") == Some("yes"))
        .then(|| field(&pairs, "csrf_token").unwrap_or(""));
    let step = end_session::end_session(&s.ctx, params, &browser(&s, &headers), confirmed).await;
    render(&s, step)
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
        .routes(routes!(end_session))
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
            /// goes back out through `signin::authorize_path` as a query that parses the same.
            #[test]
            fn arbitrary_queries_never_panic_and_round_trip(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
                if let Some(pairs) = pairs(&raw) {
                    let params = params_of(&pairs);
                    let url = signin::authorize_path(&params);
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
            with_query("https://app.example/bye", &[]),
            "https://app.example/bye",
            "nothing to add, nothing changed"
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
