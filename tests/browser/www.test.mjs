// The token inspector page (www/) as `make demo` serves it (startWww: www/ at /, pkg/ at
// /pkg/, /demo-config.json, a strict CSP), used as a person would: by its labels and
// buttons. Screenshots go to tests/artifacts/browser/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startWww } from '../servers/static.mjs';
import { DEFAULT_AUDIENCE, artifact, jwtClaims, launch } from './helpers.mjs';

const run = promisify(execFile);
const demoClient = { clientId: 'demo-client', clientSecret: 'demo-secret-8f14e45fceea167a' };

let demo;
let site;
let browser;

before(async () => {
  demo = await startDemo({ clients: [demoClient] });
  site = await startWww({
    demoConfig: { tokenUrl: demo.tokenUrl, ...demoClient, audience: demo.audience, resourceUrl: demo.resourceUrl },
  });
  browser = await launch();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.url });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await demo?.close();
});

/** A new tab on the page, once its module has loaded the package. */
async function openPage(url = `${site.url}/`, viewport = undefined) {
  const page = await browser.page();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
  return page;
}

/** Clicks "Get token" and waits until the request is over (the form's aria-busy). */
async function getToken(page) {
  await page.getByRole('button', { name: 'Get token' }).click();
  await page.locator('#token-form[aria-busy="false"]').waitFor({ state: 'attached' });
}

// The client-credentials form's fields (the user-login form has a Client ID, Token URL
// and Audience of its own).
const tool = (page) => page.locator('#token-form');
const text = (page, selector) => page.locator(selector).innerText();
const claim = (page, name, list = '#jwt-claims') => page.locator(`${list} dd[data-claim="${name}"] .value`).innerText();

