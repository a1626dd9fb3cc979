// A generic esbuild bundle for WinterCG edge runtimes (--platform=neutral
// --conditions=worker) of consumer/worker.js, run in workerd through miniflare. The
// `worker` condition must select the same entry as `workerd` (the .wasm imported as a
// module); without it the bundle falls back to the generic ESM entry, which compiles
// the wasm from bytes -- refused by Cloudflare's production runtime, which the bundles
// here emulate (lib/workerd.mjs), so the control case shows the condition matters.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { packageVersion } from './lib/harness.mjs';
import { bundleWorker, startWorkers } from './lib/workerd.mjs';

let oidc;
let bindings;
before(async () => {
  const { startOidc } = await import('../servers/oidc.mjs');
  oidc = await startOidc();
  const { post } = oidc.clients;
  bindings = {
    TOKEN_URL: oidc.tokenUrl, CLIENT_ID: post.clientId, CLIENT_SECRET: post.clientSecret,
    DATACOSMOS_CLIENT_ID: post.clientId, DATACOSMOS_CLIENT_SECRET: post.clientSecret, DATACOSMOS_TOKEN_URL: oidc.tokenUrl,
  };
});
after(async () => { await oidc?.close(); });

describe(`esbuild ${packageVersion('esbuild')} --platform=neutral bundles in workerd`, { timeout: 60_000 }, () => {
  test('--conditions=worker: worker.js entry (no cloudflare: import), .wasm as a module; token, cache, fromEnv(env), OAuthError', async (t) => {
    const bundle = await bundleWorker({ name: 'neutral-worker', platform: 'neutral', conditions: ['worker'] });
    assert.ok(bundle.inputs.includes('worker.js') && !bundle.inputs.includes('workerd.js'), `inputs: ${bundle.inputs}`);
    assert.ok(!bundle.inputs.includes('wasm_inline.js') && !bundle.inputs.includes('index.js'), `inputs: ${bundle.inputs}`);
    assert.ok(bundle.imports.includes('./datacosmos_auth_bg.wasm'), `imports: ${bundle.imports}`);
    for (const spec of bundle.imports) assert.match(spec, /^\.\/.*\.wasm$/, `unexpected import ${spec}`);

    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const before = oidc.tokenRequests();
    const [a, b] = await Promise.all([w.get('/token'), w.get('/token')]);
    const c = await w.get('/token');
    for (const r of [a, b, c]) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(new Set([a.body.token, b.body.token, c.body.token]).size, 1);
    assert.equal(oidc.tokenRequests() - before, 1, 'three calls, one exchange');
    const env = await w.get('/fromenv');
    assert.equal(env.status, 200, JSON.stringify(env.body));
    const err = await w.get('/error');
    assert.equal(err.body.instanceOfOAuthError, true, JSON.stringify(err.body));
    assert.equal(err.body.code, 'invalid_client');
    assert.equal(err.body.status, 401);
    assert.equal(err.body.leaked, false);
  });

  // The generic entry compiles nothing at import (it instantiates asynchronously, see
  // pkg/index.js), so the Worker starts; its first getToken() is refused.
  test('control: without the worker condition the bundle takes the generic entry, whose wasm production Workers refuse to compile', async (t) => {
    const bundle = await bundleWorker({ name: 'neutral-plain', platform: 'neutral', conditions: [] });
    assert.ok(bundle.inputs.includes('index.js') && bundle.inputs.includes('wasm_inline.js'), `inputs: ${bundle.inputs}`);
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const before = oidc.tokenRequests();
    const r = await w.get('/token');
    assert.notEqual(r.status, 200, JSON.stringify(r.body));
    assert.match(JSON.stringify(r.body), /Wasm code generation disallowed by embedder/);
    const err = r.body.unexpected;
    assert.equal(err?.instanceOfOAuthError, true, 'an OAuthError');
    assert.equal(err.code, 'invalid_config');
    assert.match(err.message, /"worker" export condition/, 'that says what to do');
    assert.equal(oidc.tokenRequests() - before, 0);
  });
});
