// The CommonJS entry: require('datacosmos-auth') resolves to pkg/node.cjs and
// works. The same file is run again in a child with --no-experimental-require-module
// (Node >= 20.17 could otherwise load an ES module through require).
'use strict';

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const nodeTest = require('node:test');

const { after, before, describe } = nodeTest;
// The names of the tests below (all but the nested run): the nested run must pass each.
const NAMES = [];
const test = (name, fn) => {
  NAMES.push(name);
  return nodeTest.test(name, fn);
};

const NESTED = 'DATACOSMOS_AUTH_CJS_NESTED';
const grace = { clientId: 'grace', clientSecret: 'grace-secret-3fc9b689459d738f8c88' };

// The parent test runner's NODE_TEST_CONTEXT would turn the nested run into a
// reporting child of this one.
function nestedEnv() {
  const env = { ...process.env, [NESTED]: '1' };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

let demo;
before(async () => {
  const { startDemo } = await import('../servers/demo.mjs');
  demo = await startDemo({ clients: [grace] });
});
after(async () => {
  await demo?.close();
});

describe(process.env[NESTED] ? "require('datacosmos-auth') (--no-experimental-require-module)" : "require('datacosmos-auth')", { timeout: 20_000 }, () => {
  test('resolves to the CommonJS entry and exports the API', () => {
    const resolved = require.resolve('datacosmos-auth');
    assert.equal(path.basename(resolved), 'node.cjs');
    const mod = require('datacosmos-auth');
    assert.equal(typeof mod.TokenClient, 'function');
    assert.equal(typeof mod.getToken, 'function');
    assert.equal(typeof mod.OAuthError, 'function');
    assert.equal(typeof mod.TokenClient.fromCredentials, 'function');
    assert.equal(typeof mod.TokenClient.fromEnv, 'function');
  });

  test('gets a token and uses it', async () => {
    const { TokenClient } = require('datacosmos-auth');
    const client = new TokenClient({ ...grace, tokenUrl: demo.tokenUrl });
    const info = await client.getTokenInfo();
    assert.equal(info.tokenType, 'Bearer');
    const res = await client.fetch(demo.resourceUrl);
    assert.equal(res.status, 200);
    assert.ok(Array.isArray((await res.json()).collections));
  });

  test('one-shot getToken', async () => {
    const { getToken } = require('datacosmos-auth');
    assert.equal(typeof (await getToken({ ...grace, tokenUrl: demo.tokenUrl })), 'string');
  });

  test('errors are OAuthError instances', async () => {
    const { TokenClient, OAuthError, getToken } = require('datacosmos-auth');
    assert.throws(() => new TokenClient({ clientId: 'x' }), (err) => err instanceof OAuthError
      && err instanceof Error && err.name === 'OAuthError' && err.code === 'invalid_config');
    await assert.rejects(getToken({ ...grace, clientSecret: 'wrong', tokenUrl: demo.tokenUrl, maxRetries: 0 }), (err) => err instanceof OAuthError
      && err.code === 'access_denied' && err.status === 401);
  });

  test('the ES module and CommonJS entries can be loaded side by side', async () => {
    const esm = await import('datacosmos-auth');
    const cjs = require('datacosmos-auth');
    const a = await new esm.TokenClient({ ...grace, tokenUrl: demo.tokenUrl }).getToken();
    const b = await new cjs.TokenClient({ ...grace, tokenUrl: demo.tokenUrl }).getToken();
    assert.equal(typeof a, 'string');
    assert.equal(typeof b, 'string');
  });

  if (!process.env[NESTED]) {
    nodeTest.test('the same tests pass under node --no-experimental-require-module', () => {
      const result = spawnSync(
        process.execPath,
        ['--no-experimental-require-module', '--test', '--test-reporter=tap', __filename],
        { env: nestedEnv(), encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(result.status, 0, `nested run failed:\n${result.stdout}\n${result.stderr}`);
      assert.ok(NAMES.length >= 5, `${NAMES.length} tests`);
      const passed = [...result.stdout.matchAll(/^ {4}ok \d+ - (.+)$/gm)].map((m) => m[1]);
      assert.deepEqual(passed, NAMES, 'each test passed in the nested run, none skipped');
      assert.match(result.stdout, new RegExp(`^# pass ${NAMES.length}$`, 'm'));
      assert.match(result.stdout, /^# fail 0$/m);
    });
  }
});
