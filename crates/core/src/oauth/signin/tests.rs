//! The steps of the sign-in flow, on the memory store with a manual clock.

use super::*;
use crate::clock::Clock;
use crate::model::identity::{NewTenant, NewUser, ROLE_USER};
use crate::model::session::IDLE_LIFETIME;
use crate::oauth::tests::{fixture as token_fixture, Fixture};
use crate::ratelimit::{password_keys, PASSWORD_PER_USER};
use std::net::IpAddr;

/// Ann's password in the token tests' fixture, which these tests share.
const PASSWORD: &str = "Ann-Password-1";
const CALLBACK: &str = "https://app.example/cb";

/// Ann and her confidential application `client-1`.
async fn fixture() -> Fixture {
    token_fixture(false).await
}

fn peer() -> IpAddr {
    IpAddr::from([192, 0, 2, 1])
}

async fn user_in(f: &Fixture, tenant: i64, login: &str) -> User {
    let hash = f.ctx.hasher.hash(PASSWORD).await.expect("hash");
    f.ctx
        .store
        .create_user(NewUser::new(
            tenant,
            login,
            hash,
            vec![ROLE_USER],
            f.clock.now(),
        ))
        .await
        .expect("user")
}

fn params(extra: &[(&str, &str)]) -> AuthorizeParams {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "client-1"),
        ("state", "s-1"),
    ];
    pairs.extend_from_slice(extra);
    AuthorizeParams::from_pairs(pairs)
}

impl Fixture {
    fn attempt(&self) -> Attempt<'_> {
        Attempt {
            limiter: &self.limiter,
            peer: Some(peer()),
        }
    }

    /// The first visit: the login page and the browser with its pre-sign-in cookie.
    async fn login_page(&self) -> (LoginPage, Browser) {
        let Step::Login(page) = request(&self.ctx, params(&[]), &Browser::default()).await else {
            panic!("the login page first");
        };
        let browser = Browser {
            session: None,
            login_binding: page.new_binding.as_ref().map(|b| b.expose().to_owned()),
        };
        (page, browser)
    }

    async fn submit(
        &self,
        browser: &Browser,
        page: &LoginPage,
        login: &str,
        password: &str,
    ) -> Step {
        let form = LoginForm {
            username: Some(login),
            password: Some(password),
            tenant: None,
            csrf_token: Some(&page.csrf),
        };
        super::login(&self.ctx, self.attempt(), params(&[]), browser, form).await
    }

    /// Signs `login` in: the browser with its session cookie.
    async fn signed_in(&self, login: &str) -> Browser {
        let (page, mut browser) = self.login_page().await;
        let step = self.submit(&browser, &page, login, PASSWORD).await;
        let Step::Redirect {
            to: Location::Authorize(path),
            session: SessionCookie::Set(id),
        } = step
        else {
            panic!("signed in: {step:?}");
        };
        assert_eq!(path, authorize_path(&params(&[])));
        browser.session = Some(id.expose().to_owned());
        browser
    }

    /// The consent page for a signed-in browser.
    async fn consent_page(&self, browser: &Browser) -> ConsentPage {
        match request(&self.ctx, params(&[]), browser).await {
            Step::Consent(page) => page,
            other => panic!("the consent page: {other:?}"),
        }
    }
}

/// The parameters of a redirect to the client.
fn to_client(step: Step) -> Vec<(&'static str, String)> {
    match step {
        Step::Redirect {
            to: Location::Client(c),
            session: SessionCookie::Keep,
        } => {
            assert_eq!(c.redirect_uri, CALLBACK);
            c.params
        }
        other => panic!("a redirect to the client: {other:?}"),
    }
}

fn error_page(step: Step) -> ErrorPage {
    match step {
        Step::Error(page) => page,
        other => panic!("an error page: {other:?}"),
    }
}

