//! # portcullis-bench
//!
//! The Rust half of the load harness (`bench/run` is the other half):
//!
//! * `portcullis-bench ceiling --listen ADDR` serves what the machine can do at best,
//!   measured by the same load generator in the same run as Portcullis: `/bare`, an
//!   axum handler answering a small JSON body, and `/sign`, a handler that mints one
//!   ES256 access token through core's own [`token::mint`] and [`Signer`] (the code path
//!   of the `client_credentials` grant without its database work), and `/verify`, one
//!   signature check through [`Signer::verify`] (the cryptographic floor of
//!   introspection and userinfo). No Portcullis layers, no database on the request path.
//! * `portcullis-bench seed refresh|codes …` creates many refresh tokens or
//!   authorization codes for one user and client, straight in the configured database
//!   (read from `PORTCULLIS_*` like the server), through the core's own issuing code
//!   ([`token::issue_for_user`], [`portcullis_core::store::TokenStore::insert_auth_code`]),
//!   and writes the tokens, one a line, to a file the load scripts cycle through.
//!   Password grants would mint them too, but at Argon2's pace.
//! * `portcullis-bench seed vault …` creates an OAuth application object
//!   ([`VAULT_APP`]) and, for the user, an OAuth profile holding a fresh sealed upstream
//!   access token (expiring in 30 days, so a retrieval never calls the upstream), and
//!   writes one of the user's access tokens issued through the client: the subject
//!   token of the `vault_exchange` scenario.
//!
//! * `portcullis-bench dpop-proofs --htu URL --count N --out FILE` signs N DPoP proofs
//!   (RFC 9449) for `POST URL` with one ES256 key, each with its own `jti` and `iat`
//!   now, one a line: the `cc_dpop` scenario sends one per request (a `jti` is single
//!   use). They stay acceptable for the server's 60-second `iat` window.
//!
//! * `portcullis-bench propagation --trials N` measures how long a revocation on one
//!   node takes to be seen by another (issue #17 item 3): two PostgreSQL stores on the
//!   database named by `PORTCULLIS_DATABASE_URL`, each with its own listener, as two
//!   nodes have. Per trial: B reads a `jti`'s state twice (so holds it in memory), A
//!   revokes it, and B is polled until it answers revoked. Prints the p50, p99 and
//!   maximum, from A's acknowledgement and from the start of A's write, as JSON.
//!
//! [`Signer`]: portcullis_core::keys::Signer
//! [`Signer::verify`]: portcullis_core::keys::Signer::verify

