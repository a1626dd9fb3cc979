// tests/servers/oidc-login.mjs (oidc-provider with public clients, PKCE and refresh token
// rotation) driven by hand and completed by tests/servers/login-agent.mjs: the test
// infrastructure of user login (issue 13) proves itself before the package uses it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { completeLogin } from '../servers/login-agent.mjs';
import { DEFAULT_NATIVE_REDIRECT_URIS, startLoginServer } from '../servers/oidc-login.mjs';
import { DEFAULT_AUDIENCE, jwtClaims } from './helpers.mjs';

const REDIRECT_URI = 'http://127.0.0.1:45999/callback';

/** An authorization request with PKCE S256 (RFC 7636 §4.1-4.2) and state, built by hand. */
function authorizationRequest(server, { clientId = server.nativeClientId, redirectUri = REDIRECT_URI, scope = server.scope, extra = {} } = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(server.authorizeUrl);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    audience: DEFAULT_AUDIENCE,
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return { url: url.href, verifier, state, redirectUri, clientId };
}

async function tokenRequest(server, params) {
  const response = await fetch(server.tokenUrl, { method: 'POST', body: new URLSearchParams(params) });
  return { status: response.status, body: await response.json() };
}

const exchange = (server, request, code, verifier = request.verifier) => tokenRequest(server, {
  grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, client_id: request.clientId, code_verifier: verifier,
});
const refresh = (server, clientId, refreshToken) => tokenRequest(server, {
  grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId,
});

/** Logs in with the login agent and exchanges the code: the token response. */
async function login(server, options) {
  const request = authorizationRequest(server, options);
  const { query } = await completeLogin(request.url);
  assert.equal(query.state, request.state);
  const tokens = await exchange(server, request, query.code);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return tokens.body;
}

function assertInvalidGrant(answer) {
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error, 'invalid_grant');
}

