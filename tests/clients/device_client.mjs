// The device authorization grant (RFC 8628) with a real client library: panva's
// `openid-client` (v6) with its defaults only, as a device would use it. Driven by
// crates/server/tests/api/device.rs (`openid_client_runs_the_device_flow`); installed
// by scripts/client-libs.
//
// Twice, as a confidential client (client_secret_post):
//   discovery() → initiateDeviceAuthorization (scope `openid offline_access`) → the
//   user step on the server's real pages, walked with browser.mjs's Browser and form
//   reader: verification_uri_complete (the field is filled in with the user code) →
//   Continue → login page → consent page → Allow (first run) or Deny (second run) →
//   the "return to your device" page → pollDeviceAuthorizationGrant: tokens with an ID
//   token (first run), or openid-client's error `access_denied` (second run).
// The user step comes before the first poll, so the first poll decides: the server's
// clock is the test's (frozen), and openid-client waits `interval` real seconds
// before each poll, so the test server is configured with an interval of 1 s.
//
// Inputs (environment): OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_USERNAME, OIDC_PASSWORD. The issuer's certificate is trusted through
// NODE_EXTRA_CA_CERTS. Prints one JSON line: the result, or {"ok":false,…}; exits 1 on
// any failure with the step that failed on stderr.

import * as client from 'openid-client';
import { readFileSync } from 'node:fs';
import { Browser, check, describePage, exitOnClientError, fail, parseForms } from './browser.mjs';

let step = 'reading the environment';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') fail(`${name} is not set`);
  return value;
}

/// Follows one 303 and returns the page it leads to.
async function follow(browser, res, from) {
  if (res.status !== 303) fail(`${from} answered ${res.status}, not 303: ${describePage(await res.text())}`);
  await res.body?.cancel();
  return browser.request(new URL(res.headers.get('location'), from).href);
}

/// Submits the form of `html` posting to `action` with `extra` fields; returns the answer.
async function submit(browser, html, base, action, extra) {
  const form = parseForms(html).find((f) => f.action === action);
  check(form, `no form posting to ${action} on: ${describePage(html)}`);
  const fields = [...form.fields.filter(([k]) => !extra.some(([e]) => e === k)), ...extra];
  return browser.request(new URL(action, base).href, { method: 'POST', fields });
}

/// The user's part: the verification page, sign-in and the decision. Returns what the
/// last page says.
async function userStep(inputs, auth, decision) {
  const browser = new Browser();
  step = `${decision}: verification page`;
  const complete = auth.verification_uri_complete;
  check(complete, 'no verification_uri_complete');
  let res = await browser.request(complete);
  let html = await res.text();
  const entry = parseForms(html).find((f) => f.action === '/oauth2/device');
  check(entry, `the verification page has no code form: ${describePage(html)}`);
  const prefilled = new Map(entry.fields).get('user_code');
  check(prefilled === auth.user_code, `the field holds ${prefilled}, not ${auth.user_code}`);
  res = await submit(browser, html, complete, '/oauth2/device', []);
  step = `${decision}: login page`;
  res = await follow(browser, res, complete);
  html = await res.text();
  check(parseForms(html).some((f) => f.hasPassword), `not the login page: ${describePage(html)}`);
  res = await submit(browser, html, complete, '/oauth2/login',
    [['username', inputs.username], ['password', inputs.password]]);
  step = `${decision}: consent page`;
  res = await follow(browser, res, complete);
  html = await res.text();
  check(/wants access/.test(html), `not the consent page: ${describePage(html)}`);
  res = await submit(browser, html, complete, '/oauth2/consent', [['decision', decision]]);
  html = await res.text();
  check(res.status === 200, `the decision answered ${res.status}: ${describePage(html)}`);
  return describePage(html);
}

async function main() {
  const inputs = {
    issuer: env('OIDC_ISSUER'),
    clientId: env('OIDC_CLIENT_ID'),
    clientSecret: env('OIDC_CLIENT_SECRET'),
    username: env('OIDC_USERNAME'),
    password: env('OIDC_PASSWORD'),
  };
  const pkg = JSON.parse(readFileSync(new URL('./node_modules/openid-client/package.json', import.meta.url)));
  const result = { ok: true, library: 'openid-client', version: pkg.version };

  step = 'discovery';
  const config = await client.discovery(new URL(inputs.issuer), inputs.clientId, inputs.clientSecret);

  step = 'allow: initiateDeviceAuthorization';
  const auth = await client.initiateDeviceAuthorization(config, { scope: 'openid offline_access' });
  const allowed = await userStep(inputs, auth, 'allow');
  step = 'allow: pollDeviceAuthorizationGrant';
  const tokens = await client.pollDeviceAuthorizationGrant(config, auth);
  const claims = tokens.claims();
  check(claims, 'no ID token');
  check(typeof tokens.refresh_token === 'string', 'no refresh token for offline_access');
  result.allow = {
    userCode: auth.user_code,
    interval: auth.interval,
    expiresIn: auth.expires_in,
    page: allowed,
    tokenType: tokens.token_type,
    scope: tokens.scope,
    sub: claims.sub,
    authTime: claims.auth_time,
  };

  step = 'deny: initiateDeviceAuthorization';
  const denied = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const page = await userStep(inputs, denied, 'deny');
  step = 'deny: pollDeviceAuthorizationGrant';
  let error = null;
  try {
    await client.pollDeviceAuthorizationGrant(config, denied);
  } catch (e) {
    error = e.error ?? e.code ?? e.message;
  }
  check(error !== null, 'a denied request gave tokens');
  result.deny = { page, error };
  console.log(JSON.stringify(result));
}

main().catch((e) => exitOnClientError(e, step));