#[tokio::test]
async fn without_a_session_the_login_page_binds_its_form_to_a_new_cookie() {
    let f = fixture().await;
    let (page, browser) = f.login_page().await;
    let binding = browser
        .login_binding
        .clone()
        .expect("a new pre-sign-in cookie");
    assert!(session::csrf_ok(
        &f.ctx,
        LOGIN_PURPOSE,
        &binding,
        &page.csrf
    ));
    assert_eq!(page.tenant, None, "one tenant: no tenant field");
    assert_eq!((page.username.as_str(), page.error), ("", None));
    assert_eq!(page.req.app.client_id, "client-1");
    // A browser that has the cookie keeps it.
    let Step::Login(again) = request(&f.ctx, params(&[]), &browser).await else {
        panic!("the login page again");
    };
    assert!(again.new_binding.is_none());
    assert_eq!(again.csrf, page.csrf);
}

#[tokio::test]
async fn the_login_page_asks_for_the_tenant_only_when_another_is_active() {
    let f = fixture().await;
    let mut acme = NewTenant::named("acme", f.clock.now());
    acme.active = false;
    f.ctx.store.create_tenant(acme).await.expect("tenant");
    assert_eq!(
        f.login_page().await.0.tenant,
        None,
        "an inactive one is no choice"
    );
    f.ctx
        .store
        .create_tenant(NewTenant::named("beta", f.clock.now()))
        .await
        .expect("tenant");
    let (page, browser) = f.login_page().await;
    assert_eq!(page.tenant.as_deref(), Some("system"), "the application's");
    // Posted again, the page keeps the tenant typed.
    let form = LoginForm {
        username: Some(" ann "),
        password: Some("wrong"),
        tenant: Some(" beta "),
        csrf_token: Some(&page.csrf),
    };
    let Step::Login(again) = login(&f.ctx, f.attempt(), params(&[]), &browser, form).await else {
        panic!("the login page again");
    };
    assert_eq!(again.tenant.as_deref(), Some("beta"));
    assert_eq!(again.username, "ann");
    assert_eq!(again.error, Some(SignInFailure::Rejected.message()));
}

#[tokio::test]
async fn a_login_form_without_its_token_has_expired() {
    let f = fixture().await;
    let (page, browser) = f.login_page().await;
    let other = Browser {
        session: None,
        login_binding: Some("another-cookie".into()),
    };
    for b in [&other, &Browser::default()] {
        let e = error_page(f.submit(b, &page, "ann", PASSWORD).await);
        assert_eq!(
            (e.refusal, e.title.as_str()),
            (Refusal::Forbidden, "This form has expired")
        );
        assert!(
            e.message.contains(&authorize_path(&params(&[]))),
            "{}",
            e.message
        );
    }
    let forged = LoginPage {
        csrf: "forged".into(),
        ..page
    };
    let e = error_page(f.submit(&browser, &forged, "ann", PASSWORD).await);
    assert_eq!(e.refusal, Refusal::Forbidden);
}

#[tokio::test]
async fn failed_sign_ins_show_the_login_page_again_saying_why() {
    let f = fixture().await;
    let (page, browser) = f.login_page().await;
    let Step::Login(empty) = f.submit(&browser, &page, "ann", "").await else {
        panic!("the login page again");
    };
    assert_eq!(empty.error, Some("Enter your user name and password."));
    let Step::Login(wrong) = f.submit(&browser, &page, "ann", "wrong").await else {
        panic!("the login page again");
    };
    assert_eq!(wrong.error, Some(SignInFailure::Rejected.message()));
    assert_eq!((wrong.username.as_str(), wrong.retry_after), ("ann", None));
    // Too many failures from the address: 429 with the seconds to wait.
    for _ in 0..PASSWORD_PER_USER {
        f.limiter
            .record_failure(&password_keys(Some(peer()), "ann@system"), f.clock.now());
    }
    let Step::Login(busy) = f.submit(&browser, &page, "ann", PASSWORD).await else {
        panic!("the login page again");
    };
    assert_eq!(busy.error, Some(SignInFailure::TooMany(1).message()));
    assert!(busy.retry_after.is_some_and(|s| s > 0));
}

