//! DPoP (RFC 9449, issue 15 item 1) end to end: proofs signed here with `ring` (ES256
//! and EdDSA keys) at the token endpoint, which binds every grant's access token to
//! the key (`cnf.jkt`, `token_type` `DPoP`), at UserInfo (`Authorization: DPoP`,
//! `ath`, the key of `cnf`), at introspection (`cnf`), and every refusal: wrong `htu`
//! or `htm`, old or future `iat`, a replayed `jti`, a private or missing `jwk`, a
//! refused `alg`, two `DPoP` headers, the wrong key or no `ath` at the resource, a
//! bound token presented as Bearer, and server nonces (`use_dpop_nonce`) when on.

use crate::helpers::{backends, fresh_database, spawn_app, spawn_with, test_config};
use crate::helpers::{Backend, Reply, TestApp};
use crate::support::oauth::{
    alice, alices_client, alices_job, assert_rfc_error, form_post, introspect, Client, ALICE,
    ALICE_PASSWORD, METADATA, ODATA, TOKEN, USERINFO,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use portcullis_core::clock::Clock;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// A client's DPoP key (also used by `token_exchange.rs`).
pub(crate) enum Key {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

impl Key {
    pub(crate) fn es256() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        Key::Es256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .expect("key"),
        )
    }

    fn eddsa() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
        Key::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key"))
    }

    fn alg(&self) -> &'static str {
        match self {
            Key::Es256(_) => "ES256",
            Key::EdDsa(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match self {
            Key::Es256(k) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b64(&p[1..33]), "y": b64(&p[33..])})
            }
            Key::EdDsa(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())})
            }
        }
    }

    /// The RFC 7638 thumbprint, computed independently of the server's code.
    fn jkt(&self) -> String {
        let text = match self {
            Key::Es256(_) => {
                let j = self.jwk();
                format!(
                    r#"{{"crv":"P-256","kty":"EC","x":{},"y":{}}}"#,
                    j["x"], j["y"]
                )
            }
            Key::EdDsa(_) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":{}}}"#, self.jwk()["x"]),
        };
        b64(&Sha256::digest(text.as_bytes()))
    }

    /// Signs `claims` under `header`.
    fn sign_with(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = match self {
            Key::Es256(k) => k
                .sign(&SystemRandom::new(), input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Key::EdDsa(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64(&sig))
    }

    /// A proof of `claims` with the right header.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with(
            &json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk()}),
            claims,
        )
    }

    /// A valid proof for `method` `path` of `app`, now, with a fresh jti.
    fn proof(&self, app: &TestApp, method: &str, path: &str) -> String {
        self.sign(&claims(app, method, path))
    }
}

fn claims(app: &TestApp, method: &str, path: &str) -> Value {
    json!({"htm": method, "htu": app.url(path), "iat": app.clock.now(),
           "jti": uuid::Uuid::new_v4().to_string()})
}

fn ath(token: &str) -> String {
    b64(&Sha256::digest(token.as_bytes()))
}

/// A client_credentials request of `c` carrying `proof`.
async fn cc(app: &TestApp, c: &Client, proof: Option<&str>) -> Reply {
    let mut req = form_post(
        app,
        TOKEN,
        Some((&c.client_id, &c.secret)),
        &[("grant_type", "client_credentials"), ("scope", ODATA)],
    );
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    app.send(req).await
}

/// UserInfo with `Authorization: <scheme> token` and an optional proof.
async fn userinfo(app: &TestApp, scheme: &str, token: &str, proof: Option<&str>) -> Reply {
    let mut req = app
        .http
        .get(app.url(USERINFO))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    app.send(req).await
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

#[track_caller]
fn assert_dpop_refusal(r: &Reply, error: &str, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("DPoP "), "{what}: {challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{what}: {challenge}"
    );
    assert!(
        challenge.contains("algs=\"ES256 RS256 EdDSA\""),
        "{what}: {challenge}"
    );
    assert_eq!(r.json()["error"], error, "{what}: {}", r.text);
}

