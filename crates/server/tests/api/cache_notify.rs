//! Token state served from each node's memory (issue #17 item 3,
//! store-sql/src/state_cache.rs, store-postgres/src/listener.rs): a revocation made on
//! one node reaches the other — on PostgreSQL through LISTEN/NOTIFY within the bound, on
//! SQLite (two servers on one file: what an admin command in another process is)
//! through the `state_generation` counter within `GENERATION_CHECK_MS` — and a
//! PostgreSQL node whose notification connection is lost reads through until it has
//! subscribed again.
//!
//! Both nodes run in this test's process, so they share its metrics recorder: the
//! gauge `portcullis_cache_listening` counts both nodes' listeners (2 subscribed, 0
//! none), and the token-state hit counter moves only for the node a step introspects.

use crate::caches::two_nodes;
use crate::helpers::{Backend, TestApp, ADMIN_PASSWORD};
use crate::metrics::{counter, scrape};
use crate::support::oauth::{
    alice, alices_client, introspect, register, revoke, tokens_for, Client, ALICE, ALICE_PASSWORD,
};
use portcullis_core::clock::Clock;
use portcullis_store_sqlite::GENERATION_CHECK_MS;
use prometheus_parse::{Scrape, Value};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long a revocation on one node may take to be refused by another. The bench
/// measures the release build against 50 ms at p99 (docs/benchmarks.md); this debug
/// build on a machine shared with compilers gets ten times that.
const PROPAGATION_BOUND: Duration = Duration::from_millis(500);
/// How long a node may take to notice a lost listener or to subscribe again (the
/// resubscription waits `listener::RESUBSCRIBE_DELAY`, 1 s, first).
const LISTENER_BOUND: Duration = Duration::from_secs(10);

async fn metrics(node: &TestApp) -> Scrape {
    scrape(&node.http, &node.url("/metrics")).await
}

/// The listeners subscribed in this process (both nodes'); 0 before the first.
fn listening(s: &Scrape) -> f64 {
    s.samples
        .iter()
        .find(|x| x.metric == "portcullis_cache_listening")
        .map_or(0.0, |x| match x.value {
            Value::Gauge(v) | Value::Untyped(v) => v,
            ref other => panic!("portcullis_cache_listening is not a gauge: {other:?}"),
        })
}

fn state_hits(s: &Scrape) -> f64 {
    counter(
        s,
        "portcullis_cache_hits_total",
        &[("cache", "token_state")],
    )
}

