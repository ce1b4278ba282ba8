//! CORS: the metadata documents and the JWKS answer any origin; the token, UserInfo and
//! revocation endpoints answer the origins of registered redirect URLs (following
//! registrations and deletions at once, on other nodes within the cache's bound); the
//! management API answers only the configured `cors_allowed_origins`; the sign-in
//! pages never answer cross-origin requests.

use crate::caches::{two_nodes, within_bound};
use crate::helpers::{backends, fresh_database, spawn_app, spawn_with, test_config, Backend};
use crate::helpers::{Reply, TestApp};
use crate::support::oauth::{register, APPS, INTROSPECT, REVOKE, TOKEN, USERINFO, USERS};
use reqwest::Method;
use serde_json::json;

const SPA: &str = "https://spa.example:8443";
const STRANGER: &str = "https://stranger.example";
const ADMIN_CONSOLE: &str = "https://admin.example";
const ACAO: &str = "access-control-allow-origin";
const ACAC: &str = "access-control-allow-credentials";

/// A preflight for `method` on `path` from `origin`.
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Reply {
    app.send(
        app.http
            .request(Method::OPTIONS, app.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
    )
    .await
}

/// A token request (a client_credentials grant with a wrong secret) from `origin`.
async fn token_from(app: &TestApp, origin: &str) -> Reply {
    app.send(
        app.http
            .post(app.url(TOKEN))
            .header("Origin", origin)
            .basic_auth("no-such-client", Some("wrong"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await
}

/// Registers a browser application whose redirect URL is on [`SPA`]; its id.
async fn register_spa(app: &TestApp) -> i64 {
    let extra = json!({"redirectUrls": [format!("{SPA}/callback"), "com.example.app:/cb"]});
    register(app, "admin", crate::helpers::ADMIN_PASSWORD, "SPA", extra)
        .await
        .id
}

/// The administrator's user listing, asked from a page on `origin`: answered 200.
async fn users_from(app: &TestApp, origin: &str) -> Reply {
    let r = app
        .send(app.as_admin(Method::GET, USERS).header("Origin", origin))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn has(list: Option<&str>, item: &str) -> bool {
    list.is_some_and(|l| l.split(',').any(|x| x.trim().eq_ignore_ascii_case(item)))
}

async fn a_registered_apps_origin_may_call_token_userinfo_and_revocation(b: Backend) {
    let app = spawn_app(b).await;
    register_spa(&app).await;

    for (path, method) in [(TOKEN, "POST"), (USERINFO, "GET"), (REVOKE, "POST")] {
        let r = preflight(&app, path, SPA, method).await;
        assert!(r.status == 200 || r.status == 204, "{path}: {}", r.status);
        assert_eq!(r.header(ACAO), Some(SPA), "{path}");
        assert!(
            has(r.header("access-control-allow-methods"), method),
            "{path}"
        );
        for h in ["authorization", "content-type", "dpop"] {
            assert!(
                has(r.header("access-control-allow-headers"), h),
                "{path}: {h}"
            );
        }
        assert_eq!(r.header("access-control-max-age"), Some("600"), "{path}");
        assert!(has(r.header("vary"), "origin"), "{path}");
        assert_eq!(r.header(ACAC), None, "{path}: never credentials");
    }

    // The requests themselves: answered as ever, readable by the application's pages.
    let r = token_from(&app, SPA).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.header(ACAO), Some(SPA));
    assert!(has(r.header("vary"), "origin"));
    assert_eq!(r.header(ACAC), None);
    let r = app
        .send(
            app.http
                .get(app.url(USERINFO))
                .header("Origin", SPA)
                .bearer_auth("not-a-token"),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.header(ACAO), Some(SPA));
    assert!(has(
        r.header("access-control-expose-headers"),
        "www-authenticate"
    ));
    // The request id is readable too, and the answer carries one.
    assert!(has(
        r.header("access-control-expose-headers"),
        "x-request-id"
    ));
    assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()));
}

async fn other_origins_get_no_cors_headers_and_the_same_answer(b: Backend) {
    let app = spawn_app(b).await;
    register_spa(&app).await;

    let r = preflight(&app, TOKEN, STRANGER, "POST").await;
    assert_eq!(r.header(ACAO), None, "{:?}", r.headers);
    // A look-alike of a registered origin (another port, another scheme) is another origin.
    for look_alike in ["https://spa.example", "http://spa.example:8443"] {
        assert_eq!(token_from(&app, look_alike).await.header(ACAO), None);
    }
    let plain = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .basic_auth("no-such-client", Some("wrong"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    let r = token_from(&app, STRANGER).await;
    assert_eq!((r.status, &r.text), (plain.status, &plain.text));
    assert_eq!(r.header(ACAO), None);

    // Introspection is for resource servers, not browsers; the sign-in pages are
    // same-origin: no CORS for the registered origin either.
    for path in [INTROSPECT, "/oauth2/authorize", "/oauth2/login", USERS] {
        let r = preflight(&app, path, SPA, "POST").await;
        assert_eq!(r.header(ACAO), None, "{path}");
        let r = app
            .send(app.http.get(app.url(path)).header("Origin", SPA))
            .await;
        assert_eq!(r.header(ACAO), None, "{path}");
    }
}

async fn requests_without_an_origin_are_untouched_but_public_documents_keep_their_star(b: Backend) {
    let app = spawn_app(b).await;
    register_spa(&app).await;
    let r = app
        .send(app.http.request(Method::OPTIONS, app.url(TOKEN)))
        .await;
    assert_eq!(r.status, 405, "{}", r.text);
    let r = app.send(app.http.get(app.url("/oauth2/jwks"))).await;
    assert_eq!(r.status, 200);
    // Public and cacheable: the same answer (with `*`) for pages and other clients.
    assert_eq!(r.header(ACAO), Some("*"));
}

async fn discovery_and_jwks_answer_every_origin(b: Backend) {
    let app = spawn_app(b).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/oauth2/jwks",
    ] {
        let r = app
            .send(app.http.get(app.url(path)).header("Origin", STRANGER))
            .await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header(ACAO), Some("*"), "{path}");
        assert_eq!(r.header(ACAC), None, "{path}");
        assert!(
            has(r.header("access-control-expose-headers"), "x-request-id"),
            "{path}"
        );
        assert!(
            !has(r.header("vary"), "origin"),
            "{path}: one answer for all"
        );
        let r = preflight(&app, path, STRANGER, "GET").await;
        assert_eq!(r.header(ACAO), Some("*"), "{path}");
        assert!(has(r.header("access-control-allow-methods"), "GET"));
    }
}

async fn a_new_apps_origin_is_allowed_at_once_and_a_deleted_ones_refused(b: Backend) {
    let app = spawn_app(b).await;
    // Asked (and cached) before the application exists.
    assert_eq!(token_from(&app, SPA).await.header(ACAO), None);
    let id = register_spa(&app).await;
    assert_eq!(token_from(&app, SPA).await.header(ACAO), Some(SPA));
    let r = app
        .send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(token_from(&app, SPA).await.header(ACAO), None);
    assert_eq!(preflight(&app, TOKEN, SPA, "POST").await.header(ACAO), None);
}

async fn an_app_registered_on_another_node_is_allowed_within_the_cache_bound(b: Backend) {
    let (a, other) = two_nodes(b).await;
    assert_eq!(token_from(&a, SPA).await.header(ACAO), None);
    register_spa(&other).await;
    within_bound("the new origin on the other node", || async {
        preflight(&a, TOKEN, SPA, "POST").await.header(ACAO) == Some(SPA)
    })
    .await;
}

async fn the_management_api_is_same_origin_unless_configured(b: Backend) {
    let app = spawn_app(b).await;
    let r = preflight(&app, USERS, ADMIN_CONSOLE, "GET").await;
    assert_eq!(r.header(ACAO), None);
    let r = users_from(&app, ADMIN_CONSOLE).await;
    assert_eq!(r.header(ACAO), None);
}

async fn configured_origins_may_call_the_management_api_with_credentials(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let db = fresh_database(b, &dir).await;
    let mut config = test_config(&db);
    config.cors_allowed_origins = vec![ADMIN_CONSOLE.to_owned()];
    let app = spawn_with(config, dir).await;

    let r = preflight(&app, &format!("{APPS}/1"), ADMIN_CONSOLE, "DELETE").await;
    assert_eq!(r.header(ACAO), Some(ADMIN_CONSOLE));
    assert_eq!(r.header(ACAC), Some("true"));
    assert!(has(r.header("access-control-allow-methods"), "DELETE"));
    assert!(has(
        r.header("access-control-allow-headers"),
        "authorization"
    ));
    let r = users_from(&app, ADMIN_CONSOLE).await;
    assert_eq!(r.header(ACAO), Some(ADMIN_CONSOLE));
    assert_eq!(r.header(ACAC), Some("true"));
    assert!(has(r.header("vary"), "origin"));
    assert!(has(
        r.header("access-control-expose-headers"),
        "x-request-id"
    ));

    // Another origin, and the sign-in pages, stay same-origin.
    let r = users_from(&app, STRANGER).await;
    assert_eq!((r.header(ACAO), r.header(ACAC)), (None, None));
    for path in ["/oauth2/login", "/api/mgmt/oauth2/authorize"] {
        let r = preflight(&app, path, ADMIN_CONSOLE, "POST").await;
        assert_eq!(r.header(ACAO), None, "{path}");
    }
    // The token endpoint keeps its own rule: the console is no registered application.
    assert_eq!(token_from(&app, ADMIN_CONSOLE).await.header(ACAO), None);
}

#[test]
fn cors_allowed_origins_are_read_from_the_environment_and_must_be_origins() {
    use portcullis_server::config::{Config, Overrides};
    let load = |v: &str| {
        let env = [("PORTCULLIS_CORS_ALLOWED_ORIGINS".to_owned(), v.to_owned())];
        Config::load(None, env, Overrides::default())
    };
    let c = load(r#"["https://admin.example", "http://localhost:3000"]"#).expect("a list");
    assert_eq!(
        c.cors_allowed_origins,
        ["https://admin.example", "http://localhost:3000"]
    );
    for bad in ["*", "https://admin.example/console"] {
        let e = load(&format!(r#"["{bad}"]"#)).expect_err(bad);
        assert!(
            e.to_string().contains("cors_allowed_origins") && e.to_string().contains(bad),
            "{e}"
        );
    }
}

backends!(
    a_registered_apps_origin_may_call_token_userinfo_and_revocation,
    other_origins_get_no_cors_headers_and_the_same_answer,
    requests_without_an_origin_are_untouched_but_public_documents_keep_their_star,
    discovery_and_jwks_answer_every_origin,
    a_new_apps_origin_is_allowed_at_once_and_a_deleted_ones_refused,
    an_app_registered_on_another_node_is_allowed_within_the_cache_bound,
    the_management_api_is_same_origin_unless_configured,
    configured_origins_may_call_the_management_api_with_credentials,
);
