//! The store contract: behaviour every [`Store`] adapter must show. Each case takes a
//! fresh, migrated store. The cases are listed once ([`crate::store_contract_cases!`],
//! which says how to add one) and [`crate::store_contract_tests!`] turns that list into
//! tests for a store: the memory store below, SQLite and PostgreSQL in their crates.

// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used)]

use crate::bootstrap::seed;
use crate::client_app::{ClientAppChanges, GrantType, NewClientApp};
use crate::identity::{
    LockoutPolicy, NewTenant, NewUser, TenantChanges, UserChanges, ROLE_ADMINISTRATOR,
    ROLE_TENANT_ADMINISTRATOR, ROLE_USER, SYSTEM_TENANT_ID,
};
use crate::store::{AppListScope, LimitLevel, RoleAssignments, Store, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

const T0: i64 = 1_800_000_000;

mod signing_keys;
pub use signing_keys::*;
mod vault;
pub use vault::*;

async fn seeded(store: &Arc<dyn Store>) {
    store.seed(&seed()).await.expect("seed");
}

async fn user(
    store: &Arc<dyn Store>,
    tenant: i64,
    login: &str,
    roles: Vec<i64>,
) -> crate::identity::User {
    store
        .create_user(NewUser::new(
            tenant,
            login,
            "$argon2id$fake".into(),
            roles,
            T0,
        ))
        .await
        .expect("create user")
}

fn app(tenant: i64, owner: i64, client_id: &str) -> NewClientApp {
    NewClientApp {
        tenant_id: tenant,
        owner_id: owner,
        name: format!("App {client_id}"),
        description: "d".into(),
        redirect_urls: vec!["https://a.example/cb".into(), "host.example".into()],
        client_id: client_id.into(),
        secret_verifier: Some("v1.verifier".into()),
        public: false,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::Password],
        scopes: vec!["api.access.odata".into()],
        now: T0,
    }
}

pub async fn seeding_is_idempotent_and_creates_the_system_tenant(store: Arc<dyn Store>) {
    seeded(&store).await;
    seeded(&store).await;
    let t = store
        .tenant(SYSTEM_TENANT_ID)
        .await
        .expect("tenant")
        .expect("system tenant");
    assert_eq!(t.name, "system");
    assert!(t.active);
    assert_eq!(t.parent_id, None);
}

pub async fn nodes_seeding_together_all_succeed(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.seed(&seed()).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("a concurrent seed succeeds");
    }
    assert!(store
        .tenant(SYSTEM_TENANT_ID)
        .await
        .expect("tenant")
        .is_some());
}

pub async fn role_permissions_make_effective_permissions(store: Arc<dyn Store>) {
    seeded(&store).await;
    let admin = user(&store, SYSTEM_TENANT_ID, "root", vec![ROLE_ADMINISTRATOR]).await;
    let plain = user(&store, SYSTEM_TENANT_ID, "plain", vec![ROLE_USER]).await;
    let none = user(&store, SYSTEM_TENANT_ID, "none", vec![]).await;
    let all: Vec<i64> = crate::identity::PERMISSIONS.iter().map(|p| p.0).collect();
    assert_eq!(
        store.effective_permissions(admin.id).await.expect("perms"),
        all
    );
    assert_eq!(
        store.effective_permissions(plain.id).await.expect("perms"),
        (1..=11).collect::<Vec<_>>()
    );
    assert!(store
        .effective_permissions(none.id)
        .await
        .expect("perms")
        .is_empty());
}

pub async fn login_names_are_unique_within_a_tenant_only(store: Arc<dyn Store>) {
    seeded(&store).await;
    let a = user(&store, SYSTEM_TENANT_ID, "sam", vec![]).await;
    let again = store
        .create_user(NewUser::new(
            SYSTEM_TENANT_ID,
            "sam",
            "x".into(),
            vec![],
            T0,
        ))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let t = store
        .create_tenant(NewTenant::named("acme", T0))
        .await
        .expect("tenant");
    assert_eq!(t.parent_id, Some(SYSTEM_TENANT_ID));
    assert!(matches!(
        store.create_tenant(NewTenant::named("acme", T0)).await,
        Err(StoreError::Conflict(_))
    ));
    let b = user(&store, t.id, "sam", vec![]).await;
    let both = store.users_by_login("sam").await.expect("by login");
    assert_eq!(
        both.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    assert_eq!(
        store
            .user_by_login(t.id, "sam")
            .await
            .expect("get")
            .map(|u| u.id),
        Some(b.id)
    );
    assert_eq!(
        store.user_by_login(t.id, "nobody").await.expect("get"),
        None
    );
    assert_eq!(store.count_users().await.expect("count"), 2);
    let got = store.user(a.id).await.expect("get").expect("exists");
    assert_eq!(got, a);
    assert_eq!(got.auth_version, 1);
}

pub async fn failures_lock_at_the_limit_and_expire_with_the_interval(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "lockme", vec![]).await;
    let p = LockoutPolicy {
        interval: 900,
        limit: 3,
        period: 1800,
    };
    assert_eq!(
        store.record_login_failure(u.id, T0, p).await.expect("fail"),
        None
    );
    // Outside the interval the count starts again.
    assert_eq!(
        store
            .record_login_failure(u.id, T0 + 901, p)
            .await
            .expect("fail"),
        None
    );
    assert_eq!(
        store
            .record_login_failure(u.id, T0 + 902, p)
            .await
            .expect("fail"),
        None
    );
    let lock = store
        .record_login_failure(u.id, T0 + 903, p)
        .await
        .expect("fail")
        .expect("locked");
    assert_eq!(
        (lock.locked_at, lock.locked_until),
        (T0 + 903, T0 + 903 + 1800)
    );
    let stored = store.user(u.id).await.expect("get").expect("exists");
    assert_eq!(stored.lock_at(T0 + 904), Some(lock));
    assert_eq!(stored.auth_version, 2, "locking bumps auth_version");
    // Failures while locked change nothing.
    assert_eq!(
        store
            .record_login_failure(u.id, T0 + 905, p)
            .await
            .expect("fail"),
        Some(lock)
    );
    assert_eq!(
        store
            .user(u.id)
            .await
            .expect("get")
            .expect("exists")
            .auth_version,
        2
    );
    // The lock ends by itself.
    assert_eq!(stored.lock_at(T0 + 903 + 1800), None);
}

