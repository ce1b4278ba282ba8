//! `GET /metrics` (issue 16 item 1): a run of flows moves the counters by what it did,
//! read with a real Prometheus text-format parser (`prometheus-parse`), and no label
//! value is a client id, user name, secret or token.
//!
//! The recorder is process-wide and installed once ([`portcullis_server::telemetry`]);
//! nextest (scripts/test, CI) runs each test in a process of its own, and the test
//! compares two scrapes taken around the flows, so the deltas are exactly its own.

use crate::helpers::{backends, fresh_database, spawn_app, test_config, Backend, TestApp};
use crate::support::oauth::{alice, alices_job, create_user, ALICE, ALICE_PASSWORD, TOKEN};
use portcullis_server::startup::Application;
use prometheus_parse::{Scrape, Value};
use reqwest::Method;

const USERS: &str = "/api/admin/users";
const CAROL: &str = "carol";
const CAROL_PASSWORD: &str = "Sings-In-Tune-77";

/// Scrapes `url` and parses the Prometheus text format.
pub(crate) async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    let r = http.get(url).send().await.expect("scrape");
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().await.expect("body");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("valid exposition format")
}

/// The value of counter `name` with exactly these `labels` (0 when it has no series).
pub(crate) fn counter(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == name && x.labels.len() == labels.len())
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            Value::Counter(v) | Value::Untyped(v) => v,
            ref other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

/// The value of gauge `name` with exactly these `labels` (`None` when it has no series).
fn gauge(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name && x.labels.len() == labels.len())
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            Value::Gauge(v) | Value::Untyped(v) => v,
            ref other => panic!("{name} is not a gauge: {other:?}"),
        })
}

/// Observations of histogram `name` (no labels): its `+Inf` bucket.
fn observed(s: &Scrape, name: &str) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .map(|x| match &x.value {
            Value::Histogram(b) => b.iter().map(|c| c.count).fold(0.0, f64::max),
            other => panic!("{name} is not a histogram: {other:?}"),
        })
        .sum()
}

/// Observations of the latency histogram for one route and method.
fn observations(s: &Scrape, route: &str, method: &str) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == "portcullis_http_request_duration_seconds")
        .filter(|x| x.labels.get("route") == Some(route) && x.labels.get("method") == Some(method))
        .map(|x| match &x.value {
            Value::Histogram(b) => b.iter().map(|c| c.count).fold(0.0, f64::max),
            other => panic!("not a histogram: {other:?}"),
        })
        .sum()
}

async fn token_post(app: &TestApp, form: &[(&str, &str)]) -> u16 {
    app.send(app.http.post(app.url(TOKEN)).form(form))
        .await
        .status
}

async fn a_run_of_flows_moves_the_counters_by_what_it_did(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let job = alices_job(&app, "Nightly job").await;
    let before = scrape(&app.http, &app.url("/metrics")).await;

    // Two client_credentials grants, one with a wrong secret, one unsupported grant.
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", job.client_id.as_str()),
        ("client_secret", job.secret.as_str()),
    ];
    let mut access_tokens = Vec::new();
    for _ in 0..2 {
        let r = app.send(app.http.post(app.url(TOKEN)).form(&good)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        access_tokens.push(r.json()["access_token"].as_str().expect("token").to_owned());
    }
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", job.client_id.as_str()),
        ("client_secret", "not-the-secret"),
    ];
    assert_eq!(token_post(&app, &wrong).await, 401);
    assert_eq!(
        token_post(&app, &[("grant_type", "urn:example:nothing")]).await,
        400
    );
    // Three wrong passwords: three failed sign-ins, the third locks the account
    // (PasswordLockoutLimit defaults to 3).
    for _ in 0..3 {
        let r = app
            .send_as(Method::GET, USERS, ALICE, "not-her-password")
            .await;
        assert_ne!(r.status, 200, "{}", r.text);
    }
    // One successful sign-in.
    let r = app.send_as_admin(Method::GET, USERS).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let after = scrape(&app.http, &app.url("/metrics")).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        counter(&after, name, labels) - counter(&before, name, labels)
    };
    assert_eq!(
        delta(
            "portcullis_tokens_issued_total",
            &[
                ("grant", "client_credentials"),
                ("client_type", "confidential")
            ]
        ),
        2.0
    );
    assert_eq!(
        delta(
            "portcullis_token_failures_total",
            &[("error", "invalid_client")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "portcullis_token_failures_total",
            &[("error", "unsupported_grant_type")]
        ),
        1.0
    );
    assert_eq!(
        delta("portcullis_sign_ins_total", &[("outcome", "failure")]),
        3.0
    );
    assert_eq!(
        delta("portcullis_sign_ins_total", &[("outcome", "success")]),
        1.0
    );
    assert_eq!(delta("portcullis_lockouts_total", &[]), 1.0);
    // The HTTP layer: by route template, method and status, and the latency histogram.
    let http = |status: &str| {
        delta(
            "portcullis_http_requests_total",
            &[("route", TOKEN), ("method", "POST"), ("status", status)],
        )
    };
    assert_eq!((http("200"), http("401"), http("400")), (2.0, 1.0, 1.0));
    assert_eq!(
        observations(&after, TOKEN, "POST") - observations(&before, TOKEN, "POST"),
        4.0
    );
    assert_eq!(
        delta(
            "portcullis_http_requests_total",
            &[("route", USERS), ("method", "GET"), ("status", "200")]
        ),
        1.0
    );

    // No label value names a client, a user, a secret or a token.
    let secrets: Vec<&str> = [
        job.client_id.as_str(),
        job.secret.as_str(),
        ALICE,
        ALICE_PASSWORD,
        "not-her-password",
    ]
    .into_iter()
    .chain(access_tokens.iter().map(String::as_str))
    .collect();
    for s in &after.samples {
        for (k, v) in s.labels.iter() {
            for secret in &secrets {
                assert!(
                    !v.contains(secret),
                    "{}{{{k}=\"{v}\"}} contains {secret}",
                    s.metric
                );
            }
        }
    }
}

