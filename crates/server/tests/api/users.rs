//! The Users and Permissions APIs (HDP §3.1, §3.4, §3.5) and the caller's own view.

use crate::client_apps::{keys, put_ok};
use crate::helpers::{backends, spawn_app, Backend, TestApp};
use portcullis_core::clock::Clock;
use portcullis_core::model::identity::{ROLE_ADMINISTRATOR, ROLE_TENANT_ADMINISTRATOR, ROLE_USER};
use reqwest::Method;
use serde_json::{json, Value};

const USERS: &str = "/api/admin/users";

fn alice() -> Value {
    json!({
        "userName": "alice",
        "statusInfo": {"status": 1},
        "passwordInfo": {"password": "Correct-Horse-1"},
        "permissions": {"roles": [ROLE_USER], "permissions": []}
    })
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let r = app.send(app.as_admin(Method::POST, USERS).json(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()
}

/// Alice (the sample user) created through the API: her id.
async fn create_alice(app: &TestApp) -> i64 {
    create(app, &alice()).await["id"].as_i64().expect("id")
}

/// A child tenant with copies of roles 1–3; returns (tenant id, its Administrator, User, Tenant Administrator role ids).
async fn child_tenant(app: &TestApp, name: &str) -> (i64, i64, i64, i64) {
    let t = app
        .create_tenant(
            name,
            &[ROLE_ADMINISTRATOR, ROLE_USER, ROLE_TENANT_ADMINISTRATOR],
        )
        .await;
    let roles = app.state.ctx.store.roles(t.id).await.expect("roles");
    (t.id, roles[0].id, roles[1].id, roles[2].id)
}

async fn users_are_created_shown_and_can_sign_in(b: Backend) {
    let app = spawn_app(b).await;
    let v = create(&app, &alice()).await;
    assert_eq!(v["userName"], "alice");
    assert_eq!(v["tenantId"], 1);
    assert_eq!(v["tenantName"], "system");
    assert_eq!(
        v["statusInfo"],
        json!({"status": 1, "accountLocked": false, "accountLockedAt": null, "accountLockedUntil": null})
    );
    assert_eq!(
        v["passwordInfo"],
        json!({"passwordStatus": 1, "passwordExpiration": null})
    );
    assert_eq!(v["permissions"], json!({"roles": [2], "permissions": []}));
    assert_eq!(
        v["authenticationInfo"],
        json!({"authUsers": [{"authUserName": "alice", "authServiceId": 1}]})
    );
    assert_eq!(v["hasApiSecret"], false);
    assert!(!v.to_string().contains("Correct-Horse-1"));
    let id = v["id"].as_i64().expect("id");

    let me = app
        .send_as(Method::GET, "/api/mgmt/user", "alice", "Correct-Horse-1")
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["userId"], id);
    assert_eq!(
        me.json()["permissions"],
        json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    );
    let mine = app
        .send_as(
            Method::GET,
            "/api/mgmt/permissions",
            "alice",
            "Correct-Horse-1",
        )
        .await;
    assert_eq!(
        mine.json(),
        json!({"userId": id, "permissions": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]})
    );

    let got = app
        .send_as_admin(Method::GET, &format!("{USERS}/{id}"))
        .await;
    assert_eq!(got.json(), v);
    let list = app.send_as_admin(Method::GET, USERS).await.json();
    let names: Vec<&str> = list["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    assert_eq!(names, ["admin", "alice"]);
    let by_name = app
        .send_as_admin(Method::GET, &format!("{USERS}?tenantName=system"))
        .await
        .json();
    assert_eq!(by_name["users"].as_array().map(Vec::len), Some(2));
    app.send_as_admin(Method::GET, &format!("{USERS}?tenantName=nope"))
        .await
        .hdp_error(404, 222208573);
    // A user sees themself without ViewUsers.
    let own = app
        .send_as(
            Method::GET,
            &format!("{USERS}/{id}"),
            "alice",
            "Correct-Horse-1",
        )
        .await;
    assert_eq!(own.status, 200);
}

async fn invalid_users_are_refused_with_a_clear_message(b: Backend) {
    let app = spawn_app(b).await;
    let with = |path: &str, v: Value| {
        let mut body = alice();
        let mut target = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            target = &mut target[*p];
        }
        target[parts[parts.len() - 1]] = v;
        body
    };
    let cases: Vec<(Value, u16, u32, &str)> = vec![
        (
            with("passwordInfo.password", json!("short")),
            400,
            222209010,
            "8 to 128 characters",
        ),
        (
            with("passwordInfo.password", json!("my-alice-pw-1")),
            400,
            222209010,
            "must not contain the user name",
        ),
        (
            with("passwordInfo", json!({})),
            400,
            222209010,
            "'passwordInfo.password': is required",
        ),
        (
            with("statusInfo.status", json!(7)),
            400,
            222209010,
            "7 is not 0 (inactive) or 1 (active)",
        ),
        (with("userName", json!("a:b")), 400, 222209010, "':'"),
        (
            with("userName", json!("a".repeat(129))),
            400,
            222209010,
            "at most 128",
        ),
        (
            with("permissions.roles", json!([])),
            400,
            222209010,
            "at least one role",
        ),
        (
            with("permissions.roles", json!([999])),
            400,
            222209010,
            "there is no role 999 in tenant 1",
        ),
        (
            with("permissions.permissions", json!([999])),
            400,
            222209010,
            "999 is not a permission id",
        ),
        (
            with("passwordInfo.passwordExpiration", json!("tomorrow")),
            400,
            222209010,
            "'tomorrow' is not UTC",
        ),
        (
            with("passwordInfo.passwordStatus", json!(3)),
            400,
            222209010,
            "3 is not 1",
        ),
        (
            with(
                "authenticationInfo",
                json!({"authUsers": [{"authUserName": "alice", "authServiceId": 2}]}),
            ),
            400,
            222209010,
            "service 2",
        ),
        (
            with("colour", json!("red")),
            400,
            222207007,
            "unknown field \"colour\"; expected one of",
        ),
        (
            with("statusInfo.status", json!("1")),
            400,
            222207007,
            "statusInfo.status: expected an integer, got \"1\"",
        ),
        (
            with("tenantId", json!(4242)),
            404,
            222208573,
            "There is no Tenant with that id: 4242.",
        ),
    ];
    for (body, status, code, needle) in cases {
        let r = app.send_json_as_admin(Method::POST, USERS, &body).await;
        let msg = r.hdp_error(status, code);
        assert!(msg.contains(needle), "{body}: '{needle}' not in '{msg}'");
    }
    create(&app, &alice()).await;
    let r = app.send_json_as_admin(Method::POST, USERS, &alice()).await;
    assert!(r
        .hdp_error(409, 222209202)
        .contains("'alice' already exists"));
    let list = app.send_as_admin(Method::GET, USERS).await.json();
    assert_eq!(
        list["users"].as_array().map(Vec::len),
        Some(2),
        "failed requests created nobody"
    );
}

