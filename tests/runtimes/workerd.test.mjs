// workerd (through miniflare), the way Wrangler builds a Worker: consumer/worker.js
// bundled by esbuild with the conditions workerd,worker and the .wasm kept as an
// import, which miniflare loads as a CompiledWasm module. No nodejs_compat.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { packageVersion, startGate, startStats } from './lib/harness.mjs';
import { COMPATIBILITY_DATE, bundleWorker, startWorkers } from './lib/workerd.mjs';

const WORKERD = packageVersion('workerd');
const MINIFLARE = packageVersion('miniflare');

let oidc;
let demo;
let gate;
let stats;
let bundle;
let bindings;
const demoClient = { clientId: 'worker-demo', clientSecret: 'worker-demo-secret-0b7e55' };

before(async () => {
  const { startOidc } = await import('../servers/oidc.mjs');
  const { startDemo } = await import('../servers/demo.mjs');
  oidc = await startOidc();
  demo = await startDemo({ clients: [demoClient] });
  gate = await startGate(oidc.tokenUrl);
  stats = await startStats({ oidc: () => oidc.tokenRequests() });
  bundle = await bundleWorker({ name: 'workerd', platform: 'browser', conditions: ['workerd', 'worker'] });
  const { post } = oidc.clients;
  bindings = {
    TOKEN_URL: gate.tokenUrl,
    CLIENT_ID: post.clientId,
    CLIENT_SECRET: post.clientSecret,
    MARK_URL: stats.markUrl,
    DATACOSMOS_CLIENT_ID: post.clientId,
    DATACOSMOS_CLIENT_SECRET: post.clientSecret,
    DATACOSMOS_TOKEN_URL: oidc.tokenUrl,
    DEMO_TOKEN_URL: demo.tokenUrl,
    DEMO_CLIENT_ID: demoClient.clientId,
    DEMO_CLIENT_SECRET: demoClient.clientSecret,
    RESOURCE_URL: demo.resourceUrl,
  };
});
after(async () => {
  await Promise.all([gate?.close(), stats?.close(), demo?.close(), oidc?.close()]);
});

/** Counts token requests at oidc-provider around `fn`. */
async function requestsDuring(fn) {
  const before = oidc.tokenRequests();
  const value = await fn();
  return { value, requests: oidc.tokenRequests() - before };
}