pub async fn a_zero_limit_never_locks(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "free", vec![]).await;
    let p = LockoutPolicy {
        interval: 900,
        limit: 0,
        period: 1800,
    };
    for i in 0..5 {
        assert_eq!(
            store
                .record_login_failure(u.id, T0 + i, p)
                .await
                .expect("fail"),
            None
        );
    }
}

pub async fn concurrent_failures_are_each_counted_once(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "racer", vec![]).await;
    let p = LockoutPolicy {
        interval: 900,
        limit: 20,
        period: 1800,
    };
    let mut tasks = Vec::new();
    for _ in 0..19 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.record_login_failure(u.id, T0, p).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("fail"), None);
    }
    assert_eq!(
        store
            .user(u.id)
            .await
            .expect("get")
            .expect("exists")
            .failed_logins,
        19
    );
    assert!(store
        .record_login_failure(u.id, T0, p)
        .await
        .expect("fail")
        .is_some());
}

pub async fn clearing_failures_and_setting_a_password_unlock(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "pw", vec![]).await;
    let p = LockoutPolicy {
        interval: 900,
        limit: 2,
        period: 1800,
    };
    store.record_login_failure(u.id, T0, p).await.expect("fail");
    store.clear_login_failures(u.id).await.expect("clear");
    assert_eq!(
        store.record_login_failure(u.id, T0, p).await.expect("fail"),
        None
    );
    assert!(store
        .record_login_failure(u.id, T0, p)
        .await
        .expect("fail")
        .is_some());
    assert!(store
        .set_password(u.id, "$argon2id$new", T0 + 1)
        .await
        .expect("set"));
    let after = store.user(u.id).await.expect("get").expect("exists");
    assert_eq!(after.password_hash, "$argon2id$new");
    assert_eq!(after.lock_at(T0 + 2), None);
    assert_eq!(after.failed_logins, 0);
    assert_eq!(after.auth_version, 3);
    assert!(!store.set_password(9_999_999, "x", T0).await.expect("set"));
}

pub async fn server_secrets_are_initialised_once(store: Arc<dyn Store>) {
    seeded(&store).await;
    assert_eq!(store.server_secret("pepper").await.expect("get"), None);
    assert_eq!(
        store
            .init_server_secret("pepper", "first", T0)
            .await
            .expect("init"),
        "first"
    );
    assert_eq!(
        store
            .init_server_secret("pepper", "second", T0)
            .await
            .expect("init"),
        "first"
    );
    assert_eq!(
        store.server_secret("pepper").await.expect("get").as_deref(),
        Some("first")
    );
}

pub async fn limits_resolve_user_then_tenant_then_system(store: Arc<dyn Store>) {
    seeded(&store).await;
    assert_eq!(
        store.limit(3, SYSTEM_TENANT_ID, None).await.expect("limit"),
        None
    );
    store
        .set_limit(LimitLevel::System, 3, Some(5))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::System, 3, Some(6))
        .await
        .expect("set");
    assert_eq!(
        store
            .limit(3, SYSTEM_TENANT_ID, Some(42))
            .await
            .expect("limit"),
        Some(6)
    );
}

