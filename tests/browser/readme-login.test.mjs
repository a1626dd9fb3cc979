// README.md's "A user's login in the browser" block, run as written in Chromium: the
// page imports the package by name (an import map to the ./web entry), redirects to a
// real authorization server (oidc-provider on another 127.0.0.1 origin: an SPA public
// client, PKCE S256, CORS), Chromium fills its login page, and the same block on
// /callback exchanges the code and calls an API with the bearer. Only the hosts change:
// the DataCosmos URLs become loopback ones.
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startLoginServer } from '../servers/oidc-login.mjs';
import { PKG_DIR, ROOT, launch } from './helpers.mjs';

const SECTION = "### A user's login in the browser";
let browser;
let api;
const seen = [];

before(async () => {
  browser = await launch();
  // A stand-in for the DataCosmos API: records the Authorization header it gets.
  api = http.createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'authorization');
    if (req.method === 'OPTIONS') return res.end();
    seen.push(req.headers.authorization);
    res.setHeader('content-type', 'application/json');
    res.end('{"collections":[]}');
  });
  await new Promise((r) => api.listen(0, '127.0.0.1', r));
});

after(async () => {
  await browser?.close();
  api?.close();
});

describe('README: the browser user login, in Chromium', { timeout: 60_000 }, () => {
  test('redirect, log in, callback, API call with the bearer', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf(SECTION));
    assert.ok(readme.includes(SECTION));
    const block = /```js\n([\s\S]*?)```/.exec(section)[1];
    assert.ok(block.includes('new UserLogin'));

    // The page answers `/` and `/callback` with the block (a static directory would
    // redirect /callback to /callback/, which the block does not treat as the callback),
    // and the package's modules at /node_modules/datacosmos-auth/.
    let html = '';
    const site = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const module = /^\/node_modules\/datacosmos-auth\/([\w-]+\.js)$/.exec(path);
      if (module) return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(PKG_DIR, module[1])));
      if (path !== '/' && path !== '/callback') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise((r) => site.listen(0, '127.0.0.1', r));
    site.url = `http://127.0.0.1:${site.address().port}`;
    const server = await startLoginServer({ webRedirectUris: [`${site.url}/callback`] });
    const resource = `http://127.0.0.1:${api.address().port}/api/data/v0/stac/collections`;
    const code = block
      .replace('clientId: "YOUR_SPA_CLIENT_ID",',
        `clientId: ${JSON.stringify(server.webClientId)}, authorizeUrl: ${JSON.stringify(server.authorizeUrl)}, `
        + `tokenUrl: ${JSON.stringify(server.tokenUrl)}, revocationUrl: ${JSON.stringify(server.revocationUrl)},`)
      .replace('https://app.open-cosmos.com/api/data/v0/stac/collections', resource);
    assert.notEqual(code, block, 'the hosts were replaced');
    html = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">\n'
      + `<script type="importmap">{ "imports": { "datacosmos-auth": "/node_modules/datacosmos-auth/index.js" } }</script>\n`
      + `<script type="module">\n${code}\nconsole.log(JSON.stringify({ status: res.status, body: await res.json() }));\n</script>\n`;

    const page = await browser.page();
    try {
      const logged = new Promise((resolve, reject) => {
        page.on('console', (msg) => { if (msg.type() === 'log') resolve(JSON.parse(msg.text())); });
        page.on('pageerror', reject);
      });
      await page.goto(`${site.url}/`);
      // The block redirected to the authorization server's login page.
      await page.waitForURL((u) => u.href.startsWith(`${server.origin}/interaction/`), { timeout: 15_000 }).catch((e) => { throw new Error(`${e.message}; at ${page.url()}; ${browser.problems.join('; ')}`); });
      await page.fill('#username', 'readme-user');
      await page.click('button[value=login]');
      const result = await logged;
      const landed = new URL(page.url());
      assert.equal(landed.pathname, '/', 'history.replaceState took the callback out of the address bar');
      assert.equal(landed.search, '');
      assert.deepEqual(result, { status: 200, body: { collections: [] } });
      assert.equal(seen.length, 1);
      assert.match(seen[0], /^Bearer [\w.~+/-]+=*$/, 'the API got the user access token');
      const a = server.authorizations().at(-1);
      assert.equal(a.code_challenge_method, 'S256');
      assert.equal(a.client_id, server.webClientId);
      assert.deepEqual(server.tokenLog().map((e) => [e.grantType, e.status]), [['authorization_code', 200]]);
    } finally {
      await page.close();
      site.closeAllConnections();
      site.close();
      await server.close();
    }
  });

  test('no request left loopback; no console errors', () => {
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });
});
