//! Contract cases of [`crate::store::ResourceStore`].

use super::*;
use crate::model::resource::ResourceInput;
use crate::store::StoreError;

fn input(uri: &str, name: &str, lifetime: Option<i64>) -> ResourceInput {
    ResourceInput::new(uri, name, &["api.access.odata".to_owned()], lifetime).expect("input")
}

pub async fn resource_servers_are_unique_per_tenant_round_trip_and_go_with_their_tenant(
    store: Arc<dyn Store>,
) {
    seeded(&store).await;
    let t1 = crate::model::identity::SYSTEM_TENANT_ID;
    let t2 = new_tenant(&store, "Resources Two").await.id;
    let a = store
        .create_resource(t1, &input("https://a.example/api", "A", Some(600)), T0)
        .await
        .expect("create");
    assert_eq!(
        (
            a.tenant_id,
            a.uri.as_str(),
            a.name.as_str(),
            a.access_token_lifetime,
            a.created_at
        ),
        (t1, "https://a.example/api", "A", Some(600), T0)
    );
    assert_eq!(a.scopes, vec!["api.access.odata".to_owned()]);
    assert!(!a.built_in);
    assert!(
        matches!(
            store
                .create_resource(t1, &input("https://a.example/api", "again", None), T0)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "one URI once per tenant"
    );
    // Compared exactly: another spelling is another resource; another tenant may
    // register the same URI.
    let a_slash = store
        .create_resource(t1, &input("https://a.example/api/", "A/", None), T0)
        .await
        .expect("other spelling");
    let b = store
        .create_resource(t2, &input("https://a.example/api", "B", None), T0)
        .await
        .expect("other tenant");
    assert_eq!(found(store.resource(a.id).await), a);
    assert_eq!(
        found(store.resource_by_uri(t2, "https://a.example/api").await),
        b
    );
    assert_eq!(
        store
            .resource_by_uri(t1, "https://A.example/api")
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store.list_resources(t1).await.expect("list"),
        vec![a.clone(), a_slash.clone()]
    );
    // Update replaces every field; a taken URI is a conflict and changes nothing.
    let mut changed = input("https://a.example/v2", "A2", None);
    changed.scopes = vec!["api.access.mgmt".into(), "api.access.odata".into()];
    let a2 = store
        .update_resource(a.id, &changed)
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (
            a2.uri.as_str(),
            a2.name.as_str(),
            a2.access_token_lifetime,
            a2.scopes.len()
        ),
        ("https://a.example/v2", "A2", None, 2)
    );
    assert!(matches!(
        store
            .update_resource(a.id, &input("https://a.example/api/", "x", None))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(found(store.resource(a.id).await), a2);
    assert_eq!(
        store
            .update_resource(999_999, &changed)
            .await
            .expect("update"),
        None
    );
    assert!(store.delete_resource(a_slash.id).await.expect("delete"));
    assert!(!store.delete_resource(a_slash.id).await.expect("delete"));
    store.delete_tenant(t2).await.expect("delete tenant");
    assert_eq!(store.resource(b.id).await.expect("read"), None, "cascade");
    assert_eq!(store.list_resources(t1).await.expect("list"), vec![a2]);
}
