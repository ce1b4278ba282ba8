//! The error envelope everywhere: unknown paths, wrong methods, and headers; and
//! every refusal of a malformed request in the surface's own format and in plain words
//! (never axum's or serde's text).

use crate::helpers::{backends, once, spawn_app, Backend, Reply, TestApp};
use reqwest::Method;

/// `POST` `body` to `path` as `content_type`, without credentials.
async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Reply {
    app.send(
        app.http
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn unknown_paths_and_methods_answer_with_the_envelope(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send_as_admin(Method::GET, "/api/mgmt/nothing-here")
        .await;
    assert_eq!(
        r.hdp_error(404, 222209030),
        "There is no API at /api/mgmt/nothing-here."
    );
    let r = app
        .send_as_admin(Method::PATCH, "/api/mgmt/oauth/client/applications")
        .await;
    assert!(r.hdp_error(405, 222209031).contains("PATCH"));
}

async fn responses_carry_security_headers(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send_as_admin(Method::GET, "/api/mgmt/oauth/client/applications")
        .await;
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

async fn health_and_readiness_answer(b: Backend) {
    let app = spawn_app(b).await;
    let h = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(
        (h.status, h.json()),
        (200, serde_json::json!({"status": "ok"}))
    );
    let r = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(
        (r.status, r.json()),
        (200, serde_json::json!({"status": "ok"}))
    );
}

async fn database_failures_never_leak_their_text(b: Backend) {
    let app = spawn_app(b).await;
    app.send_as_admin(Method::GET, "/api/mgmt/oauth/client/applications")
        .await;
    // CASCADE on PostgreSQL: the token tables reference client_apps.
    let drop = match b {
        Backend::Sqlite => "DROP TABLE consents; DROP TABLE client_apps",
        Backend::Postgres => "DROP TABLE consents; DROP TABLE client_apps CASCADE",
    };
    app.raw_execute(drop).await;
    let r = app
        .send_as_admin(Method::GET, "/api/mgmt/oauth/client/applications")
        .await;
    assert_eq!(
        r.hdp_error(500, 222206631),
        "Problem getting OAuth Client Application at this time. Please try again at another time."
    );
    let body = serde_json::json!({"name": "n", "redirectUrls": ["x.example"]});
    let r = app
        .send_json_as_admin(Method::POST, "/api/mgmt/oauth/client/applications", &body)
        .await;
    r.hdp_error(500, 222206628);
    for leak in ["client_apps", "table", "relation", "sqlx", "SQL"] {
        assert!(!r.text.contains(leak), "{leak} leaked: {}", r.text);
    }
}

async fn oversized_token_requests_get_an_oauth_error(b: Backend) {
    let app = spawn_app(b).await;
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(70 * 1024)
    );
    let r = post_raw(
        &app,
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        body,
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(r.json()["error_description"]
        .as_str()
        .is_some_and(|d| d.contains("65536")));
}

/// Words of axum's rejections and serde's messages that must never reach a client.
const FOREIGN: &[&str] = &[
    "Failed to",
    "invalid type",
    "invalid value",
    "invalid digit",
    "`",
    " at line ",
    "EOF while",
    "expected struct",
    "sequence",
    "deserialize",
];

fn assert_own_words(what: &str, text: &str) {
    for w in FOREIGN {
        assert!(!text.contains(w), "{what}: '{w}' in {text}");
    }
}

async fn bad_query_strings_are_refused_in_the_envelope_in_plain_words(b: Backend) {
    let app = spawn_app(b).await;
    let cases = [
        (
            "/api/admin/users?tenantId=abc",
            r#"tenantId: expected a positive integer, got "abc""#,
        ),
        (
            "/api/admin/users?tenantId=0",
            r#"tenantId: expected a positive integer, got "0""#,
        ),
        (
            "/api/admin/users?tenantId=9223372036854775808",
            r#"tenantId: expected a positive integer, got "9223372036854775808""#,
        ),
        (
            "/api/mgmt/oauthapps?tenantId=1.5",
            r#"tenantId: expected a positive integer, got "1.5""#,
        ),
        (
            "/api/admin/users?tenantId=1&tenantId=2",
            r#"the field "tenantId" is sent more than once"#,
        ),
    ];
    for (path, needle) in cases {
        let r = app.send_as_admin(Method::GET, path).await;
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        let msg = r.hdp_error(400, 222209010);
        assert_eq!(msg, format!("Invalid query: {needle}."), "{path}");
    }
    let ok = app
        .send_as_admin(Method::GET, "/api/admin/users?tenantId=1")
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

async fn oversized_page_forms_get_the_html_error_page(b: Backend) {
    let app = spawn_app(b).await;
    let body = format!("client_id=x&pad={}", "x".repeat(70 * 1024));
    for path in [
        "/oauth2/login",
        "/oauth2/consent",
        "/oauth2/logout",
        "/oauth2/authorize",
    ] {
        let r = post_raw(
            &app,
            path,
            "application/x-www-form-urlencoded",
            body.clone(),
        )
        .await;
        assert_eq!(r.status, 413, "{path}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(
            r.text.contains("larger than 65536 bytes"),
            "{path}: {}",
            r.text
        );
        assert_own_words(path, &r.text);
    }
}

/// Every operation with a JSON body, with a body of each kind of wrong: each answers
/// 400 in the envelope, naming what was wrong in our words.
async fn malformed_json_bodies_are_refused_in_plain_words(b: Backend) {
    let app = spawn_app(b).await;
    let operations = [
        (Method::POST, "/api/mgmt/oauth/client/applications"),
        (Method::PUT, "/api/mgmt/oauth/client/applications/1"),
        (Method::PUT, "/api/admin/limits/system/1"),
        (Method::PUT, "/api/admin/limits/tenants/1/1"),
        (Method::POST, "/api/admin/users"),
        (Method::PUT, "/api/admin/users/1"),
        (Method::PUT, "/api/admin/users/1/permissions"),
        (Method::PUT, "/api/admin/users/1/password"),
        (Method::PUT, "/api/mgmt/user/password"),
        (Method::POST, "/api/admin/tenants"),
        (Method::PUT, "/api/admin/tenants/1"),
        (Method::PUT, "/api/admin/tenants/1/admins"),
        (Method::POST, "/api/mgmt/oauthapps"),
        (Method::POST, "/api/mgmt/oauthprofiles"),
    ];
    let bodies: [(&str, &str); 6] = [
        (
            "{\"na",
            "the body is not valid JSON: it ends before the value is complete (line 1, column 4)",
        ),
        (
            "  ",
            "the body is not valid JSON: it ends before the value is complete (line 1, column 2)",
        ),
        (
            "{1: 2}",
            "the body is not valid JSON: object keys must be strings (line 1, column 2)",
        ),
        ("[1, 2]", "the body must be a JSON object"),
        (
            "{\"zzz\": 1, \"name\": \"n\"}",
            "unknown field \"zzz\"; expected one of",
        ),
        ("\"text\"", "the body must be a JSON object"),
    ];
    for (method, path) in operations {
        for (body, needle) in bodies {
            let r = app
                .send(
                    app.as_admin(method.clone(), path)
                        .header("content-type", "application/json")
                        .body(body),
                )
                .await;
            let msg = r.hdp_error(400, 222207007);
            assert!(
                msg.starts_with("Invalid JSON Input: ") && msg.contains(needle),
                "{method} {path} {body}: expected '{needle}' in '{msg}'"
            );
            assert_own_words(path, &msg);
        }
    }
}

async fn wrong_types_name_the_field_and_the_expected_type(b: Backend) {
    let app = spawn_app(b).await;
    let cases = [
        (
            "/api/mgmt/oauth/client/applications",
            serde_json::json!({"name": 1, "redirectUrls": ["x.example"]}),
            "name: expected a string, got the number 1",
        ),
        (
            "/api/mgmt/oauth/client/applications",
            serde_json::json!({"name": "n", "redirectUrls": ["x.example"], "grantTypes": "password"}),
            r#"grantTypes: expected an array, got "password""#,
        ),
        (
            "/api/admin/tenants",
            serde_json::json!({"name": "t", "parentTenant": 1, "hostNames": [true]}),
            "hostNames[0]: expected a string, got true",
        ),
        (
            "/api/admin/tenants",
            serde_json::json!({"parentTenant": 1}),
            r#"missing field "name""#,
        ),
        (
            "/api/admin/users",
            serde_json::json!({"userName": "u", "tenantId": 1, "statusInfo": {"status": "1"}}),
            r#"statusInfo.status: expected an integer, got "1""#,
        ),
        (
            "/api/admin/users",
            serde_json::json!({"userName": "u", "tenantId": 9223372036854775808u64}),
            "tenantId: expected an integer from -9223372036854775808 to 9223372036854775807, got the number 9223372036854775808",
        ),
        (
            "/api/admin/users",
            serde_json::json!({"userName": "u", "passwordInfo": {"password": 12345678}}),
            "passwordInfo.password: expected a string, got a number",
        ),
    ];
    for (path, body, needle) in cases {
        let r = app.send_json_as_admin(Method::POST, path, &body).await;
        let msg = r.hdp_error(400, 222207007);
        assert!(
            msg.contains(needle),
            "{body}: expected '{needle}' in '{msg}'"
        );
        assert_own_words(path, &msg);
        assert!(
            !msg.contains("12345678"),
            "a password is quoted back: {msg}"
        );
    }
}

async fn malformed_token_requests_are_refused_in_their_format(b: Backend) {
    let app = spawn_app(b).await;
    // HDP JSON: the envelope, in our words.
    let json_cases = [
        (
            "{\"grant_type\": ",
            "The body is not valid JSON: it ends before the value is complete",
        ),
        ("[\"grant_type\"]", "The body must be a JSON object"),
        (
            "{\"grant_type\": [\"password\"]}",
            "grant_type: expected a string, got an array",
        ),
        ("{\"scope\": true}", "scope: expected a string, got true"),
        (
            "{\"scope\": \"a\", \"scope\": \"b\"}",
            "The scope parameter was sent more than once",
        ),
    ];
    for (body, needle) in json_cases {
        let r = post_raw(&app, "/oauth2/token", "application/json", body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        let msg = r.json()["error"]["message"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            msg.contains(needle),
            "{body}: expected '{needle}' in '{msg}'"
        );
        assert_own_words(body, &msg);
    }
    // An oversized HDP JSON request is refused in the envelope too.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let r = post_raw(&app, "/api/mgmt/oauth2/token", "application/json", big).await;
    assert_eq!(r.status, 413);
    assert!(r.json()["error"]["message"]["value"]
        .as_str()
        .is_some_and(|m| m.contains("65536")));
    // Forms: RFC 6749 JSON; a parameter sent twice is named.
    let r = post_raw(
        &app,
        "/oauth2/introspect",
        "application/x-www-form-urlencoded",
        "token=a&token=b",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "The token parameter was sent more than once."
    );
}

async fn userinfo_without_a_token_is_an_empty_challenge(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.send(app.http.get(app.url("/oauth2/userinfo"))).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                "Bearer realm=\"Portcullis\", resource_metadata=\"{}\"",
                app.url("/.well-known/oauth-protected-resource")
            )
            .as_str()
        )
    );
    assert_eq!(r.text, "");
    let r = app
        .send(
            app.http
                .get(app.url("/oauth2/userinfo"))
                .bearer_auth("nope"),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_token");
}

/// PostgreSQL only: an open SQLite file cannot vanish from under its process.
#[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_the_postgres_database_is_gone() {
    let app = spawn_app(Backend::Postgres).await;
    let name = app
        .database_url
        .rsplit('/')
        .next()
        .expect("name")
        .split('?')
        .next()
        .expect("name")
        .to_owned();
    let admin = std::env::var("TEST_POSTGRES_URL").expect("url");
    let pool = sqlx::PgPool::connect(&admin).await.expect("connect");
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&pool)
        .await
        .expect("drop");
    let r = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(
        (r.status, r.json()),
        (503, serde_json::json!({"status": "unavailable"}))
    );
    let h = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(h.status, 200, "liveness does not depend on the database");
}

backends!(
    health_and_readiness_answer,
    database_failures_never_leak_their_text,
);
once!(
    unknown_paths_and_methods_answer_with_the_envelope,
    responses_carry_security_headers,
    oversized_token_requests_get_an_oauth_error,
    bad_query_strings_are_refused_in_the_envelope_in_plain_words,
    oversized_page_forms_get_the_html_error_page,
    malformed_json_bodies_are_refused_in_plain_words,
    wrong_types_name_the_field_and_the_expected_type,
    malformed_token_requests_are_refused_in_their_format,
    userinfo_without_a_token_is_an_empty_challenge,
);
