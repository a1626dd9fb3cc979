// Regression tests for two bugs this suite found in pkg/index.d.ts (both fixed as
// described below).
//
// 1. The README's Worker quick start does not type-check in TypeScript: fromEnv(env)
//    takes `Record<string, string | undefined>`, and a Worker's `Env` (an interface,
//    as `wrangler types` writes it, with a KVNamespace next to the secrets) is not
//    assignable to it (TS2345: "Index signature for type 'string' is missing in type
//    'Env'"). At run time fromEnv(env) works (workerd.test.mjs). Fix: declare
//    `fromEnv(env?: object, ...)` -- an interface has no implicit index signature,
//    so `Record<string, unknown>` would not do -- a widening that keeps API.md's
//    contract.
// 2. The declarations name DOM-only globals, so a Node project whose types are
//    @types/node without the DOM lib (e.g. lib ["es2023"], as @tsconfig/node20)
//    gets TS2304/TS2552 errors inside index.d.ts with skipLibCheck false, and `any`
//    for those parameters with skipLibCheck true: `RequestInfo` (TokenClient.fetch's
//    input; @types/node has Request, RequestInit and Response but no RequestInfo)
//    and `Cache` (cacheStore's parameter). Fix: `input: Request | string | URL` (the
//    same type as DOM's `RequestInfo | URL`), and a structural type for the cache
//    (`{ match(...): Promise<Response | undefined>; put(...): Promise<void>; ... }`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TYPE_ROOTS, WORKERS_TYPES, tsc } from './lib/tsc.mjs';

describe('pkg/index.d.ts regressions', { timeout: 120_000 }, () => {
  test('the README Worker quick start type-checks: TokenClient.fromEnv(env, { store: env.TOKENS }) with a typed Env', async () => {
    const r = await tsc('workers-fromenv', {
      module: 'esnext', moduleResolution: 'bundler', customConditions: ['workerd'], lib: ['es2022'], types: [WORKERS_TYPES],
    }, ['ts/worker-fromenv.ts']);
    assert.equal(r.code, 0, `tsc:\n${r.output}`);
  });

  test('the declarations compile for Node without the DOM lib (lib es2022 + @types/node, skipLibCheck false)', async () => {
    const r = await tsc('node16-nodom', {
      module: 'node16', moduleResolution: 'node16', lib: ['es2022'], types: ['node'], typeRoots: TYPE_ROOTS,
    }, ['ts/usage.ts', 'ts/usage.cts']);
    assert.equal(r.code, 0, `tsc:\n${r.output}`);
  });
});
