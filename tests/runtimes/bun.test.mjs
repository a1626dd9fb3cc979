// Bun (the npm `bun` binary) with the tarball in the consumer's node_modules. Bun's
// conditions (bun, node, import|require) pick node.js for import, node.cjs for require.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bunBinary, checkScenario, childEnv, lastJson, readmeExamples, run, startScenarioServers, versionOf } from './lib/harness.mjs';

const BUN = bunBinary();
const bunEnv = (extra) => childEnv({ DO_NOT_TRACK: '1', NO_COLOR: '1', ...extra });

let servers;
before(async () => { servers = await startScenarioServers(); });
after(async () => { await servers?.close(); });

describe(`Bun ${versionOf(BUN)}`, { timeout: 60_000 }, () => {
  test('import: node.js entry; token, cache, single flight, fromEnv(process.env), OAuthError', async () => {
    const report = lastJson(await run(BUN, ['--no-install', 'bun.mjs'], { env: bunEnv(servers.env) }), 'bun bun.mjs');
    checkScenario(report, { entry: 'node.bundle.js' });
  });

  test('require: node.cjs entry; same scenario', async () => {
    const report = lastJson(await run(BUN, ['--no-install', 'node-cjs.cjs'], { env: bunEnv(servers.env) }), 'bun node-cjs.cjs');
    checkScenario(report, { entry: 'node.cjs' });
  });

  for (const { readme, file } of readmeExamples('Bun.env')) {
    test(`${readme}: the Bun example, as written (fromEnv() on Bun's process.env)`, async () => {
      const before = servers.oidc.tokenRequests();
      const { code, stdout, stderr } = await run(BUN, ['--no-install', file], { env: bunEnv(servers.env) });
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^[\w.~+/-]{20,}=*\n$/, 'one line: the access token');
      assert.equal(servers.oidc.tokenRequests() - before, 1);
    });
  }
});
