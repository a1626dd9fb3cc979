// datacosmos-auth/vite under a real Vite dev server (this folder's pinned vite), with
// Chromium fetching through it: the page gets the protected JSON; neither the client
// secret nor the token is ever visible to the page.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'vite';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import { datacosmos } from '../../pkg/vite.js';
import { artifact, launch } from './helpers.mjs';

const client = { clientId: 'vite-dev', clientSecret: 'vite-secret-1b6453892473a467d07372d45eb05abc' };

// The page fetches through the plugin and reports everything its JS can see.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>vite plugin</title><link rel="icon" href="data:,"></head><body>
<pre id="out"></pre>
<script type="module">
  const get = await fetch('/datacosmos/stac/collections?limit=2');
  const search = await fetch('/datacosmos/stac/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"limit":1}' });
  const collections = await get.json();
  const found = await search.json();
  window.result = {
    status: get.status, collections, searchStatus: search.status, found,
    headers: [...get.headers, ...search.headers],
    cookie: document.cookie,
    html: document.documentElement.outerHTML,
    resources: performance.getEntries().map((e) => e.name),
    globals: Object.keys(window).join(' '),
  };
  document.getElementById('out').textContent = JSON.stringify(collections, null, 2);
</script></body></html>`;

describe('datacosmos-auth/vite in a Vite dev server, fetched by Chromium', { timeout: 60_000 }, () => {
  let demo;
  let upstream; // records what the plugin sends upstream
  let vite;
  let browser;
  let root;
  before(async () => {
    demo = await startDemo({ clients: [client] });
    upstream = await startFaultProxy({ target: demo.resourceUrl });
    root = mkdtempSync(join(tmpdir(), 'datacosmos-vite-'));
    writeFileSync(join(root, 'index.html'), PAGE);
    vite = await createServer({
      configFile: false,
      root,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: 0 },
      plugins: [datacosmos({ prefix: '/datacosmos', target: upstream.url, ...client, tokenUrl: demo.tokenUrl })],
    });
    await vite.listen();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await vite?.close();
    await upstream?.close();
    await demo?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the page gets the protected JSON; the bearer is added server-side after the prefix is stripped', async () => {
    const page = await browser.page();
    const sent = [];
    page.on('request', (req) => sent.push(req.headers()));
    await page.goto(vite.resolvedUrls.local[0]);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 20_000 });
    const result = await page.evaluate(() => window.result);
    await page.screenshot({ path: artifact('vite-plugin.png') });

    assert.equal(result.status, 200);
    assert.deepEqual(result.collections.collections.map((c) => c.id), ['menut-l1b', 'hammer-l2a']);
    assert.equal(result.searchStatus, 200);
    assert.equal(result.found.context.requestBytes, '{"limit":1}'.length);

    const forwarded = upstream.requests.filter((r) => r.url.startsWith('/stac/'));
    assert.deepEqual(forwarded.map((r) => `${r.method} ${r.url}`), ['GET /stac/collections?limit=2', 'POST /stac/search']);
    const tokens = forwarded.map((r) => /^Bearer (\S+)$/.exec(r.headers.authorization)?.[1]);
    assert.ok(tokens.every(Boolean), 'the bearer was added');
    assert.equal(demo.tokenRequests(), 1);

    // Nothing the page's JS can read, nor any request the browser sent, holds either.
    const visible = JSON.stringify(result);
    for (const secret of [client.clientSecret, ...tokens]) {
      assert.ok(!visible.includes(secret), 'visible to the page');
      assert.ok(!JSON.stringify(sent).includes(secret), 'sent by the browser');
    }
    assert.ok(sent.every((h) => h.authorization === undefined), 'the browser sent no Authorization');
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });

  test('a page of another (non-loopback) origin cannot use the token', async () => {
    const before = upstream.requests.length;
    const res = await fetch(`${vite.resolvedUrls.local[0]}datacosmos/stac/collections`, { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    assert.equal(upstream.requests.length, before);
  });
});