describe('login server (oidc-provider) with the Node login agent', () => {
  let server;
  before(async () => { server = await startLoginServer({ accessTokenTTL: 120 }); });
  after(() => server?.close());

  test('authorization code with PKCE: login, exchange, counters, audience recorded', async () => {
    const before = { tokens: server.tokenRequests(), codes: server.codeExchanges(), refreshes: server.refreshRequests() };
    const request = authorizationRequest(server);
    const { callbackUrl, query, response } = await completeLogin(request.url, { username: 'ada' });
    assert.equal(response, undefined, 'the callback is not fetched without follow');
    assert.ok(callbackUrl.startsWith(`${REDIRECT_URI}?`), callbackUrl);
    assert.equal(query.state, request.state);
    assert.equal(query.iss, server.issuer, 'RFC 9207 iss in the callback');
    assert.match(query.code, /^[\w-]{20,}$/);

    const last = server.authorizations().at(-1);
    assert.equal(last.audience, DEFAULT_AUDIENCE);
    assert.equal(last.code_challenge_method, 'S256');
    assert.equal(last.prompt, undefined, 'the client sent no prompt');

    const tokens = await exchange(server, request, query.code);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.token_type, 'Bearer');
    assert.equal(tokens.body.expires_in, 120, 'accessTokenTTL');
    assert.equal(tokens.body.scope, 'openid profile email offline_access');
    const access = jwtClaims(tokens.body.access_token);
    assert.equal(access.aud, DEFAULT_AUDIENCE, 'a JWT for the audience, as Auth0 issues');
    assert.equal(access.sub, 'ada');
    assert.equal(access.client_id, server.nativeClientId);
    assert.equal(access.scope, 'openid profile email offline_access');
    assert.equal(access.exp - access.iat, 120);
    assert.match(tokens.body.refresh_token, /^[\w-]{20,}$/);
    const idToken = jwtClaims(tokens.body.id_token);
    assert.equal(idToken.sub, 'ada');
    assert.equal(idToken.aud, server.nativeClientId);
    assert.equal(idToken.iss, server.issuer);

    assert.equal(server.tokenRequests() - before.tokens, 1);
    assert.equal(server.codeExchanges() - before.codes, 1);
    assert.equal(server.refreshRequests() - before.refreshes, 0);
    assert.deepEqual(server.tokenLog().at(-1), { grantType: 'authorization_code', status: 200, error: undefined });
  });

  test('refresh token rotation: each refresh returns a new refresh token and consumes the old one', async () => {
    const first = await login(server);
    const before = server.refreshRequests();
    const second = await refresh(server, server.nativeClientId, first.refresh_token);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.notEqual(second.body.refresh_token, first.refresh_token);
    assert.notEqual(second.body.access_token, first.access_token);
    assert.equal(second.body.expires_in, 120);
    assert.equal(jwtClaims(second.body.access_token).aud, DEFAULT_AUDIENCE, 'the refreshed access token keeps the audience');
    const third = await refresh(server, server.nativeClientId, second.body.refresh_token);
    assert.equal(third.status, 200, JSON.stringify(third.body));
    assert.notEqual(third.body.refresh_token, second.body.refresh_token);
    assert.equal(server.refreshRequests() - before, 2);

    // The consumed refresh token is refused, and reuse detection revokes the grant.
    assertInvalidGrant(await refresh(server, server.nativeClientId, first.refresh_token));
    assertInvalidGrant(await refresh(server, server.nativeClientId, third.body.refresh_token));
    assert.equal(server.refreshRequests() - before, 4);
    assert.deepEqual(server.tokenLog().at(-1), { grantType: 'refresh_token', status: 400, error: 'invalid_grant' });
  });

  test('without an audience: an opaque access token that /userinfo accepts; revokeAll() ends it', async () => {
    const tokens = await login(server, { extra: { audience: undefined } });
    assert.match(tokens.access_token, /^[\w-]{20,}$/);
    const userinfo = () => fetch(server.userinfoUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const answer = await userinfo();
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { sub: 'test-user', name: 'test-user', email: 'test-user@example.test', email_verified: true });
    server.revokeAll();
    assert.equal((await userinfo()).status, 401);
  });

  test('/api/me accepts a JWT access token for an audience and an opaque one; refuses a forged or unknown one', async () => {
    const me = async (token) => {
      const res = await fetch(server.apiUrl, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: await res.json() };
    };
    const jwt = (await login(server)).access_token;
    assert.deepEqual(await me(jwt), { status: 200, body: { sub: 'test-user' } });
    const [h, p] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${jwt.split('.')[2]}`;
    assert.equal((await me(forged)).status, 401, 'a changed payload fails the signature');
    const opaque = (await login(server, { extra: { audience: undefined } })).access_token;
    assert.deepEqual(await me(opaque), { status: 200, body: { sub: 'test-user' } });
    assert.equal((await me('not-a-token')).status, 401);
  });

  test('pauseTokenResponses() holds answers after handling; waitForTokenRequests() sees them', async () => {
    const tokens = await login(server);
    const handled = server.tokenLog().filter((e) => e.grantType === 'refresh_token').length;
    const release = server.pauseTokenResponses();
    let answered = false;
    const pending = refresh(server, server.nativeClientId, tokens.refresh_token).then((answer) => { answered = true; return answer; });
    await server.waitForTokenRequests(handled + 1, 'refresh_token');
    assert.equal(answered, false, 'held');
    // Already rotated while held: a second use of the same refresh token is refused.
    const second = refresh(server, server.nativeClientId, tokens.refresh_token);
    await server.waitForTokenRequests(handled + 2, 'refresh_token');
    release();
    assert.equal((await pending).status, 200);
    assertInvalidGrant(await second);
  });

  test('a wrong code verifier is invalid_grant', async () => {
    const request = authorizationRequest(server);
    const { query } = await completeLogin(request.url);
    assertInvalidGrant(await exchange(server, request, query.code, randomBytes(32).toString('base64url')));
  });

  test('a reused code is invalid_grant', async () => {
    const request = authorizationRequest(server);
    const { query } = await completeLogin(request.url);
    assert.equal((await exchange(server, request, query.code)).status, 200);
    assertInvalidGrant(await exchange(server, request, query.code));
  });

  test('a request without a code challenge is refused at the authorize endpoint (PKCE required)', async () => {
    const request = authorizationRequest(server, { extra: { code_challenge: undefined, code_challenge_method: undefined } });
    const { query } = await completeLogin(request.url);
    assert.equal(query.error, 'invalid_request');
    assert.match(query.error_description, /requires PKCE/);
    assert.equal(query.code, undefined);
  });

  test('revokeAll(): a refresh token given out before is invalid_grant', async () => {
    const tokens = await login(server);
    assert.ok(server.revokeAll() >= 1);
    assertInvalidGrant(await refresh(server, server.nativeClientId, tokens.refresh_token));
  });

  test('the revocation endpoint revokes a refresh token (RFC 7009)', async () => {
    const tokens = await login(server);
    const revoked = await fetch(server.revocationUrl, {
      method: 'POST',
      headers: { origin: 'http://127.0.0.1:4321' },
      body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: server.nativeClientId }),
    });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.headers.get('access-control-allow-origin'), 'http://127.0.0.1:4321');
    assertInvalidGrant(await refresh(server, server.nativeClientId, tokens.refresh_token));
  });

  test('Cancel on the login page gives access_denied at the redirect URI', async () => {
    const request = authorizationRequest(server);
    const { query } = await completeLogin(request.url, { cancel: true });
    assert.equal(query.error, 'access_denied');
    assert.equal(query.state, request.state);
    assert.equal(query.code, undefined);
  });

  test('native client: any loopback port on a registered path; an unregistered path is refused', async () => {
    for (const uri of DEFAULT_NATIVE_REDIRECT_URIS) {
      const redirectUri = uri.replace(/^(http:\/\/[^/]+)/, '$1:8765');
      const { query } = await completeLogin(authorizationRequest(server, { redirectUri }).url);
      assert.match(query.code ?? '', /^[\w-]{20,}$/, redirectUri);
    }
    const bad = authorizationRequest(server, { redirectUri: 'http://127.0.0.1:8765/elsewhere' });
    await assert.rejects(completeLogin(bad.url), /login agent: 400 .*redirect_uri/);
  });

  test('follow: true fetches the callback (a CLI loopback listener)', async () => {
    const seen = [];
    const listener = http.createServer((req, res) => { seen.push(req.url); res.end('you may close this tab'); });
    await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const redirectUri = `http://127.0.0.1:${listener.address().port}/callback`;
      const request = authorizationRequest(server, { redirectUri });
      const { query, response } = await completeLogin(request.url, { follow: true });
      assert.deepEqual(response, { status: 200, body: 'you may close this tab' });
      assert.equal(seen.length, 1);
      assert.equal(new URL(seen[0], redirectUri).searchParams.get('code'), query.code);
      assert.equal((await exchange(server, request, query.code)).status, 200);
    } finally {
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  test('web (SPA) client: exact redirect URI, CORS for a loopback origin at the token endpoint', async () => {
    const [redirectUri] = server.webRedirectUris;
    const request = authorizationRequest(server, { clientId: server.webClientId, redirectUri });
    const { query, response } = await completeLogin(request.url, { follow: true });
    assert.equal(response.status, 200);
    assert.deepEqual(server.callbacks().at(-1), query);
    const answer = await fetch(server.tokenUrl, {
      method: 'POST',
      headers: { origin: 'http://127.0.0.1:1234' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: query.code, redirect_uri: redirectUri, client_id: server.webClientId, code_verifier: request.verifier,
      }),
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('access-control-allow-origin'), 'http://127.0.0.1:1234');
    const foreign = await fetch(server.tokenUrl, {
      method: 'POST',
      headers: { origin: 'https://example.com' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token', client_id: server.webClientId }),
    });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'no CORS for a non-loopback origin');
    assert.equal(foreign.status, 400);
    assert.equal((await foreign.json()).error, 'invalid_request', 'oidc-provider: origin not allowed for client');
    const wrongPort = authorizationRequest(server, { clientId: server.webClientId, redirectUri: redirectUri.replace(/:\d+\//, ':1/') });
    await assert.rejects(completeLogin(wrongPort.url), /login agent: 400/);
  });
});
