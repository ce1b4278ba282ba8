//! The store contract: behaviour every [`Store`] adapter must show. Each case takes a
//! fresh, migrated store; [`crate::store_contract_tests!`] turns the list into tests.

// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used)]

use crate::bootstrap::seed;
use crate::client_app::{ClientAppChanges, GrantType, NewClientApp};
use crate::identity::{LockoutPolicy, NewUser, ROLE_ADMINISTRATOR, ROLE_USER, SYSTEM_TENANT_ID};
use crate::store::{AppListScope, Store, StoreError};
use std::sync::Arc;

const T0: i64 = 1_800_000_000;

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
        .create_user(NewUser {
            tenant_id: tenant,
            login: login.into(),
            password_hash: "$argon2id$fake".into(),
            active: true,
            roles,
            now: T0,
        })
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
        .create_user(NewUser {
            tenant_id: SYSTEM_TENANT_ID,
            login: "sam".into(),
            password_hash: "x".into(),
            active: true,
            roles: vec![],
            now: T0,
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let t = store
        .create_tenant("acme", Some("Acme"), T0)
        .await
        .expect("tenant");
    assert_eq!(t.parent_id, Some(SYSTEM_TENANT_ID));
    assert!(matches!(
        store.create_tenant("acme", None, T0).await,
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
    store.set_system_limit(3, 5).await.expect("set");
    store.set_system_limit(3, 6).await.expect("set");
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
    assert!(store.revoke_consent(alice.id, a.id).await.expect("revoke"));
    assert!(!store.revoke_consent(alice.id, a.id).await.expect("revoke"));
}

/// Generates one `#[tokio::test]` per contract case. `$make` is an async block that
/// yields a fresh `Arc<dyn Store>`.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            seeding_is_idempotent_and_creates_the_system_tenant,
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
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::store::Store> = $make.await;
                $crate::testing::contract::$case(store).await;
            }
        )*
    };
}

#[cfg(test)]
mod memory {
    use crate::testing::MemoryStore;
    crate::store_contract_tests!(async {
        std::sync::Arc::new(MemoryStore::new()) as std::sync::Arc<dyn crate::store::Store>
    });
}
