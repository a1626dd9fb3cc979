// Deno (the npm `deno` binary) with the tarball npm-installed in the consumer's
// node_modules: bare "datacosmos-auth" resolves through package.json and
// --node-modules-dir=manual (no npm: specifier, no registry: --cached-only). Deno's
// conditions pick the `deno` export, index.js (the wasm inlined as base64).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bin, checkScenario, childEnv, lastJson, readmeExamples, run, startScenarioServers, versionOf } from './lib/harness.mjs';

const DENO = bin('deno');
const denoEnv = (extra = {}) => childEnv({
  DENO_DIR: join(process.env.DCA_TMP, 'deno-dir'),
  DENO_NO_UPDATE_CHECK: '1',
  NO_COLOR: '1',
  ...extra,
});
const COMMON = ['--no-prompt', '--no-lock', '--node-modules-dir=manual', '--cached-only'];

let servers;
before(async () => { servers = await startScenarioServers(); });
after(async () => { await servers?.close(); });

describe(`Deno ${versionOf(DENO)}`, { timeout: 90_000 }, () => {
  test('import from node_modules: index.js entry; token, cache, single flight, fromEnv() reads Deno.env, OAuthError', async () => {
    const report = lastJson(await run(DENO, ['run', ...COMMON, '--allow-env', '--allow-net=127.0.0.1', 'deno.ts'], {
      env: denoEnv(servers.env),
    }), 'deno run deno.ts');
    checkScenario(report, { entry: 'index.js' });
    assert.equal(report.typed, 'Bearer');
  });

  test('without --allow-env, fromEnv() throws OAuthError invalid_config (no prompt, no crash)', async () => {
    const report = lastJson(await run(DENO, ['run', ...COMMON, '--allow-net=127.0.0.1', 'deno-no-env.ts'], {
      env: denoEnv(servers.env),
    }), 'deno run deno-no-env.ts');
    assert.deepEqual(
      { threw: report.threw, instanceOfOAuthError: report.instanceOfOAuthError, name: report.name, code: report.code },
      { threw: true, instanceOfOAuthError: true, name: 'OAuthError', code: 'invalid_config' },
    );
    assert.equal(report.explicitOk, true, 'fromEnv({...}) with an object needs no permission');
  });

  for (const { readme, file } of readmeExamples('Deno.env')) {
    test(`${readme}: the Deno example, as written (fromEnv() on Deno.env)`, async () => {
      const before = servers.oidc.tokenRequests();
      const { code, stdout, stderr } = await run(DENO, ['run', ...COMMON, '--allow-env', '--allow-net=127.0.0.1', file], {
        env: denoEnv(servers.env),
      });
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^Bearer [\w.~+/-]{20,}=*\n$/, 'one line: the Authorization header');
      assert.equal(servers.oidc.tokenRequests() - before, 1);
    });
  }

  test('deno check: the scripts type-check against the package types (a wrong type is caught)', async () => {
    const ok = await run(DENO, ['check', ...COMMON.slice(1), 'deno.ts', 'deno-no-env.ts'], { env: denoEnv() });
    assert.equal(ok.code, 0, `deno check failed:\n${ok.stderr}`);
    const bad = await run(DENO, ['check', ...COMMON.slice(1), 'deno-type-error.ts'], { env: denoEnv() });
    assert.notEqual(bad.code, 0, 'deno check accepted a type error: are the types any?');
    assert.match(bad.stderr, /TS2322/);
    assert.match(bad.stderr, /node_modules\/datacosmos-auth\/index\.d\.ts/);
  });
});
