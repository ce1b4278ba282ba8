//! DPoP (RFC 9449) driven by a real client library: npm's `openid-client` v6
//! (`tests/clients/dpop_client.mjs`, its `getDPoPHandle` and `randomDPoPKeyPair`)
//! against Portcullis over HTTPS with server nonces on, so each first request makes
//! the `use_dpop_nonce` round: client_credentials and UserInfo for a confidential
//! client; for a public client the code flow through the real pages, UserInfo, a
//! refresh by the same key and one by another key (refused).

use crate::helpers::{backends, fresh_database, spawn_with, test_config, Backend};
use crate::oidc_clients::{clients_dir, require_install, run_script};
use crate::support::oauth::{alice, ALICE, ALICE_PASSWORD};
use crate::tls::{certificate, trusting};
use portcullis_server::config::Config;
use serde_json::json;
use std::process::Command;

const REDIRECT: &str = "https://rp.example/cb";

async fn openid_client_binds_tokens_with_dpop_and_makes_the_nonce_round(b: Backend) {
    require_install(&clients_dir().join("node_modules/openid-client"));
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(b, &dir).await;
    let (cert, key, cert_pem) = certificate(&dir);
    let config = Config {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        dpop_nonces: true,
        ..test_config(&url)
    };
    let mut app = spawn_with(config, dir).await;
    app.http = trusting(&cert_pem);
    alice(&app).await;
    let confidential = app
        .register_as(
            ALICE,
            ALICE_PASSWORD,
            json!({"name": "DPoP job", "redirectUrls": [REDIRECT],
                   "grantTypes": ["client_credentials"]}),
        )
        .await;
    let public = app
        .register_as(
            ALICE,
            ALICE_PASSWORD,
            json!({"name": "DPoP app", "redirectUrls": [REDIRECT], "public": true,
                   "grantTypes": ["authorization_code", "refresh_token"]}),
        )
        .await;
    let text = |v: &serde_json::Value| v.as_str().expect("string").to_owned();
    let env = vec![
        ("DPOP_ISSUER", app.base.clone()),
        ("DPOP_CLIENT_ID", text(&confidential["clientId"])),
        ("DPOP_CLIENT_SECRET", text(&confidential["clientSecret"])),
        ("DPOP_PUBLIC_CLIENT_ID", text(&public["clientId"])),
        ("DPOP_REDIRECT_URI", REDIRECT.to_owned()),
        ("DPOP_USERNAME", ALICE.to_owned()),
        ("DPOP_PASSWORD", ALICE_PASSWORD.to_owned()),
        ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
    ];
    let mut cmd = Command::new("node");
    cmd.arg("dpop_client.mjs").env("NODE_EXTRA_CA_CERTS", &cert);
    let v = run_script(
        cmd,
        env,
        "openid-client DPoP (tests/clients/dpop_client.mjs)",
    )
    .await;

    let c = &v["confidential"];
    assert_eq!(c["tokenType"], "dpop", "{v}");
    assert!(c["jkt"].as_str().is_some_and(|j| j.len() == 43), "{v}");
    assert_eq!(c["userinfo"]["sub"], confidential["clientId"], "{v}");
    let p = &v["public"];
    assert_eq!(p["pages"], json!(["login", "consent"]), "{v}");
    assert!(p["jkt"].is_string(), "{v}");
    assert_eq!(
        p["refreshedJkt"], p["jkt"],
        "the refresh is bound to the same key: {v}"
    );
    assert_ne!(p["jkt"], c["jkt"], "each client its own key: {v}");
    assert_eq!(p["otherKeyRefusal"], "invalid_grant", "{v}");
    assert!(p["userinfo"]["sub"].is_string(), "{v}");
}

backends!(openid_client_binds_tokens_with_dpop_and_makes_the_nonce_round,);
