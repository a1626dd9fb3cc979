// Node.js from the packed tarball: ESM `import` (node.js entry) and CJS `require`
// (node.cjs entry, with require-of-ESM switched off), each in its own process in the
// consumer project.
import { after, before, describe, test } from 'node:test';
import { checkScenario, childEnv, lastJson, run, startScenarioServers } from './lib/harness.mjs';

let servers;
before(async () => { servers = await startScenarioServers(); });
after(async () => { await servers?.close(); });

describe(`Node.js ${process.version} (installed tarball)`, { timeout: 60_000 }, () => {
  test('ESM import: node.js entry; token, cache, single flight, fromEnv(process.env), OAuthError', async () => {
    const report = lastJson(await run(process.execPath, ['node-esm.mjs'], { env: childEnv(servers.env) }), 'node node-esm.mjs');
    checkScenario(report, { entry: 'node.bundle.js' });
  });

  test('CJS require (--no-experimental-require-module): node.cjs entry; same scenario', async () => {
    const report = lastJson(await run(process.execPath, ['--no-experimental-require-module', 'node-cjs.cjs'], {
      env: childEnv(servers.env),
    }), 'node node-cjs.cjs');
    checkScenario(report, { entry: 'node.cjs' });
  });
});