async fn users_without_the_permission_are_refused_by_name(b: Backend) {
    let app = spawn_app(b).await;
    create(&app, &alice()).await;
    let as_alice = |m: Method, p: &str| app.as_user(m, p, "alice", "Correct-Horse-1");
    let r = app.send(as_alice(Method::GET, USERS)).await;
    assert_eq!(
        r.hdp_error(403, 222209005),
        "Permission denied: Listing users requires the ViewUsers permission (14)."
    );
    let mut bob = alice();
    bob["userName"] = json!("bob");
    let r = app.send(as_alice(Method::POST, USERS).json(&bob)).await;
    // Alice administers no tenant, so the tenant itself is invisible to her.
    r.hdp_error(404, 222208573);
    let r = app.send(as_alice(Method::GET, &format!("{USERS}/1"))).await;
    r.hdp_error(404, 222209201);
}

async fn tenant_admins_manage_their_tenant_only_and_grant_only_what_they_hold(b: Backend) {
    let app = spawn_app(b).await;
    let (acme, _acme_admin_role, acme_user_role, acme_tadmin_role) =
        child_tenant(&app, "acme").await;
    let (beta, _, beta_user_role, _) = child_tenant(&app, "beta").await;
    let boss = app
        .create_user(acme, "boss", "Boss-Password-1", vec![acme_tadmin_role])
        .await;
    app.state
        .ctx
        .store
        .set_tenant_admins(acme, &[boss.id])
        .await
        .expect("admins");
    let carol = app
        .create_user(beta, "carol", "Carol-Password-1", vec![beta_user_role])
        .await;
    let as_boss = |m: Method, p: &str| app.as_user(m, p, "boss@acme", "Boss-Password-1");

    let body = json!({"userName": "dave", "tenantId": acme, "statusInfo": {"status": 1},
        "passwordInfo": {"password": "Secret-Pass-D1"}, "permissions": {"roles": [acme_user_role]}});
    let r = app.send(as_boss(Method::POST, USERS).json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Not in another tenant.
    let mut other = body.clone();
    other["tenantId"] = json!(beta);
    other["permissions"] = json!({"roles": [beta_user_role]});
    app.send(as_boss(Method::POST, USERS).json(&other))
        .await
        .hdp_error(404, 222208573);
    // Not a role from another tenant.
    let mut wrong_role = body.clone();
    wrong_role["userName"] = json!("erin");
    wrong_role["permissions"] = json!({"roles": [ROLE_USER]});
    assert!(app
        .send(as_boss(Method::POST, USERS).json(&wrong_role))
        .await
        .hdp_error(400, 222209010)
        .contains("no role 2"));
    // Not a permission the boss lacks (TenantAPI 25).
    let mut too_much = body.clone();
    too_much["userName"] = json!("frank");
    too_much["permissions"] = json!({"roles": [acme_user_role], "permissions": [25]});
    let msg = app
        .send(as_boss(Method::POST, USERS).json(&too_much))
        .await
        .hdp_error(403, 222209005);
    assert!(
        msg.contains("TenantAPI permission (25), which you do not hold"),
        "{msg}"
    );
    // Beta's users are invisible, whatever the surface.
    let list = app.send(as_boss(Method::GET, USERS)).await.json();
    let names: Vec<&str> = list["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    assert_eq!(names, ["boss", "dave"]);
    app.send(as_boss(Method::GET, &format!("{USERS}?tenantId={beta}")))
        .await
        .hdp_error(404, 222208573);
    for (m, p) in [
        (Method::GET, format!("{USERS}/{}", carol.id)),
        (Method::DELETE, format!("{USERS}/{}", carol.id)),
        (Method::GET, format!("{USERS}/{}/permissions", carol.id)),
        (Method::PUT, format!("{USERS}/{}/unlock", carol.id)),
        (Method::POST, format!("{USERS}/{}/apisecret", carol.id)),
        (Method::GET, format!("{USERS}/1")),
    ] {
        app.send(as_boss(m.clone(), &p))
            .await
            .hdp_error(404, 222209201);
    }
    let r = app
        .send(
            as_boss(Method::PUT, &format!("{USERS}/{}/password", carol.id))
                .json(&json!({"password": "Hijacked-Pass-1"})),
        )
        .await;
    r.hdp_error(404, 222209201);
    assert_eq!(
        app.send_as(Method::GET, "/api/mgmt/user", "carol", "Carol-Password-1")
            .await
            .status,
        200
    );
}

async fn a_child_tenant_administrator_cannot_reach_the_system_tenant(b: Backend) {
    let app = spawn_app(b).await;
    let (acme, acme_admin_role, acme_user_role, _) = child_tenant(&app, "acme").await;
    app.create_user(acme, "root", "Root-Password-1", vec![acme_admin_role])
        .await;
    let as_root = |m: Method, p: &str| app.as_user(m, p, "root", "Root-Password-1");
    let list = app.send(as_root(Method::GET, USERS)).await.json();
    assert_eq!(
        list["users"].as_array().map(Vec::len),
        Some(1),
        "only acme's users: {list}"
    );
    app.send(as_root(Method::GET, &format!("{USERS}/1")))
        .await
        .hdp_error(404, 222209201);
    app.send(as_root(Method::DELETE, &format!("{USERS}/1")))
        .await
        .hdp_error(404, 222209201);
    let body = json!({"userName": "x", "tenantId": 1, "statusInfo": {"status": 1},
        "passwordInfo": {"password": "Xx-Password-1"}, "permissions": {"roles": [acme_user_role]}});
    app.send(as_root(Method::POST, USERS).json(&body))
        .await
        .hdp_error(404, 222208573);
}

async fn nobody_changes_their_own_roles_status_or_existence(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("{USERS}/1/permissions"),
            &json!({"roles": [2]}),
        )
        .await;
    assert!(r.hdp_error(403, 222209005).contains("your own roles"));
    let me = app
        .send_as_admin(Method::GET, &format!("{USERS}/1"))
        .await
        .json();
    let mut off = me.clone();
    off["statusInfo"] = json!({"status": 0});
    assert!(app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/1"), &off)
        .await
        .hdp_error(403, 222209005)
        .contains("deactivate your own"));
    assert!(app
        .send_as_admin(Method::DELETE, &format!("{USERS}/1"))
        .await
        .hdp_error(403, 222209005)
        .contains("delete your own"));
    // Echoing one's own GET back unchanged is fine.
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/1"), &me)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn deactivation_stops_sign_in_at_once_and_reactivation_restores_it(b: Backend) {
    let app = spawn_app(b).await;
    let v = create(&app, &alice()).await;
    let id = v["id"].as_i64().expect("id");
    let as_alice = || app.as_user(Method::GET, "/api/mgmt/user", "alice", "Correct-Horse-1");
    assert_eq!(app.send(as_alice()).await.status, 200);
    let mut off = v.clone();
    off["statusInfo"] = json!({"status": 0});
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/{id}"), &off)
        .await;
    assert_eq!(r.json()["statusInfo"]["status"], 0);
    let user = app.stored_user(id).await;
    assert_eq!(
        user.auth_version, 2,
        "deactivation is recorded for token checks"
    );
    app.send(as_alice()).await.hdp_error(401, 222209004);
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/{id}"), &v)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.send(as_alice()).await.status, 200);
}

async fn locked_accounts_show_and_unlock(b: Backend) {
    let app = spawn_app(b).await;
    let v = create(&app, &alice()).await;
    let id = v["id"].as_i64().expect("id");
    for _ in 0..3 {
        app.send_as(Method::GET, "/api/mgmt/user", "alice", "wrong")
            .await;
    }
    let shown = app
        .send_as_admin(Method::GET, &format!("{USERS}/{id}"))
        .await
        .json();
    assert_eq!(shown["statusInfo"]["accountLocked"], true);
    assert!(shown["statusInfo"]["accountLockedUntil"]
        .as_str()
        .is_some_and(|s| s.len() == 19));
    let r = app
        .send_as_admin(Method::PUT, &format!("{USERS}/{id}/unlock"))
        .await;
    assert_eq!(r.json()["statusInfo"]["accountLocked"], false);
    assert_eq!(
        app.send_as(Method::GET, "/api/mgmt/user", "alice", "Correct-Horse-1")
            .await
            .status,
        200
    );

    for _ in 0..3 {
        app.send_as(Method::GET, "/api/mgmt/user", "alice", "wrong")
            .await;
    }
    // HDP style: PUT the user with accountLocked false.
    let mut unlock = v.clone();
    unlock["statusInfo"] = json!({"status": 1, "accountLocked": false});
    let r = app
        .send_json_as_admin(Method::PUT, &format!("{USERS}/{id}"), &unlock)
        .await;
    assert_eq!(r.json()["statusInfo"]["accountLocked"], false, "{}", r.text);
    assert_eq!(
        app.send_as(Method::GET, "/api/mgmt/user", "alice", "Correct-Horse-1")
            .await
            .status,
        200
    );
    unlock["statusInfo"] = json!({"status": 1, "accountLocked": true});
    app.send_json_as_admin(Method::PUT, &format!("{USERS}/{id}"), &unlock)
        .await
        .hdp_error(400, 222209010);
}

async fn passwords_are_set_by_administrators_and_changed_by_their_owners(b: Backend) {
    let app = spawn_app(b).await;
    let id = create_alice(&app).await;
    let me = |pw: &str| app.as_user(Method::GET, "/api/mgmt/user", "alice", pw);
    assert_eq!(app.send(me("Correct-Horse-1")).await.status, 200);
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &format!("{USERS}/{id}/password"),
            &json!({"password": "Set-By-Admin-2", "mustReset": true}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.send(me("Correct-Horse-1"))
        .await
        .hdp_error(401, 222209002);
    assert_eq!(app.send(me("Set-By-Admin-2")).await.status, 200);
    let shown = app
        .send_as_admin(Method::GET, &format!("{USERS}/{id}"))
        .await
        .json();
    assert_eq!(shown["passwordInfo"]["passwordStatus"], 2);

    let change = |old: &str, new: &str| {
        app.as_user(
            Method::PUT,
            "/api/mgmt/user/password",
            "alice",
            "Set-By-Admin-2",
        )
        .json(&json!({"oldPassword": old, "newPassword": new}))
    };
    assert!(app
        .send(change("nope", "Owner-Chosen-3"))
        .await
        .hdp_error(400, 222209010)
        .contains("oldPassword"));
    assert!(app
        .send(change("Set-By-Admin-2", "short"))
        .await
        .hdp_error(400, 222209010)
        .contains("8 to 128"));
    assert_eq!(
        app.send(change("Set-By-Admin-2", "Owner-Chosen-3"))
            .await
            .status,
        204
    );
    app.send(me("Set-By-Admin-2"))
        .await
        .hdp_error(401, 222209002);
    assert_eq!(app.send(me("Owner-Chosen-3")).await.status, 200);
    let shown = app
        .send_as_admin(Method::GET, &format!("{USERS}/{id}"))
        .await
        .json();
    assert_eq!(
        shown["passwordInfo"]["passwordStatus"], 1,
        "changing it clears must-reset"
    );

    // The trail: the owner's change once, by the owner (the refused attempts change
    // nothing and record nothing), and no password in it.
    let r = app
        .send_as_admin(Method::GET, &format!("/api/admin/events?userId={id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for pw in ["Set-By-Admin-2", "Owner-Chosen-3", "Correct-Horse-1"] {
        assert!(!r.text.contains(pw), "a password in the audit trail");
    }
    let own: Vec<Value> = r.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["reason"] == "own password changed")
        .cloned()
        .collect();
    assert_eq!(own.len(), 1, "{}", r.text);
    assert_eq!(own[0]["type"], "user_changed");
    assert_eq!(own[0]["actorUserId"], id);
    assert_eq!(own[0]["subjectUserId"], id);
}

async fn api_secrets_are_shown_once_stored_as_verifiers_and_deleted(b: Backend) {
    let app = spawn_app(b).await;
    let id = create_alice(&app).await;
    let path = format!("{USERS}/{id}/apisecret");
    let r = app.send_as_admin(Method::POST, &path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let first = r.json()["apiSecret"].as_str().expect("secret").to_owned();
    assert_eq!(first.len(), 43);
    let stored = app
        .stored_user(id)
        .await
        .api_secret_verifier
        .expect("verifier");
    assert!(app.state.ctx.keys.verify(&first, &stored));
    let shown = app
        .send_as(Method::GET, "/api/mgmt/user", "alice", "Correct-Horse-1")
        .await
        .json();
    assert_eq!(shown["hasApiSecret"], true);
    assert!(!shown.to_string().contains(&first));

    let second = app.send_as_admin(Method::POST, &path).await.json()["apiSecret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_ne!(first, second);
    let stored = app
        .stored_user(id)
        .await
        .api_secret_verifier
        .expect("verifier");
    assert!(
        !app.state.ctx.keys.verify(&first, &stored),
        "regenerating replaces the old secret"
    );

    // The user cannot manage their own secret without ModifyUsers.
    app.send_as(Method::POST, &path, "alice", "Correct-Horse-1")
        .await
        .hdp_error(404, 222209201);
    assert_eq!(app.send_as_admin(Method::DELETE, &path).await.status, 204);
    app.send_as_admin(Method::DELETE, &path)
        .await
        .hdp_error(404, 222209203);
    let shown = app
        .send_as_admin(Method::GET, &format!("{USERS}/{id}"))
        .await
        .json();
    assert_eq!(shown["hasApiSecret"], false);
}

async fn permissions_are_replaced_and_take_effect(b: Backend) {
    let app = spawn_app(b).await;
    let id = create_alice(&app).await;
    let path = format!("{USERS}/{id}/permissions");
    assert_eq!(
        app.send_as_admin(Method::GET, &path).await.json(),
        json!({"roles": [2], "permissions": []})
    );
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &path,
            &json!({"roles": [2], "permissions": [14]}),
        )
        .await;
    assert_eq!(r.json(), json!({"roles": [2], "permissions": [14]}));
    // Alice may now list users (but only of tenants she administers: none).
    let r = app
        .send_as(Method::GET, USERS, "alice", "Correct-Horse-1")
        .await;
    assert_eq!(r.json(), json!({"users": []}));
    app.send_json_as_admin(Method::PUT, &path, &json!({"roles": []}))
        .await
        .hdp_error(400, 222209010);
    app.send_json_as_admin(Method::PUT, &path, &json!({"permissions": [14]}))
        .await
        .hdp_error(400, 222207007);
}

async fn deleting_a_user_takes_their_applications(b: Backend) {
    let app = spawn_app(b).await;
    let id = create_alice(&app).await;
    let a = app
        .register_as(
            "alice",
            "Correct-Horse-1",
            json!({"name": "A", "redirectUrls": ["x.example"]}),
        )
        .await;
    assert_eq!(
        app.send_as_admin(Method::DELETE, &format!("{USERS}/{id}"))
            .await
            .status,
        204
    );
    app.send_as_admin(Method::GET, &format!("{USERS}/{id}"))
        .await
        .hdp_error(404, 222209201);
    let app_id = a["id"].as_i64().expect("id");
    assert_eq!(
        app.state.ctx.store.client_app(app_id).await.expect("read"),
        None
    );
    app.send_as(Method::GET, "/api/mgmt/user", "alice", "Correct-Horse-1")
        .await
        .hdp_error(401, 222209002);
}

async fn the_permission_catalogue_is_hdps(b: Backend) {
    let app = spawn_app(b).await;
    let all = app
        .send_as_admin(Method::GET, "/api/admin/permissions")
        .await
        .json();
    let list = all["permissions"].as_array().expect("list");
    assert_eq!(
        list[0],
        json!({"id": 1, "name": "CreateDataSource", "description": "May create new data sources."})
    );
    assert!(list.iter().any(|p| p["id"] == 28 && p["name"] == "OAuth"));
    let one = app
        .send_as_admin(Method::GET, "/api/admin/permissions/12")
        .await
        .json();
    assert_eq!(one["name"], "Administrator");
    app.send_as_admin(Method::GET, "/api/admin/permissions/22")
        .await
        .hdp_error(404, 222209204);
    // MgmtAPI (11) is enough; a user without it is refused, here and on /api/mgmt.
    create(&app, &alice()).await;
    assert_eq!(
        app.send_as(
            Method::GET,
            "/api/admin/permissions",
            "alice",
            "Correct-Horse-1"
        )
        .await
        .status,
        200
    );
    app.create_user(1, "nobody", "Nobody-Password-1", vec![])
        .await;
    let r = app
        .send_as(
            Method::GET,
            "/api/admin/permissions",
            "nobody",
            "Nobody-Password-1",
        )
        .await;
    assert!(r
        .hdp_error(403, 222209005)
        .contains("MgmtAPI permission (11)"));
    app.send_as(Method::GET, "/api/mgmt/user", "nobody", "Nobody-Password-1")
        .await
        .hdp_error(403, 222209005);
    app.send_as(
        Method::GET,
        "/api/mgmt/permissions",
        "nobody",
        "Nobody-Password-1",
    )
    .await
    .hdp_error(403, 222209005);
}

/// The keys of a user as HDP answers them: no profile field when none is set.
const HDP_USER_KEYS: [&str; 9] = [
    "authenticationInfo",
    "hasApiSecret",
    "id",
    "passwordInfo",
    "permissions",
    "statusInfo",
    "tenantId",
    "tenantName",
    "userName",
];

/// Alice's body with these top-level fields added.
fn alice_with(fields: Value) -> Value {
    let mut body = alice();
    for (k, v) in fields.as_object().expect("object") {
        body[k] = v.clone();
    }
    body
}

async fn profiles_are_set_shown_updated_and_cleared(b: Backend) {
    let app = spawn_app(b).await;
    let plain = create(&app, &alice()).await;
    assert_eq!(
        keys(&plain),
        HDP_USER_KEYS,
        "HDP's shape when no profile is set"
    );

    let bob = create(
        &app,
        &json!({
            "userName": "bob",
            "statusInfo": {"status": 1},
            "passwordInfo": {"password": "Correct-Horse-1"},
            "permissions": {"roles": [ROLE_USER]},
            "name": "Bob Ōtsuka",
            "givenName": "Bob",
            "familyName": "Ōtsuka",
            "email": "bob@example.com",
            "locale": "ja-JP"
        }),
    )
    .await;
    assert_eq!(
        bob["displayName"], "Bob Ōtsuka",
        "name is an alias of displayName"
    );
    assert_eq!(bob["givenName"], "Bob");
    assert_eq!(bob["familyName"], "Ōtsuka");
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob["emailVerified"], false);
    assert_eq!(bob["locale"], "ja-JP");
    assert!(bob.get("name").is_none());
    let id = bob["id"].as_i64().expect("id");
    let url = format!("{USERS}/{id}");
    assert_eq!(app.send_as_admin(Method::GET, &url).await.json(), bob);
    let list = app.send_as_admin(Method::GET, USERS).await.json();
    assert_eq!(list["users"][2], bob);
    let t0 = app.clock.now();
    let stored = app.stored_user(id).await;
    assert_eq!(stored.profile.updated_at, Some(t0));
    assert_eq!(stored.profile.name.as_deref(), Some("Bob Ōtsuka"));

    let put = |body: Value| put_ok(&app, &url, body);
    let bob_with = |fields: Value| {
        let mut body = json!({"userName": "bob", "statusInfo": {"status": 1}});
        for (k, v) in fields.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    // Fields absent from an update stay; so does updated_at when nothing changes.
    app.clock.advance(60);
    assert_eq!(put(bob_with(json!({}))).await, bob);
    assert_eq!(
        put(bob.clone()).await,
        bob,
        "a GET echoed back changes nothing"
    );
    assert_eq!(app.stored_user(id).await.profile.updated_at, Some(t0));

    // Verified, then a new address is unverified unless verification comes with it.
    let v = put(bob_with(json!({"emailVerified": true}))).await;
    assert_eq!(v["emailVerified"], true);
    assert_eq!(app.stored_user(id).await.profile.updated_at, Some(t0 + 60));
    let v = put(bob_with(json!({"email": "bob@example.org"}))).await;
    assert_eq!(
        (v["email"].as_str(), v["emailVerified"].as_bool()),
        (Some("bob@example.org"), Some(false))
    );
    let v = put(bob_with(
        json!({"email": "bob@example.net", "emailVerified": true}),
    ))
    .await;
    assert_eq!(v["emailVerified"], true);
    let v = put(bob_with(json!({"email": "bob@example.net"}))).await;
    assert_eq!(v["emailVerified"], true, "the same address stays verified");

    // Given: replaced; null: cleared and omitted.
    let v = put(bob_with(json!({"displayName": "Robert", "locale": null}))).await;
    assert_eq!(v["displayName"], "Robert");
    assert!(v.get("locale").is_none());
    assert_eq!(v["givenName"], "Bob");
    let v = put(bob_with(json!({
        "name": null, "givenName": null, "familyName": null, "email": null
    })))
    .await;
    assert_eq!(keys(&v), HDP_USER_KEYS, "{v}");
    let stored = app.stored_user(id).await;
    assert!(stored.profile.is_empty(), "{:?}", stored.profile);
    assert!(
        !stored.profile.email_verified,
        "no address, nothing verified"
    );

    // Profile changes end no session: Bob still signs in and his token still works.
    let me = app
        .send_as(Method::GET, "/api/mgmt/user", "bob", "Correct-Horse-1")
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["userId"], id);
}

async fn invalid_profiles_are_refused_with_a_clear_message(b: Backend) {
    let app = spawn_app(b).await;
    let id = create_alice(&app).await;
    let url = format!("{USERS}/{id}");
    let cases: Vec<(Value, u32, String)> = vec![
        (
            json!({"displayName": "a".repeat(257)}),
            222209010,
            "Invalid value for 'displayName': is 257 characters long; at most 256 are allowed".into(),
        ),
        (
            json!({"name": "a".repeat(257)}),
            222209010,
            "Invalid value for 'displayName': is 257 characters long".into(),
        ),
        (
            json!({"givenName": "  "}),
            222209010,
            "Invalid value for 'givenName': must not be empty".into(),
        ),
        (
            json!({"familyName": "Lee\u{7}"}),
            222209010,
            "Invalid value for 'familyName': must not contain control characters".into(),
        ),
        (
            json!({"email": "alice"}),
            222209010,
            "Invalid value for 'email': 'alice' is not an e-mail address (name@domain, with exactly one '@')".into(),
        ),
        (
            json!({"email": "a@b@c"}),
            222209010,
            "exactly one '@'".into(),
        ),
        (
            json!({"email": "alice @example.com"}),
            222209010,
            "Invalid value for 'email': 'alice @example.com' contains spaces or control characters".into(),
        ),
        (
            json!({"email": format!("{}@example.com", "a".repeat(243))}),
            222209010,
            "Invalid value for 'email': is 255 characters long; at most 254 are allowed".into(),
        ),
        (
            json!({"locale": "en_US"}),
            222209010,
            "Invalid value for 'locale': 'en_US' is not a BCP 47 language tag such as en or en-US: subtags are joined with '-', not '_'".into(),
        ),
        (
            json!({"locale": "english!"}),
            222209010,
            "Invalid value for 'locale': 'english!' is not a BCP 47 language tag".into(),
        ),
        (
            json!({"emailVerified": true}),
            222209010,
            "Invalid value for 'emailVerified': cannot be true without an email".into(),
        ),
        (
            json!({"emailVerified": "yes"}),
            222207007,
            "emailVerified: expected true or false, got \"yes\"".into(),
        ),
        (
            json!({"email": 42}),
            222207007,
            "email: expected a string".into(),
        ),
        (
            json!({"name": "A", "displayName": "B"}),
            222207007,
            "the field \"displayName\" is sent more than once".into(),
        ),
    ];
    for (fields, code, needle) in &cases {
        let mut on_create = alice_with(fields.clone());
        on_create["userName"] = json!("carol");
        let mut on_update = alice_with(fields.clone());
        on_update
            .as_object_mut()
            .expect("object")
            .remove("passwordInfo");
        for (method, path, body) in [
            (Method::POST, USERS, on_create),
            (Method::PUT, url.as_str(), on_update),
        ] {
            let r = app.send_json_as_admin(method.clone(), path, &body).await;
            let msg = r.hdp_error(400, *code);
            assert!(
                msg.contains(needle.as_str()),
                "{method} {body}: '{needle}' not in '{msg}'"
            );
        }
    }
    let list = app.send_as_admin(Method::GET, USERS).await.json();
    assert_eq!(
        list["users"].as_array().map(Vec::len),
        Some(2),
        "nobody created"
    );
    assert!(
        app.stored_user(id).await.profile.is_empty(),
        "alice unchanged"
    );
}

backends!(
    users_are_created_shown_and_can_sign_in,
    invalid_users_are_refused_with_a_clear_message,
    users_without_the_permission_are_refused_by_name,
    tenant_admins_manage_their_tenant_only_and_grant_only_what_they_hold,
    a_child_tenant_administrator_cannot_reach_the_system_tenant,
    nobody_changes_their_own_roles_status_or_existence,
    deactivation_stops_sign_in_at_once_and_reactivation_restores_it,
    locked_accounts_show_and_unlock,
    passwords_are_set_by_administrators_and_changed_by_their_owners,
    api_secrets_are_shown_once_stored_as_verifiers_and_deleted,
    permissions_are_replaced_and_take_effect,
    deleting_a_user_takes_their_applications,
    the_permission_catalogue_is_hdps,
    profiles_are_set_shown_updated_and_cleared,
    invalid_profiles_are_refused_with_a_clear_message,
);
