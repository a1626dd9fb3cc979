// Retries, timeouts, network failures, bad responses and error redaction,
// through the fault-injecting proxy in front of the demo token endpoint.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { TokenClient, OAuthError } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import {
  assertNoSecret, captureOutput, closedPortUrl, rejectsOAuth,
} from './helpers.mjs';

const SECRET = 'Zq8-very-secret-value-4f1d9c';
const bob = { clientId: 'bob', clientSecret: SECRET };

let demo;
let proxy;
before(async () => {
  demo = await startDemo({ clients: [bob] });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
});
after(async () => {
  await proxy?.close();
  await demo?.close();
});
// A test that failed half-way must not leave its faults to the next one.
afterEach(() => proxy.clearQueue());

const client = (extra = {}) => new TokenClient({ ...bob, tokenUrl: proxy.tokenUrl, ...extra });

/** Runs `fn`; returns its value, the proxy requests it caused and the elapsed ms. */
async function observe(fn) {
  const from = proxy.requests.length;
  const t0 = performance.now();
  const value = await fn();
  return { value, requests: proxy.requests.length - from, ms: performance.now() - t0 };
}

describe('retries', { timeout: 30_000 }, () => {
  test('503 then OK: retried, succeeds', async () => {
    proxy.queue({ status: 503, body: 'unavailable' });
    const { value: token, requests } = await observe(() => client().getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests, 2);
  });

  test('408, 500 then OK with maxRetries 2', async () => {
    proxy.queue({ status: 408, body: '' }, { status: 500, body: { error: 'server_error' } });
    const { value: token, requests } = await observe(() => client().getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests, 3);
  });

  test('dropped connection then OK: retried, succeeds', async () => {
    proxy.queue({ drop: true });
    const { value: token, requests } = await observe(() => client().getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests, 2);
  });

  test('429 with Retry-After: 1 waits about a second, then succeeds', async () => {
    proxy.queue({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'too_many_requests' } });
    const { value: token, requests, ms } = await observe(() => client().getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests, 2);
    assert.ok(ms >= 900, `waited only ${Math.round(ms)} ms`);
  });

  test('503 with Retry-After as an HTTP date is honoured', async () => {
    const at = new Date(Date.now() + 2000).toUTCString(); // 1-2 s ahead (second resolution)
    proxy.queue({ status: 503, headers: { 'retry-after': at } });
    const { value: token, requests, ms } = await observe(() => client().getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests, 2);
    assert.ok(ms >= 700, `waited only ${Math.round(ms)} ms`);
  });

  test('a Retry-After over 60 s ends retrying with that error', async () => {
    proxy.queue({ status: 503, headers: { 'retry-after': '120' }, body: 'later' });
    const { value: err, requests, ms } = await observe(() => rejectsOAuth(OAuthError, client().getToken(), { code: 'http_error', status: 503 }));
    assert.equal(requests, 1);
    assert.ok(ms < 10_000);
    assert.ok(err);
  });

  test('retries stop after maxRetries: the last error is returned', async () => {
    proxy.queue({ status: 503 }, { status: 503 }, { status: 502, body: { error: 'temporarily_unavailable', error_description: 'try later' } });
    const { value: err, requests } = await observe(() => rejectsOAuth(OAuthError, client().getToken(), { code: 'temporarily_unavailable', status: 502 }));
    assert.equal(requests, 3);
    assert.equal(err.description, 'try later');
  });

  test('502 with an HTML body and maxRetries 0: http_error with status 502', async () => {
    proxy.queue({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } });
    const { requests } = await observe(() => rejectsOAuth(OAuthError, client({ maxRetries: 0 }).getToken(), { code: 'http_error', status: 502 }));
    assert.equal(requests, 1);
  });

  test('other 4xx answers are not retried', async () => {
    proxy.queue({ status: 403, body: { error: 'access_denied', error_description: 'Service not enabled within domain' } });
    const { value: err, requests } = await observe(() => rejectsOAuth(OAuthError, client().getToken(), { code: 'access_denied', status: 403 }));
    assert.equal(requests, 1);
    assert.equal(err.description, 'Service not enabled within domain');
  });

  test('a 404 without an error body is http_error, not retried', async () => {
    proxy.queue({ status: 404, body: 'Not Found' });
    const { requests } = await observe(() => rejectsOAuth(OAuthError, client().getToken(), { code: 'http_error', status: 404 }));
    assert.equal(requests, 1);
  });

  test('error, error_description and error_uri are carried over', async () => {
    proxy.queue({ status: 400, body: { error: 'invalid_scope', error_description: 'no such scope', error_uri: 'https://docs.example/errors#scope' } });
    await rejectsOAuth(OAuthError, client().getToken(), {
      code: 'invalid_scope', status: 400, description: 'no such scope', uri: 'https://docs.example/errors#scope',
    });
  });
});