async fn a_proof_binds_the_token_and_userinfo_checks_the_key_and_ath(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let job = alices_job(&app, "Nightly job").await;
    let m = app.send(app.http.get(app.url(METADATA))).await.json();
    assert_eq!(
        m["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "EdDSA"])
    );

    for key in [Key::es256(), Key::eddsa()] {
        let r = cc(&app, &job, Some(&key.proof(&app, "POST", TOKEN))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let t = r.json();
        assert_eq!(t["token_type"], "DPoP");
        let token = t["access_token"].as_str().expect("access_token").to_owned();
        assert_eq!(payload(&token)["cnf"], json!({"jkt": key.jkt()}));
        let i = introspect(&app, &job, &token).await;
        assert_eq!(i["cnf"], json!({"jkt": key.jkt()}));
        assert_eq!(i["token_type"], "DPoP");

        // At UserInfo: the DPoP scheme, a proof by the key, with ath.
        let mut c = claims(&app, "GET", USERINFO);
        c["ath"] = json!(ath(&token));
        let r = userinfo(&app, "DPoP", &token, Some(&key.sign(&c))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["sub"], job.client_id.as_str());

        // Presented as Bearer, the bound token is refused.
        let r = userinfo(&app, "Bearer", &token, None).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.json()["error"], "invalid_token");
        // The DPoP scheme without a proof.
        let r = userinfo(&app, "DPoP", &token, None).await;
        assert_dpop_refusal(&r, "invalid_dpop_proof", "no proof");
        // A proof without ath.
        let r = userinfo(
            &app,
            "DPoP",
            &token,
            Some(&key.proof(&app, "GET", USERINFO)),
        )
        .await;
        assert_dpop_refusal(&r, "invalid_dpop_proof", "no ath");
        // ath of another token.
        let mut c = claims(&app, "GET", USERINFO);
        c["ath"] = json!(ath("another token"));
        let r = userinfo(&app, "DPoP", &token, Some(&key.sign(&c))).await;
        assert_dpop_refusal(&r, "invalid_dpop_proof", "wrong ath");
        // A valid proof by another key.
        let other = Key::es256();
        let mut c = claims(&app, "GET", USERINFO);
        c["ath"] = json!(ath(&token));
        let r = userinfo(&app, "DPoP", &token, Some(&other.sign(&c))).await;
        assert_dpop_refusal(&r, "invalid_dpop_proof", "another key");
        assert!(r.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("another key")));
        // A proof for the token endpoint, not for UserInfo.
        let mut c = claims(&app, "POST", TOKEN);
        c["ath"] = json!(ath(&token));
        let r = userinfo(&app, "DPoP", &token, Some(&key.sign(&c))).await;
        assert_dpop_refusal(&r, "invalid_dpop_proof", "wrong htu and htm");
    }

    // Without a proof the token is a Bearer token, and DPoP is refused for it.
    let r = cc(&app, &job, None).await;
    assert_eq!(r.json()["token_type"], "Bearer");
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    assert!(payload(&token).get("cnf").is_none());
    let key = Key::es256();
    let mut c = claims(&app, "GET", USERINFO);
    c["ath"] = json!(ath(&token));
    let r = userinfo(&app, "DPoP", &token, Some(&key.sign(&c))).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_token");
    // No token at all: both challenges are offered.
    let r = app.send(app.http.get(app.url(USERINFO))).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers.get_all("www-authenticate").iter().count(), 2);
}

