// A real OAuth 2.0 authorization server (oidc-provider) on 127.0.0.1 with the
// client-credentials grant (RFC 6749 §4.4), for integration tests.
//
// Notes on the configuration:
// - `audience`: our client sends Auth0's `audience` body parameter by default.
//   oidc-provider does not reject unknown token-endpoint parameters: it builds
//   ctx.oidc.params from an allow-list (helpers/params.js) and silently drops the
//   rest, so a request with `audience` succeeds unchanged. (RFC 8707 `resource`
//   would need features.resourceIndicators; we do not map `audience` onto it.)
//   The test 'oidc-provider accepts the audience parameter' pins this down.
// - Client id/secret syntax: oidc-provider enforces RFC 6749 Appendix A
//   (`client-secret = *VSCHAR`, i.e. printable ASCII 0x20-0x7E) on registered
//   clients, so the `weird` client's secret cannot hold a non-ASCII character here;
//   it holds `:`, `%`, `+`, space, `&` and `=` instead, which exercise the §2.3.1
//   form-urlencoding before Basic (oidc-provider decodes with `+` -> space, then
//   percent-decoding: shared/client_auth.js). The demo server (demo.mjs) covers
//   non-ASCII secrets.
// - Quiet: own JWKS, own tiny in-memory adapter and explicit TTL, so none of the
//   "development-only" notices fire; the import-time "Unsupported runtime" warning
//   (printed on Node < 22) is muted while importing.
// - http on loopback: the issuer is http://127.0.0.1:PORT (or .../ with
//   issuerTrailingSlash, the form of Auth0 issuers); oidc-provider only
//   needs the issuer to be a web URI, and `proxy` stays off.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

let providerModule;
/** Imports oidc-provider once, muting its import-time runtime warning; returns the Provider class. */
export async function loadProvider() {
  if (!providerModule) {
    const { warn } = console;
    console.warn = () => {};
    try {
      providerModule = await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  }
  return providerModule.default;
}

// The adapter interface oidc-provider needs, backed by one Map per model (`stores`:
// model name -> Map of id -> payload, given by a caller that wants to reach into it).
export function mapAdapter(stores = new Map()) {
  return class MapAdapter {
    constructor(name) {
      if (!stores.has(name)) stores.set(name, new Map());
      this.store = stores.get(name);
    }
    async upsert(id, payload) { this.store.set(id, payload); }
    async find(id) { return this.store.get(id); }
    async findByUid(uid) { return [...this.store.values()].find((p) => p.uid === uid); }
    async findByUserCode(code) { return [...this.store.values()].find((p) => p.userCode === code); }
    async consume(id) { const p = this.store.get(id); if (p) p.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id) { this.store.delete(id); }
    async revokeByGrantId(grantId) {
      for (const [id, p] of this.store) if (p.grantId === grantId) this.store.delete(id);
    }
  };
}

const CLIENTS = {
  post: { clientId: 'post-client', clientSecret: 'post-secret-6f1c2e' },
  basic: { clientId: 'basic-client', clientSecret: 'basic-secret-93ab7d' },
  weird: { clientId: 'aaa/;&', clientSecret: 'se:cr%et+ a&b=c%41' },
};

/**
 * Starts oidc-provider on an ephemeral 127.0.0.1 port.
 * @param {{ accessTokenTTL?: number, scopes?: string[], extraClients?: object[], issuerTrailingSlash?: boolean }} [opts]
 *   scopes: those every client may ask for; extraClients: more client metadata (client_credentials
 *   grant and the scopes added); issuerTrailingSlash: the issuer is `http://127.0.0.1:PORT/`, as
 *   Auth0's issuers are (`https://tenant/`), instead of `http://127.0.0.1:PORT`.
 */
export async function startOidc(opts = {}) {
  const { accessTokenTTL = 600, scopes = ['read', 'write'], extraClients = [], issuerTrailingSlash = false } = opts;
  const Provider = await loadProvider();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' };

  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const issuer = issuerTrailingSlash ? `${origin}/` : origin;

  const common = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: scopes.join(' ') };
  const provider = new Provider(issuer, {
    adapter: mapAdapter(),
    jwks: { keys: [jwk] },
    clients: [
      { ...common, client_id: CLIENTS.post.clientId, client_secret: CLIENTS.post.clientSecret, token_endpoint_auth_method: 'client_secret_post' },
      { ...common, client_id: CLIENTS.basic.clientId, client_secret: CLIENTS.basic.clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
      { ...common, client_id: CLIENTS.weird.clientId, client_secret: CLIENTS.weird.clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
      ...extraClients.map((client) => ({ ...common, ...client })),
    ],
    // 'admin' is known to the provider but granted to no client: asking for it
    // is invalid_scope (oidc-provider drops scopes it does not know at all).
    scopes: [...scopes, 'admin'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    ttl: { ClientCredentials: () => accessTokenTTL },
    routes: { token: '/oauth/token' },
  });
  // The provider is a Koa app; koa logs unhandled errors unless silenced.
  provider.silent = true;

  let tokenRequests = 0;
  provider.use(async (ctx, next) => {
    if (ctx.path === '/oauth/token') tokenRequests += 1;
    await next();
  });

  server.on('request', provider.callback());

  return {
    issuer,
    tokenUrl: `${origin}/oauth/token`,
    clients: structuredClone(CLIENTS),
    tokenRequests: () => tokenRequests,
    provider,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
