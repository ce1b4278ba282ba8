//! The HTML pages of the authorization endpoint (login, consent, error, signed out)
//! and of the token vault's connect flow, rendered from the askama templates in
//! `crates/server/templates/`. Plain server-rendered HTML5 that needs no JavaScript,
//! one stylesheet served by the binary, a mobile viewport. Templates are compiled
//! into the binary and escape every value they print (text and attribute context
//! alike, with [`Entities`]), so a page cannot be injected into; nothing here builds
//! HTML by hand. The headers every page carries come from [`PageHeadersLayer`].

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use std::fmt;

/// The stylesheet, compiled into the binary.
pub const CSS: &str = include_str!("../../assets/portcullis.css");
/// Where the stylesheet is served; the version in the link busts caches on upgrade.
pub const CSS_PATH: &str = "/oauth2/assets/portcullis.css";
/// The version in the stylesheet's link.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// askama's HTML escaper with named entities (`&quot;` `&#39;` `&lt;` `&gt;`
/// `&amp;`) instead of askama's numeric ones: the same five characters escaped, and
/// the markup byte for byte what the pages have always sent (configured in
/// `askama.toml`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Entities;

impl askama::filters::Escaper for Entities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[plain..i])?;
            dest.write_str(entity)?;
            plain = i + 1;
        }
        dest.write_str(&s[plain..])
    }
}

/// Renders `page`. Templates only print strings, so this cannot fail in practice; if
/// it did, the visitor gets a short fixed page instead of half a page.
fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a page template failed to render");
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error · Portcullis</title></head>\
         <body><p>This page could not be shown. Please try again.</p></body></html>\n"
            .to_owned()
    })
}

/// What the login page shows.
#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct Login<'a> {
    pub app_name: &'a str,
    /// `Some(prefill)` shows the tenant field (the server has several tenants).
    pub tenant: Option<&'a str>,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub csrf: &'a str,
    /// The authorization request, carried to the next step.
    pub params: &'a [(&'a str, &'a str)],
}

pub fn login(p: &Login<'_>) -> String {
    render(p)
}

/// What the consent page shows.
#[derive(Debug, Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    pub app_name: &'a str,
    /// For a client known only by its metadata document: the host its URL names,
    /// shown first, since the name is whatever the document says.
    pub client_host: Option<&'a str>,
    pub app_description: &'a str,
    pub scopes: &'a [String],
    /// The resource servers (RFC 8707) the access is for, as (name, URI); empty: this
    /// server itself.
    pub resources: &'a [(&'a str, &'a str)],
    pub user: &'a str,
    pub csrf: &'a str,
    pub params: &'a [(&'a str, &'a str)],
    /// A device request (RFC 8628): the page warns against codes from someone else
    /// (§5.4, remote phishing).
    pub device: bool,
}

impl Consent<'_> {
    /// A scope in words (its name when it has none).
    fn words<'s>(&self, scope: &'s str) -> &'s str {
        portcullis_core::model::scope::describe(scope).unwrap_or(scope)
    }
}

pub fn consent(p: &Consent<'_>) -> String {
    render(p)
}

/// A sign-out form to show on an error page (when someone is signed in).
#[derive(Debug)]
pub struct SignOut<'a> {
    pub csrf: &'a str,
    pub params: &'a [(&'a str, &'a str)],
}

#[derive(Debug, Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    sign_out: Option<&'a SignOut<'a>>,
}

/// An error page: what went wrong, in words, and what to do.
pub fn error(title: &str, message: &str, sign_out: Option<&SignOut<'_>>) -> String {
    render(&ErrorPage {
        title,
        message,
        sign_out,
    })
}

#[derive(Debug, Template)]
#[template(path = "signed_out.html")]
struct SignedOut;

/// After signing out with nothing to go back to.
pub fn signed_out() -> String {
    render(&SignedOut)
}

