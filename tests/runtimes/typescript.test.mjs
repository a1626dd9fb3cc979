// TypeScript consumers of the installed tarball: tsc --strict --noEmit (lib checks on,
// skipLibCheck false) over consumer/ts, which uses every exported name and type and
// holds @ts-expect-error lines that only hold if the types are real (not any).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { packageVersion } from './lib/harness.mjs';
import { TYPE_ROOTS, WORKERS_TYPES, tsc } from './lib/tsc.mjs';

const TS = packageVersion('typescript');

describe(`TypeScript ${TS} (tsc --strict --noEmit)`, { timeout: 120_000 }, () => {
  test('module node16: ESM .ts gets index.d.ts (node+import), CJS .cts gets index.d.cts (node+require); with @types/node', async () => {
    const r = await tsc('node16', { module: 'node16', moduleResolution: 'node16', types: ['node'], typeRoots: TYPE_ROOTS },
      ['ts/usage.ts', 'ts/usage.cts']);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.resolved, ['node_modules/datacosmos-auth/index.d.cts', 'node_modules/datacosmos-auth/index.d.ts']);
  });

  test('module esnext + moduleResolution bundler: index.d.ts (import)', async () => {
    const r = await tsc('bundler', { module: 'esnext', moduleResolution: 'bundler', types: [] }, ['ts/usage.ts']);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.resolved, ['node_modules/datacosmos-auth/index.d.ts']);
  });

  test('a Worker: bundler + customConditions ["workerd"] + @cloudflare/workers-types; a KVNamespace is a TokenStore', async () => {
    const r = await tsc('workers', {
      module: 'esnext', moduleResolution: 'bundler', customConditions: ['workerd'], lib: ['es2022'], types: [WORKERS_TYPES],
    }, ['ts/worker.ts']);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.resolved, ['node_modules/datacosmos-auth/index.d.ts']);
  });

  test('a Worker with the Durable Object store: DurableObjectNamespace<TokenLease> (wrangler types) fits durableObjectStore', async () => {
    const r = await tsc('workers-durable', {
      module: 'esnext', moduleResolution: 'bundler', customConditions: ['workerd'], lib: ['es2022'], types: [WORKERS_TYPES],
    }, ['ts/worker-durable.ts']);
    assert.equal(r.code, 0, r.output);
  });
});