describe('timeouts and network errors', { timeout: 30_000 }, () => {
  test('a stalled server is timeout (status undefined)', async () => {
    proxy.queue({ stall: true });
    const { ms } = await observe(() => rejectsOAuth(OAuthError, client({ timeoutMs: 300, maxRetries: 0 }).getToken(), { code: 'timeout', status: undefined }));
    assert.ok(ms < 5000, `took ${Math.round(ms)} ms`);
  });

  test('a stalled body is timeout', async () => {
    proxy.queue({ stallBody: true });
    const { ms } = await observe(() => rejectsOAuth(OAuthError, client({ timeoutMs: 300, maxRetries: 0 }).getToken(), { code: 'timeout', status: undefined }));
    assert.ok(ms < 5000, `took ${Math.round(ms)} ms`);
  });

  test('timeouts are retried: stall, then OK', async () => {
    proxy.queue({ stall: true });
    const { value: token, requests } = await observe(() => client({ timeoutMs: 300, maxRetries: 1 }).getToken());
    assert.equal(typeof token, 'string');
    assert.equal(requests, 2);
  });

  test('total time is bounded by (maxRetries + 1) * timeoutMs plus backoff', async () => {
    proxy.queue({ stall: true }, { stall: true }, { stall: true });
    const { requests, ms } = await observe(() => rejectsOAuth(OAuthError, client({ timeoutMs: 300, maxRetries: 2 }).getToken(), { code: 'timeout' }));
    assert.equal(requests, 3);
    assert.ok(ms < 10_000, `took ${Math.round(ms)} ms`);
  });

  test('a dropped connection is network_error (status undefined)', async () => {
    proxy.queue({ drop: true });
    await rejectsOAuth(OAuthError, client({ maxRetries: 0 }).getToken(), { code: 'network_error', status: undefined });
  });

  test('a refused connection is network_error', async () => {
    const tokenUrl = await closedPortUrl();
    await rejectsOAuth(OAuthError, new TokenClient({ ...bob, tokenUrl, maxRetries: 0 }).getToken(), { code: 'network_error', status: undefined });
  });
});

describe('invalid responses', { timeout: 30_000 }, () => {
  const cases = [
    ['{"access_token": 42}', { json: { access_token: 42, token_type: 'Bearer', expires_in: 3600 } }],
    ['a JSON object without access_token', { json: { token_type: 'Bearer', expires_in: 3600 } }],
    ['an empty access_token', { json: { access_token: '', token_type: 'Bearer' } }],
    ['a JSON array', { json: [{ access_token: 'x' }] }],
    ['"not json"', { raw: 'not json' }],
    ['an empty body', { raw: '' }],
    ['a 2 MiB body', { oversize: true }],
  ];
  for (const [name, fault] of cases) {
    test(`${name} is invalid_response with status 200, not retried`, async () => {
      proxy.queue(fault);
      const { requests } = await observe(() => rejectsOAuth(OAuthError, client().getToken(), { code: 'invalid_response', status: 200 }));
      assert.equal(requests, 1);
    });
  }
});

