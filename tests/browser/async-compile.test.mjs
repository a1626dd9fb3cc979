// The browser entry (pkg/index.js) compiles its wasm asynchronously. Older Chrome and
// Android WebViews refuse `new WebAssembly.Module` / `new WebAssembly.Instance` of modules
// over 4 KB on the main thread; the pages here either refuse them the same way (an init
// script replaces both constructors before any script runs) or count them. A package that
// compiled at import (as the entry did before) fails every test with `refuse`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startStatic } from '../servers/static.mjs';
import { HERE, PKG_DIR, jwtClaims, launch, wasmOnTheMainThread } from './helpers.mjs';

const alice = { clientId: 'alice', clientSecret: 'alice-secret-6bc1bee22e409f96' };

let demo;
let site;
let browser;

before(async () => {
  demo = await startDemo({ clients: [alice] });
  site = await startStatic({ mounts: { '/': join(HERE, 'fixtures', 'web'), '/pkg/': PKG_DIR } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await demo?.close();
});

/**
 * A fresh page (a fresh module instance) with the WebAssembly rules `rules`, in which
 * `fn(pkg, arg)` runs in the same task as the import of /pkg/index.js completing; returns
 * its result and the page's `wasmCalls`.
 */
async function fresh(rules, fn, arg) {
  const page = await browser.page();
  try {
    await page.addInitScript(wasmOnTheMainThread, rules);
    await page.goto(`${site.url}/`);
    return await page.evaluate(async ([source, value]) => {
      const pkg = await import('/pkg/index.js');
      // eslint-disable-next-line no-new-func
      const result = await new Function('pkg', 'arg', `return (${source})(pkg, arg);`)(pkg, value);
      return { result, calls: window.wasmCalls };
    }, [fn.toString(), arg]);
  } finally {
    await page.close();
  }
}

const config = (extra = {}) => ({ ...alice, tokenUrl: demo.tokenUrl, ...extra });

describe('asynchronous compilation of the wasm in Chromium', { timeout: 60_000 }, () => {
  test('synchronous compilation refused: a client constructed at import gets a token', async () => {
    const before = demo.tokenRequests();
    const { result, calls } = await fresh({ refuse: true }, async ({ TokenClient }, cfg) => {
      const client = new TokenClient(cfg); // before the wasm is instantiated
      const info = await client.getTokenInfo();
      return {
        isClient: client instanceof TokenClient,
        info,
        again: await client.getToken(),
        header: await client.authorizationHeader(),
      };
    }, config());
    assert.equal(result.isClient, true);
    assert.equal(jwtClaims(result.info.accessToken).sub, `${alice.clientId}@clients`);
    assert.equal(result.again, result.info.accessToken, 'the second call is served from the cache');
    assert.equal(result.header, `Bearer ${result.info.accessToken}`);
    assert.equal(demo.tokenRequests() - before, 1);
    assert.ok(calls.syncCompile >= 1, 'the entry tried to compile synchronously, and was refused');
    assert.equal(calls.instantiate, 1, 'instantiated once, asynchronously');
  });

  test('synchronous compilation refused: invalid options reject the first call with invalid_config', async () => {
    const { result } = await fresh({ refuse: true }, async ({ TokenClient, OAuthError }, cfg) => {
      const outcome = (p) => p.then(() => 'resolved', (e) => ({ code: e.code, message: e.message, isOAuthError: e instanceof OAuthError }));
      let jsSide;
      try {
        new TokenClient(null);
      } catch (e) {
        jsSide = e.code; // checked by the driver, synchronously as ever
      }
      const bad = new TokenClient({ ...cfg, clientSecret: undefined });
      const badEnv = TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: 'x' });
      return {
        jsSide,
        bad: await outcome(bad.getToken()),
        again: await outcome(bad.getTokenInfo()),
        fromEnv: await outcome(badEnv.getToken()),
      };
    }, config());
    assert.equal(result.jsSide, 'invalid_config');
    const missing = { code: 'invalid_config', message: 'invalid config: clientSecret is required', isOAuthError: true };
    assert.deepEqual(result.bad, missing);
    assert.deepEqual(result.again, missing);
    assert.deepEqual(result.fromEnv, missing);
  });

  test('synchronous compilation refused: fromEnv, fromCredentials, getToken(config), fetch, clear and free', async () => {
    const before = demo.tokenRequests();
    const { result } = await fresh({ refuse: true }, async ({ TokenClient, getToken }, { cfg, resourceUrl }) => {
      const env = TokenClient.fromEnv({ DATACOSMOS_CLIENT_ID: cfg.clientId, DATACOSMOS_CLIENT_SECRET: cfg.clientSecret, DATACOSMOS_TOKEN_URL: cfg.tokenUrl });
      const creds = TokenClient.fromCredentials({ client_id: cfg.clientId, client_secret: cfg.clientSecret }, { tokenUrl: cfg.tokenUrl });
      const oneShot = getToken(cfg);
      const freed = new TokenClient(cfg);
      freed.free();
      const cleared = new TokenClient(cfg);
      cleared.clear();
      const res = await env.fetch(resourceUrl);
      return {
        env: (await env.getToken()).length > 0,
        creds: (await creds.getToken()).length > 0,
        oneShot: (await oneShot).length > 0,
        api: res.status,
        cleared: (await cleared.getToken()).length > 0,
        freed: await freed.getToken().then(() => 'resolved', (e) => e.code),
      };
    }, { cfg: config(), resourceUrl: demo.resourceUrl });
    assert.deepEqual(result, { env: true, creds: true, oneShot: true, api: 200, cleared: true, freed: 'invalid_config' });
    assert.equal(demo.tokenRequests() - before, 4, 'env, credentials, the one-shot getToken and the cleared client');
  });

  test('importing compiles nothing synchronously; a client constructed after that uses the asynchronous instance', async () => {
    const { result, calls } = await fresh({ refuse: false }, async ({ TokenClient, getToken }, cfg) => {
      const token = await getToken(cfg); // waits for the asynchronous instantiation
      let code;
      try {
        new TokenClient({ ...cfg, clientSecret: undefined });
      } catch (e) {
        code = e.code;
      }
      return { token: token.length > 0, code, calls: { ...window.wasmCalls } };
    }, config());
    assert.deepEqual(result, { token: true, code: 'invalid_config', calls: { syncCompile: 0, syncInstantiate: 0, instantiate: 1 } });
    assert.deepEqual(calls, result.calls);
  });

  test('where synchronous compilation is allowed, a bad config constructed at import still throws at once', async () => {
    const { result, calls } = await fresh({ refuse: false }, ({ TokenClient }, cfg) => {
      try {
        new TokenClient({ ...cfg, clientSecret: undefined });
        return 'constructed';
      } catch (e) {
        return e.code;
      }
    }, config());
    assert.equal(result, 'invalid_config');
    assert.equal(calls.syncCompile, 1, 'compiled synchronously, as the runtime allows');
  });

  test('synchronous compilation refused: a UserLogin made at import with a bad TokenClient option fails authorizationUrl(), before the user is sent to log in', async () => {
    const { result } = await fresh({ refuse: true }, async ({ UserLogin }, tokenUrl) => {
      const outcome = (p) => p.then(() => 'resolved', (e) => e.code);
      const base = { clientId: 'spa', redirectUri: `${location.origin}/callback`, authorizeUrl: tokenUrl, tokenUrl, transientStorage: null };
      let constructed;
      try {
        constructed = new UserLogin({ ...base, timeoutMs: -1 }); // before the wasm is instantiated
      } catch (e) {
        return { thrown: e.code };
      }
      return {
        bad: await outcome(constructed.authorizationUrl()),
        good: await outcome(new UserLogin(base).authorizationUrl()),
      };
    }, demo.tokenUrl);
    assert.deepEqual(result, { bad: 'invalid_config', good: 'resolved' });
  });

  test('no unexpected console errors', () => {
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });
});
