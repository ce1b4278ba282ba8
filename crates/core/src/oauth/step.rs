//! What the browser sees next in the sign-in flows ([`super::signin`] and
//! [`super::end_session`]): a page to render or a redirect with what to do to the
//! session cookie. The server renders these; it decides nothing itself.

use super::authorize::ValidRequest;
use super::params::{AuthorizeParams, ResponseMode};
use crate::crypto::Secret;
use std::fmt;

/// What the browser sees next.
#[derive(Debug)]
pub enum Step {
    /// The login page.
    Login(LoginPage),
    /// The consent page: the signed-in user is asked to allow the application.
    Consent(ConsentPage),
    /// Send the browser on.
    Redirect {
        to: Location,
        session: SessionCookie,
    },
    /// The page after signing out with nothing to go back to; the session cookie is
    /// cleared.
    SignedOut,
    /// The end-session endpoint asks the user to confirm signing out
    /// ([`super::end_session`]).
    ConfirmSignOut(ConfirmPage),
    /// A page saying why the flow stops here.
    Error(ErrorPage),
    /// The end of a device request's sign-in (RFC 8628): the user may go back to
    /// their device.
    Device(DeviceOutcome),
}

/// How a device request's sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOutcome {
    /// Whether the user allowed the device.
    pub approved: bool,
    /// The application's name.
    pub app_name: String,
}

/// What the login page shows.
#[derive(Debug)]
pub struct LoginPage {
    /// The request the page continues.
    pub req: ValidRequest,
    /// `Some(prefill)` when the page asks for the tenant (another one is active).
    pub tenant: Option<String>,
    /// The user name typed last time (never the password).
    pub username: String,
    /// What was wrong with the last attempt, in words for the page.
    pub error: Option<&'static str>,
    /// Too many failed sign-ins from the address: retry after these seconds (429).
    pub retry_after: Option<u64>,
    pub csrf: String,
    /// The browser sent no pre-sign-in cookie: set it to this (the CSRF token is
    /// bound to it).
    pub new_binding: Option<Secret>,
}

/// What the consent page shows.
#[derive(Debug)]
pub struct ConsentPage {
    pub req: ValidRequest,
    /// The signed-in user's login name.
    pub user: String,
    pub csrf: String,
}

/// Where a [`Step::Redirect`] goes.
#[derive(Debug)]
pub enum Location {
    /// Back to the authorization endpoint with the request ([`authorize_path`]):
    /// 303 See Other, after a form.
    Authorize(String),
    /// To the client (RFC 6749 §4.1.2, §4.1.2.1): 302 Found.
    Client(ClientRedirect),
}

/// The client's redirect URI and the parameters to add to its query: a code or an
/// error, the `state`, and the issuer as `iss` (RFC 9207 §2, so a client talking to
/// several servers can tell which one answered).
pub struct ClientRedirect {
    pub redirect_uri: String,
    pub params: Vec<(&'static str, String)>,
    /// How the parameters travel: query, fragment or an auto-submitting form.
    pub mode: ResponseMode,
}

impl ClientRedirect {
    /// The parameters as pairs of strings.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.params.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

impl fmt::Debug for ClientRedirect {
    /// The parameter names only: a code is a credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(k, _)| *k).collect();
        f.debug_struct("ClientRedirect")
            .field("redirect_uri", &self.redirect_uri)
            .field("params", &names)
            .field("mode", &self.mode)
            .finish()
    }
}

/// What a redirect does to the session cookie.
#[derive(Debug)]
pub enum SessionCookie {
    Keep,
    /// A session started: its id.
    Set(Secret),
    /// Signed out.
    Clear,
}

/// Why the flow stops at an [`ErrorPage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request or form is invalid (400).
    Invalid,
    /// Not allowed: a form without its CSRF token, or another tenant's user (403).
    Forbidden,
    /// The database failed (503; the cause is logged, not shown).
    Unavailable,
}

/// An error page: what went wrong, in words, and what to do.
#[derive(Debug)]
pub struct ErrorPage {
    pub refusal: Refusal,
    pub title: String,
    pub message: String,
    /// A form to sign out and start again (someone is signed in).
    pub sign_out: Option<SignOutForm>,
    /// The client's redirect URI, when the page belongs to its request.
    pub form_target: Option<String>,
}

/// The sign-out form of an error page.
#[derive(Debug)]
pub struct SignOutForm {
    pub csrf: String,
    /// The request to go back to after signing out.
    pub request: AuthorizeParams,
}

impl ErrorPage {
    pub fn new(refusal: Refusal, title: &str, message: impl Into<String>) -> Self {
        Self {
            refusal,
            title: title.to_owned(),
            message: message.into(),
            sign_out: None,
            form_target: None,
        }
    }
}

/// What the end-session endpoint's confirmation page shows.
#[derive(Debug)]
pub struct ConfirmPage {
    /// The application that sent the user here, if it is known.
    pub app_name: Option<String>,
    pub csrf: String,
    /// The request's parameters, to send again with the confirmation.
    pub params: Vec<(&'static str, String)>,
}

/// The database failed: logged here, a plain page for the user.
pub fn unavailable(detail: impl fmt::Display) -> Step {
    tracing::error!(error = %detail, "store failure at the authorization endpoint");
    Step::Error(ErrorPage::new(
        Refusal::Unavailable,
        "Temporarily unavailable",
        "The service cannot complete this right now. Please try again shortly.",
    ))
}
