//! HDP's Limits API (reference §3.3–§3.4, SPEC §4.6): the catalogue, system and tenant
//! values, HDP's range error, who may read and change what, and the lockout following
//! limits changed through the API.

use crate::helpers::{backends, spawn_app, Backend, TestApp};
use portcullis_core::limits::{oauth_limits, system_oauth_limits, OauthLimits};
use portcullis_core::model::identity::{NewUser, Tenant, User, ROLE_USER, SYSTEM_TENANT_ID};
use reqwest::Method;
use serde_json::{json, Value};

const LIMITS: &str = "/api/admin/limits";
const SYSTEM: &str = "/api/admin/limits/system";
const APPS: &str = "/api/mgmt/oauth/client/applications";
const PASSWORD: &str = "Limits-Password-1";

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn tenant_path(tenant: i64, limit: i64) -> String {
    format!("{LIMITS}/tenants/{tenant}/{limit}")
}

/// A tenant with copies of the system roles Administrator (1) and User (2).
async fn tenant(app: &TestApp, name: &str) -> Tenant {
    app.create_tenant(name, &[1, ROLE_USER]).await
}

/// A user of `tenant` with these roles and explicit permissions.
async fn user(
    app: &TestApp,
    tenant: i64,
    login: &str,
    roles: Vec<i64>,
    permissions: Vec<i64>,
) -> User {
    let hash = app.state.ctx.hasher.hash(PASSWORD).await.expect("hash");
    let mut new = NewUser::new(tenant, login, hash, roles, 0);
    new.permissions = permissions;
    app.state.ctx.store.create_user(new).await.expect("user")
}

/// A child-tenant Administrator (permission 12 through the tenant's copied role).
async fn tenant_admin(app: &TestApp, t: &Tenant, login: &str) -> User {
    let admin_role = app.role_id(t.id, "Administrator").await;
    user(app, t.id, login, vec![admin_role], vec![]).await
}

async fn put_as(app: &TestApp, login: &str, path: &str, body: Value) -> crate::helpers::Reply {
    app.send(app.as_user(Method::PUT, path, login, PASSWORD).json(&body))
        .await
}

async fn get_as(app: &TestApp, login: &str, path: &str) -> crate::helpers::Reply {
    app.send_as(Method::GET, path, login, PASSWORD).await
}

async fn delete_as(app: &TestApp, login: &str, path: &str) -> crate::helpers::Reply {
    app.send_as(Method::DELETE, path, login, PASSWORD).await
}

async fn admin_put(app: &TestApp, path: &str, body: Value) -> crate::helpers::Reply {
    app.send_json_as_admin(Method::PUT, path, &body).await
}