pub async fn client_applications_round_trip(store: Arc<dyn Store>) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "owner", vec![]).await;
    let created = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-1"))
        .await
        .expect("create");
    assert_eq!(created.name, "App cid-1");
    assert_eq!(
        created.redirect_urls,
        vec!["https://a.example/cb".to_owned(), "host.example".to_owned()]
    );
    assert_eq!(
        created.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::Password]
    );
    assert_eq!(created.secret_verifier.as_deref(), Some("v1.verifier"));
    assert_eq!(created.tokens_valid_after, T0);
    assert_eq!(
        store.client_app(created.id).await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(
        store.client_app_by_client_id("cid-1").await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(
        store.client_app_by_client_id("nope").await.expect("get"),
        None
    );
    let dup = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-1"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let mut public = app(SYSTEM_TENANT_ID, owner.id, "cid-2");
    public.public = true;
    public.secret_verifier = None;
    let public = store
        .create_client_app(public)
        .await
        .expect("create public");
    assert!(public.public);
    assert_eq!(public.secret_verifier, None);

    let updated = store
        .update_client_app(
            created.id,
            ClientAppChanges {
                name: "Renamed".into(),
                description: "".into(),
                redirect_urls: vec!["https://b.example/cb".into()],
                grant_types: vec![GrantType::ClientCredentials],
                scopes: vec!["api.access.mgmt".into()],
                now: T0 + 5,
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(updated.name, "Renamed");
    assert_eq!(
        updated.redirect_urls,
        vec!["https://b.example/cb".to_owned()]
    );
    assert_eq!(updated.grant_types, vec![GrantType::ClientCredentials]);
    assert_eq!(updated.updated_at, T0 + 5);
    assert_eq!(updated.client_id, "cid-1");
    assert_eq!(
        store.client_app(created.id).await.expect("get"),
        Some(updated.clone())
    );

    let ids =
        |v: Vec<crate::client_app::ClientApp>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_client_apps(AppListScope::Owner(owner.id))
            .await
            .expect("list")),
        vec![created.id, public.id]
    );
    assert_eq!(
        ids(store
            .list_client_apps(AppListScope::Tenant(SYSTEM_TENANT_ID))
            .await
            .expect("list"))
        .len(),
        2
    );
    assert!(store
        .list_client_apps(AppListScope::Owner(owner.id + 1000))
        .await
        .expect("list")
        .is_empty());

    assert!(store.delete_client_app(public.id).await.expect("delete"));
    assert!(!store.delete_client_app(public.id).await.expect("delete"));
    assert_eq!(store.client_app(public.id).await.expect("get"), None);
    assert_eq!(
        store
            .update_client_app(
                public.id,
                ClientAppChanges {
                    name: "x".into(),
                    description: "".into(),
                    redirect_urls: vec![],
                    grant_types: vec![],
                    scopes: vec![],
                    now: T0,
                }
            )
            .await
            .expect("update"),
        None
    );
}

pub async fn consents_union_their_scopes_and_go_with_reset_and_delete(store: Arc<dyn Store>) {
    seeded(&store).await;
    let owner = user(&store, SYSTEM_TENANT_ID, "owner", vec![]).await;
    let alice = user(&store, SYSTEM_TENANT_ID, "alice", vec![]).await;
    let a = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-a"))
        .await
        .expect("create");
    let b = store
        .create_client_app(app(SYSTEM_TENANT_ID, owner.id, "cid-b"))
        .await
        .expect("create");
    store
        .grant_consent(alice.id, b.id, &["api.access.odata".into()], T0)
        .await
        .expect("grant");
    store
        .grant_consent(alice.id, a.id, &["api.access.odata".into()], T0)
        .await
        .expect("grant");
    store
        .grant_consent(
            alice.id,
            a.id,
            &["api.access.mgmt".into(), "api.access.odata".into()],
            T0 + 1,
        )
        .await
        .expect("grant");
    let list = store.consents_of_user(alice.id).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].client_app_id, list[0].app_name.as_str()),
        (a.id, "App cid-a")
    );
    assert_eq!(
        list[0].scopes,
        vec!["api.access.odata".to_owned(), "api.access.mgmt".to_owned()]
    );
    assert_eq!(list[0].granted_at, T0);
    assert!(store
        .consents_of_user(owner.id)
        .await
        .expect("list")
        .is_empty());

    let reset = store
        .reset_client_secret(a.id, "v1.new", T0 + 10)
        .await
        .expect("reset")
        .expect("exists");
    assert_eq!(reset.secret_verifier.as_deref(), Some("v1.new"));
    assert_eq!(reset.tokens_valid_after, T0 + 10);
    let list = store.consents_of_user(alice.id).await.expect("list");
    assert_eq!(
        list.iter().map(|c| c.client_app_id).collect::<Vec<_>>(),
        vec![b.id]
    );
    assert_eq!(
        store
            .reset_client_secret(9_999_999, "v", T0)
            .await
            .expect("reset"),
        None
    );

    assert!(store.delete_client_app(b.id).await.expect("delete"));
    assert!(store
        .consents_of_user(alice.id)
        .await
        .expect("list")
        .is_empty());

    store
        .grant_consent(alice.id, a.id, &["api.access.odata".into()], T0)
        .await
        .expect("grant");
    assert!(store
        .revoke_consent(alice.id, a.id, T0)
        .await
        .expect("revoke"));
    assert!(!store
        .revoke_consent(alice.id, a.id, T0)
        .await
        .expect("revoke"));
}

/// Two concurrent creates of one name in different case: one tenant, one conflict,
/// whatever the API checked before (the database's own constraint decides).
pub async fn tenant_names_are_unique_ignoring_case_even_when_created_at_once(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let create = |name: &'static str| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store.create_tenant(NewTenant::named(name, T0)).await
        })
    };
    let (a, b) = (create("Acme"), create("ACME"));
    let results = [a.await.expect("task"), b.await.expect("task")];
    let created: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::Conflict(_)))),
        "{results:?}"
    );
    let named: Vec<_> = store
        .tenants()
        .await
        .expect("tenants")
        .into_iter()
        .filter(|t| t.name.eq_ignore_ascii_case("acme"))
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(matches!(
        store.create_tenant(NewTenant::named("aCmE", T0)).await,
        Err(StoreError::Conflict(_))
    ));
    let other = store
        .create_tenant(NewTenant::named("globex", T0))
        .await
        .expect("another name");
    let renamed = store
        .update_tenant(
            other.id,
            TenantChanges {
                name: "ACME".into(),
                description: None,
                active: true,
                allowed_scopes: other.allowed_scopes.clone(),
                hosts: vec![],
                now: T0,
            },
        )
        .await;
    assert!(
        matches!(renamed, Err(StoreError::Conflict(_))),
        "{renamed:?}"
    );
}

