//! The SQL both stores share: one text for SQLite and PostgreSQL, whose dialects agree
//! on everything here (`$n` placeholders, `RETURNING`, `ON CONFLICT`), so the two
//! cannot drift and the store contract proves both.
//!
//! [`SqlStore<B>`] implements every storage trait of core over a pool of the database
//! `B`; [`Backend`] is what differs between the two (how a write transaction begins,
//! what runs after seeding, the sqlx bounds). The backend crates (`store-sqlite`,
//! `store-postgres`) connect, run their migrations and name the result
//! (`SqliteStore = SqlStore<Sqlite>`, `PgStore = SqlStore<Postgres>`).
//!
//! One module per storage trait of core, each with its one `impl XStore for
//! SqlStore<B>`: [`setup`] (liveness, seed, server secrets), [`tenants`] (tenants,
//! hosts, admins, roles), [`users`] (users, role assignments, lockout), [`limits`],
//! [`clients`] (client applications and consents), [`tokens`], [`keys`],
//! [`sessions`], [`vault`], [`assertions`] (used client assertion `jti`s), [`devices`] (device authorization
//! requests), [`grants`] (a grant's writes combined); and [`cache`] (the row cache in front of clients, tenants
//! and limits); [`state_cache`] (token state — revocations, families, users — in memory).

pub mod assertions;
pub mod audit;
pub mod backend;
pub mod cache;
pub mod clients;
pub mod copy;
pub mod devices;
pub mod exchange;
pub mod grants;
pub mod keys;
pub mod limits;
pub mod registrations;
pub mod resources;
pub mod sealed;
pub mod sessions;
pub mod setup;
pub mod state_cache;
pub mod store;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod vault;
pub mod write;

pub use backend::Backend;
pub use cache::{RowCache, GENERATION_CHECK_MS};
pub use state_cache::StateCache;
pub use store::{store_error, Connector, SqlStore};
pub use write::WriteTx;
