// The browser the client-library tests play: fetch with manual redirects and a cookie
// jar, reading the server's pages (login, consent, sign-out confirmation, form_post)
// and submitting their own forms as a person would. Shared by openid_client.mjs and
// mcp_client.mjs; no library of its own.

/// Redirects and pages one walk may pass through before giving up.
const MAX_STEPS = 12;

export class Failure extends Error {}

export function fail(message) {
  throw new Failure(message);
}

export function check(condition, message) {
  if (!condition) fail(message);
}

// Reports an openid-client error (it carries the server's OAuth error, an error code
// and the response) as the script's one JSON line, then exits 1.
export function exitOnClientError(e, step) {
  const http = e.cause instanceof Response ? `HTTP ${e.cause.status} from ${e.cause.url}` : undefined;
  const detail = [e.code, http, e.error, e.error_description, e.cause?.code, e.cause?.message]
    .filter((x) => typeof x === 'string' && x.length)
    .join('; ');
  const message = `${e.message}${detail ? ` (${detail})` : ''}`;
  console.log(JSON.stringify({ ok: false, library: 'openid-client', step, error: message }));
  console.error(`openid-client failed at ${step}: ${message}`);
  process.exit(1);
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

export function textOf(html) {
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
export function parseForms(html) {
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
export function describePage(html) {
  const pick = (re) => textOf(html.match(re)?.[1] ?? '');
  const parts = [pick(/<h1\b[^>]*>([\s\S]*?)<\/h1>/i), pick(/<p class="error"[^>]*>([\s\S]*?)<\/p>/i)];
  const said = parts.filter(Boolean).join(' — ');
  return said || pick(/<title\b[^>]*>([\s\S]*?)<\/title>/i) || textOf(html).slice(0, 300);
}

// ---- A browser: fetch with manual redirects and a cookie jar for the one server. ----

export class Browser {
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
/// for a form post), the kinds of pages passed and the consent page's text. Without
/// `credentials`, a login page ends the walk: `{ arrived: null, pages: [..., 'login'] }`.
export async function walk(browser, start, target, credentials) {
  let url = String(start);
  let request = { method: 'GET' };
  const pages = [];
  // What the consent page said, for tests of what it shows.
  let consentText = null;
  for (let i = 0; i < MAX_STEPS; i++) {
    const res = await browser.request(url, request);
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      check(location, `${url} answered ${res.status} without a Location`);
      const next = new URL(location, url).href;
      if (arrivedAt(next, target)) return { arrived: new URL(next), pages, consentText };
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
      if (!credentials) return { arrived: null, pages: [...pages, 'login'], consentText };
      check(!pages.includes('login'), `the login page came back after signing in: ${describePage(html)}`);
      pages.push('login');
      form = login;
      fields = login.fields.filter(([k]) => k !== 'username' && k !== 'password');
      fields.push(['username', credentials.username], ['password', credentials.password]);
    } else if (consent) {
      check(!pages.includes('consent'), `the consent page came back after allowing: ${describePage(html)}`);
      pages.push('consent');
      consentText = textOf(html);
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
      return { arrived: new Request(action, { method: 'POST', body }), pages, consentText };
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
