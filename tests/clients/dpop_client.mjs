// DPoP (RFC 9449) against Portcullis with a real client library: panva's
// `openid-client` (v6) and its DPoP support (`randomDPoPKeyPair`, `getDPoPHandle`),
// which signs a proof for every request, retries once on `use_dpop_nonce` with the
// server's `DPoP-Nonce`, and sends bound tokens with `Authorization: DPoP`. Driven by
// crates/server/tests/api/dpop_clients.rs (with server nonces on, so every first
// request makes a nonce round); installed by scripts/client-libs.
//
// 1. A confidential client: clientCredentialsGrant with DPoP → token_type dpop →
//    fetchProtectedResource on UserInfo with DPoP.
// 2. A public client: the code flow (PKCE) through the server's pages (browser.mjs),
//    authorizationCodeGrant with DPoP → fetchUserInfo with DPoP → refreshTokenGrant
//    with the same key (a public client's refresh token is bound to it) → a refresh
//    with ANOTHER key must be refused (invalid_grant).
//
// Inputs (environment): DPOP_ISSUER, DPOP_CLIENT_ID, DPOP_CLIENT_SECRET,
// DPOP_PUBLIC_CLIENT_ID, DPOP_REDIRECT_URI, DPOP_USERNAME, DPOP_PASSWORD. The issuer's
// certificate is trusted through NODE_EXTRA_CA_CERTS. Prints one JSON line: the
// result, or {"ok":false,…}; exits 1 on any failure.

import * as client from 'openid-client';
import { Browser, check, fail, walk } from './browser.mjs';

let step = 'reading the environment';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') fail(`${name} is not set`);
  return value;
}

/// The `cnf.jkt` of a JWT access token (read, not verified: the server's tests verify).
function cnfOf(jwt) {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  return payload.cnf?.jkt ?? null;
}

async function confidential(inputs) {
  step = 'confidential: discovery';
  const config = await client.discovery(new URL(inputs.issuer), inputs.clientId, inputs.clientSecret);
  const algs = config.serverMetadata().dpop_signing_alg_values_supported;
  check(Array.isArray(algs) && algs.includes('ES256'), `metadata lists no ES256 for DPoP: ${algs}`);
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
  step = 'confidential: clientCredentialsGrant';
  const tokens = await client.clientCredentialsGrant(config, { scope: 'api.access.odata' }, { DPoP });
  check(tokens.token_type === 'dpop', `token_type is ${tokens.token_type}`);
  step = 'confidential: fetchProtectedResource (UserInfo)';
  const res = await client.fetchProtectedResource(
    config,
    tokens.access_token,
    new URL(config.serverMetadata().userinfo_endpoint),
    'GET',
    undefined,
    undefined,
    { DPoP },
  );
  const body = await res.text();
  check(res.status === 200, `UserInfo answered ${res.status}: ${body}`);
  const me = JSON.parse(body);
  return { tokenType: tokens.token_type, jkt: cnfOf(tokens.access_token), userinfo: me };
}

async function publicClient(inputs) {
  step = 'public: discovery';
  const config = await client.discovery(new URL(inputs.issuer), inputs.publicClientId, undefined, client.None());
  const keys = await client.randomDPoPKeyPair();
  const DPoP = client.getDPoPHandle(config, keys);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: inputs.redirectUri,
    scope: 'openid offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  step = 'public: the pages';
  const { arrived, pages } = await walk(new Browser(), url, inputs.redirectUri, inputs);
  check(arrived, 'the walk did not arrive at the redirect URI');
  step = 'public: authorizationCodeGrant';
  const tokens = await client.authorizationCodeGrant(
    config,
    arrived,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
    undefined,
    { DPoP },
  );
  check(tokens.token_type === 'dpop', `token_type is ${tokens.token_type}`);
  check(tokens.refresh_token, 'no refresh token');
  const sub = tokens.claims().sub;
  step = 'public: fetchUserInfo';
  const me = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP });
  step = 'public: refreshTokenGrant with the same key';
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  check(refreshed.token_type === 'dpop', `token_type is ${refreshed.token_type}`);
  step = 'public: refreshTokenGrant with another key';
  const other = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
  let refusal = null;
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP: other });
  } catch (e) {
    refusal = e.error ?? e.code ?? String(e);
  }
  check(refusal === 'invalid_grant', `a refresh with another key was not invalid_grant: ${refusal}`);
  return {
    pages,
    jkt: cnfOf(tokens.access_token),
    refreshedJkt: cnfOf(refreshed.access_token),
    userinfo: me,
    otherKeyRefusal: refusal,
  };
}

try {
  const inputs = {
    issuer: env('DPOP_ISSUER'),
    clientId: env('DPOP_CLIENT_ID'),
    clientSecret: env('DPOP_CLIENT_SECRET'),
    publicClientId: env('DPOP_PUBLIC_CLIENT_ID'),
    redirectUri: env('DPOP_REDIRECT_URI'),
    username: env('DPOP_USERNAME'),
    password: env('DPOP_PASSWORD'),
  };
  const result = { ok: true };
  result.confidential = await confidential(inputs);
  result.public = await publicClient(inputs);
  console.log(JSON.stringify(result));
} catch (e) {
  console.log(JSON.stringify({ ok: false, step, error: String(e?.message ?? e), cause: String(e?.cause ?? '') }));
  console.error(`dpop_client.mjs failed at ${step}:`, e);
  process.exit(1);
}
