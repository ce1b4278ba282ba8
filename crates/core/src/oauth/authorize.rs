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
//! carries between steps is trusted.

use super::token::{allowed_scopes, resolve_scope};
use crate::context::Context;
use crate::crypto::pkce::valid_verifier;
use crate::crypto::Secret;
use crate::limits::oauth_limits;
use crate::model::client_app::{ClientApp, GrantType, RedirectKind, RedirectUrl};
use crate::model::identity::{Tenant, User};
use crate::model::token::AuthCode;
use crate::store::StoreError;

/// The parameters of an authorization request, as sent (query or form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// The first parameter sent more than once (RFC 6749 §3.1 forbids that).
    pub duplicate: Option<String>,
}

impl AuthorizeParams {
    /// The names of the parameters, in the order [`Self::pairs`] yields them.
    pub const NAMES: [&'static str; 7] = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ];

    /// Collects the authorization parameters from decoded pairs, ignoring others
    /// (RFC 6749 §3.1: unknown parameters are ignored). Empty values count as absent,
    /// but a name sent twice is a duplicate even when one of its values is empty.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut p = Self::default();
        let mut seen = [false; Self::NAMES.len()];
        for (k, v) in pairs {
            let name = if k == "clientId" { "client_id" } else { k };
            if let Some(i) = Self::NAMES.iter().position(|n| *n == name) {
                if std::mem::replace(&mut seen[i], true) {
                    p.duplicate.get_or_insert_with(|| name.to_owned());
                    continue;
                }
            }
            let slot = match k {
                "response_type" => &mut p.response_type,
                // HDP's 4.x documentation spells it `clientId`.
                "client_id" | "clientId" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                _ => continue,
            };
            if !v.is_empty() {
                *slot = Some(v.to_owned());
            }
        }
        p
    }

    /// The parameters that are present, for carrying them to the next step.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let values = [
            &self.response_type,
            &self.client_id,
            &self.redirect_uri,
            &self.scope,
            &self.state,
            &self.code_challenge,
            &self.code_challenge_method,
        ];
        Self::NAMES
            .iter()
            .zip(values)
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
            .collect()
    }
}

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
    /// The request as received, to carry through the login and consent forms.
    pub params: AuthorizeParams,
}

impl ValidRequest {
    /// An error redirect for this request.
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
        }
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
/// to the user), then the rest (failures sent to the client).
pub async fn validate(
    ctx: &Context,
    params: AuthorizeParams,
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
    let Some(client_id) = params.client_id.as_deref() else {
        return Err(page(
            "Invalid request",
            "The request does not say which application is asking (client_id is missing).",
        ));
    };
    let Some(app) = ctx.store.client_app_by_client_id(client_id).await? else {
        return Err(page(
            BAD_CLIENT,
            "No application is registered with this client_id. Ask the application's maker to check its settings.",
        ));
    };
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
    let fail = |error: &'static str, description: String| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: state.clone(),
        })
    };
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
    let scopes = resolve_scope(params.scope.as_deref(), &allowed_scopes(&app, &tenant))
        .map_err(|e| fail("invalid_scope", e.description))?;
    Ok(ValidRequest {
        app,
        tenant,
        redirect_uri,
        redirect_uri_sent,
        scopes,
        state,
        code_challenge,
        params,
    })
}

/// Whether `user` may authorize `req`'s application at all: only users of the
/// application's own tenant may (as at the password grant).
pub fn same_tenant(req: &ValidRequest, user: &User) -> bool {
    user.tenant_id == req.app.tenant_id
}

/// Whether a recorded consent of `user` to the application covers every scope asked.
pub async fn consent_covers(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
) -> Result<bool, StoreError> {
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
        .await
}

/// Issues a single-use code for `user`, bound to the client, the redirect URI (when
/// the request named it) and the PKCE challenge, living as long as limit 1004 says.
pub async fn issue_code(
    ctx: &Context,
    req: &ValidRequest,
    user: &User,
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
        })
        .await?;
    tracing::info!(client = %req.app.client_id, user = user.id, "authorization code issued");
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_collected_once_and_duplicates_noticed() {
        let p = AuthorizeParams::from_pairs([
            ("client_id", "c"),
            ("scope", ""),
            ("state", "s1"),
            ("other", "x"),
            ("state", "s2"),
        ]);
        assert_eq!(p.client_id.as_deref(), Some("c"));
        assert_eq!(p.scope, None, "empty is absent");
        assert_eq!(p.state.as_deref(), Some("s1"));
        assert_eq!(p.duplicate.as_deref(), Some("state"));
        assert_eq!(p.pairs(), vec![("client_id", "c"), ("state", "s1")]);
        let hdp = AuthorizeParams::from_pairs([("clientId", "c"), ("clientSecret", "ignored")]);
        assert_eq!(hdp.client_id.as_deref(), Some("c"));
        assert_eq!(hdp.duplicate, None);
        let both = AuthorizeParams::from_pairs([("clientId", "c"), ("client_id", "d")]);
        assert_eq!(both.duplicate.as_deref(), Some("client_id"));
        // An empty first value does not hide the second (RFC 6749 §3.1).
        let sneaky = AuthorizeParams::from_pairs([("redirect_uri", ""), ("redirect_uri", "x")]);
        assert_eq!(sneaky.duplicate.as_deref(), Some("redirect_uri"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(AuthorizeParams::NAMES.to_vec()).prop_map(str::to_owned),
                Just("clientId".to_owned()),
                "[a-z_]{0,12}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// Any list of pairs: a duplicate is reported exactly when a parameter name
            /// (`clientId` counting as `client_id`) occurs twice; otherwise each
            /// parameter holds its one non-empty value, and `pairs` gives them back.
            #[test]
            fn duplicates_are_found_and_single_values_round_trip(
                list in proptest::collection::vec((name(), "[ -~]{0,8}"), 0..12)
            ) {
                let p = AuthorizeParams::from_pairs(list.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let canonical = |k: &str| if k == "clientId" { "client_id".to_owned() } else { k.to_owned() };
                let known: Vec<String> = list
                    .iter()
                    .map(|(k, _)| canonical(k))
                    .filter(|k| AuthorizeParams::NAMES.contains(&k.as_str()))
                    .collect();
                let first_dup = known
                    .iter()
                    .enumerate()
                    .find(|(i, k)| known[..*i].contains(k))
                    .map(|(_, k)| k.clone());
                prop_assert_eq!(p.duplicate.clone(), first_dup.clone());
                if first_dup.is_none() {
                    let expected: Vec<(&str, &str)> = AuthorizeParams::NAMES
                        .iter()
                        .filter_map(|n| {
                            list.iter()
                                .find(|(k, v)| canonical(k) == *n && !v.is_empty())
                                .map(|(_, v)| (*n, v.as_str()))
                        })
                        .collect();
                    prop_assert_eq!(p.pairs(), expected);
                }
            }
        }
    }
}
