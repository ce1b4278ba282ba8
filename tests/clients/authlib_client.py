"""A real OpenID Connect relying party against Portcullis: Python's Authlib, with its
defaults only. Driven by crates/server/tests/api/oidc_clients.rs; installed by
scripts/client-libs into tests/clients/.venv. See README "Tests".

As a confidential client (client_secret_basic, Authlib's default): the discovery
document from /.well-known/openid-configuration → Authlib's OAuth2Session (requests)
makes the authorization URL (PKCE S256, state, nonce, scope
`openid profile email offline_access`) → the server's login and consent pages, walked
with requests (no redirects followed, the session's cookie jar, the pages' actual forms
read with html.parser) → fetch_token (state checked, code exchange with the verifier)
→ the ID token decoded with authlib.jose against the JWKS as a CodeIDToken and
validated (iss, aud, exp, iat, nonce, at_hash; at_hash required) → UserInfo through the
session (same subject, expected claims).

Inputs (environment): OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
OIDC_REDIRECT_URI, OIDC_USERNAME, OIDC_PASSWORD, OIDC_EXPECTED_CLAIMS (a JSON object of
claims the ID token and UserInfo must carry). The issuer's certificate is trusted
through REQUESTS_CA_BUNDLE (environment, not a library option). Prints one JSON line:
the result, or {"ok": false, ...}; exits 1 on any failure, with the step on stderr.
"""

import json
import os
import re
import sys
import warnings
from html.parser import HTMLParser
from importlib.metadata import version
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning

# Authlib 1.x says authlib.jose will move to the separate joserfc package by 2.0; the
# OIDC client's CodeIDToken is still built on it. Keep the one-line result clean.
warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)

from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

SCOPE = "openid profile email offline_access"
# Redirects and pages one walk may pass through before giving up.
MAX_STEPS = 12
TIMEOUT = 30


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def env(name):
    value = os.environ.get(name, "")
    check(value != "", f"{name} is not set")
    return value


class Forms(HTMLParser):
    """The forms of a page: action, method, the fields a browser would send (named
    inputs, checked boxes, textareas; not the buttons), the submit buttons (also those
    outside a form that name it in their `form` attribute), whether it has a password
    field; and the page's heading and error text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        # Controls outside any form, by the id their `form` attribute names.
        self._detached = {}
        self._form = None
        self._button = None
        self._textarea = None
        self._capture = None
        self.heading = ""
        self.error = ""

    @staticmethod
    def _new_form(a):
        return {
            "id": a.get("id"),
            "action": a.get("action", ""),
            "method": a.get("method", "get").lower(),
            "fields": [],
            "buttons": [],
            "password": False,
        }

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = self._new_form(a)
            self.forms.append(self._form)
        elif tag == "h1":
            self._capture = "heading"
        elif tag == "p" and "error" in a.get("class", "").split():
            self._capture = "error"
        form = self._form
        if form is None and "form" in a:
            form = self._detached.setdefault(a["form"], self._new_form({}))
        if form is None:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                form["buttons"].append({"name": a.get("name"), "value": a.get("value", ""), "label": ""})
                return
            if kind == "password":
                form["password"] = True
            if "name" not in a or kind in ("reset", "image", "file", "button"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = {"name": a.get("name"), "value": a.get("value", ""), "label": ""}
            form["buttons"].append(self._button)
        elif tag == "textarea" and "name" in a:
            self._textarea = [a["name"], ""]
            form["fields"].append(self._textarea)

    def close(self):
        super().close()
        for form in self.forms:
            extra = self._detached.get(form["id"]) if form["id"] else None
            if extra:
                form["fields"] += extra["fields"]
                form["buttons"] += extra["buttons"]
                form["password"] = form["password"] or extra["password"]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._button = None
        elif tag == "textarea":
            self._textarea = None
        elif tag in ("h1", "p"):
            self._capture = None

    def handle_data(self, data):
        if self._button is not None:
            self._button["label"] += data
        if self._textarea is not None:
            self._textarea[1] += data
        if self._capture == "heading":
            self.heading += data
        elif self._capture == "error":
            self.error += data

    def describe(self, html):
        said = " — ".join(" ".join(s.split()) for s in (self.heading, self.error) if s.strip())
        return said or " ".join(html.split())[:300]


def arrived_at(url, target):
    """Whether `url` is `target` (the same origin and path; the query may differ)."""
    u, t = urlsplit(url), urlsplit(target)
    return (u.scheme, u.netloc, u.path) == (t.scheme, t.netloc, t.path)


AFFIRMATIVE = re.compile(r"allow|yes|confirm|log ?out|sign ?out|continue", re.I)
NEGATIVE = re.compile(r"deny|cancel|\bno\b|stay|someone else", re.I)


def affirmative_choice(forms):
    """On a page that is neither login nor consent (a sign-out confirmation, an
    auto-submitting page): the one form with an affirmative submit button and that
    button, or the page's only form and its only button (or None); else None."""

    def say(b):
        return f"{b['name'] or ''} {b['value']} {b['label']}"

    yes = [(f, b) for f in forms for b in f["buttons"] if AFFIRMATIVE.search(say(b)) and not NEGATIVE.search(say(b))]
    if len(yes) == 1:
        return yes[0]
    if not yes and len(forms) == 1 and len(forms[0]["buttons"]) <= 1:
        return forms[0], (forms[0]["buttons"][0] if forms[0]["buttons"] else None)
    return None


