// The CLI's user login (pkg/cli.js login, token --user, logout) against the login server
// (tests/servers/oidc-login.mjs: oidc-provider, public native client, PKCE S256, refresh
// token rotation with reuse detection), the browser played by the login agent, which
// follows the redirect to the CLI's loopback callback. Every URL is on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { completeLogin } from '../servers/login-agent.mjs';
import { startLoginServer } from '../servers/oidc-login.mjs';
import { CLI, DEFAULT_AUDIENCE, cleanEnv, jwtClaims, run, sleep, tempDir } from './helpers.mjs';

/** The environment of a CLI run: the server's endpoints, the config dir in `dir`. */
const envFor = (server, dir) => cleanEnv({
  XDG_CONFIG_HOME: dir,
  DATACOSMOS_AUTHORIZE_URL: server.authorizeUrl,
  DATACOSMOS_TOKEN_URL: server.tokenUrl,
  DATACOSMOS_REVOCATION_URL: server.revocationUrl,
});
const fileIn = (dir) => join(dir, 'datacosmos-auth', 'user.json');
const readSession = (dir) => JSON.parse(readFileSync(fileIn(dir), 'utf8'));

/**
 * Starts `login --no-browser`; `url` resolves the URL it prints on stderr, `done` its
 * { code, stdout, stderr } (killed after 30 s).
 */
