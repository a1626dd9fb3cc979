// An Auth0-compatible token endpoint and a tiny protected STAC-like resource on
// 127.0.0.1, for `make demo`, the examples and the tests. node:crypto only.
//
//   POST /oauth/token        client credentials grant (RFC 6749 §4.4); form or JSON
//                            body; client_secret_post or client_secret_basic (§2.3.1
//                            form-decoding of id and secret); answers Auth0-shaped JSON
//                            with an RS256 JWT access token.
//   GET  /stac/collections   requires a valid bearer JWT (signature, aud, exp), else
//   POST /stac/search        401 with WWW-Authenticate: Bearer ... (RFC 6750 §3).
//
// Run directly (`node tests/servers/demo.mjs [--port N]`) it prints one JSON line
// {tokenUrl, resourceUrl, clientId, clientSecret} and serves until SIGTERM/SIGINT.
import http from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual, createHash, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const MAX_BODY = 64 * 1024;
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'www-authenticate',
};

const b64url = (data) => Buffer.from(data).toString('base64url');
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest();
const sameSecret = (a, b) => timingSafeEqual(sha256(a), sha256(b));

// RFC 6749 §2.3.1 / application/x-www-form-urlencoded decoding of one Basic part.
const formDecode = (part) => decodeURIComponent(part.replace(/\+/g, '%20'));

class OAuthFailure extends Error {
  constructor(status, error, description) {
    super(description);
    Object.assign(this, { status, error, description });
  }
}

function newKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, kid: randomUUID() };
}

/**
 * @param {{ clients?: {clientId: string, clientSecret: string}[], audience?: string,
 *           lifetimeSeconds?: number, port?: number }} [opts]
 */