describe('the www page', { timeout: 90_000 }, () => {
  let page;
  before(async () => { page = await openPage(); });
  after(async () => { await page?.close(); });

  test('loads pre-filled from /demo-config.json; every control has a label; the secret notice is there', async () => {
    assert.equal(await tool(page).getByLabel('Token URL').inputValue(), demo.tokenUrl);
    assert.equal(await tool(page).getByLabel('Client ID').inputValue(), demoClient.clientId);
    const secret = tool(page).getByLabel('Client secret', { exact: true });
    assert.equal(await secret.inputValue(), demoClient.clientSecret);
    assert.equal(await secret.getAttribute('type'), 'password');
    await page.getByRole('button', { name: 'Show the client secret' }).click();
    assert.equal(await secret.getAttribute('type'), 'text');
    await page.getByRole('button', { name: 'Hide the client secret' }).click();
    assert.equal(await secret.getAttribute('type'), 'password');
    assert.equal(await tool(page).getByLabel('Audience').inputValue(), DEFAULT_AUDIENCE);
    assert.ok(await page.getByText('Pre-filled for the local demo server').isVisible());
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
      .filter((e) => (e.labels?.length ?? 0) === 0 && !e.getAttribute('aria-label') && !e.textContent.trim())
      .map((e) => e.outerHTML));
    assert.deepEqual(unlabelled, []);
    const notice = await page.getByRole('note').innerText();
    assert.match(notice, /client secret must never ship in a public web app/i);
    assert.match(notice, /backend or a Cloudflare Worker/);
  });

  test('"Get token" shows the JWT header and claims, type, scope and a countdown that decreases', async () => {
    const from = demo.tokenRequests();
    await getToken(page);
    assert.equal(demo.tokenRequests() - from, 1);
    assert.equal(await page.locator('#error').isHidden(), true);
    assert.equal(await claim(page, 'alg', '#jwt-header'), 'RS256');
    assert.equal(await claim(page, 'typ', '#jwt-header'), 'JWT');
    assert.equal(await claim(page, 'sub'), `${demoClient.clientId}@clients`);
    assert.equal(await claim(page, 'aud'), DEFAULT_AUDIENCE);
    assert.equal(await claim(page, 'azp'), demoClient.clientId);
    assert.match(await page.locator('#jwt-claims dd[data-claim="exp"] .when').innerText(), /\d/);
    assert.equal(await text(page, '#token-type'), 'Bearer');
    assert.equal(await text(page, '#token-scope'), '(none granted)');
    assert.match(await text(page, '#source'), /Fetched from the token endpoint/);

    const countdown = page.getByRole('timer');
    assert.match(await countdown.innerText(), /^(59|60) min \d\d s$/);
    const first = Number(await countdown.getAttribute('data-seconds'));
    assert.ok(first > 3500 && first <= 3600, `${first} s left`);
    await page.waitForTimeout(2_200);
    const later = Number(await countdown.getAttribute('data-seconds'));
    assert.ok(later < first && first - later <= 4, `the countdown went from ${first} to ${later}`);
    await page.screenshot({ path: artifact('www-desktop-token.png'), fullPage: true });
  });

  test('a second click is served from the cache; "Forget cached token" makes the next one ask again', async () => {
    const token = await text(page, '#token-text');
    let from = demo.tokenRequests();
    await getToken(page);
    assert.equal(demo.tokenRequests() - from, 0);
    assert.match(await text(page, '#source'), /from the client's cache/);
    assert.equal(await text(page, '#token-text'), token);

    await page.getByRole('button', { name: 'Forget cached token' }).click();
    from = demo.tokenRequests();
    await getToken(page);
    assert.equal(demo.tokenRequests() - from, 1);
    assert.notEqual(await text(page, '#token-text'), token);
  });

  test('keyboard: Enter in a field submits the form', async () => {
    const from = demo.tokenRequests();
    await tool(page).getByLabel('Audience').press('Enter');
    await page.locator('#token-form[aria-busy="false"]').waitFor({ state: 'attached' });
    assert.match(await text(page, '#source'), /from the client's cache/);
    assert.equal(demo.tokenRequests() - from, 0);
  });

  test('the curl and fetch snippets carry the token, copy to the clipboard, and run as they are', async () => {
    const token = await text(page, '#token-text');
    jwtClaims(token);
    assert.equal(await page.getByLabel('API URL').inputValue(), demo.resourceUrl);
    const curl = await text(page, '#curl-snippet');
    const fetchSnippet = await text(page, '#fetch-snippet');
    assert.ok(curl.includes(token) && curl.includes(demo.resourceUrl));
    assert.ok(fetchSnippet.includes(token) && fetchSnippet.includes(demo.resourceUrl));

    await page.locator('button.copy[data-copy="curl-snippet"]').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
    await page.locator('button.copy[data-copy="fetch-snippet"]').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), fetchSnippet);

    const dir = mkdtempSync(join(tmpdir(), 'datacosmos-snippets-'));
    try {
      // The fetch snippet, unchanged, as an ES module (top-level await) in Node.
      writeFileSync(join(dir, 'snippet.mjs'), fetchSnippet);
      const node = await run(process.execPath, [join(dir, 'snippet.mjs')], { encoding: 'utf8' });
      assert.match(node.stdout, /^200 /);
      // The curl snippet, unchanged, in bash (where curl is installed).
      const hasCurl = await run('bash', ['-c', 'command -v curl']).then(() => true, () => false);
      if (hasCurl) {
        const shell = await run('bash', ['-c', `${curl} --silent --show-error --fail`], { encoding: 'utf8' });
        assert.deepEqual(JSON.parse(shell.stdout).collections.map((c) => c.id), ['menut-l1b', 'hammer-l2a']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    await page.getByRole('button', { name: 'Call it with client.fetch' }).click();
    await page.locator('#call-body:not([hidden])').waitFor();
    assert.match(await text(page, '#call-status'), /^HTTP 200/);
    assert.match(await text(page, '#call-body'), /menut-l1b/);
  });

  test('a scope from "More options" is sent, granted and shown', async () => {
    await page.getByText('More options').click();
    await tool(page).getByLabel('Scope').fill('stac:read');
    await getToken(page);
    assert.equal(demo.requests.at(-1).params.scope, 'stac:read');
    assert.equal(await text(page, '#token-scope'), 'stac:read');
    assert.equal(await claim(page, 'scope'), 'stac:read');
    await tool(page).getByLabel('Scope').fill('');
    await page.getByText('More options').click();
  });

  test('a wrong secret shows the error with its code, HTTP status and description', async () => {
    const wrong = 'wrong-secret-5d41402abc4b2a76';
    await tool(page).getByLabel('Client secret', { exact: true }).fill(wrong);
    await getToken(page);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(await text(page, '#error-code'), 'access_denied');
    assert.equal(await text(page, '#error-status'), 'HTTP 401');
    assert.equal(await text(page, '#error-description'), 'Unauthorized');
    assert.match(await alert.innerText(), /check the client ID, the secret and the audience/);
    assert.equal(await page.locator('#result').isHidden(), true, 'no stale token next to the error');
    assert.ok(!(await page.locator('body').innerText()).includes(wrong), 'the secret is not rendered');
    await page.screenshot({ path: artifact('www-desktop-error.png'), fullPage: true });
  });

  test('a non-loopback http: token URL is refused before any request (invalid_config)', async () => {
    const from = demo.tokenRequests();
    const requests = browser.requests.length;
    await tool(page).getByLabel('Token URL').fill('http://example.com/oauth/token');
    await getToken(page);
    assert.equal(await text(page, '#error-code'), 'invalid_config');
    assert.equal(await text(page, '#error-status'), 'no HTTP response');
    assert.equal(demo.tokenRequests() - from, 0);
    assert.deepEqual(browser.requests.slice(requests), []);
  });

  test('empty client ID or secret: a message and focus, no request', async () => {
    const from = demo.tokenRequests();
    await tool(page).getByLabel('Client ID').fill('');
    await page.getByRole('button', { name: 'Get token' }).click();
    assert.match(await text(page, '#status'), /Enter a client ID and a client secret/);
    assert.equal(await tool(page).getByLabel('Client ID').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'client-id');
    assert.equal(demo.tokenRequests() - from, 0);
  });
});

describe('the www page at other sizes and without the demo server', { timeout: 90_000 }, () => {
  test('mobile width (390 px): no horizontal scrolling, token and claims shown', async () => {
    const page = await openPage(undefined, { width: 390, height: 844 });
    try {
      await getToken(page);
      assert.equal(await page.locator('#result').isVisible(), true);
      const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth }));
      assert.ok(scroll <= width, `page ${scroll} px wide in a ${width} px viewport`);
      await page.screenshot({ path: artifact('www-mobile-token.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  test('dark colour scheme renders (screenshot)', async () => {
    const page = await browser.page();
    try {
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${site.url}/`);
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
      await getToken(page);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.notEqual(bg, 'rgb(245, 246, 251)', 'the dark palette applies');
      await page.screenshot({ path: artifact('www-dark-token.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  test('served without /demo-config.json the fields start empty', async () => {
    const plain = await startWww();
    try {
      const page = await openPage(`${plain.url}/`);
      for (const label of ['Token URL', 'Client ID', 'Audience']) assert.equal(await tool(page).getByLabel(label).inputValue(), '');
      assert.equal(await tool(page).getByLabel('Client secret', { exact: true }).inputValue(), '');
      assert.equal(await page.getByText('Pre-filled for the local demo server').isVisible(), false);
      await page.close();
    } finally {
      await plain.close();
    }
  });

  test('nothing was loaded from outside loopback; no unexpected console errors (CSP included)', () => {
    assert.deepEqual(browser.outside(), []);
    const unexpected = browser.problems.filter((p) => !/status of 401 \(Unauthorized\)/.test(p));
    assert.deepEqual(unexpected, []);
  });
});
