//! Rotating the master key to the end (`portcullis master-key status|reseal`, the real
//! binary): a database sealed by key A is re-sealed under key B with A listed as a
//! previous key; then a server given B alone opens it — the client secret verifies
//! (the pepper opened), the access token issued under A still verifies (the signing
//! keys opened) and the refresh token still refreshes. Before the re-seal, B alone is
//! refused, naming A's id; a key ring that cannot open the values is refused.

use crate::cli::{run_binary, Run};
use crate::helpers::{backends, fresh_database, spawn_with, test_config, Backend, ADMIN_PASSWORD};
use portcullis_core::crypto::MasterKey;
use serde_json::{json, Value};

/// Key A is the tests' usual master key; B and C are new.
const KEY_B: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
const KEY_C: &str = "Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M=";

fn id(key: &str) -> String {
    MasterKey::parse(key).expect("a key").id().to_owned()
}

/// Runs `portcullis --database-url URL ARGS…` with `key` and `previous` master keys.
async fn portcullis_keyed(url: &str, key: &str, previous: &[&str], args: &[&str]) -> Run {
    let env = [
        ("PORTCULLIS_MASTER_KEY", key.to_owned()),
        (
            "PORTCULLIS_PREVIOUS_MASTER_KEYS",
            serde_json::to_string(previous).expect("json"),
        ),
    ];
    let args: Vec<&str> = ["--database-url", url]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    run_binary(&env, &args, None).await
}

async fn master_key_rotation_ends_with_the_old_key_gone(b: Backend) {
    let db_dir = tempfile::tempdir().expect("dir");
    let db = fresh_database(b, &db_dir).await;
    let key_a = test_config(&db).master_key.expect("key A");

    // Both servers name the same issuer, so the second accepts the first one's tokens.
    let config = |key: &str| {
        let mut c = test_config(&db);
        c.master_key = Some(key.to_owned());
        c.public_url = Some("http://auth.test".to_owned());
        c
    };
    // Under key A: a client, a user's tokens, and a vault application (sealed secret).
    let here = spawn_with(config(&key_a), tempfile::tempdir().expect("dir")).await;
    let app = here
        .register_as(
            "admin",
            ADMIN_PASSWORD,
            json!({"name": "rotating", "redirectUrls": ["https://app.example/cb"]}),
        )
        .await;
    let client = (
        app["clientId"].as_str().expect("clientId").to_owned(),
        app["clientSecret"]
            .as_str()
            .expect("clientSecret")
            .to_owned(),
    );
    let r = here
        .send(
            here.http
                .post(here.url("/oauth2/token"))
                .basic_auth(&client.0, Some(&client.1))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tokens = r.json();
    let r = here
        .send_json_as_admin(
            reqwest::Method::POST,
            "/api/mgmt/oauthapps",
            &json!({
                "name": "Upstream", "dataStore": "54", "tenantId": "1", "description": "",
                "clientId": "up-client", "clientSecret": "up-secret",
                "authorizeURI": "https://up.example/authorize",
                "tokenURI": "https://up.example/token", "scope": "offline"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    drop(here);

    // B alone cannot open the database yet, and says which key it needs.
    let refused = portcullis_keyed(&db, KEY_B, &[], &["master-key", "status"]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains(&id(&key_a)), "{}", refused.stderr);

    // A key ring that holds neither A nor what A sealed: refused, nothing changed.
    let wrong = portcullis_keyed(&db, KEY_C, &[KEY_B], &["master-key", "reseal"]).await;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(wrong.stderr.contains(&id(&key_a)), "{}", wrong.stderr);

    let before = portcullis_keyed(&db, KEY_B, &[&key_a], &["master-key", "status"])
        .await
        .ok();
    assert_eq!(before["primary"], id(KEY_B).as_str(), "{before}");
    assert_eq!(before["previousKeysNeeded"], true, "{before}");
    let under_a = before["sealedBy"][id(&key_a)].as_u64().expect("A's count");
    // The pepper, two signing keys per algorithm (active and next), the vault secret.
    assert!(under_a >= 6, "{before}");

    let done = portcullis_keyed(&db, KEY_B, &[&key_a], &["master-key", "reseal"])
        .await
        .ok();
    assert_eq!(done["resealedWith"], id(KEY_B).as_str(), "{done}");
    let resealed: u64 = done["columns"]
        .as_object()
        .expect("columns")
        .values()
        .map(|c| c["resealed"].as_u64().expect("count"))
        .sum();
    assert_eq!(resealed, under_a, "{done}");
    assert_eq!(
        done["columns"]["server_secrets.value"]["resealed"], 1,
        "{done}"
    );
    assert_eq!(
        done["columns"]["oauth_apps.client_secret_sealed"]["resealed"], 1,
        "{done}"
    );
    assert_eq!(done["status"]["previousKeysNeeded"], false, "{done}");
    let sealed_by: &serde_json::Map<String, Value> =
        done["status"]["sealedBy"].as_object().expect("sealedBy");
    assert_eq!(
        sealed_by.keys().collect::<Vec<_>>(),
        vec![&id(KEY_B)],
        "{done}"
    );

    // Again: nothing left to do.
    let again = portcullis_keyed(&db, KEY_B, &[&key_a], &["master-key", "reseal"])
        .await
        .ok();
    assert!(
        again["columns"]
            .as_object()
            .expect("columns")
            .values()
            .all(|c| c["resealed"] == 0),
        "{again}"
    );

    // B alone now serves everything made under A.
    let here = spawn_with(config(KEY_B), tempfile::tempdir().expect("dir")).await;
    let r = here
        .send(
            here.http
                .post(here.url("/oauth2/introspect"))
                .basic_auth(&client.0, Some(&client.1))
                .form(&[("token", tokens["access_token"].as_str().expect("at"))]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["active"], true, "{}", r.text);
    let r = here
        .send(
            here.http
                .post(here.url("/oauth2/token"))
                .basic_auth(&client.0, Some(&client.1))
                .form(&[
                    ("grant_type", "refresh_token"),
                    (
                        "refresh_token",
                        tokens["refresh_token"].as_str().expect("rt"),
                    ),
                ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Each re-seal is in the audit trail, as a key rotation by the operator.
    let r = here
        .send_as_admin(reqwest::Method::GET, "/api/admin/events?type=key_rotated")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let reseals: Vec<Value> = r.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["subject"] == "master key")
        .cloned()
        .collect();
    assert_eq!(reseals.len(), 2, "{}", r.text);
    assert!(
        reseals.iter().any(|e| e["reason"]
            .as_str()
            .expect("reason")
            .starts_with(&format!("{under_a} sealed value(s)"))),
        "{}",
        r.text
    );
}

backends!(master_key_rotation_ends_with_the_old_key_gone);
