// `datacosmos-auth login` with a real browser: the CLI prints the authorization URL,
// Chromium opens it, fills the login server's page (tests/servers/oidc-login.mjs) and is
// redirected to the CLI's loopback callback (RFC 8252 §7.3), which answers its "Logged in"
// page; the CLI then exits 0 with the session in its token file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startLoginServer } from '../servers/oidc-login.mjs';
import { DEFAULT_AUDIENCE, PKG_DIR, artifact, jwtClaims, launch } from './helpers.mjs';

const CLI = join(PKG_DIR, 'cli.js');

/** Runs the CLI; `stderrLine(re)` resolves the first match on stderr, `done` the result. */
function cli(args, env) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers = [];
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    for (const w of watchers) w();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    for (const w of watchers) w(true);
    resolve({ code, stdout, stderr });
  }));
  const stderrLine = (re) => new Promise((resolve) => {
    const check = (closed) => {
      const match = re.exec(stderr);
      if (match || closed) resolve(match?.[1] ?? null);
    };
    watchers.push(check);
    check();
  });
  return { done, stderrLine };
}

describe('Chromium completes `datacosmos-auth login`', () => {
  let browser;
  let server;
  let home;
  before(async () => {
    server = await startLoginServer();
    browser = await launch();
    home = mkdtempSync(join(tmpdir(), 'datacosmos-cli-login-'));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('the printed URL, the login page, the loopback callback page, the token file', async () => {
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DATACOSMOS_') && !k.startsWith('NODE_TEST'))),
      XDG_CONFIG_HOME: home,
      DATACOSMOS_AUTHORIZE_URL: server.authorizeUrl,
      DATACOSMOS_TOKEN_URL: server.tokenUrl,
      DATACOSMOS_REVOCATION_URL: server.revocationUrl,
    };
    const login = cli(['login', '--no-browser', '--client-id', server.nativeClientId], env);
    const url = await login.stderrLine(/Open this URL to log in: (\S+)/);
    assert.ok(url, 'the CLI printed the URL');
    const redirectUri = new URL(url).searchParams.get('redirect_uri');
    assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback$/);

    const page = await browser.page();
    await page.goto(url);
    await page.getByLabel('Username').fill('ada');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${redirectUri}?`));
    assert.match(await page.locator('body').textContent(), /Logged in; you can close this tab/);
    assert.equal(await page.title(), 'Logged in');
    await page.screenshot({ path: artifact('cli-login.png') });
    await page.close();

    const result = await login.done;
    assert.equal(result.code, 0, result.stderr);
    const path = join(home, 'datacosmos-auth', 'user.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const session = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(session.client_id, server.nativeClientId);
    assert.equal(session.redirect_uri, redirectUri);

    const token = await cli(['token', '--user'], env).done;
    assert.equal(token.code, 0, token.stderr);
    const claims = jwtClaims(token.stdout.trim());
    assert.equal(claims.sub, 'ada');
    assert.equal(claims.aud, DEFAULT_AUDIENCE);
  });

  test('nothing was loaded from outside loopback, and no page error', () => {
    assert.ok(browser.requests.length > 0);
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });
});