pub async fn tenants_are_created_with_hosts_roles_and_admins_at_once(store: Arc<dyn Store>) {
    seeded(&store).await;
    let admin = user(&store, SYSTEM_TENANT_ID, "root", vec![ROLE_ADMINISTRATOR]).await;
    let mut n = NewTenant::named("acme", T0);
    n.description = Some("Acme Corp".into());
    n.hosts = vec!["Acme.example".into(), "acme.test".into()];
    n.imported_roles = vec![ROLE_USER, ROLE_TENANT_ADMINISTRATOR];
    n.admins = vec![admin.id];
    let t = store.create_tenant(n).await.expect("create");
    assert_eq!(
        (t.name.as_str(), t.description.as_deref(), t.active),
        ("acme", Some("Acme Corp"), true)
    );
    assert_eq!(t.allowed_scopes, vec!["api.access.odata".to_owned()]);
    assert_eq!(store.tenant(t.id).await.expect("get"), Some(t.clone()));
    assert_eq!(
        store.tenant_by_name("acme").await.expect("get"),
        Some(t.clone())
    );
    assert_eq!(
        store.tenant_by_host("ACME.EXAMPLE").await.expect("get"),
        Some(t.clone())
    );
    assert_eq!(
        store.tenant_by_host("nope.example").await.expect("get"),
        None
    );
    assert_eq!(
        store.tenant_hosts(t.id).await.expect("hosts"),
        vec!["acme.example".to_owned(), "acme.test".to_owned()]
    );
    let roles = store.roles(t.id).await.expect("roles");
    assert_eq!(roles.len(), 2);
    assert!(roles
        .iter()
        .all(|r| r.tenant_id == t.id && r.id > ROLE_TENANT_ADMINISTRATOR));
    let user_role = store.role(ROLE_USER).await.expect("role").expect("exists");
    assert_eq!(roles[0].permissions, user_role.permissions);
    assert_eq!(roles[0].name, user_role.name);
    assert_eq!(
        store.tenant_admins(t.id).await.expect("admins"),
        vec![admin.id]
    );
    assert_eq!(
        store
            .administered_tenants(admin.id)
            .await
            .expect("administered"),
        vec![t.id]
    );

    // A taken host name refuses the whole tenant.
    let mut clash = NewTenant::named("beta", T0);
    clash.hosts = vec!["acme.TEST".into()];
    clash.imported_roles = vec![ROLE_USER];
    assert!(matches!(
        store.create_tenant(clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.tenant_by_name("beta").await.expect("get"), None);
    assert_eq!(store.tenants().await.expect("list").len(), 2);
}

pub async fn tenant_updates_replace_fields_and_hosts_and_deletes_take_everything(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let mut n = NewTenant::named("acme", T0);
    n.hosts = vec!["a.example".into()];
    n.imported_roles = vec![ROLE_USER];
    let t = store.create_tenant(n).await.expect("create");
    let other = store
        .create_tenant(NewTenant::named("other", T0))
        .await
        .expect("create");
    let changes = |name: &str, hosts: Vec<String>| TenantChanges {
        name: name.into(),
        description: Some("d".into()),
        active: false,
        allowed_scopes: vec!["api.access.odata".into(), "api.access.mgmt".into()],
        hosts,
        now: T0,
    };
    let u = store
        .update_tenant(t.id, changes("acme2", vec!["b.example".into()]))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (u.name.as_str(), u.active, u.allowed_scopes.len()),
        ("acme2", false, 2)
    );
    assert_eq!(
        store.tenant_hosts(t.id).await.expect("hosts"),
        vec!["b.example".to_owned()]
    );
    assert_eq!(store.tenant_by_host("a.example").await.expect("get"), None);
    assert!(matches!(
        store
            .update_tenant(other.id, changes("acme2", vec![]))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_tenant(other.id, changes("x", vec!["b.example".into()]))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .update_tenant(9_999_999, changes("y", vec![]))
            .await
            .expect("update"),
        None
    );

    let role = store.roles(t.id).await.expect("roles")[0].id;
    let member = user(&store, t.id, "member", vec![role]).await;
    let app = store
        .create_client_app(self::app(t.id, member.id, "cid-t"))
        .await
        .expect("app");
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, Some(60))
        .await
        .expect("limit");
    assert!(store.delete_tenant(t.id).await.expect("delete"));
    assert!(!store.delete_tenant(t.id).await.expect("delete"));
    assert_eq!(store.tenant(t.id).await.expect("get"), None);
    assert_eq!(store.user(member.id).await.expect("get"), None);
    assert_eq!(store.client_app(app.id).await.expect("get"), None);
    assert!(store.roles(t.id).await.expect("roles").is_empty());
    assert!(store.tenant_hosts(t.id).await.expect("hosts").is_empty());
    assert!(store
        .limits_at(LimitLevel::Tenant(t.id))
        .await
        .expect("limits")
        .is_empty());
}

pub async fn users_are_listed_updated_and_deleted(store: Arc<dyn Store>) {
    seeded(&store).await;
    let acme = store
        .create_tenant(NewTenant::named("acme", T0))
        .await
        .expect("tenant");
    let a = user(&store, SYSTEM_TENANT_ID, "a", vec![ROLE_USER]).await;
    let b = user(&store, SYSTEM_TENANT_ID, "b", vec![]).await;
    let c = user(&store, acme.id, "c", vec![]).await;
    let ids = |v: Vec<crate::identity::User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_users(Some(SYSTEM_TENANT_ID))
            .await
            .expect("list")),
        vec![a.id, b.id]
    );
    assert_eq!(
        ids(store.list_users(None).await.expect("list")),
        vec![a.id, b.id, c.id]
    );

    let ch = |login: &str, active: bool| UserChanges {
        login: login.into(),
        active,
        password_status: crate::identity::PASSWORD_MUST_RESET,
        password_expiration: Some(T0 + 99),
        now: T0,
    };
    assert!(matches!(
        store.update_user(a.id, ch("b", true)).await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = store
        .update_user(a.id, ch("a2", true))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (
            renamed.login.as_str(),
            renamed.password_status,
            renamed.password_expiration
        ),
        ("a2", 2, Some(T0 + 99))
    );
    assert_eq!(renamed.auth_version, 1, "renaming keeps sessions");
    let off = store
        .update_user(a.id, ch("a2", false))
        .await
        .expect("update")
        .expect("exists");
    assert!(!off.active);
    assert_eq!(
        off.auth_version, 2,
        "deactivating ends every session and token"
    );
    assert_eq!(
        store
            .update_user(9_999_999, ch("z", true))
            .await
            .expect("update"),
        None
    );

    let app = store
        .create_client_app(self::app(SYSTEM_TENANT_ID, b.id, "cid-b"))
        .await
        .expect("app");
    store
        .grant_consent(a.id, app.id, &["api.access.odata".into()], T0)
        .await
        .expect("consent");
    store
        .set_tenant_admins(acme.id, &[b.id])
        .await
        .expect("admins");
    assert!(store.delete_user(b.id).await.expect("delete"));
    assert!(!store.delete_user(b.id).await.expect("delete"));
    assert_eq!(store.user(b.id).await.expect("get"), None);
    assert_eq!(
        store.client_app(app.id).await.expect("get"),
        None,
        "their applications go with them"
    );
    assert!(store
        .consents_of_user(a.id)
        .await
        .expect("consents")
        .is_empty());
    assert!(store
        .tenant_admins(acme.id)
        .await
        .expect("admins")
        .is_empty());
}

