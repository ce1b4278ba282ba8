//! RP-Initiated Logout 1.0: the end-session endpoint, where a client sends the user to
//! sign out of this server, then back to one of its registered
//! `postLogoutRedirectUris` with its `state`.
//!
//! * `id_token_hint` must be an ID token this server issued (signature, issuer; it may
//!   have expired), to `client_id` when both are sent.
//! * `post_logout_redirect_uri` must be registered, exactly, by the client the hint
//!   or `client_id` names; otherwise the user is told and nothing is redirected (§3:
//!   an unchecked redirect here would be an open redirector).
//! * The session ends at once when the hint belongs to the browser's current session
//!   (its `sid`); otherwise the user is asked to confirm (§2: the OP MUST ask when no
//!   hint, or another session's, was given), with a form bound to the session.
//! * Without a session there is nothing to end: the user goes straight on.

use super::id_token::read_hint;
use super::params::{collect_once, present, ResponseMode};
use super::signin::{Browser, SESSION_PURPOSE};
use super::step::{
    unavailable, ClientRedirect, ConfirmPage, ErrorPage, Location, Refusal, SessionCookie, Step,
};
use crate::context::Context;
use crate::model::client_app::RedirectUrl;
use crate::session;

/// The end-session request's parameters (§2), as sent by GET or POST.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub logout_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// The first parameter sent more than once.
    pub duplicate: Option<String>,
}

impl EndSessionParams {
    pub const NAMES: [&'static str; 6] = [
        "id_token_hint",
        "client_id",
        "post_logout_redirect_uri",
        "state",
        "logout_hint",
        "ui_locales",
    ];

    /// Collects the parameters from decoded pairs ([`collect_once`]: others ignored,
    /// empty is absent, the first one sent twice noted).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let (values, duplicate) = collect_once(&Self::NAMES, pairs);
        let [id_token_hint, client_id, post_logout_redirect_uri, state, logout_hint, ui_locales] =
            values;
        Self {
            id_token_hint,
            client_id,
            post_logout_redirect_uri,
            state,
            logout_hint,
            ui_locales,
            duplicate,
        }
    }

    /// The parameters that are present, to carry through the confirmation form.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        present(
            &Self::NAMES,
            [
                &self.id_token_hint,
                &self.client_id,
                &self.post_logout_redirect_uri,
                &self.state,
                &self.logout_hint,
                &self.ui_locales,
            ],
        )
    }
}

fn refuse(title: &str, message: impl Into<String>) -> Step {
    Step::Error(ErrorPage {
        refusal: Refusal::Invalid,
        title: title.to_owned(),
        message: message.into(),
        sign_out: None,
        form_target: None,
    })
}

/// A request to the end-session endpoint. `confirmed` carries the confirmation form's
/// CSRF token when the user pressed "Sign out" on [`Step::ConfirmSignOut`].
pub async fn end_session(
    ctx: &Context,
    params: EndSessionParams,
    browser: &Browser,
    confirmed: Option<&str>,
) -> Step {
    if let Some(name) = &params.duplicate {
        return refuse(
            "Invalid request",
            format!("The parameter {name} was sent more than once."),
        );
    }
    let hint = match params.id_token_hint.as_deref() {
        None => None,
        Some(h) => match read_hint(ctx, params.client_id.as_deref(), h) {
            Some(claims) => Some(claims),
            None => {
                return refuse(
                    "Invalid sign-out request",
                    "The id_token_hint is not an ID token this server issued to this application, so the sign-out cannot be trusted. Sign out from this server's pages instead.",
                )
            }
        },
    };
    let client_id = params.client_id.clone().or_else(|| {
        hint.as_ref()
            .and_then(|c| c.get("aud"))
            .and_then(|a| a.as_str())
            .map(str::to_owned)
    });
    let app = match client_id.as_deref() {
        None => None,
        Some(id) => match ctx.store.client_app_by_client_id(id).await {
            Ok(Some(app)) => Some(app),
            Ok(None) => {
                return refuse(
                    "Unknown application",
                    "No application is registered with this client_id.",
                )
            }
            Err(e) => return unavailable(e),
        },
    };
    let back = match params.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => match &app {
            None => {
                return refuse(
                    "Invalid sign-out request",
                    "post_logout_redirect_uri was sent without id_token_hint or client_id, so it cannot be checked against an application.",
                )
            }
            // Registered, exactly, and still a redirect target under today's rules (as
            // the authorization endpoint checks its redirect URIs at every request).
            Some(app)
                if !app.post_logout_redirect_uris.iter().any(|r| r == uri)
                    || !RedirectUrl::is_target(uri, ctx.redirects) =>
            {
                return refuse(
                    "Invalid sign-out request",
                    format!(
                        "The address to return to after signing out is not one registered for {}, so you are not sent there.",
                        app.name
                    ),
                )
            }
            Some(_) => Some(uri.to_owned()),
        },
    };
    if let Some(id) = browser.session.as_deref() {
        let ours = hint
            .as_ref()
            .and_then(|c| c.get("sid"))
            .and_then(|s| s.as_str())
            .is_some_and(|sid| *sid == session::sid(ctx, id));
        let confirmed_here =
            confirmed.is_some_and(|t| session::csrf_ok(ctx, SESSION_PURPOSE, id, t));
        if confirmed.is_some() && !confirmed_here {
            return bad_form_for_logout();
        }
        if !ours && !confirmed_here {
            match session::resume(ctx, id).await {
                Ok(Some(_)) => {
                    return Step::ConfirmSignOut(ConfirmPage {
                        app_name: app.map(|a| a.name),
                        csrf: session::csrf_token(ctx, SESSION_PURPOSE, id),
                        params: params
                            .pairs()
                            .into_iter()
                            .map(|(k, v)| (k, v.to_owned()))
                            .collect(),
                    })
                }
                Ok(None) => {}
                Err(e) => return unavailable(e),
            }
        }
        if let Err(e) = session::end(ctx, id).await {
            return unavailable(e);
        }
        tracing::info!(
            client = client_id.as_deref().unwrap_or("-"),
            "browser session ended by the end-session endpoint"
        );
    }
    match back {
        Some(redirect_uri) => Step::Redirect {
            to: Location::Client(ClientRedirect {
                redirect_uri,
                params: params.state.map(|s| vec![("state", s)]).unwrap_or_default(),
                mode: ResponseMode::Query,
            }),
            session: SessionCookie::Clear,
        },
        None => Step::SignedOut,
    }
}

/// The confirmation form came back with a token that does not match the session.
fn bad_form_for_logout() -> Step {
    Step::Error(ErrorPage {
        refusal: Refusal::Forbidden,
        title: "This form has expired".to_owned(),
        message: "The sign-out form was not sent by this page or has expired (its security token did not match). Sign out again from the application.".to_owned(),
        sign_out: None,
        form_target: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_collected_once_and_carried_back() {
        let p = EndSessionParams::from_pairs([
            ("state", "s1"),
            ("client_id", ""),
            ("other", "x"),
            ("post_logout_redirect_uri", "https://a.example/bye"),
        ]);
        assert_eq!(p.state.as_deref(), Some("s1"));
        assert_eq!(p.client_id, None, "empty is absent");
        assert_eq!(p.duplicate, None);
        assert_eq!(
            p.pairs(),
            vec![
                ("post_logout_redirect_uri", "https://a.example/bye"),
                ("state", "s1")
            ]
        );
        let twice = EndSessionParams::from_pairs([("state", ""), ("state", "s2")]);
        assert_eq!(twice.duplicate.as_deref(), Some("state"));
    }
}
