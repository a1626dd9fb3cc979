// TokenClient against the Auth0-compatible demo server: token info, caching,
// single flight, body encodings, expiry rules, the one-shot getToken(config).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { TokenClient, getToken, OAuthError } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import {
  DEFAULT_AUDIENCE, GRANT, bodyParams, fakeJwt, jwtClaims, rejectsOAuth, sleep, uniqueId,
} from './helpers.mjs';

const alice = { clientId: 'alice', clientSecret: 'alice-secret-2b7e151628aed2a6' };
const unicode = { clientId: 'aaa/;&', clientSecret: 'sé:c%r+t €/ü' };

let demo;
let proxy;
before(async () => {
  demo = await startDemo({ clients: [alice, unicode] });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
});
after(async () => {
  await proxy?.close();
  await demo?.close();
});

afterEach(() => proxy.clearQueue());

const config = (extra = {}) => ({ ...alice, tokenUrl: demo.tokenUrl, ...extra });

/** Counts demo token requests made while `fn` runs. */
async function counted(fn) {
  const from = demo.tokenRequests();
  const value = await fn();
  return { value, count: demo.tokenRequests() - from };
}

describe('token info and caching', { timeout: 20_000 }, () => {
  test('getTokenInfo: accessToken, tokenType "Bearer", expiresAt ≈ now + expires_in', async () => {
    const client = new TokenClient(config({ scope: 'stac:read' }));
    const t0 = Date.now();
    const info = await client.getTokenInfo();
    const t1 = Date.now();
    assert.deepEqual(Object.keys(info).sort(), ['accessToken', 'expiresAt', 'scope', 'tokenType'].sort());
    assert.equal(info.tokenType, 'Bearer');
    assert.equal(info.scope, 'stac:read');
    const claims = jwtClaims(info.accessToken);
    assert.equal(claims.sub, 'alice@clients');
    assert.equal(claims.aud, DEFAULT_AUDIENCE);
    assert.ok(info.expiresAt >= t0 + 3600_000 - 1000 && info.expiresAt <= t1 + 3600_000 + 1000, `expiresAt is ${info.expiresAt - t0} ms ahead`);
    assert.equal(typeof info.expiresAt, 'number');
  });

  test('authorizationHeader is "Bearer <token>"', async () => {
    const client = new TokenClient(config());
    const token = await client.getToken();
    assert.equal(await client.authorizationHeader(), `Bearer ${token}`);
  });

  test('a second getToken is served from the cache', async () => {
    const client = new TokenClient(config());
    const { value: first, count: c1 } = await counted(() => client.getToken());
    const { value: second, count: c2 } = await counted(() => client.getToken());
    const { value: info, count: c3 } = await counted(() => client.getTokenInfo());
    assert.equal(c1, 1);
    assert.equal(c2, 0);
    assert.equal(c3, 0);
    assert.equal(second, first);
    assert.equal(info.accessToken, first);
  });

  test('clear() forces a new request', async () => {
    const client = new TokenClient(config());
    const first = await client.getToken();
    client.clear();
    const { value: second, count } = await counted(() => client.getToken());
    assert.equal(count, 1);
    assert.notEqual(second, first);
  });

  test('two clients with the same config do not share an instance cache', async () => {
    const a = new TokenClient(config());
    const b = new TokenClient(config());
    await a.getToken();
    const { count } = await counted(() => b.getToken());
    assert.equal(count, 1);
  });

  test('200 concurrent getToken() calls make exactly one token request', async () => {
    const client = new TokenClient(config());
    const { value: tokens, count } = await counted(() => Promise.all(Array.from({ length: 200 }, () => client.getToken())));
    assert.equal(count, 1);
    assert.equal(new Set(tokens).size, 1);
  });

  test('concurrent callers share one failure too', async () => {
    const client = new TokenClient(config({ clientSecret: 'wrong', maxRetries: 0 }));
    const { value: results, count } = await counted(() => Promise.allSettled(Array.from({ length: 20 }, () => client.getToken())));
    assert.equal(count, 1);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof OAuthError);
      assert.equal(r.reason.code, 'access_denied');
    }
  });

  test('a failed exchange is not cached: the next call tries again', async () => {
    proxy.queue({ status: 400, body: { error: 'invalid_request' } });
    const client = new TokenClient(config({ tokenUrl: proxy.tokenUrl }));
    await rejectsOAuth(OAuthError, client.getToken(), { code: 'invalid_request', status: 400 });
    assert.equal(typeof (await client.getToken()), 'string');
  });
});

