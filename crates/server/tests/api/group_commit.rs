//! The crash test of group commit on SQLite (issue #17 item 1): the real `portcullis`
//! binary, whose writes go through one writer committing the units waiting at that
//! moment together, is killed with SIGKILL while many writers are in flight, after a
//! counted number of acknowledged writes (never after a sleep). Every write
//! acknowledged before the kill (a client registration answered 201, a password grant
//! answered 200 with its refresh token) must be there after the restart, and the file
//! must pass `PRAGMA integrity_check`. The promise tested is the README's: with WAL
//! and `synchronous = NORMAL`, an acknowledged write survives the process dying.

use crate::crash::{integrity_ok, listed, register, start};
use crate::helpers::{fresh_database, Backend, ADMIN_PASSWORD};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Writers of each kind running at once: enough that units queue for the writer.
const WRITERS: usize = 12;
/// Acknowledged writes (each kind, all writers) before the kill.
const ACKNOWLEDGED: usize = 48;

/// A password grant; the refresh token of a 200 answer read whole.
async fn grant(
    http: &reqwest::Client,
    base: &str,
    client: &(String, String),
) -> Result<String, String> {
    let res = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let v: Value = res.json().await.map_err(|e| e.to_string())?;
    match (status, v["refresh_token"].as_str()) {
        (200, Some(t)) => Ok(t.to_owned()),
        _ => Err(format!("{status}: {v}")),
    }
}

/// Whether a refresh token is live: a refresh grant (rotation off) answers 200.
async fn live(http: &reqwest::Client, base: &str, client: &(String, String), token: &str) -> bool {
    http.post(format!("{base}/oauth2/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .map(|r| r.status().as_u16() == 200)
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_group_commits_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(Backend::Sqlite, &dir).await;
    let mut server = start(&url, dir.path()).await;
    let http = reqwest::Client::new();
    let v = register(&http, &server.base, "granting")
        .await
        .expect("client");
    let client = Arc::new((
        v["clientId"].as_str().expect("clientId").to_owned(),
        v["clientSecret"].as_str().expect("clientSecret").to_owned(),
    ));

    // Two kinds of writers, each counting its acknowledgements; the kill comes once
    // both counts are reached, with the writers still sending.
    let (registered, granted) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (counted, mut count) = tokio::sync::watch::channel(());
    let counted = Arc::new(counted);
    let mut registrars = Vec::new();
    let mut granters = Vec::new();
    for w in 0..WRITERS {
        let (h, base, n, tick) = (
            http.clone(),
            server.base.clone(),
            registered.clone(),
            counted.clone(),
        );
        registrars.push(tokio::spawn(async move {
            let http = h;
            let mut acked = Vec::new();
            for i in 0.. {
                match register(&http, &base, &format!("gc-w{w}-n{i}")).await {
                    Ok(v) => {
                        acked.push(v["id"].as_i64().expect("id"));
                        n.fetch_add(1, Ordering::SeqCst);
                        tick.send_replace(());
                    }
                    Err(_) => break, // the server died under this request: unacknowledged
                }
            }
            acked
        }));
        let (h, base, n, tick, client) = (
            http.clone(),
            server.base.clone(),
            granted.clone(),
            counted.clone(),
            client.clone(),
        );
        granters.push(tokio::spawn(async move {
            let http = h;
            let mut acked = Vec::new();
            // Until the server dies under a request (unacknowledged).
            while let Ok(t) = grant(&http, &base, &client).await {
                acked.push(t);
                n.fetch_add(1, Ordering::SeqCst);
                tick.send_replace(());
            }
            acked
        }));
    }
    count
        .wait_for(|()| {
            registered.load(Ordering::SeqCst) >= ACKNOWLEDGED
                && granted.load(Ordering::SeqCst) >= ACKNOWLEDGED
        })
        .await
        .expect("the writers count");
    server.kill();

    let mut apps = Vec::new();
    for r in registrars {
        apps.extend(r.await.expect("registrar"));
    }
    let mut tokens = Vec::new();
    for g in granters {
        tokens.extend(g.await.expect("granter"));
    }
    assert!(apps.len() >= ACKNOWLEDGED && tokens.len() >= ACKNOWLEDGED);
    integrity_ok(&url).await;

    // The server starts on the file again, and has every acknowledged write.
    let server = start(&url, dir.path()).await;
    let present = listed(&http, &server.base).await;
    let lost: Vec<_> = apps.iter().filter(|id| !present.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged registrations lost: {lost:?}");
    for t in &tokens {
        assert!(
            live(&http, &server.base, &client, t).await,
            "an acknowledged grant's refresh token was lost"
        );
    }
    drop(server);
    integrity_ok(&url).await;
}
