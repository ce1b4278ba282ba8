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

const SCOPE = 'openid profile email offline_access';
/// Redirects and pages one walk may pass through before giving up.
const MAX_STEPS = 12;

let step = 'reading the environment';

class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') fail(`${name} is not set`);
  return value;
}

// ---- A small HTML reader: the forms of a page, their fields and submit buttons. ----

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower];
  });
}

/// The attributes of a start tag's attribute text, names lower-cased, values decoded.
function attributes(text) {
  const out = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of text.matchAll(re)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function textOf(html) {
  return decodeEntities(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

const FORM_RE = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
const CONTROL_RE = /<(input|button|textarea)\b([^>]*)>(?:([\s\S]*?)<\/\1\s*>)?/gi;

/// Adds the controls of `html` to `form`; with `owner`, only those whose `form`
/// attribute names that form (controls placed outside it).
function readControls(form, html, owner) {
  for (const c of html.matchAll(CONTROL_RE)) {
    const tag = c[1].toLowerCase();
    const a = attributes(c[2]);
    if (owner !== undefined && a.form !== owner) continue;
    const type = (a.type ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
    if (tag === 'button' || type === 'submit') {
      if (type === 'submit') form.buttons.push({ name: a.name, value: a.value ?? '', label: textOf(c[3] ?? '') });
      continue;
    }
    if (type === 'password') form.hasPassword = true;
    if (a.name === undefined || ['reset', 'image', 'file'].includes(type)) continue;
    if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
    form.fields.push([a.name, tag === 'textarea' ? decodeEntities(c[3] ?? '') : a.value ?? '']);
  }
}

/// Every form: its action and method, the fields a browser would send (named inputs,
/// checked boxes, textareas; not the buttons), its submit buttons (also those outside
/// it that name it in their `form` attribute), whether it has a password field.
function parseForms(html) {
  const forms = [];
  for (const f of html.matchAll(FORM_RE)) {
    const a = attributes(f[1]);
    const form = { id: a.id, action: a.action ?? '', method: (a.method ?? 'get').toLowerCase(), fields: [], buttons: [], hasPassword: false };
    readControls(form, f[2]);
    forms.push(form);
  }
  const outside = html.replace(FORM_RE, '');
  for (const form of forms.filter((f) => f.id)) readControls(form, outside, form.id);
  return forms;
}

/// What a page says, for error messages: its title, heading and error text.
function describePage(html) {
  const pick = (re) => textOf(html.match(re)?.[1] ?? '');
  const parts = [pick(/<h1\b[^>]*>([\s\S]*?)<\/h1>/i), pick(/<p class="error"[^>]*>([\s\S]*?)<\/p>/i)];
  const said = parts.filter(Boolean).join(' — ');
  return said || pick(/<title\b[^>]*>([\s\S]*?)<\/title>/i) || textOf(html).slice(0, 300);
}

// ---- A browser: fetch with manual redirects and a cookie jar for the one server. ----

class Browser {
  constructor() {
    // name → value; the walk talks to one origin, so domains and paths are not kept.
    this.cookies = new Map();
  }

  async request(url, { method = 'GET', fields } = {}) {
    const headers = { accept: 'text/html' };
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const init = { method, headers, redirect: 'manual' };
    if (fields) init.body = new URLSearchParams(fields);
    const res = await fetch(url, init);
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a))
        || attrs.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1]) <= Date.now());
      if (!value || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

/// Whether `url` is `target` (the same origin and path; the query may differ).
function arrivedAt(url, target) {
  const u = new URL(url);
  const t = new URL(target);
  return u.origin === t.origin && u.pathname === t.pathname;
}

const AFFIRMATIVE = /allow|yes|confirm|log ?out|sign ?out|continue/i;
const NEGATIVE = /deny|cancel|\bno\b|stay|someone else/i;

/// On a page that is neither login nor consent (a sign-out confirmation, an
/// auto-submitting form_post page): the one form with an affirmative submit button and
/// that button, or the page's only form and its only button (or none); else undefined.
function affirmativeChoice(forms) {
  const say = (b) => `${b.name ?? ''} ${b.value} ${b.label}`;
  const yes = forms.flatMap((f) =>
    f.buttons.filter((b) => AFFIRMATIVE.test(say(b)) && !NEGATIVE.test(say(b))).map((b) => [f, b]));
  if (yes.length === 1) return yes[0];
  if (yes.length === 0 && forms.length === 1 && forms[0].buttons.length <= 1) {
    return [forms[0], forms[0].buttons[0] ?? null];
  }
  return undefined;
}

/// Walks from `start` through the server's pages until a redirect to (or a form posted
/// to) `target`: signs in on a login page (the page's own fields, with `username` and
/// `password` filled in), allows on a consent page, presses the affirmative button of
/// any other single-purpose form. Returns what arrives at `target` (a URL, or a Request
/// for a form post) and the kinds of pages passed. Without `credentials`, a login page
/// ends the walk: `{ arrived: null, pages: [..., 'login'] }`.
async function walk(browser, start, target, credentials) {
  let url = String(start);
  let request = { method: 'GET' };
  const pages = [];
  for (let i = 0; i < MAX_STEPS; i++) {
    const res = await browser.request(url, request);
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      check(location, `${url} answered ${res.status} without a Location`);
      const next = new URL(location, url).href;
      if (arrivedAt(next, target)) return { arrived: new URL(next), pages };
      url = next;
      request = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    const forms = parseForms(html);
    const login = forms.find((f) => f.hasPassword);
    const consent = forms.find((f) => f.buttons.some((b) => b.name === 'decision' && b.value === 'allow'));
    let form;
    let fields;
    if (login) {
      if (!credentials) return { arrived: null, pages: [...pages, 'login'] };
      check(!pages.includes('login'), `the login page came back after signing in: ${describePage(html)}`);
      pages.push('login');
      form = login;
      fields = login.fields.filter(([k]) => k !== 'username' && k !== 'password');
      fields.push(['username', credentials.username], ['password', credentials.password]);
    } else if (consent) {
      check(!pages.includes('consent'), `the consent page came back after allowing: ${describePage(html)}`);
      pages.push('consent');
      form = consent;
      fields = [...consent.fields, ['decision', 'allow']];
    } else {
      const choice = affirmativeChoice(forms);
      check(choice, `${url} answered ${res.status} with a page the walk cannot go on from: ${describePage(html)}`);
      const [only, button] = choice;
      pages.push('form');
      form = only;
      fields = [...only.fields];
      if (button?.name) fields.push([button.name, button.value]);
    }
    const action = new URL(form.action || url, url).href;
    if (arrivedAt(action, target)) {
      // response_mode=form_post: the authorization response is the form itself.
      const body = new URLSearchParams(fields);
      return { arrived: new Request(action, { method: 'POST', body }), pages };
    }
    url = action;
    request = form.method === 'post' ? { method: 'POST', fields } : { method: 'GET' };
    if (form.method !== 'post') {
      const u = new URL(action);
      u.search = new URLSearchParams(fields).toString();
      url = u.href;
    }
  }
  fail(`no arrival at ${target} within ${MAX_STEPS} pages and redirects from ${start}`);
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

main().catch((e) => {
  // openid-client's errors carry the server's OAuth error and an error code.
  const http = e.cause instanceof Response ? `HTTP ${e.cause.status} from ${e.cause.url}` : undefined;
  const detail = [e.code, http, e.error, e.error_description, e.cause?.code, e.cause?.message]
    .filter((x) => typeof x === 'string' && x.length)
    .join('; ');
  const message = `${e.message}${detail ? ` (${detail})` : ''}`;
  console.log(JSON.stringify({ ok: false, library: 'openid-client', step, error: message }));
  console.error(`openid-client failed at ${step}: ${message}`);
  process.exit(1);
});
