// User login in the browser (issue #13): UserLogin (authorization code + PKCE S256 +
// `state`, then refresh tokens with rotation) in headless Chromium against a real
// authorization server (tests/servers/oidc-login.mjs, oidc-provider) on another loopback
// origin. The app's page (fixtures/login) is also its redirect URI: it calls
// `login.redirect()`, Chromium fills the server's login page, and back on the page
// `handleCallback(location.href)` exchanges the code through the token endpoint's CORS.
// Once with the ./web entry imported as it is, once bundled by esbuild (browser condition).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startLoginServer } from '../servers/oidc-login.mjs';
import { startStatic } from '../servers/static.mjs';
import { DEFAULT_AUDIENCE, HERE, PKG_DIR, artifact, launch } from './helpers.mjs';

const FIXTURE = join(HERE, 'fixtures', 'login');
// Seconds: short, so that a refresh is due (lifetime / 2 left) after 2 s.
const ACCESS_TOKEN_TTL = 4;

let work;
let site;
let login;
let browser;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'datacosmos-user-login-'));
  // The package by its name for esbuild: a node_modules-like folder with a link to pkg/.
  const modules = join(work, 'modules');
  mkdirSync(modules);
  symlinkSync(PKG_DIR, join(modules, 'datacosmos-auth'), 'dir');
  const esbuild = await import('esbuild');
  const built = await esbuild.build({
    entryPoints: [join(FIXTURE, 'main.js')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outfile: join(work, 'bundle', 'main.js'),
    nodePaths: [modules],
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(built.metafile.inputs).map((p) => p.replace(/\\/g, '/'));
  // The package as pkg/ or as installed in tests/browser/node_modules (the bundler tests install it).
  const from = (name) => inputs.some((p) => new RegExp(`(^|/)(pkg|datacosmos-auth)/${name}$`).test(p));
  assert.ok(from('index.js') && from('login.js'), inputs.join(', '));
  assert.ok(!from('node.js') && !from('node.cjs') && !from('workerd.js'), `the browser entry only: ${inputs.join(', ')}`);

  site = await startStatic({ mounts: { '/': FIXTURE, '/pkg/': PKG_DIR, '/bundle/': join(work, 'bundle') } });
  login = await startLoginServer({
    accessTokenTTL: ACCESS_TOKEN_TTL,
    webRedirectUris: [`${site.url}/callback.html`, `${site.url}/bundle.html`],
  });
  browser = await launch();
}, { timeout: 60_000 });

after(async () => {
  await browser?.close();
  await login?.close();
  await site?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const PAGES = { web: 'callback.html', bundle: 'bundle.html' };

/** The UserLogin config of a page (`keep`: storage = sessionStorage). */
const config = (flavour, extra = {}) => ({
  clientId: login.webClientId,
  redirectUri: `${site.url}/${PAGES[flavour]}`,
  authorizeUrl: login.authorizeUrl,
  tokenUrl: login.tokenUrl,
  revocationUrl: login.revocationUrl,
  ...extra,
});

/** Runs `fn(pkg, arg)` in the page (window.pkg: the package, however the page loaded it). */
function inPage(page, fn, arg) {
  return page.evaluate(async ([source, value]) => {
    // eslint-disable-next-line no-new-func
    return new Function('pkg', 'arg', `return (${source})(pkg, arg);`)(window.pkg, value);
  }, [fn.toString(), arg]);
}

async function ready(page) {
  await page.waitForFunction(() => window.ready === true);
}

/**
 * On a fresh page of `flavour`: `makeLogin(cfg).redirect()`, then Chromium at the login
 * page presses `button` ("Log in" as `username`, or "Cancel"); resolves on the callback.
 */
async function startLogin(page, flavour, cfg, { username = 'ada', button = 'Log in' } = {}) {
  await browser.context.clearCookies(); // no login session at the server: its page shows
  await page.goto(`${site.url}/${PAGES[flavour]}`);
  await ready(page);
  const authorizations = login.authorizations().length;
  const atLoginPage = page.waitForURL((url) => url.href.startsWith(`${login.origin}/interaction/`));
  await page.evaluate((c) => { window.makeLogin(c).redirect(); }, cfg);
  await atLoginPage;
  assert.equal(login.authorizations().length, authorizations + 1, 'one authorization request');
  if (button === 'Log in') await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: button }).click();
  await page.waitForURL((url) => url.href.startsWith(`${cfg.redirectUri}?`));
  await ready(page);
  return page.url();
}

/** handleCallback(location.href) on a new UserLogin; keeps it as window.login, its client as window.client. */
function handleCallback(page, cfg) {
  return inPage(page, async (pkg, c) => window.outcome((async () => {
    window.login = window.makeLogin(c);
    const sent = Date.now();
    window.client = await window.login.handleCallback(location.href);
    return { sent, info: await window.client.getTokenInfo() };
  })()), cfg);
}

/** Whether a new UserLogin on the page finds no session to restore. */
const noSession = (page, cfg) => inPage(page, async (pkg, c) => (await window.makeLogin(c).restore()) === null, cfg);
/** startLogin, then handleCallback, which must succeed: its { sent, info }. */
async function loggedIn(page, flavour, cfg) {
  await startLogin(page, flavour, cfg);
  const done = await handleCallback(page, cfg);
  assert.equal(done.code, undefined, done.text);
  return done.value;
}

const getTokenInfo = (page) => inPage(page, () => window.outcome(window.client.getTokenInfo()));
const sessionKeys = (page) => inPage(page, () => Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])));
const storageKey = (clientId) => `datacosmos-auth:user:${clientId}`;

