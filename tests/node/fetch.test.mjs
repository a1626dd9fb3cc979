// client.fetch against the demo's protected STAC resource.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenClient, OAuthError } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { rejectsOAuth } from './helpers.mjs';

const erin = { clientId: 'erin', clientSecret: 'erin-secret-8c6976e5b5410415bde9' };

let demo;
let otherAudience; // its resource rejects every token `demo` issues
before(async () => {
  demo = await startDemo({ clients: [erin] });
  otherAudience = await startDemo({ clients: [erin], audience: 'https://other-audience.example' });
});
after(async () => {
  await otherAudience?.close();
  await demo?.close();
});

const client = (extra = {}) => new TokenClient({ ...erin, tokenUrl: demo.tokenUrl, ...extra });

/** Counts demo token and resource requests made while `fn` runs. */
async function counted(fn) {
  const t = demo.tokenRequests();
  const r = demo.resourceRequests();
  const value = await fn();
  return { value, tokens: demo.tokenRequests() - t, resources: demo.resourceRequests() - r };
}

describe('client.fetch', { timeout: 20_000 }, () => {
  test('adds the bearer header: the protected resource answers 200', async () => {
    const res = await client().fetch(demo.resourceUrl);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.ok(Array.isArray(body.collections));
    assert.ok(body.collections.length > 0);
  });

  test('accepts a URL object, a Request and init headers, and keeps them', async () => {
    const c = client();
    const seen = [];
    const spying = client({
      fetch: (input, init) => {
        seen.push(new Request(input, init));
        return globalThis.fetch(input, init);
      },
    });
    assert.equal((await c.fetch(new URL(demo.resourceUrl))).status, 200);
    assert.equal((await c.fetch(new Request(demo.resourceUrl, { headers: { accept: 'application/json' } }))).status, 200);
    const res = await spying.fetch(demo.resourceUrl, { headers: { 'x-request-id': 'abc', accept: 'application/geo+json' } });
    assert.equal(res.status, 200);
    const last = seen.at(-1);
    assert.equal(last.headers.get('x-request-id'), 'abc');
    assert.equal(last.headers.get('accept'), 'application/geo+json');
    assert.equal(last.headers.get('authorization'), `Bearer ${await spying.getToken()}`);
  });

  test('without the header the resource says 401 (the demo really checks)', async () => {
    const res = await fetch(demo.resourceUrl);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^Bearer /);
    await res.arrayBuffer();
  });

  test('reuses the cached token across calls', async () => {
    const c = client();
    const { tokens, resources } = await counted(async () => {
      for (let i = 0; i < 3; i += 1) assert.equal((await c.fetch(demo.resourceUrl)).status, 200);
    });
    assert.equal(tokens, 1);
    assert.equal(resources, 3);
  });

  test('a 401 from the resource makes one refresh and one retry', async () => {
    const c = client();
    const old = await c.getToken();
    demo.rotateKey(); // every token issued so far is now rejected
    const { value: res, tokens, resources } = await counted(() => c.fetch(demo.resourceUrl));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(tokens, 1);
    assert.equal(resources, 2);
    assert.notEqual(await c.getToken(), old);
  });

  test('a resource that keeps answering 401: one refresh, one retry, the 401 is returned', async () => {
    const c = client();
    const { value: res, tokens } = await counted(async () => {
      const before = otherAudience.resourceRequests();
      const response = await c.fetch(otherAudience.resourceUrl);
      assert.equal(otherAudience.resourceRequests() - before, 2);
      return response;
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /invalid_token/);
    await res.arrayBuffer();
    assert.equal(tokens, 2); // the first token and the one refresh
  });

  test('a string body is replayed on the retry', async () => {
    const c = client();
    await c.getToken();
    demo.rotateKey();
    const body = JSON.stringify({ collections: ['menut-l1b'], limit: 1 });
    const { value: res, resources } = await counted(() => c.fetch(demo.searchUrl, {
      method: 'POST', body, headers: { 'content-type': 'application/json' },
    }));
    assert.equal(res.status, 200);
    assert.equal(resources, 2);
    assert.equal((await res.json()).context.requestBytes, Buffer.byteLength(body));
  });

  test('a ReadableStream request body is not replayed: the 401 is returned', async () => {
    const c = client();
    await c.getToken();
    demo.rotateKey();
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"limit":1}'));
        controller.close();
      },
    });
    const { value: res, resources } = await counted(() => c.fetch(demo.searchUrl, {
      method: 'POST', body: stream, duplex: 'half', headers: { 'content-type': 'application/json' },
    }));
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    assert.equal(resources, 1);
  });

  test('a failed refresh rejects with its OAuthError', async () => {
    const bad = client({ clientSecret: 'not-erin', maxRetries: 0 });
    const { resources } = await counted(() => rejectsOAuth(OAuthError, bad.fetch(demo.resourceUrl), { code: 'access_denied', status: 401 }));
    assert.equal(resources, 0);
  });

  test('uses config.fetch for the token and the resource', async () => {
    const urls = [];
    const c = client({
      fetch: (input, init) => {
        urls.push(input instanceof Request ? input.url : String(input));
        return globalThis.fetch(input, init);
      },
    });
    const res = await c.fetch(demo.resourceUrl);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.deepEqual(urls, [demo.tokenUrl, demo.resourceUrl]);
  });

  test('non-401 answers are returned as they are, without a refresh', async () => {
    const c = client();
    await c.getToken();
    const { value: res, tokens, resources } = await counted(() => c.fetch(`${demo.url}/stac/nothing-here`));
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    assert.equal(tokens, 0);
    assert.equal(resources, 0); // the demo only counts the protected routes
  });
});
