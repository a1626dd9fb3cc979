// A real authorization server (oidc-provider 9.13.3) on 127.0.0.1 for user-login tests:
// the authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636, S256 only, required)
// and refresh tokens with rotation, on Auth0's routes, with a one-field login page.
//
// Clients (both public: token_endpoint_auth_method `none`, no secret):
// - `login-native` (application_type `native`): the CLI. Its redirect URIs are loopback
//   http URIs, and oidc-provider matches a loopback redirect URI ignoring the port
//   (RFC 8252 §7.3, lib/models/client.js stripLoopbackPort): `http://127.0.0.1:PORT/callback`
//   matches the registered `http://127.0.0.1/callback` for any PORT. Scheme, host and
//   path must match exactly (127.0.0.1 and localhost are different hosts).
// - `login-spa` (application_type `web`): the browser flow. Its redirect URIs
//   (opts.webRedirectUris) match exactly, port included.
//
// Behaviour worth knowing, all oidc-provider's:
// - offline_access: OpenID Connect Core §11 lets a provider ignore offline_access unless
//   the request has prompt=consent, and oidc-provider does (actions/authorization/scopes.js).
//   Auth0 does not: it issues a refresh token for offline_access alone. To behave like
//   Auth0, a GET /authorize whose scope has offline_access gets `consent` added to its
//   prompt before oidc-provider reads it (what the client sent is in `authorizations()`).
// - Refresh token rotation: every refresh_token grant consumes the refresh token and
//   returns a new one. Presenting a consumed refresh token is invalid_grant AND revokes
//   the whole grant (reuse detection): the refresh token that replaced it stops working too.
// - A code is single use: a second exchange is invalid_grant (and revokes the grant's tokens).
// - A wrong code_verifier is invalid_grant ("PKCE verification failed").
// - Access tokens, as Auth0's: with an `audience` authorize parameter (recorded through
//   extraParams and passed on as the RFC 8707 `resource`), a JWT (RS256, typ at+jwt) with
//   aud = the audience, sub = the username, scope, client_id, iat and exp = iat +
//   accessTokenTTL, for the code and every refresh; without one, an opaque string that
//   /userinfo accepts. `expires_in` = accessTokenTTL either way.
// - CORS: the token and revocation endpoints answer a CORS request from any loopback http
//   origin (http://127.0.0.1:*, http://localhost:*, http://[::1]:*) for the public clients.
// - The login page (/interaction/:uid) has a "Username" field and two buttons: "Log in"
//   (login and consent to every requested scope at once) and "Cancel" (the client gets
//   error=access_denied). Any username matching [\w.@-]{1,64} is a user; its claims are
//   sub = the username, name, email `<username>@example.test`, email_verified.
import http from 'node:http';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { loadProvider, mapAdapter } from './oidc.mjs';

export const NATIVE_CLIENT_ID = 'login-native';
export const WEB_CLIENT_ID = 'login-spa';
export const LOGIN_SCOPE = 'openid profile email offline_access';
export const DEFAULT_NATIVE_REDIRECT_URIS = [
  'http://127.0.0.1/callback',
  'http://127.0.0.1/oauth/callback',
  'http://localhost/callback',
  'http://localhost/oauth/callback',
  'http://[::1]/callback',
];

const USERNAME = /^[\w.@-]{1,64}$/;
const LOOPBACK_ORIGIN = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(details) {
  const { uid, params } = details;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Log in</title></head>
<body>
<h1>Log in</h1>
<p>Client <code id="client">${escapeHtml(params.client_id)}</code> asks for
<code id="scope">${escapeHtml(params.scope ?? '')}</code>.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required pattern="[\\w.@\\-]{1,64}">
<button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
</body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts the login server on an ephemeral 127.0.0.1 port.
 * @param {{ accessTokenTTL?: number, refreshTokenTTL?: number,
 *   nativeRedirectUris?: string[], webRedirectUris?: string[] }} [opts]
 *   accessTokenTTL: seconds (default 600); refreshTokenTTL: seconds (default 86400);
 *   nativeRedirectUris: the CLI client's (default DEFAULT_NATIVE_REDIRECT_URIS, any port);
 *   webRedirectUris: the SPA client's, exact (default [`${origin}/callback`], a page of
 *   this server that answers 200 and records its query in `callbacks()`).
 */