/// The device verification page (RFC 8628 §3.3): where the user types the code.
#[derive(Debug, Template)]
#[template(path = "device.html")]
struct Device<'a> {
    user_code: &'a str,
    error: Option<&'a str>,
}

/// The device verification page, pre-filled with `user_code` (from
/// `verification_uri_complete`), saying what was wrong with the last code if anything.
pub fn device(user_code: &str, error: Option<&str>) -> String {
    render(&Device { user_code, error })
}

#[derive(Debug, Template)]
#[template(path = "device_done.html")]
struct DeviceDone<'a> {
    approved: bool,
    app_name: &'a str,
}

/// The end of a device request's sign-in: the user may go back to the device.
pub fn device_done(approved: bool, app_name: &str) -> String {
    render(&DeviceDone { approved, app_name })
}

/// The one script any page runs: the form_post page's auto-submit. The pages' CSP
/// allows exactly this text by its hash ([`auto_submit_hash`]); without JavaScript
/// the page shows a Continue button instead.
pub const AUTO_SUBMIT: &str = "document.forms[0].submit()";

/// The CSP source that allows [`AUTO_SUBMIT`]: `'sha256-…'` of its text.
pub fn auto_submit_hash() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(AUTO_SUBMIT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[derive(Debug, Template)]
#[template(path = "form_post.html")]
struct FormPost<'a> {
    action: &'a str,
    params: &'a [(&'a str, &'a str)],
}

/// The Form Post Response Mode's page: the answer as hidden fields of a form the
/// browser POSTs to the client's redirect URI (`action`).
pub fn form_post(action: &str, params: &[(&str, &str)]) -> String {
    render(&FormPost { action, params })
}

#[derive(Debug, Template)]
#[template(path = "confirm_sign_out.html")]
struct ConfirmSignOut<'a> {
    app_name: Option<&'a str>,
    csrf: &'a str,
    params: &'a [(&'a str, &'a str)],
}

/// The end-session endpoint's question: sign out of this server?
pub fn confirm_sign_out(app_name: Option<&str>, csrf: &str, params: &[(&str, &str)]) -> String {
    render(&ConfirmSignOut {
        app_name,
        csrf,
        params,
    })
}

#[derive(Debug, Template)]
#[template(path = "connect_result.html")]
struct ConnectResult<'a> {
    title: &'a str,
    message: &'a str,
}

/// The token vault's connect flow ends on this page (`/oauth2callback`): a title and
/// one sentence, no stylesheet.
pub fn connect_result(title: &str, message: &str) -> String {
    render(&ConnectResult { title, message })
}

/// The Content-Security-Policy a group of page routes answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The authorization pages: own stylesheet and images, forms to this server and
    /// to the origin in the response's [`FormTarget`].
    Sign,
    /// The connect flow's result page: nothing loads, nothing frames it.
    Bare,
}

/// Set by a page handler on its response: the client's redirect URI, the other place
/// its forms may end at (browsers apply `form-action` to the redirect that ends a
/// form submission). Read by [`page_headers`], never sent.
#[derive(Debug, Clone)]
pub struct FormTarget(pub String);

/// Set on the form_post page's response: its CSP allows [`AUTO_SUBMIT`].
#[derive(Debug, Clone, Copy)]
pub struct AutoSubmit;

