// The test servers themselves, with plain fetch: `node tests/servers/demo.mjs`
// as `make demo` runs it, CORS, and the resource's RFC 6750 answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { startDemo } from '../servers/demo.mjs';
import { startOidc } from '../servers/oidc.mjs';
import { ROOT } from './helpers.mjs';

const form = (params) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});

describe('test servers', { timeout: 20_000 }, () => {
  test('node tests/servers/demo.mjs prints one JSON line, serves, and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'tests', 'servers', 'demo.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [line] = await once(createInterface({ input: child.stdout }), 'line');
      const { tokenUrl, resourceUrl, clientId, clientSecret } = JSON.parse(line);
      assert.match(tokenUrl, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/token$/);
      const res = await fetch(tokenUrl, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }));
      assert.equal(res.status, 200);
      const { access_token: token, token_type: type, expires_in: expiresIn } = await res.json();
      assert.equal(type, 'Bearer');
      assert.equal(expiresIn, 3600);
      const stac = await fetch(resourceUrl, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(stac.status, 200);
      assert.ok(Array.isArray((await stac.json()).collections));
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  test('demo: CORS preflight and headers, Auth0-style errors, RFC 6750 401s', async () => {
    const demo = await startDemo({ clients: [{ clientId: 'c', clientSecret: 's' }] });
    try {
      const pre = await fetch(demo.tokenUrl, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), '*');
      assert.match(pre.headers.get('access-control-allow-headers'), /content-type/);
      assert.match(pre.headers.get('access-control-allow-headers'), /authorization/);

      const bad = await fetch(demo.tokenUrl, form({ grant_type: 'client_credentials', client_id: 'c', client_secret: 'nope' }));
      assert.equal(bad.status, 401);
      assert.equal(bad.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(await bad.json(), { error: 'access_denied', error_description: 'Unauthorized' });

      const grant = await fetch(demo.tokenUrl, form({ grant_type: 'password', client_id: 'c', client_secret: 's' }));
      assert.equal(grant.status, 400);
      assert.equal((await grant.json()).error, 'unsupported_grant_type');

      const missing = await fetch(demo.tokenUrl, form({ client_id: 'c', client_secret: 's' }));
      assert.equal(missing.status, 400);
      assert.equal((await missing.json()).error, 'invalid_request');

      const none = await fetch(demo.resourceUrl);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="datacosmos-demo"');
      await none.arrayBuffer();

      const forged = await fetch(demo.resourceUrl, { headers: { authorization: 'Bearer aaa.bbb.ccc' } });
      assert.equal(forged.status, 401);
      assert.match(forged.headers.get('www-authenticate'), /error="invalid_token"/);
      await forged.arrayBuffer();
    } finally {
      await demo.close();
    }
  });

  test('demo: an expired token is rejected by the resource', async () => {
    const demo = await startDemo({ clients: [{ clientId: 'c', clientSecret: 's' }], lifetimeSeconds: 1 });
    try {
      const res = await fetch(demo.tokenUrl, form({ grant_type: 'client_credentials', client_id: 'c', client_secret: 's' }));
      const { access_token: token } = await res.json();
      await new Promise((r) => setTimeout(r, 2100));
      const stac = await fetch(demo.resourceUrl, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(stac.status, 401);
      assert.match(stac.headers.get('www-authenticate'), /Token expired/);
      await stac.arrayBuffer();
    } finally {
      await demo.close();
    }
  });

  test('oidc-provider: counts token requests, closes with idle keep-alive sockets', async () => {
    const oidc = await startOidc();
    const { clientId, clientSecret } = oidc.clients.post;
    const res = await fetch(oidc.tokenUrl, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, audience: 'https://x' }));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(typeof body.expires_in, 'number');
    assert.equal(oidc.tokenRequests(), 1);
    const t0 = Date.now();
    await oidc.close();
    assert.ok(Date.now() - t0 < 1000);
  });
});
