//! Pushed authorization requests (RFC 9126, issue 14) over plain HTTP, the browser
//! played by hand as in `authorize.rs`: the push with client authentication and the
//! authorization endpoint's own checks, the `request_uri` that replaces the query's
//! parameters once, within its lifetime and for its own client, the parameters carried
//! through the login and consent forms, the server-wide requirement to push, and the
//! metadata.

use crate::authorize::{
    assert_error_redirect, assert_page, authorize_path, code_of, create_alice, decide, exchange,
    query_of, register, to_consent, Browser, Client, CALLBACK, VERIFIER,
};
use crate::helpers::{backends, fresh_database, spawn_app, spawn_with, test_config, Backend};
use crate::helpers::{Reply, TestApp};
use serde_json::{json, Value};

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Pushes `client`'s authorization request (PKCE, `state`, the callback and `extra`)
/// authenticating with HTTP Basic, or for a public client with its `client_id` alone.
async fn push(app: &TestApp, client: &Client, extra: &[(&str, &str)]) -> Reply {
    let fields = query_of(&authorize_path(client, extra));
    let req = app.http.post(app.url("/oauth2/par"));
    let req = match &client.secret {
        Some(secret) => req.basic_auth(&client.client_id, Some(secret)),
        None => req,
    };
    app.send(req.form(&fields)).await
}

/// A successful push's `request_uri`.
#[track_caller]
fn request_uri(r: &Reply) -> String {
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["expires_in"], 60);
    let uri = body["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    let random = uri.strip_prefix(PREFIX).expect("the RFC 9126 urn");
    assert_eq!(random.len(), 43, "256 random bits");
    uri
}

/// `/oauth2/authorize?client_id=…&request_uri=…` and `extra` query parameters.
fn by_reference(client: &Client, uri: &str, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client.client_id)
        .append_pair("request_uri", uri);
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/oauth2/authorize?{}", q.finish())
}

async fn metadata(app: &TestApp, path: &str) -> Value {
    let r = app.send(app.http.get(app.url(path))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn a_pushed_request_runs_the_whole_flow_and_wins_over_the_query(b: Backend) {
    let app = spawn_app(b).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let m = metadata(&app, path).await;
        assert_eq!(
            m["pushed_authorization_request_endpoint"],
            app.url("/oauth2/par")
        );
        assert_eq!(m["require_pushed_authorization_requests"], false);
    }
    let openid = metadata(&app, "/.well-known/openid-configuration").await;
    assert_eq!(openid["request_uri_parameter_supported"], false);

    create_alice(&app).await;
    let client = register(&app, &[CALLBACK, "https://app.example/other"], json!({})).await;
    let uri = request_uri(&push(&app, &client, &[("scope", "odata")]).await);
    // Everything but client_id in the query is ignored (RFC 9126 §4).
    let path = by_reference(
        &client,
        &uri,
        &[
            ("redirect_uri", "https://app.example/other"),
            ("state", "forged"),
            ("scope", "openid"),
            ("response_type", "token"),
        ],
    );
    let mut browser = Browser::new(&app);
    let consent = to_consent(&mut browser, &path).await;
    assert!(consent.text.contains("Allow data access via OData"));
    assert!(
        !consent.text.contains("request_uri"),
        "the spent urn is not carried"
    );
    let code = code_of(&decide(&mut browser, &consent, "allow").await);
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["scope"], "api.access.odata");
    assert!(
        r.json().get("id_token").is_none(),
        "openid came from the query"
    );

    // A public client pushes with its client_id alone; it must still use PKCE.
    let public = register(&app, &[CALLBACK], json!({"public": true})).await;
    let uri = request_uri(&push(&app, &public, &[]).await);
    let r = browser.get(&by_reference(&public, &uri, &[])).await;
    assert!(assert_page(&r, 200).contains("wants access"), "{}", r.text);
}