pub async fn role_assignments_are_replaced_at_once_and_end_sessions(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "g", vec![ROLE_USER]).await;
    assert_eq!(
        store.role_assignments(u.id).await.expect("grants"),
        RoleAssignments {
            roles: vec![ROLE_USER],
            permissions: vec![]
        }
    );
    let g = RoleAssignments {
        roles: vec![ROLE_TENANT_ADMINISTRATOR, ROLE_USER],
        permissions: vec![28, 25],
    };
    assert!(store.set_role_assignments(u.id, &g).await.expect("set"));
    assert_eq!(
        store.role_assignments(u.id).await.expect("grants"),
        RoleAssignments {
            roles: vec![2, 3],
            permissions: vec![25, 28]
        }
    );
    let eff = store.effective_permissions(u.id).await.expect("eff");
    assert!(eff.contains(&13) && eff.contains(&25) && eff.contains(&28) && !eff.contains(&12));
    assert_eq!(
        store
            .user(u.id)
            .await
            .expect("get")
            .expect("exists")
            .auth_version,
        2
    );
    assert!(!store
        .set_role_assignments(9_999_999, &g)
        .await
        .expect("set"));
}

pub async fn unlocking_and_api_secrets(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "locked", vec![]).await;
    let p = LockoutPolicy {
        interval: 900,
        limit: 1,
        period: 1800,
    };
    assert!(store
        .record_login_failure(u.id, T0, p)
        .await
        .expect("fail")
        .is_some());
    assert!(store.unlock_user(u.id).await.expect("unlock"));
    let after = store.user(u.id).await.expect("get").expect("exists");
    assert_eq!((after.lock, after.failed_logins), (None, 0));
    assert!(!store.unlock_user(9_999_999).await.expect("unlock"));

    assert_eq!(after.api_secret_verifier, None);
    assert!(store
        .set_api_secret(u.id, Some("v1.api"), T0)
        .await
        .expect("set"));
    assert_eq!(
        store
            .user(u.id)
            .await
            .expect("get")
            .expect("exists")
            .api_secret_verifier
            .as_deref(),
        Some("v1.api")
    );
    assert!(store.set_api_secret(u.id, None, T0).await.expect("clear"));
    assert_eq!(
        store
            .user(u.id)
            .await
            .expect("get")
            .expect("exists")
            .api_secret_verifier,
        None
    );
    assert!(!store
        .set_api_secret(9_999_999, None, T0)
        .await
        .expect("set"));
}

pub async fn limits_are_set_and_cleared_per_level(store: Arc<dyn Store>) {
    seeded(&store).await;
    let t = store
        .create_tenant(NewTenant::named("acme", T0))
        .await
        .expect("tenant");
    store
        .set_limit(LimitLevel::System, 1001, Some(100))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, Some(200))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::User(77), 1001, Some(300))
        .await
        .expect("set");
    store
        .set_limit(LimitLevel::System, 2, Some(60))
        .await
        .expect("set");
    assert_eq!(
        store
            .limit(1001, SYSTEM_TENANT_ID, None)
            .await
            .expect("get"),
        Some(100)
    );
    assert_eq!(store.limit(1001, t.id, None).await.expect("get"), Some(200));
    assert_eq!(
        store.limit(1001, t.id, Some(77)).await.expect("get"),
        Some(300)
    );
    assert_eq!(
        store.limits_at(LimitLevel::System).await.expect("at"),
        vec![(2, 60), (1001, 100)]
    );
    assert_eq!(
        store.limits_at(LimitLevel::Tenant(t.id)).await.expect("at"),
        vec![(1001, 200)]
    );
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, None)
        .await
        .expect("clear");
    assert_eq!(store.limit(1001, t.id, None).await.expect("get"), Some(100));
    store
        .set_limit(LimitLevel::Tenant(t.id), 1001, None)
        .await
        .expect("clearing twice is fine");
}

fn family(id: &str, app: i64, user: Option<i64>) -> crate::oauth::grants::Family {
    crate::oauth::grants::Family {
        id: id.into(),
        client_app_id: app,
        user_id: user,
        tenant_id: SYSTEM_TENANT_ID,
        scopes: vec!["api.access.odata".into()],
        auth_version: user.map(|_| 1),
        created_at: T0,
        revoked_at: None,
    }
}

fn refresh(verifier: &str, family: &str) -> crate::oauth::grants::RefreshToken {
    crate::oauth::grants::RefreshToken {
        verifier: verifier.into(),
        family_id: family.into(),
        created_at: T0,
        expires_at: None,
        rotated_at: None,
    }
}

fn code(verifier: &str, app: i64, user: i64) -> crate::oauth::grants::AuthCode {
    crate::oauth::grants::AuthCode {
        verifier: verifier.into(),
        client_app_id: app,
        user_id: user,
        redirect_uri: Some("https://a.example/cb".into()),
        scopes: vec!["api.access.odata".into()],
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        created_at: T0,
        expires_at: T0 + 60,
        used_at: None,
        family_id: None,
    }
}

async fn token_fixture(store: &Arc<dyn Store>) -> (i64, i64) {
    seeded(store).await;
    let u = user(store, SYSTEM_TENANT_ID, "tok", vec![ROLE_USER]).await;
    let a = store
        .create_client_app(app(SYSTEM_TENANT_ID, u.id, "cid-tok"))
        .await
        .expect("app");
    (u.id, a.id)
}