describe('secrets never leak', { timeout: 30_000 }, () => {
  const formEncoded = encodeURIComponent(SECRET);

  test('a wrong secret is the server\'s code with status and description', async () => {
    const wrong = 'wrong-secret-77aa19';
    const err = await rejectsOAuth(OAuthError, client({ clientSecret: wrong }).getToken(), {
      code: 'access_denied', status: 401, description: 'Unauthorized',
    });
    assertNoSecret(err, wrong);
  });

  for (const [name, fault] of [
    ['error_description echoing the secret (401)', { status: 401, body: { error: 'invalid_client', error_description: `client_secret ${SECRET} is not valid`, error_uri: `https://x.example/?s=${SECRET}` } }],
    ['error_description echoing the secret (200)', { json: { error: 'invalid_client', error_description: `bad secret: ${SECRET}` } }],
    ['an HTML error page echoing the secret', { status: 502, body: `<html>client_secret=${SECRET}</html>`, headers: { 'content-type': 'text/html' } }],
    ['an error echoing the form-encoded request', { status: 400, body: { error: 'invalid_request', error_description: `body was client_secret=${formEncoded}&grant_type=client_credentials` } }],
  ]) {
    test(`${name}: the secret appears in no rendering of the error nor on the console`, async () => {
      proxy.queue(fault);
      const output = captureOutput();
      let err;
      try {
        err = await client({ maxRetries: 0 }).getToken().then(() => null, (e) => e);
      } finally {
        output.restore();
      }
      assert.ok(err instanceof OAuthError, 'rejected with an OAuthError');
      assert.ok(err.code, 'has a code');
      assertNoSecret(err, SECRET, formEncoded);
      assert.ok(!output.text().includes(SECRET), 'the secret was written to the console');
    });
  }

  test('a server echoing the Basic credential it received: not in the error', async () => {
    const credential = Buffer.from(`bob:${SECRET}`).toString('base64'); // no character here needs form-encoding
    proxy.queue({ status: 401, body: { error: 'invalid_client', error_description: `bad Authorization: Basic ${credential}` } });
    const err = await rejectsOAuth(OAuthError, client({ authMethod: 'client_secret_basic', maxRetries: 0 }).getToken(), { code: 'invalid_client', status: 401 });
    assertNoSecret(err, credential);
  });

  test('a Basic client: the Authorization header never appears in an error', async () => {
    // The server echoes the header it received; id and secret need form-encoding first
    // (RFC 6749 §2.3.1), so the credential is not simply base64("id:secret").
    const odd = { clientId: 'bob/;&', clientSecret: `${SECRET} +:%` };
    let header;
    proxy.queue({
      reply: (request) => {
        header = request.headers.authorization;
        return { status: 401, body: { error: 'invalid_client', error_description: `rejected Authorization: ${header}`, error_uri: `https://x.example/?auth=${header.slice(6)}` } };
      },
    });
    const err = await rejectsOAuth(OAuthError, client({ ...odd, authMethod: 'client_secret_basic', maxRetries: 0 }).getToken(), { code: 'invalid_client', status: 401 });
    const credential = header.slice('Basic '.length);
    assert.equal(Buffer.from(credential, 'base64').toString(), `${encodeURIComponent(odd.clientId)}:${encodeURIComponent(odd.clientSecret).replace(/%20/g, '+')}`);
    assertNoSecret(err, odd.clientSecret, credential);
    assert.equal(err.description, 'rejected Authorization: Basic [redacted]');
  });
});

test('a network error keeps its cause: a new Error with the runtime\'s name and code, the secret redacted', async () => {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r)); // nothing listens there now
  const secret = 'cause-s3cret-value';
  const client = new TokenClient({ clientId: 'a', clientSecret: secret, tokenUrl: `http://127.0.0.1:${port}/t`, maxRetries: 0 });
  const err = await client.getToken().then(() => assert.fail('no token'), (e) => e);
  assert.equal(err.code, 'network_error');
  assert.ok(err.cause instanceof Error, 'err.cause is an Error');
  assert.equal(err.cause.code, 'ECONNREFUSED');
  assert.equal(err.cause.name, 'TypeError', "what Node's fetch throws");
  for (const text of [err.message, err.cause.message, String(err.cause), err.cause.stack, JSON.stringify(err)]) {
    assert.ok(!text.includes(secret), text);
  }
});