describe('wire encodings', { timeout: 20_000 }, () => {
  test('bodyEncoding "json" posts a JSON body (client_secret_post)', async () => {
    const client = new TokenClient(config({ bodyEncoding: 'json', scope: 'a b' }));
    const { value: token, count } = await counted(() => client.getToken());
    assert.equal(count, 1);
    assert.equal(jwtClaims(token).azp, 'alice');
    const last = demo.requests.at(-1);
    assert.equal(last.contentType, 'application/json');
    assert.equal(last.authMethod, 'client_secret_post');
    assert.deepEqual(last.params, { grant_type: GRANT, client_id: 'alice', audience: DEFAULT_AUDIENCE, scope: 'a b' });
  });

  test('bodyEncoding "json" with client_secret_basic keeps the secret out of the body', async () => {
    const client = new TokenClient(config({ bodyEncoding: 'json', authMethod: 'client_secret_basic', tokenUrl: proxy.tokenUrl }));
    const from = proxy.requests.length;
    assert.equal(typeof (await client.getToken()), 'string');
    const [req] = proxy.requests.slice(from);
    assert.match(req.headers['content-type'], /^application\/json/);
    assert.ok(!req.body.includes(alice.clientSecret));
    assert.equal(JSON.parse(req.body).grant_type, GRANT);
  });

  test('a non-ASCII secret and the "aaa/;&" id work with Basic and with post', async () => {
    for (const authMethod of ['client_secret_basic', 'client_secret_post']) {
      for (const bodyEncoding of ['form', 'json']) {
        const client = new TokenClient({ ...unicode, tokenUrl: demo.tokenUrl, authMethod, bodyEncoding });
        const token = await client.getToken();
        assert.equal(jwtClaims(token).sub, 'aaa/;&@clients', `${authMethod} ${bodyEncoding}`);
      }
    }
  });

  test('requests send only method, headers, body, signal and redirect: "manual" through config.fetch', async () => {
    const inits = [];
    const client = new TokenClient(config({
      fetch: (input, init) => {
        inits.push({ input: String(input instanceof Request ? input.url : input), init });
        return globalThis.fetch(input, init);
      },
    }));
    await client.getToken();
    assert.equal(inits.length, 1);
    const { input, init } = inits[0];
    assert.equal(input, demo.tokenUrl);
    assert.equal(init.method, 'POST');
    assert.equal(init.redirect, 'manual');
    assert.ok(init.signal instanceof AbortSignal);
    for (const key of Object.keys(init)) {
      assert.ok(['method', 'headers', 'body', 'signal', 'redirect'].includes(key), `unexpected init field ${key}`);
    }
  });

  test('a redirect from the token endpoint is not followed', async () => {
    proxy.queue({ status: 302, headers: { location: demo.tokenUrl } });
    const client = new TokenClient(config({ tokenUrl: proxy.tokenUrl, maxRetries: 0 }));
    const { count } = await counted(() => rejectsOAuth(OAuthError, client.getToken(), { code: 'http_error', status: 302 }));
    assert.equal(count, 0);
  });
});

