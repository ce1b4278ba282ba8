//! HDP's client application registration API, end to end (seed 001, reference §1).

use crate::helpers::{backends, spawn_app, Backend, TestApp};
use portcullis_core::model::identity::ROLE_ADMINISTRATOR;
use reqwest::Method;
use serde_json::{json, Value};

const APPS: &str = "/api/mgmt/oauth/client/applications";
const ALLOWED: &str = "/api/mgmt/oauth/client/allowedapplications";

fn seed_sample() -> Value {
    // The reset sample of reference §1.6, as a registration body.
    json!({
        "name": "Application1",
        "description": "Application registered for OAuth access to HDP",
        "redirectUrls": ["bedford.progresstest.com", "americas.progresstest.com"]
    })
}

/// Registers the seed's sample application as the administrator: (response, id).
async fn register_sample(app: &TestApp) -> (Value, i64) {
    let created = app
        .register_as("admin", crate::helpers::ADMIN_PASSWORD, seed_sample())
        .await;
    let id = created["id"].as_i64().expect("id");
    (created, id)
}

/// The answer to PUT `path` with `body` as the administrator, which must be 200.
pub(crate) async fn put_ok(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.send_json_as_admin(Method::PUT, path, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

/// The keys of an object, sorted.
pub(crate) fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

async fn the_seed_registration_flow_answers_in_hdp_shapes(b: Backend) {
    let app = spawn_app(b).await;
    let (created, _) = register_sample(&app).await;
    assert_eq!(
        keys(&created),
        [
            "clientId",
            "clientSecret",
            "description",
            "grantTypes",
            "id",
            "name",
            "public",
            "redirectUrls",
            "scopes"
        ]
    );
    assert!(created["id"].is_i64());
    assert_eq!(created["name"], "Application1");
    assert_eq!(
        created["redirectUrls"],
        json!(["bedford.progresstest.com", "americas.progresstest.com"])
    );
    assert_eq!(created["public"], false);
    assert_eq!(
        created["grantTypes"],
        json!(["authorization_code", "password", "refresh_token"])
    );
    assert_eq!(created["scopes"], json!(["api.access.odata"]));
    let secret = created["clientSecret"].as_str().expect("secret");
    assert_eq!(secret.len(), 43, "256-bit secret, base64url");
    let id = created["id"].as_i64().expect("id");

    let list = app.send_as_admin(Method::GET, APPS).await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(keys(&list), ["applications"]);
    assert_eq!(list["applications"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        keys(&list["applications"][0]),
        ["description", "id", "name", "redirectUrls"]
    );
    assert_eq!(list["applications"][0]["id"], id);

    let one = app
        .send_as_admin(Method::GET, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(one.status, 200);
    let one = one.json();
    assert_eq!(one["clientId"], created["clientId"]);
    assert!(
        one.get("clientSecret").is_none(),
        "the secret is shown on register and reset only"
    );
}

async fn the_client_secret_is_stored_only_as_a_verifier(b: Backend) {
    let app = spawn_app(b).await;
    let (created, _) = register_sample(&app).await;
    let secret = created["clientSecret"].as_str().expect("secret");
    let stored = app
        .stored_client_app(created["id"].as_i64().expect("id"))
        .await;
    let verifier = stored.secret_verifier.expect("verifier");
    assert!(!verifier.contains(secret));
    assert!(app.state.ctx.keys.verify(secret, &verifier));
    // Nowhere in the raw database either.
    let raw = app
        .raw_strings(
            "SELECT COALESCE(secret_verifier, '') || client_id || redirect_urls FROM client_apps",
        )
        .await;
    assert_eq!(raw.len(), 1);
    assert!(!raw[0].contains(secret));
}

async fn an_update_replaces_the_fields_and_ignores_echoed_credentials(b: Backend) {
    let app = spawn_app(b).await;
    let (created, id) = register_sample(&app).await;
    let mut echoed = created.clone();
    echoed["name"] = json!("Renamed");
    echoed["description"] = json!("new words");
    echoed["redirectUrls"] = json!("https://a.example/cb, https://b.example/cb");
    echoed["clientId"] = json!("attempted-change");
    echoed["clientSecret"] = json!("attempted-change");
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{APPS}/{id}"), &echoed)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["name"], "Renamed");
    assert_eq!(v["description"], "new words");
    assert_eq!(
        v["redirectUrls"],
        json!(["https://a.example/cb", "https://b.example/cb"])
    );
    assert_eq!(v["clientId"], created["clientId"]);
    assert!(v.get("clientSecret").is_none());
    let got = app
        .send_as_admin(Method::GET, &format!("{APPS}/{id}"))
        .await
        .json();
    assert_eq!(got, v);

    // Grant types and scopes change only when given, and are validated.
    let r = app
        .send(app.as_admin(Method::PUT, &format!("{APPS}/{id}")).json(&json!({
            "name": "Renamed", "redirectUrls": ["https://a.example/cb"], "grantTypes": ["client_credentials"], "scopes": ["odata"]
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["grantTypes"], json!(["client_credentials"]));
    assert_eq!(r.json()["scopes"], json!(["api.access.odata"]));
    assert_eq!(
        r.json()["description"],
        "",
        "description is replaced too (full replace)"
    );
    let r = app
        .send(
            app.as_admin(Method::PUT, &format!("{APPS}/{id}"))
                .json(&json!({
                    "name": "Renamed", "redirectUrls": ["https://a.example/cb"], "public": true
                })),
        )
        .await;
    assert!(r.hdp_error(400, 222209010).contains("'public'"));
}

async fn delete_answers_204_and_the_application_is_gone(b: Backend) {
    let app = spawn_app(b).await;
    let (_, id) = register_sample(&app).await;
    let r = app
        .send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    let again = app
        .send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(
        again.hdp_error(404, 222209020),
        format!("There is no client application with id {id}.")
    );
    app.send_as_admin(Method::GET, &format!("{APPS}/{id}"))
        .await
        .hdp_error(404, 222209020);
    let list = app.send_as_admin(Method::GET, APPS).await.json();
    assert_eq!(list, json!({"applications": []}));
}

async fn reset_issues_a_new_secret_and_revokes_consents(b: Backend) {
    let app = spawn_app(b).await;
    let (created, id) = register_sample(&app).await;
    let old = created["clientSecret"].as_str().expect("secret").to_owned();
    let user = app.create_plain_user("alice", "Alice-Password-1").await;
    app.consent(user.id, id, &["api.access.odata"]).await;

    let r = app
        .send_as_admin(Method::PUT, &format!("{APPS}/{id}/reset"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    assert_eq!(v["id"], id);
    assert_eq!(
        v["clientId"], created["clientId"],
        "reset keeps the client id"
    );
    let new = v["clientSecret"].as_str().expect("new secret");
    assert_ne!(new, old);
    let stored = app.stored_client_app(id).await;
    let verifier = stored.secret_verifier.expect("verifier");
    assert!(app.state.ctx.keys.verify(new, &verifier));
    assert!(!app.state.ctx.keys.verify(&old, &verifier));
    let allowed = app
        .send_as(Method::GET, ALLOWED, "alice", "Alice-Password-1")
        .await
        .json();
    assert_eq!(
        allowed,
        json!({"applications": []}),
        "reset revokes all access granted to the application"
    );
}

async fn public_clients_have_no_secret_to_show_or_reset(b: Backend) {
    let app = spawn_app(b).await;
    let mut body = seed_sample();
    body["public"] = json!(true);
    let created = app
        .register_as("admin", crate::helpers::ADMIN_PASSWORD, body)
        .await;
    assert!(created.get("clientSecret").is_none());
    assert_eq!(created["public"], true);
    assert_eq!(
        created["grantTypes"],
        json!(["authorization_code", "refresh_token"])
    );
    let id = created["id"].as_i64().expect("id");
    let r = app
        .send_as_admin(Method::PUT, &format!("{APPS}/{id}/reset"))
        .await;
    assert!(r.hdp_error(400, 222209010).contains("public"));
    let mut body = seed_sample();
    body["public"] = json!(true);
    body["grantTypes"] = json!(["password"]);
    let r = app.send_json_as_admin(Method::POST, APPS, &body).await;
    assert!(r.hdp_error(400, 222209010).contains("public client"));
}

async fn users_see_and_manage_only_their_own_applications(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    app.create_plain_user("bob", "Bob-Password-1").await;
    let a = app
        .register_as("alice", "Alice-Password-1", seed_sample())
        .await;
    let id = a["id"].as_i64().expect("id");
    let bob = |m: Method, p: &str| app.as_user(m, p, "bob", "Bob-Password-1");

    assert_eq!(
        app.send(bob(Method::GET, APPS)).await.json(),
        json!({"applications": []})
    );
    app.send(bob(Method::GET, &format!("{APPS}/{id}")))
        .await
        .hdp_error(404, 222209020);
    app.send(bob(Method::PUT, &format!("{APPS}/{id}")).json(&seed_sample()))
        .await
        .hdp_error(404, 222209020);
    app.send(bob(Method::PUT, &format!("{APPS}/{id}/reset")))
        .await
        .hdp_error(404, 222209020);
    app.send(bob(Method::DELETE, &format!("{APPS}/{id}")))
        .await
        .hdp_error(404, 222209020);
    // Nothing changed.
    let still = app
        .send_as(
            Method::GET,
            &format!("{APPS}/{id}"),
            "alice",
            "Alice-Password-1",
        )
        .await;
    assert_eq!(still.status, 200);
    assert_eq!(still.json()["name"], "Application1");

    // The Administrator sees every application of the tenant, and may manage it.
    let all = app.send_as_admin(Method::GET, APPS).await.json();
    assert_eq!(all["applications"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
            .await
            .status,
        204
    );
}

async fn administrators_of_another_tenant_do_not_see_the_application(b: Backend) {
    let app = spawn_app(b).await;
    let (_, id) = register_sample(&app).await;
    let other = app.create_tenant("acme", &[]).await;
    app.create_user(
        other.id,
        "boss",
        "Boss-Password-1",
        vec![ROLE_ADMINISTRATOR],
    )
    .await;
    let boss = |m: Method, p: &str| app.as_user(m, p, "boss", "Boss-Password-1");
    assert_eq!(
        app.send(boss(Method::GET, APPS)).await.json(),
        json!({"applications": []})
    );
    app.send(boss(Method::GET, &format!("{APPS}/{id}")))
        .await
        .hdp_error(404, 222209020);
}

async fn allowed_applications_list_and_revoke_the_callers_consents(b: Backend) {
    let app = spawn_app(b).await;
    let (_, id) = register_sample(&app).await;
    let alice = app.create_plain_user("alice", "Alice-Password-1").await;
    let as_alice = |m: Method, p: &str| app.as_user(m, p, "alice", "Alice-Password-1");
    assert_eq!(
        app.send(as_alice(Method::GET, ALLOWED)).await.json(),
        json!({"applications": []})
    );

    app.consent(alice.id, id, &["api.access.odata"]).await;
    let list = app.send(as_alice(Method::GET, ALLOWED)).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json(),
        json!({"applications": [{"id": id, "name": "Application1", "scopes": ["api.access.odata"]}]})
    );
    // Another user's consents are not theirs to see or revoke.
    assert_eq!(
        app.send_as_admin(Method::GET, ALLOWED).await.json(),
        json!({"applications": []})
    );
    app.send_as_admin(Method::DELETE, &format!("{ALLOWED}/{id}"))
        .await
        .hdp_error(404, 222209021);

    let r = app
        .send(as_alice(Method::DELETE, &format!("{ALLOWED}/{id}")))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    assert_eq!(
        app.send(as_alice(Method::GET, ALLOWED)).await.json(),
        json!({"applications": []})
    );
    app.send(as_alice(Method::DELETE, &format!("{ALLOWED}/{id}")))
        .await
        .hdp_error(404, 222209021);
}

async fn deleting_an_application_removes_its_consents(b: Backend) {
    let app = spawn_app(b).await;
    let (_, id) = register_sample(&app).await;
    let alice = app.create_plain_user("alice", "Alice-Password-1").await;
    app.consent(alice.id, id, &["api.access.odata"]).await;
    assert_eq!(
        app.send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
            .await
            .status,
        204
    );
    let list = app
        .send_as(Method::GET, ALLOWED, "alice", "Alice-Password-1")
        .await
        .json();
    assert_eq!(list, json!({"applications": []}));
}

async fn invalid_registrations_are_refused_with_a_message_naming_the_problem(b: Backend) {
    let app = spawn_app(b).await;
    let post = |body: Value| app.as_admin(Method::POST, APPS).json(&body);
    let cases: Vec<(Value, u32, &str)> = vec![
        (
            json!({"name": "a".repeat(129), "redirectUrls": ["x.example"]}),
            222209010,
            "'name': is 129 characters long; at most 128",
        ),
        (
            json!({"name": "", "redirectUrls": ["x.example"]}),
            222209010,
            "'name': must not be empty",
        ),
        (
            json!({"name": "n", "description": "d".repeat(257), "redirectUrls": ["x.example"]}),
            222209010,
            "'description': is 257 characters",
        ),
        (
            json!({"name": "n", "redirectUrls": []}),
            222209010,
            "at least one redirect URL is required",
        ),
        (
            json!({"name": "n", "redirectUrls": ["https://a.example/#frag"]}),
            222209010,
            "fragment",
        ),
        (
            json!({"name": "n", "redirectUrls": ["a b"]}),
            222209010,
            "whitespace",
        ),
        (
            json!({"name": "n", "redirectUrls": ["x.example"], "scopes": ["email"]}),
            222209010,
            "'email' is not a known scope",
        ),
        (
            json!({"name": "n", "redirectUrls": ["x.example"], "grantTypes": ["implicit"]}),
            222209010,
            "'implicit' is not a grant type",
        ),
        (
            json!({"redirectUrls": ["x.example"]}),
            222207007,
            "missing field \"name\"",
        ),
        (
            json!({"name": 5, "redirectUrls": ["x.example"]}),
            222207007,
            "name: expected a string, got the number 5",
        ),
        (
            json!({"name": "n", "redirectUrls": ["x.example"], "colour": "red"}),
            222207007,
            "unknown field \"colour\"; expected one of",
        ),
        (
            json!({"name": "n", "redirectUrls": [1]}),
            222207007,
            "redirectUrls",
        ),
        (
            json!(["not", "an", "object"]),
            222207007,
            "the body must be a JSON object",
        ),
    ];
    for (body, code, needle) in cases {
        let r = app.send(post(body.clone())).await;
        let msg = r.hdp_error(400, code);
        assert!(
            msg.contains(needle),
            "{body}: expected '{needle}' in '{msg}'"
        );
    }
    let list = app.send_as_admin(Method::GET, APPS).await.json();
    assert_eq!(
        list,
        json!({"applications": []}),
        "failed requests change nothing"
    );
}

async fn oidc_settings_are_registered_shown_updated_and_cleared(b: Backend) {
    let app = spawn_app(b).await;
    let mut body = seed_sample();
    body["postLogoutRedirectUris"] = json!(["https://app.example/bye", "com.example.app:/bye"]);
    body["idTokenSignedResponseAlg"] = json!("ES256");
    body["userinfoSignedResponseAlg"] = json!("RS256");
    let created = app
        .register_as("admin", crate::helpers::ADMIN_PASSWORD, body)
        .await;
    assert_eq!(
        created["postLogoutRedirectUris"],
        json!(["https://app.example/bye", "com.example.app:/bye"])
    );
    assert_eq!(created["idTokenSignedResponseAlg"], "ES256");
    assert_eq!(created["userinfoSignedResponseAlg"], "RS256");
    let id = created["id"].as_i64().expect("id");
    let url = format!("{APPS}/{id}");
    let got = app.send_as_admin(Method::GET, &url).await.json();
    for k in [
        "postLogoutRedirectUris",
        "idTokenSignedResponseAlg",
        "userinfoSignedResponseAlg",
    ] {
        assert_eq!(got[k], created[k], "{k}");
    }
    let stored = app.stored_client_app(id).await;
    assert_eq!(
        stored.id_token_signed_response_alg.as_deref(),
        Some("ES256")
    );
    assert_eq!(
        stored.userinfo_signed_response_alg.as_deref(),
        Some("RS256")
    );
    assert_eq!(stored.post_logout_redirect_uris.len(), 2);
    // The listing keeps HDP's shape.
    let list = app.send_as_admin(Method::GET, APPS).await.json();
    assert_eq!(
        keys(&list["applications"][0]),
        ["description", "id", "name", "redirectUrls"]
    );

    let put = |body: Value| put_ok(&app, &url, body);
    // Absent: unchanged (an HDP client's update keeps them).
    let kept = put(seed_sample()).await;
    assert_eq!(
        kept["postLogoutRedirectUris"],
        created["postLogoutRedirectUris"]
    );
    assert_eq!(kept["idTokenSignedResponseAlg"], "ES256");
    assert_eq!(kept["userinfoSignedResponseAlg"], "RS256");
    // Echoing a GET back is no change either.
    assert_eq!(put(got.clone()).await, got);
    // Given: replaced; null: cleared (and then omitted).
    let mut body = seed_sample();
    body["postLogoutRedirectUris"] = json!(["https://app.example/after"]);
    body["idTokenSignedResponseAlg"] = json!("RS256");
    body["userinfoSignedResponseAlg"] = json!(null);
    let changed = put(body).await;
    assert_eq!(
        changed["postLogoutRedirectUris"],
        json!(["https://app.example/after"])
    );
    assert_eq!(changed["idTokenSignedResponseAlg"], "RS256");
    assert!(changed.get("userinfoSignedResponseAlg").is_none());
    let mut body = seed_sample();
    body["postLogoutRedirectUris"] = json!(null);
    body["idTokenSignedResponseAlg"] = json!(null);
    let cleared = put(body).await;
    assert_eq!(
        keys(&cleared),
        [
            "clientId",
            "description",
            "grantTypes",
            "id",
            "name",
            "public",
            "redirectUrls",
            "scopes"
        ],
        "unset settings are omitted"
    );
    let mut body = seed_sample();
    body["postLogoutRedirectUris"] = json!(["https://app.example/again"]);
    put(body).await;
    let mut body = seed_sample();
    body["postLogoutRedirectUris"] = json!([]);
    assert!(put(body).await.get("postLogoutRedirectUris").is_none());
    let stored = app.stored_client_app(id).await;
    assert!(stored.post_logout_redirect_uris.is_empty());
    assert_eq!(stored.id_token_signed_response_alg, None);
}

async fn invalid_oidc_settings_are_refused_with_a_message_naming_the_field(b: Backend) {
    let app = spawn_app(b).await;
    let (_, id) = register_sample(&app).await;
    let with = |k: &str, v: Value| {
        let mut body = seed_sample();
        body[k] = v;
        body
    };
    let uris = "postLogoutRedirectUris";
    let many: Vec<String> = (0..33).map(|i| format!("https://a.example/{i}")).collect();
    let cases: Vec<(Value, u32, String)> = vec![
        (
            with(uris, json!(["app.example"])),
            222209010,
            "Invalid value for 'postLogoutRedirectUris': 'app.example' is a host name without a scheme; a post-logout redirect URI is an absolute URL such as https://app.example/".into(),
        ),
        (
            with(uris, json!(["javascript:alert(1)"])),
            222209010,
            "'postLogoutRedirectUris': 'javascript:alert(1)' uses the javascript: scheme".into(),
        ),
        (
            with(uris, json!(["http://app.example/bye"])),
            222209010,
            "'postLogoutRedirectUris': 'http://app.example/bye' uses http on a host that is not loopback".into(),
        ),
        (
            with(uris, json!(["https://a.example/#x"])),
            222209010,
            "'postLogoutRedirectUris': 'https://a.example/#x' has a fragment".into(),
        ),
        (
            with(uris, json!(["https://a.example/x", "https://a.example/x"])),
            222209010,
            "'postLogoutRedirectUris': 'https://a.example/x' is listed twice".into(),
        ),
        (
            with(uris, json!(many)),
            222209010,
            "'postLogoutRedirectUris': at most 32 redirect URLs are allowed".into(),
        ),
        (
            with(uris, json!("https://a.example/x")),
            222207007,
            "postLogoutRedirectUris: expected".into(),
        ),
        (
            with("idTokenSignedResponseAlg", json!("HS256")),
            222209010,
            "Invalid value for 'idTokenSignedResponseAlg': 'HS256' is not a supported signing algorithm; use RS256 or ES256 (or null for the default)".into(),
        ),
        (
            with("idTokenSignedResponseAlg", json!("none")),
            222209010,
            "'idTokenSignedResponseAlg': 'none' is not a supported signing algorithm".into(),
        ),
        (
            with("userinfoSignedResponseAlg", json!("es256")),
            222209010,
            "Invalid value for 'userinfoSignedResponseAlg': 'es256' is not a supported signing algorithm".into(),
        ),
        (
            with("userinfoSignedResponseAlg", json!(256)),
            222207007,
            "userinfoSignedResponseAlg: expected a string".into(),
        ),
    ];
    let url = format!("{APPS}/{id}");
    for (body, code, needle) in &cases {
        for (method, path) in [(Method::POST, APPS), (Method::PUT, url.as_str())] {
            let r = app.send_json_as_admin(method.clone(), path, body).await;
            let msg = r.hdp_error(400, *code);
            assert!(
                msg.contains(needle.as_str()),
                "{method} {body}: expected '{needle}' in '{msg}'"
            );
        }
    }
    let list = app.send_as_admin(Method::GET, APPS).await.json();
    assert_eq!(list["applications"].as_array().map(Vec::len), Some(1));
    let stored = app.stored_client_app(id).await;
    assert!(stored.post_logout_redirect_uris.is_empty());
    assert_eq!(stored.id_token_signed_response_alg, None);
    assert_eq!(stored.userinfo_signed_response_alg, None);
}

async fn bodies_that_are_not_json_or_too_large_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send(
            app.as_admin(Method::POST, APPS)
                .header("content-type", "application/json")
                .body("{\"name\": "),
        )
        .await;
    let msg = r.hdp_error(400, 222207007);
    assert!(
        msg == "Invalid JSON Input: the body is not valid JSON: it ends before the value is complete (line 1, column 9).",
        "{msg}"
    );
    let r = app
        .send(
            app.as_admin(Method::POST, APPS)
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    assert!(r
        .hdp_error(415, 222209011)
        .contains("Content-Type: application/json"));
    let r = app.send_as_admin(Method::POST, APPS).await;
    r.hdp_error(415, 222209011);
    let big =
        json!({"name": "n", "description": "x".repeat(70 * 1024), "redirectUrls": ["x.example"]});
    let r = app.send_json_as_admin(Method::POST, APPS, &big).await;
    assert!(r.hdp_error(413, 222209012).contains("65536"));
    let r = app
        .send(
            app.as_admin(Method::POST, APPS)
                .header("content-type", "application/json; charset=utf-8")
                .body(seed_sample().to_string()),
        )
        .await;
    assert_eq!(r.status, 201, "a charset parameter is fine: {}", r.text);
}

async fn ids_in_paths_must_be_positive_integers(b: Backend) {
    let app = spawn_app(b).await;
    for bad in ["abc", "-1", "0", "1.5", "99999999999999999999"] {
        let r = app
            .send_as_admin(Method::GET, &format!("{APPS}/{bad}"))
            .await;
        assert!(r.hdp_error(400, 222209013).contains(bad));
    }
    app.send_as_admin(Method::GET, &format!("{APPS}/424242"))
        .await
        .hdp_error(404, 222209020);
    app.send_as_admin(Method::PUT, &format!("{APPS}/424242/reset"))
        .await
        .hdp_error(404, 222209020);
    app.send_json_as_admin(Method::PUT, &format!("{APPS}/424242"), &seed_sample())
        .await
        .hdp_error(404, 222209020);
}

async fn every_endpoint_requires_credentials(b: Backend) {
    let app = spawn_app(b).await;
    for (m, p) in [
        (Method::GET, APPS.to_owned()),
        (Method::POST, APPS.to_owned()),
        (Method::GET, format!("{APPS}/1")),
        (Method::PUT, format!("{APPS}/1")),
        (Method::DELETE, format!("{APPS}/1")),
        (Method::PUT, format!("{APPS}/1/reset")),
        (Method::GET, ALLOWED.to_owned()),
        (Method::DELETE, format!("{ALLOWED}/1")),
    ] {
        let r = app
            .send(
                app.http
                    .request(m.clone(), app.url(&p))
                    .json(&seed_sample()),
            )
            .await;
        r.hdp_error(401, 222209001);
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic")),
            "{m} {p}"
        );
    }
}

backends!(
    the_seed_registration_flow_answers_in_hdp_shapes,
    the_client_secret_is_stored_only_as_a_verifier,
    an_update_replaces_the_fields_and_ignores_echoed_credentials,
    delete_answers_204_and_the_application_is_gone,
    reset_issues_a_new_secret_and_revokes_consents,
    public_clients_have_no_secret_to_show_or_reset,
    users_see_and_manage_only_their_own_applications,
    administrators_of_another_tenant_do_not_see_the_application,
    allowed_applications_list_and_revoke_the_callers_consents,
    deleting_an_application_removes_its_consents,
    invalid_registrations_are_refused_with_a_message_naming_the_problem,
    oidc_settings_are_registered_shown_updated_and_cleared,
    invalid_oidc_settings_are_refused_with_a_message_naming_the_field,
    bodies_that_are_not_json_or_too_large_are_refused,
    ids_in_paths_must_be_positive_integers,
    every_endpoint_requires_credentials,
);