/** Waits (not an assertion) until `ms` past the epoch time `at`. */
const waitUntil = (page, at) => page.waitForTimeout(Math.max(0, at - Date.now()));

/**
 * The main flow on a page of `flavour`: login, token, a due refresh with rotation,
 * client.fetch with the bearer, reload restores (sessionStorage), logout revokes.
 */
async function mainFlow(flavour) {
  const cfg = config(flavour, { keep: true });
  await browser.withPage(async (page) => {
    const codes = login.codeExchanges();
    const callbackUrl = await startLogin(page, flavour, cfg);
    const sent = login.authorizations().at(-1);
    const query = new URL(callbackUrl).searchParams;
    assert.equal(query.get('state'), sent.state);
    assert.ok(query.get('code'));

    const done = await handleCallback(page, cfg);
    assert.equal(done.code, undefined, done.text);
    const { info } = done.value;
    assert.equal(info.tokenType, 'Bearer');
    assert.ok(info.accessToken.length >= 20);
    assert.ok(Math.abs(info.expiresAt - (done.value.sent + ACCESS_TOKEN_TTL * 1000)) < 2_000, `expiresAt ${info.expiresAt}`);
    assert.equal(login.codeExchanges() - codes, 1, 'one code exchange');
    let stored = await sessionKeys(page);
    const key = storageKey(cfg.clientId);
    const firstRefresh = stored[`${key}:refresh`];
    assert.match(firstRefresh ?? '', /^[\w-]{20,}$/, 'the refresh token is kept in sessionStorage');
    assert.ok(stored[`${key}:token`]?.includes(info.accessToken), 'the access token entry too');
    assert.deepEqual(Object.keys(stored).filter((k) => k.startsWith('datacosmos-auth:pending:')), [], 'the pending login is gone');

    // A refresh once it is due (lifetime / 2 left): a new access token and refresh token.
    const refreshes = login.refreshRequests();
    await waitUntil(page, info.expiresAt - (ACCESS_TOKEN_TTL * 1000) / 2 + 200);
    const renewed = await getTokenInfo(page);
    assert.equal(renewed.code, undefined, renewed.text);
    assert.notEqual(renewed.value.accessToken, info.accessToken, 'a new access token');
    assert.equal(login.refreshRequests() - refreshes, 1, 'one refresh_token grant');
    assert.deepEqual(login.tokenLog().at(-1), { grantType: 'refresh_token', status: 200, error: undefined });
    stored = await sessionKeys(page);
    const secondRefresh = stored[`${key}:refresh`];
    assert.match(secondRefresh ?? '', /^[\w-]{20,}$/);
    assert.notEqual(secondRefresh, firstRefresh, 'the refresh token was rotated and the new one kept');

    // client.fetch: the bearer reaches a protected resource of the authorization server.
    const me = await inPage(page, async (pkg, url) => {
      const res = await window.client.fetch(url);
      return { status: res.status, body: await res.json(), token: await window.client.getToken() };
    }, login.apiUrl);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.sub, 'ada');
    assert.equal(me.token, renewed.value.accessToken);

    // A reload restores the session from sessionStorage: no new login, no code exchange.
    const requests = login.tokenRequests();
    const authorizations = login.authorizations().length;
    await page.reload();
    await ready(page);
    const restored = await inPage(page, async (pkg, c) => window.outcome((async () => {
      window.login = window.makeLogin(c);
      window.client = await window.login.restore();
      return window.client && window.client.getTokenInfo();
    })()), cfg);
    assert.equal(restored.code, undefined, restored.text);
    assert.equal(restored.value.accessToken, renewed.value.accessToken, 'the stored access token, still valid');
    assert.equal(login.tokenRequests() - requests, 0, 'no token request');
    assert.equal(login.authorizations().length - authorizations, 0, 'no login');

    // logout(): revocation (RFC 7009) at the server, sessionStorage cleared.
    const revocations = login.revocations().length;
    await inPage(page, () => window.login.logout());
    assert.deepEqual(login.revocations().slice(revocations), [{ tokenTypeHint: 'refresh_token', status: 200 }]);
    stored = await sessionKeys(page);
    assert.deepEqual(Object.keys(stored).filter((k) => k.startsWith(key)), [], 'nothing of the session left');
    assert.deepEqual(await login.refresh(secondRefresh), { status: 400, error: 'invalid_grant' }, 'the revoked refresh token is refused');
    assert.equal(await noSession(page, cfg), true, 'no session after logout');
    await page.screenshot({ path: artifact(`user-login-${flavour}.png`) });
  });
}