def walk(browser, start, target, username, password):
    """Walks from `start` through the server's pages until a redirect to (or a form
    posted to) `target`: signs in on a login page (the page's own fields, with
    username and password filled in), allows on a consent page, presses the
    affirmative button of any other single-purpose form. Returns the URL that arrives
    at `target` and the kinds of pages passed."""
    url, method, data = start, "GET", None
    pages = []
    for _ in range(MAX_STEPS):
        res = browser.request(method, url, data=data, allow_redirects=False, timeout=TIMEOUT)
        if 300 <= res.status_code < 400:
            location = res.headers.get("location")
            check(location, f"{url} answered {res.status_code} without a Location")
            url, method, data = urljoin(url, location), "GET", None
            if arrived_at(url, target):
                return url, pages
            continue
        page = Forms()
        page.feed(res.text)
        page.close()
        login = next((f for f in page.forms if f["password"]), None)
        consent = next(
            (
                f
                for f in page.forms
                if any(b["name"] == "decision" and b["value"] == "allow" for b in f["buttons"])
            ),
            None,
        )
        if login is not None:
            check("login" not in pages, f"the login page came back after signing in: {page.describe(res.text)}")
            pages.append("login")
            form = login
            fields = [(k, v) for k, v in login["fields"] if k not in ("username", "password")]
            fields += [("username", username), ("password", password)]
        elif consent is not None:
            check("consent" not in pages, f"the consent page came back after allowing: {page.describe(res.text)}")
            pages.append("consent")
            form = consent
            fields = [tuple(f) for f in consent["fields"]] + [("decision", "allow")]
        else:
            choice = affirmative_choice(page.forms)
            check(
                choice is not None,
                f"{url} answered {res.status_code} with a page the walk cannot go on from: "
                f"{page.describe(res.text)}",
            )
            form, button = choice
            pages.append("form")
            fields = [tuple(f) for f in form["fields"]]
            if button and button["name"]:
                fields.append((button["name"], button["value"]))
        action = urljoin(url, form["action"] or url)
        if arrived_at(action, target):
            # response_mode=form_post: the authorization response is the form itself.
            return f"{action}?{urlencode(fields)}", pages
        if form["method"] == "post":
            url, method, data = action, "POST", fields
        else:
            url, method, data = f"{action.split('?')[0]}?{urlencode(fields)}", "GET", None
    raise Failure(f"no arrival at {target} within {MAX_STEPS} pages and redirects from {start}")


def main():
    step = "reading the environment"
    try:
        issuer = env("OIDC_ISSUER")
        client_id = env("OIDC_CLIENT_ID")
        client_secret = env("OIDC_CLIENT_SECRET")
        redirect_uri = env("OIDC_REDIRECT_URI")
        username = env("OIDC_USERNAME")
        password = env("OIDC_PASSWORD")
        expected = json.loads(env("OIDC_EXPECTED_CLAIMS"))

        step = "discovery"
        res = requests.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=TIMEOUT)
        check(res.status_code == 200, f"discovery answered {res.status_code}: {res.text[:300]}")
        meta = res.json()
        check(meta.get("issuer") == issuer, f"discovery's issuer {meta.get('issuer')!r} is not {issuer!r}")

        step = "authorization request"
        session = OAuth2Session(
            client_id,
            client_secret,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        code_verifier = generate_token(48)
        nonce = generate_token(20)
        url, state = session.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
        )

        step = "login and consent pages"
        callback, pages = walk(requests.Session(), url, redirect_uri, username, password)
        answer = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        check(
            "error" not in answer,
            f"the authorization answered {answer.get('error')}: {answer.get('error_description')}",
        )

        step = "fetch_token"
        token = session.fetch_token(
            meta["token_endpoint"], authorization_response=callback, code_verifier=code_verifier
        )
        check("id_token" in token, "no id_token in the token response")

        step = "ID token validation"
        jwks = requests.get(meta["jwks_uri"], timeout=TIMEOUT)
        check(jwks.status_code == 200, f"the JWKS answered {jwks.status_code}")
        claims = jwt.decode(
            token["id_token"],
            JsonWebKey.import_key_set(jwks.json()),
            claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": issuer}},
            claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
        )
        claims.validate()
        check("at_hash" in claims, "the ID token has no at_hash")
        check(isinstance(claims.get("auth_time"), int), "the ID token has no auth_time")
        for k, v in expected.items():
            check(claims.get(k) == v, f"ID token: {k} is {claims.get(k)!r}, expected {v!r}")

        step = "userinfo"
        res = session.get(meta["userinfo_endpoint"], timeout=TIMEOUT)
        check(res.status_code == 200, f"UserInfo answered {res.status_code}: {res.text[:300]}")
        userinfo = res.json()
        check(userinfo.get("sub") == claims["sub"], f"UserInfo's sub {userinfo.get('sub')!r} is not the ID token's")
        for k, v in expected.items():
            check(userinfo.get(k) == v, f"UserInfo: {k} is {userinfo.get(k)!r}, expected {v!r}")

        print(
            json.dumps(
                {
                    "ok": True,
                    "library": "Authlib",
                    "version": version("Authlib"),
                    "pages": pages,
                    "idTokenAlg": claims.header.get("alg"),
                    "claims": dict(claims),
                    "userinfo": userinfo,
                    "refreshToken": "refresh_token" in token,
                }
            )
        )
    except Exception as e:  # every failure becomes the one-line result and exit 1
        message = f"{type(e).__name__}: {e}" if not isinstance(e, Failure) else str(e)
        print(json.dumps({"ok": False, "library": "Authlib", "step": step, "error": message}))
        print(f"Authlib failed at {step}: {message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