/// The security headers of every page route, as ONE layer (`route_layer` with
/// [`axum::middleware::map_response_with_state`]) instead of in each handler:
/// no-store, no-cache, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` on
/// every answer (pages and redirects), and on HTML the `policy`'s CSP with
/// `frame-ancestors 'none'`.
pub async fn page_headers(State(policy): State<Policy>, mut res: Response) -> Response {
    let form_target = res.extensions_mut().remove::<FormTarget>();
    let auto_submit = res.extensions_mut().remove::<AutoSubmit>().is_some();
    let h = res.headers_mut();
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        let csp = match policy {
            Policy::Sign => {
                let form_action = match form_target.as_ref().and_then(|t| csp_source(&t.0)) {
                    Some(src) => format!("'self' {src}"),
                    None => "'self'".to_owned(),
                };
                // Only the form_post page runs a script, its one auto-submit.
                let script = match auto_submit {
                    true => format!("script-src {}; ", auto_submit_hash()),
                    false => String::new(),
                };
                format!(
                    "default-src 'none'; {script}style-src 'self'; img-src 'self'; form-action {form_action}; \
                     frame-ancestors 'none'; base-uri 'none'"
                )
            }
            Policy::Bare => "default-src 'none'; frame-ancestors 'none'".to_owned(),
        };
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The origin of a redirect URI as a CSP source, if it is plain enough to be one.
fn csp_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let Some(rest) = rest.strip_prefix("//") else {
        return Some(format!("{scheme}:"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    ok.then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample pages covering every branch, rendered for the golden files in
    /// `tests/golden/` (the HTML of the hand-written pages, kept byte for byte).
    pub(crate) fn samples() -> Vec<(&'static str, String)> {
        let params: &[(&str, &str)] = &[
            ("response_type", "code"),
            ("client_id", "c<1>"),
            ("state", "\"><img src=x> & 'q'"),
        ];
        let scopes = ["api.access.odata".to_owned(), "odata.read<x>".to_owned()];
        vec![
            (
                "login_first",
                login(&Login {
                    app_name: "Reports",
                    tenant: None,
                    username: "",
                    error: None,
                    csrf: "csrf1",
                    params,
                }),
            ),
            (
                "login_again",
                login(&Login {
                    app_name: "<Reports & Co>",
                    tenant: Some("acme\"x"),
                    username: "a'b",
                    error: Some("Wrong <password>."),
                    csrf: "t&",
                    params,
                }),
            ),
            (
                "consent_described",
                consent(&Consent {
                    app_name: "Reports",
                    client_host: None,
                    app_description: "Monthly <reports>",
                    scopes: &scopes,
                    resources: &[],
                    user: "alice'o",
                    csrf: "c2",
                    params,
                    device: false,
                }),
            ),
            (
                "consent_plain",
                consent(&Consent {
                    app_name: "R",
                    client_host: None,
                    app_description: "  ",
                    scopes: &[],
                    resources: &[],
                    user: "bob",
                    csrf: "c3",
                    params: &[],
                    device: false,
                }),
            ),
            (
                "error_plain",
                error("Invalid <request>", "It's \"wrong\" & bad.", None),
            ),
            (
                "error_sign_out",
                error(
                    "Another tenant's application",
                    "You are signed in as x.",
                    Some(&SignOut { csrf: "c4", params }),
                ),
            ),
            ("signed_out", signed_out()),
        ]
    }

    /// The golden page `name`, whole: the frame every page shares
    /// (`tests/golden/frame.html`) with the page's own file put in at its two
    /// markers, its first line (the `<title>`) at the one, the rest (its `<main>`
    /// and footer) at the other.
    fn golden(name: &str) -> String {
        let read = |file: &str| {
            let path = format!("{}/tests/golden/{file}.html", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(&path).unwrap()
        };
        let put = |frame: String, marker: &str, part: &str| {
            assert_eq!(frame.matches(marker).count(), 1, "{marker} in frame.html");
            frame.replace(marker, part)
        };
        let own = read(name);
        let (title, rest) = own.split_once('\n').unwrap();
        let frame = put(
            read("frame"),
            "<!-- title: the first line of the page's own file -->",
            title,
        );
        put(
            frame,
            "<!-- page: the rest of the page's own file -->\n",
            rest,
        )
    }

    /// The templates render exactly what the hand-written pages sent (the golden
    /// files were written by the string-building code these templates replace),
    /// byte for byte, frame and all.
    #[test]
    fn templates_reproduce_the_hand_written_pages() {
        for (name, html) in samples() {
            assert_eq!(html, golden(name), "{name}");
        }
    }

    fn header(res: &Response, name: header::HeaderName) -> Option<&str> {
        res.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn the_layer_gives_pages_their_csp_and_every_answer_the_rest() {
        use axum::response::{Html, IntoResponse};
        let mut page = Html("<p>x</p>").into_response();
        page.extensions_mut()
            .insert(FormTarget("https://app.example:8443/cb?x=1".into()));
        let page = page_headers(State(Policy::Sign), page).await;
        assert_eq!(
            header(&page, header::CONTENT_SECURITY_POLICY),
            Some(
                "default-src 'none'; style-src 'self'; img-src 'self'; \
                 form-action 'self' https://app.example:8443; frame-ancestors 'none'; base-uri 'none'"
            )
        );
        assert!(
            page.extensions().get::<FormTarget>().is_none(),
            "read, not kept"
        );
        let bare = page_headers(State(Policy::Bare), Html("x").into_response()).await;
        assert_eq!(
            header(&bare, header::CONTENT_SECURITY_POLICY),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        let mut moved = axum::http::StatusCode::FOUND.into_response();
        moved
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
        let moved = page_headers(State(Policy::Sign), moved).await;
        assert_eq!(header(&moved, header::CONTENT_SECURITY_POLICY), None);
        for res in [&page, &bare, &moved] {
            assert_eq!(header(res, header::CACHE_CONTROL), Some("no-store"));
            assert_eq!(header(res, header::PRAGMA), Some("no-cache"));
            assert_eq!(header(res, header::X_FRAME_OPTIONS), Some("DENY"));
            assert_eq!(header(res, header::REFERRER_POLICY), Some("no-referrer"));
        }
    }

    #[test]
    fn csp_sources_of_redirect_uris() {
        assert_eq!(
            csp_source("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            csp_source("http://127.0.0.1:9/cb").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            csp_source("com.example.app:/cb").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(csp_source("https://a.example;script-src *"), None);
    }

    #[test]
    fn everything_dynamic_is_escaped() {
        let html = login(&Login {
            app_name: "<script>x</script>",
            tenant: Some("\"onfocus=\"x"),
            username: "a'b",
            error: Some("<b>"),
            csrf: "t&",
            params: &[("state", "\"><img src=x>")],
        });
        assert!(!html.contains("<script>x"));
        assert!(!html.contains("\"onfocus"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("a&#39;b"));
        assert!(html.contains("t&amp;"));
    }

    #[test]
    fn the_consent_page_names_scopes_in_words() {
        let html = consent(&Consent {
            app_name: "Reports",
            client_host: None,
            app_description: "Monthly reports",
            scopes: &["api.access.odata".to_owned()],
            resources: &[("Reports <API>", "https://reports.example/api")],
            user: "alice",
            csrf: "t",
            params: &[],
            device: false,
        });
        assert!(html.contains("Allow data access via OData"));
        assert!(html.contains("This access is only for"));
        assert!(html.contains("Reports &lt;API&gt;"), "escaped");
        assert!(html.contains("https://reports.example/api"));
        assert!(html.contains("Monthly reports"));
        assert!(html.contains("value=\"allow\"") && html.contains("value=\"deny\""));
    }

    #[test]
    fn a_metadata_document_clients_host_comes_first_and_its_name_is_only_its_claim() {
        let html = consent(&Consent {
            app_name: "Totally <Official> App",
            client_host: Some("agent.example"),
            app_description: "",
            scopes: &[],
            resources: &[],
            user: "alice",
            csrf: "t",
            params: &[],
            device: false,
        });
        let h1 = html.split("<h1>").nth(1).expect("a heading");
        let h1 = h1.split("</h1>").next().expect("a heading");
        assert!(h1.contains("agent.example"), "{h1}");
        assert!(
            !h1.contains("Official"),
            "the heading names the host only: {h1}"
        );
        assert!(html.contains("It calls itself <strong>Totally &lt;Official&gt; App</strong>"));
    }
}