function startLogin(server, dir, args = []) {
  const child = spawn(process.execPath, [CLI, 'login', '--no-browser', '--client-id', server.nativeClientId, ...args], {
    env: envFor(server, dir), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let found;
  const url = new Promise((resolve) => { found = resolve; });
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    const match = /Open this URL to log in: (\S+)/.exec(stderr);
    if (match) found(match[1]);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise((resolve) => child.on('close', (code, signal) => {
    clearTimeout(timer);
    found(null);
    resolve({ code, signal, stdout, stderr });
  }));
  return { url, done };
}

/** A whole login by the login agent; asserts it succeeded. Returns the CLI's result and the callback answer. */
async function logIn(server, dir, args) {
  const login = startLogin(server, dir, args);
  const url = await login.url;
  assert.ok(url, 'the CLI printed the URL');
  const { response } = await completeLogin(url, { follow: true });
  const result = await login.done;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(response.status, 200);
  return { url, result, response };
}

const tokenUser = (server, dir, args = []) => run([CLI, 'token', '--user', ...args], { env: envFor(server, dir) });

describe('datacosmos-auth login / token --user / logout', { timeout: 120_000 }, () => {
  let server; // access tokens live 600 s
  let tmp;
  before(async () => {
    server = await startLoginServer();
    tmp = tempDir();
  });
  after(async () => {
    tmp?.cleanup();
    await server?.close();
  });
  let n = 0;
  const freshDir = () => join(tmp.dir, `home-${(n += 1)}`);

  test('login: loopback redirect with PKCE and state, a 0600 token file written by rename', async () => {
    const dir = freshDir();
    const login = startLogin(server, dir);
    const url = new URL(await login.url);
    const q = Object.fromEntries(url.searchParams);
    assert.equal(url.origin + url.pathname, server.authorizeUrl);
    assert.match(q.redirect_uri, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback$/);
    assert.equal(q.response_type, 'code');
    assert.equal(q.client_id, server.nativeClientId);
    assert.equal(q.code_challenge_method, 'S256');
    assert.match(q.code_challenge, /^[\w-]{43}$/);
    assert.match(q.state, /^[\w-]{43}$/);
    assert.equal(q.scope, 'openid profile email offline_access');
    assert.equal(q.audience, DEFAULT_AUDIENCE);
    // Another path of the loopback server is 404, and the login still waits.
    const other = await fetch(new URL('/favicon.ico', q.redirect_uri));
    assert.equal(other.status, 404);
    await other.arrayBuffer();

    const exchangesBefore = server.codeExchanges();
    const { response } = await completeLogin(url.href, { follow: true });
    const result = await login.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(response.status, 200);
    assert.match(response.body, /Logged in; you can close this tab/);
    assert.equal(server.codeExchanges() - exchangesBefore, 1);
    assert.match(result.stderr, /logged in/);
    assert.equal(result.stdout, '');

    const path = fileIn(dir);
    assert.equal(statSync(path).mode & 0o777, 0o600, 'the token file is 0600');
    assert.equal(statSync(join(dir, 'datacosmos-auth')).mode & 0o777, 0o700, 'its directory is 0700');
    assert.deepEqual(readdirSync(join(dir, 'datacosmos-auth')), ['user.json'], 'no temporary file or lock left');
    const session = readSession(dir);
    assert.equal(session.version, 1);
    assert.equal(session.client_id, server.nativeClientId);
    assert.equal(session.token_url, server.tokenUrl);
    assert.equal(session.revocation_url, server.revocationUrl);
    assert.equal(session.redirect_uri, q.redirect_uri);
    assert.equal(session.audience, DEFAULT_AUDIENCE);
    assert.match(session.refresh_token, /^\S{20,}$/);
    assert.equal(typeof session.token, 'string', "the engine's access-token entry");
    assert.ok(!result.stderr.includes(session.refresh_token), 'the refresh token is never printed');
  });

  test('token --user: a fresh token with no token request; --header and --json', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const before = server.tokenRequests();
    const result = await tokenUser(server, dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\S+\n$/);
    const token = result.stdout.trim();
    const claims = jwtClaims(token);
    assert.equal(claims.aud, DEFAULT_AUDIENCE);
    assert.equal(claims.sub, 'test-user');
    assert.equal(server.tokenRequests(), before, 'no token request for a fresh token');

    const header = await tokenUser(server, dir, ['--header']);
    assert.equal(header.stdout, `Authorization: Bearer ${token}\n`);
    const json = await tokenUser(server, dir, ['--json']);
    const body = JSON.parse(json.stdout);
    assert.equal(body.access_token, token);
    assert.equal(body.token_type.toLowerCase(), 'bearer');
    assert.ok(body.expires_in > 500 && body.expires_in <= 600, `expires_in ${body.expires_in}`);
    assert.equal(body.refresh_token, undefined);
    assert.ok(!json.stdout.includes(readSession(dir).refresh_token));
    assert.equal(server.tokenRequests(), before);
  });

  test('token --user: a lock left by a dead process (stale: 10 s untouched) is taken over', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const lock = `${fileIn(dir)}.lock`;
    mkdirSync(lock);
    const past = new Date(Date.now() - 60_000);
    utimesSync(lock, past, past);
    const result = await tokenUser(server, dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jwtClaims(result.stdout.trim()).sub, 'test-user');
    assert.ok(!existsSync(lock), 'the lock is released');
  });

  test('login: a callback without this login\'s state is refused (400, state_mismatch) and the login waits on for the real one', async () => {
    const dir = freshDir();
    const login = startLogin(server, dir);
    const url = await login.url;
    const redirectUri = new URL(url).searchParams.get('redirect_uri');
    for (const query of ['code=some-code&state=forged-state', 'code=some-code', `code=x&state=${new URL(url).searchParams.get('state')}&state=forged`]) {
      const forged = await fetch(`${redirectUri}?${query}`);
      assert.equal(forged.status, 400, query);
      assert.match(await forged.text(), /state_mismatch/);
    }
    assert.ok(!existsSync(fileIn(dir)), 'no token file yet');
    const { response } = await completeLogin(url, { follow: true });
    const result = await login.done;
    assert.equal(response.status, 200);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(fileIn(dir)), 'the real login completed');
  });

  test('login: the user cancels (access_denied, exit 1); no callback in --timeout (exit 1)', async () => {
    const dir = freshDir();
    const login = startLogin(server, dir);
    const { response } = await completeLogin(await login.url, { follow: true, cancel: true });
    const result = await login.done;
    assert.equal(response.status, 400);
    assert.match(response.body, /access_denied/);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /access_denied/);

    const waited = await startLogin(server, dir, ['--timeout', '0.2']).done;
    assert.equal(waited.code, 1);
    assert.match(waited.stderr, /timeout: no login completed within 0\.2 s/);
    assert.ok(!existsSync(fileIn(dir)));
  });

  test("login: a callback error is exit 1 whatever code it names (error=invalid_config is the server's word, not a usage error)", async () => {
    const dir = freshDir();
    const login = startLogin(server, dir);
    const url = new URL(await login.url);
    const callback = new URL(url.searchParams.get('redirect_uri'));
    callback.search = new URLSearchParams({ state: url.searchParams.get('state'), error: 'invalid_config' }).toString();
    const answer = await fetch(callback);
    await answer.arrayBuffer();
    const result = await login.done;
    assert.equal(answer.status, 400);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /invalid_config/);
  });

  test('logout and login never delete or replace a file that is not a session file (--token-file on the credentials file)', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'data_cosmos_api_credentials.json');
    const credentials = JSON.stringify({ clientId: 'm2m', clientSecret: 'the-secret' });
    writeFileSync(path, credentials);
    const out = await run([CLI, 'logout', '--token-file', path], { env: envFor(server, dir) });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /not a datacosmos-auth session file/);
    assert.equal(readFileSync(path, 'utf8'), credentials, 'logout left it as it was');
    const login = await startLogin(server, dir, ['--token-file', path]).done;
    assert.equal(login.code, 2, login.stderr);
    assert.match(login.stderr, /not a datacosmos-auth session file/);
    assert.ok(!/Open this URL/.test(login.stderr), 'refused before the login started');
    assert.equal(readFileSync(path, 'utf8'), credentials, 'login left it as it was');
  });

  test('token --user: a revoked refresh token is invalid_grant (exit 1, log in again)', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const session = readSession(dir);
    assert.ok(await server.provider.RefreshToken.find(session.refresh_token), 'the server knows the refresh token');
    // Revoked at the server (RFC 7009) by another client of the user...
    const revoked = await fetch(server.revocationUrl, {
      method: 'POST',
      body: new URLSearchParams({ token: session.refresh_token, token_type_hint: 'refresh_token', client_id: server.nativeClientId }),
    });
    assert.equal(revoked.status, 200);
    // ...and the stored access token gone, so that the next call must refresh.
    delete session.token;
    writeFileSync(fileIn(dir), JSON.stringify(session), { mode: 0o600 });
    const result = await tokenUser(server, dir);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /invalid_grant/);
    assert.match(result.stderr, /log ?in again/);
    assert.ok(!result.stderr.includes(session.refresh_token));
    assert.equal(server.tokenLog().at(-1).error, 'invalid_grant');
  });

  test('login again: the earlier session\'s refresh token is revoked once the new login succeeds', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const { refresh_token: old } = readSession(dir);
    await logIn(server, dir);
    const { refresh_token: now } = readSession(dir);
    assert.notEqual(now, old);
    assert.equal((await server.refresh(old)).error, 'invalid_grant', 'the replaced refresh token is revoked');
    assert.ok(await server.provider.RefreshToken.find(now), 'the new one is not');
  });

  test('login again while token --user rotates the refresh token: the one revoked is the one on disk at the callback', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const { refresh_token: first } = readSession(dir);
    const login = startLogin(server, dir);
    const url = await login.url;
    // During the browser wait, token --user renews (its access token gone) and rotates.
    const session = readSession(dir);
    delete session.token;
    writeFileSync(fileIn(dir), JSON.stringify(session));
    assert.equal((await tokenUser(server, dir)).code, 0);
    const { refresh_token: rotated } = readSession(dir);
    assert.notEqual(rotated, first);
    const { response } = await completeLogin(url, { follow: true });
    assert.equal(response.status, 200);
    assert.equal((await login.done).code, 0);
    assert.equal(server.revokedTokens().at(-1), rotated, 'the live refresh token is revoked, not the spent one');
  });

  test('logout: a revocation that fails is said, and the file is deleted all the same', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const session = readSession(dir);
    writeFileSync(fileIn(dir), JSON.stringify({ ...session, revocation_url: 'http://127.0.0.1:9/oauth/revoke' }));
    const result = await run([CLI, 'logout'], { env: envFor(server, dir) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /could not be revoked/);
    assert.ok(!existsSync(fileIn(dir)));
  });

  test('logout: revokes the refresh token at the server and deletes the file; then not logged in', async () => {
    const dir = freshDir();
    await logIn(server, dir);
    const { refresh_token: refreshToken } = readSession(dir);
    assert.ok(await server.provider.RefreshToken.find(refreshToken));
    const result = await run([CLI, 'logout'], { env: envFor(server, dir) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /logged out .*refresh token revoked/);
    assert.ok(!existsSync(fileIn(dir)), 'the token file is deleted');
    assert.deepEqual(readdirSync(join(dir, 'datacosmos-auth')), [], 'nor any lock left');
    assert.equal(await server.provider.RefreshToken.find(refreshToken), undefined, 'the server revoked the refresh token');
    const refused = await fetch(server.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: server.nativeClientId }),
    });
    assert.equal((await refused.json()).error, 'invalid_grant');

    const again = await run([CLI, 'logout'], { env: envFor(server, dir) });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /not logged in/);
    const none = await tokenUser(server, dir);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /not logged in.*datacosmos-auth login/);
  });

  test('--token-file and DATACOSMOS_USER_TOKEN_FILE choose the file', async () => {
    const dir = freshDir();
    const path = join(tmp.dir, 'elsewhere', 'session.json');
    await logIn(server, dir, ['--token-file', path]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(!existsSync(fileIn(dir)));
    const result = await run([CLI, 'token', '--user'], { env: { ...envFor(server, dir), DATACOSMOS_USER_TOKEN_FILE: path } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jwtClaims(result.stdout.trim()).sub, 'test-user');
  });
});

