//! The MCP authorization profile end to end (issue 14): the official MCP SDK for
//! TypeScript as the client (`tests/clients/mcp_client.mjs`) and as a small MCP server
//! (`tests/clients/mcp_server.mjs`) that accepts only access tokens Portcullis issued
//! for its URL (checked against the JWKS, `aud` its own URL), with Portcullis as the
//! authorization server in between, everything over HTTPS on loopback with one test
//! certificate.
//!
//! The operator's part goes through the APIs: a tenant that accepts self-registering
//! clients (open registration restricted to public clients with loopback redirects, and
//! Client ID Metadata Documents), a user in it, and the MCP server registered as a
//! resource (RFC 8707) accepting the scope it requires. `outbound_allow` lets Portcullis
//! fetch the client's metadata document from 127.0.0.1, `outbound_ca_file` trusts the
//! test certificate. The client knows only the MCP server's URL: it discovers Portcullis
//! through the server's RFC 9728 metadata, registers (by metadata document, then in a
//! second test by RFC 7591 dynamic registration), walks the real login and consent
//! pages, exchanges the code and calls a tool. A token Portcullis issued for another
//! resource is refused by the MCP server.
//!
//! Installed by `scripts/client-libs` (`scripts/test` runs it); `#[ignore]`d under a
//! plain `cargo test` as the other client-library tests are. One alone:
//! `scripts/test mcp::sqlite::metadata_document`.

use crate::helpers::{fresh_database, spawn_with, test_config, Backend, TestApp};
use crate::oidc_clients::{clients_dir, require_install, run_script};
use crate::tls::{certificate, trusting};
use portcullis_core::model::client_app::{ClientApp, RegisteredBy};
use portcullis_server::config::Config;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const TENANT: &str = "agents";
const USER: &str = "ada";
const PASSWORD: &str = "Agent-Operator-Pass-9";
/// The scope the MCP server requires: an MCP server in front of the data pipeline's
/// OData API (resource servers accept the API scopes this server grants).
const SCOPE: &str = "api.access.odata";
/// The client's loopback redirect URI (RFC 8252 §7.3); nothing listens there: the walk
/// of the pages stops at the redirect.
const REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// Another resource of the tenant, for the token the MCP server must refuse.
const OTHER_RESOURCE: &str = "https://reports.agents.example/api";
const OTHER_SCOPE: &str = "api.access.odata";

