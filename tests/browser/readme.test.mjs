// The ```html blocks of README.md and pkg/README.md (the ./web entry without a bundler)
// run in Chromium as written. The page is the block, after a classic script that sets
// its free variables (clientId, clientSecret, tokenUrl) for the demo token server, and
// the package is served at /node_modules/datacosmos-auth/, where its import map looks.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startStatic } from '../servers/static.mjs';
import { PKG_DIR, ROOT, jwtClaims, launch } from './helpers.mjs';

const client = { clientId: 'readme-page', clientSecret: 'readme-page-secret-8f14e45fceea167a' };
let demo;
let browser;
let work;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'datacosmos-readme-html-'));
  demo = await startDemo({ clients: [client] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('README html examples in Chromium', { timeout: 60_000 }, () => {
  for (const readme of ['README.md', 'pkg/README.md']) {
    test(`${readme}: the ./web example with an import map logs the TokenInfo`, async () => {
      const blocks = [...readFileSync(join(ROOT, readme), 'utf8').matchAll(/```html\n([\s\S]*?)```/g)].map((m) => m[1]);
      assert.equal(blocks.length, 1, 'one html block');
      const dir = mkdtempSync(join(work, 'page-'));
      const vars = { ...client, tokenUrl: demo.tokenUrl };
      writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">\n'
        + `<script>${Object.entries(vars).map(([k, v]) => `var ${k} = ${JSON.stringify(v)};`).join(' ')}</script>\n${blocks[0]}`);
      const site = await startStatic({ mounts: { '/': dir, '/node_modules/datacosmos-auth/': PKG_DIR } });
      const page = await browser.page();
      try {
        const logged = new Promise((resolve, reject) => {
          page.on('console', (msg) => {
            if (msg.type() === 'log') resolve(msg.args()[0].jsonValue());
            if (msg.type() === 'error') reject(new Error(msg.text()));
          });
          page.on('pageerror', reject);
        });
        const before = demo.tokenRequests();
        await page.goto(`${site.url}/`);
        const info = await logged;
        assert.equal(jwtClaims(info.accessToken).sub, `${client.clientId}@clients`);
        assert.equal(info.tokenType, 'Bearer');
        assert.ok(info.expiresAt > Date.now(), 'expiresAt is in the future');
        assert.equal(demo.tokenRequests() - before, 1);
      } finally {
        await page.close();
        await site.close();
      }
    });
  }

  test('no request left loopback; no console errors', () => {
    assert.deepEqual(browser.outside(), []);
    assert.deepEqual(browser.problems, []);
  });
});