export async function startLoginServer(opts = {}) {
  const {
    accessTokenTTL = 600,
    refreshTokenTTL = 86400,
    nativeRedirectUris = DEFAULT_NATIVE_REDIRECT_URIS,
  } = opts;
  const Provider = await loadProvider();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'login', use: 'sig', alg: 'RS256' };

  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const webRedirectUris = opts.webRedirectUris ?? [`${origin}/callback`];

  const stores = new Map();
  const common = {
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  };
  const provider = new Provider(origin, {
    adapter: mapAdapter(stores),
    jwks: { keys: [jwk] },
    clients: [
      { ...common, client_id: NATIVE_CLIENT_ID, application_type: 'native', redirect_uris: nativeRedirectUris },
      { ...common, client_id: WEB_CLIENT_ID, application_type: 'web', redirect_uris: webRedirectUris },
    ],
    scopes: LOGIN_SCOPE.split(' '),
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    extraParams: ['audience'],
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        claims: async () => ({ sub, name: sub, email: `${sub}@example.test`, email_verified: true }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // A plain error page (the default one loads a web font from the internet).
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Error</title></head><body><h1>Error</h1>${
        Object.entries(out).map(([k, v]) => `<p id="${escapeHtml(k)}">${escapeHtml(k)}: ${escapeHtml(v)}</p>`).join('')}</body></html>`;
    },
    cookies: { keys: ['datacosmos-auth-login-test'] },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: () => true,
    clientBasedCORS: (_ctx, requestOrigin, client) => client.clientAuthMethod === 'none' && LOOPBACK_ORIGIN.test(requestOrigin),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf?.[0],
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({
          audience: resource,
          scope: LOGIN_SCOPE,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
    },
    ttl: {
      AccessToken: accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: refreshTokenTTL,
      Grant: refreshTokenTTL,
      Interaction: 600,
      Session: refreshTokenTTL,
    },
    routes: { authorization: '/authorize', token: '/oauth/token', revocation: '/oauth/revoke', userinfo: '/userinfo' },
  });
  provider.silent = true;

  const authorizations = [];
  // Held token responses (pauseTokenResponses) and waiters on the token log (waitForTokenRequests).
  let pause = null;
  const waiters = new Set();
  const notify = () => {
    for (const waiter of waiters) if (waiter.check()) waiters.delete(waiter);
  };
  const tokenLog = [];
  const callbacks = [];
  const revocations = [];
  // Each POST to `path` is logged once answered: `record(ctx)` says what of it.
  const logged = (path, log, record) => async (ctx, next) => {
    if (ctx.path !== path || ctx.method !== 'POST') return next();
    const entry = {};
    log.push(entry);
    try {
      await next();
    } finally {
      Object.assign(entry, record(ctx));
    }
  };
  provider.use(async (ctx, next) => {
    if (ctx.path === '/authorize' && ctx.method === 'GET') {
      const query = new URLSearchParams(ctx.querystring);
      authorizations.push(Object.fromEntries(query));
      if (query.has('audience') && !query.has('resource')) query.set('resource', query.get('audience'));
      const scopes = (query.get('scope') ?? '').split(' ');
      const prompts = (query.get('prompt') ?? '').split(' ').filter(Boolean);
      if (scopes.includes('offline_access') && !prompts.includes('consent')) {
        query.set('prompt', [...prompts, 'consent'].join(' '));
      }
      ctx.querystring = query.toString();
    }
    if (ctx.path !== '/oauth/token' || ctx.method !== 'POST') return next();
    const entry = { grantType: undefined, status: undefined, error: undefined };
    tokenLog.push(entry);
    try {
      await next();
    } finally {
      entry.grantType = ctx.oidc?.params?.grant_type;
      entry.status = ctx.status;
      entry.error = ctx.body?.error;
      notify();
      if (pause) await pause.promise;
    }
  });
  provider.use(logged('/oauth/revoke', revocations, (ctx) => ({
    tokenTypeHint: ctx.oidc?.params?.token_type_hint, status: ctx.status,
  })));
  // The token of each revocation request, in order (which refresh token a client revoked).
  const revokedTokens = [];
  provider.use(async (ctx, next) => {
    if (ctx.path === '/oauth/revoke' && ctx.method === 'POST') {
      await next();
      revokedTokens.push(ctx.oidc?.params?.token);
      return;
    }
    await next();
  });

  const finish = (req, res, result) => provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  async function interaction(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(details));
      return;
    }
    if (req.method !== 'POST') throw new Error('method not allowed');
    const form = await readForm(req);
    if (form.get('action') === 'cancel') {
      await finish(req, res, { error: 'access_denied', error_description: 'the user cancelled the login' });
      return;
    }
    const accountId = form.get('username') ?? '';
    if (!USERNAME.test(accountId)) throw new Error('bad username');
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    if (details.params.scope) grant.addOIDCScope(details.params.scope);
    if (details.params.resource) grant.addResourceScope(details.params.resource, details.params.scope ?? '');
    const grantId = await grant.save();
    await finish(req, res, { login: { accountId }, consent: { grantId } });
  }

  // GET /api/me: a protected resource (the DataCosmos API's stand-in) that accepts the
  // server's access tokens of either form, a JWT for an audience (its RS256 signature,
  // `exp` and `aud` checked) or an opaque one (looked up), and answers { sub }; CORS for
  // loopback origins.
  const publicKey = createPublicKey(privateKey);
  async function subjectOf(token) {
    const parts = token.split('.');
    if (parts.length === 3) {
      const ok = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'));
      const claims = ok ? JSON.parse(Buffer.from(parts[1], 'base64url')) : {};
      return ok && claims.exp > Date.now() / 1000 && claims.aud ? claims.sub : undefined;
    }
    const found = await provider.AccessToken.find(token);
    return found && !found.isExpired ? found.accountId : undefined;
  }
  async function api(req, res) {
    const from = req.headers.origin;
    if (from && LOOPBACK_ORIGIN.test(from)) {
      res.setHeader('access-control-allow-origin', from);
      res.setHeader('access-control-allow-headers', 'authorization');
    }
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const sub = bearer && await subjectOf(bearer).catch(() => undefined);
    res.writeHead(sub ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(sub ? { sub } : { error: 'invalid_token' }));
  }

  const providerCallback = provider.callback();
  server.on('request', (req, res) => {
    const url = new URL(req.url, origin);
    if (url.pathname === '/api/me') return void api(req, res);
    const match = /^\/interaction\/([\w-]+)$/.exec(url.pathname);
    if (match) {
      interaction(req, res, match[1]).catch((err) => {
        if (res.headersSent) return;
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`login page: ${err.message}`);
      });
    } else if (url.pathname === '/callback' && req.method === 'GET') {
      callbacks.push(Object.fromEntries(url.searchParams));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>callback</title></head><body><p id="done">Logged in.</p></body></html>');
    } else {
      providerCallback(req, res);
    }
  });

  const count = (grantType) => () => tokenLog.filter((e) => grantType === undefined || e.grantType === grantType).length;
  return {
    issuer: origin,
    origin,
    authorizeUrl: `${origin}/authorize`,
    tokenUrl: `${origin}/oauth/token`,
    revocationUrl: `${origin}/oauth/revoke`,
    userinfoUrl: `${origin}/userinfo`,
    /** A protected resource accepting either form of access token: GET → { sub } or 401. */
    apiUrl: `${origin}/api/me`,
    nativeClientId: NATIVE_CLIENT_ID,
    webClientId: WEB_CLIENT_ID,
    clients: { native: NATIVE_CLIENT_ID, web: WEB_CLIENT_ID },
    scope: LOGIN_SCOPE,
    nativeRedirectUris: [...nativeRedirectUris],
    webRedirectUris: [...webRedirectUris],
    /** Token endpoint POSTs so far, any grant type, failed ones included. */
    tokenRequests: count(),
    /** Of those, grant_type=refresh_token. */
    refreshRequests: count('refresh_token'),
    /** Of those, grant_type=authorization_code. */
    codeExchanges: count('authorization_code'),
    /**
     * Holds the answer of every token request from now on, after oidc-provider has handled it
     * (a rotated refresh token is already consumed), until the returned release() is called.
     */
    pauseTokenResponses() {
      if (!pause) {
        let release;
        const promise = new Promise((resolve) => { release = resolve; });
        pause = { promise, release: () => { pause = null; release(); } };
      }
      return pause.release;
    },
    /**
     * Resolves once `count` token requests of `grantType` (any when omitted) have been handled
     * by oidc-provider (held ones included): no polling, no timers.
     */
    waitForTokenRequests(count, grantType) {
      const handled = () => tokenLog.filter((e) => e.status !== undefined && (grantType === undefined || e.grantType === grantType)).length >= count;
      return new Promise((resolve) => {
        const waiter = { check: () => handled() && (resolve(), true) };
        if (!waiter.check()) waiters.add(waiter);
      });
    },
    /** Every token endpoint POST in order: { grantType, status, error } (error: the OAuth error code or undefined). */
    tokenLog: () => tokenLog.map((e) => ({ ...e })),
    /** A refresh_token grant for the SPA client sent straight to the token endpoint: { status, error }. */
    async refresh(refreshToken) {
      const res = await fetch(`${origin}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: WEB_CLIENT_ID }),
      });
      return { status: res.status, error: (await res.json()).error };
    },
    /** Every revocation endpoint POST (RFC 7009) in order: { tokenTypeHint, status }. */
    revocations: () => revocations.map((e) => ({ ...e })),
    /** The `token` of every revocation request, in order. */
    revokedTokens: () => [...revokedTokens],
    /** The query of every GET /authorize in order, as the client sent it. */
    authorizations: () => authorizations.map((a) => ({ ...a })),
    /** The query of every GET /callback (the default web redirect URI) in order. */
    callbacks: () => callbacks.map((c) => ({ ...c })),
    /**
     * Revokes every grant: all refresh tokens, access tokens, codes and login sessions are
     * forgotten, so a refresh token given out before is invalid_grant and the next
     * authorization shows the login page again. Returns the number of grants revoked.
     */
    revokeAll() {
      const grants = stores.get('Grant')?.size ?? 0;
      for (const model of ['Grant', 'RefreshToken', 'AccessToken', 'AuthorizationCode', 'Session']) stores.get(model)?.clear();
      return grants;
    },
    provider,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