#[tokio::test]
async fn signed_in_the_user_is_asked_and_allowing_sends_a_code() {
    let f = fixture().await;
    let browser = f.signed_in("ann").await;
    let page = f.consent_page(&browser).await;
    assert_eq!(page.user, "ann");
    assert_eq!(page.req.scopes, vec!["api.access.odata".to_owned()]);
    fn allow(csrf: &str) -> ConsentForm<'_> {
        ConsentForm {
            decision: Some("allow"),
            csrf_token: Some(csrf),
        }
    }
    // The token is the session's: another session's page cannot be replayed.
    let e = error_page(consent(&f.ctx, params(&[]), &browser, allow("forged")).await);
    assert_eq!(e.refusal, Refusal::Forbidden);
    let sent = to_client(consent(&f.ctx, params(&[]), &browser, allow(&page.csrf)).await);
    let names: Vec<&str> = sent.iter().map(|(k, _)| *k).collect();
    assert_eq!(names, ["code", "state", "iss"]);
    assert_eq!(sent[1].1, "s-1");
    assert_eq!(sent[2].1, f.ctx.signer.issuer());
    let code = f.ctx.keys.verifier(&sent[0].1);
    let take = f
        .ctx
        .store
        .take_auth_code(&code, f.clock.now())
        .await
        .expect("take");
    assert!(
        matches!(take, crate::model::token::CodeTake::Taken(ref c) if c.user_id == f.user.id),
        "{take:?}"
    );
}

#[tokio::test]
async fn consent_already_covering_the_request_redirects_with_a_code() {
    let f = fixture().await;
    let browser = f.signed_in("ann").await;
    let page = f.consent_page(&browser).await;
    authorize::record_consent(&f.ctx, &page.req, &f.user)
        .await
        .expect("consent");
    let sent = to_client(request(&f.ctx, params(&[]), &browser).await);
    assert_eq!(sent[0].0, "code");
}

#[tokio::test]
async fn denying_sends_access_denied_to_the_client() {
    let f = fixture().await;
    let browser = f.signed_in("ann").await;
    let page = f.consent_page(&browser).await;
    let deny = ConsentForm {
        decision: Some("deny"),
        csrf_token: Some(&page.csrf),
    };
    let sent = to_client(consent(&f.ctx, params(&[]), &browser, deny).await);
    assert_eq!(sent[0], ("error", "access_denied".to_owned()));
    assert_eq!(
        sent[1],
        ("error_description", "User denied OAuth access".to_owned())
    );
    let neither = ConsentForm {
        decision: Some("maybe"),
        csrf_token: Some(&page.csrf),
    };
    let e = error_page(consent(&f.ctx, params(&[]), &browser, neither).await);
    assert_eq!(e.refusal, Refusal::Invalid);
    assert!(f
        .ctx
        .store
        .consents_of_user(f.user.id)
        .await
        .expect("consents")
        .is_empty());
}

