//! The token vault (issue 6, SPEC §4.3, seed 002): OAuth application objects and
//! profiles over HTTP, sealed at rest, refreshed against a second, real Portcullis
//! acting as the upstream provider (client registered there, tokens from its password
//! grant, rotation through its limit 1003, revocation at its `/oauth2/revoke`), the
//! background refresher, and the connect flow's redirect and callback.

use crate::helpers::{
    backends, fresh_database, spawn_app, spawn_with, test_config, Backend, Reply, TestApp,
    ADMIN_PASSWORD,
};
use crate::support::oauth::{
    register, revoke, set_rotation, tokens_for, userinfo, Client, ALICE, ALICE_PASSWORD,
};
use portcullis_core::clock::Clock;
use portcullis_core::model::identity::RoleAssignments;
use portcullis_core::model::identity::{NewUser, SYSTEM_TENANT_ID};
use portcullis_core::model::time::hdp_timestamp;
use portcullis_core::model::vault::{OAuthApp, OAuthProfile};
use portcullis_core::vault::refresher::{self, Sweep};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const APPS: &str = "/api/mgmt/oauthapps";
const PROFILES: &str = "/api/mgmt/oauthprofiles";

const PROFILE_NOT_FOUND: u32 = 222207710;
const APP_NOT_FOUND: u32 = 222207711;
const INVALID_FIELD: u32 = 222209010;
const INVALID_JSON: u32 = 222207007;
const FORBIDDEN: u32 = 222209005;
const TENANT_NOT_FOUND: u32 = 222208573;
const APP_NAME_CONFLICT: u32 = 222209601;
const UPSTREAM_REFUSED: u32 = 222209610;

const BOB: &str = "bob";
const BOB_PASSWORD: &str = "Builder-Bob-77";

/// A second Portcullis acting as the upstream provider, with Alice as its user and
/// a confidential client registered for the vault.
pub(crate) struct Upstream {
    pub(crate) app: TestApp,
    pub(crate) client: Client,
}

impl Upstream {
    pub(crate) async fn start(b: Backend, redirect: &str) -> Self {
        let app = spawn_app(b).await;
        app.create_plain_user(ALICE, ALICE_PASSWORD).await;
        let client = register(
            &app,
            "admin",
            ADMIN_PASSWORD,
            "Vault",
            json!({"redirectUrls": [redirect]}),
        )
        .await;
        Self { app, client }
    }

    /// Alice's tokens from the upstream's password grant: (access, refresh).
    pub(crate) async fn password_tokens(&self) -> (String, String) {
        tokens_for(&self.app, &self.client, ALICE, ALICE_PASSWORD).await
    }

    /// Whether the upstream accepts `token` as an access token.
    async fn accepts(&self, token: &str) -> bool {
        userinfo(&self.app, token).await.status == 200
    }

    async fn revoke(&self, token: &str) {
        revoke(&self.app, &self.client, token).await;
    }

    async fn set_rotation(&self, on: bool) {
        set_rotation(&self.app, on).await;
    }
}

pub(crate) fn app_body(up: &Upstream, name: &str) -> Value {
    app_body_at(up, name, &up.app.url("/oauth2/token"))
}

fn app_body_at(up: &Upstream, name: &str, token_uri: &str) -> Value {
    json!({
        "name": name,
        "dataStore": 63,
        "description": "The upstream Portcullis",
        "clientId": up.client.client_id,
        "clientSecret": up.client.secret,
        "authorizeURI": up.app.url("/oauth2/authorize"),
        "tokenURI": token_uri,
        "scope": "api.access.odata"
    })
}

