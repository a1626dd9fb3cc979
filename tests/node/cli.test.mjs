// The command line (pkg/cli.js), run as a child process with `node` and as the
// package's `bin`.
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import {
  CLI, DEFAULT_AUDIENCE, PKG_DIR, ROOT, cleanEnv, closedPortUrl, credentialsFile, jwtClaims, run, runCli as runCliIn, tempDir,
} from './helpers.mjs';

const AUD = 'https://cli-audience.example';
const frank = { clientId: 'frank', clientSecret: 'frank-secret-9f86d081884c7d659a2f' };

let demo;
let other; // audience AUD
let proxy; // in front of `demo`
let tmp;
let credentials; // a good credentials file (default audience)
before(async () => {
  demo = await startDemo({ clients: [frank] });
  other = await startDemo({ clients: [frank], audience: AUD });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
  tmp = tempDir();
  credentials = tmp.write('credentials.json', credentialsFile(frank));
});
after(async () => {
  tmp?.cleanup();
  await proxy?.close();
  await other?.close();
  await demo?.close();
});

const env = (extra = {}) => cleanEnv({ DATACOSMOS_TOKEN_URL: demo.tokenUrl, ...extra });
// Every run happens in the temporary directory (see `run`).
const runCli = (args, opts) => runCliIn(args, { cwd: tmp.dir, ...opts });