#[tokio::test]
async fn signed_in_to_another_tenant_offers_to_sign_in_as_someone_else() {
    let f = fixture().await;
    let acme = f
        .ctx
        .store
        .create_tenant(NewTenant::named("acme", f.clock.now()))
        .await
        .expect("tenant");
    user_in(&f, acme.id, "bob").await;
    // Bob signs in at the system application's page, naming his tenant.
    let (page, browser) = f.login_page().await;
    let form = LoginForm {
        username: Some("bob"),
        password: Some(PASSWORD),
        tenant: Some("acme"),
        csrf_token: Some(&page.csrf),
    };
    let Step::Redirect {
        session: SessionCookie::Set(id),
        ..
    } = login(&f.ctx, f.attempt(), params(&[]), &browser, form).await
    else {
        panic!("signed in");
    };
    let bob = Browser {
        session: Some(id.expose().to_owned()),
        ..browser
    };
    let e = error_page(request(&f.ctx, params(&[]), &bob).await);
    assert_eq!(e.refusal, Refusal::Forbidden);
    assert_eq!(e.title, "Another tenant's application");
    assert!(
        e.message.contains("signed in as bob") && e.message.contains("belongs to tenant system")
    );
    assert_eq!(e.form_target.as_deref(), Some(CALLBACK));
    let sign_out = e.sign_out.expect("a sign-out form");
    assert_eq!(sign_out.request, params(&[]));
    // Its token signs out, and back to the request.
    let step = logout(&f.ctx, sign_out.request, &bob, Some(&sign_out.csrf)).await;
    let Step::Redirect {
        to: Location::Authorize(path),
        session: SessionCookie::Clear,
    } = step
    else {
        panic!("back to the request: {step:?}");
    };
    assert_eq!(path, authorize_path(&params(&[])));
    assert!(
        matches!(request(&f.ctx, params(&[]), &bob).await, Step::Login(_)),
        "ended"
    );
    // The consent form is refused the same way.
    let bob = f.signed_in_as(acme.id).await;
    let csrf = session::csrf_token(&f.ctx, SESSION_PURPOSE, bob.session.as_deref().expect("id"));
    let form = ConsentForm {
        decision: Some("allow"),
        csrf_token: Some(&csrf),
    };
    let e = error_page(consent(&f.ctx, params(&[]), &bob, form).await);
    assert_eq!(e.title, "Another tenant's application");
}

impl Fixture {
    /// A browser with a session of bob (of `tenant`), started directly.
    async fn signed_in_as(&self, tenant: i64) -> Browser {
        let bob = self
            .ctx
            .store
            .user_by_login(tenant, "bob")
            .await
            .expect("get")
            .expect("bob");
        let id = session::start(&self.ctx, &bob).await.expect("session");
        Browser {
            session: Some(id.expose().to_owned()),
            login_binding: None,
        }
    }
}

#[tokio::test]
async fn without_a_session_the_consent_form_goes_back_to_the_request() {
    let f = fixture().await;
    let mut browser = f.signed_in("ann").await;
    let page = f.consent_page(&browser).await;
    f.clock.advance(IDLE_LIFETIME);
    let form = ConsentForm {
        decision: Some("allow"),
        csrf_token: Some(&page.csrf),
    };
    let step = consent(&f.ctx, params(&[]), &browser, form).await;
    assert!(
        matches!(
            step,
            Step::Redirect {
                to: Location::Authorize(_),
                session: SessionCookie::Keep
            }
        ),
        "{step:?}"
    );
    browser.session = None;
    let step = consent(&f.ctx, params(&[]), &browser, form).await;
    assert!(matches!(step, Step::Redirect { .. }), "{step:?}");
}

#[tokio::test]
async fn signing_out_needs_the_sessions_token_and_ends_it() {
    let f = fixture().await;
    let browser = f.signed_in("ann").await;
    let id = browser.session.clone().expect("id");
    let e = error_page(logout(&f.ctx, params(&[]), &browser, Some("forged")).await);
    assert_eq!(e.refusal, Refusal::Forbidden);
    assert!(
        matches!(
            request(&f.ctx, params(&[]), &browser).await,
            Step::Consent(_)
        ),
        "still signed in"
    );
    let csrf = session::csrf_token(&f.ctx, SESSION_PURPOSE, &id);
    let none = AuthorizeParams::default();
    assert!(matches!(
        logout(&f.ctx, none.clone(), &browser, Some(&csrf)).await,
        Step::SignedOut
    ));
    assert!(
        matches!(request(&f.ctx, params(&[]), &browser).await, Step::Login(_)),
        "the session ended"
    );
    // Without a session there is nothing to check: signed out again.
    assert!(matches!(
        logout(&f.ctx, none, &Browser::default(), None).await,
        Step::SignedOut
    ));
}