pub async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(store: Arc<dyn Store>) {
    use crate::oauth::grants::Rotation;
    let (u, a) = token_fixture(&store).await;
    store
        .create_family(
            &family("fam-1", a, Some(u)),
            Some(&refresh("rt-1", "fam-1")),
        )
        .await
        .expect("family");
    let (t, f) = store
        .refresh_token("rt-1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (t.family_id.as_str(), t.rotated_at, f.revoked_at),
        ("fam-1", None, None)
    );
    assert_eq!(f, family("fam-1", a, Some(u)));
    assert_eq!(store.refresh_token("nope").await.expect("get"), None);

    assert_eq!(
        store
            .rotate_refresh_token("rt-1", &refresh("rt-2", "fam-1"), T0 + 1)
            .await
            .expect("rotate"),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .refresh_token("rt-1")
            .await
            .expect("get")
            .expect("exists")
            .0
            .rotated_at,
        Some(T0 + 1)
    );
    assert_eq!(
        store
            .refresh_token("rt-2")
            .await
            .expect("get")
            .expect("exists")
            .1
            .revoked_at,
        None
    );
    let reuse = store
        .rotate_refresh_token("rt-1", &refresh("rt-3", "fam-1"), T0 + 2)
        .await
        .expect("rotate");
    assert_eq!(
        reuse,
        Rotation::Reused {
            family_id: "fam-1".into()
        }
    );
    assert_eq!(
        store
            .family("fam-1")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        Some(T0 + 2)
    );
    assert_eq!(
        store.refresh_token("rt-3").await.expect("get"),
        None,
        "no successor on reuse"
    );
    assert_eq!(
        store
            .rotate_refresh_token("nope", &refresh("rt-4", "fam-1"), T0)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
    assert!(
        !store.revoke_family("fam-1", T0 + 3).await.expect("revoke"),
        "already revoked"
    );
    assert!(!store.revoke_family("nope", T0).await.expect("revoke"));
}

pub async fn of_concurrent_rotations_exactly_one_wins(store: Arc<dyn Store>) {
    use crate::oauth::grants::Rotation;
    let (u, a) = token_fixture(&store).await;
    store
        .create_family(
            &family("fam-c", a, Some(u)),
            Some(&refresh("rt-c", "fam-c")),
        )
        .await
        .expect("family");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move {
                s.rotate_refresh_token("rt-c", &refresh(&format!("succ-{i}"), "fam-c"), T0 + 1)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("join").expect("rotate") {
            Rotation::Rotated => wins += 1,
            Rotation::Reused { .. } => {}
            Rotation::Unknown => panic!("the token exists"),
        }
    }
    assert_eq!(wins, 1);
    assert!(store
        .family("fam-c")
        .await
        .expect("get")
        .expect("exists")
        .revoked_at
        .is_some());
}

pub async fn authorization_codes_are_single_use_and_replay_revokes(store: Arc<dyn Store>) {
    use crate::oauth::grants::CodeTake;
    let (u, a) = token_fixture(&store).await;
    store
        .insert_auth_code(&code("code-1", a, u))
        .await
        .expect("insert");
    assert!(
        store.insert_auth_code(&code("code-1", a, u)).await.is_err(),
        "codes are unique"
    );
    let CodeTake::Taken(c) = store.take_auth_code("code-1", T0 + 5).await.expect("take") else {
        panic!("first use")
    };
    assert_eq!(c.used_at, Some(T0 + 5));
    assert_eq!(c.redirect_uri.as_deref(), Some("https://a.example/cb"));
    store
        .create_family(
            &family("fam-code", a, Some(u)),
            Some(&refresh("rt-code", "fam-code")),
        )
        .await
        .expect("family");
    store
        .set_code_family("code-1", "fam-code")
        .await
        .expect("link");
    let CodeTake::Replayed(c) = store.take_auth_code("code-1", T0 + 6).await.expect("take") else {
        panic!("replay")
    };
    assert_eq!(c.family_id.as_deref(), Some("fam-code"));
    assert_eq!(
        store
            .family("fam-code")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        Some(T0 + 6)
    );
    assert_eq!(
        store.take_auth_code("nope", T0).await.expect("take"),
        CodeTake::Unknown
    );

    store
        .insert_auth_code(&code("code-2", a, u))
        .await
        .expect("insert");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.take_auth_code("code-2", T0 + 1).await })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        if let CodeTake::Taken(_) = t.await.expect("join").expect("take") {
            taken += 1;
        }
    }
    assert_eq!(taken, 1);
}

pub async fn revocations_and_cascades_reach_token_families(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    let other = store
        .create_client_app(app(SYSTEM_TENANT_ID, u, "cid-other"))
        .await
        .expect("app");
    store
        .create_family(&family("f-a", a, Some(u)), Some(&refresh("r-a", "f-a")))
        .await
        .expect("family");
    store
        .create_family(&family("f-o", other.id, Some(u)), None)
        .await
        .expect("family");
    store
        .create_family(&family("f-cc", a, None), None)
        .await
        .expect("family");
    store
        .grant_consent(u, a, &["api.access.odata".into()], T0)
        .await
        .expect("consent");
    assert!(store.revoke_consent(u, a, T0 + 9).await.expect("revoke"));
    assert_eq!(
        store
            .family("f-a")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        Some(T0 + 9)
    );
    assert_eq!(
        store
            .family("f-o")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        None,
        "other apps untouched"
    );
    assert_eq!(
        store
            .family("f-cc")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        None,
        "client grants untouched"
    );
    // A reset revokes every family of the application, even one created in the same
    // second (`tokens_valid_after` alone would miss it).
    store
        .reset_client_secret(a, "v1.reset", T0)
        .await
        .expect("reset")
        .expect("exists");
    let revoked_at = |id: &'static str| {
        let store = store.clone();
        async move {
            store
                .family(id)
                .await
                .expect("get")
                .expect("exists")
                .revoked_at
        }
    };
    assert_eq!(revoked_at("f-cc").await, Some(T0));
    assert_eq!(
        revoked_at("f-a").await,
        Some(T0 + 9),
        "already revoked: unchanged"
    );
    assert_eq!(revoked_at("f-o").await, None, "other apps untouched");

    assert!(store.delete_client_app(other.id).await.expect("delete"));
    assert_eq!(store.family("f-o").await.expect("get"), None);
    assert!(store.delete_user(u).await.expect("delete"));
    assert_eq!(store.family("f-a").await.expect("get"), None);
    assert_eq!(store.refresh_token("r-a").await.expect("get"), None);

    assert!(!store.is_jti_revoked("jti-1").await.expect("get"));
    store.revoke_jti("jti-1", T0 + 100).await.expect("revoke");
    store
        .revoke_jti("jti-1", T0 + 100)
        .await
        .expect("revoking twice is fine");
    assert!(store.is_jti_revoked("jti-1").await.expect("get"));
    assert!(store.purge_expired(T0 + 101).await.expect("purge") >= 1);
    assert!(!store.is_jti_revoked("jti-1").await.expect("get"));
}