/// The value answered by a GET as the initial administrator.
async fn admin_value(app: &TestApp, path: &str) -> i64 {
    let r = app.send_as_admin(Method::GET, path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(keys(&v), ["value"]);
    v["value"].as_i64().expect("value")
}

async fn the_catalogue_lists_lockout_and_oauth_limits_with_ranges_and_levels(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.send_as_admin(Method::GET, LIMITS).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(keys(&v), ["limits"]);
    let limits = v["limits"].as_array().expect("limits");
    for l in limits {
        assert_eq!(
            keys(l),
            [
                "defaultValue",
                "description",
                "id",
                "maxValue",
                "minValue",
                "name",
                "validForLimits"
            ]
        );
        assert!(!l["description"].as_str().expect("description").is_empty());
    }
    let summary: Vec<Value> = limits
        .iter()
        .map(|l| {
            json!([
                l["id"],
                l["name"],
                l["defaultValue"],
                l["minValue"],
                l["maxValue"],
                l["validForLimits"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!([2, "PasswordLockoutInterval", 900, 1, 1_000_000_000, 1]),
            json!([3, "PasswordLockoutLimit", 3, 0, 1_000_000, 1]),
            json!([4, "PasswordLockoutPeriod", 1800, 1, 221_000_000_000_i64, 1]),
            json!([1001, "AccessTokenLifetime", 3600, 60, 86_400, 3]),
            json!([1002, "RefreshTokenLifetime", 0, 0, 315_360_000, 3]),
            json!([1003, "RefreshTokenRotation", 0, 0, 1, 3]),
            json!([1004, "AuthorizationCodeLifetime", 60, 10, 600, 3]),
            json!([1005, "AuditEventRetentionDays", 90, 1, 3650, 3]),
        ]
    );
}

async fn system_values_are_the_defaults_until_set_and_again_after_a_reset(b: Backend) {
    let app = spawn_app(b).await;
    let all = app.send_as_admin(Method::GET, SYSTEM).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        all.json(),
        json!({"limits": [
            {"id": 2, "value": 900}, {"id": 3, "value": 3}, {"id": 4, "value": 1800},
            {"id": 1001, "value": 3600}, {"id": 1002, "value": 0}, {"id": 1003, "value": 0},
            {"id": 1004, "value": 60}, {"id": 1005, "value": 90}
        ]})
    );

    let path = format!("{SYSTEM}/1001");
    let r = admin_put(&app, &path, json!({"value": 7200})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"value": 7200}));
    assert_eq!(admin_value(&app, &path).await, 7200);
    let all = app.send_as_admin(Method::GET, SYSTEM).await.json();
    assert_eq!(all["limits"][3], json!({"id": 1001, "value": 7200}));
    let store = app.state.ctx.store.as_ref();
    assert_eq!(
        system_oauth_limits(store)
            .await
            .expect("limits")
            .access_token_lifetime,
        7200
    );

    // HDP's configuration API sends values as strings; they are accepted here too.
    let r = admin_put(&app, &path, json!({"value": "1800"})).await;
    assert_eq!(r.json(), json!({"value": 1800}));

    let r = app.send_as_admin(Method::DELETE, &path).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(admin_value(&app, &path).await, 3600);
    assert_eq!(
        system_oauth_limits(store).await.expect("limits"),
        OauthLimits::default()
    );
    // A reset of an unset value is not an error.
    assert_eq!(app.send_as_admin(Method::DELETE, &path).await.status, 204);
}

async fn values_out_of_range_get_hdps_range_error(b: Backend) {
    let app = spawn_app(b).await;
    let cases = [
        (
            format!("{SYSTEM}/1001"),
            59,
            "Limit value not in range(60, 86400).",
        ),
        (
            format!("{SYSTEM}/1001"),
            86_401,
            "Limit value not in range(60, 86400).",
        ),
        (
            format!("{SYSTEM}/1002"),
            -1,
            "Limit value not in range(0, 315360000).",
        ),
        (
            format!("{SYSTEM}/1003"),
            2,
            "Limit value not in range(0, 1).",
        ),
        (
            format!("{SYSTEM}/2"),
            0,
            "Limit value not in range(1, 1000000000).",
        ),
        (
            format!("{SYSTEM}/3"),
            -1,
            "Limit value not in range(0, 1000000).",
        ),
        (
            tenant_path(SYSTEM_TENANT_ID, 1004),
            9,
            "Limit value not in range(10, 600).",
        ),
        (
            tenant_path(SYSTEM_TENANT_ID, 1004),
            601,
            "Limit value not in range(10, 600).",
        ),
    ];
    for (path, value, message) in cases {
        let r = admin_put(&app, &path, json!({ "value": value })).await;
        assert_eq!(r.hdp_error(400, 222207929), message, "{path} {value}");
    }
    assert_eq!(admin_value(&app, &format!("{SYSTEM}/1001")).await, 3600);
    assert_eq!(
        admin_value(&app, &tenant_path(SYSTEM_TENANT_ID, 1004)).await,
        60
    );
    // The bounds themselves are in range.
    for (limit, value) in [(1001, 60), (1001, 86_400), (1002, 315_360_000), (3, 0)] {
        let r = admin_put(
            &app,
            &format!("{SYSTEM}/{limit}"),
            json!({ "value": value }),
        )
        .await;
        assert_eq!(r.status, 200, "{limit}={value}: {}", r.text);
    }
}

async fn unknown_limits_wrong_levels_and_bad_ids_are_refused_clearly(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send_as_admin(Method::GET, &format!("{SYSTEM}/999"))
        .await;
    assert_eq!(
        r.hdp_error(404, 222209301),
        "There is no limit with id 999; GET /api/admin/limits lists them."
    );
    // HDP's data-source limits (1 MaxFetchRows …) do not exist here.
    admin_put(&app, &format!("{SYSTEM}/1"), json!({"value": 5}))
        .await
        .hdp_error(404, 222209301);
    app.send_as_admin(Method::DELETE, &tenant_path(1, 999))
        .await
        .hdp_error(404, 222209301);

    // The lockout limits are system-only, as in HDP.
    let r = app
        .send_as_admin(Method::GET, &tenant_path(SYSTEM_TENANT_ID, 3))
        .await;
    assert_eq!(
        r.hdp_error(400, 222209302),
        "Limit 3 (PasswordLockoutLimit) cannot be set at the tenant level; it is valid at the system level only."
    );
    admin_put(&app, &tenant_path(SYSTEM_TENANT_ID, 2), json!({"value": 5}))
        .await
        .hdp_error(400, 222209302);
    app.send_as_admin(Method::DELETE, &tenant_path(SYSTEM_TENANT_ID, 4))
        .await
        .hdp_error(400, 222209302);

    for path in [
        format!("{SYSTEM}/abc"),
        format!("{SYSTEM}/0"),
        format!("{SYSTEM}/-3"),
        format!("{LIMITS}/tenants/x/1001"),
        format!("{LIMITS}/tenants/1/1.5"),
        format!("{LIMITS}/tenants/0/1001"),
    ] {
        let msg = app
            .send_as_admin(Method::GET, &path)
            .await
            .hdp_error(400, 222209013);
        assert!(msg.contains("positive integers"), "{path}: {msg}");
    }

    let r = app
        .send_as_admin(Method::GET, &tenant_path(999, 1001))
        .await;
    assert_eq!(
        r.hdp_error(404, 222208573),
        "There is no Tenant with that id: 999."
    );
}

async fn a_tenant_value_overrides_the_system_value_for_that_tenant_only(b: Backend) {
    let app = spawn_app(b).await;
    let acme = tenant(&app, "acme").await;
    let beta = tenant(&app, "beta").await;
    let store = app.state.ctx.store.as_ref();
    admin_put(&app, &format!("{SYSTEM}/1001"), json!({"value": 1800})).await;
    let r = admin_put(&app, &tenant_path(acme.id, 1001), json!({"value": 900})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"value": 900}));
    assert_eq!(admin_value(&app, &tenant_path(acme.id, 1001)).await, 900);
    assert_eq!(admin_value(&app, &tenant_path(beta.id, 1001)).await, 1800);
    assert_eq!(admin_value(&app, &tenant_path(beta.id, 1004)).await, 60);
    assert_eq!(admin_value(&app, &format!("{SYSTEM}/1001")).await, 1800);

    admin_put(&app, &tenant_path(acme.id, 1002), json!({"value": 86_400})).await;
    admin_put(&app, &tenant_path(acme.id, 1003), json!({"value": 1})).await;
    assert_eq!(
        oauth_limits(store, acme.id).await.expect("limits"),
        OauthLimits {
            access_token_lifetime: 900,
            refresh_token_lifetime: Some(86_400),
            refresh_rotation: true,
            code_lifetime: 60,
        }
    );
    let beta_limits = oauth_limits(store, beta.id).await.expect("limits");
    assert_eq!(beta_limits.access_token_lifetime, 1800);
    assert_eq!(beta_limits.refresh_token_lifetime, None);
    assert!(!beta_limits.refresh_rotation);

    let r = app
        .send_as_admin(Method::DELETE, &tenant_path(acme.id, 1001))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(admin_value(&app, &tenant_path(acme.id, 1001)).await, 1800);
    assert_eq!(
        oauth_limits(store, acme.id)
            .await
            .expect("limits")
            .access_token_lifetime,
        1800
    );
}