describe('expiry', { timeout: 20_000 }, () => {
  const viaProxy = (extra = {}) => new TokenClient(config({ tokenUrl: proxy.tokenUrl, ...extra }));

  test('without expires_in, an opaque token lasts 3600 s', async () => {
    proxy.queue({ json: { access_token: 'opaque-token', token_type: 'Bearer' } });
    const t0 = Date.now();
    const info = await viaProxy().getTokenInfo();
    assert.equal(info.accessToken, 'opaque-token');
    assert.ok(Math.abs(info.expiresAt - (t0 + 3600_000)) < 5000, `expiresAt is ${info.expiresAt - t0} ms ahead`);
  });

  test('without expires_in, a JWT token expires at its exp claim', async () => {
    const exp = Math.floor(Date.now() / 1000) + 1234;
    const jwt = fakeJwt({ sub: 'x', exp });
    proxy.queue({ json: { access_token: jwt, token_type: 'Bearer' } });
    const info = await viaProxy().getTokenInfo();
    assert.equal(info.accessToken, jwt);
    assert.ok(Math.abs(info.expiresAt - exp * 1000) < 1000, `expiresAt ${info.expiresAt} vs exp ${exp * 1000}`);
  });

  test('expires_in wins over the JWT exp claim', async () => {
    const jwt = fakeJwt({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 99_999 });
    proxy.queue({ json: { access_token: jwt, token_type: 'Bearer', expires_in: 100 } });
    const t0 = Date.now();
    const info = await viaProxy().getTokenInfo();
    assert.ok(Math.abs(info.expiresAt - (t0 + 100_000)) < 5000);
  });

  test('a short-lived token (30 s, leeway 60) is still reused', async () => {
    proxy.queue({ json: { access_token: 'short-1', token_type: 'Bearer', expires_in: 30 } });
    const client = viaProxy();
    const from = proxy.requests.length;
    assert.equal(await client.getToken(), 'short-1');
    assert.equal(await client.getToken(), 'short-1');
    assert.equal(proxy.requests.length - from, 1);
  });

  test('a token is renewed once fewer than min(leeway, lifetime/2) seconds remain', async () => {
    proxy.queue(
      { json: { access_token: 'two-seconds', token_type: 'Bearer', expires_in: 2 } },
      { json: { access_token: 'renewed', token_type: 'Bearer', expires_in: 3600 } },
    );
    const client = viaProxy();
    assert.equal(await client.getToken(), 'two-seconds');
    assert.equal(await client.getToken(), 'two-seconds', 'reused while more than 1 s remains');
    await sleep(1300);
    assert.equal(await client.getToken(), 'renewed');
  });

  test('refreshLeewaySeconds: 0 reuses a token until it expires', async () => {
    // A 3 s token: the default leeway renews it once fewer than 1.5 s remain; leeway 0
    // keeps it until it has expired, then renews it.
    proxy.queue(
      { json: { access_token: 'leeway-0', token_type: 'Bearer', expires_in: 3 } },
      { json: { access_token: 'after-expiry', token_type: 'Bearer', expires_in: 3600 } },
    );
    const client = viaProxy({ refreshLeewaySeconds: 0 });
    const from = proxy.requests.length;
    assert.equal(await client.getToken(), 'leeway-0');
    await sleep(2000);
    assert.equal(await client.getToken(), 'leeway-0', 'reused with at most 1 s left');
    assert.equal(proxy.requests.length - from, 1);
    await sleep(1100);
    assert.equal(await client.getToken(), 'after-expiry', 'renewed once expired');
    assert.equal(proxy.requests.length - from, 2);
  });
});

describe('one-shot getToken(config)', { timeout: 20_000 }, () => {
  test('the same config and secret share a module-level cache', async () => {
    const cfg = config({ scope: uniqueId('scope') });
    const { value: first, count: c1 } = await counted(() => getToken(cfg));
    const { value: second, count: c2 } = await counted(() => getToken({ ...cfg }));
    assert.equal(c1, 1);
    assert.equal(c2, 0);
    assert.equal(second, first);
  });

  test('a different secret does not reuse the entry', async () => {
    const cfg = config({ scope: uniqueId('scope') });
    await getToken(cfg);
    const { count } = await counted(() => rejectsOAuth(OAuthError, getToken({ ...cfg, clientSecret: 'not-the-secret', maxRetries: 0 }), { code: 'access_denied', status: 401 }));
    assert.equal(count, 1);
  });

  test('a different scope or audience is a different entry', async () => {
    const cfg = config({ scope: uniqueId('scope') });
    const first = await getToken(cfg);
    const { value: other, count } = await counted(() => getToken({ ...cfg, scope: uniqueId('scope') }));
    assert.equal(count, 1);
    assert.notEqual(other, first);
  });

  test('concurrent one-shot calls resolve to the same token', async () => {
    const cfg = config({ scope: uniqueId('scope') });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => getToken({ ...cfg })));
    assert.equal(new Set(tokens).size, 1);
  });

  test('an invalid config rejects the promise instead of throwing', async () => {
    let promise;
    assert.doesNotThrow(() => { promise = getToken({ clientId: 'x' }); });
    assert.ok(promise instanceof Promise);
    await rejectsOAuth(OAuthError, promise, { code: 'invalid_config' });
  });

  test('sends the wire request like the client does', async () => {
    const from = proxy.requests.length;
    await getToken(config({ tokenUrl: proxy.tokenUrl, scope: uniqueId('scope') }));
    const params = bodyParams(proxy.requests[from]);
    assert.equal(params.grant_type, GRANT);
    assert.equal(params.client_id, 'alice');
    assert.equal(params.audience, DEFAULT_AUDIENCE);
  });
});

test('free() while a request is in flight: its callers and later calls reject with invalid_config (found by review)', async () => {
  const { createServer } = await import('node:http');
  const silent = createServer(() => {}); // reads the request, never answers
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const client = new TokenClient(config({ tokenUrl: `http://127.0.0.1:${silent.address().port}/t`, timeoutMs: 2000, maxRetries: 0 }));
    const pending = client.getToken();
    const joined = client.getToken();
    client.free();
    for (const p of [pending, joined, client.getToken(), client.authorizationHeader()]) {
      await assert.rejects(p, (e) => e instanceof OAuthError && e.code === 'invalid_config' && /freed/.test(e.message));
    }
  } finally {
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  }
});