pub async fn a_replay_during_the_exchange_still_revokes_its_family(store: Arc<dyn Store>) {
    use crate::oauth::grants::CodeTake;
    let (u, a) = token_fixture(&store).await;
    store
        .insert_auth_code(&code("code-r", a, u))
        .await
        .expect("insert");
    let CodeTake::Taken(_) = store.take_auth_code("code-r", T0 + 1).await.expect("take") else {
        panic!("first use")
    };
    // The replay arrives before the first exchange recorded its family.
    let CodeTake::Replayed(c) = store.take_auth_code("code-r", T0 + 2).await.expect("take") else {
        panic!("replay")
    };
    assert_eq!(c.family_id, None);
    store
        .create_family(
            &family("fam-r", a, Some(u)),
            Some(&refresh("rt-r", "fam-r")),
        )
        .await
        .expect("family");
    assert!(
        store
            .set_code_family("code-r", "fam-r")
            .await
            .expect("link"),
        "the exchange learns of the replay"
    );
    assert_eq!(
        store
            .family("fam-r")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        Some(T0 + 2)
    );
    // Replays racing the link: whatever the interleaving, the family ends revoked.
    for round in 0..4 {
        let (c, f) = (format!("code-race-{round}"), format!("fam-race-{round}"));
        store
            .insert_auth_code(&code(&c, a, u))
            .await
            .expect("insert");
        let CodeTake::Taken(_) = store.take_auth_code(&c, T0 + 1).await.expect("take") else {
            panic!("first use")
        };
        store
            .create_family(&family(&f, a, Some(u)), None)
            .await
            .expect("family");
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (s, c) = (store.clone(), c.clone());
            tasks.push(tokio::spawn(async move {
                s.take_auth_code(&c, T0 + 2).await.map(|_| ())
            }));
        }
        let (s, c2, f2) = (store.clone(), c.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            s.set_code_family(&c2, &f2).await.map(|_| ())
        }));
        for t in tasks {
            t.await.expect("join").expect("store call");
        }
        assert!(
            store
                .family(&f)
                .await
                .expect("get")
                .expect("exists")
                .revoked_at
                .is_some(),
            "round {round}: a replay racing the exchange revokes its family"
        );
    }
    // Without a replay, linking revokes nothing.
    store
        .insert_auth_code(&code("code-s", a, u))
        .await
        .expect("insert");
    store.take_auth_code("code-s", T0 + 1).await.expect("take");
    store
        .create_family(&family("fam-s", a, Some(u)), None)
        .await
        .expect("family");
    assert!(!store
        .set_code_family("code-s", "fam-s")
        .await
        .expect("link"));
    assert_eq!(
        store
            .family("fam-s")
            .await
            .expect("get")
            .expect("exists")
            .revoked_at,
        None
    );
}

pub async fn sessions_round_trip_expire_and_go_with_their_user(store: Arc<dyn Store>) {
    use crate::session::Session;
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "sess", vec![ROLE_USER]).await;
    let s = Session::new("sv-1".into(), u.id, 4, T0);
    store.insert_session(&s).await.expect("insert");
    assert!(
        store.insert_session(&s).await.is_err(),
        "verifiers are unique"
    );
    assert_eq!(store.session("sv-1").await.expect("get"), Some(s.clone()));
    assert_eq!(store.session("nope").await.expect("get"), None);
    store
        .touch_session("sv-1", T0 + 500 + crate::session::IDLE_LIFETIME)
        .await
        .expect("touch");
    store
        .touch_session("sv-1", T0 + 100)
        .await
        .expect("an earlier deadline is ignored");
    assert_eq!(
        store
            .session("sv-1")
            .await
            .expect("get")
            .map(|x| x.idle_until),
        Some(T0 + 500 + crate::session::IDLE_LIFETIME)
    );
    store
        .insert_session(&Session::new("sv-2".into(), u.id, 4, T0))
        .await
        .expect("insert");
    // sv-2 is idle past its deadline; sv-1 was touched.
    assert_eq!(
        store
            .purge_sessions(T0 + crate::session::IDLE_LIFETIME)
            .await
            .expect("purge"),
        1
    );
    assert_eq!(store.session("sv-2").await.expect("get"), None);
    assert!(store.delete_session("sv-1").await.expect("delete"));
    assert!(!store.delete_session("sv-1").await.expect("delete"));
    store
        .insert_session(&Session::new("sv-3".into(), u.id, 4, T0))
        .await
        .expect("insert");
    assert!(store.delete_user(u.id).await.expect("delete user"));
    assert_eq!(
        store.session("sv-3").await.expect("get"),
        None,
        "a deleted user's sessions go with them"
    );
}

/// `token_state` answers what `is_jti_revoked`, `family` and `user` answer, in one read.
pub async fn token_state_reads_revocations_families_and_users_together(store: Arc<dyn Store>) {
    let (u, a) = token_fixture(&store).await;
    store
        .create_family(&family("f-s", a, Some(u)), None)
        .await
        .expect("family");
    let s = store
        .token_state("jti-s", Some("f-s"), Some(u))
        .await
        .expect("state");
    assert!(!s.jti_revoked);
    assert_eq!(s.family_live, Some(true));
    assert_eq!(s.user, store.user(u).await.expect("user"));
    assert!(s.user.is_some());

    let none = store.token_state("jti-s", None, None).await.expect("state");
    assert_eq!((none.family_live, none.user), (None, None));
    let unknown = store
        .token_state("jti-s", Some("f-missing"), Some(u + 1000))
        .await
        .expect("state");
    assert_eq!((unknown.family_live, unknown.user), (Some(false), None));

    store.revoke_jti("jti-s", T0 + 100).await.expect("revoke");
    assert!(store.revoke_family("f-s", T0 + 1).await.expect("revoke"));
    let s = store
        .token_state("jti-s", Some("f-s"), Some(u))
        .await
        .expect("state");
    assert!(s.jti_revoked);
    assert_eq!(s.family_live, Some(false));
}

/// A fresh store for one contract case, and what to do once the case has passed (drop
/// its PostgreSQL database, remove its SQLite directory). A case that fails leaves its
/// database behind to look at.
pub struct Fixture {
    store: Arc<dyn Store>,
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("cleanup", &self.cleanup.is_some())
            .finish_non_exhaustive()
    }
}