#[tokio::test]
async fn invalid_requests_are_shown_or_sent_back_as_validate_says() {
    let f = fixture().await;
    let unknown = AuthorizeParams::from_pairs([("response_type", "code"), ("client_id", "nope")]);
    let e = error_page(request(&f.ctx, unknown, &Browser::default()).await);
    assert_eq!(
        (e.refusal, e.title.as_str()),
        (Refusal::Invalid, "Unknown application")
    );
    let no_type = AuthorizeParams::from_pairs([("client_id", "client-1"), ("state", "s-1")]);
    let sent = to_client(request(&f.ctx, no_type, &Browser::default()).await);
    let names: Vec<&str> = sent.iter().map(|(k, _)| *k).collect();
    assert_eq!(names, ["error", "error_description", "state", "iss"]);
    assert_eq!(sent[0].1, "invalid_request");
}

/// The `error` of a redirect to the client.
fn error_sent(step: Step) -> String {
    let sent = to_client(step);
    assert!(
        sent.iter().any(|(k, v)| *k == "state" && v == "s-1"),
        "{sent:?}"
    );
    sent.into_iter()
        .find(|(k, _)| *k == "error")
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("an error"))
}

#[tokio::test]
async fn prompt_none_answers_with_an_error_where_a_page_would_be() {
    let f = fixture().await;
    let none = [("scope", "openid"), ("prompt", "none")];
    let step = request(&f.ctx, params(&none), &Browser::default()).await;
    assert_eq!(error_sent(step), "login_required");
    let browser = f.signed_in("ann").await;
    let step = request(&f.ctx, params(&none), &browser).await;
    assert_eq!(error_sent(step), "consent_required");
    let page = match request(&f.ctx, params(&[("scope", "openid")]), &browser).await {
        Step::Consent(page) => page,
        other => panic!("the consent page: {other:?}"),
    };
    authorize::record_consent(&f.ctx, &page.req, &f.user)
        .await
        .expect("consent");
    let sent = to_client(request(&f.ctx, params(&none), &browser).await);
    assert_eq!(sent[0].0, "code");
    // prompt=consent asks again; prompt=none with anything else is a bad request.
    let step = request(
        &f.ctx,
        params(&[("scope", "openid"), ("prompt", "consent")]),
        &browser,
    )
    .await;
    assert!(matches!(step, Step::Consent(_)), "{step:?}");
    let step = request(&f.ctx, params(&[("prompt", "none consent")]), &browser).await;
    assert_eq!(error_sent(step), "invalid_request");
}

#[tokio::test]
async fn max_age_asks_for_a_fresh_sign_in_and_the_request_then_forgets_it() {
    let f = fixture().await;
    let browser = f.signed_in("ann").await;
    f.clock.advance(100);
    let asked = [
        ("scope", "openid"),
        ("max_age", "60"),
        ("prompt", "login consent"),
        ("login_hint", "ann"),
    ];
    let Step::Login(page) = request(&f.ctx, params(&asked), &browser).await else {
        panic!("the login page");
    };
    assert_eq!(page.username, "ann", "login_hint fills in the name");
    let form = LoginForm {
        username: Some("ann"),
        password: Some(PASSWORD),
        tenant: None,
        csrf_token: Some(&page.csrf),
    };
    let step = login(&f.ctx, f.attempt(), params(&asked), &browser, form).await;
    let Step::Redirect {
        to: Location::Authorize(path),
        session: SessionCookie::Set(_),
    } = step
    else {
        panic!("signed in: {step:?}");
    };
    let expected = params(&[
        ("scope", "openid"),
        ("prompt", "consent"),
        ("login_hint", "ann"),
    ]);
    assert_eq!(
        path,
        authorize_path(&expected),
        "no max_age, no prompt=login"
    );
}