/// Polls until `node`'s listener gauge reads `want`, failing after [`LISTENER_BOUND`].
async fn wait_listening(node: &TestApp, want: f64) {
    let start = Instant::now();
    loop {
        if listening(&metrics(node).await) == want {
            return;
        }
        assert!(
            start.elapsed() < LISTENER_BOUND,
            "portcullis_cache_listening never read {want}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `rs` finds `token` active on `node`.
async fn active(node: &TestApp, rs: &Client, token: &str) -> bool {
    introspect(node, rs, token).await["active"] == json!(true)
}

/// Introspects `token` on `node` twice, both active, the second from memory (the
/// token-state hit counter moved).
async fn cached_on(node: &TestApp, rs: &Client, token: &str) {
    assert!(active(node, rs, token).await, "active before");
    let before = state_hits(&metrics(node).await);
    assert!(active(node, rs, token).await, "active again");
    let after = state_hits(&metrics(node).await);
    assert!(
        after > before,
        "the second introspection is a hit ({before} → {after})"
    );
}

/// Polls `node` until `token` is inactive, failing after the backend's bound:
/// [`PROPAGATION_BOUND`], plus `GENERATION_CHECK_MS` on SQLite (which polls).
async fn refused_within_bound(node: &TestApp, rs: &Client, token: &str, what: &str) {
    let bound = if node.database_url.starts_with("sqlite:") {
        PROPAGATION_BOUND + Duration::from_millis(GENERATION_CHECK_MS)
    } else {
        PROPAGATION_BOUND
    };
    let start = Instant::now();
    while active(node, rs, token).await {
        assert!(
            start.elapsed() < bound,
            "{what}: still active on the other node after {bound:?}"
        );
    }
}

/// Two nodes (on PostgreSQL both subscribed); Alice's client and a resource server
/// that introspects.
async fn setup(backend: Backend) -> (TestApp, TestApp, Client, Client) {
    let (a, b) = two_nodes(backend).await;
    if matches!(backend, Backend::Postgres) {
        wait_listening(&a, 2.0).await;
    }
    alice(&a).await;
    let c = alices_client(&a).await;
    let rs = register(&a, "admin", ADMIN_PASSWORD, "Resource server", json!({})).await;
    (a, b, c, rs)
}

async fn a_revocation_on_one_node_is_refused_by_the_other_within_the_bound(backend: Backend) {
    let (a, b, c, rs) = setup(backend).await;
    // An access token revoked by itself (its jti).
    let (access, _) = tokens_for(&a, &c, ALICE, ALICE_PASSWORD).await;
    cached_on(&b, &rs, &access).await;
    revoke(&a, &c, &access).await;
    assert!(
        !active(&a, &rs, &access).await,
        "refused at once where revoked"
    );
    refused_within_bound(&b, &rs, &access, "revoked access token").await;

    // An access token whose grant is revoked through its refresh token (the family).
    let (access, refresh) = tokens_for(&a, &c, ALICE, ALICE_PASSWORD).await;
    cached_on(&b, &rs, &access).await;
    revoke(&a, &c, &refresh).await;
    refused_within_bound(&b, &rs, &access, "revoked family").await;

    // A user whose password an administrator resets (auth_version).
    let (access, _) = tokens_for(&a, &c, ALICE, ALICE_PASSWORD).await;
    cached_on(&b, &rs, &access).await;
    let id = a
        .state
        .ctx
        .store
        .users_by_login(ALICE)
        .await
        .expect("users")[0]
        .id;
    assert!(a
        .state
        .ctx
        .store
        .set_password(id, "v1.reset-by-test", a.clock.now())
        .await
        .expect("set password"));
    refused_within_bound(&b, &rs, &access, "user changed").await;
}

async fn a_node_that_loses_its_listener_reads_through_until_it_listens_again(_: Backend) {
    let (a, b, c, rs) = setup(Backend::Postgres).await;
    let (access, _) = tokens_for(&a, &c, ALICE, ALICE_PASSWORD).await;
    cached_on(&b, &rs, &access).await;

    // Both nodes' listener connections are cut by the database.
    a.raw_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'portcullis-listener' AND datname = current_database()",
    )
    .await;
    wait_listening(&b, 0.0).await;

    // Deaf, B reads through: a revocation on A is refused by B at once, not from
    // memory. (Should B have subscribed again meanwhile, it started empty and nothing
    // introspected on it since: the same holds.)
    let before = state_hits(&metrics(&b).await);
    revoke(&a, &c, &access).await;
    assert!(
        !active(&b, &rs, &access).await,
        "refused at once while deaf"
    );
    let after = state_hits(&metrics(&b).await);
    assert_eq!(before, after, "nothing served from memory while deaf");

    // Subscribed again, B keeps token state again.
    wait_listening(&b, 2.0).await;
    let (fresh, _) = tokens_for(&a, &c, ALICE, ALICE_PASSWORD).await;
    cached_on(&b, &rs, &fresh).await;
}

mod sqlite {
    crate::helpers::test_on!(Sqlite a_revocation_on_one_node_is_refused_by_the_other_within_the_bound);
}

mod postgres {
    crate::helpers::test_on!(
        #[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
        Postgres a_revocation_on_one_node_is_refused_by_the_other_within_the_bound
    );
    crate::helpers::test_on!(
        #[ignore = "needs PostgreSQL: run scripts/test (or set TEST_POSTGRES_URL and pass --include-ignored)"]
        Postgres a_node_that_loses_its_listener_reads_through_until_it_listens_again
    );
}