export async function startDemo({
  clients = [],
  audience = 'https://beeapp.open-cosmos.com',
  lifetimeSeconds = 3600,
  port = 0,
} = {}) {
  let key = newKey();
  let tokenRequests = 0;
  let resourceRequests = 0;
  const requests = []; // token requests: { contentType, authMethod, params } without the secret

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof OAuthFailure) return json(res, err.status, { error: err.error, error_description: err.description });
      return json(res, 500, { error: 'server_error', error_description: 'Internal error' });
    });
  });

  async function handle(req, res) {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...CORS,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'content-type, authorization',
        'access-control-max-age': '600',
      });
      return res.end();
    }
    if (pathname === '/oauth/token') {
      if (req.method !== 'POST') return json(res, 405, { error: 'invalid_request', error_description: 'Use POST' }, { allow: 'POST' });
      tokenRequests += 1;
      try {
        return json(res, 200, await tokenResponse(req));
      } catch (err) {
        if (!(err instanceof OAuthFailure)) throw err;
        const extra = err.status === 401 && req.headers.authorization ? { 'www-authenticate': 'Basic realm="demo"' } : {};
        return json(res, err.status, { error: err.error, error_description: err.description }, extra);
      }
    }
    if ((pathname === '/stac/collections' && req.method === 'GET') || (pathname === '/stac/search' && req.method === 'POST')) {
      resourceRequests += 1;
      const body = await readBody(req);
      const problem = checkBearer(req.headers.authorization);
      if (problem) return json(res, 401, { error: problem.error ?? 'unauthorized', message: problem.description }, { 'www-authenticate': problem.header });
      if (pathname === '/stac/search') {
        return json(res, 200, { type: 'FeatureCollection', features: [], context: { returned: 0, requestBytes: body.length } });
      }
      return json(res, 200, {
        collections: [
          { type: 'Collection', id: 'menut-l1b', title: 'MENUT L1B', license: 'proprietary', links: [] },
          { type: 'Collection', id: 'hammer-l2a', title: 'HAMMER L2A', license: 'proprietary', links: [] },
        ],
        links: [],
      });
    }
    return json(res, 404, { error: 'not_found' });
  }

  async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY) throw new OAuthFailure(413, 'invalid_request', 'Request body too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function parseParams(req) {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const text = await readBody(req);
    if (type === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(text);
      const params = {};
      for (const [name, value] of form) {
        if (name in params) throw new OAuthFailure(400, 'invalid_request', `Duplicate parameter: ${name}`);
        params[name] = value;
      }
      return { type, params };
    }
    if (type === 'application/json') {
      let params;
      try { params = JSON.parse(text); } catch { params = null; }
      if (!params || typeof params !== 'object' || Array.isArray(params)
        || Object.values(params).some((v) => typeof v !== 'string')) {
        throw new OAuthFailure(400, 'invalid_request', 'Invalid JSON body');
      }
      return { type, params };
    }
    throw new OAuthFailure(400, 'invalid_request', 'Unsupported content type');
  }

  function clientAuth(req, params) {
    const header = req.headers.authorization;
    if (header !== undefined) {
      if ('client_secret' in params) throw new OAuthFailure(400, 'invalid_request', 'Multiple client authentication methods');
      const [scheme, value = ''] = header.split(' ');
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (scheme.toLowerCase() !== 'basic' || colon < 0) throw new OAuthFailure(400, 'invalid_request', 'Malformed Authorization header');
      let clientId; let clientSecret;
      try {
        clientId = formDecode(decoded.slice(0, colon));
        clientSecret = formDecode(decoded.slice(colon + 1));
      } catch {
        throw new OAuthFailure(400, 'invalid_request', 'Malformed Authorization header');
      }
      if (params.client_id !== undefined && params.client_id !== clientId) throw new OAuthFailure(400, 'invalid_request', 'client_id mismatch');
      return { clientId, clientSecret };
    }
    if (!params.client_id) throw new OAuthFailure(400, 'invalid_request', 'Missing required parameter: client_id');
    if (params.client_secret === undefined) throw new OAuthFailure(401, 'access_denied', 'Unauthorized');
    return { clientId: params.client_id, clientSecret: params.client_secret };
  }

  async function tokenResponse(req) {
    const { type, params } = await parseParams(req);
    const { client_secret: _omit, ...visible } = params;
    requests.push({
      contentType: type,
      authMethod: req.headers.authorization === undefined ? 'client_secret_post' : 'client_secret_basic',
      params: visible,
    });
    const auth = clientAuth(req, params);

    if (!params.grant_type) throw new OAuthFailure(400, 'invalid_request', 'Missing required parameter: grant_type');
    if (params.grant_type !== 'client_credentials') {
      throw new OAuthFailure(400, 'unsupported_grant_type', `Unsupported grant type: ${params.grant_type}`);
    }
    // One id may have two valid secrets, as while a secret is rotated.
    const client = clients.find((c) => c.clientId === auth.clientId && sameSecret(c.clientSecret, auth.clientSecret));
    if (!client) throw new OAuthFailure(401, 'access_denied', 'Unauthorized');
    const aud = params.audience ?? audience;
    if (aud !== audience) throw new OAuthFailure(403, 'access_denied', `Service not found: ${aud}`);

    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: `${origin()}/`,
      sub: `${client.clientId}@clients`,
      aud,
      iat,
      exp: iat + lifetimeSeconds,
      gty: 'client-credentials',
      azp: client.clientId,
      jti: randomUUID(),
      ...(params.scope ? { scope: params.scope } : {}),
    };
    const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid }))}.${b64url(JSON.stringify(claims))}`;
    const jwt = `${input}.${b64url(sign('sha256', Buffer.from(input), key.privateKey))}`;
    return {
      access_token: jwt,
      token_type: 'Bearer',
      expires_in: lifetimeSeconds,
      ...(params.scope ? { scope: params.scope } : {}),
    };
  }

  // RFC 6750 §3: no error code when the request carries no token at all.
  function checkBearer(header) {
    const realm = 'realm="datacosmos-demo"';
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header ?? '');
    if (!match) return { description: 'Missing bearer token', header: `Bearer ${realm}` };
    const invalid = (why) => ({
      error: 'invalid_token',
      description: why,
      header: `Bearer ${realm}, error="invalid_token", error_description="${why}"`,
    });
    const parts = match[1].split('.');
    if (parts.length !== 3) return invalid('Malformed token');
    let head; let claims;
    try {
      head = JSON.parse(Buffer.from(parts[0], 'base64url'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
    } catch {
      return invalid('Malformed token');
    }
    if (head.alg !== 'RS256' || head.kid !== key.kid
      || !verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2], 'base64url'))) {
      return invalid('Bad signature');
    }
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!auds.includes(audience)) return invalid('Wrong audience');
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return invalid('Token expired');
    return null;
  }

  function json(res, status, body, headers = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...CORS,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const origin = () => `http://127.0.0.1:${server.address().port}`;

  return {
    url: origin(),
    tokenUrl: `${origin()}/oauth/token`,
    resourceUrl: `${origin()}/stac/collections`,
    searchUrl: `${origin()}/stac/search`,
    audience,
    tokenRequests: () => tokenRequests,
    resourceRequests: () => resourceRequests,
    requests,
    /** New signing key: every token issued so far is rejected by the resource. */
    rotateKey() { key = newKey(); },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--port');
  const port = at > 0 ? Number(process.argv[at + 1]) : 0;
  const client = { clientId: 'demo-client', clientSecret: b64url(randomBytes(24)) };
  const demo = await startDemo({ clients: [client], port });
  process.stdout.write(`${JSON.stringify({ tokenUrl: demo.tokenUrl, resourceUrl: demo.resourceUrl, ...client })}\n`);
  const stop = () => demo.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