#[tokio::test]
async fn the_code_remembers_the_sign_in_for_the_id_token() {
    let f = fixture().await;
    let signed_in_at = f.clock.now();
    let browser = f.signed_in("ann").await;
    f.clock.advance(5);
    let asked = [("scope", "openid email"), ("nonce", "n-1")];
    let Step::Consent(page) = request(&f.ctx, params(&asked), &browser).await else {
        panic!("the consent page");
    };
    let form = ConsentForm {
        decision: Some("allow"),
        csrf_token: Some(&page.csrf),
    };
    let sent = to_client(consent(&f.ctx, params(&asked), &browser, form).await);
    let code = f.ctx.keys.verifier(&sent[0].1);
    let Ok(crate::model::token::CodeTake::Taken(c)) =
        f.ctx.store.take_auth_code(&code, f.clock.now()).await
    else {
        panic!("the code");
    };
    assert_eq!(c.scopes, vec!["openid".to_owned(), "email".to_owned()]);
    let session_id = browser.session.as_deref().expect("session");
    assert_eq!(
        c.sign_in,
        SignInContext {
            auth_time: Some(signed_in_at),
            nonce: Some("n-1".into()),
            sid: Some(session::sid(&f.ctx, session_id)),
            claims: None,
        }
    );
}

#[test]
fn client_redirects_do_not_print_their_values() {
    let c = ClientRedirect {
        redirect_uri: CALLBACK.into(),
        params: vec![("code", "secret-code".into())],
        mode: crate::oauth::params::ResponseMode::Query,
    };
    let shown = format!("{c:?}");
    assert!(
        shown.contains("code") && !shown.contains("secret-code"),
        "{shown}"
    );
    assert_eq!(c.pairs(), vec![("code", "secret-code")]);
}

/// A device request (RFC 8628) rides the same steps: after the verification page's
/// check, consent is asked even when given before, Allow ends on the device page
/// instead of a redirect, and the decided request cannot be continued again.
#[tokio::test]
async fn a_device_request_always_asks_consent_and_ends_on_the_device_page() {
    use crate::oauth::client_auth::{AuthenticatedClient, Method};
    use crate::oauth::device;
    let f = fixture().await;
    let app = f
        .ctx
        .store
        .client_app_by_client_id("client-1")
        .await
        .expect("store")
        .expect("app");
    let client = AuthenticatedClient {
        app: app.clone(),
        method: Method::Basic,
    };
    let started = device::start(&f.ctx, &client, None, &[])
        .await
        .expect("started");
    let params = device::enter(&f.ctx, &f.limiter, Some(peer()), &started.user_code)
        .await
        .expect("accepted");
    let browser = f.signed_in("ann").await;
    let consent_page = match request(&f.ctx, params.clone(), &browser).await {
        Step::Consent(page) => page,
        other => panic!("the consent page: {other:?}"),
    };
    assert!(consent_page.req.device.is_some());
    assert!(consent_page.req.redirect_uri.is_empty());
    // Allowed before: still asked (RFC 8628 §5.4).
    f.ctx
        .store
        .grant_consent(f.user.id, app.id, &consent_page.req.scopes, f.clock.now())
        .await
        .expect("consent");
    assert!(matches!(
        request(&f.ctx, params.clone(), &browser).await,
        Step::Consent(_)
    ));
    let form = ConsentForm {
        decision: Some("allow"),
        csrf_token: Some(&consent_page.csrf),
    };
    let step = consent(&f.ctx, params.clone(), &browser, form).await;
    let Step::Device(outcome) = step else {
        panic!("the device page: {step:?}")
    };
    assert!(outcome.approved);
    // Decided: the request cannot be continued again.
    assert!(matches!(
        request(&f.ctx, params, &browser).await,
        Step::Error(_)
    ));
}
