// tests/servers/static.mjs, which serves www/ and pkg/ for `make demo` and these tests:
// content types, methods, directories, and no way out of a mount.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WWW_CSP, startStatic, startWww } from '../servers/static.mjs';

let dir;
let server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datacosmos-static-'));
  const site = join(dir, 'site');
  const lib = join(dir, 'lib');
  mkdirSync(join(site, 'sub'), { recursive: true });
  mkdirSync(lib);
  writeFileSync(join(dir, 'secret.txt'), 'outside the mounts');
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(site, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
  writeFileSync(join(site, 'app.js'), 'export {};');
  writeFileSync(join(site, 'style.css'), 'body{}');
  writeFileSync(join(site, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(site, 'data.json'), '{}');
  writeFileSync(join(site, 'blob.bin'), 'x');
  writeFileSync(join(lib, 'mod.wasm'), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  writeFileSync(join(lib, 'index.js'), 'export {};');
  symlinkSync(join(dir, 'secret.txt'), join(site, 'link.txt'));
  server = await startStatic({
    mounts: { '/': site, '/pkg/': lib },
    files: { '/demo-config.json': { clientId: 'x' } },
    headers: { 'content-security-policy': "default-src 'self'" },
  });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request: the path goes out exactly as written (fetch would normalise it). */
function request(path, method = 'GET') {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the static file server', () => {
  test('content types: html, text/javascript, css, json, svg, application/wasm; nosniff', async () => {
    const expected = {
      '/': 'text/html; charset=utf-8',
      '/app.js': 'text/javascript; charset=utf-8',
      '/style.css': 'text/css; charset=utf-8',
      '/data.json': 'application/json; charset=utf-8',
      '/icon.svg': 'image/svg+xml',
      '/blob.bin': 'application/octet-stream',
      '/pkg/mod.wasm': 'application/wasm',
      '/pkg/index.js': 'text/javascript; charset=utf-8',
    };
    for (const [path, type] of Object.entries(expected)) {
      const res = await request(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['content-type'], type, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
    }
  });

  test('the extra headers (CSP) go on HTML only; query strings are ignored', async () => {
    assert.equal((await request('/?x=1')).headers['content-security-policy'], "default-src 'self'");
    assert.equal((await request('/app.js')).headers['content-security-policy'], undefined);
  });

  test('directories serve index.html; without the slash they redirect', async () => {
    assert.match((await request('/sub/')).body, /<title>sub<\/title>/);
    const redirect = await request('/sub');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/sub/');
    assert.equal((await request('/pkg')).headers.location, '/pkg/');
  });

  test('fixed files: /demo-config.json as JSON', async () => {
    const res = await request('/demo-config.json');
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(res.body), { clientId: 'x' });
  });

  test('GET and HEAD only', async () => {
    const head = await request('/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('export {};'.length));
    const post = await request('/app.js', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('no way out of a mount: .., encoded dots and slashes, backslashes, NUL, symlinks', async () => {
    const attempts = [
      '/../secret.txt', '/pkg/../secret.txt', '/pkg/../../secret.txt',
      '/%2e%2e/secret.txt', '/pkg/%2e%2e/%2e%2e/secret.txt', '/pkg/..%2f..%2fsecret.txt',
      '/..%5csecret.txt', '/pkg/..\\..\\secret.txt', '/app.js%00.txt', '/%', '/link.txt',
      '//etc/passwd', '/pkg//etc/passwd', '/nope.js',
    ];
    for (const path of attempts) {
      const res = await request(path);
      assert.equal(res.status, 404, path);
      assert.ok(!res.body.includes('outside the mounts'), path);
    }
  });

  test('startWww: www/ at /, pkg/ at /pkg/, the page CSP, {} as demo config by default', async () => {
    const www = await startWww();
    try {
      const page = await fetch(`${www.url}/`);
      assert.equal(page.headers.get('content-security-policy'), WWW_CSP);
      assert.match(await page.text(), /Token inspector/);
      const entry = await fetch(`${www.url}/pkg/index.js`);
      assert.equal(entry.headers.get('content-type'), 'text/javascript; charset=utf-8');
      await entry.arrayBuffer();
      assert.deepEqual(await (await fetch(`${www.url}/demo-config.json`)).json(), {});
    } finally {
      await www.close();
    }
  });
});
