// A real OpenID Connect relying party against Portcullis: panva's `openid-client` (v6),
// with its defaults only. Driven by crates/server/tests/api/oidc_clients.rs; installed
// by scripts/client-libs. See README "Tests".
//
// As a confidential client (client_secret_post, openid-client's default):
//   discovery() from the issuer → authorization URL (PKCE S256, state, nonce, scope
//   `openid profile email offline_access`) → the server's login and consent pages,
//   walked with fetch (manual redirects, own cookie jar, the pages' actual forms) →
//   authorizationCodeGrant (state, nonce, PKCE, ID token required) → the ID token's
//   claims; its signature against the JWKS and its at_hash (with `jose`) → UserInfo
//   (same subject, expected claims) → refreshTokenGrant (a new ID token, same sub and
//   auth_time) → RP-initiated logout (buildEndSessionUrl; ends at the post-logout URI
//   with our state) → a new authorization request shows the login page again.
// Then as a public client (no secret, `None()` client authentication, PKCE): the code
// flow again, ID token and UserInfo checked the same way.
//
// Inputs (environment):
//   OIDC_ISSUER                     the issuer, e.g. https://127.0.0.1:8443
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET   the confidential client
//   OIDC_PUBLIC_CLIENT_ID           the public client
//   OIDC_REDIRECT_URI               registered for both clients
//   OIDC_POST_LOGOUT_REDIRECT_URI   registered for the confidential client
//   OIDC_USERNAME, OIDC_PASSWORD    the user who signs in
//   OIDC_EXPECTED_CLAIMS            JSON object: claims the ID token and UserInfo must carry
// The issuer's certificate is trusted through NODE_EXTRA_CA_CERTS (environment, not a
// library option). Prints one JSON line: the result, or {"ok":false,…}; exits 1 on
// any failure with the step that failed on stderr.

import * as client from 'openid-client';
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Browser, check, exitOnClientError, fail, walk } from './browser.mjs';

const SCOPE = 'openid profile email offline_access';
let step = 'reading the environment';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') fail(`${name} is not set`);
  return value;
}

// ---- ID tokens: what openid-client leaves to the relying party. ----

/// openid-client validates the claims of an ID token received from the token endpoint
/// (iss, aud, exp, iat, nonce, azp, auth_time) but, as OIDC Core §3.1.3.7 allows over
/// TLS, neither its signature nor at_hash: both are checked here with `jose`.
async function verifyIdToken(config, idToken, accessToken) {
  const meta = config.serverMetadata();
  check(meta.jwks_uri, 'discovery names no jwks_uri');
  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, {
    issuer: meta.issuer,
    audience: config.clientMetadata().client_id,
  });
  check(typeof payload.at_hash === 'string', 'the ID token has no at_hash');
  const bits = protectedHeader.alg === 'EdDSA' ? '512' : protectedHeader.alg.slice(-3);
  const digest = createHash(`sha${bits}`).update(accessToken, 'ascii').digest();
  const expected = digest.subarray(0, digest.length / 2).toString('base64url');
  check(payload.at_hash === expected, `at_hash ${payload.at_hash} is not the access token's (${expected})`);
  return protectedHeader.alg;
}

function checkExpected(what, claims, expected) {
  for (const [k, v] of Object.entries(expected)) {
    check(JSON.stringify(claims[k]) === JSON.stringify(v),
      `${what}: ${k} is ${JSON.stringify(claims[k])}, expected ${JSON.stringify(v)}`);
  }
}

