// The package's `./web` entry (pkg/index.js) in headless Chromium, imported by a page
// served from one loopback origin and talking to the demo token server on another, as a
// browser app would: the requests are real cross-origin fetches with CORS.
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import { startStatic } from '../servers/static.mjs';
import { DEFAULT_AUDIENCE, HERE, PKG_DIR, jwtClaims, launch } from './helpers.mjs';

const alice = { clientId: 'alice', clientSecret: 'alice-secret-6bc1bee22e409f96' };
const CORS = { 'access-control-allow-origin': '*' };

let demo;
let proxy; // in front of `demo`, for retries and timeouts
let site;
let browser;
let page;

const mounts = { '/': join(HERE, 'fixtures', 'web'), '/pkg/': PKG_DIR };
const config = (extra = {}) => ({ ...alice, tokenUrl: demo.tokenUrl, ...extra });

/** Runs `fn(pkg, arg)` in the page, with pkg = the module imported from /pkg/index.js. */
function inPage(fn, arg) {
  return page.evaluate(async ([source, value]) => {
    const pkg = await import('/pkg/index.js');
    // eslint-disable-next-line no-new-func
    return new Function('pkg', 'arg', `return (${source})(pkg, arg);`)(pkg, value);
  }, [fn.toString(), arg]);
}

/** Counts demo token requests made while `fn` runs. */
async function counted(fn) {
  const from = demo.tokenRequests();
  const value = await fn();
  return { value, count: demo.tokenRequests() - from };
}

before(async () => {
  demo = await startDemo({ clients: [alice] });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
  site = await startStatic({ mounts });
  browser = await launch();
  // The page can ask the test to rotate the demo server's signing key.
  await browser.context.exposeFunction('rotateKey', () => demo.rotateKey());
  page = await browser.page();
  await page.goto(`${site.url}/`);
});

after(async () => {
  await browser?.close();
  await site?.close();
  await proxy?.close();
  await demo?.close();
});