impl Fixture {
    /// `store`, with `cleanup` to run after a passing case (the store is dropped first).
    pub fn with_cleanup(
        store: Arc<dyn Store>,
        cleanup: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        Self {
            store,
            cleanup: Some(Box::pin(cleanup)),
        }
    }

    /// Runs `case` on the store, then the cleanup.
    pub async fn run<F: Future<Output = ()>>(self, case: impl FnOnce(Arc<dyn Store>) -> F) {
        case(self.store).await;
        if let Some(cleanup) = self.cleanup {
            cleanup.await;
        }
    }
}

/// What a store factory of [`crate::store_contract_tests!`] may yield: a store, a
/// [`Fixture`], or `None` when the database is not configured (the case is skipped).
pub trait IntoFixture {
    /// The fixture, or `None` to skip.
    fn into_fixture(self) -> Option<Fixture>;
}

impl IntoFixture for Arc<dyn Store> {
    fn into_fixture(self) -> Option<Fixture> {
        Some(Fixture {
            store: self,
            cleanup: None,
        })
    }
}

impl IntoFixture for Fixture {
    fn into_fixture(self) -> Option<Fixture> {
        Some(self)
    }
}

impl<T: IntoFixture> IntoFixture for Option<T> {
    fn into_fixture(self) -> Option<Fixture> {
        self.and_then(IntoFixture::into_fixture)
    }
}

/// THE list of contract cases, the only one: [`crate::store_contract_tests!`] expands it
/// for each store (memory here, SQLite and PostgreSQL in their crates).
///
/// To add a case: write `pub async fn the_case(store: Arc<dyn Store>)` in this file or
/// a file under `contract/`, and add `the_case` below. Nothing else: every store runs
/// it. The test `every_contract_case_is_listed` fails while a case is defined but not
/// listed here.
#[macro_export]
#[doc(hidden)]
macro_rules! store_contract_cases {
    ($($then:tt)*) => {
        $crate::store_contract_tests! {
            $($then)*;
            seeding_is_idempotent_and_creates_the_system_tenant,
            nodes_seeding_together_all_succeed,
            role_permissions_make_effective_permissions,
            login_names_are_unique_within_a_tenant_only,
            failures_lock_at_the_limit_and_expire_with_the_interval,
            a_zero_limit_never_locks,
            concurrent_failures_are_each_counted_once,
            clearing_failures_and_setting_a_password_unlock,
            server_secrets_are_initialised_once,
            limits_resolve_user_then_tenant_then_system,
            client_applications_round_trip,
            consents_union_their_scopes_and_go_with_reset_and_delete,
            tenants_are_created_with_hosts_roles_and_admins_at_once,
            tenant_names_are_unique_ignoring_case_even_when_created_at_once,
            tenant_updates_replace_fields_and_hosts_and_deletes_take_everything,
            users_are_listed_updated_and_deleted,
            role_assignments_are_replaced_at_once_and_end_sessions,
            unlocking_and_api_secrets,
            limits_are_set_and_cleared_per_level,
            refresh_tokens_rotate_once_and_reuse_revokes_the_family,
            of_concurrent_rotations_exactly_one_wins,
            authorization_codes_are_single_use_and_replay_revokes,
            revocations_and_cascades_reach_token_families,
            signing_keys_round_trip_with_one_active_and_one_next,
            of_concurrent_first_starts_one_active_key_wins,
            of_concurrent_signer_starts_on_an_empty_store_all_sign_with_one_key,
            rotation_is_atomic_and_of_concurrent_rotations_one_wins,
            retired_keys_are_deleted_once_their_retirement_ends,
            oauth_apps_and_profiles_round_trip_and_deleting_an_app_takes_its_profiles,
            of_concurrent_refresh_leases_one_wins_and_only_its_holder_finishes,
            due_profiles_respect_expiry_backoff_and_leases,
            connect_states_are_taken_once,
            vault_rows_go_with_their_tenant_and_owner,
            a_replay_during_the_exchange_still_revokes_its_family,
            sessions_round_trip_expire_and_go_with_their_user,
            token_state_reads_revocations_families_and_users_together,
        }
    };
}

/// Generates one `#[tokio::test]` per contract case (see [`crate::store_contract_cases!`]
/// for the list). `$make` is an async block yielding a fresh store for each case:
/// `Arc<dyn Store>`, a [`Fixture`] (a store and its cleanup) or `Option` of either
/// (`None` skips the case, for a database that is not configured).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_cases!(@cases $make);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $crate::testing::contract::IntoFixture::into_fixture($make.await);
                if let Some(fixture) = fixture {
                    fixture.run($crate::testing::contract::$case).await;
                }
            }
        )*
    };
    (@names; $($case:ident),* $(,)?) => {
        &[$(stringify!($case)),*]
    };
}

#[cfg(test)]
mod memory {
    use crate::testing::MemoryStore;
    crate::store_contract_tests!(async {
        std::sync::Arc::new(MemoryStore::new()) as std::sync::Arc<dyn crate::store::Store>
    });
}

/// The one list names every case defined in the contract files, so none runs nowhere.
#[cfg(test)]
mod listed {
    const LISTED: &[&str] = crate::store_contract_cases!(@names);

    fn defined() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testing");
        let mut files = vec![dir.join("contract.rs")];
        for entry in std::fs::read_dir(dir.join("contract")).expect("contract dir") {
            files.push(entry.expect("entry").path());
        }
        let mut names = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("contract file");
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name = rest.split('(').next().unwrap_or_default();
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        names
    }

    #[test]
    fn every_contract_case_is_listed() {
        let mut listed: Vec<String> = LISTED.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        let defined = defined();
        let missing: Vec<_> = defined.iter().filter(|d| !listed.contains(d)).collect();
        assert!(
            missing.is_empty(),
            "contract cases defined but not in store_contract_cases!: {missing:?}"
        );
        assert_eq!(listed, defined, "the list names a case that is not defined");
    }
}