use clap::{Parser, Subcommand};
use portcullis_core::clock::SystemClock;
use portcullis_core::context::Context;
use portcullis_core::crypto::pkce::s256;
use portcullis_core::crypto::Secret;
use portcullis_core::limits::oauth_limits;
use portcullis_core::model::identity::SYSTEM_TENANT_ID;
use portcullis_core::model::token::{AuthCode, SignInContext};
use portcullis_core::oauth::client_auth::{AuthenticatedClient, Method};
use portcullis_core::oauth::token;
use portcullis_server::config::{Config, Overrides};
use portcullis_server::startup::prepare;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis-bench",
    about = "Helpers of the Portcullis load harness (bench/run)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the ceiling endpoints (/bare, /sign, /verify) until interrupted.
    Ceiling {
        /// Address:port to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
    },
    /// Create tokens in the database configured by PORTCULLIS_* (as the server reads it).
    #[command(subcommand)]
    Seed(Seed),
    /// How long a revocation on one PostgreSQL node takes to reach another.
    Propagation {
        #[arg(long, default_value_t = 300)]
        trials: usize,
    },
    /// Sign DPoP proofs for `POST --htu`, one a line, with one fresh ES256 key.
    DpopProofs {
        /// The token endpoint's URL (the proofs' `htu`).
        #[arg(long)]
        htu: String,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

/// What to seed; both need the user and the client.
#[derive(Debug, Subcommand)]
enum Seed {
    /// Refresh tokens, each its own grant (family), as a password grant issues them.
    Refresh {
        #[command(flatten)]
        who: Who,
    },
    /// Authorization codes for `redirect_uri`, with the S256 challenge of `verifier`.
    Codes {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        redirect_uri: String,
        /// The PKCE code verifier every code is bound to (43–128 characters).
        #[arg(long)]
        verifier: String,
        /// OpenID Connect codes: `openid profile email` granted, with a nonce and a
        /// sign-in, so each exchange also signs an ID token.
        #[arg(long)]
        openid: bool,
    },
    /// The vault's application and the user's profile with a fresh upstream token;
    /// writes a subject token (the user's access token through the client) to `out`.
    Vault {
        /// The client application's client id (allowed token exchange and vault.retrieve).
        #[arg(long)]
        client_id: String,
        /// The user's login name (in the system tenant).
        #[arg(long)]
        login: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// The name of the OAuth application object `seed vault` creates.
const VAULT_APP: &str = "bench_upstream";

#[derive(Debug, clap::Args)]
struct Who {
    /// The client application's client id.
    #[arg(long)]
    client_id: String,
    /// The user's login name (in the system tenant).
    #[arg(long)]
    login: String,
    /// How many to create.
    #[arg(long)]
    count: usize,
    /// Where to write them, one a line.
    #[arg(long)]
    out: PathBuf,
    /// Concurrent writers.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ceiling { listen } => ceiling(&listen).await,
        Command::Seed(seed) => run_seed(seed).await,
        Command::DpopProofs { htu, count, out } => dpop_proofs(&htu, count, &out),
        Command::Propagation { trials } => propagation(trials).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A context on a private in-memory database: keys created exactly as on a first start.
async fn ceiling_context() -> Result<Context, Failure> {
    let config = Config {
        database_url: "sqlite::memory:".to_owned(),
        admin_password: Some("Ceiling-Only-Admin-1".to_owned()),
        password_hash_concurrency: Some(1),
        ..Config::default()
    };
    let (ctx, _) = prepare(&config, Arc::new(SystemClock)).await?;
    Ok(ctx)
}

/// Mints one client_credentials-shaped access token, as the grant does after its lookups.
fn mint(ctx: &Context, scopes: &[String]) -> Result<String, Failure> {
    let (jwt, _) = token::mint(
        ctx,
        "6f1c2a51-6b7e-4c39-9d0e-2b8e3f0a9c11",
        SYSTEM_TENANT_ID,
        token::Subject::Client(Some("c2VjcmV0LXZlcnNpb24")),
        scopes,
        None,
        3600,
        None,
        &[],
    )
    .map_err(|e| format!("signing failed: {}", e.description))?;
    Ok(jwt)
}

async fn ceiling(listen: &str) -> Result<(), Failure> {
    use axum::http::StatusCode;
    use axum::routing::{any, post};
    use axum::Json;
    use serde_json::json;

    let ctx = ceiling_context().await?;
    let scopes: Arc<[String]> = Arc::from(vec!["api.access.odata".to_owned()]);
    let sample: Arc<str> = mint(&ctx, &scopes)?.into();
    let sign = {
        let ctx = ctx.clone();
        move || {
            let ctx = ctx.clone();
            let scopes = scopes.clone();
            async move {
                match mint(&ctx, &scopes) {
                    Ok(t) => Ok(Json(json!({
                        "access_token": t,
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": scopes.join(" "),
                    }))),
                    Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
                }
            }
        }
    };
    let verify = move || {
        let ctx = ctx.clone();
        let sample = sample.clone();
        async move {
            match ctx.signer.verify(&sample, ctx.now()) {
                Ok(c) => Ok(Json(json!({"active": true, "sub": c.sub, "exp": c.exp}))),
                Err(_) => Err(StatusCode::UNAUTHORIZED),
            }
        }
    };
    let app = axum::Router::new()
        .route("/bare", any(|| async { Json(json!({"status": "ok"})) }))
        .route("/sign", post(sign))
        .route("/verify", any(verify));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(portcullis_server::startup::shutdown_signal())
        .await?;
    Ok(())
}

async fn run_seed(seed: Seed) -> Result<(), Failure> {
    let config = Config::load(None, std::env::vars(), Overrides::default())?;
    let (ctx, _) = prepare(&config, Arc::new(SystemClock)).await?;
    let (who, codes, openid) = match seed {
        Seed::Vault {
            client_id,
            login,
            out,
        } => return seed_vault(&ctx, &client_id, &login, &out).await,
        Seed::Refresh { who } => (who, None, false),
        Seed::Codes {
            who,
            redirect_uri,
            verifier,
            openid,
        } => (who, Some((redirect_uri, s256(&verifier))), openid),
    };
    let app = ctx
        .store
        .client_app_by_client_id(&who.client_id)
        .await?
        .ok_or_else(|| format!("no client application with client id {}", who.client_id))?;
    let user = ctx
        .store
        .user_by_login(app.tenant_id, &who.login)
        .await?
        .ok_or_else(|| format!("no user {} in the client's tenant", who.login))?;
    let limits = oauth_limits(ctx.store.as_ref(), app.tenant_id).await?;
    let client = Arc::new(AuthenticatedClient {
        app,
        method: Method::Basic,
    });
    let user = Arc::new(user);
    let codes = Arc::new(codes);
    let jobs = who.jobs.max(1);
    let mut tasks = Vec::new();
    for j in 0..jobs {
        let n = who.count / jobs + usize::from(j < who.count % jobs);
        let (ctx, client, user, codes) = (ctx.clone(), client.clone(), user.clone(), codes.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(n);
            let mut scopes = vec![portcullis_core::model::scope::ODATA.to_owned()];
            if openid {
                scopes.extend(["openid", "profile", "email"].map(str::to_owned));
            }
            for _ in 0..n {
                let token = match codes.as_ref() {
                    None => {
                        let (response, _) = token::issue_for_user(
                            &ctx,
                            &client,
                            &user,
                            scopes.clone(),
                            &limits,
                            SignInContext::default(),
                            token::Target::default(),
                        )
                        .await
                        .map_err(|e| e.description)?;
                        response
                            .refresh_token
                            .ok_or("the grant issued no refresh token")?
                    }
                    Some((redirect_uri, challenge)) => {
                        let code = Secret::generate();
                        let now = ctx.now();
                        ctx.store
                            .insert_auth_code(&AuthCode {
                                verifier: ctx.keys.verifier(code.expose()),
                                client_app_id: client.app.id,
                                user_id: user.id,
                                redirect_uri: Some(redirect_uri.clone()),
                                scopes: scopes.clone(),
                                code_challenge: Some(challenge.clone()),
                                created_at: now,
                                expires_at: now + limits.code_lifetime,
                                used_at: None,
                                family_id: None,
                                sign_in: SignInContext {
                                    auth_time: openid.then_some(now),
                                    nonce: openid.then(|| "bench-nonce".to_owned()),
                                    sid: openid.then(|| "bench-session".to_owned()),
                                    claims: None,
                                },
                                resources: Vec::new(),
                                dpop_jkt: None,
                            })
                            .await
                            .map_err(|e| e.to_string())?;
                        code
                    }
                };
                out.push(token);
            }
            Ok::<_, String>(out)
        }));
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&who.out)?);
    for task in tasks {
        for token in task.await??.iter() {
            writeln!(file, "{}", token.expose())?;
        }
    }
    file.flush()?;
    Ok(())
}

/// `seed vault`: the application, the user's profile with a fresh sealed token, and a
/// subject token for the user through the client, written to `out`.
async fn seed_vault(
    ctx: &Context,
    client_id: &str,
    login: &str,
    out: &std::path::Path,
) -> Result<(), Failure> {
    use portcullis_core::model::vault::{
        new_seal_ref, NewOAuthApp, NewOAuthProfile, TokenAuthMethod,
    };
    use portcullis_core::vault::{apps, profiles, sealing::seal};
    let sealed = |plain: &str, purpose: &str| {
        seal(ctx, plain, purpose).map_err(|e| format!("sealing failed: {}", e.message))
    };
    let app = ctx
        .store
        .client_app_by_client_id(client_id)
        .await?
        .ok_or_else(|| format!("no client application with client id {client_id}"))?;
    let user = ctx
        .store
        .user_by_login(app.tenant_id, login)
        .await?
        .ok_or_else(|| format!("no user {login} in the client's tenant"))?;
    let now = ctx.now();
    let app_ref = new_seal_ref();
    let oauth_app = ctx
        .store
        .create_oauth_app(NewOAuthApp {
            client_secret_sealed: sealed("bench-upstream-secret", &apps::secret_purpose(&app_ref))?,
            seal_ref: app_ref,
            tenant_id: user.tenant_id,
            name: VAULT_APP.to_owned(),
            data_store: 63,
            description: String::new(),
            client_id: "bench-upstream".to_owned(),
            authorize_uri: "https://upstream.invalid/authorize".to_owned(),
            token_uri: "https://upstream.invalid/token".to_owned(),
            scope: "read".to_owned(),
            token_auth_method: TokenAuthMethod::ClientSecretBasic,
            now,
        })
        .await?;
    let seal_ref = new_seal_ref();
    ctx.store
        .create_oauth_profile(NewOAuthProfile {
            access_token_sealed: Some(sealed(
                "bench-upstream-access-token",
                &profiles::access_purpose(&seal_ref),
            )?),
            refresh_token_sealed: sealed(
                "bench-upstream-refresh-token",
                &profiles::refresh_purpose(&seal_ref),
            )?,
            seal_ref,
            oauth_app_id: oauth_app.id,
            tenant_id: user.tenant_id,
            owner_id: user.id,
            name: "bench_profile".to_owned(),
            description: String::new(),
            access_expires_at: Some(now + 30 * 86_400),
            now,
        })
        .await?;
    let limits = oauth_limits(ctx.store.as_ref(), app.tenant_id).await?;
    let client = AuthenticatedClient {
        app,
        method: Method::Basic,
    };
    let (response, _) = token::issue_for_user(
        ctx,
        &client,
        &user,
        vec![portcullis_core::model::scope::ODATA.to_owned()],
        &limits,
        SignInContext::default(),
        token::Target::default(),
    )
    .await
    .map_err(|e| e.description)?;
    std::fs::write(out, format!("{}\n", response.access_token))?;
    Ok(())
}

/// Writes `count` DPoP proofs for `POST htu` to `out`, signed by one new ES256 key.
fn dpop_proofs(htu: &str, count: usize, out: &std::path::Path) -> Result<(), Failure> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| "cannot generate a P-256 key")?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| "cannot read the P-256 key")?;
    let p = key.public_key().as_ref();
    let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {
        "kty": "EC", "crv": "P-256", "x": B64.encode(&p[1..33]), "y": B64.encode(&p[33..])}});
    let header = B64.encode(header.to_string());
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    for i in 0..count {
        let claims = serde_json::json!({"htm": "POST", "htu": htu, "iat": iat,
                                        "jti": format!("bench-{iat}-{i}")});
        let input = format!("{header}.{}", B64.encode(claims.to_string()));
        let sig = key
            .sign(&rng, input.as_bytes())
            .map_err(|_| "cannot sign a proof")?;
        writeln!(file, "{input}.{}", B64.encode(sig.as_ref()))?;
    }
    file.flush()?;
    Ok(())
}

