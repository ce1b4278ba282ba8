//! Core tests of the token service on the in-memory store: each grant's rules, the
//! authorization-code exchange with codes created through the store (the authorize
//! endpoint that issues them comes later), and token validation against state.

use super::error::ErrorCode;
use super::request::{ClientCredentials, Endpoint, TokenRequest};
use super::token::exchange;
use super::validate;
use crate::clock::{Clock, ManualClock};
use crate::context::Context;
use crate::crypto::Secret;
use crate::model::client_app::{ClientApp, GrantType, NewClientApp};
use crate::model::identity::{NewUser, User, ROLE_USER, SYSTEM_TENANT_ID};
use crate::model::token::AuthCode;
use crate::ratelimit::FailureLimiter;
use crate::testing::test_context;

const SECRET: &str = "client-secret-0123456789";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Ann (password `Ann-Password-1`) and her application `client-1` (redirect URI
/// `https://app.example/cb`) in the system tenant; also the sign-in flow's fixture.
pub(super) struct Fixture {
    pub(super) ctx: Context,
    pub(super) clock: ManualClock,
    app: ClientApp,
    pub(super) user: User,
    pub(super) limiter: FailureLimiter,
}

pub(super) async fn fixture(public: bool) -> Fixture {
    let (ctx, clock) = test_context().await;
    let hash = ctx.hasher.hash("Ann-Password-1").await.expect("hash");
    let user = ctx
        .store
        .create_user(NewUser::new(
            SYSTEM_TENANT_ID,
            "ann",
            hash,
            vec![ROLE_USER],
            clock.now(),
        ))
        .await
        .expect("user");
    let app = ctx
        .store
        .create_client_app(NewClientApp {
            tenant_id: SYSTEM_TENANT_ID,
            owner_id: Some(user.id),
            name: "app".into(),
            description: String::new(),
            redirect_urls: vec!["https://app.example/cb".into()],
            client_id: "client-1".into(),
            secret_verifier: (!public).then(|| ctx.keys.verifier(SECRET)),
            public,
            grant_types: GrantType::ALL.to_vec(),
            scopes: vec!["api.access.odata".into()],
            post_logout_redirect_uris: Vec::new(),
            id_token_signed_response_alg: None,
            userinfo_signed_response_alg: None,
            require_pushed_authorization_requests: false,
            token_endpoint_auth_method:
                crate::model::client_app::TokenEndpointAuthMethod::for_public(public),
            profile: Default::default(),
            registered_by: crate::model::client_app::RegisteredBy::User,
            registration_verifier: None,
            token_exchange_policy: None,
            now: clock.now(),
        })
        .await
        .expect("app");
    Fixture {
        ctx,
        clock,
        app,
        user,
        limiter: FailureLimiter::default(),
    }
}

impl Fixture {
    fn request(&self, grant: &str) -> TokenRequest {
        TokenRequest {
            grant_type: Some(grant.into()),
            client: ClientCredentials {
                basic: (!self.app.public).then(|| ("client-1".into(), Secret::new(SECRET))),
                body_id: self.app.public.then(|| "client-1".into()),
                body_secret: None,
                assertion: None,
            },
            ..TokenRequest::default()
        }
    }

    async fn code(&self, challenge: Option<&str>, redirect: Option<&str>) -> String {
        let code = Secret::generate();
        self.ctx
            .store
            .insert_auth_code(&AuthCode {
                verifier: self.ctx.keys.verifier(code.expose()),
                client_app_id: self.app.id,
                user_id: self.user.id,
                redirect_uri: redirect.map(str::to_owned),
                scopes: vec!["api.access.odata".into()],
                code_challenge: challenge.map(str::to_owned),
                created_at: self.clock.now(),
                expires_at: self.clock.now() + 60,
                used_at: None,
                family_id: None,
                sign_in: Default::default(),
                resources: Vec::new(),
                dpop_jkt: None,
            })
            .await
            .expect("code");
        code.expose().to_owned()
    }

    fn code_request(
        &self,
        code: &str,
        verifier: Option<&str>,
        redirect: Option<&str>,
    ) -> TokenRequest {
        TokenRequest {
            code: Some(Secret::new(code)),
            code_verifier: verifier.map(Secret::new),
            redirect_uri: redirect.map(str::to_owned),
            ..self.request("authorization_code")
        }
    }

    async fn run(
        &self,
        req: TokenRequest,
    ) -> Result<super::request::TokenResponse, super::error::OAuthError> {
        exchange(&self.ctx, &self.limiter, req, Endpoint::Standard).await
    }

    async fn active(&self, token: &str) -> bool {
        validate::access_token(&self.ctx, token)
            .await
            .expect("store")
            .is_ok()
    }
}

#[tokio::test]
async fn a_code_with_pkce_is_exchanged_once_and_a_replay_revokes_its_tokens() {
    let f = fixture(false).await;
    let code = f
        .code(Some(CHALLENGE), Some("https://app.example/cb"))
        .await;
    let t = f
        .run(f.code_request(&code, Some(VERIFIER), Some("https://app.example/cb")))
        .await
        .expect("exchange");
    assert!(t.refresh_token.is_some());
    assert_eq!(t.scope, "api.access.odata");
    assert!(f.active(&t.access_token).await);
    let replay = f
        .run(f.code_request(&code, Some(VERIFIER), Some("https://app.example/cb")))
        .await;
    assert_eq!(
        replay.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert!(
        !f.active(&t.access_token).await,
        "tokens issued from a replayed code are revoked"
    );
    let mut refresh = f.request("refresh_token");
    refresh.refresh_token = t.refresh_token;
    assert_eq!(
        f.run(refresh).await.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidGrant)
    );
}

#[tokio::test]
async fn a_code_must_match_its_client_redirect_uri_and_challenge() {
    let f = fixture(false).await;
    let redirect = Some("https://app.example/cb");
    let wrong = "x".repeat(43);
    let cases: Vec<(Option<&str>, Option<&str>, ErrorCode, &str)> = vec![
        (
            None,
            redirect,
            ErrorCode::InvalidRequest,
            "code_verifier is required",
        ),
        (
            Some(&wrong),
            redirect,
            ErrorCode::InvalidGrant,
            "does not match the code challenge",
        ),
        (
            Some("short"),
            redirect,
            ErrorCode::InvalidRequest,
            "43 to 128",
        ),
        (
            Some(VERIFIER),
            Some("https://app.example/other"),
            ErrorCode::InvalidGrant,
            "redirect_uri",
        ),
        (
            Some(VERIFIER),
            None,
            ErrorCode::InvalidGrant,
            "redirect_uri",
        ),
    ];
    for (verifier, redirect_uri, code, needle) in cases {
        let c = f.code(Some(CHALLENGE), redirect).await;
        let e = f
            .run(f.code_request(&c, verifier, redirect_uri))
            .await
            .expect_err("refused");
        assert_eq!(e.code, code, "{needle}");
        assert!(
            e.description.contains(needle),
            "{} lacks {needle}",
            e.description
        );
    }
    // A verifier without a challenge is a downgrade attempt.
    let c = f.code(None, None).await;
    let e = f
        .run(f.code_request(&c, Some(VERIFIER), None))
        .await
        .expect_err("refused");
    assert!(e.description.contains("no code_challenge"));
    // Expired.
    let c = f.code(None, None).await;
    f.clock.advance(61);
    let e = f
        .run(f.code_request(&c, None, None))
        .await
        .expect_err("refused");
    assert!(e.description.contains("expired"));
    // Unknown.
    let e = f
        .run(f.code_request("not-a-code", None, None))
        .await
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn public_clients_need_pkce_and_always_rotate_refresh_tokens() {
    let f = fixture(true).await;
    let c = f.code(None, None).await;
    let e = f
        .run(f.code_request(&c, None, None))
        .await
        .expect_err("refused");
    assert!(e.description.contains("must use PKCE"));
    let c = f.code(Some(CHALLENGE), None).await;
    let t = f
        .run(f.code_request(&c, Some(VERIFIER), None))
        .await
        .expect("exchange");
    let first = t.refresh_token.expect("refresh");
    let mut refresh = f.request("refresh_token");
    refresh.refresh_token = Some(first.clone());
    let t2 = f.run(refresh.clone()).await.expect("refresh");
    let second = t2.refresh_token.expect("rotated");
    assert_ne!(first, second);
    // Reusing the first revokes the family, the second included.
    assert_eq!(
        f.run(refresh).await.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidGrant)
    );
    let mut again = f.request("refresh_token");
    again.refresh_token = Some(second);
    assert_eq!(
        f.run(again).await.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert!(!f.active(&t2.access_token).await);
}

#[tokio::test]
async fn confidential_refresh_tokens_come_back_unchanged_by_default() {
    let f = fixture(false).await;
    let mut req = f.request("password");
    req.username = Some("ann".into());
    req.password = Some(Secret::new("Ann-Password-1"));
    let t = f.run(req).await.expect("password grant");
    let rt = t.refresh_token.expect("refresh");
    let mut refresh = f.request("refresh_token");
    refresh.refresh_token = Some(rt.clone());
    for _ in 0..3 {
        let t = f.run(refresh.clone()).await.expect("refresh");
        assert_eq!(
            t.refresh_token.as_ref(),
            Some(&rt),
            "HDP returns the same refresh token"
        );
        assert!(f.active(&t.access_token).await);
    }
}

#[tokio::test]
async fn state_changes_end_access_tokens_before_they_expire() {
    let f = fixture(false).await;
    let mut req = f.request("password");
    req.username = Some("ann".into());
    req.password = Some(Secret::new("Ann-Password-1"));
    let t = f.run(req.clone()).await.expect("grant");
    assert!(f.active(&t.access_token).await);
    // A password change ends every token of the user.
    let hash = f.ctx.hasher.hash("Ann-Password-2").await.expect("hash");
    f.ctx
        .store
        .set_password(f.user.id, &hash, f.clock.now())
        .await
        .expect("set");
    assert!(!f.active(&t.access_token).await);
    // A client secret reset ends every token of the client.
    req.password = Some(Secret::new("Ann-Password-2"));
    let t = f.run(req).await.expect("grant");
    f.clock.advance(1);
    f.ctx
        .store
        .reset_client_secret(f.app.id, "v1.other", f.clock.now())
        .await
        .expect("reset");
    assert!(!f.active(&t.access_token).await);
    // And tokens expire: a client token is active until its lifetime has passed.
    let t = exchange(
        &f.ctx,
        &f.limiter,
        f.request("client_credentials"),
        Endpoint::Standard,
    )
    .await;
    assert_eq!(
        t.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidClient),
        "the old secret is gone"
    );
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let f = fixture(false).await;
    let t = f.run(f.request("client_credentials")).await.expect("grant");
    assert_eq!(t.expires_in, 3600);
    f.clock.advance(3599);
    assert!(f.active(&t.access_token).await);
    f.clock.advance(1);
    assert!(!f.active(&t.access_token).await);
}

#[tokio::test]
async fn client_authentication_mixtures_and_failures_are_refused() {
    let f = fixture(false).await;
    let mut both = f.request("client_credentials");
    both.client.body_secret = Some(Secret::new(SECRET));
    assert_eq!(
        f.run(both).await.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidRequest)
    );
    let mut wrong = f.request("client_credentials");
    wrong.client.basic = Some(("client-1".into(), Secret::new("wrong")));
    assert_eq!(
        f.run(wrong.clone()).await.map_err(|e| e.code).err(),
        Some(ErrorCode::InvalidClient)
    );
    for _ in 0..crate::ratelimit::PER_CLIENT {
        let _ = f.run(wrong.clone()).await;
    }
    let limited = f
        .run(f.request("client_credentials"))
        .await
        .expect_err("limited");
    assert!(
        limited.retry_after.is_some(),
        "even the right secret waits out the window"
    );
    f.clock.advance(crate::ratelimit::WINDOW);
    let ok = f
        .run(f.request("client_credentials"))
        .await
        .expect("after the window");
    assert!(ok.refresh_token.is_none());
}

#[tokio::test]
async fn a_secret_reset_ends_client_tokens_issued_in_the_same_second() {
    let f = fixture(false).await;
    let t = f.run(f.request("client_credentials")).await.expect("grant");
    assert!(f.active(&t.access_token).await);
    f.ctx
        .store
        .reset_client_secret(f.app.id, "v1.new-secret", f.clock.now())
        .await
        .expect("reset");
    assert!(
        !f.active(&t.access_token).await,
        "same second, still revoked"
    );
}

#[tokio::test]
async fn a_clients_own_tokens_end_with_its_tenant() {
    let f = fixture(false).await;
    let t = f.run(f.request("client_credentials")).await.expect("grant");
    let tenant = f
        .ctx
        .store
        .tenant(SYSTEM_TENANT_ID)
        .await
        .expect("read")
        .expect("tenant");
    let off = crate::model::identity::TenantChanges {
        name: tenant.name,
        description: tenant.description,
        active: false,
        allowed_scopes: tenant.allowed_scopes,
        hosts: vec![],
        now: f.clock.now(),
    };
    f.ctx
        .store
        .update_tenant(SYSTEM_TENANT_ID, off)
        .await
        .expect("deactivate");
    assert!(!f.active(&t.access_token).await);
}