describe('the ./web entry in Chromium', { timeout: 60_000 }, () => {
  test('importing it compiles the embedded wasm: no .wasm request, only the package modules', async () => {
    const from = browser.requests.length;
    const names = await page.evaluate(async () => Object.keys(await import('/pkg/index.js')));
    for (const name of ['OAuthError', 'TokenClient', 'getToken']) assert.ok(names.includes(name), name);
    const loaded = browser.requests.slice(from);
    assert.ok(loaded.length > 0, 'the modules were fetched');
    for (const url of loaded) {
      assert.ok(url.startsWith(`${site.url}/pkg/`) && url.endsWith('.js'), `only package modules: ${url}`);
    }
  });

  test('getTokenInfo: a JWT from the demo server, "Bearer", expiresAt ≈ now + expires_in', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient }, cfg) => {
      const client = new TokenClient(cfg);
      const sent = Date.now();
      const info = await client.getTokenInfo();
      return { info, sent, header: await client.authorizationHeader() };
    }, config()));
    assert.equal(count, 1);
    const { info, sent, header } = value;
    assert.equal(info.tokenType, 'Bearer');
    const claims = jwtClaims(info.accessToken);
    assert.equal(claims.sub, 'alice@clients');
    assert.equal(claims.aud, DEFAULT_AUDIENCE);
    assert.ok(Math.abs(info.expiresAt - (sent + 3600_000)) < 5_000, `expiresAt ${info.expiresAt} vs ${sent}`);
    assert.equal(header, `Bearer ${info.accessToken}`);
    assert.equal(demo.requests.at(-1).params.audience, DEFAULT_AUDIENCE);
  });

  test('caching: later calls reuse the token; concurrent callers share one request', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient }, cfg) => {
      const client = new TokenClient(cfg);
      const burst = await Promise.all(Array.from({ length: 5 }, () => client.getToken()));
      const later = await client.getToken();
      const info = await client.getTokenInfo();
      return { burst, later, info };
    }, config()));
    assert.equal(count, 1, 'one token request for all calls');
    assert.equal(new Set(value.burst).size, 1);
    assert.equal(value.later, value.burst[0]);
    assert.equal(value.info.accessToken, value.burst[0]);
  });

  test('clear() forgets the token: the next call asks again', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient }, cfg) => {
      const client = new TokenClient(cfg);
      const first = await client.getToken();
      client.clear();
      return { first, second: await client.getToken() };
    }, config()));
    assert.equal(count, 2);
    assert.notEqual(value.first, value.second);
  });

  test('one-shot getToken(config) shares the module-level cache', async () => {
    const { value, count } = await counted(() => inPage(async ({ getToken }, cfg) => {
      const a = await getToken(cfg);
      return { a, b: await getToken({ ...cfg }) };
    }, config({ scope: 'one-shot' })));
    assert.equal(count, 1);
    assert.equal(value.a, value.b);
  });

  test('client_secret_basic and JSON bodies pass the CORS preflight', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient }, cfg) => {
      const basic = await new TokenClient({ ...cfg, authMethod: 'client_secret_basic' }).getToken();
      const json = await new TokenClient({ ...cfg, bodyEncoding: 'json' }).getToken();
      return { basic, json };
    }, config()));
    assert.equal(count, 2);
    jwtClaims(value.basic);
    jwtClaims(value.json);
    const [basic, json] = demo.requests.slice(-2);
    assert.equal(basic.authMethod, 'client_secret_basic');
    assert.equal(json.contentType, 'application/json');
  });

  test('a shared store: a second client reuses the sealed token (WebCrypto), in memory and the Cache API', async () => {
    const secret = config().clientSecret;
    const { value, count } = await counted(() => inPage(async (pkg, cfg) => {
      const out = {};
      const stores = { memory: pkg.memoryStore(), cache: pkg.cacheStore(await caches.open('datacosmos-auth-test')) };
      for (const [name, inner] of Object.entries(stores)) {
        const written = [];
        const store = {
          get: (key) => inner.get(key),
          put: (key, val, options) => { written.push(val); return inner.put(key, val, options); },
          delete: (key) => inner.delete(key),
          ...(inner.add ? { add: (key, val, options) => { written.push(val); return inner.add(key, val, options); } } : {}),
        };
        const first = await new pkg.TokenClient({ ...cfg, store }).getToken();
        const second = await new pkg.TokenClient({ ...cfg, store }).getToken();
        out[name] = { first, second, written };
      }
      return out;
    }, config({ scope: 'shared-store' })));
    assert.equal(count, 2, 'one token request per store');
    for (const [name, { first, second, written }] of Object.entries(value)) {
      assert.equal(second, first, `${name}: the second client got the stored token`);
      assert.ok(written.length > 0, `${name}: something was stored`);
      for (const text of written) {
        assert.ok(!text.includes(first) && !text.includes(first.split('.')[1]), `${name}: no token in clear`);
        assert.ok(!text.includes(secret), `${name}: no secret`);
      }
    }
  });

  test('client.fetch: a cross-origin API call with the bearer token', async () => {
    const from = demo.resourceRequests();
    const value = await inPage(async ({ TokenClient }, [cfg, url]) => {
      const res = await new TokenClient(cfg).fetch(url);
      return { status: res.status, body: await res.json() };
    }, [config(), demo.resourceUrl]);
    assert.equal(value.status, 200);
    assert.deepEqual(value.body.collections.map((c) => c.id), ['menut-l1b', 'hammer-l2a']);
    assert.equal(demo.resourceRequests() - from, 1);
  });

  test('client.fetch: a 401 from the API refreshes the token once and retries once', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient }, [cfg, url]) => {
      const client = new TokenClient(cfg);
      const before = await client.getToken();
      await window.rotateKey(); // the server now rejects every token issued so far
      const res = await client.fetch(url);
      return { status: res.status, before, after: await client.getToken() };
    }, [config(), demo.resourceUrl]));
    assert.equal(value.status, 200);
    assert.equal(count, 2);
    assert.notEqual(value.before, value.after);
  });

  test('a wrong secret rejects with an OAuthError: instanceof, code, status, description, no secret', async () => {
    const secret = 'wrong-secret-a1b2c3d4e5';
    const { value, count } = await counted(() => inPage(async ({ TokenClient, OAuthError }, cfg) => {
      try {
        await new TokenClient(cfg).getToken();
        return { resolved: true };
      } catch (err) {
        return {
          isOAuthError: err instanceof OAuthError,
          isError: err instanceof Error,
          name: err.name,
          code: err.code,
          status: err.status,
          description: err.description,
          text: [err.message, String(err), JSON.stringify(err), err.stack ?? ''].join('\n'),
        };
      }
    }, config({ clientSecret: secret })));
    assert.equal(value.resolved, undefined);
    assert.equal(value.isOAuthError, true);
    assert.equal(value.isError, true);
    assert.equal(value.name, 'OAuthError');
    assert.equal(value.code, 'access_denied');
    assert.equal(value.status, 401);
    assert.equal(value.description, 'Unauthorized');
    assert.ok(!value.text.includes(secret), 'the secret is not in the error');
    assert.equal(count, 1, 'a 401 is not retried');
  });

  test('an invalid config throws OAuthError("invalid_config") synchronously, before any request', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient, OAuthError, getToken }) => {
      const cfg = { clientId: 'a', clientSecret: 'b', tokenUrl: 'http://example.com/oauth/token' };
      let thrown;
      try {
        new TokenClient(cfg); // eslint-disable-line no-new
      } catch (err) {
        thrown = { isOAuthError: err instanceof OAuthError, code: err.code };
      }
      const oneShot = await getToken(cfg).then(() => null, (err) => err.code);
      return { thrown, oneShot };
    }));
    assert.deepEqual(value.thrown, { isOAuthError: true, code: 'invalid_config' });
    assert.equal(value.oneShot, 'invalid_config');
    assert.equal(count, 0);
  });

  test('fromCredentials and fromEnv(env) work; fromEnv() with no environment is invalid_config', async () => {
    const { value, count } = await counted(() => inPage(async ({ TokenClient, OAuthError }, cfg) => {
      const file = { client_id: cfg.clientId, client_secret: cfg.clientSecret, audience: 'https://beeapp.open-cosmos.com', grant_type: 'client_credentials' };
      const fromFile = await TokenClient.fromCredentials(JSON.stringify(file), { tokenUrl: cfg.tokenUrl, scope: 'from-file' }).getToken();
      const env = { DATACOSMOS_CLIENT_ID: cfg.clientId, DATACOSMOS_CLIENT_SECRET: cfg.clientSecret, DATACOSMOS_TOKEN_URL: cfg.tokenUrl, DATACOSMOS_SCOPE: 'from-env' };
      const fromEnv = await TokenClient.fromEnv(env).getToken();
      let noEnv;
      try {
        TokenClient.fromEnv();
        noEnv = 'no error';
      } catch (err) {
        noEnv = err instanceof OAuthError ? err.code : `${err.name}: ${err.message}`;
      }
      return { fromFile, fromEnv, noEnv };
    }, config()));
    assert.equal(count, 2);
    assert.equal(jwtClaims(value.fromFile).scope, 'from-file');
    assert.equal(jwtClaims(value.fromEnv).scope, 'from-env');
    assert.equal(value.noEnv, 'invalid_config');
  });

  test('network_error when nothing listens (status undefined)', async () => {
    const closed = http.createServer();
    await new Promise((ok) => closed.listen(0, '127.0.0.1', ok));
    const { port } = closed.address();
    await new Promise((ok) => closed.close(ok));
    const value = await inPage(async ({ TokenClient, OAuthError }, cfg) => {
      const err = await new TokenClient(cfg).getToken().then(() => null, (e) => e);
      return { isOAuthError: err instanceof OAuthError, code: err?.code, status: err?.status ?? 'undefined' };
    }, config({ tokenUrl: `http://127.0.0.1:${port}/oauth/token`, maxRetries: 0 }));
    assert.deepEqual(value, { isOAuthError: true, code: 'network_error', status: 'undefined' });
  });

  test('retries with backoff: a 503 with Retry-After: 0, then the token', async () => {
    proxy.queue({ status: 503, body: { error: 'temporarily_unavailable' }, headers: { ...CORS, 'retry-after': '0' } });
    const from = proxy.requests.length;
    const value = await inPage(async ({ TokenClient }, cfg) => new TokenClient(cfg).getToken(), config({ tokenUrl: proxy.tokenUrl }));
    jwtClaims(value);
    assert.equal(proxy.requests.length - from, 2);
  });

  test('timeout: an endpoint that never answers fails with code "timeout" after timeoutMs', async () => {
    proxy.queue({ stall: true });
    const value = await inPage(async ({ TokenClient }, cfg) => {
      const started = performance.now();
      const err = await new TokenClient(cfg).getToken().then(() => null, (e) => e);
      return { code: err?.code, status: err?.status ?? 'undefined', ms: performance.now() - started };
    }, config({ tokenUrl: proxy.tokenUrl, timeoutMs: 400, maxRetries: 0 }));
    assert.equal(value.code, 'timeout');
    assert.equal(value.status, 'undefined');
    assert.ok(value.ms >= 350 && value.ms < 5_000, `${value.ms} ms`);
    proxy.clearQueue();
  });

  test('the page loaded nothing from outside loopback and logged no errors', () => {
    assert.deepEqual(browser.outside(), []);
    const unexpected = browser.problems.filter((p) => !/status of (401|503)|ERR_CONNECTION_REFUSED/.test(p));
    assert.deepEqual(unexpected, []);
  });
});

