//! HDP's Tenant API (reference §3.2, SPEC §4.5) end to end: shapes, validation,
//! conflicts, who may see and change which tenant, and what deactivating and deleting
//! a tenant does to its users.

use crate::helpers::{backends, spawn_app, Backend, TestApp};
use portcullis_core::clock::Clock;
use portcullis_core::model::identity::{
    NewUser, User, ROLE_TENANT_ADMINISTRATOR, ROLE_USER, SYSTEM_TENANT_ID,
};
use reqwest::Method;
use serde_json::{json, Value};

const TENANTS: &str = "/api/admin/tenants";
const PASSWORD: &str = "Tenant-Test-Password-1";
const NOT_FOUND: u32 = 222208573;
const INVALID_FIELD: u32 = 222209010;
const INVALID_JSON: u32 = 222207007;
const FORBIDDEN: u32 = 222209005;

fn org_a() -> Value {
    // HDP's "Request to create OrgA" sample.
    json!({
        "name": "OrgA",
        "description": "This is the HDP tenant for organization A.",
        "parentTenant": 1,
        "status": 1,
        "importedRoles": [2, 3]
    })
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

fn one(id: i64) -> String {
    format!("{TENANTS}/{id}")
}

fn admins_of(id: i64) -> String {
    format!("{TENANTS}/{id}/admins")
}

/// A user with these roles and explicit permissions, straight in the store.
async fn user_with(
    app: &TestApp,
    tenant_id: i64,
    login: &str,
    roles: Vec<i64>,
    permissions: Vec<i64>,
) -> User {
    let hash = app.state.ctx.hasher.hash(PASSWORD).await.expect("hash");
    let mut new = NewUser::new(tenant_id, login, hash, roles, app.clock.now());
    new.permissions = permissions;
    app.state.ctx.store.create_user(new).await.expect("user")
}

async fn admin_id(app: &TestApp) -> i64 {
    app.state
        .ctx
        .store
        .user_by_login(SYSTEM_TENANT_ID, "admin")
        .await
        .expect("read")
        .expect("admin")
        .id
}

/// `req` with `body` as its JSON body, if there is one.
fn with_body(req: reqwest::RequestBuilder, body: Option<Value>) -> reqwest::RequestBuilder {
    match body {
        Some(body) => req.json(&body),
        None => req,
    }
}

/// Creates a tenant as the initial administrator and returns the answer.
async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.send_json_as_admin(Method::POST, TENANTS, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()
}

async fn the_hdp_sample_creates_a_tenant_answered_in_hdp_shape(b: Backend) {
    let app = spawn_app(b).await;
    let admin = admin_id(&app).await;
    let created = create(&app, org_a()).await;
    assert_eq!(
        keys(&created),
        [
            "admins",
            "allowedScopes",
            "clientRegistration",
            "description",
            "hostNames",
            "id",
            "name",
            "parentTenant",
            "roles",
            "status"
        ]
    );
    let id = id_of(&created);
    assert!(id > SYSTEM_TENANT_ID);
    assert_eq!(created["name"], "OrgA");
    assert_eq!(
        created["description"],
        "This is the HDP tenant for organization A."
    );
    assert_eq!(created["parentTenant"], 1);
    assert_eq!(created["status"], 1);
    assert_eq!(
        created["admins"],
        json!([admin]),
        "the creator gets admin access"
    );
    assert_eq!(created["hostNames"], json!([]));
    assert_eq!(created["allowedScopes"], json!(["api.access.odata"]));

    // Imported roles are copies with new ids, names and permissions.
    let roles: Vec<i64> = created["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r.as_i64().expect("role id"))
        .collect();
    assert_eq!(roles.len(), 2);
    assert!(roles.iter().all(|r| ![1, 2, 3].contains(r)), "{roles:?}");
    let store = &app.state.ctx.store;
    for (copy, original) in roles.iter().zip([ROLE_USER, ROLE_TENANT_ADMINISTRATOR]) {
        let copy = store.role(*copy).await.expect("read").expect("copy");
        let original = store.role(original).await.expect("read").expect("original");
        assert_eq!(copy.tenant_id, id);
        assert_eq!(copy.name, original.name);
        assert_eq!(copy.permissions, original.permissions);
    }

    let got = app.send_as_admin(Method::GET, &one(id)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), created);

    let list = app.send_as_admin(Method::GET, TENANTS).await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(keys(&list), ["tenants"]);
    let tenants = list["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 2);
    assert_eq!(tenants[0]["id"], 1);
    assert_eq!(tenants[0]["name"], "system");
    assert_eq!(
        tenants[0]["parentTenant"],
        Value::Null,
        "the system tenant has no parent"
    );
    assert_eq!(tenants[0]["roles"], json!([1, 2, 3]));
    assert_eq!(tenants[1], created);
}

async fn defaults_and_extensions_are_applied_and_normalised(b: Backend) {
    let app = spawn_app(b).await;
    let minimal = create(&app, json!({"name": "  Minimal  ", "parentTenant": 1})).await;
    assert_eq!(minimal["name"], "Minimal", "names are trimmed");
    assert_eq!(minimal["description"], Value::Null);
    assert_eq!(minimal["status"], 1);
    assert_eq!(minimal["allowedScopes"], json!(["api.access.odata"]));
    let id = id_of(&minimal);
    assert_eq!(
        app.role_id(id, "User").await,
        minimal["roles"][0].as_i64().expect("role"),
        "User and Tenant Administrator are imported by default"
    );
    app.role_id(id, "Tenant Administrator").await;

    let full = create(
        &app,
        json!({
            "name": "Acme", "parentTenant": 1, "status": 0, "importedRoles": [2, 2],
            "hostNames": ["Acme.Example.COM", "api.acme.example:8443"],
            "allowedScopes": ["odata", "api.access.mgmt", "api.access.odata"]
        }),
    )
    .await;
    assert_eq!(full["status"], 0);
    assert_eq!(
        full["roles"].as_array().map(Vec::len),
        Some(1),
        "each role once"
    );
    assert_eq!(
        full["hostNames"],
        json!(["acme.example.com", "api.acme.example:8443"])
    );
    assert_eq!(
        full["allowedScopes"],
        json!(["api.access.odata", "api.access.mgmt"])
    );
    let by_host = app
        .state
        .ctx
        .store
        .tenant_by_host("ACME.example.com")
        .await
        .expect("read")
        .expect("tenant");
    assert_eq!(by_host.id, id_of(&full));
    let no_roles = create(
        &app,
        json!({"name": "Bare", "parentTenant": 1, "importedRoles": []}),
    )
    .await;
    assert_eq!(no_roles["roles"], json!([]));
}

async fn invalid_tenants_are_refused_with_a_message_naming_the_problem(b: Backend) {
    let app = spawn_app(b).await;
    let tid = id_of(&create(&app, json!({"name": "Other", "parentTenant": 1})).await);
    let outsider = user_with(&app, tid, "outsider", vec![], vec![]).await;
    let ok = |extra: Value| {
        let mut body = json!({"name": "n", "parentTenant": 1});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let many_hosts: Vec<String> = (0..33).map(|i| format!("h{i}.example")).collect();
    let cases: Vec<(Value, u32, String)> = vec![
        (
            ok(json!({"name": "a".repeat(129)})),
            INVALID_FIELD,
            "Invalid value for 'name': is 129 characters long; at most 128 are allowed".into(),
        ),
        (ok(json!({"name": "   "})), INVALID_FIELD, "'name': must not be empty".into()),
        (ok(json!({"name": "a@b"})), INVALID_FIELD, "must not contain '@'".into()),
        (
            ok(json!({"description": "d".repeat(257)})),
            INVALID_FIELD,
            "'description': is 257 characters long".into(),
        ),
        (
            ok(json!({"parentTenant": 2})),
            INVALID_FIELD,
            "Invalid value for 'parentTenant': is 2; the system tenant (1) is the only possible parent".into(),
        ),
        (ok(json!({"status": 2})), INVALID_FIELD, "'status': is 2; use 0 (inactive) or 1 (active)".into()),
        (
            ok(json!({"importedRoles": [2, 99]})),
            INVALID_FIELD,
            "'importedRoles': 99 is not a role of the system tenant; roles that can be imported: 1 (Administrator), 2 (User), 3 (Tenant Administrator)".into(),
        ),
        (
            ok(json!({"admins": [424242]})),
            INVALID_FIELD,
            "'admins': there is no user with id 424242 in the system tenant".into(),
        ),
        (
            ok(json!({"admins": [outsider.id]})),
            INVALID_FIELD,
            format!("'admins': there is no user with id {} in the system tenant", outsider.id),
        ),
        (
            ok(json!({"hostNames": ["bad_host.example"]})),
            INVALID_FIELD,
            "'hostNames': 'bad_host.example' is not a host name".into(),
        ),
        (
            ok(json!({"hostNames": ["a.example:99999"]})),
            INVALID_FIELD,
            "the port must be a number from 1 to 65535".into(),
        ),
        (
            ok(json!({"hostNames": ["a.example", "A.EXAMPLE"]})),
            INVALID_FIELD,
            "'a.example' is listed twice".into(),
        ),
        (ok(json!({"hostNames": many_hosts})), INVALID_FIELD, "at most 32 host names".into()),
        (
            ok(json!({"allowedScopes": ["email"]})),
            INVALID_FIELD,
            "Invalid value for 'allowedScopes': 'email' is not a known scope".into(),
        ),
        (
            ok(json!({"allowedScopes": []})),
            INVALID_FIELD,
            "'allowedScopes': at least one scope is required".into(),
        ),
        (json!({"name": "n"}), INVALID_JSON, "missing field \"parentTenant\"".into()),
        (json!({"parentTenant": 1}), INVALID_JSON, "missing field \"name\"".into()),
        (
            ok(json!({"name": 5})),
            INVALID_JSON,
            "name: expected a string, got the number 5".into(),
        ),
        (ok(json!({"parentTenant": "1"})), INVALID_JSON, "parentTenant: expected an integer, got \"1\"".into()),
        (ok(json!({"parentTenant": null})), INVALID_JSON, "parentTenant: expected an integer, got null".into()),
        (ok(json!({"status": true})), INVALID_JSON, "status: expected an integer, got true".into()),
        (ok(json!({"importedRoles": 2})), INVALID_JSON, "importedRoles: expected an array, got the number 2".into()),
        (ok(json!({"admins": ["x"]})), INVALID_JSON, "admins[0]: expected an integer, got \"x\"".into()),
        (ok(json!({"hostNames": "a.example"})), INVALID_JSON, "hostNames: expected an array, got \"a.example\"".into()),
        (ok(json!({"colour": "red"})), INVALID_JSON, "unknown field \"colour\"; expected one of".into()),
        (ok(json!({"roles": [1]})), INVALID_JSON, "unknown field \"roles\"".into()),
        (json!(["not", "an", "object"]), INVALID_JSON, "the body must be a JSON object".into()),
    ];
    for (body, code, needle) in cases {
        let r = app.send_json_as_admin(Method::POST, TENANTS, &body).await;
        let msg = r.hdp_error(400, code);
        assert!(
            msg.contains(&needle),
            "{body}: expected '{needle}' in '{msg}'"
        );
    }
    let r = app
        .send(
            app.as_admin(Method::POST, TENANTS)
                .header("content-type", "application/json")
                .body("{\"name\": "),
        )
        .await;
    assert!(r.hdp_error(400, INVALID_JSON).contains(
        "the body is not valid JSON: it ends before the value is complete (line 1, column 9)"
    ));
    let r = app
        .send(
            app.as_admin(Method::POST, TENANTS)
                .header("content-type", "text/plain")
                .body(org_a().to_string()),
        )
        .await;
    r.hdp_error(415, 222209011);
    let list = app.send_as_admin(Method::GET, TENANTS).await.json();
    assert_eq!(
        list["tenants"].as_array().map(Vec::len),
        Some(2),
        "failed requests change nothing: {list}"
    );
}

async fn duplicate_names_and_host_names_conflict(b: Backend) {
    let app = spawn_app(b).await;
    let acme = create(
        &app,
        json!({"name": "Acme", "parentTenant": 1, "hostNames": ["acme.example"]}),
    )
    .await;
    let post = |body: Value| app.as_admin(Method::POST, TENANTS).json(&body);
    let r = app
        .send(post(json!({"name": "ACME", "parentTenant": 1})))
        .await;
    assert_eq!(
        r.hdp_error(409, 222209101),
        "A tenant named 'Acme' already exists; tenant names are unique, ignoring case."
    );
    let r = app
        .send(post(json!({"name": "system", "parentTenant": 1})))
        .await;
    r.hdp_error(409, 222209101);
    let r = app
        .send(post(
            json!({"name": "Other", "parentTenant": 1, "hostNames": ["ok.example", "ACME.example"]}),
        ))
        .await;
    assert_eq!(
        r.hdp_error(409, 222209102),
        "The host name 'acme.example' is already used by another tenant."
    );
    let other = create(&app, json!({"name": "Other", "parentTenant": 1})).await;
    let put = |id: i64, body: Value| app.as_admin(Method::PUT, &one(id)).json(&body);
    app.send(put(id_of(&other), json!({"name": "acme", "status": 1})))
        .await
        .hdp_error(409, 222209101);
    app.send(put(
        id_of(&other),
        json!({"name": "Other", "status": 1, "hostNames": ["acme.example"]}),
    ))
    .await
    .hdp_error(409, 222209102);
    // A tenant does not conflict with itself.
    let r = app
        .send(put(
            id_of(&acme),
            json!({"name": "ACME", "status": 1, "hostNames": ["ACME.example"]}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "ACME");
    assert_eq!(r.json()["hostNames"], json!(["acme.example"]));
}

async fn an_update_replaces_hdp_fields_and_keeps_extensions_unless_given(b: Backend) {
    let app = spawn_app(b).await;
    let created = create(
        &app,
        json!({
            "name": "Acme", "description": "old", "parentTenant": 1,
            "hostNames": ["acme.example"], "allowedScopes": ["api.access.mgmt"]
        }),
    )
    .await;
    let id = id_of(&created);
    // A GET echoed back with changes; id, roles and admins ride along.
    let mut echoed = created.clone();
    echoed["name"] = json!("Acme Corp");
    echoed["description"] = json!("new");
    echoed["importedRoles"] = json!([1]);
    let r = app.send_json_as_admin(Method::PUT, &one(id), &echoed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["name"], "Acme Corp");
    assert_eq!(v["description"], "new");
    assert_eq!(
        v["roles"], created["roles"],
        "importedRoles is ignored on update"
    );
    assert_eq!(v["admins"], created["admins"]);
    assert_eq!(app.send_as_admin(Method::GET, &one(id)).await.json(), v);

    // HDP's own update body: extensions are kept, description is cleared.
    let r = app
        .send(app.as_admin(Method::PUT, &one(id)).json(&json!({
            "name": "Acme Corp", "parentTenant": 1, "status": 1
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["description"], Value::Null);
    assert_eq!(v["hostNames"], json!(["acme.example"]));
    assert_eq!(v["allowedScopes"], json!(["api.access.mgmt"]));

    // Given extensions replace; given admins replace.
    let ann = app.create_plain_user("ann", PASSWORD).await;
    let r = app
        .send(app.as_admin(Method::PUT, &one(id)).json(&json!({
            "name": "Acme Corp", "status": 1, "hostNames": ["b.example", "a.example"],
            "allowedScopes": ["odata"], "admins": [ann.id]
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["hostNames"], json!(["a.example", "b.example"]));
    assert_eq!(v["allowedScopes"], json!(["api.access.odata"]));
    assert_eq!(v["admins"], json!([ann.id]));
    let gone = app
        .state
        .ctx
        .store
        .tenant_by_host("acme.example")
        .await
        .expect("read");
    assert!(gone.is_none(), "replaced host names are released");
    let r = app
        .send(app.as_admin(Method::PUT, &one(id)).json(&json!({
            "name": "Acme Corp", "status": 1, "hostNames": []
        })))
        .await;
    assert_eq!(r.json()["hostNames"], json!([]));

    let put = |body: Value| app.as_admin(Method::PUT, &one(id)).json(&body);
    let cases: Vec<(Value, u16, u32, &str)> = vec![
        (
            json!({"name": "x", "status": 1, "parentTenant": 2}),
            400,
            INVALID_FIELD,
            "Invalid value for 'parentTenant': is 2; a tenant's parent cannot change (it is 1)",
        ),
        (
            json!({"name": "x"}),
            400,
            INVALID_JSON,
            "missing field \"status\"",
        ),
        (
            json!({"name": "x", "status": 3}),
            400,
            INVALID_FIELD,
            "'status': is 3",
        ),
        (
            json!({"name": "", "status": 1}),
            400,
            INVALID_FIELD,
            "'name': must not be empty",
        ),
        (
            json!({"name": "a".repeat(129), "status": 1}),
            400,
            INVALID_FIELD,
            "129 characters",
        ),
        (
            json!({"name": "x", "status": 1, "admins": [424242]}),
            400,
            INVALID_FIELD,
            "there is no user with id 424242 in the system tenant or this tenant",
        ),
        (
            json!({"name": "x", "status": 1, "hostNames": ["a b"]}),
            400,
            INVALID_FIELD,
            "'hostNames'",
        ),
        (
            json!({"name": "x", "status": 1, "allowedScopes": ["profile"]}),
            400,
            INVALID_FIELD,
            "'allowedScopes'",
        ),
        (
            json!({"name": "x", "status": 1, "secret": "y"}),
            400,
            INVALID_JSON,
            "unknown field \"secret\"",
        ),
    ];
    for (body, status, code, needle) in cases {
        let msg = app.send(put(body.clone())).await.hdp_error(status, code);
        assert!(
            msg.contains(needle),
            "{body}: expected '{needle}' in '{msg}'"
        );
    }
    let still = app.send_as_admin(Method::GET, &one(id)).await.json();
    assert_eq!(still["name"], "Acme Corp", "failed updates change nothing");
}

async fn delete_answers_204_and_takes_the_tenants_users_with_it(b: Backend) {
    let app = spawn_app(b).await;
    let t = create(&app, json!({"name": "Doomed", "parentTenant": 1})).await;
    let id = id_of(&t);
    let role = app.role_id(id, "User").await;
    let bob = user_with(&app, id, "bob", vec![role], vec![]).await;
    let apps = "/api/mgmt/oauth/client/applications";
    assert_eq!(
        app.send_as(Method::GET, apps, "bob", PASSWORD).await.status,
        200
    );
    let r = app.send_as_admin(Method::DELETE, &one(id)).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.text, "");
    assert_eq!(
        app.send_as_admin(Method::GET, &one(id))
            .await
            .hdp_error(404, NOT_FOUND),
        format!("There is no Tenant with that id: {id}.")
    );
    app.send_as_admin(Method::DELETE, &one(id))
        .await
        .hdp_error(404, NOT_FOUND);
    let store = &app.state.ctx.store;
    assert!(
        store.user(bob.id).await.expect("read").is_none(),
        "users go with their tenant"
    );
    assert!(store.role(role).await.expect("read").is_none(), "roles too");
    app.send_as(Method::GET, apps, "bob", PASSWORD)
        .await
        .hdp_error(401, 222209002);
    let list = app.send_as_admin(Method::GET, TENANTS).await.json();
    assert_eq!(list["tenants"].as_array().map(Vec::len), Some(1));
}

async fn the_system_tenant_is_never_deleted_or_deactivated(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.send_as_admin(Method::DELETE, &one(1)).await;
    assert_eq!(
        r.hdp_error(403, 222209103),
        "The system tenant (id 1) cannot be deleted."
    );
    let put = |body: Value| app.as_admin(Method::PUT, &one(1)).json(&body);
    let r = app.send(put(json!({"name": "system", "status": 0}))).await;
    assert_eq!(
        r.hdp_error(400, INVALID_FIELD),
        "Invalid value for 'status': the system tenant (id 1) cannot be deactivated"
    );
    let r = app
        .send(put(
            json!({"name": "system", "status": 1, "parentTenant": 1}),
        ))
        .await;
    assert!(r
        .hdp_error(400, INVALID_FIELD)
        .contains("the system tenant has no parent"));
    // The system tenant still takes host names and a description.
    let r = app
        .send(put(json!({
            "name": "system", "description": "Root", "status": 1, "parentTenant": null,
            "hostNames": ["portcullis.example"]
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["hostNames"], json!(["portcullis.example"]));
    assert_eq!(r.json()["status"], 1);
    assert_eq!(
        app.send_as_admin(Method::GET, TENANTS).await.status,
        200,
        "the administrator still signs in"
    );
}

async fn deactivating_a_tenant_stops_its_users_from_signing_in(b: Backend) {
    let app = spawn_app(b).await;
    let t = create(&app, json!({"name": "Sleepy", "parentTenant": 1})).await;
    let id = id_of(&t);
    let role = app.role_id(id, "User").await;
    user_with(&app, id, "carol", vec![role], vec![]).await;
    let apps = "/api/mgmt/oauth/client/applications";
    let as_carol = || app.as_user(Method::GET, apps, "carol", PASSWORD);
    assert_eq!(app.send(as_carol()).await.status, 200);

    let r = app
        .send_json_as_admin(
            Method::PUT,
            &one(id),
            &json!({"name": "Sleepy", "status": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], 0);
    let msg = app.send(as_carol()).await.hdp_error(401, 222209004);
    assert!(msg.contains("inactive"), "{msg}");

    let r = app
        .send_json_as_admin(
            Method::PUT,
            &one(id),
            &json!({"name": "Sleepy", "status": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.send(as_carol()).await.status, 200, "reactivated");
}

async fn callers_without_administrator_or_tenant_api_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let t = create(&app, json!({"name": "Acme", "parentTenant": 1})).await;
    let id = id_of(&t);
    app.create_plain_user("plain", PASSWORD).await;
    // A system-tenant Tenant Administrator (13–21), even listed among the tenant's admins.
    let ta = user_with(
        &app,
        SYSTEM_TENANT_ID,
        "tadmin",
        vec![ROLE_TENANT_ADMINISTRATOR],
        vec![],
    )
    .await;
    let r = app
        .send_json_as_admin(Method::PUT, &admins_of(id), &json!({"admins": [ta.id]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for login in ["plain", "tadmin"] {
        for (m, p, body) in [
            (Method::GET, TENANTS.to_owned(), None),
            (Method::POST, TENANTS.to_owned(), Some(org_a())),
            (Method::GET, one(id), None),
            (
                Method::PUT,
                one(id),
                Some(json!({"name": "x", "status": 1})),
            ),
            (Method::DELETE, one(id), None),
            (Method::GET, admins_of(id), None),
            (Method::PUT, admins_of(id), Some(json!({"admins": []}))),
        ] {
            let req = with_body(app.as_user(m.clone(), &p, login, PASSWORD), body);
            let msg = app.send(req).await.hdp_error(403, FORBIDDEN);
            assert_eq!(
                msg,
                "Permission denied: Using the Tenant API requires the TenantAPI permission (25).",
                "{login}: {m} {p}"
            );
        }
    }
    let after = app.send_as_admin(Method::GET, &one(id)).await.json();
    assert_eq!(after["name"], "Acme");
    assert_eq!(after["admins"], json!([ta.id]));
}

async fn tenant_api_holders_manage_only_the_tenants_they_administer(b: Backend) {
    let app = spawn_app(b).await;
    let ops = user_with(&app, SYSTEM_TENANT_ID, "ops", vec![ROLE_USER], vec![25]).await;
    let theirs = create(&app, json!({"name": "NotYours", "parentTenant": 1})).await;
    let other = id_of(&theirs);
    let as_ops = |m: Method, p: &str| app.as_user(m, p, "ops", PASSWORD);

    assert_eq!(
        app.send(as_ops(Method::GET, TENANTS)).await.json(),
        json!({"tenants": []})
    );
    for (m, p, body) in [
        (Method::GET, one(other), None),
        (
            Method::PUT,
            one(other),
            Some(json!({"name": "Mine", "status": 1})),
        ),
        (Method::DELETE, one(other), None),
        (Method::GET, admins_of(other), None),
        (
            Method::PUT,
            admins_of(other),
            Some(json!({"admins": [ops.id]})),
        ),
        (Method::GET, one(1), None),
        (Method::PUT, one(1), Some(json!({"name": "x", "status": 1}))),
        (Method::DELETE, one(1), None),
    ] {
        let req = with_body(as_ops(m.clone(), &p), body);
        let r = app.send(req).await;
        let id = p
            .trim_start_matches(&format!("{TENANTS}/"))
            .trim_end_matches("/admins");
        assert_eq!(
            r.hdp_error(404, NOT_FOUND),
            format!("There is no Tenant with that id: {id}."),
            "{m} {p}"
        );
    }

    // Creating needs the permissions of every imported role: ops lacks CreateUsers (13).
    let r = app
        .send(as_ops(Method::POST, TENANTS).json(&json!({"name": "Ops", "parentTenant": 1})))
        .await;
    assert_eq!(
        r.hdp_error(403, FORBIDDEN),
        "Permission denied: Importing role 3 (Tenant Administrator) requires the CreateUsers permission (13)."
    );
    let r = app
        .send(as_ops(Method::POST, TENANTS).json(&json!({
            "name": "Ops", "parentTenant": 1, "importedRoles": [2]
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mine = r.json();
    let id = id_of(&mine);
    assert_eq!(
        mine["admins"],
        json!([ops.id]),
        "the creator administers it"
    );

    let list = app.send(as_ops(Method::GET, TENANTS)).await.json();
    assert_eq!(list, json!({"tenants": [mine.clone()]}));
    assert_eq!(app.send(as_ops(Method::GET, &one(id))).await.json(), mine);
    let r = app
        .send(as_ops(Method::PUT, &one(id)).json(&json!({"name": "Ops Renamed", "status": 1})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.send(as_ops(Method::GET, &admins_of(id))).await.json(),
        json!({"admins": [ops.id]})
    );

    // Granted admin access on another tenant, ops sees it too.
    let r = app
        .send_json_as_admin(Method::PUT, &admins_of(other), &json!({"admins": [ops.id]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = app.send(as_ops(Method::GET, TENANTS)).await.json();
    let ids: Vec<i64> = list["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, [other, id]);

    let r = app.send(as_ops(Method::DELETE, &one(id))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.send_as_admin(Method::GET, &one(id))
        .await
        .hdp_error(404, NOT_FOUND);
}

async fn users_of_one_tenant_cannot_see_or_touch_another(b: Backend) {
    let app = spawn_app(b).await;
    let a = create(
        &app,
        json!({"name": "TenantA", "parentTenant": 1, "importedRoles": [1, 2, 3]}),
    )
    .await;
    let b_ = create(&app, json!({"name": "TenantB", "parentTenant": 1})).await;
    let (a, b_id) = (id_of(&a), id_of(&b_));
    // A's Administrator (a copy of role 1: every permission, Administrator and TenantAPI included).
    let a_admin_role = app.role_id(a, "Administrator").await;
    user_with(&app, a, "boss", vec![a_admin_role], vec![]).await;
    // A user of A with admin access on A and the TenantAPI permission.
    let a_ta_role = app.role_id(a, "Tenant Administrator").await;
    let keeper = user_with(&app, a, "keeper", vec![a_ta_role], vec![25]).await;
    let r = app
        .send_json_as_admin(Method::PUT, &admins_of(a), &json!({"admins": [keeper.id]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"admins": [keeper.id]}));
    // B's admins may not come from A.
    let r = app
        .send_json_as_admin(
            Method::PUT,
            &admins_of(b_id),
            &json!({"admins": [keeper.id]}),
        )
        .await;
    assert!(r.hdp_error(400, INVALID_FIELD).contains(&format!(
        "there is no user with id {} in the system tenant or this tenant",
        keeper.id
    )));

    for login in ["boss", "keeper"] {
        let as_a = |m: Method, p: &str| app.as_user(m, p, login, PASSWORD);
        let list = app.send(as_a(Method::GET, TENANTS)).await.json();
        let ids: Vec<i64> = list["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(ids, [a], "{login} sees their own tenant only");
        for (m, p, body) in [
            (Method::GET, one(b_id), None),
            (
                Method::PUT,
                one(b_id),
                Some(json!({"name": "Taken", "status": 0})),
            ),
            (Method::DELETE, one(b_id), None),
            (Method::GET, admins_of(b_id), None),
            (Method::PUT, admins_of(b_id), Some(json!({"admins": []}))),
            (Method::GET, one(1), None),
            (Method::DELETE, one(1), None),
        ] {
            let req = with_body(as_a(m.clone(), &p), body);
            app.send(req).await.hdp_error(404, NOT_FOUND);
        }
        // Their own tenant they may read but not reconfigure, and they create none.
        assert_eq!(app.send(as_a(Method::GET, &one(a))).await.status, 200);
        assert_eq!(app.send(as_a(Method::GET, &admins_of(a))).await.status, 200);
        for (m, p, body) in [
            (
                Method::PUT,
                one(a),
                Some(json!({"name": "TenantA", "status": 1, "allowedScopes": ["api.access.mgmt"]})),
            ),
            (Method::DELETE, one(a), None),
            (Method::PUT, admins_of(a), Some(json!({"admins": []}))),
            (
                Method::POST,
                TENANTS.to_owned(),
                Some(json!({"name": "Sneaky", "parentTenant": 1})),
            ),
        ] {
            let req = with_body(as_a(m.clone(), &p), body);
            let msg = app.send(req).await.hdp_error(403, FORBIDDEN);
            assert!(
                msg.contains("reserved to users of the system tenant"),
                "{login} {m} {p}: {msg}"
            );
        }
    }
    let b_after = app.send_as_admin(Method::GET, &one(b_id)).await.json();
    assert_eq!(b_after, b_, "tenant B is untouched");
    let a_after = app.send_as_admin(Method::GET, &one(a)).await.json();
    assert_eq!(a_after["allowedScopes"], json!(["api.access.odata"]));
    assert_eq!(a_after["admins"], json!([keeper.id]));
}

async fn admins_are_listed_and_replaced_with_users_that_exist(b: Backend) {
    let app = spawn_app(b).await;
    let admin = admin_id(&app).await;
    let t = create(&app, json!({"name": "Acme", "parentTenant": 1})).await;
    let id = id_of(&t);
    let r = app.send_as_admin(Method::GET, &admins_of(id)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"admins": [admin]}));
    assert_eq!(
        app.send_as_admin(Method::GET, &admins_of(1)).await.json(),
        json!({"admins": []})
    );

    let ann = app.create_plain_user("ann", PASSWORD).await;
    let role = app.role_id(id, "Tenant Administrator").await;
    let local = user_with(&app, id, "local", vec![role], vec![]).await;
    let put = |body: Value| app.as_admin(Method::PUT, &admins_of(id)).json(&body);
    let r = app
        .send(put(json!({"admins": [local.id, ann.id, local.id]})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut expected = vec![ann.id, local.id];
    expected.sort_unstable();
    assert_eq!(r.json(), json!({"admins": expected}));
    assert_eq!(
        app.send_as_admin(Method::GET, &admins_of(id)).await.json(),
        json!({"admins": expected})
    );
    assert_eq!(
        app.send_as_admin(Method::GET, &one(id)).await.json()["admins"],
        json!(expected)
    );
    // The store agrees: ann now administers the tenant.
    assert_eq!(
        app.state
            .ctx
            .store
            .administered_tenants(ann.id)
            .await
            .expect("read"),
        vec![id]
    );

    let cases: Vec<(Value, u32, String)> = vec![
        (json!({"admins": [424242]}), INVALID_FIELD,
            "Invalid value for 'admins': there is no user with id 424242 in the system tenant or this tenant".into()),
        (json!({"admins": "1"}), INVALID_JSON, "admins: expected an array, got \"1\"".into()),
        (json!({"admins": [1.5]}), INVALID_JSON, "admins[0]: expected an integer, got the number 1.5".into()),
        (json!({}), INVALID_JSON, "missing field \"admins\"".into()),
        (json!({"admins": [], "users": []}), INVALID_JSON, "unknown field \"users\"".into()),
    ];
    for (body, code, needle) in cases {
        let msg = app.send(put(body.clone())).await.hdp_error(400, code);
        assert!(
            msg.contains(&needle),
            "{body}: expected '{needle}' in '{msg}'"
        );
    }
    // The trail: each accepted replacement once, in the tenant's own trail; the
    // refused ones none.
    let r = app
        .send_as_admin(
            Method::GET,
            &format!("/api/admin/events?type=tenant_changed&tenantId={id}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let replaced: Vec<Value> = r.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("admins replaced"))
        })
        .cloned()
        .collect();
    assert_eq!(replaced.len(), 1, "{}", r.text);
    assert_eq!(replaced[0]["tenantId"], id);
    assert_eq!(replaced[0]["actorUserId"], admin);

    let r = app.send(put(json!({"admins": []}))).await;
    assert_eq!(r.json(), json!({"admins": []}));
    assert_eq!(
        app.send_as_admin(Method::GET, &one(id)).await.status,
        200,
        "the super-user needs no admin access"
    );
    app.send_json_as_admin(Method::PUT, &admins_of(424242), &json!({"admins": []}))
        .await
        .hdp_error(404, NOT_FOUND);
}

async fn unknown_and_malformed_ids_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    for (m, p, body) in [
        (Method::GET, one(424242), None),
        (
            Method::PUT,
            one(424242),
            Some(json!({"name": "x", "status": 1})),
        ),
        (Method::DELETE, one(424242), None),
        (Method::GET, admins_of(424242), None),
        (Method::PUT, admins_of(424242), Some(json!({"admins": []}))),
    ] {
        let req = with_body(app.as_admin(m.clone(), &p), body);
        assert_eq!(
            app.send(req).await.hdp_error(404, NOT_FOUND),
            "There is no Tenant with that id: 424242.",
            "{m} {p}"
        );
    }
    for bad in ["abc", "0", "-3", "1.5"] {
        let r = app
            .send_as_admin(Method::GET, &format!("{TENANTS}/{bad}"))
            .await;
        assert!(r.hdp_error(400, 222209013).contains(bad));
        let r = app
            .send_as_admin(Method::GET, &format!("{TENANTS}/{bad}/admins"))
            .await;
        r.hdp_error(400, 222209013);
    }
}

async fn every_endpoint_requires_credentials(b: Backend) {
    let app = spawn_app(b).await;
    for (m, p) in [
        (Method::GET, TENANTS.to_owned()),
        (Method::POST, TENANTS.to_owned()),
        (Method::GET, one(1)),
        (Method::PUT, one(1)),
        (Method::DELETE, one(1)),
        (Method::GET, admins_of(1)),
        (Method::PUT, admins_of(1)),
    ] {
        let r = app
            .send(app.http.request(m.clone(), app.url(&p)).json(&org_a()))
            .await;
        r.hdp_error(401, 222209001);
        let r = app
            .send(app.as_user(m.clone(), &p, "nobody", "wrong").json(&org_a()))
            .await;
        r.hdp_error(401, 222209002);
    }
    // Nothing was created or deleted.
    let list = app.send_as_admin(Method::GET, TENANTS).await.json();
    assert_eq!(list["tenants"].as_array().map(Vec::len), Some(1));
}

backends!(
    the_hdp_sample_creates_a_tenant_answered_in_hdp_shape,
    defaults_and_extensions_are_applied_and_normalised,
    invalid_tenants_are_refused_with_a_message_naming_the_problem,
    duplicate_names_and_host_names_conflict,
    an_update_replaces_hdp_fields_and_keeps_extensions_unless_given,
    delete_answers_204_and_takes_the_tenants_users_with_it,
    the_system_tenant_is_never_deleted_or_deactivated,
    deactivating_a_tenant_stops_its_users_from_signing_in,
    callers_without_administrator_or_tenant_api_are_refused,
    tenant_api_holders_manage_only_the_tenants_they_administer,
    users_of_one_tenant_cannot_see_or_touch_another,
    admins_are_listed_and_replaced_with_users_that_exist,
    unknown_and_malformed_ids_are_refused,
    every_endpoint_requires_credentials,
);