async fn changing_the_lockout_limit_through_the_api_changes_the_lockout(b: Backend) {
    let app = spawn_app(b).await;
    app.create_plain_user("alice", "Alice-Password-1").await;
    let wrong = || app.send(app.as_user(Method::GET, APPS, "alice", "wrong"));
    assert_eq!(
        admin_put(&app, &format!("{SYSTEM}/3"), json!({"value": 1}))
            .await
            .status,
        200
    );
    assert_eq!(
        admin_put(&app, &format!("{SYSTEM}/4"), json!({"value": 60}))
            .await
            .status,
        200
    );
    let r = wrong().await;
    r.hdp_error(401, 222209003);
    assert_eq!(r.header("retry-after"), Some("60"));
    app.clock.advance(61);

    // 0 turns lockout off.
    admin_put(&app, &format!("{SYSTEM}/3"), json!({"value": 0})).await;
    for _ in 0..5 {
        wrong().await.hdp_error(401, 222209002);
    }

    // Back to HDP's defaults: three failures lock for 1800 s.
    for limit in [3, 4] {
        let r = app
            .send_as_admin(Method::DELETE, &format!("{SYSTEM}/{limit}"))
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    app.clock.advance(901);
    wrong().await.hdp_error(401, 222209002);
    wrong().await.hdp_error(401, 222209002);
    let r = wrong().await;
    r.hdp_error(401, 222209003);
    assert_eq!(r.header("retry-after"), Some("1800"));
}

async fn permissions_decide_who_reads_and_changes_limits(b: Backend) {
    let app = spawn_app(b).await;
    let acme = tenant(&app, "acme").await;
    user(&app, SYSTEM_TENANT_ID, "plain", vec![ROLE_USER], vec![]).await;
    let limiter = user(&app, SYSTEM_TENANT_ID, "limiter", vec![ROLE_USER], vec![27]).await;
    tenant_admin(&app, &acme, "acme-admin").await;
    let acme_user_role = app.role_id(acme.id, "User").await;
    user(
        &app,
        acme.id,
        "acme-limiter",
        vec![acme_user_role],
        vec![27],
    )
    .await;
    let sys_1001 = format!("{SYSTEM}/1001");
    let acme_1001 = tenant_path(acme.id, 1001);

    // Without Administrator (12) or Limits (27): 403, naming what is missing.
    let msg = get_as(&app, "plain", LIMITS)
        .await
        .hdp_error(403, 222209005);
    assert_eq!(
        msg,
        "Permission denied: Reading the limits catalogue requires the Administrator (12) or Limits (27) permission."
    );
    for r in [
        get_as(&app, "plain", SYSTEM).await,
        get_as(&app, "plain", &sys_1001).await,
        put_as(&app, "plain", &sys_1001, json!({"value": 120})).await,
        delete_as(&app, "plain", &sys_1001).await,
        get_as(&app, "plain", &tenant_path(SYSTEM_TENANT_ID, 1001)).await,
        put_as(
            &app,
            "plain",
            &tenant_path(SYSTEM_TENANT_ID, 1001),
            json!({"value": 120}),
        )
        .await,
    ] {
        assert!(r.hdp_error(403, 222209005).contains("Limits (27)"));
    }

    // Limits (27) in the system tenant: reads and changes system limits.
    assert_eq!(get_as(&app, "limiter", LIMITS).await.status, 200);
    let r = put_as(&app, "limiter", &sys_1001, json!({"value": 120})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(admin_value(&app, &sys_1001).await, 120);
    assert_eq!(delete_as(&app, "limiter", &sys_1001).await.status, 204);
    // … but a tenant's limits only with admin access to that tenant.
    let own = tenant_path(SYSTEM_TENANT_ID, 1001);
    let msg = put_as(&app, "limiter", &own, json!({"value": 120}))
        .await
        .hdp_error(403, 222209005);
    assert!(msg.contains("admin access"), "{msg}");
    put_as(&app, "limiter", &acme_1001, json!({"value": 120}))
        .await
        .hdp_error(404, 222208573);
    app.state
        .ctx
        .store
        .set_tenant_admins(acme.id, &[limiter.id])
        .await
        .expect("admins");
    assert_eq!(
        put_as(&app, "limiter", &acme_1001, json!({"value": 120}))
            .await
            .status,
        200
    );

    // A child tenant's Administrator reads system values but changes only their tenant's.
    assert_eq!(get_as(&app, "acme-admin", LIMITS).await.status, 200);
    assert_eq!(get_as(&app, "acme-admin", SYSTEM).await.status, 200);
    assert_eq!(get_as(&app, "acme-admin", &sys_1001).await.status, 200);
    for r in [
        put_as(&app, "acme-admin", &sys_1001, json!({"value": 120})).await,
        delete_as(&app, "acme-admin", &sys_1001).await,
    ] {
        let msg = r.hdp_error(403, 222209005);
        assert!(msg.contains("system tenant"), "{msg}");
        assert!(
            msg.contains(&format!("/api/admin/limits/tenants/{}/", acme.id)),
            "{msg}"
        );
    }
    assert_eq!(admin_value(&app, &sys_1001).await, 3600);
    let r = put_as(&app, "acme-admin", &acme_1001, json!({"value": 300})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = get_as(&app, "acme-admin", &acme_1001).await;
    assert_eq!(r.json(), json!({"value": 300}));
    assert_eq!(delete_as(&app, "acme-admin", &acme_1001).await.status, 204);

    // Limits (27) in a child tenant without admin access to it: told why.
    let msg = get_as(&app, "acme-limiter", &acme_1001)
        .await
        .hdp_error(403, 222209005);
    assert!(msg.contains("admin access"), "{msg}");
    put_as(&app, "acme-limiter", &sys_1001, json!({"value": 120}))
        .await
        .hdp_error(403, 222209005);
}

async fn other_tenants_limits_are_invisible(b: Backend) {
    let app = spawn_app(b).await;
    let acme = tenant(&app, "acme").await;
    let beta = tenant(&app, "beta").await;
    tenant_admin(&app, &acme, "acme-admin").await;
    admin_put(&app, &tenant_path(beta.id, 1001), json!({"value": 600})).await;
    for target in [beta.id, SYSTEM_TENANT_ID, 999] {
        let path = tenant_path(target, 1001);
        let expected = format!("There is no Tenant with that id: {target}.");
        let replies = [
            get_as(&app, "acme-admin", &path).await,
            put_as(&app, "acme-admin", &path, json!({"value": 60})).await,
            delete_as(&app, "acme-admin", &path).await,
            // Even a limit id that does not exist reveals nothing about the tenant.
            get_as(&app, "acme-admin", &tenant_path(target, 999)).await,
        ];
        for r in replies {
            assert_eq!(r.hdp_error(404, 222208573), expected);
        }
    }
    assert_eq!(admin_value(&app, &tenant_path(beta.id, 1001)).await, 600);
    assert_eq!(
        admin_value(&app, &tenant_path(SYSTEM_TENANT_ID, 1001)).await,
        3600
    );
}

async fn bad_json_is_refused_naming_the_problem(b: Backend) {
    let app = spawn_app(b).await;
    let path = format!("{SYSTEM}/1001");
    let raw = |body: &'static str| {
        app.as_admin(Method::PUT, &path)
            .header("content-type", "application/json")
            .body(body)
    };
    let r = app
        .send(app.as_admin(Method::PUT, &path).body("{\"value\":120}"))
        .await;
    r.hdp_error(415, 222209011);
    let cases = [
        ("[120]", "must be a JSON object"),
        ("{\"value\":120", "Invalid JSON Input"),
        ("{}", "value"),
        ("{\"value\":120,\"unit\":\"s\"}", "unit"),
        ("{\"value\":3.5}", "3.5 is not an integer"),
        ("{\"value\":\"soon\"}", "'soon' is not an integer"),
        ("{\"value\":null}", "value"),
        ("{\"value\":99999999999999999999}", "not an integer"),
        ("{\"value\":18446744073709551615}", "too large"),
    ];
    for (body, needle) in cases {
        let msg = app.send(raw(body)).await.hdp_error(400, 222207007);
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    // Tenant level too, after the path and before the tenant is looked at.
    let acme = tenant(&app, "acme").await;
    let r = app
        .send(
            app.as_admin(Method::PUT, &tenant_path(acme.id, 1001))
                .header("content-type", "application/json")
                .body("{\"val\":1}"),
        )
        .await;
    assert!(r.hdp_error(400, 222207007).contains("val"));
    assert_eq!(admin_value(&app, &path).await, 3600);
}

async fn every_limits_endpoint_requires_credentials(b: Backend) {
    let app = spawn_app(b).await;
    let t = tenant_path(SYSTEM_TENANT_ID, 1001);
    let s = format!("{SYSTEM}/1001");
    for (method, path) in [
        (Method::GET, LIMITS),
        (Method::GET, SYSTEM),
        (Method::GET, s.as_str()),
        (Method::PUT, s.as_str()),
        (Method::DELETE, s.as_str()),
        (Method::GET, t.as_str()),
        (Method::PUT, t.as_str()),
        (Method::DELETE, t.as_str()),
    ] {
        let r = app
            .send(
                app.http
                    .request(method.clone(), app.url(path))
                    .json(&json!({"value": 60})),
            )
            .await;
        r.hdp_error(401, 222209001);
        let r = app
            .send(
                app.as_user(method, path, "nobody", "wrong")
                    .json(&json!({"value": 60})),
            )
            .await;
        r.hdp_error(401, 222209002);
    }
}

backends!(
    the_catalogue_lists_lockout_and_oauth_limits_with_ranges_and_levels,
    system_values_are_the_defaults_until_set_and_again_after_a_reset,
    values_out_of_range_get_hdps_range_error,
    unknown_limits_wrong_levels_and_bad_ids_are_refused_clearly,
    a_tenant_value_overrides_the_system_value_for_that_tenant_only,
    changing_the_lockout_limit_through_the_api_changes_the_lockout,
    permissions_decide_who_reads_and_changes_limits,
    other_tenants_limits_are_invisible,
    bad_json_is_refused_naming_the_problem,
    every_limits_endpoint_requires_credentials,
);