describe('the ./web entry under a Content-Security-Policy', { timeout: 60_000 }, () => {
  const csp = (scriptSrc) => [
    "default-src 'none'", `script-src ${scriptSrc}`, 'connect-src http://127.0.0.1:*', 'img-src data:',
  ].join('; ');

  // The page's own module script imports the entry (fixtures/web/probe.js): code run
  // through page.evaluate is exempt from some CSP checks.
  async function importUnder(scriptSrc) {
    const strict = await startStatic({ mounts, headers: { 'content-security-policy': csp(scriptSrc) } });
    const tab = await browser.page();
    try {
      await tab.goto(`${strict.url}/probe.html#${encodeURIComponent(JSON.stringify(config()))}`);
      await tab.waitForFunction(() => window.probe);
      return await tab.evaluate(() => window.probe);
    } finally {
      await tab.close();
      await strict.close();
    }
  }

  test("script-src 'self' 'wasm-unsafe-eval' is enough", async () => {
    const value = await importUnder("'self' 'wasm-unsafe-eval'");
    assert.equal(value.error, undefined);
    jwtClaims(value.token);
  });

  test("without 'wasm-unsafe-eval' calls reject with invalid_config saying so (the embedded wasm is compiled from bytes)", async () => {
    const value = await importUnder("'self'");
    assert.match(value.error ?? '', /^OAuthError: invalid config: .*(Wasm code generation disallowed|unsafe-eval).*'wasm-unsafe-eval' in its CSP/i);
  });
});