async fn every_refused_proof_is_invalid_dpop_proof_at_the_token_endpoint(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let job = alices_job(&app, "Nightly job").await;
    let key = Key::es256();
    let now = app.clock.now();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims(&app, "POST", TOKEN);
        change(&mut c);
        c
    };
    let mut private = key.jwk();
    private["d"] = json!("AAAA");
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong htu",
            key.sign(&with(&|c| c["htu"] = json!(app.url(USERINFO)))),
        ),
        (
            "htu of another host",
            key.sign(&with(&|c| {
                c["htu"] = json!("https://evil.example/oauth2/token")
            })),
        ),
        ("wrong htm", key.sign(&with(&|c| c["htm"] = json!("GET")))),
        ("old iat", key.sign(&with(&|c| c["iat"] = json!(now - 61)))),
        (
            "future iat",
            key.sign(&with(&|c| c["iat"] = json!(now + 11))),
        ),
        (
            "no jti",
            key.sign(&with(&|c| {
                c.as_object_mut().map(|o| o.remove("jti"));
            })),
        ),
        (
            "typ JWT",
            key.sign_with(
                &json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk()}),
                &with(&|_| {}),
            ),
        ),
        (
            "private jwk",
            key.sign_with(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
                &with(&|_| {}),
            ),
        ),
        (
            "no jwk",
            key.sign_with(&json!({"typ": "dpop+jwt", "alg": "ES256"}), &with(&|_| {})),
        ),
        (
            "alg HS256",
            key.sign_with(
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk()}),
                &with(&|_| {}),
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()})
                    .to_string()
                    .as_bytes()),
                b64(with(&|_| {}).to_string().as_bytes())
            ),
        ),
        (
            "jwk of another key",
            key.sign_with(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": Key::es256().jwk()}),
                &with(&|_| {}),
            ),
        ),
        ("not a JWT", "abc".to_owned()),
    ];
    for (what, proof) in &cases {
        let r = cc(&app, &job, Some(proof)).await;
        assert_rfc_error(&r, 400, "invalid_dpop_proof", what);
    }
    // Within the window either way, the proof is accepted.
    for iat in [now - 60, now + 10] {
        let r = cc(
            &app,
            &job,
            Some(&key.sign(&with(&|c| c["iat"] = json!(iat)))),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // htu is compared without query and fragment.
    let r = cc(
        &app,
        &job,
        Some(&key.sign(&with(&|c| {
            c["htu"] = json!(format!("{}?a=1#f", app.url(TOKEN)))
        }))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A jti is single use; a refused request did not use it up.
    let fresh = with(&|_| {});
    let mut refused = fresh.clone();
    refused["htm"] = json!("PUT");
    let r = cc(&app, &job, Some(&key.sign(&refused))).await;
    assert_rfc_error(&r, 400, "invalid_dpop_proof", "wrong htm");
    let proof = key.sign(&fresh);
    assert_eq!(cc(&app, &job, Some(&proof)).await.status, 200);
    let r = cc(&app, &job, Some(&proof)).await;
    assert_rfc_error(&r, 400, "invalid_dpop_proof", "replayed jti");
    assert!(r.json()["error_description"]
        .as_str()
        .is_some_and(|d| d.contains("already used")));

    // Two DPoP headers.
    let req = form_post(
        &app,
        TOKEN,
        Some((&job.client_id, &job.secret)),
        &[("grant_type", "client_credentials")],
    )
    .header("DPoP", key.proof(&app, "POST", TOKEN))
    .header("DPoP", key.proof(&app, "POST", TOKEN));
    assert_rfc_error(
        &app.send(req).await,
        400,
        "invalid_dpop_proof",
        "two headers",
    );
}

async fn a_users_grant_is_bound_without_code_of_its_own(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let c = alices_client(&app).await;
    let key = Key::es256();
    let req = form_post(
        &app,
        TOKEN,
        Some((&c.client_id, &c.secret)),
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", ALICE_PASSWORD),
        ],
    )
    .header("DPoP", key.proof(&app, "POST", TOKEN));
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["token_type"], "DPoP");
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    assert_eq!(payload(&token)["cnf"]["jkt"], key.jkt());
    // The refresh grant binds its access token too (a confidential client's refresh
    // token is not bound: RFC 9449 §5).
    let refresh = r.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let other = Key::es256();
    let req = form_post(
        &app,
        TOKEN,
        Some((&c.client_id, &c.secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .header("DPoP", other.proof(&app, "POST", TOKEN));
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    assert_eq!(payload(&token)["cnf"]["jkt"], other.jkt());
}

async fn server_nonces_are_required_when_on(b: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(b, &dir).await;
    let mut config = test_config(&db);
    config.dpop_nonces = true;
    let app = spawn_with(config, dir).await;
    alice(&app).await;
    let job = alices_job(&app, "Nightly job").await;
    let key = Key::es256();

    let r = cc(&app, &job, Some(&key.proof(&app, "POST", TOKEN))).await;
    assert_rfc_error(&r, 400, "use_dpop_nonce", "no nonce");
    let nonce = r.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    let mut c = claims(&app, "POST", TOKEN);
    c["nonce"] = json!(nonce);
    let r = cc(&app, &job, Some(&key.sign(&c))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("dpop-nonce").is_some());
    let token = r.json()["access_token"].as_str().expect("token").to_owned();

    // At UserInfo too, with the challenge RFC 9449 §9 gives.
    let mut c = claims(&app, "GET", USERINFO);
    c["ath"] = json!(ath(&token));
    let r = userinfo(&app, "DPoP", &token, Some(&key.sign(&c))).await;
    assert_dpop_refusal(&r, "use_dpop_nonce", "no nonce at userinfo");
    let nonce = r.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    c["nonce"] = json!(nonce);
    c["jti"] = json!("another");
    let r = userinfo(&app, "DPoP", &token, Some(&key.sign(&c))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Ten minutes later the nonce is stale.
    app.clock.advance(601);
    let mut c = claims(&app, "POST", TOKEN);
    c["nonce"] = json!(nonce);
    let r = cc(&app, &job, Some(&key.sign(&c))).await;
    assert_rfc_error(&r, 400, "use_dpop_nonce", "stale nonce");
    assert_ne!(r.header("dpop-nonce"), Some(nonce.as_str()));
}

/// A code for the public client `c`, its request adding `extra`: through the pages
/// the first time, then straight from the signed-in browser (consent was given).
async fn public_code(
    browser: &mut crate::authorize::Browser<'_>,
    c: &crate::authorize::Client,
    extra: &[(&str, &str)],
    first: bool,
) -> String {
    use crate::authorize::{authorize_path, code_of, decide, to_consent};
    if first {
        let consent = to_consent(browser, &authorize_path(c, extra)).await;
        return code_of(&decide(browser, &consent, "allow").await);
    }
    code_of(&browser.get(&authorize_path(c, extra)).await)
}

/// The code of the authorization request that `push` pushes (RFC 9126), taken by the
/// signed-in `browser` (consent was given).
async fn pushed_code(
    app: &TestApp,
    browser: &mut crate::authorize::Browser<'_>,
    c: &crate::authorize::Client,
    push: reqwest::RequestBuilder,
) -> String {
    let pushed = app.send(push).await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    let request_uri = pushed.json()["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &c.client_id)
        .append_pair("request_uri", &request_uri);
    crate::authorize::code_of(
        &browser
            .get(&format!("/oauth2/authorize?{}", q.finish()))
            .await,
    )
}

/// The public client's exchange of `code` (the tests' redirect URI and PKCE verifier)
/// with an optional proof.
async fn code_exchange(
    app: &TestApp,
    c: &crate::authorize::Client,
    code: &str,
    proof: Option<String>,
) -> Reply {
    use crate::authorize::{CALLBACK, VERIFIER};
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    public_token(app, c, &fields, proof).await
}

/// A public client's token request with `fields` and an optional proof.
async fn public_token(
    app: &TestApp,
    c: &crate::authorize::Client,
    fields: &[(&str, &str)],
    proof: Option<String>,
) -> Reply {
    let mut form = fields.to_vec();
    form.push(("client_id", &c.client_id));
    let mut req = app.http.post(app.url(TOKEN)).form(&form);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    app.send(req).await
}

async fn a_public_clients_refresh_token_and_a_dpop_jkt_code_need_the_key(b: Backend) {
    use crate::authorize::{register, CALLBACK, VERIFIER};
    let app = spawn_app(b).await;
    alice(&app).await;
    let public = register(&app, &[CALLBACK], json!({"public": true})).await;
    let key = Key::es256();
    let other = Key::es256();
    let mut browser = crate::authorize::Browser::new(&app);
    let code = public_code(&mut browser, &public, &[], true).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let r = public_token(
        &app,
        &public,
        &exchange,
        Some(key.proof(&app, "POST", TOKEN)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["token_type"], "DPoP");
    let refresh = r.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let grant = |t: &str| {
        [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", t.to_owned()),
        ]
    };

    // Without a proof, or with another key's: invalid_grant, and nothing changes.
    let f = grant(&refresh);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = public_token(&app, &public, &f, None).await;
    assert_rfc_error(&r, 400, "invalid_grant", "no proof");
    let r = public_token(&app, &public, &f, Some(other.proof(&app, "POST", TOKEN))).await;
    assert_rfc_error(&r, 400, "invalid_grant", "another key");
    // With the key: a successor, still bound.
    let r = public_token(&app, &public, &f, Some(key.proof(&app, "POST", TOKEN))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        payload(r.json()["access_token"].as_str().expect("at"))["cnf"]["jkt"],
        key.jkt()
    );
    let next = r.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let f = grant(&next);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = public_token(&app, &public, &f, Some(other.proof(&app, "POST", TOKEN))).await;
    assert_rfc_error(&r, 400, "invalid_grant", "the successor with another key");

    // dpop_jkt: the code exchange needs a proof by that key.
    let jkt = key.jkt();
    for (proof, ok) in [
        (None, false),
        (Some(other.proof(&app, "POST", TOKEN)), false),
        (Some(key.proof(&app, "POST", TOKEN)), true),
    ] {
        let code = public_code(&mut browser, &public, &[("dpop_jkt", jkt.as_str())], false).await;
        let r = code_exchange(&app, &public, &code, proof).await;
        if ok {
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(
                payload(r.json()["access_token"].as_str().expect("at"))["cnf"]["jkt"],
                jkt
            );
        } else {
            assert_rfc_error(&r, 400, "invalid_grant", "dpop_jkt mismatch");
        }
    }
    // Pushed (RFC 9126), the request's dpop_jkt is kept with its parameters.
    let push = app
        .http
        .post(app.url("/oauth2/par"))
        .form(&crate::authorize::query_of(
            &crate::authorize::authorize_path(&public, &[("dpop_jkt", jkt.as_str())]),
        ));
    let code = pushed_code(&app, &mut browser, &public, push).await;
    let r = code_exchange(&app, &public, &code, Some(other.proof(&app, "POST", TOKEN))).await;
    assert_rfc_error(&r, 400, "invalid_grant", "pushed dpop_jkt mismatch");

    // A DPoP header at the push binds the code to its key (RFC 9449 §10.1).
    let fields = crate::authorize::query_of(&crate::authorize::authorize_path(&public, &[]));
    let push = app
        .http
        .post(app.url("/oauth2/par"))
        .header("DPoP", key.proof(&app, "POST", "/oauth2/par"))
        .form(&fields);
    let code = pushed_code(&app, &mut browser, &public, push).await;
    let r = code_exchange(&app, &public, &code, Some(other.proof(&app, "POST", TOKEN))).await;
    assert_rfc_error(&r, 400, "invalid_grant", "the push's DPoP key");
    // A push whose dpop_jkt names another key than its proof's is refused.
    let fields = crate::authorize::query_of(&crate::authorize::authorize_path(
        &public,
        &[("dpop_jkt", other.jkt().as_str())],
    ));
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/par"))
                .header("DPoP", key.proof(&app, "POST", "/oauth2/par"))
                .form(&fields),
        )
        .await;
    assert_rfc_error(
        &r,
        400,
        "invalid_dpop_proof",
        "dpop_jkt and the proof disagree",
    );

    // A malformed dpop_jkt is refused at the authorization endpoint.
    let r = app
        .send(app.http.get(app.url(&crate::authorize::authorize_path(
            &public,
            &[("dpop_jkt", "short")],
        ))))
        .await;
    crate::authorize::assert_error_redirect(&r, "invalid_request");
}

async fn a_client_registered_with_dpop_bound_access_tokens_must_send_a_proof(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    // Through the HDP API (its field naming) …
    let job = crate::support::oauth::register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Bound job",
        json!({"grantTypes": ["client_credentials"], "dpopBoundAccessTokens": true}),
    )
    .await;
    let shown = app
        .send_as(
            reqwest::Method::GET,
            &format!("{}/{}", crate::support::oauth::APPS, job.id),
            ALICE,
            ALICE_PASSWORD,
        )
        .await;
    assert_eq!(
        shown.json()["dpopBoundAccessTokens"],
        true,
        "{}",
        shown.text
    );
    let r = cc(&app, &job, None).await;
    assert_rfc_error(&r, 400, "invalid_dpop_proof", "no proof");
    let r = cc(&app, &job, Some(&Key::es256().proof(&app, "POST", TOKEN))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["token_type"], "DPoP");

    // … and by dynamic registration (RFC 7591), which echoes it.
    crate::registration::open_system_tenant(&app).await;
    let reg = app
        .send(app.http.post(app.url("/oauth2/register")).json(&json!({
            "redirect_uris": ["https://app.example/callback"],
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": true,
        })))
        .await;
    assert_eq!(reg.status, 201, "{}", reg.text);
    assert_eq!(reg.json()["dpop_bound_access_tokens"], true, "{}", reg.text);
    let bad = app
        .send(app.http.post(app.url("/oauth2/register")).json(&json!({
            "redirect_uris": ["https://app.example/callback"],
            "dpop_bound_access_tokens": "yes",
        })))
        .await;
    assert_rfc_error(&bad, 400, "invalid_client_metadata", "not a boolean");
}

async fn the_management_api_takes_a_bound_token_with_the_dpop_scheme(b: Backend) {
    use crate::support::oauth::{register, APPS, MGMT};
    let app = spawn_app(b).await;
    alice(&app).await;
    let r = app
        .send(
            app.as_admin(reqwest::Method::PUT, "/api/admin/tenants/1")
                .json(&json!({"name": "system", "status": 1, "allowedScopes": [ODATA, MGMT]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = register(
        &app,
        ALICE,
        ALICE_PASSWORD,
        "Console",
        json!({"scopes": [ODATA, MGMT]}),
    )
    .await;
    let key = Key::es256();
    let req = form_post(
        &app,
        TOKEN,
        Some((&c.client_id, &c.secret)),
        &[
            ("grant_type", "password"),
            ("username", ALICE),
            ("password", ALICE_PASSWORD),
            ("scope", MGMT),
        ],
    )
    .header("DPoP", key.proof(&app, "POST", TOKEN));
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    let call = |scheme: &str, proof: Option<String>| {
        let mut req = app
            .http
            .get(app.url(APPS))
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        app.send(req)
    };
    let mut c = claims(&app, "GET", APPS);
    c["ath"] = json!(ath(&token));
    let r = call("DPoP", Some(key.sign(&c))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // As Bearer, without a proof, with another key's: 401 with the DPoP challenge.
    let r = call("Bearer", None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("DPoP ")));
    let r = call("DPoP", None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let mut c = claims(&app, "GET", APPS);
    c["ath"] = json!(ath(&token));
    let r = call("DPoP", Some(Key::es256().sign(&c))).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|c| c.contains("error=\"invalid_dpop_proof\"")));
}

async fn a_proof_raced_on_two_nodes_is_accepted_once(b: Backend) {
    // Two nodes of one deployment: one database, one public URL (the proofs' htu).
    const PUBLIC: &str = "https://auth.example";
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(b, &dir).await;
    let config = || {
        let mut c = test_config(&db);
        c.public_url = Some(PUBLIC.to_owned());
        c
    };
    let one = spawn_with(config(), dir).await;
    let two = spawn_with(config(), tempfile::tempdir().expect("tempdir")).await;
    alice(&one).await;
    let job = alices_job(&one, "Nightly job").await;
    let key = Key::es256();
    let proof = key.sign(&json!({"htm": "POST", "htu": format!("{PUBLIC}{TOKEN}"),
                                 "iat": one.clock.now(), "jti": "raced"}));

    const N: usize = 8;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let node = if i % 2 == 0 { &one } else { &two };
        let req = form_post(
            node,
            TOKEN,
            Some((&job.client_id, &job.secret)),
            &[("grant_type", "client_credentials")],
        )
        .header("DPoP", proof.clone());
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = req.send().await.expect("request");
            (res.status().as_u16(), res.text().await.expect("body"))
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, text) = t.await.expect("task");
        if status != 200 {
            assert!(text.contains("invalid_dpop_proof"), "{text}");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one acceptance across both nodes: {statuses:?}"
    );
}

backends!(
    a_proof_raced_on_two_nodes_is_accepted_once,
    the_management_api_takes_a_bound_token_with_the_dpop_scheme,
    a_client_registered_with_dpop_bound_access_tokens_must_send_a_proof,
    a_public_clients_refresh_token_and_a_dpop_jkt_code_need_the_key,
    a_proof_binds_the_token_and_userinfo_checks_the_key_and_ath,
    every_refused_proof_is_invalid_dpop_proof_at_the_token_endpoint,
    a_users_grant_is_bound_without_code_of_its_own,
    server_nonces_are_required_when_on,
);
