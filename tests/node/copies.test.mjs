// Two copies of the package in one Node process (issue 8.2): the ESM entry (`import`)
// and the CommonJS one (`require`, pkg/node.cjs with its own glue and core.cjs). Each
// case runs in a child process, so that the package registry on globalThis is fresh.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { runChild } from './child.mjs';

const carol = { clientId: 'carol', clientSecret: 'carol-secret-9f86d081884c7d659a2f' };

let demo;
before(async () => { demo = await startDemo({ clients: [carol] }); });
after(() => demo?.close());

// The child: both copies loaded, the demo's URL and the credentials from the environment.
const PRELUDE = `
import { createRequire } from 'node:module';
import * as esm from 'datacosmos-auth';
const cjs = createRequire(import.meta.url)('datacosmos-auth');
const cfg = { clientId: process.env.ID, clientSecret: process.env.SECRET, tokenUrl: process.env.TOKEN_URL };
const failWith = async (f) => { try { await f(); } catch (e) { return e; } throw new Error('no failure'); };
const print = (o) => console.log(JSON.stringify(o));
`;

const inChild = (name, body) => runChild(name, PRELUDE + body, {
  env: { ID: carol.clientId, SECRET: carol.clientSecret, TOKEN_URL: demo.tokenUrl },
});

describe('ESM and CommonJS copies in one process share one package state (8.2)', { timeout: 30_000 }, () => {
  test('the two copies are really two module graphs (the CJS entry has its own glue)', async () => {
    const r = await inChild('copies-distinct', `
      const req = createRequire(import.meta.url);
      print({
        esm: import.meta.resolve('datacosmos-auth'),
        cjs: req.resolve('datacosmos-auth'),
        cjsGlue: Object.keys(req.cache).some((k) => k.endsWith('datacosmos_auth.cjs')),
        sameClass: esm.OAuthError === cjs.OAuthError,
      });
    `);
    assert.match(r.esm, /\/pkg\/node\.bundle\.js$/);
    assert.match(r.cjs, /\/pkg\/node\.cjs$/);
    assert.equal(r.cjsGlue, false, 'the CJS copy found the ESM copy installed and did not load its own wasm');
    assert.equal(r.sameClass, true);
  });

  test('an OAuthError from either copy is instanceof the other copy\'s OAuthError (brand + Symbol.hasInstance)', async () => {
    const r = await inChild('copies-instanceof', `
      const fromEsm = await failWith(() => new esm.TokenClient({}).getToken());
      const fromCjs = await failWith(() => new cjs.TokenClient({}).getToken());
      const network = await failWith(() => cjs.getToken({ ...cfg, tokenUrl: 'http://127.0.0.1:9/oauth/token', maxRetries: 0 }));
      print({
        codes: [fromEsm.code, fromCjs.code, network.code],
        esmInCjs: fromEsm instanceof cjs.OAuthError,
        cjsInEsm: fromCjs instanceof esm.OAuthError,
        networkInEsm: network instanceof esm.OAuthError,
        errors: [fromEsm, fromCjs, network].every((e) => e instanceof Error),
        notAnything: !(new Error('x') instanceof esm.OAuthError) && !({ code: 'invalid_config' } instanceof cjs.OAuthError),
      });
    `);
    assert.deepEqual(r.codes, ['invalid_config', 'invalid_config', 'network_error']);
    assert.equal(r.esmInCjs, true);
    assert.equal(r.cjsInEsm, true);
    assert.equal(r.networkInEsm, true);
    assert.equal(r.errors, true);
    assert.equal(r.notAnything, true, 'a plain Error or a look-alike object is not an OAuthError');
  });

  test('copies with separate states (as a later registry version would be): instanceof holds by the brand', async () => {
    const r = await runChild('copies-separate', `
      import { createRequire } from 'node:module';
      const esm = await import('datacosmos-auth');
      // Forget the registry: the CJS entry then installs its own classes over its own wasm.
      delete globalThis[Symbol.for('datacosmos-auth/1')];
      const req = createRequire(import.meta.url);
      const cjs = req('datacosmos-auth');
      const errorOf = (f) => { try { f(); } catch (e) { return e; } };
      const fromEsm = errorOf(() => new esm.TokenClient(null));
      const fromCjs = errorOf(() => new cjs.TokenClient(null));
      console.log(JSON.stringify({
        separate: esm.OAuthError !== cjs.OAuthError && esm.TokenClient !== cjs.TokenClient,
        cjsGlue: Object.keys(req.cache).some((k) => k.endsWith('datacosmos_auth.cjs')),
        esmInCjs: fromEsm instanceof cjs.OAuthError,
        cjsInEsm: fromCjs instanceof esm.OAuthError,
        codes: [fromEsm.code, fromCjs.code],
      }));
    `);
    assert.equal(r.separate, true, 'two sets of classes');
    assert.equal(r.cjsGlue, true, 'the CJS copy loaded its own wasm');
    assert.equal(r.esmInCjs, true);
    assert.equal(r.cjsInEsm, true);
    assert.deepEqual(r.codes, ['invalid_config', 'invalid_config']);
  });

  test('the one-shot getToken(cfg) through each copy makes 1 token request in all', async () => {
    const from = demo.tokenRequests();
    const r = await inChild('copies-one-shot', `
      const a = await esm.getToken(cfg);
      const b = await cjs.getToken(cfg);
      const c = await cjs.getToken({ ...cfg });
      print({ same: a === b && b === c });
    `);
    assert.equal(r.same, true, 'the same token from both copies');
    assert.equal(demo.tokenRequests() - from, 1);
  });

  test('required first, imported second: still one state (1 token request, instanceof both ways)', async () => {
    const from = demo.tokenRequests();
    const r = await runChild('copies-cjs-first', `
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('datacosmos-auth');
      const a = await cjs.getToken({ clientId: process.env.ID, clientSecret: process.env.SECRET, tokenUrl: process.env.TOKEN_URL });
      const esm = await import('datacosmos-auth');
      const b = await esm.getToken({ clientId: process.env.ID, clientSecret: process.env.SECRET, tokenUrl: process.env.TOKEN_URL });
      let err;
      try { new esm.TokenClient(null); } catch (e) { err = e; }
      console.log(JSON.stringify({ same: a === b, both: err instanceof cjs.OAuthError && err instanceof esm.OAuthError }));
    `, { env: { ID: carol.clientId, SECRET: carol.clientSecret, TOKEN_URL: demo.tokenUrl } });
    assert.equal(r.same, true);
    assert.equal(r.both, true);
    assert.equal(demo.tokenRequests() - from, 1);
  });
});
