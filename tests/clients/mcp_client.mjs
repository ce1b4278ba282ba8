// A real MCP client against an MCP server that Portcullis protects: the official MCP
// SDK for TypeScript (`@modelcontextprotocol/sdk`), its Streamable HTTP transport and its
// own OAuth implementation (`auth()`), with an in-memory OAuthClientProvider as its
// documentation shows. Driven by crates/server/tests/api/mcp.rs; installed by
// scripts/client-libs.
//
// The SDK does everything the MCP authorization spec asks of a client: the server's 401
// names its RFC 9728 metadata, which names Portcullis; it reads Portcullis's RFC 8414
// metadata; it registers — by Client ID Metadata Document when Portcullis says
// `client_id_metadata_document_supported` and the provider has a document URL
// (MCP_MODE=metadata_document: this script serves the document over HTTPS on loopback),
// else by RFC 7591 dynamic registration (MCP_MODE=dynamic_registration); it sends the
// authorization request with PKCE S256 and `resource` = the MCP server's URL. The
// browser step walks Portcullis's real login and consent pages (browser.mjs); the code
// goes back to the SDK (`finishAuth`), which exchanges it; then the MCP session calls
// the server's `whoami` tool. Finally a token for another resource (MCP_FOREIGN_TOKEN)
// is sent to the MCP server, which must refuse it.
//
// Inputs (environment):
//   MCP_SERVER_URL        the MCP server, https://127.0.0.1:<port>/mcp
//   MCP_ISSUER            Portcullis's issuer (checked against the response's `iss`)
//   MCP_MODE              metadata_document | dynamic_registration
//   MCP_REDIRECT_URI      the client's loopback redirect URI (never listened on: the
//                         walk stops at the redirect)
//   MCP_USERNAME, MCP_PASSWORD   the user who signs in
//   MCP_FOREIGN_TOKEN     an access token Portcullis issued for another resource
//   MCP_TLS_CERT, MCP_TLS_KEY    PEM certificate and key to serve the metadata document
// Certificates are trusted through NODE_EXTRA_CA_CERTS. Prints one JSON line: the
// result, or {"ok":false,…}; exits 1 on any failure with the step that failed on stderr.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { createServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Browser, check, fail, walk } from './browser.mjs';

let step = 'reading the environment';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') fail(`${name} is not set`);
  return value;
}

/// The SDK's OAuthClientProvider, kept in memory for one session as its docs show.
class MemoryProvider {
  constructor(redirectUri, metadata, clientMetadataUrl) {
    this.redirectUri = redirectUri;
    this.metadata = metadata;
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
    this.info = undefined;
    this.savedTokens = undefined;
    this.verifier = undefined;
    this.authorizationUrl = undefined;
    this.lastState = undefined;
    this.registrations = [];
  }
  get redirectUrl() { return this.redirectUri; }
  get clientMetadata() { return this.metadata; }
  state() {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) {
    this.info = info;
    this.registrations.push(info);
  }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
}

/// Serves `document(url)` at https://127.0.0.1:<port>/client.json; resolves to the URL
/// and a counter of the fetches.
function serveMetadataDocument(tls, document) {
  const counter = { fetches: 0 };
  return new Promise((resolve) => {
    const server = createServer(tls, (req, res) => {
      if (req.method === 'GET' && req.url === '/client.json') {
        counter.fetches += 1;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
        res.end(JSON.stringify(document(counter.url)));
      } else {
        res.writeHead(404).end();
      }
    });
    server.listen(0, '127.0.0.1', () => {
      counter.url = `https://127.0.0.1:${server.address().port}/client.json`;
      server.unref();
      resolve(counter);
    });
  });
}

/// An MCP session over Streamable HTTP with `provider` for authorization.
function session(serverUrl, provider) {
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  const client = new Client({ name: 'portcullis-test-agent', version: '1.0.0' });
  return { transport, client };
}

/// An MCP `initialize` sent by hand with `token`: the HTTP status and challenge.
async function initializeWith(serverUrl, token) {
  const res = await fetch(serverUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'by-hand', version: '1' } },
    }),
  });
  await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

