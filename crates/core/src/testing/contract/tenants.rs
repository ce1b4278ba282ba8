//! Contract cases of [`crate::store::TenantStore`]: tenants with hosts, roles and
//! admins, unique names under concurrency, updates and cascading deletes.

use super::{app, new_tenant, race, seeded, user, T0};
use crate::model::identity::{
    NewTenant, TenantChanges, ROLE_ADMINISTRATOR, ROLE_TENANT_ADMINISTRATOR, ROLE_USER,
    SYSTEM_TENANT_ID,
};
use crate::model::limits::LimitLevel;
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// Two concurrent creates of one name in different case: one tenant, one conflict,
/// whatever the API checked before (the database's own constraint decides).
pub async fn tenant_names_are_unique_ignoring_case_even_when_created_at_once(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let results = race(["Acme", "ACME"].map(|name| {
        let store = store.clone();
        async move { store.create_tenant(NewTenant::named(name, T0)).await }
    }))
    .await;
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
    let other = new_tenant(&store, "globex").await;
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
    let other = new_tenant(&store, "other").await;
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
pub async fn whether_another_tenant_is_active_is_told_without_a_listing(store: Arc<dyn Store>) {
    seeded(&store).await;
    let other = |id: i64| {
        let store = store.clone();
        async move { store.has_other_active_tenant(id).await.expect("read") }
    };
    assert!(!other(SYSTEM_TENANT_ID).await, "only the system tenant");
    let mut beta = NewTenant::named("beta", T0);
    beta.active = false;
    let beta = store.create_tenant(beta).await.expect("create");
    assert!(
        !other(SYSTEM_TENANT_ID).await,
        "an inactive tenant does not count"
    );
    assert!(other(beta.id).await, "the system tenant is another one");
    let acme = new_tenant(&store, "acme").await;
    assert!(other(SYSTEM_TENANT_ID).await);
    assert!(other(acme.id).await);
    let deactivate = TenantChanges {
        name: "acme".into(),
        description: None,
        active: false,
        allowed_scopes: vec!["api.access.odata".into()],
        hosts: vec![],
        now: T0,
    };
    store
        .update_tenant(acme.id, deactivate)
        .await
        .expect("update")
        .expect("exists");
    assert!(!other(SYSTEM_TENANT_ID).await, "deactivated");
}
