// The www page's "Log in as a user" path (issue #13), used as a person would: fields by
// their labels, "Log in", the authorization server's login page (tests/servers/oidc-login.mjs,
// oidc-provider on another loopback origin), and back on the www page, which is its own
// redirect URI (served by startWww, strict CSP included).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startLoginServer } from '../servers/oidc-login.mjs';
import { startWww } from '../servers/static.mjs';
import { DEFAULT_AUDIENCE, artifact, launch } from './helpers.mjs';

let site;
let login;
let browser;

before(async () => {
  site = await startWww();
  login = await startLoginServer({ webRedirectUris: [`${site.url}/`] });
  browser = await launch();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.url });
});

after(async () => {
  await browser?.close();
  await login?.close();
  await site?.close();
});

const form = (page) => page.locator('#login-form');
const text = (page, selector) => page.locator(selector).innerText();
const loginState = (page) => page.locator('#login').getAttribute('data-state');

async function openPage(page, url = `${site.url}/`) {
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
}

/** Fills the login form, presses "Log in", then the server's login page; resolves back on the www page. */
async function logIn(page, { keep = false, button = 'Log in' } = {}) {
  await browser.context.clearCookies(); // no login session at the server: its page shows
  await form(page).getByLabel('Client ID').fill(login.webClientId);
  await form(page).getByLabel('Authorize URL').fill(login.authorizeUrl);
  await form(page).getByLabel('Token URL').fill(login.tokenUrl);
  await form(page).getByLabel('Keep the session for this tab').setChecked(keep);
  const atLoginPage = page.waitForURL((url) => url.href.startsWith(`${login.origin}/interaction/`));
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await atLoginPage;
  if (button === 'Log in') await page.getByLabel('Username').fill('grace');
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.waitForURL((url) => url.href.startsWith(`${site.url}/`));
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
}

/** The access token as the server knows it: GET /api/me with it as the bearer. */
async function userinfo(token) {
  const res = await fetch(login.apiUrl, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, sub: (await res.json()).sub };
}

