//! The store contract: behaviour every [`Store`] adapter must show, one file per
//! storage trait (`setup`, `tenants`, `users`, `limits`, `clients`, `tokens`, `keys`,
//! `sessions`, `vault`, `assertions`, `exchange`, `audit`). Each case takes a fresh, migrated store. The cases are listed
//! once ([`crate::store_contract_cases!`], which says how to add one) and
//! [`crate::store_contract_tests!`] turns that list into tests for a store: the memory
//! store below, SQLite and PostgreSQL in their crates. Cases that race start their
//! racers behind a [`tokio::sync::Barrier`], so the calls really overlap.

// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used)]

use crate::bootstrap::seed;
use crate::model::client_app::{GrantType, NewClientApp};
use crate::model::identity::NewUser;
use crate::store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

const T0: i64 = 1_800_000_000;

mod assertions;
mod audit;
mod clients;
mod devices;
mod exchange;
mod grants;
mod keys;
mod limits;
mod registrations;
mod resources;
mod sessions;
mod setup;
mod tenants;
mod tokens;
mod users;
mod vault;
pub use assertions::*;
pub use audit::*;
pub use clients::*;
pub use devices::*;
pub use exchange::*;
pub use grants::*;
pub use keys::*;
pub use limits::*;
pub use registrations::*;
pub use resources::*;
pub use sessions::*;
pub use setup::*;
pub use tenants::*;
pub use tokens::*;
pub use users::*;
pub use vault::*;

async fn seeded(store: &Arc<dyn Store>) {
    store.seed(&seed()).await.expect("seed");
}

async fn user(
    store: &Arc<dyn Store>,
    tenant: i64,
    login: &str,
    roles: Vec<i64>,
) -> crate::model::identity::User {
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

/// A new tenant `name` under the system tenant.
async fn new_tenant(store: &Arc<dyn Store>, name: &str) -> crate::model::identity::Tenant {
    store
        .create_tenant(crate::model::identity::NewTenant::named(name, T0))
        .await
        .expect("tenant")
}

/// What a read found: the case fails if the read failed or found nothing.
fn found<T>(read: crate::store::StoreResult<Option<T>>) -> T {
    read.expect("get").expect("exists")
}

/// A lockout of `limit` failures within 15 minutes, locking for 30.
fn lockout(limit: i64) -> crate::model::identity::LockoutPolicy {
    crate::model::identity::LockoutPolicy {
        interval: 900,
        limit,
        period: 1800,
    }
}

/// Runs the racers at once and returns their outcomes in order: each is spawned and
/// waits at one [`tokio::sync::Barrier`] before it starts, so the store calls really
/// overlap instead of running one after another as the spawned tasks happen to be
/// polled.
async fn race<T, R>(racers: impl IntoIterator<Item = R>) -> Vec<T>
where
    T: Send + 'static,
    R: Future<Output = T> + Send + 'static,
{
    let racers: Vec<R> = racers.into_iter().collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(racers.len()));
    let tasks: Vec<_> = racers
        .into_iter()
        .map(|racer| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                racer.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.expect("racer"));
    }
    outcomes
}