describe('user login in Chromium: the ./web entry, no bundler', { timeout: 90_000 }, () => {
  test('login → callback → token; a due refresh rotates the refresh token; client.fetch sends the bearer; with sessionStorage a reload restores; logout revokes', async () => {
    await mainFlow('web');
  });

  test('the authorization request: response_type code, S256 code challenge, state, scope, audience, redirect URI', () => browser.withPage(async (page) => {
    const cfg = config('web');
    await startLogin(page, 'web', cfg);
    const sent = login.authorizations().at(-1);
    assert.equal(sent.response_type, 'code');
    assert.equal(sent.client_id, login.webClientId);
    assert.equal(sent.redirect_uri, cfg.redirectUri);
    assert.equal(sent.code_challenge_method, 'S256');
    assert.match(sent.code_challenge, /^[\w-]{43}$/);
    assert.match(sent.state, /^[\w-]{43}$/);
    assert.equal(sent.scope, 'openid profile email offline_access');
    assert.equal(sent.audience, DEFAULT_AUDIENCE);
  }));

  test('memory only (no storage): the token is served, nothing of it in sessionStorage, a reload has no session', () => browser.withPage(async (page) => {
    const cfg = config('web');
    const token = (await loggedIn(page, 'web', cfg)).info.accessToken;
    const stored = await sessionKeys(page);
    assert.deepEqual(Object.keys(stored).filter((k) => k.startsWith('datacosmos-auth:')), [], 'no session or pending entry');
    assert.ok(!Object.values(stored).some((v) => v.includes(token)), 'the token is not in sessionStorage');
    const refreshes = login.refreshRequests();
    const again = await getTokenInfo(page);
    assert.equal(again.value.accessToken, token, 'served from memory');
    assert.equal(login.refreshRequests() - refreshes, 0);

    await page.reload();
    await ready(page);
    const requests = login.tokenRequests();
    assert.equal(await noSession(page, cfg), true, 'restore() is null: the session lived in the page only');
    assert.equal(login.tokenRequests() - requests, 0);
  }));

  test('a tampered state is state_mismatch, before any token request', () => browser.withPage(async (page) => {
    const cfg = config('web');
    const callbackUrl = await startLogin(page, 'web', cfg);
    const tampered = new URL(callbackUrl);
    const state = tampered.searchParams.get('state');
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    const requests = login.tokenRequests();
    const out = await inPage(page, async (pkg, [c, url]) => window.outcome(window.makeLogin(c).handleCallback(url)), [cfg, tampered.href]);
    assert.equal(out.isOAuthError, true);
    assert.equal(out.code, 'state_mismatch');
    assert.equal(login.tokenRequests() - requests, 0);
  }));

  test('"Cancel" at the login page: error=access_denied reaches the caller as code access_denied with its description', () => browser.withPage(async (page) => {
    const cfg = config('web');
    const callbackUrl = await startLogin(page, 'web', cfg, { button: 'Cancel' });
    assert.equal(new URL(callbackUrl).searchParams.get('error'), 'access_denied');
    const requests = login.tokenRequests();
    const out = await handleCallback(page, cfg);
    assert.equal(out.isOAuthError, true);
    assert.equal(out.code, 'access_denied');
    assert.equal(out.description, 'the user cancelled the login');
    assert.equal(login.tokenRequests() - requests, 0);
  }));

  test('a callback handled twice: the second is state_mismatch (a pending login is used once, a callback claimed once per page); the same code sent again from a reloaded page is invalid_grant at the server', () => browser.withPage(async (page) => {
    const cfg = config('web');
    await startLogin(page, 'web', cfg);
    // The pending login as the first UserLogin left it in sessionStorage, copied before use.
    const pending = Object.entries(await sessionKeys(page)).filter(([k]) => k.startsWith('datacosmos-auth:pending:'));
    assert.equal(pending.length, 1, 'one pending login waits in sessionStorage');
    const first = await handleCallback(page, cfg);
    assert.equal(first.code, undefined, first.text);

    const requests = login.tokenRequests();
    const second = await handleCallback(page, cfg);
    assert.equal(second.code, 'state_mismatch');
    assert.equal(login.tokenRequests() - requests, 0, 'no second exchange');

    // Put back, the pending login is still refused by this page (a callback is claimed
    // once per page: the code is never sent twice from here).
    await inPage(page, async (pkg, [k, v]) => sessionStorage.setItem(k, v), pending[0]);
    const again = await handleCallback(page, cfg);
    assert.equal(again.code, 'state_mismatch');
    assert.equal(login.tokenRequests() - requests, 0, 'still no second exchange');
    // On a reloaded page (a fresh module) with the pending login put back, the code
    // itself is presented again: the server refuses it.
    const codes = login.codeExchanges();
    await page.reload();
    await ready(page);
    const reused = await handleCallback(page, cfg);
    assert.equal(reused.isOAuthError, true);
    assert.equal(reused.code, 'invalid_grant');
    assert.equal(reused.status, 400);
    assert.equal(login.codeExchanges() - codes, 1);
    assert.deepEqual(login.tokenLog().at(-1), { grantType: 'authorization_code', status: 400, error: 'invalid_grant' });
    const verifier = JSON.parse(pending[0][1]).codeVerifier;
    assert.ok(!reused.text.includes(verifier), 'the code verifier is not in the error');
  }));

  test('a wrong code verifier is invalid_grant (PKCE), and the verifier is not in the error', () => browser.withPage(async (page) => {
    const cfg = config('web');
    await startLogin(page, 'web', cfg);
    const wrong = 'w'.repeat(43);
    await inPage(page, async (pkg, verifier) => {
      const k = Object.keys(sessionStorage).find((name) => name.startsWith('datacosmos-auth:pending:'));
      sessionStorage.setItem(k, JSON.stringify({ ...JSON.parse(sessionStorage.getItem(k)), codeVerifier: verifier }));
    }, wrong);
    const out = await handleCallback(page, cfg);
    assert.equal(out.code, 'invalid_grant');
    assert.equal(out.status, 400);
    assert.ok(!out.text.includes(wrong), 'the code verifier is not in the error');
    assert.deepEqual(login.tokenLog().at(-1), { grantType: 'authorization_code', status: 400, error: 'invalid_grant' });
  }));

  test('logout() during a refresh: the rotated refresh token that arrives afterwards is not stored (no session comes back)', () => browser.withPage(async (page) => {
    const cfg = config('web', { keep: true });
    await startLogin(page, 'web', cfg);
    // The page's fetch, wrapped: `window.onFetch` is called as a token request starts,
    // `window.answered` settles once its response is read; a revocation waits for that
    // answer (so the server has rotated the refresh token before anything is revoked).
    const done = await inPage(page, async (pkg, c) => window.outcome((async () => {
      window.login = window.makeLogin({
        ...c,
        fetch: async (url, init) => {
          if (String(url) === c.revocationUrl) {
            await window.answered;
            return fetch(url, init);
          }
          window.onFetch?.();
          const answer = fetch(url, init).then(async (res) => new Response(await res.text(), { status: res.status, headers: res.headers }));
          window.answered = answer.then(() => {}, () => {});
          return answer;
        },
      });
      window.client = await window.login.handleCallback(location.href);
      return window.client.getTokenInfo();
    })()), cfg);
    assert.equal(done.code, undefined, done.text);
    await waitUntil(page, done.value.expiresAt - (ACCESS_TOKEN_TTL * 1000) / 2 + 200);
    const refreshes = login.refreshRequests();
    const revocations = login.revocations().length;
    const left = await inPage(page, async () => {
      const sending = new Promise((resolve) => { window.onFetch = resolve; });
      const renewal = window.client.getToken().catch(() => {});
      await sending; // the refresh is now in flight
      await window.login.logout();
      await window.answered; // its answer (a new refresh token) came back after the logout
      await renewal;
      await new Promise((resolve) => setTimeout(resolve, 100)); // the driver has handled it
      return Object.keys(sessionStorage).filter((k) => k.startsWith('datacosmos-auth:user:'));
    });
    assert.equal(login.refreshRequests() - refreshes, 1, 'the refresh was sent');
    assert.deepEqual(login.tokenLog().at(-1), { grantType: 'refresh_token', status: 200, error: undefined });
    assert.deepEqual(left, [], 'nothing of the session in sessionStorage');
    // Two revocations (in either order): the refresh token logout() knew, and the one that arrived late.
    assert.deepEqual(login.revocations().slice(revocations), Array(2).fill({ tokenTypeHint: 'refresh_token', status: 200 }));
    assert.equal(await noSession(page, cfg), true, 'restore() finds no session after logout');
  }));

  test('a revoked refresh token: the next due refresh rejects invalid_grant (once no unexpired token is left)', () => browser.withPage(async (page) => {
    const cfg = config('web');
    const { info } = await loggedIn(page, 'web', cfg);
    assert.ok(login.revokeAll() >= 1, 'the grant is revoked at the server');
    const refreshes = login.refreshRequests();
    await waitUntil(page, info.expiresAt + 100);
    const out = await getTokenInfo(page);
    assert.equal(out.isOAuthError, true);
    assert.equal(out.code, 'invalid_grant');
    assert.ok(login.refreshRequests() - refreshes >= 1, 'the refresh was sent');
    assert.deepEqual(login.tokenLog().at(-1), { grantType: 'refresh_token', status: 400, error: 'invalid_grant' });
  }));
});

describe('user login in Chromium: bundled by esbuild (browser condition)', { timeout: 90_000 }, () => {
  test('the same flow from the bundle: login, refresh with rotation, client.fetch, reload restores, logout revokes', async () => {
    await mainFlow('bundle');
  });
});

describe('user login in Chromium: hygiene', () => {
  test('nothing was loaded from outside loopback; the only console errors are the refused token requests', () => {
    assert.ok(browser.requests.length > 0);
    assert.deepEqual(browser.outside(), []);
    const unexpected = browser.problems.filter((p) => !/status of 400 \(Bad Request\)/.test(p));
    assert.deepEqual(unexpected, []);
  });
});