describe('the www page: log in as a user (PKCE)', { timeout: 90_000 }, () => {
  test('the form: labelled fields, the redirect URI to register, the sessionStorage risk in one sentence', () => browser.withPage(async (page) => {
    await openPage(page);
    for (const label of ['Client ID', 'Audience', 'Authorize URL', 'Token URL']) {
      assert.equal(await form(page).getByLabel(label).inputValue(), '', label);
    }
    const keep = form(page).getByLabel('Keep the session for this tab (sessionStorage)');
    assert.equal(await keep.isChecked(), false, 'memory only by default');
    assert.match(await text(page, '#login-keep-hint'), /^Risk: any script that runs on this page .* can read sessionStorage and take the refresh token;[^.]*\.$/s);
    assert.equal(await text(page, '#login-redirect-uri'), `${site.url}/`);
    assert.equal(await loginState(page), 'out');

    // No client ID: a message and focus, no request.
    const authorizations = login.authorizations().length;
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    assert.match(await text(page, '#login-status'), /Enter the client ID/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'login-client-id');
    assert.equal(login.authorizations().length, authorizations);
  }));

  test('Log in (memory only): back on the page the session shows expiry and a masked token whose copy is the token; a reload has no session', () => browser.withPage(async (page) => {
    await openPage(page);
    const codes = login.codeExchanges();
    const before = Date.now();
    await logIn(page);
    assert.equal(await loginState(page), 'in', await text(page, '#login'));
    assert.equal(page.url(), `${site.url}/`, 'the code and state left the address bar');
    assert.equal(login.codeExchanges() - codes, 1);
    const sent = login.authorizations().at(-1);
    assert.equal(sent.redirect_uri, `${site.url}/`);
    assert.equal(sent.code_challenge_method, 'S256');
    assert.equal(sent.audience, DEFAULT_AUDIENCE);

    assert.equal(await text(page, '#login-status'), 'Logged in.');
    assert.equal(await text(page, '#login-kept'), 'this page only (memory)');
    const expiresAt = Number(await page.locator('#login-session').getAttribute('data-expires-at'));
    assert.ok(expiresAt >= before + 590_000 && expiresAt <= Date.now() + 600_000, `expiresAt ${expiresAt}`);
    assert.match(await text(page, '#login-expires-in'), /^(9|10) min \d\d s$/);
    assert.match(await text(page, '#login-expires-at'), /\d/);

    await page.locator('button.copy[data-copy="login-token-text"]').click();
    const token = await page.evaluate(() => navigator.clipboard.readText());
    assert.deepEqual(await userinfo(token), { status: 200, sub: 'grace' }, 'the copied text is the access token');
    const masked = await text(page, '#login-token-masked');
    assert.ok(!masked.includes(token), 'the token is shown masked');
    assert.ok(masked.startsWith(token.slice(0, 6)) && masked.includes('•'));
    assert.ok(!(await page.locator('body').innerText()).includes(token), 'nowhere in clear');
    await page.screenshot({ path: artifact('www-login-session.png'), fullPage: true });

    const requests = login.tokenRequests();
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
    assert.equal(await loginState(page), 'out');
    assert.equal(await page.locator('#login-session').isHidden(), true);
    assert.equal(login.tokenRequests() - requests, 0);
  }));

  test('Keep the session (sessionStorage): a reload restores it without a login; "Log out" revokes it and clears sessionStorage', () => browser.withPage(async (page) => {
    await openPage(page);
    await logIn(page, { keep: true });
    assert.equal(await loginState(page), 'in', await text(page, '#login'));
    assert.equal(await text(page, '#login-kept'), 'sessionStorage (this tab)');
    const token = await page.locator('#login-token-text').textContent();

    const requests = login.tokenRequests();
    const authorizations = login.authorizations().length;
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
    assert.equal(await loginState(page), 'in');
    assert.equal(await text(page, '#login-status'), 'Session restored from sessionStorage.');
    assert.equal(await page.locator('#login-token-text').textContent(), token);
    assert.equal(login.tokenRequests() - requests, 0, 'no token request');
    assert.equal(login.authorizations().length - authorizations, 0, 'no login');

    const refresh = await page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':refresh'))?.[1]);
    assert.ok(refresh, 'a refresh token was kept');
    const revocations = login.revocations().length;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login[data-state="out"]').waitFor({ state: 'attached' });
    assert.deepEqual(login.revocations().slice(revocations), [{ tokenTypeHint: 'refresh_token', status: 200 }]);
    assert.equal(await page.locator('#login-session').isHidden(), true);
    const left = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('datacosmos-auth:')));
    assert.deepEqual(left, []);
    assert.deepEqual(await login.refresh(refresh), { status: 400, error: 'invalid_grant' }, 'the revoked refresh token is refused');
  }));

  test('"Cancel" at the login page: the page shows access_denied and its description', () => browser.withPage(async (page) => {
    await openPage(page);
    const requests = login.tokenRequests();
    await logIn(page, { button: 'Cancel' });
    assert.equal(await loginState(page), 'error');
    assert.equal(await text(page, '#login-error-code'), 'access_denied');
    assert.equal(await text(page, '#login-error-description'), 'the user cancelled the login');
    assert.equal(login.tokenRequests() - requests, 0);
  }));

  test('a callback with a forged state shows state_mismatch and sends no token request', () => browser.withPage(async (page) => {
    await openPage(page);
    await logIn(page);
    assert.equal(await loginState(page), 'in');
    const requests = login.tokenRequests();
    await openPage(page, `${site.url}/?code=forged-code&state=forged-state`);
    assert.equal(await loginState(page), 'error');
    assert.equal(await text(page, '#login-error-code'), 'state_mismatch');
    assert.equal(login.tokenRequests() - requests, 0);
  }));

  test('nothing was loaded from outside loopback; no console error (CSP included)', () => {
    assert.ok(browser.requests.length > 0);
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });
});