/// The authorization code flow through the pages, the code exchange and the checks of
/// the ID token and UserInfo.
async function signIn(config, browser, inputs) {
  step = `${inputs.label}: authorization request`;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: inputs.redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  step = `${inputs.label}: login and consent pages`;
  const { arrived, pages } = await walk(browser, url, inputs.redirectUri, inputs);
  step = `${inputs.label}: authorizationCodeGrant`;
  const tokens = await client.authorizationCodeGrant(config, arrived, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  step = `${inputs.label}: ID token claims`;
  const claims = tokens.claims();
  check(claims, 'no ID token');
  check(typeof claims.sub === 'string' && claims.sub.length > 0, 'no sub');
  check(Number.isInteger(claims.auth_time), 'no auth_time');
  check(claims.auth_time <= claims.iat, 'auth_time after iat');
  check(claims.nonce === nonce, 'the nonce is not ours');
  checkExpected('ID token', claims, inputs.expected);
  step = `${inputs.label}: ID token signature and at_hash`;
  const alg = await verifyIdToken(config, tokens.id_token, tokens.access_token);
  step = `${inputs.label}: fetchUserInfo`;
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  checkExpected('UserInfo', userinfo, inputs.expected);
  return { tokens, claims, result: { pages, idTokenAlg: alg, claims, userinfo } };
}

async function confidential(inputs) {
  step = 'confidential: discovery';
  const config = await client.discovery(new URL(inputs.issuer), inputs.clientId, inputs.clientSecret);
  const browser = new Browser();
  const { tokens, claims, result } = await signIn(config, browser, { ...inputs, label: 'confidential' });

  step = 'confidential: refreshTokenGrant';
  check(tokens.refresh_token, 'no refresh token for offline_access');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const again = refreshed.claims();
  check(again, 'the refresh gave no new ID token');
  check(again.sub === claims.sub, `the refreshed ID token's sub ${again.sub} is not ${claims.sub}`);
  check(again.auth_time === claims.auth_time,
    `the refreshed ID token's auth_time ${again.auth_time} is not ${claims.auth_time}`);
  const refreshAlg = await verifyIdToken(config, refreshed.id_token, refreshed.access_token);
  result.refresh = { sub: again.sub, auth_time: again.auth_time, idTokenAlg: refreshAlg };

  step = 'confidential: end session';
  const logoutState = client.randomState();
  const end = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: inputs.postLogoutRedirectUri,
    state: logoutState,
  });
  const out = await walk(browser, end, inputs.postLogoutRedirectUri, null);
  check(out.arrived, 'the logout showed a login page');
  check(out.arrived instanceof URL, 'the logout ended in a form post, not a redirect');
  check(out.arrived.searchParams.get('state') === logoutState,
    `the post-logout redirect carries state ${out.arrived.searchParams.get('state')}, not ours`);

  step = 'confidential: authorization after logout';
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: inputs.redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
  });
  const after = await walk(browser, url, inputs.redirectUri, null);
  check(!after.arrived, `signed in still: the authorization went on to ${after.arrived?.href ?? after.arrived?.url}`);
  result.logout = { state: logoutState, pages: out.pages, loginPageAgain: true };
  return result;
}

async function publicClient(inputs) {
  step = 'public: discovery';
  const config = await client.discovery(new URL(inputs.issuer), inputs.publicClientId, undefined, client.None());
  const { result } = await signIn(config, new Browser(), { ...inputs, label: 'public' });
  return result;
}

async function main() {
  const inputs = {
    issuer: env('OIDC_ISSUER'),
    clientId: env('OIDC_CLIENT_ID'),
    clientSecret: env('OIDC_CLIENT_SECRET'),
    publicClientId: env('OIDC_PUBLIC_CLIENT_ID'),
    redirectUri: env('OIDC_REDIRECT_URI'),
    postLogoutRedirectUri: env('OIDC_POST_LOGOUT_REDIRECT_URI'),
    username: env('OIDC_USERNAME'),
    password: env('OIDC_PASSWORD'),
    expected: JSON.parse(env('OIDC_EXPECTED_CLAIMS')),
  };
  const pkg = JSON.parse(readFileSync(new URL('./node_modules/openid-client/package.json', import.meta.url)));
  const result = { ok: true, library: 'openid-client', version: pkg.version };
  result.confidential = await confidential(inputs);
  result.public = await publicClient(inputs);
  console.log(JSON.stringify(result));
}

main().catch((e) => exitOnClientError(e, step));