fn app(tenant: i64, owner: i64, client_id: &str) -> NewClientApp {
    NewClientApp {
        tenant_id: tenant,
        owner_id: Some(owner),
        name: format!("App {client_id}"),
        description: "d".into(),
        redirect_urls: vec!["https://a.example/cb".into(), "host.example".into()],
        client_id: client_id.into(),
        secret_verifier: Some("v1.verifier".into()),
        public: false,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::Password],
        scopes: vec!["api.access.odata".into()],
        post_logout_redirect_uris: Vec::new(),
        id_token_signed_response_alg: None,
        userinfo_signed_response_alg: None,
        require_pushed_authorization_requests: false,
        token_endpoint_auth_method:
            crate::model::client_app::TokenEndpointAuthMethod::ClientSecretBasic,
        profile: Default::default(),
        registered_by: crate::model::client_app::RegisteredBy::User,
        registration_verifier: None,
        token_exchange_policy: None,
        now: T0,
    }
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
/// To add a case: write `pub async fn the_case(store: Arc<dyn Store>)` in the file of
/// its storage trait under `contract/`, and add `the_case` below. Nothing else: every store runs
/// it. The test `every_contract_case_is_listed` fails while a case is defined but not
/// listed here.
#[macro_export]
#[doc(hidden)]
macro_rules! store_contract_cases {
    ($($then:tt)*) => {
        $crate::store_contract_tests! {
            $($then)*;
            // setup
            seeding_is_idempotent_and_creates_the_system_tenant,
            nodes_seeding_together_all_succeed,
            server_secrets_are_initialised_once,
            // tenants
            tenants_are_created_with_hosts_roles_and_admins_at_once,
            tenant_names_are_unique_ignoring_case_even_when_created_at_once,
            tenant_updates_replace_fields_and_hosts_and_deletes_take_everything,
            whether_another_tenant_is_active_is_told_without_a_listing,
            // users
            role_permissions_make_effective_permissions,
            login_names_are_unique_within_a_tenant_only,
            failures_lock_at_the_limit_and_expire_with_the_interval,
            a_zero_limit_never_locks,
            concurrent_failures_are_each_counted_once,
            clearing_failures_and_setting_a_password_unlock,
            users_are_listed_updated_and_deleted,
            role_assignments_are_replaced_at_once_and_end_sessions,
            unlocking_and_api_secrets,
            user_profiles_are_stored_and_replaced_whole,
            // limits
            limits_resolve_user_then_tenant_then_system,
            limits_are_set_and_cleared_per_level,
            // resources
            resource_servers_are_unique_per_tenant_round_trip_and_go_with_their_tenant,
            // clients
            client_applications_round_trip,
            every_tenants_redirect_urls_are_listed_and_follow_changes,
            client_oidc_settings_are_stored_replaced_and_cleared,
            consents_union_their_scopes_and_go_with_reset_and_delete,
            // tokens
            refresh_tokens_rotate_once_and_reuse_revokes_the_family,
            of_concurrent_rotations_exactly_one_wins,
            authorization_codes_are_single_use_and_replay_revokes,
            revocations_and_cascades_reach_token_families,
            a_replay_during_the_exchange_still_revokes_its_family,
            token_state_reads_revocations_families_and_users_together,
            every_write_that_ends_a_token_is_seen_by_token_state_at_once,
            pushed_requests_are_taken_once_by_their_client_before_expiry,
            // grants
            a_user_grant_records_consent_family_and_code_in_one_write,
            a_replay_racing_the_start_of_its_grant_leaves_the_family_revoked,
            revocation_by_refresh_token_is_once_and_for_its_own_client,
            // keys
            signing_keys_round_trip_with_one_active_and_one_next,
            of_concurrent_first_starts_one_active_key_wins,
            each_algorithm_has_its_own_active_and_next_key,
            of_concurrent_first_starts_across_algorithms_one_key_per_algorithm_wins,
            of_concurrent_signer_starts_on_an_empty_store_all_sign_with_one_key,
            rotation_is_atomic_and_of_concurrent_rotations_one_wins,
            retired_keys_are_deleted_once_their_retirement_ends,
            // registrations
            an_n_use_initial_access_token_registers_exactly_n_clients,
            initial_access_tokens_expire_are_unlimited_or_wrong_and_delete,
            at_most_one_tenant_is_open_even_when_two_race,
            unused_clients_are_marked_once_and_swept_by_age_and_kind,
            // sessions
            sessions_round_trip_expire_and_go_with_their_user,
            // vault
            oauth_apps_and_profiles_round_trip_and_deleting_an_app_takes_its_profiles,
            of_concurrent_refresh_leases_one_wins_and_only_its_holder_finishes,
            a_released_refresh_lease_leaves_the_tokens_and_frees_the_profile,
            due_profiles_respect_expiry_backoff_and_leases,
            connect_states_are_taken_once,
            sealed_values_are_listed_and_replaced_only_where_unchanged,
            vault_rows_go_with_their_tenant_and_owner,
            // assertions
            assertion_jtis_are_used_once_per_client_until_they_expire,
            of_concurrent_uses_of_one_assertion_exactly_one_succeeds,
            // exchange
            exchange_policies_default_to_delegation_and_vault_retrievals_are_kept,
            // devices
            device_grants_are_decided_once_polled_by_their_client_and_purged,
            of_concurrent_polls_of_an_approved_device_code_exactly_one_takes_it,
            // audit
            audit_events_round_trip_filter_page_newest_first_and_purge_per_tenant,
            a_large_audit_batch_is_written_whole_in_order_with_every_field,
        }
    };
}

/// Generates one `#[tokio::test]` per contract case (see [`crate::store_contract_cases!`]
/// for the list). `$make` is an async block yielding a fresh store for each case:
/// `Arc<dyn Store>`, a [`Fixture`] (a store and its cleanup) or `Option` of either
/// (`None` skips the case, for a database that is not configured). An attribute before
/// `$make` goes on every case: `#[ignore = "needs PostgreSQL…"] fresh()`.
#[macro_export]
macro_rules! store_contract_tests {
    (#[$attr:meta] $make:expr) => {
        $crate::store_contract_cases!(@cases #[$attr] $make);
    };
    ($make:expr) => {
        // `cfg(all())` is always true: no attribute.
        $crate::store_contract_cases!(@cases #[cfg(all())] $make);
    };
    (@cases #[$attr:meta] $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[$attr]
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
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testing/contract");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("contract dir") {
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