/** Asserts a successful run printed exactly one token line; returns the token. */
async function assertToken(result) {
  assert.equal(result.code, 0, `exit ${result.code}; stderr: ${result.stderr}`);
  assert.ok(!result.stdout.includes(frank.clientSecret));
  assert.ok(!result.stderr.includes(frank.clientSecret));
  assert.match(result.stdout, /^[^\s]+\n?$/, 'stdout holds only the token');
  const token = result.stdout.trim();
  const res = await fetch(demo.resourceUrl, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return { token, resourceStatus: res.status };
}

/**
 * Asserts a failed run: that exit code, a message on stderr, no secret. Exit 1
 * (an OAuth/HTTP/network error) must print nothing on stdout (API.md).
 */
function assertFailure(result, code) {
  assert.equal(result.code, code, `exit ${result.code}; stdout: ${result.stdout}; stderr: ${result.stderr}`);
  if (code === 1) assert.equal(result.stdout, '');
  assert.ok(!result.stdout.includes(frank.clientSecret), 'the secret is on stdout');
  assert.ok(result.stderr.trim().length > 0, 'a message on stderr');
  assert.ok(!result.stderr.includes(frank.clientSecret), 'the secret is on stderr');
}

describe('datacosmos-auth token', { timeout: 60_000 }, () => {
  test('--credentials FILE prints only the token (DATACOSMOS_TOKEN_URL applies)', async () => {
    const { token, resourceStatus } = await assertToken(await runCli(['token', '--credentials', credentials], { env: env() }));
    assert.equal(resourceStatus, 200);
    assert.equal(jwtClaims(token).azp, 'frank');
  });

  test('the audience comes from the file', async () => {
    const file = tmp.write('aud.json', credentialsFile(frank, AUD));
    const result = await runCli(['token', '--credentials', file], { env: env({ DATACOSMOS_TOKEN_URL: other.tokenUrl }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jwtClaims(result.stdout.trim()).aud, AUD);
  });

  test('--json prints the endpoint response as received, on one line', async () => {
    const received = { access_token: 'opaque-abc', token_type: 'Bearer', expires_in: 1234, scope: 'x y', 'x-extra': { nested: true } };
    proxy.queue({ json: received });
    const result = await runCli(['token', '--credentials', credentials, '--json'], { env: env({ DATACOSMOS_TOKEN_URL: proxy.tokenUrl }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trimEnd().split('\n').length, 1, 'one line');
    assert.deepEqual(JSON.parse(result.stdout), received);
  });

  test('--json against the demo: Auth0-shaped JSON', async () => {
    const result = await runCli(['token', '--json', '--credentials', credentials], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(jwtClaims(body.access_token).sub, 'frank@clients');
  });

  test('environment variables instead of a file', async () => {
    const { resourceStatus } = await assertToken(await runCli(['token'], {
      env: env({ DATACOSMOS_CLIENT_ID: frank.clientId, DATACOSMOS_CLIENT_SECRET: frank.clientSecret }),
    }));
    assert.equal(resourceStatus, 200);
  });

  test('AUTHENTICATION__* environment variables', async () => {
    const result = await runCli(['token'], {
      env: cleanEnv({
        AUTHENTICATION__CLIENT_ID: frank.clientId,
        AUTHENTICATION__CLIENT_SECRET: frank.clientSecret,
        AUTHENTICATION__TOKEN_URL: other.tokenUrl,
        AUTHENTICATION__AUDIENCE: AUD,
      }),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jwtClaims(result.stdout.trim()).aud, AUD);
  });

  test('--token-url, --audience and --scope flags', async () => {
    const result = await runCli(
      ['token', '--credentials', credentials, '--token-url', other.tokenUrl, '--audience', AUD, '--scope', 'stac:read stac:write'],
      { env: cleanEnv() },
    );
    assert.equal(result.code, 0, result.stderr);
    const claims = jwtClaims(result.stdout.trim());
    assert.equal(claims.aud, AUD);
    assert.equal(claims.scope, 'stac:read stac:write');
    assert.equal(other.requests.at(-1).params.scope, 'stac:read stac:write');
  });

  test('DATACOSMOS_SCOPE applies with a file', async () => {
    const result = await runCli(['token', '--credentials', credentials], { env: env({ DATACOSMOS_SCOPE: 'from-env-scope' }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jwtClaims(result.stdout.trim()).scope, 'from-env-scope');
    assert.equal(demo.requests.at(-1).params.audience, DEFAULT_AUDIENCE);
  });

  test('a wrong secret: exit 1, message on stderr, empty stdout, no secret', async () => {
    const wrong = 'frank-wrong-secret-123456';
    const file = tmp.write('wrong.json', { ...credentialsFile(frank), client_secret: wrong });
    const result = await runCli(['token', '--credentials', file], { env: env() });
    assertFailure(result, 1);
    assert.ok(!result.stderr.includes(wrong));
  });

  test('a server echoing the secret: exit 1 and the secret is not printed', async () => {
    proxy.queue({ status: 401, body: { error: 'invalid_client', error_description: `secret ${frank.clientSecret} rejected` } });
    const result = await runCli(['token', '--credentials', credentials], { env: env({ DATACOSMOS_TOKEN_URL: proxy.tokenUrl }) });
    assertFailure(result, 1);
  });

  test('an unreachable endpoint: exit 1', async () => {
    const result = await runCli(['token', '--credentials', credentials], { env: env({ DATACOSMOS_TOKEN_URL: await closedPortUrl() }) });
    assertFailure(result, 1);
  });

  test('without --credentials or variables it reads ./data_cosmos_api_credentials.json (as --help says)', async () => {
    const here = tempDir();
    try {
      here.write('data_cosmos_api_credentials.json', credentialsFile(frank));
      const { resourceStatus } = await assertToken(await runCli(['token'], { env: env(), cwd: here.dir }));
      assert.equal(resourceStatus, 200);
    } finally {
      here.cleanup();
    }
  });

  test('missing credentials: exit 2', async () => {
    assertFailure(await runCli(['token'], { env: env() }), 2);
    assertFailure(await runCli(['token'], { env: env({ DATACOSMOS_CLIENT_ID: 'frank' }) }), 2);
  });

  test('an unreadable or missing file: exit 2', async () => {
    assertFailure(await runCli(['token', '--credentials', join(tmp.dir, 'does-not-exist.json')], { env: env() }), 2);
    assertFailure(await runCli(['token', '--credentials', tmp.dir], { env: env() }), 2);
  });

  test('a file that is not JSON, or has another grant_type: exit 2, text not echoed', async () => {
    const notJson = tmp.write('bad.txt', `client_secret=${frank.clientSecret}`);
    assertFailure(await runCli(['token', '--credentials', notJson], { env: env() }), 2);
    const password = tmp.write('password.json', { ...credentialsFile(frank), grant_type: 'password' });
    assertFailure(await runCli(['token', '--credentials', password], { env: env() }), 2);
  });

  test('an invalid config (http: non-loopback token URL): exit 2, no request', async () => {
    assertFailure(await runCli(['token', '--credentials', credentials], { env: env({ DATACOSMOS_TOKEN_URL: 'http://example.com/oauth/token' }) }), 2);
  });

  test('bad usage: exit 2', async () => {
    for (const args of [[], ['frobnicate'], ['token', '--bogus'], ['token', '--credentials']]) {
      const result = await runCli(args, { env: env({ DATACOSMOS_CLIENT_ID: 'frank', DATACOSMOS_CLIENT_SECRET: frank.clientSecret }) });
      assertFailure(result, 2);
    }
  });

  test('--help and --version exit 0', async () => {
    const help = await runCli(['--help'], { env: env() });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /token/);
    assert.match(help.stdout, /--credentials/);
    const { version } = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8'));
    const ver = await runCli(['--version'], { env: env() });
    assert.equal(ver.code, 0, ver.stderr);
    assert.match(ver.stdout, new RegExp(version.replace(/\./g, '\\.')));
  });

  test('runs as the package bin (node_modules/.bin/datacosmos-auth)', async () => {
    const { bin } = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8'));
    assert.equal(bin['datacosmos-auth'], './cli.js');
    assert.match(readFileSync(join(PKG_DIR, 'cli.js'), 'utf8'), /^#!\/usr\/bin\/env node\r?\n/);
    const link = join(ROOT, 'node_modules', '.bin', 'datacosmos-auth');
    accessSync(link, constants.X_OK);
    const result = await run(['token', '--credentials', credentials], { command: link, env: env(), cwd: tmp.dir });
    const { resourceStatus } = await assertToken(result);
    assert.equal(resourceStatus, 200);
  });
});

// `token --header`, the commands that are not there yet, and server-controlled text
// (issue 9 item 8): the exit status comes from where an error arose, --json is
// redacted, control characters never reach the terminal raw.
describe('datacosmos-auth token --header and hostile server text', { timeout: 60_000 }, () => {
  // Raw C0 controls other than the final newline, DEL and C1 controls.
  const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]|\n(?!$)/;
  const viaProxy = () => env({ DATACOSMOS_TOKEN_URL: proxy.tokenUrl });

  test('--header prints one Authorization line that curl -H @- sends', async () => {
    const result = await runCli(['token', '--header', '--credentials', credentials], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+\n$/);
    assert.equal(jwtClaims(result.stdout.trim().split(' ')[2]).azp, 'frank');
    // The README's pipe, as written: the CLI's output is curl's header list.
    const piped = await run(['-c', `"${process.execPath}" "${CLI}" token --header --credentials "${credentials}" | curl -sS -H @- "${demo.resourceUrl}"`], {
      command: '/bin/sh', env: env(), cwd: tmp.dir,
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(JSON.parse(piped.stdout).collections.length, 2);
  });

  test('--json with --header, client-credentials options on login, logout and token --user: exit 2 (usage), nothing requested', async () => {
    const before = demo.tokenRequests();
    for (const args of [['token', '--json', '--header'], ['login'], ['logout'], ['token', '--user'], ['proxy', '--json'], ['exec', 'ls'], ['token', '--', 'ls']]) {
      const result = await runCli([...args, '--credentials', credentials], { env: env() });
      assertFailure(result, 2);
    }
    assert.match((await runCli(['token', '--user', '--credentials', credentials], { env: env() })).stderr, /--credentials does not go with --user/);
    const noClientId = await runCli(['login', '--no-browser'], { env: env() });
    assertFailure(noClientId, 2);
    assert.match(noClientId.stderr, /--client-id ID or DATACOSMOS_USER_CLIENT_ID/);
    assert.equal(demo.tokenRequests(), before);
  });

  test('a 400 {"error":"invalid_config"} from the server: exit 1, not 2', async () => {
    proxy.queue({ status: 400, body: { error: 'invalid_config', error_description: 'chosen by the server' } });
    const result = await runCli(['token', '--credentials', credentials], { env: viaProxy() });
    assertFailure(result, 1);
    assert.match(result.stderr, /invalid_config/);
  });

  test('--json: every form of an echoed secret is redacted, the rest printed as received', async () => {
    const secret = 'Se/cr+et &=%41 "ü<';
    const id = 'frank id';
    const file = tmp.write('special.json', { ...credentialsFile(frank), client_id: id, client_secret: secret });
    const pctUpper = encodeURIComponent(secret);
    const forms = {
      raw: secret,
      pctUpper,
      pctLower: pctUpper.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      form: new URLSearchParams({ s: secret }).toString().slice(2),
      json: JSON.stringify({ client_secret: secret }),
      html: secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;'),
      base64: Buffer.from(secret).toString('base64'),
      basic: Buffer.from(`${encodeURIComponent(id).replace(/%20/g, '+')}:${new URLSearchParams({ s: secret }).toString().slice(2)}`).toString('base64'),
      basicRaw: Buffer.from(`${id}:${secret}`).toString('base64url'),
    };
    const received = { access_token: 'opaque-token', token_type: 'Bearer', expires_in: 60, echo: forms, [secret]: 'as a key', list: [`x ${secret} y`] };
    proxy.queue({ json: received });
    const result = await runCli(['token', '--json', '--credentials', file], { env: viaProxy() });
    assert.equal(result.code, 0, result.stderr);
    for (const [name, form] of Object.entries(forms)) {
      assert.ok(!result.stdout.includes(form), `the ${name} form is printed`);
    }
    const printed = JSON.parse(result.stdout);
    assert.equal(printed.access_token, 'opaque-token');
    assert.equal(printed.expires_in, 60);
    for (const name of Object.keys(forms)) assert.match(printed.echo[name], /\[redacted\]/, name);
    assert.equal(printed['[redacted]'], 'as a key');
    assert.deepEqual(printed.list, ['x [redacted] y']);
  });

  test('--json: control characters in the body are JSON escapes, the JSON is unchanged', async () => {
    const received = { access_token: 'opaque', token_type: 'Bearer', note: '\u001b[2J\u0007\r\u007f\u009b31m', '\u001bkey': 1 };
    proxy.queue({ json: received });
    const result = await runCli(['token', '--json', '--credentials', credentials], { env: viaProxy() });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, RAW_CONTROL);
    assert.deepEqual(JSON.parse(result.stdout), received);
  });

  test('control characters in server error text and codes are escaped on stderr', async () => {
    proxy.queue({ status: 400, body: { error: 'evil\u001b]0;title\u0007', error_description: '\u001b[2J\r\u0008cleared\u009b' } });
    const result = await runCli(['token', '--credentials', credentials], { env: viaProxy() });
    assertFailure(result, 1);
    assert.doesNotMatch(result.stderr, RAW_CONTROL);
    assert.match(result.stderr, /\\x1b\[2J\\x0d\\x08cleared/);
  });

  test('a token with CR LF: exit 1, no header printed (no header injection)', async () => {
    for (const args of [['--header'], []]) {
      proxy.queue({ json: { access_token: 'abc\r\nX-Injected: 1', token_type: 'Bearer' } });
      const result = await runCli(['token', ...args, '--credentials', credentials], { env: viaProxy() });
      assertFailure(result, 1);
      assert.doesNotMatch(result.stderr, RAW_CONTROL);
    }
  });

  test('a token type other than Bearer: exit 1', async () => {
    proxy.queue({ json: { access_token: 'abc', token_type: 'DPoP' } });
    assertFailure(await runCli(['token', '--header', '--credentials', credentials], { env: viaProxy() }), 1);
  });
});

// A static token (issue 13 item 2): DATACOSMOS_USER_TOKEN, then DATACOSMOS_ACCESS_TOKEN,
// when no client credentials are found; never a request.
describe('datacosmos-auth token with a static token', { timeout: 60_000 }, () => {
  const unsigned = (claims) => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

  test('DATACOSMOS_USER_TOKEN or DATACOSMOS_ACCESS_TOKEN is printed as it is, without a request', async () => {
    const before = demo.tokenRequests();
    const jwt = unsigned({ sub: 'user', exp: Math.floor(Date.now() / 1000) + 3600 });
    for (const [vars, printed] of [
      [{ DATACOSMOS_USER_TOKEN: 'opaque-user-token' }, 'opaque-user-token'],
      [{ DATACOSMOS_ACCESS_TOKEN: jwt }, jwt],
      [{ DATACOSMOS_USER_TOKEN: 'user-wins', DATACOSMOS_ACCESS_TOKEN: jwt }, 'user-wins'],
    ]) {
      const result = await runCli(['token'], { env: env(vars) });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${printed}\n`);
    }
    const header = await runCli(['token', '--header'], { env: env({ DATACOSMOS_USER_TOKEN: 'opaque-user-token' }) });
    assert.equal(header.stdout, 'Authorization: Bearer opaque-user-token\n');
    assert.equal(demo.tokenRequests(), before);
  });

  test('an expired JWT: exit 1, token_expired', async () => {
    const result = await runCli(['token'], { env: env({ DATACOSMOS_USER_TOKEN: unsigned({ exp: 1_600_000_000 }) }) });
    assertFailure(result, 1);
    assert.match(result.stderr, /token_expired/);
  });

  test('client credentials win: variables, or the default file', async () => {
    const vars = env({ DATACOSMOS_USER_TOKEN: 'opaque-user-token', OC_AUTH_CLIENT_ID: frank.clientId, OC_AUTH_CLIENT_SECRET: frank.clientSecret });
    assert.equal(jwtClaims((await assertToken(await runCli(['token'], { env: vars }))).token).azp, 'frank');
    const here = tempDir();
    try {
      here.write('data_cosmos_api_credentials.json', credentialsFile(frank));
      const result = await runCli(['token'], { env: env({ DATACOSMOS_USER_TOKEN: 'opaque-user-token' }), cwd: here.dir });
      assert.equal(jwtClaims((await assertToken(result)).token).azp, 'frank');
    } finally {
      here.cleanup();
    }
  });

  test('--json (no endpoint response) and a lone client id: exit 2', async () => {
    assertFailure(await runCli(['token', '--json'], { env: env({ DATACOSMOS_USER_TOKEN: 'opaque-user-token' }) }), 2);
    assertFailure(await runCli(['token'], { env: env({ DATACOSMOS_USER_TOKEN: 'opaque-user-token', DATACOSMOS_CLIENT_ID: 'frank' }) }), 2);
  });
});
