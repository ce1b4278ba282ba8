//! Contract cases of [`crate::store::UserStore`]: logins, role assignments and
//! effective permissions, lockout (counted once under concurrency), passwords, API
//! secrets.

use super::{app, found, lockout, new_tenant, race, seeded, user, T0};
use crate::model::identity::RoleAssignments;
use crate::model::identity::{
    NewTenant, NewUser, UserChanges, UserProfile, ROLE_ADMINISTRATOR, ROLE_TENANT_ADMINISTRATOR,
    ROLE_USER, SYSTEM_TENANT_ID,
};
use crate::store::{Store, StoreError};
use std::sync::Arc;

pub async fn role_permissions_make_effective_permissions(store: Arc<dyn Store>) {
    seeded(&store).await;
    let admin = user(&store, SYSTEM_TENANT_ID, "root", vec![ROLE_ADMINISTRATOR]).await;
    let plain = user(&store, SYSTEM_TENANT_ID, "plain", vec![ROLE_USER]).await;
    let none = user(&store, SYSTEM_TENANT_ID, "none", vec![]).await;
    let all: Vec<i64> = crate::model::identity::PERMISSIONS
        .iter()
        .map(|p| p.0)
        .collect();
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
    let t = new_tenant(&store, "acme").await;
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
    let got = found(store.user(a.id).await);
    assert_eq!(got, a);
    assert_eq!(got.auth_version, 1);
}

pub async fn failures_lock_at_the_limit_and_expire_with_the_interval(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "lockme", vec![]).await;
    let p = lockout(3);
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
    let stored = found(store.user(u.id).await);
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
    assert_eq!(found(store.user(u.id).await).auth_version, 2);
    // The lock ends by itself.
    assert_eq!(stored.lock_at(T0 + 903 + 1800), None);
}

pub async fn a_zero_limit_never_locks(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "free", vec![]).await;
    let p = lockout(0);
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
    let p = lockout(20);
    let failures = race((0..19).map(|_| {
        let s = store.clone();
        async move { s.record_login_failure(u.id, T0, p).await }
    }))
    .await;
    for failure in failures {
        assert_eq!(failure.expect("fail"), None);
    }
    assert_eq!(found(store.user(u.id).await).failed_logins, 19);
    assert!(store
        .record_login_failure(u.id, T0, p)
        .await
        .expect("fail")
        .is_some());
}

pub async fn clearing_failures_and_setting_a_password_unlock(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "pw", vec![]).await;
    let p = lockout(2);
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
    let after = found(store.user(u.id).await);
    assert_eq!(after.password_hash, "$argon2id$new");
    assert_eq!(after.lock_at(T0 + 2), None);
    assert_eq!(after.failed_logins, 0);
    assert_eq!(after.auth_version, 3);
    assert!(!store.set_password(9_999_999, "x", T0).await.expect("set"));
}

pub async fn users_are_listed_updated_and_deleted(store: Arc<dyn Store>) {
    seeded(&store).await;
    let acme = new_tenant(&store, "acme").await;
    let a = user(&store, SYSTEM_TENANT_ID, "a", vec![ROLE_USER]).await;
    let b = user(&store, SYSTEM_TENANT_ID, "b", vec![]).await;
    let c = user(&store, acme.id, "c", vec![]).await;
    let ids =
        |v: Vec<crate::model::identity::User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
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
        password_status: crate::model::identity::PASSWORD_MUST_RESET,
        password_expiration: Some(T0 + 99),
        profile: Default::default(),
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
    assert_eq!(found(store.user(u.id).await).auth_version, 2);
    assert!(!store
        .set_role_assignments(9_999_999, &g)
        .await
        .expect("set"));
}

pub async fn unlocking_and_api_secrets(store: Arc<dyn Store>) {
    seeded(&store).await;
    let u = user(&store, SYSTEM_TENANT_ID, "locked", vec![]).await;
    let p = lockout(1);
    assert!(store
        .record_login_failure(u.id, T0, p)
        .await
        .expect("fail")
        .is_some());
    assert!(store.unlock_user(u.id).await.expect("unlock"));
    let after = found(store.user(u.id).await);
    assert_eq!((after.lock, after.failed_logins), (None, 0));
    assert!(!store.unlock_user(9_999_999).await.expect("unlock"));

    assert_eq!(after.api_secret_verifier, None);
    assert!(store
        .set_api_secret(u.id, Some("v1.api"), T0)
        .await
        .expect("set"));
    assert_eq!(
        found(store.user(u.id).await).api_secret_verifier.as_deref(),
        Some("v1.api")
    );
    assert!(store.set_api_secret(u.id, None, T0).await.expect("clear"));
    assert_eq!(found(store.user(u.id).await).api_secret_verifier, None);
    assert!(!store
        .set_api_secret(9_999_999, None, T0)
        .await
        .expect("set"));
}

pub async fn user_profiles_are_stored_and_replaced_whole(store: Arc<dyn Store>) {
    seeded(&store).await;
    let bare = user(&store, SYSTEM_TENANT_ID, "bare", vec![]).await;
    assert_eq!(bare.profile, UserProfile::default());
    let profile = UserProfile {
        name: Some("Ann Lee-Ōtsuka".into()),
        given_name: Some("Ann".into()),
        family_name: Some("Lee-Ōtsuka".into()),
        email: Some("ann@example.com".into()),
        email_verified: true,
        locale: Some("en-GB".into()),
        updated_at: Some(T0),
    };
    let mut new = NewUser::new(SYSTEM_TENANT_ID, "ann", "x".into(), vec![], T0);
    new.profile = profile.clone();
    let ann = store.create_user(new).await.expect("create");
    assert_eq!(ann.profile, profile);
    assert_eq!(found(store.user(ann.id).await).profile, profile);
    assert_eq!(
        found(store.user_by_login(SYSTEM_TENANT_ID, "ann").await).profile,
        profile
    );
    let listed = store.list_users(None).await.expect("list");
    let profiles: Vec<(&str, &UserProfile)> = listed
        .iter()
        .map(|u| (u.login.as_str(), &u.profile))
        .collect();
    assert!(profiles.contains(&("ann", &profile)), "{profiles:?}");
    assert!(profiles.contains(&("bare", &UserProfile::default())));

    let changes = |profile: UserProfile| UserChanges {
        login: "ann".into(),
        active: true,
        password_status: crate::model::identity::PASSWORD_ACTIVE,
        password_expiration: None,
        profile,
        now: T0 + 5,
    };
    let partly = UserProfile {
        name: Some("Ann".into()),
        email: Some("ann@example.org".into()),
        updated_at: Some(T0 + 5),
        ..UserProfile::default()
    };
    let updated = found(store.update_user(ann.id, changes(partly.clone())).await);
    assert_eq!(updated.profile, partly, "the profile is replaced whole");
    assert_eq!(found(store.user(ann.id).await).profile, partly);
    assert_eq!(
        updated.auth_version, ann.auth_version,
        "a profile change keeps sessions"
    );
    let cleared = found(
        store
            .update_user(ann.id, changes(UserProfile::default()))
            .await,
    );
    assert_eq!(cleared.profile, UserProfile::default());
    assert_eq!(
        found(store.user(bare.id).await).profile,
        UserProfile::default()
    );
}
