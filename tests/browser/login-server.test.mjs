// Chromium completes the login page of tests/servers/oidc-login.mjs (what the browser-flow
// and CLI-login tests build on): it opens an authorization request made here with PKCE
// S256, types a username, presses "Log in", and lands on a redirect URI served by a tiny
// local http server that records the query. The SPA case then exchanges the code from
// that page (another 127.0.0.1 origin), through the token endpoint's real CORS answers.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startLoginServer } from '../servers/oidc-login.mjs';
import { DEFAULT_AUDIENCE, artifact, launch } from './helpers.mjs';

/** A redirect URI listener on 127.0.0.1: records each query, answers a small page. */
async function callbackServer() {
  const queries = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/callback') queries.push(Object.fromEntries(url.searchParams));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>callback</title></head><body><p id="done">Logged in.</p></body></html>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    queries,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function authorizationRequest(login, clientId, redirectUri) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(login.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: login.scope, state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    audience: DEFAULT_AUDIENCE,
  }).toString();
  return { url: url.href, verifier, state };
}

/** Opens the authorization request in a page, logs in as `username`, waits for the callback. */
async function logIn(page, request, redirectUri, username) {
  await page.goto(request.url);
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
  return Object.fromEntries(new URL(page.url()).searchParams);
}

describe('Chromium completes the login page of the login server', () => {
  let browser;
  let callbacks;
  let login;
  before(async () => {
    callbacks = await callbackServer();
    login = await startLoginServer({ webRedirectUris: [`${callbacks.origin}/callback`] });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await login?.close();
    await callbacks?.close();
  });

  test('SPA client: login, callback on another origin, code exchanged by the page through CORS', async () => {
    const redirectUri = `${callbacks.origin}/callback`;
    const request = authorizationRequest(login, login.webClientId, redirectUri);
    const page = await browser.page();
    const query = await logIn(page, request, redirectUri, 'grace');
    assert.equal(query.state, request.state);
    assert.match(query.code, /^[\w-]{20,}$/);
    assert.deepEqual(callbacks.queries.at(-1), query, 'the redirect URI server saw the same query');
    assert.equal(login.authorizations().at(-1).audience, DEFAULT_AUDIENCE);

    const tokens = await page.evaluate(async ({ tokenUrl, body }) => {
      const response = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams(body) });
      return { status: response.status, body: await response.json() };
    }, {
      tokenUrl: login.tokenUrl,
      body: { grant_type: 'authorization_code', code: query.code, redirect_uri: redirectUri, client_id: login.webClientId, code_verifier: request.verifier },
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.token_type, 'Bearer');
    assert.match(tokens.body.refresh_token, /^[\w-]{20,}$/);
    assert.equal(login.codeExchanges(), 1);
    await page.screenshot({ path: artifact('login-server-spa.png') });
    await page.close();
  });

  test('native client: the redirect to a loopback listener on any port (RFC 8252 §7.3)', async () => {
    const redirectUri = `${callbacks.origin}/callback`; // registered as http://127.0.0.1/callback
    const request = authorizationRequest(login, login.nativeClientId, redirectUri);
    const page = await browser.page();
    const query = await logIn(page, request, redirectUri, 'linus');
    assert.equal(query.state, request.state);
    assert.match(query.code, /^[\w-]{20,}$/);
    assert.equal(await page.locator('#done').textContent(), 'Logged in.');
    await page.close();
  });

  test('nothing was loaded from outside loopback, and no page error', () => {
    assert.ok(browser.requests.length > 0);
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });
});