async fn request_uris_are_single_use_short_lived_and_bound_to_their_client(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let other = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let refused = "request_uri is unknown, has expired, was already used";

    let uri = request_uri(&push(&app, &client, &[]).await);
    // Another client cannot take it, and its attempt does not spend it.
    let r = browser.get(&by_reference(&other, &uri, &[])).await;
    assert!(assert_page(&r, 400).contains(refused), "{}", r.text);
    let path = by_reference(&client, &uri, &[]);
    let page = browser.get(&path).await;
    assert!(assert_page(&page, 200).contains("Sign in"));
    // Spent: a replay (a reload of the first URL) is refused.
    let r = browser.get(&path).await;
    assert!(assert_page(&r, 400).contains(refused), "{}", r.text);

    // Alive for 60 seconds, not longer.
    let uri = request_uri(&push(&app, &client, &[]).await);
    app.clock.advance(61);
    let r = browser.get(&by_reference(&client, &uri, &[])).await;
    assert!(assert_page(&r, 400).contains(refused), "{}", r.text);
    let uri = request_uri(&push(&app, &client, &[]).await);
    app.clock.advance(59);
    let r = browser.get(&by_reference(&client, &uri, &[])).await;
    assert!(assert_page(&r, 200).contains("Sign in"));

    // Made up, or without its client: refused with a page.
    let r = browser
        .get(&by_reference(&client, &format!("{PREFIX}made-up"), &[]))
        .await;
    assert!(assert_page(&r, 400).contains(refused));
    let r = browser
        .get(&format!("/oauth2/authorize?request_uri={PREFIX}x"))
        .await;
    assert!(assert_page(&r, 400).contains("client_id is missing"));
    // Any other request_uri is a request object by reference: not supported.
    let r = browser
        .get(&authorize_path(
            &client,
            &[("request_uri", "https://app.example/request.jwt")],
        ))
        .await;
    assert_error_redirect(&r, "request_uri_not_supported");
    // A forged proof of a push counts for nothing, and the pushed flow does not leak it.
    let r = browser
        .get(&authorize_path(&client, &[("pushed_request", "v1.forged")]))
        .await;
    assert!(assert_page(&r, 200).contains("Sign in"));
}