describe(`workerd ${WORKERD} (miniflare ${MINIFLARE}, compatibility date ${COMPATIBILITY_DATE}, esbuild --conditions=workerd,worker)`, { timeout: 120_000 }, () => {
  test('the bundle is built from the package\'s workerd entry and imports only the .wasm (no node: built-ins)', () => {
    assert.ok(bundle.inputs.includes('workerd.js'), `inputs: ${bundle.inputs}`);
    for (const other of ['node.js', 'node.bundle.js', 'node.cjs', 'index.js', 'wasm_inline.js', 'datacosmos_auth.cjs']) {
      assert.ok(!bundle.inputs.includes(other), `${other} must not be bundled (inputs: ${bundle.inputs})`);
    }
    assert.ok(bundle.imports.includes('./datacosmos_auth_bg.wasm'), `imports: ${bundle.imports}`);
    for (const spec of bundle.imports) assert.match(spec, /^(\.\/.*\.wasm|cloudflare:.*)$/, `unexpected import ${spec}`);
    assert.doesNotMatch(bundle.code, /\b(from|import\(|require\()\s*["']node:/, 'no Node built-in imports');
  });

  test('cold isolate: two concurrent requests both get the token from ONE exchange; later requests use the cache', async (t) => {
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const before = gate.requests();
    gate.hold();
    try {
      // Request A starts the exchange; the gate keeps its answer back.
      const a = w.get('/token?mark=A');
      await stats.waitForMark('A');
      await gate.waitForPending(1);
      // Request B, another incoming request, has called getToken() (the mark comes
      // after the call) while A's exchange is in flight.
      const b = w.get('/token?mark=B');
      await stats.waitForMark('B');
      assert.equal(gate.requests() - before, 1, 'B joined A\'s exchange instead of starting one');
      gate.release();
      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.status, 200, JSON.stringify(ra.body));
      assert.equal(rb.status, 200, JSON.stringify(rb.body));
      assert.equal(ra.body.token, rb.body.token);
      assert.equal(gate.requests() - before, 1, 'one token request for both');
      // Later requests (also several at once) are served from the isolate's cache.
      const later = await Promise.all([w.get('/token'), w.get('/token'), w.get('/info')]);
      for (const r of later) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(later[0].body.token, ra.body.token);
      assert.equal(later[2].body.accessToken, ra.body.token);
      assert.equal(later[2].body.tokenType, 'Bearer');
      assert.equal(later[2].body.header, `Bearer ${ra.body.token}`);
      assert.equal(gate.requests() - before, 1, 'no token request for cached calls');
    } finally {
      gate.release();
    }
  });

  test('OAuthError in the worker: wrong secret -> invalid_client (instanceof, 401, not retried, secret not in any rendering)', async (t) => {
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const { value: r, requests } = await requestsDuring(() => w.get('/error'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual({ ...r.body, message: undefined }, {
      rejected: true, instanceOfOAuthError: true, instanceOfError: true, name: 'OAuthError',
      code: 'invalid_client', status: 401, leaked: false, message: undefined,
    });
    assert.equal(requests, 1, 'a 401 is not retried');
    const cfg = await w.get('/invalid-config');
    assert.deepEqual(
      { sync: cfg.body.threwSynchronously, isOAuth: cfg.body.instanceOfOAuthError, code: cfg.body.code },
      { sync: true, isOAuth: true, code: 'invalid_config' },
    );
  });

  test('fromEnv(env) with the Worker env binding, and one-shot getToken(config) cached per isolate', async (t) => {
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const fromEnv = await requestsDuring(async () => [await w.get('/fromenv'), await w.get('/fromenv')]);
    for (const r of fromEnv.value) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(fromEnv.value[0].body.token, fromEnv.value[1].body.token);
    assert.equal(fromEnv.requests, 1);
    const oneShot = await requestsDuring(() => w.get('/oneshot'));
    assert.deepEqual(oneShot.value.body, { same: true });
    assert.equal(oneShot.requests, 1);
  });

  test('client.fetch to the demo resource: bearer added, token cached, on 401 one refresh and one retry', async (t) => {
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const tokens0 = demo.tokenRequests();
    const first = await w.get('/fetch');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 200);
    assert.deepEqual(first.body.body.collections.map((c) => c.id), ['menut-l1b', 'hammer-l2a']);
    const second = await w.get('/fetch');
    assert.equal(second.body.status, 200);
    assert.equal(demo.tokenRequests() - tokens0, 1, 'the second fetch reuses the token');
    demo.rotateKey(); // the cached token is now rejected with 401
    const resources0 = demo.resourceRequests();
    const third = await w.get('/fetch');
    assert.equal(third.body.status, 200, JSON.stringify(third.body));
    assert.equal(demo.tokenRequests() - tokens0, 2, 'one refresh after the 401');
    assert.equal(demo.resourceRequests() - resources0, 2, 'one retry');
  });

  test('store = KV namespace: a second isolate reads the token from KV (no token request); the KV value is sealed', async (t) => {
    const w = await startWorkers(bundle, bindings, ['a', 'b']);
    t.after(() => w.dispose());
    const a = await requestsDuring(() => w.call('a', '/kv'));
    assert.equal(a.value.status, 200, JSON.stringify(a.value.body));
    assert.equal(a.requests, 1);
    const token = a.value.body.token;

    const kv = await w.mf.getKVNamespace('TOKENS', 'a');
    const { keys } = await kv.list();
    assert.ok(keys.length >= 1, 'the token was written to KV');
    const { post } = oidc.clients;
    for (const key of keys) {
      const value = await kv.get(key.name);
      for (const [what, text] of [['key', key.name], ['value', value]]) {
        for (const [name, secret] of [['secret', post.clientSecret], ['token', token], ['client id', post.clientId]]) {
          assert.ok(!text.includes(secret), `the KV ${what} holds the ${name} in clear`);
        }
      }
      assert.ok(key.expiration > Date.now() / 1000 + 59, `KV entry ${key.name} expires (expirationTtl >= 60)`);
    }

    const b = await requestsDuring(() => w.call('b', '/kv'));
    assert.equal(b.value.status, 200, JSON.stringify(b.value.body));
    assert.equal(b.value.body.token, token, 'isolate b got the same token');
    assert.equal(b.requests, 0, 'isolate b made no token request');

    // clear() forgets the token in memory and deletes the KV entry (not awaited by the
    // caller: the delete must still happen after the response). Then the same isolate
    // finds nothing in memory nor in KV: a new exchange.
    const cleared = await w.call('b', '/kv-clear');
    assert.deepEqual(cleared.body, { cleared: true });
    const names = new Set(keys.map((k) => k.name));
    const limit = Date.now() + 3000;
    while ((await kv.list()).keys.some((k) => names.has(k.name)) && Date.now() < limit) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const again = await requestsDuring(() => w.call('b', '/kv'));
    assert.equal(again.value.status, 200, JSON.stringify(again.value.body));
    assert.equal(again.requests, 1, 'after clear() neither memory nor KV has the token: a new exchange');
  });
});