describe('token --user renews a due token with the refresh token, once across processes', { timeout: 120_000 }, () => {
  const TTL = 8; // seconds: a token is due once fewer than TTL / 2 remain
  let server;
  let tmp;
  before(async () => {
    server = await startLoginServer({ accessTokenTTL: TTL });
    tmp = tempDir();
  });
  after(async () => {
    tmp?.cleanup();
    await server?.close();
  });

  /** Sleeps until `token` has 2.5 s left: due (fewer than TTL / 2 s), still valid. */
  const untilDue = (token) => sleep(Math.max(0, jwtClaims(token).exp * 1000 - 2500 - Date.now()));

  test('one refresh request when due, rotation kept; two processes at once make one refresh request', async () => {
    const dir = tmp.dir;
    await logIn(server, dir);
    const first = await tokenUser(server, dir);
    assert.equal(first.code, 0, first.stderr);
    const token1 = first.stdout.trim();
    const refresh1 = readSession(dir).refresh_token;

    await untilDue(token1);
    const before1 = server.refreshRequests();
    const second = await tokenUser(server, dir);
    assert.equal(second.code, 0, second.stderr);
    const token2 = second.stdout.trim();
    assert.notEqual(token2, token1, 'a new access token');
    assert.equal(server.refreshRequests() - before1, 1, 'exactly one refresh request');
    const refresh2 = readSession(dir).refresh_token;
    assert.notEqual(refresh2, refresh1, 'the rotated refresh token is kept');
    assert.equal(statSync(fileIn(dir)).mode & 0o777, 0o600);

    await untilDue(token2);
    const before2 = server.refreshRequests();
    const [a, b] = await Promise.all([tokenUser(server, dir), tokenUser(server, dir)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(server.refreshRequests() - before2, 1, 'one refresh request for both processes');
    assert.equal(a.stdout, b.stdout, 'both print the same new token');
    assert.notEqual(a.stdout.trim(), token2);
    assert.ok(server.tokenLog().every((e) => e.error === undefined), 'no refresh token was spent twice (reuse detection would say invalid_grant)');
    assert.notEqual(readSession(dir).refresh_token, refresh2);
  });
});
