//! The client credentials grant (RFC 6749 §4.4), run by the `oauth2` crate; the token
//! verified as a resource server would.

use crate::helpers::{backends, spawn_app, Backend};
use crate::support::oauth::{
    alice, alices_client, alices_job, oauth_client, resource_server_verify, rfc_error, userinfo,
    ODATA,
};
use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
use oauth2::{AuthType, Scope, TokenResponse};

async fn the_oauth2_crate_runs_the_client_credentials_grant(b: Backend) {
    let app = spawn_app(b).await;
    alice(&app).await;
    let k = alices_job(&app, "Nightly job").await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let t = oauth_client(&app.base, &k, auth)
            .exchange_client_credentials()
            .add_scope(Scope::new(ODATA.into()))
            .request_async(&app.http)
            .await
            .expect("client credentials grant");
        assert_eq!(*t.token_type(), BasicTokenType::Bearer);
        assert!(
            t.refresh_token().is_none(),
            "RFC 6749 §4.4.3: no refresh token"
        );
        let claims = resource_server_verify(&app.http, &app.base, t.access_token().secret()).await;
        assert_eq!(
            claims["sub"],
            k.client_id.as_str(),
            "the client acts for itself"
        );
        assert_eq!(claims["client_id"], k.client_id.as_str());
        assert_eq!(claims["scope"], ODATA);
        assert_eq!(claims["tenant"], 1);
        assert!(claims.get("username").is_none(), "no user: {claims}");
        let me = userinfo(&app, t.access_token().secret()).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.json()["sub"], k.client_id.as_str());
    }
    // Without the grant in its registration a client may not use it.
    let c = alices_client(&app).await;
    let e = oauth_client(&app.base, &c, AuthType::BasicAuth)
        .exchange_client_credentials()
        .request_async(&app.http)
        .await;
    assert_eq!(rfc_error(e), BasicErrorResponseType::UnauthorizedClient);
}

backends!(the_oauth2_crate_runs_the_client_credentials_grant,);