/// The `p`-th percentile (0–100) of sorted `xs`, in milliseconds.
fn percentile(xs: &[std::time::Duration], p: usize) -> f64 {
    let i = (xs.len() * p).div_ceil(100).saturating_sub(1);
    xs.get(i.min(xs.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// See the crate docs: `portcullis-bench propagation`.
async fn propagation(trials: usize) -> Result<(), Failure> {
    use portcullis_core::clock::Clock as _;
    use portcullis_core::store::TokenStore as _;
    use portcullis_store_postgres::PgStore;
    use std::time::{Duration, Instant};
    let url = std::env::var("PORTCULLIS_DATABASE_URL")
        .map_err(|_| "PORTCULLIS_DATABASE_URL is not set (a postgres:// URL)")?;
    let a = PgStore::connect(&url).await?;
    let b = PgStore::connect(&url).await?;
    let subscribed = Instant::now();
    while !(a.state_cache().is_serving() && b.state_cache().is_serving()) {
        if subscribed.elapsed() > Duration::from_secs(10) {
            return Err("the nodes' listeners did not subscribe within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let expires = SystemClock.now() + 3600;
    let (mut from_ack, mut from_start) = (Vec::new(), Vec::new());
    for i in 0..trials {
        let jti = format!("propagation-{}-{i}", std::process::id());
        b.token_state(&jti, None, None).await?;
        b.token_state(&jti, None, None).await?;
        if !b.state_cache().holds_jti(&jti) {
            return Err(format!("trial {i}: node B does not hold the token's state").into());
        }
        let start = Instant::now();
        a.revoke_jti(&jti, expires).await?;
        let acked = Instant::now();
        loop {
            if b.token_state(&jti, None, None).await?.jti_revoked {
                break;
            }
            if start.elapsed() > Duration::from_secs(5) {
                return Err(format!("trial {i}: not seen by node B within 5 s").into());
            }
            tokio::task::yield_now().await;
        }
        from_ack.push(acked.elapsed());
        from_start.push(start.elapsed());
    }
    from_ack.sort();
    from_start.sort();
    let stats = |xs: &[Duration]| {
        serde_json::json!({
            "p50_ms": percentile(xs, 50),
            "p99_ms": percentile(xs, 99),
            "max_ms": percentile(xs, 100),
        })
    };
    println!(
        "{}",
        serde_json::json!({
            "trials": trials,
            "from_ack": stats(&from_ack),
            "from_start": stats(&from_start),
        })
    );
    Ok(())
}