async fn pushes_are_authenticated_and_checked_before_they_are_stored(b: Backend) {
    let app = spawn_app(b).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let par = app.url("/oauth2/par");
    let fields = query_of(&authorize_path(&client, &[]));

    // Without client authentication, with a wrong secret: 401 invalid_client.
    let mut anonymous = fields.clone();
    anonymous.remove("client_id");
    let r = app.send(app.http.post(&par).form(&anonymous)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");
    let r = app
        .send(
            app.http
                .post(&par)
                .basic_auth(&client.client_id, Some("wrong"))
                .form(&fields),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_client");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Portcullis\"")
    );
    let r = app.send(app.http.post(&par).form(&fields)).await;
    assert_eq!(
        r.status, 401,
        "a confidential client's id alone: {}",
        r.text
    );

    // client_secret_post works as at the token endpoint.
    let mut post = fields.clone();
    post.insert(
        "client_secret".into(),
        client.secret.clone().expect("secret"),
    );
    request_uri(&app.send(app.http.post(&par).form(&post)).await);

    // What the authorization endpoint would refuse is refused at the push (400).
    let cases = [
        (
            ("redirect_uri", "https://evil.example/cb"),
            "invalid_request",
            "not one registered",
        ),
        (("scope", "no-such-scope"), "invalid_scope", "no-such-scope"),
        (
            ("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
            "request_uri cannot be pushed",
        ),
        (
            ("client_id", "someone-else"),
            "invalid_request",
            "client_id",
        ),
        (
            ("code_challenge_method", "plain"),
            "invalid_request",
            "S256",
        ),
    ];
    for (extra, error, says) in cases {
        let mut f = fields.clone();
        f.insert(extra.0.into(), extra.1.into());
        let r = app
            .send(
                app.http
                    .post(&par)
                    .basic_auth(&client.client_id, client.secret.as_deref())
                    .form(&f),
            )
            .await;
        assert_eq!(r.status, 400, "{extra:?}: {}", r.text);
        assert_eq!(r.json()["error"], error, "{extra:?}: {}", r.text);
        let description = r.json()["error_description"]
            .as_str()
            .expect("description")
            .to_owned();
        assert!(description.contains(says), "{extra:?}: {description}");
    }
    // A form only.
    let r = app
        .send(
            app.http
                .post(&par)
                .basic_auth(&client.client_id, client.secret.as_deref())
                .json(&json!({"response_type": "code"})),
        )
        .await;
    assert_eq!(r.status, 415, "{}", r.text);
}

async fn the_server_may_require_every_request_to_be_pushed(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let mut config = test_config(&url);
    config.require_pushed_authorization_requests = true;
    let app = spawn_with(config, dir).await;
    let m = metadata(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(m["require_pushed_authorization_requests"], true);

    create_alice(&app).await;
    let client = register(&app, &[CALLBACK], json!({})).await;
    let mut browser = Browser::new(&app);
    let r = browser.get(&authorize_path(&client, &[])).await;
    let q = assert_error_redirect(&r, "invalid_request");
    assert!(q["error_description"].contains("pushed authorization requests"));
    // Nor can the browser claim a push it did not make.
    let r = browser
        .get(&authorize_path(&client, &[("pushed_request", "v1.forged")]))
        .await;
    assert_error_redirect(&r, "invalid_request");

    // Pushed, the whole flow runs: the forms carry the taken parameters with their
    // proof, and a later request in the same session needs a new push.
    let uri = request_uri(&push(&app, &client, &[]).await);
    let consent = to_consent(&mut browser, &by_reference(&client, &uri, &[])).await;
    let code = code_of(&decide(&mut browser, &consent, "allow").await);
    let r = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = browser.get(&authorize_path(&client, &[])).await;
    assert_error_redirect(&r, "invalid_request");
    let uri = request_uri(&push(&app, &client, &[]).await);
    code_of(&browser.get(&by_reference(&client, &uri, &[])).await);
}

async fn an_application_may_be_required_to_push(b: Backend) {
    let app = spawn_app(b).await;
    create_alice(&app).await;
    let strict = register(
        &app,
        &[CALLBACK],
        json!({"requirePushedAuthorizationRequests": true}),
    )
    .await;
    let lax = register(&app, &[CALLBACK], json!({})).await;
    let path = |c: &Client| format!("/api/mgmt/oauth/client/applications/{}", c.id);
    let shown = app
        .send_as_admin(reqwest::Method::GET, &path(&strict))
        .await;
    assert_eq!(
        shown.json()["requirePushedAuthorizationRequests"],
        true,
        "{}",
        shown.text
    );
    let shown = app.send_as_admin(reqwest::Method::GET, &path(&lax)).await;
    assert!(
        shown
            .json()
            .get("requirePushedAuthorizationRequests")
            .is_none(),
        "omitted when false: {}",
        shown.text
    );

    let mut browser = Browser::new(&app);
    let r = browser.get(&authorize_path(&strict, &[])).await;
    let q = assert_error_redirect(&r, "invalid_request");
    assert!(q["error_description"].contains("must use pushed authorization requests"));
    let r = browser.get(&authorize_path(&lax, &[])).await;
    assert!(assert_page(&r, 200).contains("Sign in"));
    let uri = request_uri(&push(&app, &strict, &[]).await);
    let consent = to_consent(&mut browser, &by_reference(&strict, &uri, &[])).await;
    code_of(&decide(&mut browser, &consent, "allow").await);

    // An update without the field leaves it; false lifts it.
    let body = json!({"name": "Quarterly Reports", "redirectUrls": [CALLBACK]});
    let r = app
        .send_json_as_admin(reqwest::Method::PUT, &path(&strict), &body)
        .await;
    assert_eq!(
        r.json()["requirePushedAuthorizationRequests"],
        true,
        "{}",
        r.text
    );
    let body = json!({"name": "Quarterly Reports", "redirectUrls": [CALLBACK], "requirePushedAuthorizationRequests": false});
    let r = app
        .send_json_as_admin(reqwest::Method::PUT, &path(&strict), &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    code_of(&browser.get(&authorize_path(&strict, &[])).await);
}

backends!(
    an_application_may_be_required_to_push,
    a_pushed_request_runs_the_whole_flow_and_wins_over_the_query,
    request_uris_are_single_use_short_lived_and_bound_to_their_client,
    pushes_are_authenticated_and_checked_before_they_are_stored,
    the_server_may_require_every_request_to_be_pushed,
);
