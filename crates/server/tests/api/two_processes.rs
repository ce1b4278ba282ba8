//! Two `portcullis` processes sharing one PostgreSQL database: tokens issued by one are
//! introspected, refreshed and revoked by the other.

use crate::helpers::{fresh_database, Backend, ADMIN_PASSWORD};
use crate::support::oauth::{
    oauth_client, Client, ALICE, ALICE_PASSWORD, APPS, INTROSPECT, REVOKE, TOKEN, USERINFO, USERS,
};
use oauth2::{AuthType, ResourceOwnerPassword, ResourceOwnerUsername, TokenResponse};
use portcullis_core::model::identity::ROLE_USER;
use serde_json::{json, Value};

const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Both nodes sit behind one public URL (SPEC §5.4), so they name the same issuer.
const PUBLIC_URL: &str = "https://portcullis.test";

/// A `portcullis` process, stopped with SIGTERM when dropped (so a failing test
/// leaves no server behind).
struct Node {
    child: std::process::Child,
    base: String,
}

impl Node {
    fn start(database_url: &str) -> Node {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
                "--public-url",
                PUBLIC_URL,
            ])
            .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("PORTCULLIS_LISTEN")
            .env_remove("PORTCULLIS_DATABASE_URL")
            .env_remove("PORTCULLIS_PUBLIC_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn portcullis");
        let stdout = child.stdout.take().expect("stdout");
        let base = crate::helpers::listening_on(stdout).expect("the server did not start");
        Node { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then waits: the node shuts down gracefully.
    fn stop(mut self) {
        let status = self.terminate().expect("stopped");
        assert!(
            status.success(),
            "graceful shutdown exits 0, got {status:?}"
        );
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        crate::helpers::terminate(&mut self.child)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.terminate();
    }
}

#[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_one_process_are_introspected_refreshed_and_revoked_by_another() {
    let dir = tempfile::tempdir().expect("dir");
    let database_url = fresh_database(Backend::Postgres, &dir).await;
    let a = Node::start(&database_url);
    let b = Node::start(&database_url);
    assert_ne!(a.base, b.base);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let send = |req: reqwest::RequestBuilder| async move {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            text,
        )
    };

    // One set of signing keys for both.
    let (_, jwks_a, _) = send(http.get(a.url("/oauth2/jwks"))).await;
    let (_, jwks_b, _) = send(http.get(b.url("/oauth2/jwks"))).await;
    assert_eq!(jwks_a, jwks_b);
    assert!(
        jwks_a["keys"].as_array().is_some_and(|k| !k.is_empty()),
        "{jwks_a}"
    );

    // Alice is created on A, registers her client on B.
    let (status, _, text) = send(
        http.post(a.url(USERS))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({
                "userName": ALICE, "statusInfo": {"status": 1},
                "passwordInfo": {"password": ALICE_PASSWORD},
                "permissions": {"roles": [ROLE_USER], "permissions": []}
            })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (status, v, text) = send(
        http.post(b.url(APPS))
            .basic_auth(ALICE, Some(ALICE_PASSWORD))
            .json(&json!({
                "name": "Reporting", "redirectUrls": ["https://app.example/callback"]
            })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let c = Client {
        id: v["id"].as_i64().expect("id"),
        client_id: v["clientId"].as_str().expect("clientId").to_owned(),
        secret: v["clientSecret"].as_str().expect("secret").to_owned(),
    };
    let form = |node: &Node, path: &str, fields: &[(&str, &str)]| {
        http.post(node.url(path))
            .basic_auth(&c.client_id, Some(&c.secret))
            .form(fields)
    };

    // Issued by A (with the oauth2 crate).
    let t = oauth_client(&a.base, &c, AuthType::BasicAuth)
        .exchange_password(
            &ResourceOwnerUsername::new(ALICE.into()),
            &ResourceOwnerPassword::new(ALICE_PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .expect("password grant on A");
    let access = t.access_token().secret().clone();
    let refresh = t.refresh_token().expect("refresh").secret().clone();

    // Introspected by B, and B's resource check accepts it.
    let (status, v, text) = send(form(&b, INTROSPECT, &[("token", &access)])).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["iss"], PUBLIC_URL);
    assert_eq!(v["username"], ALICE);
    let (status, _, text) = send(form(&b, INTROSPECT, &[("token", &refresh)])).await;
    assert_eq!(status, 200);
    assert!(text.contains("\"active\":true"), "{text}");
    let (status, _, text) = send(http.get(b.url(USERINFO)).bearer_auth(&access)).await;
    assert_eq!(status, 200, "{text}");

    // Refreshed by B (HDP: the same refresh token back); A accepts B's access token.
    let r = oauth_client(&b.base, &c, AuthType::RequestBody)
        .exchange_refresh_token(&oauth2::RefreshToken::new(refresh.clone()))
        .request_async(&http)
        .await
        .expect("refresh grant on B");
    assert_eq!(
        r.refresh_token().map(|t| t.secret().clone()),
        Some(refresh.clone())
    );
    let access_b = r.access_token().secret().clone();
    let (status, _, text) = send(http.get(a.url(USERINFO)).bearer_auth(&access_b)).await;
    assert_eq!(status, 200, "{text}");

    // Revoked on B: A sees it at once, for the refresh token and both access tokens.
    let (status, _, text) = send(form(&b, REVOKE, &[("token", &refresh)])).await;
    assert_eq!(status, 200, "{text}");
    for token in [&refresh, &access, &access_b] {
        let (status, v, _) = send(form(&a, INTROSPECT, &[("token", token)])).await;
        assert_eq!(status, 200);
        assert_eq!(v, json!({"active": false}));
    }
    for token in [&access, &access_b] {
        let (status, _, text) = send(http.get(a.url(USERINFO)).bearer_auth(token)).await;
        assert_eq!(status, 401, "{text}");
    }
    let (status, v, _) = send(form(
        &a,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"], "invalid_grant");

    // Rotation across nodes: rotated on A, the spent token reused on B revokes the family.
    let (status, _, text) = send(
        http.put(a.url("/api/admin/limits/system/1003"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"value": 1})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (_, v, text) = send(form(
        &a,
        TOKEN,
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", ALICE_PASSWORD),
        ],
    ))
    .await;
    let first = v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned();
    let (status, v, text) = send(form(
        &a,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let second = v["refresh_token"].as_str().expect("successor").to_owned();
    assert_ne!(second, first);
    let (status, v, _) = send(form(
        &b,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    ))
    .await;
    assert_eq!((status, v["error"].clone()), (400, json!("invalid_grant")));
    let (status, v, _) = send(form(
        &a,
        TOKEN,
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    ))
    .await;
    assert_eq!(
        (status, v["error"].clone()),
        (400, json!("invalid_grant")),
        "the family is revoked"
    );
    a.stop();
    b.stop();
}
