//! The storage traits on PostgreSQL, for several stateless nodes sharing one database.
//! Migrations are embedded and run by [`PgStore::connect`]; their names pair with
//! SQLite's. The SQL is the shared crate's (`portcullis-store-sql`, [`SqlStore`]).
//! Row locks taken by each statement make the contract's atomic operations safe
//! across nodes: a counted failure or consent upsert locks its row until commit.

use portcullis_core::store::{StoreError, StoreResult};
use portcullis_store_sql::{store_error, Connector, SqlStore};
use sqlx::postgres::PgPoolOptions;
use sqlx::Postgres;
use std::time::Duration;

pub use portcullis_store_sql::{RowCache, GENERATION_CHECK_MS};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL store: the shared SQL ([`SqlStore`]) on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

/// This crate's [`Connector`] (a type of this crate, which the orphan rule needs; see
/// [`Connector`]). Never named by callers: `PgStore::connect(url)`.
#[derive(Debug)]
pub enum PgConnector {}

impl Connector<PgConnector> for Postgres {
    /// Connects to `url` (`postgres://…`) and runs pending migrations.
    async fn connect(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(store_error)?;
        <Self as Connector<PgConnector>>::migrate(&pool).await?;
        Ok(SqlStore::new(pool))
    }

    /// Runs pending migrations.
    async fn migrate(pool: &sqlx::PgPool) -> StoreResult<()> {
        MIGRATOR
            .run(pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }
}

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

#[cfg(test)]
mod contract {
    use super::PgStore;
    use portcullis_core::store::Store;
    use std::sync::Arc;

    async fn fresh() -> Option<Arc<dyn Store>> {
        let url = crate::testing::fresh_database().await?;
        Some(Arc::new(PgStore::connect(&url).await.expect("connect")))
    }

    macro_rules! pg_contract {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = fresh().await else { return };
                portcullis_core::testing::contract::$case(store).await;
            }
        )*};
    }

    pg_contract!(
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
        grants_are_replaced_at_once_and_end_sessions,
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
    );
}