/// With `metrics_listen`, `/metrics` is served on that listener and not on the main one.
async fn metrics_listen_moves_metrics_to_a_listener_of_its_own(b: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = fresh_database(b, &dir).await;
    let mut config = test_config(&db);
    config.metrics_listen = Some("127.0.0.1:0".into());
    let app = Application::build(config).await.expect("build");
    let main = format!("http://{}", app.local_addr());
    let metrics = format!(
        "http://{}/metrics",
        app.metrics_addr().expect("metrics listener")
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{main}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let s = scrape(&http, &metrics).await;
    assert!(
        counter(
            &s,
            "portcullis_http_requests_total",
            &[("route", "/healthz"), ("method", "GET"), ("status", "200")]
        ) >= 1.0,
        "the main listener's requests are counted"
    );
    let r = http
        .get(format!("{main}/metrics"))
        .send()
        .await
        .expect("main");
    assert_eq!(r.status(), 404, "not on the main listener");
    let _ = tx.send(());
    served.await.expect("join").expect("served");
    drop(db);
}

/// Issue 16's remaining series: cache hits and misses (credentials, rows, verified
/// tokens), the Argon2 pool, the database pool and statements, the signing-key age, and
/// token requests refused before the token logic runs.
async fn caches_pools_key_age_and_early_token_failures_are_measured(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let job = alices_job(&app, "Nightly job").await;
    let metrics = app.url("/metrics");
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", job.client_id.as_str()),
        ("client_secret", job.secret.as_str()),
    ];
    let hits =
        |s: &Scrape, cache: &str| counter(s, "portcullis_cache_hits_total", &[("cache", cache)]);
    let misses =
        |s: &Scrape, cache: &str| counter(s, "portcullis_cache_misses_total", &[("cache", cache)]);

    // Rows: once the first requests have filled the cache, an identical token request
    // reads its client, tenant and limits from it only. The cache checks the database's
    // change counter on the wall clock (every 250 ms), and the first
    // token marks the client used, which moves the counter: a check landing inside the
    // measured request refills the cache once. So the request is repeated (a handful
    // of times at most) until one is served from the cache alone; a cache that never
    // does fails.
    for _ in 0..2 {
        assert_eq!(token_post(&app, &cc).await, 200);
    }
    let mut served_from_cache = None;
    for _ in 0..10 {
        let before = scrape(&app.http, &metrics).await;
        let r = app.send(app.http.post(app.url(TOKEN)).form(&cc)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let after = scrape(&app.http, &metrics).await;
        if hits(&after, "rows") - hits(&before, "rows") >= 1.0
            && misses(&after, "rows") - misses(&before, "rows") == 0.0
        {
            served_from_cache = Some(r.json()["access_token"].as_str().expect("token").to_owned());
            break;
        }
    }
    let token =
        served_from_cache.expect("an identical token request served from the row cache alone");

    // Verified tokens: the first check of a token verifies its signature, the second
    // finds it.
    let introspect = || {
        app.send(
            app.http
                .post(app.url("/oauth2/introspect"))
                .basic_auth(&job.client_id, Some(&job.secret))
                .form(&[("token", token.as_str())]),
        )
    };
    let s0 = scrape(&app.http, &metrics).await;
    assert_eq!(introspect().await.json()["active"], true);
    let s1 = scrape(&app.http, &metrics).await;
    assert_eq!(introspect().await.json()["active"], true);
    let s2 = scrape(&app.http, &metrics).await;
    let vt = "verified_tokens";
    assert_eq!(
        (
            misses(&s1, vt) - misses(&s0, vt),
            hits(&s1, vt) - hits(&s0, vt)
        ),
        (1.0, 0.0)
    );
    assert_eq!(
        (
            misses(&s2, vt) - misses(&s1, vt),
            hits(&s2, vt) - hits(&s1, vt)
        ),
        (0.0, 1.0)
    );

    // Credentials: a first sign-in with a password hashes (a miss, one Argon2 wait
    // observed); the same credentials again are a hit and hash nothing. (Carol has
    // never signed in; Alice has, to register her job.)
    create_user(&app, CAROL, CAROL_PASSWORD).await;
    let s0 = scrape(&app.http, &metrics).await;
    assert_eq!(
        app.send_as(Method::GET, USERS, CAROL, CAROL_PASSWORD)
            .await
            .status,
        403
    );
    let s1 = scrape(&app.http, &metrics).await;
    assert_eq!(
        app.send_as(Method::GET, USERS, CAROL, CAROL_PASSWORD)
            .await
            .status,
        403
    );
    let s2 = scrape(&app.http, &metrics).await;
    let c = "credentials";
    assert_eq!(
        (misses(&s1, c) - misses(&s0, c), hits(&s1, c) - hits(&s0, c)),
        (1.0, 0.0)
    );
    assert_eq!(
        (misses(&s2, c) - misses(&s1, c), hits(&s2, c) - hits(&s1, c)),
        (0.0, 1.0)
    );
    let waits = |s: &Scrape| observed(s, "portcullis_argon2_wait_seconds");
    assert_eq!(
        (waits(&s1) - waits(&s0), waits(&s2) - waits(&s1)),
        (1.0, 0.0)
    );
    assert_eq!(
        gauge(&s2, "portcullis_argon2_queue_depth", &[]),
        Some(0.0),
        "none waiting at rest"
    );

    // The database: statements and write transactions' connection waits observed,
    // the pool's connections reported.
    assert!(
        observed(&s2, "portcullis_db_query_duration_seconds")
            > observed(&s0, "portcullis_db_query_duration_seconds")
    );
    assert!(observed(&s2, "portcullis_db_acquire_seconds") > 0.0);
    let idle = gauge(&s2, "portcullis_db_pool_connections", &[("state", "idle")]).expect("idle");
    let in_use = gauge(
        &s2,
        "portcullis_db_pool_connections",
        &[("state", "in_use")],
    )
    .expect("in use");
    let max = gauge(&s2, "portcullis_db_pool_max_connections", &[]).expect("max");
    assert!(
        idle + in_use >= 1.0 && idle + in_use <= max,
        "{idle} + {in_use} of {max}"
    );

    // The signing keys age with the injected clock.
    let age = |s: &Scrape, alg: &str| {
        gauge(s, "portcullis_signing_key_age_seconds", &[("alg", alg)]).expect("key age")
    };
    app.clock.advance(3600);
    let s3 = scrape(&app.http, &metrics).await;
    for alg in ["ES256", "RS256"] {
        assert_eq!(age(&s3, alg) - age(&s2, alg), 3600.0, "{alg}");
    }

    // Token requests refused before the token logic: a wrong content type, an
    // oversized body, a repeated parameter, a broken DPoP proof. Each counted with the
    // RFC error code it is answered with.
    let failures = |s: &Scrape| {
        counter(
            s,
            "portcullis_token_failures_total",
            &[("error", "invalid_request")],
        )
    };
    let s0 = scrape(&app.http, &metrics).await;
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .header("content-type", "text/plain")
                .body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(r.status, 415, "{}", r.text);
    let huge = format!("grant_type=client_credentials&x={}", "a".repeat(70 * 1024));
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(huge),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    let r = app
        .send(app.http.post(app.url(TOKEN)).form(&[
            ("grant_type", "client_credentials"),
            ("grant_type", "password"),
        ]))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_request");
    // A DPoP proof that is no JWT, refused before the grant is looked at.
    let r = app
        .send(
            app.http
                .post(app.url(TOKEN))
                .header("DPoP", "not-a-proof")
                .form(&cc),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_dpop_proof");
    let s1 = scrape(&app.http, &metrics).await;
    assert_eq!(failures(&s1) - failures(&s0), 3.0);
    let dpop = |s: &Scrape| {
        counter(
            s,
            "portcullis_token_failures_total",
            &[("error", "invalid_dpop_proof")],
        )
    };
    assert_eq!(dpop(&s1) - dpop(&s0), 1.0);
}

backends!(
    a_run_of_flows_moves_the_counters_by_what_it_did,
    caches_pools_key_age_and_early_token_failures_are_measured,
    metrics_listen_moves_metrics_to_a_listener_of_its_own,
);
