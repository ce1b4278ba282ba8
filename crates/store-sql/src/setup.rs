//! Liveness, seeding and server secrets (`SetupStore`). Seeding is one write
//! transaction of `ON CONFLICT DO NOTHING` inserts, so nodes seeding an empty database
//! together all succeed.

use crate::backend::Backend;
use crate::store::{err, execute, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::seed::Seed;
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{PoolStatus, SetupStore, StoreResult};

#[async_trait]
impl<B: Backend> SetupStore for SqlStore<B> {
    async fn ping(&self) -> StoreResult<()> {
        execute(&self.pool, sqlx::query("SELECT 1"))
            .await
            .map(|_| ())
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Some(PoolStatus {
            size: self.pool.size(),
            idle,
            max: self.pool.options().get_max_connections(),
        })
    }

    async fn seed(&self, seed: &Seed) -> StoreResult<()> {
        // `ON CONFLICT DO NOTHING` without a target: when two nodes seed an empty
        // PostgreSQL database at once, the loser's row collides on the id *and* on the
        // unique name, and a conflict target naming only the id would raise the latter.
        let mut tx = self.begin_write().await?;
        for (id, name, description) in &seed.permissions {
            execute(&mut *tx,
                sqlx::query(
                    "INSERT INTO permissions (id, name, description) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(name)
                .bind(description),
            )
            .await?;
        }
        let t = &seed.system_tenant;
        execute(&mut *tx,
            sqlx::query(
                "INSERT INTO tenants (id, name, description, parent_id, active) VALUES ($1, $2, $3, NULL, TRUE) ON CONFLICT DO NOTHING",
            )
            .bind(t.id)
            .bind(&t.name)
            .bind(&t.description),
        )
        .await?;
        for r in &seed.roles {
            let inserted = execute(&mut *tx,
                sqlx::query(
                    "INSERT INTO roles (id, tenant_id, name, description) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(r.id)
                .bind(r.tenant_id)
                .bind(r.name)
                .bind(r.description),
            )
            .await?;
            if inserted == 1 {
                for p in &r.permissions {
                    execute(
                        &mut *tx,
                        sqlx::query(
                            "INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2)",
                        )
                        .bind(r.id)
                        .bind(p),
                    )
                    .await?;
                }
            }
        }
        B::after_seed(&mut *tx).await?;
        tx.commit().await.map_err(err)
    }

    async fn server_secret(&self, name: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)
    }

    async fn init_server_secret(
        &self,
        name: &str,
        value: &str,
        now: UnixTime,
    ) -> StoreResult<String> {
        self.write(
            sqlx::query(
                "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(value)
            .bind(now),
        )
        .await?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(err)
    }
}