/// The MCP server script, killed when dropped (its standard input closing ends it too).
struct McpServer {
    child: Child,
    url: String,
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mcp_server.mjs` over HTTPS with the test certificate; it prints its URL.
fn start_mcp_server(issuer: &str, cert: &PathBuf, key: &PathBuf, log: PathBuf) -> McpServer {
    let stderr = std::fs::File::create(log).expect("the MCP server's log");
    let mut child = Command::new("node")
        .arg("mcp_server.mjs")
        .current_dir(clients_dir())
        .env("MCP_ISSUER", issuer)
        .env("MCP_TLS_CERT", cert)
        .env("MCP_TLS_KEY", key)
        .env("MCP_SCOPE", SCOPE)
        .env("NODE_EXTRA_CA_CERTS", cert)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start node mcp_server.mjs");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the MCP server's first line");
    let url = serde_json::from_str::<Value>(&line)
        .ok()
        .and_then(|v| v["url"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the MCP server did not print its URL: {line:?}"));
    McpServer { child, url }
}

#[track_caller]
fn answered(r: crate::helpers::Reply, status: u16, what: &str) -> Value {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    r.json()
}

struct Setup {
    app: TestApp,
    cert: PathBuf,
    key: PathBuf,
    server: McpServer,
    tenant_id: i64,
    /// An access token Portcullis issued to the user for [`OTHER_RESOURCE`].
    foreign_token: String,
    _logs: tempfile::TempDir,
}

async fn setup(backend: Backend) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, &dir).await;
    let (cert, key, cert_pem) = certificate(&logs);
    let config = Config {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key.clone()),
        // The client's metadata document is served from loopback with the test CA.
        outbound_allow: vec!["127.0.0.1".into()],
        outbound_ca_file: Some(cert.clone()),
        ..test_config(&url)
    };
    let mut app = spawn_with(config, dir).await;
    assert!(app.base.starts_with("https://"), "{}", app.base);
    app.http = trusting(&cert_pem);

    // A tenant that takes self-registering clients: public ones, loopback redirects.
    let tenant = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/tenants",
            &json!({
                "name": TENANT,
                "parentTenant": 1,
                "status": 1,
                "importedRoles": [2],
                "clientRegistration": {
                    "policy": "open",
                    "clientTypes": ["public"],
                    "grantTypes": ["authorization_code", "refresh_token"],
                    "redirectUris": {"loopback": true},
                    "metadataDocuments": true
                }
            }),
        )
        .await;
    let tenant = answered(tenant, 201, "create the tenant");
    let tenant_id = tenant["id"].as_i64().expect("tenant id");
    let user_role = tenant["roles"][0].as_i64().expect("the tenant's User role");
    let user = app
        .send_json_as_admin(
            Method::POST,
            "/api/admin/users",
            &json!({
                "userName": USER,
                "tenantId": tenant_id,
                "statusInfo": {"status": 1},
                "passwordInfo": {"password": PASSWORD},
                "permissions": {"roles": [user_role], "permissions": []}
            }),
        )
        .await;
    answered(user, 201, "create the user");

    let server = start_mcp_server(&app.base, &cert, &key, logs.path().join("mcp_server.log"));

    // The MCP server and another API, registered as the tenant's resources.
    for (uri, name, scope) in [
        (server.url.as_str(), "Test MCP server", SCOPE),
        (OTHER_RESOURCE, "Reports API", OTHER_SCOPE),
    ] {
        let r = app
            .send_json_as_admin(
                Method::POST,
                "/api/admin/resources",
                &json!({"tenantId": tenant_id, "uri": uri, "name": name, "scopes": [scope]}),
            )
            .await;
        answered(r, 201, "register a resource");
    }

    // A token for the other resource, by the password grant of an application the user
    // registered through HDP's API.
    let login = format!("{USER}@{TENANT}");
    let reports = app
        .register_as(
            &login,
            PASSWORD,
            json!({
                "name": "Reports script",
                "redirectUrls": ["https://reports.agents.example/cb"],
                "grantTypes": ["password"],
                "scopes": [OTHER_SCOPE]
            }),
        )
        .await;
    let token = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth(
                    reports["clientId"].as_str().expect("clientId"),
                    reports["clientSecret"].as_str(),
                )
                .form(&[
                    ("grant_type", "password"),
                    ("username", USER),
                    ("password", PASSWORD),
                    ("scope", OTHER_SCOPE),
                    ("resource", OTHER_RESOURCE),
                ]),
        )
        .await;
    let token = answered(token, 200, "a token for the other resource");
    let foreign_token = token["access_token"].as_str().expect("token").to_owned();

    Setup {
        app,
        cert,
        key,
        server,
        tenant_id,
        foreign_token,
        _logs: logs,
    }
}

/// The stored client application `client_id`.
async fn stored(s: &Setup, client_id: &str) -> ClientApp {
    s.app
        .state
        .ctx
        .store
        .client_app_by_client_id(client_id)
        .await
        .expect("read the client")
        .unwrap_or_else(|| panic!("{client_id} is not a client application"))
}

/// Runs the MCP client in `mode` against the setup's MCP server.
async fn run_client(s: &Setup, mode: &str) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg("mcp_client.mjs")
        .env("NODE_EXTRA_CA_CERTS", &s.cert);
    let env = vec![
        ("MCP_SERVER_URL", s.server.url.clone()),
        ("MCP_ISSUER", s.app.base.clone()),
        ("MCP_MODE", mode.to_owned()),
        ("MCP_REDIRECT_URI", REDIRECT.to_owned()),
        ("MCP_USERNAME", USER.to_owned()),
        ("MCP_PASSWORD", PASSWORD.to_owned()),
        ("MCP_FOREIGN_TOKEN", s.foreign_token.clone()),
        ("MCP_TLS_CERT", s.cert.display().to_string()),
        ("MCP_TLS_KEY", s.key.display().to_string()),
        ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
    ];
    run_script(
        cmd,
        env,
        "the MCP SDK client (tests/clients/mcp_client.mjs)",
    )
    .await
}

/// What both ways of registering end with: the authorization request the SDK made, the
/// pages, the tool's answer and the two tokens by hand.
#[track_caller]
fn assert_session(v: &Value, s: &Setup) {
    let req = &v["authorizationRequest"];
    assert_eq!(
        req["endpoint"],
        format!("{}/oauth2/authorize", s.app.base),
        "{v}"
    );
    assert_eq!(req["resource"], s.server.url, "RFC 8707 resource: {v}");
    assert_eq!(req["code_challenge_method"], "S256", "{v}");
    assert_eq!(
        req["scope"], SCOPE,
        "from the server's RFC 9728 metadata: {v}"
    );
    assert_eq!(v["pages"], json!(["login", "consent"]), "{v}");
    assert_eq!(v["tools"], json!(["whoami"]), "{v}");
    let me = &v["whoami"];
    assert_eq!(me["username"], USER, "{v}");
    assert_eq!(
        me["aud"], s.server.url,
        "the token is for the MCP server: {v}"
    );
    assert_eq!(me["scope"], SCOPE, "{v}");
    assert_eq!(me["client_id"], v["clientId"], "{v}");
    assert_eq!(v["ownToken"]["status"], 200, "{v}");
    assert_eq!(
        v["foreignToken"]["status"], 401,
        "a token for another resource: {v}"
    );
    let challenge = v["foreignToken"]["challenge"].as_str().unwrap_or_default();
    assert!(challenge.contains("error=\"invalid_token\""), "{v}");
}

async fn metadata_document(b: Backend) {
    require_install(&clients_dir().join("node_modules/@modelcontextprotocol/sdk"));
    let s = setup(b).await;
    let v = run_client(&s, "metadata_document").await;
    assert_session(&v, &s);
    let client_id = v["clientId"].as_str().expect("clientId");
    assert!(
        client_id.starts_with("https://127.0.0.1:") && client_id.ends_with("/client.json"),
        "the document's URL is the client id: {v}"
    );
    assert!(
        v["registration"].get("registration_access_token").is_none(),
        "{v}"
    );
    // The consent page names the host the document came from, not only its name.
    let consent = v["consentText"].as_str().expect("the consent page's text");
    assert!(consent.contains("127.0.0.1"), "{consent}");
    assert!(v["documentFetches"].as_u64().is_some_and(|n| n >= 1), "{v}");

    // The client is one of the tenant's applications, registered by its document.
    let app = stored(&s, client_id).await;
    assert_eq!(app.tenant_id, s.tenant_id);
    assert_eq!(app.registered_by, RegisteredBy::MetadataDocument);
    assert_eq!(app.owner_id, None);
}

async fn dynamic_registration(b: Backend) {
    require_install(&clients_dir().join("node_modules/@modelcontextprotocol/sdk"));
    let s = setup(b).await;
    let v = run_client(&s, "dynamic_registration").await;
    assert_session(&v, &s);
    let reg = &v["registration"];
    assert_eq!(reg["client_id"], v["clientId"], "{v}");
    assert_eq!(reg["token_endpoint_auth_method"], "none", "{v}");
    assert!(reg.get("client_secret").is_none_or(Value::is_null), "{v}");
    assert_eq!(reg["redirect_uris"], json!([REDIRECT]), "{v}");

    let app = stored(&s, v["clientId"].as_str().expect("clientId")).await;
    assert_eq!(app.tenant_id, s.tenant_id);
    assert_eq!(app.registered_by, RegisteredBy::Open);
}

mod sqlite {
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs; scripts/test runs it"] Sqlite metadata_document);
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs; scripts/test runs it"] Sqlite dynamic_registration);
}

mod postgres {
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs and PostgreSQL; scripts/test runs both"] Postgres metadata_document);
    crate::helpers::test_on!(#[ignore = "needs scripts/client-libs and PostgreSQL; scripts/test runs both"] Postgres dynamic_registration);
}