pub(crate) async fn create_app(here: &TestApp, body: &Value) -> i64 {
    let r = here
        .send(here.as_admin(Method::POST, APPS).json(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_i64().expect("id")
}

/// `PUT` `body` over application `id`, as the administrator.
async fn update_app(here: &TestApp, id: i64, body: &Value) -> Reply {
    here.send(
        here.as_admin(Method::PUT, &format!("{APPS}/{id}"))
            .json(body),
    )
    .await
}

fn as_bob(here: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    here.as_user(method, path, BOB, BOB_PASSWORD)
}

/// Bob (an ordinary user here) pastes Alice's upstream tokens into a profile.
async fn bobs_profile(here: &TestApp, app_id: i64, access: &str, refresh: &str) -> i64 {
    let r = here
        .send(as_bob(here, Method::POST, PROFILES).json(&json!({
            "name": "Bobs_upstream",
            "oauthAppId": app_id,
            "accessToken": access,
            "refreshToken": refresh
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_i64().expect("id")
}

async fn profile(here: &TestApp, id: i64) -> Value {
    let r = here
        .send(as_bob(here, Method::GET, &format!("{PROFILES}/{id}")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

async fn refresh(here: &TestApp, id: i64) -> Reply {
    here.send(as_bob(
        here,
        Method::POST,
        &format!("{PROFILES}/{id}/refresh"),
    ))
    .await
}

/// The vault's configuration for these tests: its upstreams run on 127.0.0.1, which
/// outbound calls may reach only when `outbound_allow` lists it.
fn vault_config(url: &str) -> portcullis_server::config::Config {
    portcullis_server::config::Config {
        outbound_allow: vec!["127.0.0.1".into()],
        ..test_config(url)
    }
}

/// The vault (here) on a fresh database, allowed to call upstreams on 127.0.0.1.
async fn spawn_vault(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    spawn_with(vault_config(&url), dir).await
}

/// Here (the vault), the upstream, Bob, and an application for the upstream.
async fn setup(b: Backend) -> (TestApp, Upstream, i64) {
    let here = spawn_vault(b).await;
    let up = Upstream::start(b, &here.url("/oauth2callback")).await;
    here.create_plain_user(BOB, BOB_PASSWORD).await;
    let app_id = create_app(&here, &app_body(&up, "Upstream")).await;
    (here, up, app_id)
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

/// Every stored vault secret column, raw from the database.
async fn raw_vault_columns(app: &TestApp) -> Vec<String> {
    app.raw_strings(
        "SELECT client_secret_sealed FROM oauth_apps UNION ALL \
        SELECT refresh_token_sealed FROM oauth_profiles UNION ALL \
        SELECT access_token_sealed FROM oauth_profiles WHERE access_token_sealed IS NOT NULL",
    )
    .await
}

/// The SQLite database's files (main and WAL), as bytes.
fn sqlite_bytes(app: &TestApp) -> Vec<u8> {
    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .expect("sqlite url")
        .to_owned();
    let mut bytes = std::fs::read(&path).expect("db file");
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    bytes
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Polls `f` every 100 ms for up to 15 s until it yields `Some`.
async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..150 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not met within 15 s");
}

// ---------------------------------------------------------------------------------
// Seed 002 and sealing
// ---------------------------------------------------------------------------------

async fn seed_002_sample_payload_returns_the_documented_201_shape_and_is_sealed_at_rest(
    b: Backend,
) {
    let here = spawn_app(b).await;
    let up_token = "https://upstream.example/oauth2/token";
    // The sample names application 17: create applications until one has that id.
    let mut id = 0;
    let mut n = 0;
    while id < 17 {
        n += 1;
        let r = here
            .send(here.as_admin(Method::POST, APPS).json(&json!({
                "name": format!("App_{n}"), "dataStore": 54, "clientId": "cid",
                "clientSecret": "upstream-client-secret-xyz",
                "authorizeURI": "https://upstream.example/authorize", "tokenURI": up_token
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        id = r.json()["id"].as_i64().expect("id");
    }
    assert_eq!(id, 17);
    let sample = r#"{
  "name": "User_1",
  "oauthAppId": 17,
  "description": "OAuth profile 1",
  "accessToken": "111c334445e55",
  "refreshToken": "222d88899966fa"
}"#;
    let r = here
        .send(
            here.as_admin(Method::POST, PROFILES)
                .header("Content-Type", "application/json")
                .body(sample),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(
        keys(&v),
        [
            "accessToken",
            "description",
            "id",
            "name",
            "oauthAppId",
            "refreshToken"
        ]
    );
    let pid = v["id"].as_i64().expect("id as a number");
    assert_eq!(
        v,
        json!({"id": pid, "name": "User_1", "oauthAppId": 17, "description": "OAuth profile 1",
               "accessToken": "111c334445e55", "refreshToken": "222d88899966fa"})
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // GET returns the tokens to their owner, with the refresh status.
    let r = here
        .send_as_admin(Method::GET, &format!("{PROFILES}/{pid}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = r.json();
    assert_eq!(g["accessToken"], "111c334445e55");
    assert_eq!(g["refreshToken"], "222d88899966fa");
    assert_eq!(g["oauthAppId"], 17);
    assert_eq!(g["lastRefreshError"], Value::Null);

    // The raw database holds sealed values only.
    let raw = raw_vault_columns(&here).await;
    assert_eq!(raw.len(), 17 + 2);
    for value in &raw {
        assert!(value.starts_with("mk1."), "sealed: {value}");
        for secret in [
            "111c334445e55",
            "222d88899966fa",
            "upstream-client-secret-xyz",
        ] {
            assert!(!value.contains(secret), "plaintext {secret} in {value}");
        }
    }
    if let Backend::Sqlite = b {
        let bytes = sqlite_bytes(&here);
        assert!(contains(&bytes, "User_1"), "the scan sees the database");
        for secret in [
            "111c334445e55",
            "222d88899966fa",
            "upstream-client-secret-xyz",
        ] {
            assert!(!contains(&bytes, secret), "plaintext {secret} in the file");
        }
    }
    // A sealed value moved to another row does not open.
    let p = stored_profile(&here, pid).await;
    let ring = &here.state.ctx.keyring;
    assert!(ring
        .open(
            &p.refresh_token_sealed,
            &format!("oauthprofile:{}:refresh_token", p.seal_ref)
        )
        .is_ok());
    assert!(ring
        .open(
            &p.refresh_token_sealed,
            "oauthprofile:another-row:refresh_token"
        )
        .is_err());
    assert!(ring
        .open(
            &p.refresh_token_sealed,
            &format!("oauthprofile:{}:access_token", p.seal_ref)
        )
        .is_err());

    // Delete: 204, then HDP's "Invalid OAuthProfileId".
    let r = here
        .send_as_admin(Method::DELETE, &format!("{PROFILES}/{pid}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = here
        .send_as_admin(Method::DELETE, &format!("{PROFILES}/{pid}"))
        .await;
    assert_eq!(
        r.hdp_error(404, PROFILE_NOT_FOUND),
        format!("Invalid OAuthProfileId: {pid}")
    );
}

// ---------------------------------------------------------------------------------
// Application objects
// ---------------------------------------------------------------------------------

async fn oauth_apps_follow_hdp_fields_names_permissions_and_tenants(b: Backend) {
    let here = spawn_app(b).await;
    let body = json!({
        "name": "Google_Analytics", "dataStore": "54", "tenantId": "1",
        "description": "GA", "clientId": "ga-client", "clientSecret": "ga-secret",
        "authorizeURI": "https://accounts.example/o/oauth2/auth",
        "tokenURI": "https://accounts.example/o/oauth2/token",
        "scope": "full_offline_access, test_repo"
    });
    let r = here.send_json_as_admin(Method::POST, APPS, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["dataStore"], 54);
    assert_eq!(created["tenantId"], 1);
    assert_eq!(created["clientId"], "ga-client");
    assert_eq!(created["tokenEndpointAuthMethod"], "client_secret_basic");
    assert!(
        created.get("clientSecret").is_none(),
        "write-only: {created}"
    );

    // List: HDP's shape, without client credentials.
    let r = here.send_as_admin(Method::GET, APPS).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json();
    let first = &list["applications"][0];
    assert_eq!(
        keys(first),
        [
            "authorizeURI",
            "dataStore",
            "description",
            "id",
            "name",
            "scope",
            "tenantId",
            "tokenURI"
        ]
    );
    let r = here
        .send_as_admin(Method::GET, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(r.json()["scope"], "full_offline_access, test_repo");
    assert!(r.json().get("clientSecret").is_none());

    // Names: printable text (HDP's own sample "TenantA OAuth app" has spaces, see
    // security_protocol.rs); blank or padded names are refused.
    let mut bad = body.clone();
    bad["name"] = json!(" Google_Analytics");
    let msg = here
        .send_json_as_admin(Method::POST, APPS, &bad)
        .await
        .hdp_error(400, INVALID_FIELD);
    assert!(msg.contains("'name'") && msg.contains("space"), "{msg}");
    let r = here.send_json_as_admin(Method::POST, APPS, &body).await;
    r.hdp_error(409, APP_NAME_CONFLICT);
    for (field, value) in [
        ("tokenURI", json!("ftp://x.example/token")),
        ("authorizeURI", json!("not a url")),
        ("dataStore", json!(0)),
        ("clientSecret", json!("")),
        ("tokenEndpointAuthMethod", json!("private_key_jwt")),
    ] {
        let mut bad = body.clone();
        bad["name"] = json!("Other");
        bad[field] = value;
        let msg = here
            .send_json_as_admin(Method::POST, APPS, &bad)
            .await
            .hdp_error(400, INVALID_FIELD);
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let mut missing = body.clone();
    missing["name"] = json!("Other");
    missing.as_object_mut().expect("o").remove("tokenURI");
    let msg = here
        .send_json_as_admin(Method::POST, APPS, &missing)
        .await
        .hdp_error(400, INVALID_JSON);
    assert!(msg.contains("tokenURI"), "{msg}");
    let mut unknown = body.clone();
    unknown["secretSauce"] = json!(1);
    let msg = here
        .send_json_as_admin(Method::POST, APPS, &unknown)
        .await
        .hdp_error(400, INVALID_JSON);
    assert!(msg.contains("secretSauce"), "{msg}");
    assert_eq!(
        here.send_as_admin(Method::GET, APPS).await.json()["applications"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "failed requests created nothing"
    );

    // Update: the same body; without clientSecret the sealed secret is kept.
    let before = stored_app(&here, id).await;
    let mut upd = body.clone();
    upd.as_object_mut().expect("o").remove("clientSecret");
    upd["description"] = json!("changed");
    upd["tokenEndpointAuthMethod"] = json!("client_secret_post");
    let r = update_app(&here, id, &upd).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["description"], "changed");
    assert_eq!(r.json()["tokenEndpointAuthMethod"], "client_secret_post");
    let after = stored_app(&here, id).await;
    assert_eq!(after.client_secret_sealed, before.client_secret_sealed);
    upd["tenantId"] = json!(2);
    update_app(&here, id, &upd)
        .await
        .hdp_error(400, INVALID_FIELD);

    // An ordinary user (no OAuth permission 28) manages no application objects.
    here.create_plain_user(BOB, BOB_PASSWORD).await;
    let msg = here
        .send(as_bob(&here, Method::POST, APPS).json(&json!({
            "name": "Bobs", "dataStore": 1, "clientId": "c", "clientSecret": "s",
            "authorizeURI": "https://a.example/a", "tokenURI": "https://a.example/t"
        })))
        .await
        .hdp_error(403, FORBIDDEN);
    assert!(msg.contains("OAuth permission (28)"), "{msg}");
    here.send(as_bob(&here, Method::GET, APPS))
        .await
        .hdp_error(403, FORBIDDEN);

    // A child-tenant user with MgmtAPI (11) + OAuth (28): their own tenant only.
    let r = here
        .send(
            here.as_admin(Method::POST, "/api/admin/tenants")
                .json(&json!({
                    "name": "OrgA", "parentTenant": 1, "status": 1
                })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let org_a = r.json()["id"].as_i64().expect("tenant id");
    let hash = here
        .state
        .ctx
        .hasher
        .hash("Carol-Pass-123")
        .await
        .expect("hash");
    let carol = here
        .state
        .ctx
        .store
        .create_user(NewUser::new(org_a, "carol", hash, vec![], here.clock.now()))
        .await
        .expect("carol");
    here.state
        .ctx
        .store
        .set_role_assignments(
            carol.id,
            &RoleAssignments {
                roles: vec![],
                permissions: vec![11, 28],
            },
        )
        .await
        .expect("grants");
    let as_carol = |m: Method, p: &str| here.as_user(m, p, "carol", "Carol-Pass-123");
    let mut carols = body.clone();
    carols.as_object_mut().expect("o").remove("tenantId");
    let r = here.send(as_carol(Method::POST, APPS).json(&carols)).await;
    assert_eq!(r.status, 201, "same name, another tenant: {}", r.text);
    let carols_id = r.json()["id"].as_i64().expect("id");
    assert_eq!(r.json()["tenantId"], org_a);
    carols["tenantId"] = json!(1);
    carols["name"] = json!("Into_system");
    here.send(as_carol(Method::POST, APPS).json(&carols))
        .await
        .hdp_error(404, TENANT_NOT_FOUND);
    let r = here.send(as_carol(Method::GET, APPS)).await;
    let ids: Vec<i64> = r.json()["applications"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![carols_id]);
    let msg = here
        .send(as_carol(Method::GET, &format!("{APPS}/{id}")))
        .await
        .hdp_error(404, APP_NOT_FOUND);
    assert_eq!(msg, format!("Invalid OAuthApplicationId: {id}"));
    here.send(as_carol(Method::DELETE, &format!("{APPS}/{id}")))
        .await
        .hdp_error(404, APP_NOT_FOUND);
    // The system administrator sees both, and filters by tenant.
    let r = here
        .send_as_admin(Method::GET, &format!("{APPS}?tenantName=OrgA"))
        .await;
    assert_eq!(r.json()["applications"][0]["id"], carols_id);
    assert_eq!(
        here.send_as_admin(Method::GET, APPS).await.json()["applications"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Deleting an application deletes its profiles.
    let r = here
        .send(as_bob(&here, Method::POST, PROFILES).json(&json!({
            "name": "P1", "oauthAppId": id, "refreshToken": "r"
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pid = r.json()["id"].as_i64().expect("id");
    let r = here
        .send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    here.send(as_bob(&here, Method::GET, &format!("{PROFILES}/{pid}")))
        .await
        .hdp_error(404, PROFILE_NOT_FOUND);
    let msg = here
        .send_as_admin(Method::DELETE, &format!("{APPS}/{id}"))
        .await
        .hdp_error(404, APP_NOT_FOUND);
    assert_eq!(msg, format!("Invalid OAuthApplicationId: {id}"));
}

// ---------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------

async fn oauth_profiles_are_their_owners_with_hdp_permissions_and_shapes(b: Backend) {
    let here = spawn_app(b).await;
    let app_id = create_app(
        &here,
        &json!({"name": "Up", "dataStore": 62, "clientId": "c", "clientSecret": "s",
                "authorizeURI": "https://up.example/a", "tokenURI": "https://up.example/t",
                "scope": "offline"}),
    )
    .await;
    here.create_plain_user(BOB, BOB_PASSWORD).await;
    here.create_plain_user(ALICE, ALICE_PASSWORD).await;

    // Required fields and rules.
    let msg = here
        .send(as_bob(&here, Method::POST, PROFILES).json(&json!({
            "name": "P", "oauthAppId": app_id, "accessToken": "a"
        })))
        .await
        .hdp_error(400, INVALID_FIELD);
    assert!(msg.contains("refreshToken"), "{msg}");
    here.send(as_bob(&here, Method::POST, PROFILES).json(&json!({
        "name": "Bad name", "oauthAppId": app_id, "refreshToken": "r"
    })))
    .await
    .hdp_error(400, INVALID_FIELD);
    let msg = here
        .send(as_bob(&here, Method::POST, PROFILES).json(&json!({
            "name": "P", "oauthAppId": 4242, "refreshToken": "r"
        })))
        .await
        .hdp_error(404, APP_NOT_FOUND);
    assert_eq!(msg, "Invalid OAuthApplicationId: 4242");
    here.send(as_bob(&here, Method::POST, PROFILES).json(&json!({
        "name": "P", "refreshToken": "r"
    })))
    .await
    .hdp_error(400, INVALID_JSON);

    let r = here
        .send(as_bob(&here, Method::POST, PROFILES).json(&json!({
            "name": "Bobs", "oauthAppId": app_id.to_string(), "description": "mine",
            "refreshToken": "bob-refresh"
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    let pid = created["id"].as_i64().expect("id");
    assert_eq!(created["oauthAppId"], app_id);
    assert_eq!(created["accessToken"], Value::Null);

    // List: HDP 5.0's fields, with the application's endpoints and the status.
    let r = here.send(as_bob(&here, Method::GET, PROFILES)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let item = &r.json()["profiles"][0];
    assert_eq!(item["id"], pid);
    assert_eq!(item["tokenURI"], "https://up.example/t");
    assert_eq!(item["scope"], "offline");
    assert!(item.get("refreshToken").is_none());

    // Stats: no data sources in Portcullis; the application's data store.
    let r = here
        .send(as_bob(
            &here,
            Method::GET,
            &format!("{PROFILES}/{pid}/stats"),
        ))
        .await;
    assert_eq!(
        r.json(),
        json!({"dataSourcesLinked": 0, "dataStoreId": 62, "dataSources": []})
    );

    // Another user sees nothing; the Administrator sees it without the tokens.
    let as_alice = |m: Method, p: &str| here.as_user(m, p, ALICE, ALICE_PASSWORD);
    assert_eq!(
        here.send(as_alice(Method::GET, PROFILES)).await.json(),
        json!({"profiles": []})
    );
    for (m, p) in [
        (Method::GET, format!("{PROFILES}/{pid}")),
        (Method::GET, format!("{PROFILES}/{pid}/stats")),
        (Method::DELETE, format!("{PROFILES}/{pid}")),
        (Method::POST, format!("{PROFILES}/{pid}/refresh")),
    ] {
        let msg = here
            .send(as_alice(m, &p))
            .await
            .hdp_error(404, PROFILE_NOT_FOUND);
        assert_eq!(msg, format!("Invalid OAuthProfileId: {pid}"));
    }
    let r = here
        .send_as_admin(Method::GET, &format!("{PROFILES}/{pid}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "Bobs");
    assert!(r.json().get("refreshToken").is_none(), "{}", r.text);
    assert!(r.json().get("accessToken").is_none(), "{}", r.text);
    assert_eq!(
        here.send_as_admin(Method::GET, PROFILES).await.json()["profiles"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Only the owner changes it (HDP).
    let upd = json!({"name": "Bobs_2", "oauthAppId": app_id, "refreshToken": "bob-refresh-2",
                     "accessToken": "bob-access-2"});
    here.send_json_as_admin(Method::PUT, &format!("{PROFILES}/{pid}"), &upd)
        .await
        .hdp_error(403, FORBIDDEN);
    let r = here
        .send(as_bob(&here, Method::PUT, &format!("{PROFILES}/{pid}")).json(&upd))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "Bobs_2");
    assert_eq!(r.json()["refreshToken"], "bob-refresh-2");
    assert_eq!(r.json()["accessToken"], "bob-access-2");

    // Permissions 1-4 with MgmtAPI (11): without ViewDataSource (2) no listing.
    here.state
        .ctx
        .store
        .set_role_assignments(
            here.state
                .ctx
                .store
                .user_by_login(SYSTEM_TENANT_ID, ALICE)
                .await
                .expect("r")
                .expect("alice")
                .id,
            &RoleAssignments {
                roles: vec![],
                permissions: vec![1, 11],
            },
        )
        .await
        .expect("grants");
    let msg = here
        .send(as_alice(Method::GET, PROFILES))
        .await
        .hdp_error(403, FORBIDDEN);
    assert!(msg.contains("ViewDataSource permission (2)"), "{msg}");
    let r = here
        .send(as_alice(Method::POST, PROFILES).json(&json!({
            "name": "Alices", "oauthAppId": app_id, "refreshToken": "r"
        })))
        .await;
    assert_eq!(r.status, 201, "CreateDataSource (1) suffices: {}", r.text);
    let alices = r.json()["id"].as_i64().expect("id");
    let msg = here
        .send(as_alice(Method::DELETE, &format!("{PROFILES}/{alices}")))
        .await
        .hdp_error(403, FORBIDDEN);
    assert!(msg.contains("DeleteDataSource permission (4)"), "{msg}");

    // The Administrator deletes Bob's profile: 204, then gone.
    let r = here
        .send_as_admin(Method::DELETE, &format!("{PROFILES}/{pid}"))
        .await;
    assert_eq!(r.status, 204);
    here.send(as_bob(&here, Method::GET, &format!("{PROFILES}/{pid}")))
        .await
        .hdp_error(404, PROFILE_NOT_FOUND);
}

// ---------------------------------------------------------------------------------
// Refresh against a real upstream
// ---------------------------------------------------------------------------------

async fn refresh_calls_the_upstream_with_basic_or_body_auth_and_keeps_rotated_tokens(b: Backend) {
    let (here, up, app_id) = setup(b).await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, app_id, &access, &refresh_token).await;

    // Basic client authentication (the default); no rotation upstream.
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let new_access = v["accessToken"].as_str().expect("access").to_owned();
    assert_ne!(new_access, access);
    assert_eq!(v["refreshToken"], refresh_token.as_str(), "not rotated");
    assert!(
        up.accepts(&new_access).await,
        "a real upstream access token"
    );
    assert_eq!(v["lastRefreshError"], Value::Null);
    assert_eq!(v["lastRefreshedAt"], hdp_timestamp(here.clock.now()));
    assert_eq!(
        v["accessTokenExpiresAt"],
        hdp_timestamp(here.clock.now() + 3600),
        "from the upstream's expires_in"
    );

    // Client authentication in the body.
    let mut body = app_body(&up, "Upstream");
    body["tokenEndpointAuthMethod"] = json!("client_secret_post");
    let r = update_app(&here, app_id, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body_access = r.json()["accessToken"].as_str().expect("a").to_owned();
    assert_ne!(body_access, new_access);
    assert!(up.accepts(&body_access).await);

    // Rotation upstream: the new refresh token is stored and works next time.
    up.set_rotation(true).await;
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rotated = r.json()["refreshToken"].as_str().expect("r").to_owned();
    assert_ne!(rotated, refresh_token, "the rotated token is kept");
    assert_eq!(profile(&here, pid).await["refreshToken"], rotated.as_str());
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "the stored successor works: {}", r.text);
    let again = r.json()["refreshToken"].as_str().expect("r").to_owned();
    assert_ne!(again, rotated);
    assert!(
        up.accepts(r.json()["accessToken"].as_str().expect("a"))
            .await
    );
    // The raw database has none of them in clear.
    for value in raw_vault_columns(&here).await {
        for secret in [&up.client.secret, &again, &rotated, &body_access] {
            assert!(!value.contains(secret.as_str()));
        }
    }
}

/// A TCP relay to `target` that holds each connection for `delay` before relaying, so
/// concurrent requests overlap with the first one's upstream call.
async fn slow_relay(target: &str, delay: Duration) -> String {
    let target = target.strip_prefix("http://").expect("http").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

async fn concurrent_refreshes_of_one_profile_make_one_upstream_call_across_nodes(b: Backend) {
    let (here, up, _) = setup(b).await;
    // A second node on the same database.
    let other = spawn_with(
        vault_config(&here.database_url),
        tempfile::tempdir().expect("dir"),
    )
    .await;
    // Rotation on: a second upstream use of the same refresh token would be reuse,
    // which revokes the whole family at the upstream.
    up.set_rotation(true).await;
    let relay = slow_relay(&up.app.base, Duration::from_millis(700)).await;
    let slow_app = create_app(
        &here,
        &app_body_at(&up, "Slow_upstream", &format!("{relay}/oauth2/token")),
    )
    .await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, slow_app, &access, &refresh_token).await;
    // Bob's credentials are now cached on both nodes: the requests start together.
    profile(&here, pid).await;
    profile(&other, pid).await;

    const N: usize = 8;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let node = if i % 2 == 0 { &here } else { &other };
        let req = as_bob(node, Method::POST, &format!("{PROFILES}/{pid}/refresh"));
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = req.send().await.expect("request");
            (res.status().as_u16(), res.text().await.expect("body"))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let (status, text) = t.await.expect("task");
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        answers.push((
            v["accessToken"].as_str().expect("a").to_owned(),
            v["refreshToken"].as_str().expect("r").to_owned(),
        ));
    }
    let first = answers[0].clone();
    assert!(
        answers.iter().all(|a| *a == first),
        "every caller, on either node, gets the one refresh's tokens: {answers:?}"
    );
    assert_ne!(first.1, refresh_token, "rotated exactly once");
    // Had the upstream seen the old token twice, it would have revoked the family.
    assert!(up.accepts(&first.0).await, "the family is intact upstream");
    let r = refresh(&other, pid).await;
    assert_eq!(r.status, 200, "the successor still refreshes: {}", r.text);
}

async fn an_upstream_revocation_is_reported_with_its_error_and_changes_nothing(b: Backend) {
    let (here, up, app_id) = setup(b).await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, app_id, &access, &refresh_token).await;
    up.revoke(&refresh_token).await;
    let before = stored_profile(&here, pid).await;

    let r = refresh(&here, pid).await;
    let msg = r.hdp_error(502, UPSTREAM_REFUSED);
    assert!(
        msg.contains("invalid_grant"),
        "the upstream's error code: {msg}"
    );
    assert!(msg.contains("unchanged"), "{msg}");
    let after = stored_profile(&here, pid).await;
    assert_eq!(after.access_token_sealed, before.access_token_sealed);
    assert_eq!(after.refresh_token_sealed, before.refresh_token_sealed);
    assert_eq!(after.refresh_lease_until, None, "the lease is released");
    let v = profile(&here, pid).await;
    assert_eq!(v["accessToken"], access.as_str());
    assert_eq!(v["refreshToken"], refresh_token.as_str());
    assert!(v["lastRefreshError"]
        .as_str()
        .is_some_and(|e| e.contains("invalid_grant")));
    assert_eq!(v["lastRefreshedAt"], Value::Null);
    assert_eq!(
        v["nextRefreshAttemptAt"],
        hdp_timestamp(here.clock.now() + 60)
    );

    // A wrong client secret is the upstream's invalid_client, reported the same way.
    let mut body = app_body(&up, "Upstream");
    body["clientSecret"] = json!("not-the-secret");
    update_app(&here, app_id, &body).await;
    let (access2, refresh2) = up.password_tokens().await;
    let r = here
        .send(
            as_bob(&here, Method::PUT, &format!("{PROFILES}/{pid}")).json(&json!({
                "name": "Bobs_upstream", "oauthAppId": app_id,
                "accessToken": access2, "refreshToken": refresh2
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["lastRefreshError"],
        Value::Null,
        "new tokens, new status"
    );
    let msg = refresh(&here, pid).await.hdp_error(502, UPSTREAM_REFUSED);
    assert!(msg.contains("invalid_client"), "{msg}");

    // An unreachable upstream: a clear 502 too.
    let mut body = app_body_at(&up, "Upstream", "http://127.0.0.1:9/oauth2/token");
    body["clientSecret"] = json!(up.client.secret);
    update_app(&here, app_id, &body).await;
    let msg = refresh(&here, pid).await.hdp_error(502, 222209611);
    assert!(msg.contains("could not connect"), "{msg}");
}

/// Each upstream refresh is counted by outcome on `/metrics` (issue 16 item 1).
async fn refreshes_are_counted_by_outcome_in_the_metrics(b: Backend) {
    use crate::metrics::{counter, scrape};
    let (here, up, app_id) = setup(b).await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, app_id, &access, &refresh_token).await;
    let count = |s: &prometheus_parse::Scrape, outcome: &str| {
        counter(
            s,
            "portcullis_vault_refreshes_total",
            &[("outcome", outcome)],
        )
    };
    let before = scrape(&here.http, &here.url("/metrics")).await;
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = profile(&here, pid).await;
    up.revoke(v["refreshToken"].as_str().expect("refresh token"))
        .await;
    refresh(&here, pid).await.hdp_error(502, UPSTREAM_REFUSED);
    let after = scrape(&here.http, &here.url("/metrics")).await;
    assert_eq!(
        count(&after, "succeeded") - count(&before, "succeeded"),
        1.0
    );
    assert_eq!(count(&after, "refused") - count(&before, "refused"), 1.0);
}

/// One sweep of the background refresher, driven by the test (its tick) rather than by
/// its timer: what did not happen is proven by a sweep that did nothing, not by waiting.
/// The application object `id` as stored.
async fn stored_app(here: &TestApp, id: i64) -> OAuthApp {
    let app = here.state.ctx.store.oauth_app(id).await;
    app.expect("read").expect("application")
}

/// The profile `id` as stored.
async fn stored_profile(here: &TestApp, id: i64) -> OAuthProfile {
    let profile = here.state.ctx.store.oauth_profile(id).await;
    profile.expect("read").expect("profile")
}

/// What a sweep reports that refreshed `refreshed` profiles and failed `failed`.
fn swept(refreshed: u64, failed: u64) -> Sweep {
    Sweep {
        refreshed,
        failed,
        skipped: 0,
    }
}

async fn sweep(here: &TestApp) -> Sweep {
    refresher::sweep(&here.state.ctx, &here.state.upstream, 300)
        .await
        .expect("sweep")
}

async fn the_background_refresher_renews_expiring_tokens_and_backs_off_on_failure(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    // The timer stays off: the test calls the sweep itself.
    let here = spawn_with(vault_config(&url), dir).await;
    let up = Upstream::start(b, &here.url("/oauth2callback")).await;
    here.create_plain_user(BOB, BOB_PASSWORD).await;
    let app_id = create_app(&here, &app_body(&up, "Upstream")).await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, app_id, &access, &refresh_token).await;

    // Expiry unknown (pasted): left alone.
    assert_eq!(sweep(&here).await, Sweep::default());
    assert_eq!(profile(&here, pid).await["lastRefreshedAt"], Value::Null);
    // A manual refresh learns the expiry (one hour upstream).
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = r.json()["accessToken"].as_str().expect("a").to_owned();
    // Not yet within the window: nothing to do.
    assert_eq!(sweep(&here).await, Sweep::default());

    // Within the window of expiry, the refresher renews it.
    here.clock.advance(3600 - 200);
    let renewed_at = hdp_timestamp(here.clock.now());
    assert_eq!(sweep(&here).await, swept(1, 0));
    let v = profile(&here, pid).await;
    assert_eq!(v["lastRefreshedAt"], renewed_at.as_str());
    let second = v["accessToken"].as_str().expect("a").to_owned();
    assert_ne!(second, first);
    assert!(up.accepts(&second).await);
    assert_eq!(
        v["accessTokenExpiresAt"],
        hdp_timestamp(here.clock.now() + 3600)
    );

    // Revoked upstream: the failure is shown, with a backoff that doubles.
    up.revoke(&refresh_token).await;
    here.clock.advance(3600 - 200);
    let failed_at = here.clock.now();
    assert_eq!(sweep(&here).await, swept(0, 1));
    let v = profile(&here, pid).await;
    assert!(v["lastRefreshError"]
        .as_str()
        .is_some_and(|e| e.contains("invalid_grant")));
    assert_eq!(v["nextRefreshAttemptAt"], hdp_timestamp(failed_at + 60));
    assert_eq!(v["accessToken"], second.as_str(), "tokens unchanged");
    // No retry before the backoff ends.
    here.clock.advance(59);
    assert_eq!(sweep(&here).await, Sweep::default());
    assert_eq!(stored_profile(&here, pid).await.refresh_failures, 1);
    // After it, one more attempt and twice the wait.
    here.clock.advance(2);
    let retried_at = here.clock.now();
    assert_eq!(sweep(&here).await, swept(0, 1));
    assert_eq!(stored_profile(&here, pid).await.refresh_failures, 2);
    assert_eq!(
        profile(&here, pid).await["nextRefreshAttemptAt"],
        hdp_timestamp(retried_at + 120)
    );
}

async fn the_refresher_runs_on_its_timer_when_enabled(b: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(b, &dir).await;
    let mut config = vault_config(&url);
    config.vault_refresh_enabled = true;
    config.vault_refresh_interval_secs = 1;
    config.vault_refresh_window_secs = 300;
    let here = spawn_with(config, dir).await;
    let up = Upstream::start(b, &here.url("/oauth2callback")).await;
    here.create_plain_user(BOB, BOB_PASSWORD).await;
    let app_id = create_app(&here, &app_body(&up, "Upstream")).await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, app_id, &access, &refresh_token).await;
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Due now: the timer's next sweep renews it (polled for; it must happen).
    here.clock.advance(3600 - 200);
    let renewed_at = hdp_timestamp(here.clock.now());
    eventually(|| async {
        let v = profile(&here, pid).await;
        (v["lastRefreshedAt"] == renewed_at.as_str()).then_some(())
    })
    .await;
}

// ---------------------------------------------------------------------------------
// Connect flow
// ---------------------------------------------------------------------------------

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let url = reqwest::Url::parse(location).expect("absolute location");
    url.query_pairs().into_owned().collect()
}

async fn connect(here: &TestApp, app_id: i64, name: &str) -> Reply {
    here.send(as_bob(
        here,
        Method::GET,
        &format!("{PROFILES}/connect?oauthAppId={app_id}&name={name}"),
    ))
    .await
}

async fn callback(here: &TestApp, query: &str) -> Reply {
    here.send(here.http.get(here.url(&format!("/oauth2callback?{query}"))))
        .await
}

async fn connect_redirects_with_state_and_pkce_and_the_callback_spends_the_state(b: Backend) {
    let (here, up, app_id) = setup(b).await;
    let r = connect(&here, app_id, "Connected_1").await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").expect("location").to_owned();
    assert!(
        location.starts_with(&up.app.url("/oauth2/authorize?")),
        "{location}"
    );
    let q = query_of(&location);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], up.client.client_id);
    assert_eq!(q["redirect_uri"], here.url("/oauth2callback"));
    assert_eq!(q["scope"], "api.access.odata");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["state"].len(), 43);
    // The state is stored only as a verifier.
    if let Backend::Sqlite = b {
        assert!(!contains(&sqlite_bytes(&here), &q["state"]));
    }

    // Bad requests to connect.
    here.send(as_bob(
        &here,
        Method::GET,
        &format!("{PROFILES}/connect?name=X"),
    ))
    .await
    .hdp_error(400, INVALID_FIELD);
    connect(&here, 4242, "X")
        .await
        .hdp_error(404, APP_NOT_FOUND);
    connect(&here, app_id, "bad%20name")
        .await
        .hdp_error(400, INVALID_FIELD);
    let r = here
        .send(as_bob(&here, Method::POST, PROFILES).json(&json!({
            "name": "Taken", "oauthAppId": app_id, "refreshToken": "r"
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    connect(&here, app_id, "Taken")
        .await
        .hdp_error(409, 222209602);
    here.send(as_bob(
        &here,
        Method::DELETE,
        &format!("{PROFILES}/{}", r.json()["id"]),
    ))
    .await;

    // The callback: an unknown state is refused (HTML page, nothing created).
    let r = callback(&here, "state=forged&code=abc").await;
    assert_eq!(r.status, 400);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    assert!(r.text.contains("222209620"), "{}", r.text);
    // The upstream's error is shown and spends the state.
    let state = &q["state"];
    let r = callback(
        &here,
        &format!("state={state}&error=access_denied&error_description=The+user+said+no"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("access_denied") && r.text.contains("The user said no"));
    let r = callback(&here, &format!("state={state}&code=abc")).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text.contains("222209620"),
        "a state works once: {}",
        r.text
    );

    // A code the upstream does not know: its invalid_grant, and no profile.
    let r = connect(&here, app_id, "Connected_2").await;
    let state = query_of(r.header("location").expect("location"))["state"].clone();
    let r = callback(&here, &format!("state={state}&code=not-a-real-code")).await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert!(r.text.contains("invalid_grant"), "{}", r.text);
    assert_eq!(
        here.send(as_bob(&here, Method::GET, PROFILES)).await.json(),
        json!({"profiles": []})
    );
    // An expired state is refused.
    let r = connect(&here, app_id, "Connected_3").await;
    let state = query_of(r.header("location").expect("location"))["state"].clone();
    here.clock.advance(601);
    let r = callback(&here, &format!("state={state}&code=abc")).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("222209620"), "{}", r.text);
}

// ---------------------------------------------------------------------------------
// The whole connect flow through the upstream's login and consent pages
// ---------------------------------------------------------------------------------

/// A browser by hand over the upstream's pages: a cookie jar, redirects followed
/// one by one, and HTML forms submitted with their hidden fields (CSRF token
/// included).
pub(crate) struct Browser<'a> {
    pub(crate) up: &'a TestApp,
    pub(crate) cookies: std::collections::BTreeMap<String, String>,
}

/// One HTML form: its action and the fields a user would send.
#[derive(Debug)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

/// The value of attribute `name` in the tag text `tag` (double-quoted values).
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let rest = &tag[i..];
    Some(crate::helpers::unescape_html(&rest[..rest.find('"')?]))
}

/// The forms of `html`, in document order, with inputs filled for `user`: hidden and
/// text fields keep their values, `username` gets the user, password fields the
/// password, and of named submit buttons the one that approves is pressed.
fn forms(html: &str, user: &str, password: &str) -> Vec<Form> {
    let mut out = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let body = &chunk[..chunk.find("</form>").unwrap_or(chunk.len())];
        let open = &body[..body.find('>').unwrap_or(body.len())];
        let mut fields = Vec::new();
        for input in body.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            let value = match (kind.as_str(), name.as_str()) {
                ("password", _) => password.to_owned(),
                (_, "username" | "login" | "user") => user.to_owned(),
                _ => attr(tag, "value").unwrap_or_default(),
            };
            fields.push((name, value));
        }
        for button in body.split("<button").skip(1) {
            let tag = &button[..button.find('>').unwrap_or(button.len())];
            if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
                if ["allow", "approve", "accept", "yes"].contains(&v.to_lowercase().as_str()) {
                    fields.push((n, v));
                }
            }
        }
        out.push(Form {
            action: attr(open, "action").unwrap_or_default(),
            fields,
        });
    }
    out
}

impl<'a> Browser<'a> {
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            self.up.url(location)
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Reply {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = if jar.is_empty() {
            req
        } else {
            req.header("cookie", jar.join("; "))
        };
        let r = self.up.send(req).await;
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            let pair = v.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || v.to_ascii_lowercase().contains("max-age=0") {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_owned(), val.to_owned());
                }
            }
        }
        r
    }

    /// Follows the upstream from `start` (its authorization URL) through its login and
    /// consent pages as `user`, until it redirects to `callback`; returns that URL.
    pub(crate) async fn authorize(
        &mut self,
        start: &str,
        callback: &str,
        user: &str,
        password: &str,
    ) -> String {
        let mut r = self.send(self.up.http.get(start)).await;
        let mut seen = Vec::new();
        for _ in 0..10 {
            if (300..400).contains(&r.status) {
                let location = self.absolute(r.header("location").expect("Location"));
                if location.starts_with(callback) {
                    return location;
                }
                seen.push(format!("{} → {location}", r.status));
                r = self.send(self.up.http.get(&location)).await;
                continue;
            }
            assert_eq!(r.status, 200, "after {seen:?}: {}", r.text);
            let form = forms(&r.text, user, password)
                .into_iter()
                .find(|f| !f.action.contains("logout"))
                .unwrap_or_else(|| panic!("no form to submit after {seen:?}: {}", r.text));
            seen.push(format!("form {}", form.action));
            let action = self.absolute(&form.action);
            r = self
                .send(self.up.http.post(&action).form(&form.fields))
                .await;
        }
        panic!("never reached {callback}: {seen:?}");
    }
}

async fn the_connect_flow_creates_a_profile_through_the_upstreams_login_and_consent(b: Backend) {
    let (here, up, app_id) = setup(b).await;
    let r = connect(&here, app_id, "Connected_e2e").await;
    assert_eq!(r.status, 302, "{}", r.text);
    let start = r.header("location").expect("location").to_owned();
    let mut browser = Browser {
        up: &up.app,
        cookies: Default::default(),
    };
    let back = browser
        .authorize(&start, &here.url("/oauth2callback"), ALICE, ALICE_PASSWORD)
        .await;
    let q = query_of(&back);
    assert!(q.contains_key("code"), "{back}");
    // The browser lands on our callback, which exchanges the code (with PKCE).
    let r = here.send(here.http.get(&back)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.contains("Connected_e2e"), "{}", r.text);
    let list = here.send(as_bob(&here, Method::GET, PROFILES)).await.json();
    let item = &list["profiles"][0];
    assert_eq!(item["name"], "Connected_e2e");
    let pid = item["id"].as_i64().expect("id");
    let v = profile(&here, pid).await;
    let access = v["accessToken"].as_str().expect("access").to_owned();
    assert!(up.accepts(&access).await, "working upstream tokens");
    assert_eq!(
        v["accessTokenExpiresAt"],
        hdp_timestamp(here.clock.now() + 3600)
    );
    // The callback cannot be replayed, and the tokens refresh.
    let r = here.send(here.http.get(&back)).await;
    assert_eq!(r.status, 400);
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        up.accepts(r.json()["accessToken"].as_str().expect("a"))
            .await
    );

    // The trail holds the connection once (the replayed callback added none), and
    // not the upstream's token.
    let r = here
        .send_as_admin(Method::GET, "/api/admin/events?type=vault_connected")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains(&access), "a token in the audit trail");
    let events = r.json()["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        events[0]["subject"],
        format!("oauth_profile {pid}").as_str()
    );
    assert_eq!(events[0]["outcome"], "success");
}

/// The vault's audit events (issue 16 item 2): a profile connected, refreshed and
/// failing to refresh, each once, in the owner's tenant, holding no token or secret.
async fn the_vault_records_connected_refreshed_and_failed_once_and_no_token(b: Backend) {
    let (here, up, app_id) = setup(b).await;
    let (access, refresh_token) = up.password_tokens().await;
    let pid = bobs_profile(&here, app_id, &access, &refresh_token).await;
    let r = refresh(&here, pid).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_access = r.json()["accessToken"].as_str().expect("a").to_owned();
    up.revoke(&refresh_token).await;
    refresh(&here, pid).await.hdp_error(502, UPSTREAM_REFUSED);

    let r = here
        .send_as_admin(Method::GET, "/api/admin/events?limit=500")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let events = r.json()["events"].as_array().expect("events").clone();
    let of = |t: &str| {
        events
            .iter()
            .filter(|e| e["type"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };
    let subject = format!("oauth_profile {pid}");
    for (t, outcome) in [
        ("vault_connected", "success"),
        ("vault_refreshed", "success"),
        ("vault_failed", "failure"),
    ] {
        let list = of(t);
        assert_eq!(list.len(), 1, "{t}: {events:#?}");
        assert_eq!(list[0]["subject"], subject.as_str());
        assert_eq!(list[0]["outcome"], outcome);
    }
    let text = r.text;
    for secret in [&access, &refresh_token, &new_access, &up.client.secret] {
        assert!(!text.contains(secret.as_str()), "a token in the events");
    }
}

backends!(
    seed_002_sample_payload_returns_the_documented_201_shape_and_is_sealed_at_rest,
    oauth_apps_follow_hdp_fields_names_permissions_and_tenants,
    oauth_profiles_are_their_owners_with_hdp_permissions_and_shapes,
    refresh_calls_the_upstream_with_basic_or_body_auth_and_keeps_rotated_tokens,
    concurrent_refreshes_of_one_profile_make_one_upstream_call_across_nodes,
    an_upstream_revocation_is_reported_with_its_error_and_changes_nothing,
    refreshes_are_counted_by_outcome_in_the_metrics,
    the_background_refresher_renews_expiring_tokens_and_backs_off_on_failure,
    the_refresher_runs_on_its_timer_when_enabled,
    connect_redirects_with_state_and_pkce_and_the_callback_spends_the_state,
    the_connect_flow_creates_a_profile_through_the_upstreams_login_and_consent,
    the_vault_records_connected_refreshed_and_failed_once_and_no_token,
);
