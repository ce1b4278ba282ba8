// A small MCP server that accepts only access tokens Portcullis issued for it: the
// resource server of the MCP end-to-end test (crates/server/tests/api/mcp.rs), built on
// the official MCP SDK for TypeScript (`@modelcontextprotocol/sdk`, Streamable HTTP,
// stateless) with `jose` for the token checks. Installed by scripts/client-libs.
//
// What it does, as the MCP authorization spec (2025-11-25) asks of a resource server:
//   * serves its RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp (and at
//     the root form): `resource` is its own URL, `authorization_servers` Portcullis;
//   * answers a request without a valid token with 401 and
//     `WWW-Authenticate: Bearer resource_metadata="…"` (plus `error="invalid_token"`
//     when a token was sent), which is how an MCP client discovers Portcullis;
//   * validates a token as an RFC 9068 JWT: signature by Portcullis's JWKS, `typ`
//     at+jwt, `iss` Portcullis, `aud` exactly its own URL (a token for another resource
//     is refused), not expired, and the scope it requires;
//   * offers one tool, `whoami`, answering with the token's subject, user name, scope
//     and audience.
//
// Inputs (environment):
//   MCP_ISSUER      Portcullis's issuer, e.g. https://127.0.0.1:8443
//   MCP_TLS_CERT    PEM certificate and key it serves HTTPS with (loopback)
//   MCP_TLS_KEY
//   MCP_SCOPE       the scope a token must carry, e.g. mcp:tools
// Portcullis's certificate is trusted through NODE_EXTRA_CA_CERTS. Listens on a free
// loopback port and prints one JSON line, {"url": "https://127.0.0.1:<port>/mcp"}; logs
// each refusal on stderr; exits when its standard input closes (the test ended).

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as jose from 'jose';
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    console.error(`mcp_server: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const issuer = env('MCP_ISSUER');
const requiredScope = env('MCP_SCOPE');
const tls = { cert: readFileSync(env('MCP_TLS_CERT')), key: readFileSync(env('MCP_TLS_KEY')) };
const jwks = jose.createRemoteJWKSet(new URL('/oauth2/jwks', issuer));
/// Largest JSON-RPC body read.
const MAX_BODY = 64 * 1024;

let resource; // https://127.0.0.1:<port>/mcp, once listening
let metadataUrl;

function refuse(res, error, description) {
  const params = [`resource_metadata="${metadataUrl}"`];
  if (error) params.push(`error="${error}"`, `error_description="${description}"`);
  if (error) console.error(`mcp_server: refused a token: ${description}`);
  res.writeHead(error === 'insufficient_scope' ? 403 : 401, {
    'www-authenticate': `Bearer ${params.join(', ')}`,
    'content-type': 'application/json',
  });
  res.end(JSON.stringify({ error: error ?? 'unauthorized', error_description: description ?? 'A Bearer token is required.' }));
}

/// The verified claims of the request's Bearer token, or undefined after answering 401.
async function authenticate(req, res) {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!match) {
    refuse(res);
    return undefined;
  }
  try {
    const { payload } = await jose.jwtVerify(match[1], jwks, {
      issuer,
      audience: resource,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256'],
    });
    const scopes = String(payload.scope ?? '').split(' ');
    if (!scopes.includes(requiredScope)) {
      refuse(res, 'insufficient_scope', `the token lacks the scope ${requiredScope}`);
      return undefined;
    }
    return payload;
  } catch (e) {
    refuse(res, 'invalid_token', `${e.code ?? 'invalid'}: ${e.message}`.replaceAll('"', "'"));
    return undefined;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/// One MCP server per request (stateless Streamable HTTP), its tool answering for `claims`.
function mcpServer(claims) {
  const server = new McpServer({ name: 'portcullis-test-mcp-server', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the access token is for.' }, async () => ({
    content: [{
      type: 'text',
      text: JSON.stringify({ sub: claims.sub, username: claims.username, scope: claims.scope, aud: claims.aud, client_id: claims.client_id }),
    }],
  }));
  return server;
}

const http = createServer(tls, async (req, res) => {
  try {
    const path = new URL(req.url, resource).pathname;
    if (req.method === 'GET' && (path === '/.well-known/oauth-protected-resource/mcp' || path === '/.well-known/oauth-protected-resource')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        resource,
        authorization_servers: [issuer],
        scopes_supported: [requiredScope],
        bearer_methods_supported: ['header'],
        resource_name: 'Portcullis test MCP server',
      }));
      return;
    }
    if (path !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const claims = await authenticate(req, res);
    if (!claims) return;
    const body = req.method === 'POST' ? JSON.parse(await readBody(req)) : undefined;
    const server = mcpServer(claims);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  } catch (e) {
    console.error(`mcp_server: ${e.stack ?? e}`);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'server_error' }));
  }
});

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  resource = `https://127.0.0.1:${port}/mcp`;
  metadataUrl = `https://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;
  console.log(JSON.stringify({ url: resource }));
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