async function main() {
  const inputs = {
    serverUrl: env('MCP_SERVER_URL'),
    issuer: env('MCP_ISSUER'),
    mode: env('MCP_MODE'),
    redirectUri: env('MCP_REDIRECT_URI'),
    username: env('MCP_USERNAME'),
    password: env('MCP_PASSWORD'),
    foreignToken: env('MCP_FOREIGN_TOKEN'),
  };
  check(['metadata_document', 'dynamic_registration'].includes(inputs.mode), `unknown MCP_MODE ${inputs.mode}`);
  const pkg = JSON.parse(readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url)));
  const result = { ok: true, library: '@modelcontextprotocol/sdk', version: pkg.version, mode: inputs.mode };

  const metadata = {
    client_name: 'Portcullis test agent',
    redirect_uris: [inputs.redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  let document;
  if (inputs.mode === 'metadata_document') {
    step = 'serving the client metadata document';
    const tls = { cert: readFileSync(env('MCP_TLS_CERT')), key: readFileSync(env('MCP_TLS_KEY')) };
    document = await serveMetadataDocument(tls, (url) => ({ client_id: url, client_uri: 'https://agent.example', ...metadata }));
  }
  const provider = new MemoryProvider(inputs.redirectUri, metadata, document?.url);

  step = 'connecting without a token (discovery, registration, authorization request)';
  const first = session(inputs.serverUrl, provider);
  try {
    await first.client.connect(first.transport);
    fail('the MCP server accepted a session without a token');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  check(provider.authorizationUrl, 'the SDK did not start an authorization');
  check(provider.info?.client_id, 'the SDK has no client id');
  const authUrl = new URL(provider.authorizationUrl);
  const q = authUrl.searchParams;
  result.clientId = provider.info.client_id;
  result.registration = provider.registrations[0];
  result.authorizationRequest = {
    endpoint: `${authUrl.origin}${authUrl.pathname}`,
    client_id: q.get('client_id'),
    resource: q.get('resource'),
    code_challenge_method: q.get('code_challenge_method'),
    scope: q.get('scope'),
  };
  if (document) {
    check(result.clientId === document.url, `the client id ${result.clientId} is not the document's URL ${document.url}`);
  }

  step = 'login and consent pages';
  const browser = new Browser();
  const { arrived, pages, consentText } = await walk(browser, authUrl, inputs.redirectUri, inputs);
  check(arrived instanceof URL, 'the authorization response was not a redirect');
  const error = arrived.searchParams.get('error');
  check(!error, `the authorization failed: ${error}: ${arrived.searchParams.get('error_description')}`);
  check(arrived.searchParams.get('state') === provider.lastState, 'the state came back changed');
  check(arrived.searchParams.get('iss') === inputs.issuer,
    `the response's iss ${arrived.searchParams.get('iss')} is not ${inputs.issuer} (RFC 9207)`);
  const code = arrived.searchParams.get('code');
  check(code, 'no code in the authorization response');
  result.pages = pages;
  result.consentText = consentText;

  step = 'finishAuth (the code exchange)';
  await first.transport.finishAuth(code);
  check(provider.savedTokens?.access_token, 'the SDK saved no access token');
  result.tokenType = provider.savedTokens.token_type;
  result.refreshToken = Boolean(provider.savedTokens.refresh_token);

  step = 'an authorized MCP session: listTools and callTool';
  const second = session(inputs.serverUrl, provider);
  await second.client.connect(second.transport);
  const tools = await second.client.listTools();
  result.tools = tools.tools.map((t) => t.name);
  const called = await second.client.callTool({ name: 'whoami', arguments: {} });
  check(!called.isError, `whoami failed: ${JSON.stringify(called)}`);
  result.whoami = JSON.parse(called.content[0].text);
  await second.client.close();

  step = 'the same request by hand, with the SDK\'s token and with a token for another resource';
  result.ownToken = await initializeWith(inputs.serverUrl, provider.savedTokens.access_token);
  result.foreignToken = await initializeWith(inputs.serverUrl, inputs.foreignToken);
  if (document) result.documentFetches = document.fetches;
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  const message = `${e.message}${e.cause?.message ? ` (${e.cause.message})` : ''}`;
  console.log(JSON.stringify({ ok: false, library: '@modelcontextprotocol/sdk', step, error: message }));
  console.error(`the MCP client failed at ${step}: ${message}`);
  process.exit(1);
});
