//! What a start does before serving: seed the catalogue (permissions, system tenant,
//! roles 1–3), load or create the verifier pepper, and create the initial
//! administrator on an empty database.

use crate::clock::Clock;
use crate::crypto::{Keyring, PasswordHasher, Secret, VerifierKeys};
use crate::model::identity::{
    NewUser, Tenant, PERMISSIONS, ROLE_ADMINISTRATOR, ROLE_TENANT_ADMINISTRATOR, ROLE_USER,
    SYSTEM_TENANT_ID, TENANT_ADMIN_ROLE_PERMISSIONS, USER_ROLE_PERMISSIONS,
};
use crate::model::seed::{Seed, SeedRole};
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// The login name of the initial administrator.
pub const INITIAL_ADMIN: &str = "admin";

const PEPPER: &str = "verifier-pepper";

/// Why startup could not prepare the database.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the verifier pepper in the database cannot be opened: {0}. Is PORTCULLIS_MASTER_KEY (or the key file) the one this database was created with?")]
    Pepper(crate::crypto::SealError),
    #[error("password hashing failed at startup: {0}")]
    Hash(String),
}

/// The seed every install has.
pub fn seed() -> Seed {
    let all: Vec<i64> = PERMISSIONS.iter().map(|p| p.0).collect();
    Seed {
        permissions: PERMISSIONS.to_vec(),
        system_tenant: Tenant {
            id: SYSTEM_TENANT_ID,
            name: "system".to_owned(),
            description: Some("The system tenant".to_owned()),
            parent_id: None,
            active: true,
            allowed_scopes: vec![crate::model::scope::ODATA.to_owned()],
        },
        roles: vec![
            SeedRole {
                id: ROLE_ADMINISTRATOR,
                tenant_id: SYSTEM_TENANT_ID,
                name: "Administrator",
                description: "System Administrator: every permission.",
                permissions: all,
            },
            SeedRole {
                id: ROLE_USER,
                tenant_id: SYSTEM_TENANT_ID,
                name: "User",
                description: "A user of data sources and the Management API.",
                permissions: USER_ROLE_PERMISSIONS.to_vec(),
            },
            SeedRole {
                id: ROLE_TENANT_ADMINISTRATOR,
                tenant_id: SYSTEM_TENANT_ID,
                name: "Tenant Administrator",
                description: "Administers the users of the tenants they are admin of.",
                permissions: TENANT_ADMIN_ROLE_PERMISSIONS.to_vec(),
            },
        ],
    }
}

/// Loads the verifier pepper, creating it (sealed under the master key) on first start.
pub async fn verifier_keys(
    store: &dyn Store,
    keyring: &Keyring,
    clock: &dyn Clock,
) -> Result<VerifierKeys, BootstrapError> {
    let sealed = match store.server_secret(PEPPER).await? {
        Some(s) => s,
        None => {
            let fresh = Secret::generate();
            let sealed = keyring
                .seal(fresh.expose().as_bytes(), PEPPER)
                .map_err(BootstrapError::Pepper)?;
            store
                .init_server_secret(PEPPER, &sealed, clock.now())
                .await?
        }
    };
    let pepper = keyring
        .open(&sealed, PEPPER)
        .map_err(BootstrapError::Pepper)?;
    Ok(VerifierKeys::from_pepper(&pepper))
}

/// Creates the initial administrator when the database has no user. Returns the
/// password when it was generated (the caller prints it once, never to the log).
pub async fn initial_admin(
    store: &dyn Store,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    configured_password: Option<&str>,
) -> Result<Option<Secret>, BootstrapError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match configured_password {
        Some(p) => (Secret::new(p), false),
        None => (Secret::generate(), true),
    };
    let hash = hasher
        .hash(password.expose())
        .await
        .map_err(|e| BootstrapError::Hash(e.to_string()))?;
    let user = NewUser::new(
        SYSTEM_TENANT_ID,
        INITIAL_ADMIN,
        hash,
        vec![ROLE_ADMINISTRATOR],
        clock.now(),
    );
    match store.create_user(user).await {
        Ok(_) => Ok(generated.then_some(password)),
        // Another node created it first.
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Prepares a store for serving; returns the verifier keys and a generated admin
/// password if one was created.
pub async fn prepare(
    store: Arc<dyn Store>,
    keyring: &Keyring,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    admin_password: Option<&str>,
) -> Result<(VerifierKeys, Option<Secret>), BootstrapError> {
    store.seed(&seed()).await?;
    let keys = verifier_keys(store.as_ref(), keyring, clock).await?;
    let generated = initial_admin(store.as_ref(), hasher, clock, admin_password).await?;
    hasher
        .warm_up()
        .await
        .map_err(|e| BootstrapError::Hash(e.to_string()))?;
    Ok((keys, generated))
}
