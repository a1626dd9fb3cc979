// Hostile and careless inputs through the package (issues 8 and 9), each against real
// loopback servers: the demo token endpoint, the fault proxy in front of it, and
// small servers made here. Each test names the kind of fault it exercises.
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import { TokenClient, getToken, OAuthError } from 'datacosmos-auth';
import { startDemo } from '../servers/demo.mjs';
import { startFaultProxy } from '../servers/faulty.mjs';
import { CHILD_DIR, runChild } from './child.mjs';
import {
  DEFAULT_AUDIENCE, assertNoSecret, memoryStore, rejectsOAuth, sleep, throwsOAuth,
} from './helpers.mjs';

const alice = { clientId: 'alice', clientSecret: 'alice-secret-2b7e151628aed2a6' };

let demo; // tokens for an hour
let short; // tokens for 4 s: default leeway makes them due 2 s after issue
let proxy; // faults in front of `demo`
before(async () => {
  demo = await startDemo({ clients: [alice] });
  short = await startDemo({ clients: [alice], lifetimeSeconds: 4 });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
});
after(async () => {
  await proxy?.close();
  await short?.close();
  await demo?.close();
});
afterEach(() => proxy.clearQueue());

const config = (extra = {}) => ({ ...alice, tokenUrl: proxy.tokenUrl, ...extra });

/** Runs `fn`; resolves its value and the number of requests the proxy saw meanwhile. */
async function observe(fn, via = proxy) {
  const from = via.requests.length;
  const value = await fn();
  return { value, requests: via.requests.length - from };
}

/** Runs `fn`, which must reject; resolves the error and the proxy requests meanwhile. */
async function failure(fn, via = proxy) {
  return observe(async () => {
    try {
      await fn();
    } catch (err) {
      return err;
    }
    return assert.fail('expected a rejection');
  }, via);
}

// ---- issue 8.1: a failed early renewal serves the still-valid token ----------------

describe('serve-stale: a due token survives a failing renewal (8.1)', { concurrency: true, timeout: 60_000 }, () => {
  /**
   * A 4 s token (due 2 s after issue), then 2.5 s after issue `breakIt(proxy)` makes the
   * endpoint fail: `read(client)` still gives the cached token. Past the real expiry the
   * failure reaches the caller: `expected` (OAuthError fields).
   */
  async function staleThenExpired({
    extra = {}, breakIt, read = (c) => c.getToken(), shown = (token) => token, expected,
  }) {
    const via = await startFaultProxy({ target: short.tokenUrl });
    const events = [];
    const client = new TokenClient({
      ...alice, tokenUrl: via.tokenUrl, maxRetries: 0, onEvent: (e) => events.push(e), ...extra,
    });
    try {
      const first = await client.getTokenInfo();
      await sleep(first.expiresAt - 1500 - Date.now()); // 2.5 s after issue
      await breakIt(via);
      const stale = await observe(() => read(client), via);
      assert.equal(stale.value, shown(first.accessToken), 'the cached token, still valid for 1.5 s');
      assert.ok(Date.now() < first.expiresAt, 'served before the real expiry');
      const served = events.filter((e) => e.type === 'stale_served');
      assert.equal(served.length, 1, `one stale_served event (${JSON.stringify(events)})`);
      assert.equal(served[0].expiresAt, first.expiresAt);
      assert.equal(served[0].reason, expected.reason ?? expected.code, 'the renewal failed for the fault injected');

      await sleep(first.expiresAt + 100 - Date.now());
      const err = await rejectsOAuth(OAuthError, () => read(client), expected);
      return { err, events };
    } finally {
      client.free();
      await via.close();
    }
  }

  const always = (fault) => (via) => via.queue(...Array.from({ length: 50 }, () => fault));
  const http503 = always({ status: 503, body: 'unavailable' });

  test('HTTP 503 at the renewal: getToken gives the cached token; past expiry http_error 503', async () => {
    await staleThenExpired({ breakIt: http503, expected: { code: 'http_error', status: 503 } });
  });

  test('HTTP 503 with a store: the cached token; past expiry http_error 503', async () => {
    const store = memoryStore();
    await staleThenExpired({ extra: { store }, breakIt: http503, expected: { code: 'http_error', status: 503 } });
    assert.ok(store.calls.some(([op]) => op === 'put'), 'the store was used');
  });

  test('HTTP 503 with maxRetries 2: the cached token at the first failure; past expiry http_error 503', async () => {
    const { events } = await staleThenExpired({
      extra: { maxRetries: 2 }, breakIt: http503, expected: { code: 'http_error', status: 503 },
    });
    assert.ok(events.some((e) => e.type === 'retry'), 'the renewal was retried');
  });

  test('HTTP 429 + Retry-After at the renewal: the cached token; past expiry the 429 reaches the caller', async () => {
    await staleThenExpired({
      breakIt: always({ status: 429, body: { error: 'too_many_requests' }, headers: { 'retry-after': '30' } }),
      expected: { code: 'too_many_requests', status: 429 },
    });
  });

  test('network error, connection refused: the cached token; past expiry network_error', async () => {
    await staleThenExpired({ breakIt: (via) => via.close(), expected: { code: 'network_error' } });
  });

  test('network error, connection reset: the cached token; past expiry network_error', async () => {
    await staleThenExpired({ breakIt: always({ drop: true }), expected: { code: 'network_error' } });
  });

  test('HTTP 503 through authorizationHeader(): the cached "Bearer <token>"; past expiry http_error', async () => {
    await staleThenExpired({
      breakIt: http503,
      read: (c) => c.authorizationHeader(),
      shown: (token) => `Bearer ${token}`,
      expected: { code: 'http_error', status: 503 },
    });
  });
});

// ---- issue 8.3: redaction never rewrites a code and misses no encoding -------------

describe('redaction: codes stay exact, every encoding of the secret is hidden (8.3)', { timeout: 30_000 }, () => {
  const oauth401 = { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
  const fail = (clientSecret, fault, extra = {}) => {
    proxy.queue(fault);
    return failure(() => new TokenClient({ clientId: 'redaction-id', clientSecret, tokenUrl: proxy.tokenUrl, maxRetries: 0, ...extra }).getToken());
  };

  test('secret equal to part of a code ("client") against 401 invalid_client: code invalid_client', async () => {
    const { value: err, requests } = await fail('client', oauth401);
    assert.equal(requests, 1);
    assert.equal(err.code, 'invalid_client');
    assert.equal(err.status, 401);
    assert.match(err.message, /^invalid_client\b/);
  });

  for (const [secret, fault, extra, code] of [
    ['error', { status: 500, body: 'server error' }, {}, 'http_error'],
    ['time', { stall: true }, { timeoutMs: 300 }, 'timeout'],
    ['s', { raw: 'not json' }, {}, 'invalid_response'],
  ]) {
    test(`secret inside a library code ("${secret}"): code ${code} intact`, async () => {
      const { value: err } = await fail(secret, fault, extra);
      assert.equal(err.code, code);
      assert.ok(err instanceof OAuthError);
      assert.ok(JSON.stringify(err).includes(`"code":"${code}"`));
    });
  }

  test('one-letter secret ("a"): code exact, the placeholder is never redacted again', async () => {
    const { value: err } = await fail('a', oauth401);
    assert.equal(err.code, 'invalid_client');
    for (const text of [err.message, err.description, String(err), JSON.stringify(err), err.stack]) {
      assert.ok(text.includes('[redacted]'), `redacted: ${text}`);
      const rest = text.replaceAll('[redacted]', '');
      assert.doesNotMatch(rest, /redacted|red\[|\[red|cted\]/, `no nested placeholder: ${text}`);
    }
    assert.equal(err.description.replaceAll('[redacted]', '').includes('a'), false, 'no "a" left in the description');
  });

  // A secret with characters each encoding writes differently: '@', ' ', "'", '!', '&',
  // '"', '<', '>', '/', '+', and a non-ASCII letter.
  const secret = "S3cr3t@ pass'wörd!&\"<x>/+y";
  const id = 'redaction-client';
  const b64 = (text) => Buffer.from(text).toString('base64');
  const b64url = (text) => Buffer.from(text).toString('base64url');
  const lowerHex = (text) => text.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  const html = (text) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
    .replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const forms = {
    raw: secret,
    base64: b64(secret),
    base64url: b64url(secret),
    'base64 of id:secret': b64(`${id}:${secret}`),
    encodeURIComponent: encodeURIComponent(secret),
    'encodeURIComponent, lower-case hex': lowerHex(encodeURIComponent(secret)),
    'form-urlencoded': new URLSearchParams({ s: secret }).toString().slice(2),
    'HTML-escaped': html(secret),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
  };
  assert.ok(forms.encodeURIComponent.includes('%40') && forms.encodeURIComponent.includes('%20')
    && forms.encodeURIComponent.includes("'") && forms.encodeURIComponent.includes('!'));
  assert.ok(forms['HTML-escaped'].includes('&amp;') && forms['HTML-escaped'].includes('&quot;') && forms['HTML-escaped'].includes('&#39;'));

  for (const [name, form] of Object.entries(forms)) {
    test(`a server echoing the secret ${name} in error_description and error_uri: no form of it in the error`, async () => {
      const { value: err } = await fail(secret, {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: `bad secret ${form} for ${id}`,
          error_uri: `https://errors.example/doc?secret=${form}`,
        },
      }, { clientId: id });
      assert.equal(err.code, 'invalid_request');
      assert.ok(err.description.includes('[redacted]'), `the description is redacted: ${err.description}`);
      assertNoSecret(err, ...Object.values(forms));
    });
  }
});

// ---- issue 8.4: numbers that overflow mean "the largest" -----------------------------

describe('overflowing numbers from the server (8.4)', { timeout: 30_000 }, () => {
  test('429 with Retry-After 2^64: no immediate retry (exactly 1 request)', async () => {
    proxy.queue(...Array.from({ length: 5 }, () => ({ status: 429, headers: { 'retry-after': '18446744073709551616' }, body: 'slow down' })));
    const { value: err, requests } = await failure(() => new TokenClient(config({ clientId: 'overflow-429', maxRetries: 2 })).getToken());
    assert.equal(requests, 1);
    assert.equal(err.code, 'http_error');
    assert.equal(err.status, 429);
  });

  test('expires_in "99999999999999999999999": a token, its lifetime capped at one year', async () => {
    proxy.queue({ json: { access_token: 'overflow-token', token_type: 'Bearer', expires_in: '99999999999999999999999' } });
    const t0 = Date.now();
    const info = await new TokenClient(config({ clientId: 'overflow-expires' })).getTokenInfo();
    const year = 365 * 24 * 3600_000;
    assert.equal(info.accessToken, 'overflow-token');
    assert.ok(info.expiresAt >= t0 + year - 1000 && info.expiresAt <= Date.now() + year, `expiresAt ${info.expiresAt - t0} ms ahead`);
  });
});

// ---- issue 9.7: access_token and token_type are checked -------------------------------

describe('token response fields checked (9.7)', { timeout: 30_000 }, () => {
  const answer = (json) => {
    proxy.queue({ json: { token_type: 'Bearer', expires_in: 60, ...json } });
    return new TokenClient(config({ clientId: 'checked-fields', maxRetries: 0 })).getTokenInfo();
  };

  for (const [name, token] of [['CR LF (header injection)', 'abc\r\nX-Injected: 1'], ['NUL', 'abc\u0000def'], ['a bare LF', 'abc\ndef']]) {
    test(`access_token containing ${name}: invalid_response, status 200`, async () => {
      const err = await rejectsOAuth(OAuthError, answer({ access_token: token }), { code: 'invalid_response', status: 200 });
      assert.match(err.message, /access_token/);
    });
  }

  for (const type of ['DPoP', 'mac']) {
    test(`token_type "${type}" (unusable): invalid_response naming the type`, async () => {
      const err = await rejectsOAuth(OAuthError, answer({ access_token: 'abc', token_type: type }), { code: 'invalid_response', status: 200 });
      assert.match(err.message, new RegExp(`token_type ${type} is not supported`));
    });
  }

  test('token_type "bearer" (case-insensitive): tokenType "Bearer"', async () => {
    const info = await answer({ access_token: 'abc', token_type: 'bearer' });
    assert.equal(info.tokenType, 'Bearer');
  });
});

// ---- issues 9.2 and 9.3: hostile objects as options ----------------------------------

describe('throwing getters and Proxy traps are invalid_config (9.2, 9.3)', { timeout: 60_000 }, () => {
  const boom = () => { throw new Error('boom'); };
  /** Ways an object can throw when read, each over the plain object `base`. */
  const hostile = (base, key) => ({
    'a throwing getter': Object.defineProperty({ ...base }, key, { get: boom, enumerable: true }),
    'a Proxy whose get trap throws': new Proxy({ ...base }, { get: boom }),
    'a Proxy whose getOwnPropertyDescriptor trap throws': new Proxy({ ...base }, { getOwnPropertyDescriptor: boom }),
    'a Proxy whose ownKeys trap throws': new Proxy({ ...base }, { ownKeys: boom }),
  });
  const good = () => ({ ...alice, tokenUrl: demo.tokenUrl });
  // Made before the servers start: nothing may be sent with these (port 9: discard).
  const nowhere = 'http://127.0.0.1:9/oauth/token';
  const credentials = JSON.stringify({ client_id: alice.clientId, client_secret: alice.clientSecret, audience: DEFAULT_AUDIENCE });
  const env = { DATACOSMOS_CLIENT_ID: alice.clientId, DATACOSMOS_CLIENT_SECRET: alice.clientSecret, DATACOSMOS_TOKEN_URL: nowhere };

  test('2000 constructions with a Proxy whose ownKeys throws: each invalid_config; then a client still works', async () => {
    for (let i = 0; i < 2000; i += 1) {
      throwsOAuth(OAuthError, () => new TokenClient(new Proxy({}, { ownKeys() { throw 1; } })), { code: 'invalid_config' });
    }
    const from = demo.tokenRequests();
    assert.equal(typeof await new TokenClient(good()).getToken(), 'string');
    assert.equal(demo.tokenRequests() - from, 1);
  });

  test("a call's options (signal) that throw when read, or a signal that is not an AbortSignal: the call rejects with invalid_config, never throws", async () => {
    const client = new TokenClient(good()); // cold: every call would have to wait on a flight
    const from = demo.tokenRequests();
    const cases = { ...hostile({ signal: new AbortController().signal }, 'signal'), 'a string signal': { signal: 'x' }, 'a plain object signal': { signal: { aborted: false } } };
    delete cases['a Proxy whose ownKeys trap throws']; // a call's options are not enumerated: only `signal` is read
    for (const [name, options] of Object.entries(cases)) {
      for (const method of ['getToken', 'getTokenInfo', 'authorizationHeader']) {
        let promise;
        assert.doesNotThrow(() => { promise = client[method](options); }, `${method} with ${name}: no synchronous throw`);
        await rejectsOAuth(OAuthError, promise, { code: 'invalid_config' });
      }
    }
    assert.equal(demo.tokenRequests() - from, 0, 'nothing was sent for them');
    assert.equal(typeof await client.getToken({ signal: null }), 'string', 'a null signal is no signal');
    client.free();
  });

  test('use after free(): 100,000 getToken() calls reject with invalid_config, no RuntimeError', async () => {
    const client = new TokenClient(good());
    await client.getToken();
    client.free();
    const results = await Promise.allSettled(Array.from({ length: 100_000 }, () => client.getToken()));
    const kinds = new Map();
    for (const r of results) {
      const key = r.status === 'fulfilled' ? 'fulfilled' : `${r.reason?.name}:${r.reason?.code}:${r.reason?.message}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    assert.equal(kinds.size, 1, `one outcome for all: ${[...kinds.keys()].join(' | ')}`);
    const [err] = [results[0].reason];
    assert.ok(err instanceof OAuthError, String(err));
    assert.equal(err.code, 'invalid_config');
    assert.match(err.message, /free/);
    assert.equal(typeof await new TokenClient(good()).getToken(), 'string', 'other clients still work');
  });

  for (const [how, options] of Object.entries(hostile({ ...alice, tokenUrl: nowhere }, 'clientSecret'))) {
    test(`options with ${how}: the constructor throws invalid_config`, () => {
      throwsOAuth(OAuthError, () => new TokenClient(options), { code: 'invalid_config' });
    });

    test(`options with ${how}: the one-shot getToken rejects invalid_config, never throws`, async () => {
      let promise;
      assert.doesNotThrow(() => { promise = getToken(options); });
      await rejectsOAuth(OAuthError, promise, { code: 'invalid_config' });
    });
  }

  for (const [how, extraParams] of Object.entries(hostile({ resource: 'https://r.example' }, 'resource'))) {
    test(`extraParams with ${how}: invalid_config`, () => {
      throwsOAuth(OAuthError, () => new TokenClient({ ...good(), extraParams }), { code: 'invalid_config' });
    });
  }

  for (const [how, overrides] of Object.entries(hostile({ tokenUrl: nowhere }, 'tokenUrl'))) {
    test(`fromCredentials overrides with ${how}: invalid_config`, () => {
      throwsOAuth(OAuthError, () => TokenClient.fromCredentials(credentials, overrides), { code: 'invalid_config' });
    });
    test(`fromEnv overrides with ${how}: invalid_config`, () => {
      throwsOAuth(OAuthError, () => TokenClient.fromEnv(env, overrides), { code: 'invalid_config' });
    });
  }

  for (const [how, hostileEnv] of Object.entries(hostile(env, 'DATACOSMOS_CLIENT_SECRET'))) {
    test(`fromEnv env object with ${how}: invalid_config`, () => {
      throwsOAuth(OAuthError, () => TokenClient.fromEnv(hostileEnv), { code: 'invalid_config' });
    });
  }

  test('a throwing tokenUrl getter: invalid_config, no request to any endpoint (9.3)', async () => {
    let calls = 0;
    const fetch = (...args) => { calls += 1; return globalThis.fetch(...args); };
    const options = Object.defineProperty({ ...alice, fetch }, 'tokenUrl', { get: boom, enumerable: true });
    throwsOAuth(OAuthError, () => new TokenClient(options), { code: 'invalid_config' });
    await rejectsOAuth(OAuthError, getToken(options), { code: 'invalid_config' });
    await sleep(50);
    assert.equal(calls, 0);
  });

  test('a throwing store getter: invalid_config, the store is not silently dropped (9.3)', () => {
    const options = Object.defineProperty(good(), 'store', { get: boom, enumerable: true });
    throwsOAuth(OAuthError, () => new TokenClient(options), { code: 'invalid_config' });
  });
});

// ---- issue 9.4: client.fetch replays only replayable bodies --------------------------

describe('client.fetch after a 401: one-shot bodies are not replayed (9.4)', { timeout: 30_000 }, () => {
  let resource; // records every request to the demo's protected search endpoint
  before(async () => { resource = await startFaultProxy({ target: demo.searchUrl }); });
  after(() => resource?.close());

  /** A client whose cached token the resource rejects once (the demo's key rotated). */
  async function rejectedClient() {
    const client = new TokenClient({ ...alice, tokenUrl: demo.tokenUrl });
    await client.getToken();
    demo.rotateKey();
    return client;
  }

  const bytes = new TextEncoder().encode('{"collections":["menut-l1b"],"limit":10}');
  const oneShot = {
    'an async iterable': () => (async function* body() { yield bytes; }()),
    'a Node Readable': () => Readable.from([Buffer.from(bytes)]),
    'a ReadableStream': () => new Blob([bytes]).stream(),
  };
  for (const [name, make] of Object.entries(oneShot)) {
    test(`${name} body: the 401 is returned, nothing is resent with 0 bytes`, async () => {
      const client = await rejectedClient();
      const { value: res, requests } = await observe(
        () => client.fetch(resource.tokenUrl, { method: 'POST', body: make(), duplex: 'half', headers: { 'content-type': 'application/json' } }),
        resource,
      );
      assert.equal(res.status, 401);
      assert.equal(requests, 1);
      assert.equal(resource.requests.at(-1).body, new TextDecoder().decode(bytes), 'the one request carried the whole body');
      await res.arrayBuffer();
    });
  }

  const boundary = (text) => text.replace(/-{2,}[-\w]*?(\d{6,}|[A-Za-z0-9]{16,})[-\w]*/g, '<boundary>');
  const replayable = {
    'a string': () => new TextDecoder().decode(bytes),
    'a Uint8Array': () => bytes.slice(),
    'an ArrayBuffer': () => bytes.slice().buffer,
    'a Blob': () => new Blob([bytes]),
    'a URLSearchParams': () => new URLSearchParams({ collections: 'menut-l1b', limit: '10' }),
    'a FormData': () => { const f = new FormData(); f.set('collections', 'menut-l1b'); f.set('limit', '10'); return f; },
  };
  for (const [name, make] of Object.entries(replayable)) {
    test(`${name} body: replayed whole after the 401 (the server sees the same bytes twice)`, async () => {
      const client = await rejectedClient();
      const { value: res, requests } = await observe(() => client.fetch(resource.tokenUrl, { method: 'POST', body: make() }), resource);
      assert.equal(res.status, 200);
      assert.equal(requests, 2);
      const [first, second] = resource.requests.slice(-2).map((r) => r.body);
      assert.ok(first.length > 0);
      if (name === 'a FormData') assert.equal(boundary(second), boundary(first));
      else assert.equal(second, first);
      assert.equal((await res.json()).context.requestBytes, Buffer.byteLength(second));
    });
  }
});

// ---- issue 9.5: a store that keeps no writes -------------------------------------------

describe('a store that keeps nothing (9.5)', { timeout: 30_000 }, () => {
  test('write accepted, read always null (Cache API on workers.dev): no wait for the lease', async () => {
    const reads = [];
    const writes = [];
    const store = {
      async get(key) { reads.push(key); return null; },
      async put(key) { writes.push(key); },
      async delete() {},
    };
    const events = [];
    const from = demo.tokenRequests();
    const client = new TokenClient({ ...alice, tokenUrl: demo.tokenUrl, store, onEvent: (e) => events.push(e) });
    assert.equal(typeof await client.getToken(), 'string');
    assert.equal(demo.tokenRequests() - from, 1);
    const errors = events.filter((e) => e.type === 'store_error');
    assert.deepEqual(errors, [{ type: 'store_error', operation: 'lease' }], JSON.stringify(events));
    assert.ok(reads.length <= 3, `${reads.length} store reads`);
    assert.ok(!events.some((e) => e.type === 'lease' && e.state === 'waited'), 'never waited for a lease holder');
  });
});

// ---- issue 8: boundary crossings between JS and wasm ---------------------------------

describe('JS/wasm boundary crossings (8)', { timeout: 30_000 }, () => {
  // In a child: the glue and core.js loaded directly (no other copy, so install() uses
  // the counted glue), each glue export wrapped in a counter, and each export of the
  // wasm instance too (wasm-bindgen's __wbindgen_malloc/realloc/free included), by
  // handing the glue a counting WebAssembly.Instance while it instantiates.
  const CHILD = `
    import { readFileSync } from 'node:fs';
    const pkg = new URL(process.env.PKG_URL);
    const glue = await import(new URL('datacosmos_auth.js', pkg));
    const { install } = await import(new URL('core.js', pkg));
    const raw = {};
    const glueCalls = {};
    let bodyCrossings = 0;
    let token = null;
    const Real = WebAssembly.Instance;
    WebAssembly.Instance = function CountedInstance(module, imports) {
      const exports = {};
      for (const [k, v] of Object.entries(new Real(module, imports).exports)) {
        exports[k] = typeof v !== 'function' ? v : (...a) => { raw[k] = (raw[k] ?? 0) + 1; return v(...a); };
      }
      return { exports };
    };
    const counted = {};
    for (const name of ['create', 'step', 'free', 'envNames']) {
      counted[name] = (...args) => {
        glueCalls[name] = (glueCalls[name] ?? 0) + 1;
        // step(id, now, kind, op, status, text, body): kind 10 is the token endpoint's answer.
        if (name === 'step' && args[2] === 10) {
          glueCalls.answer = (glueCalls.answer ?? 0) + 1;
          token = /"access_token":"([^"]+)"/.exec(args[6] ?? '')?.[1] ?? token;
        }
        if (token) bodyCrossings += args.filter((a) => typeof a === 'string' && a.includes(token)).length;
        return glue[name](...args);
      };
    }
    const api = install(() => {
      glue.initSync({ module: readFileSync(new URL('datacosmos_auth_bg.wasm', pkg)) });
      WebAssembly.Instance = Real;
      return counted;
    });
    const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
    const snap = () => ({ glue: { ...glueCalls }, raw: { ...raw }, body: bodyCrossings });
    const diff = (a, b) => {
      const d = (x, y) => Object.fromEntries(Object.keys(y).filter((k) => y[k] !== (x[k] ?? 0)).map((k) => [k, y[k] - (x[k] ?? 0)]));
      const glueD = d(a.glue, b.glue);
      const rawD = d(a.raw, b.raw);
      const calls = { ...glueD };
      delete calls.answer; // counted within step
      return { glue: glueD, glueTotal: sum(calls), raw: rawD, rawTotal: sum(rawD), body: b.body - a.body };
    };
    const measure = async (f) => { const a = snap(); await f(); await new Promise((r) => setTimeout(r, 50)); return diff(a, snap()); };

    const map = new Map();
    const store = { get: async (k) => map.get(k) ?? null, put: async (k, v) => { map.set(k, v); }, delete: async (k) => { map.delete(k); } };
    const cfg = { clientId: process.env.ID, clientSecret: process.env.SECRET, tokenUrl: process.env.TOKEN_URL };
    const out = {};
    let client;
    out.create = await measure(() => { client = new api.TokenClient(cfg); });
    out.cold = await measure(() => client.getToken());
    token = null;
    out.cached = await measure(async () => { await client.getToken(); await client.getTokenInfo(); await client.authorizationHeader(); });
    let stored;
    await measure(() => { stored = new api.TokenClient({ ...cfg, store }); });
    out.coldStore = await measure(() => stored.getToken());
    token = null;
    out.cachedStore = await measure(async () => { await stored.getToken(); await stored.getTokenInfo(); await stored.authorizationHeader(); });
    console.log(JSON.stringify(out));
  `;

  let figures;
  before(async () => {
    figures = await runChild('crossings', CHILD, {
      env: { PKG_URL: new URL('../../pkg/', import.meta.url).href, ID: alice.clientId, SECRET: alice.clientSecret, TOKEN_URL: demo.tokenUrl },
    });
    console.log(`# boundary crossings: ${JSON.stringify(figures)}`);
  });

  test('a cached hit (getToken, getTokenInfo, authorizationHeader) never enters wasm', () => {
    for (const run of [figures.cached, figures.cachedStore]) {
      assert.equal(run.glueTotal, 0, JSON.stringify(run));
      assert.equal(run.rawTotal, 0, JSON.stringify(run));
    }
  });

  test('a cold exchange crosses at most 10 times, with and without a store', () => {
    assert.ok(figures.cold.glueTotal >= 2 && figures.cold.glueTotal <= 10, JSON.stringify(figures.cold));
    assert.equal(figures.cold.glue.answer, 1);
    assert.ok(figures.coldStore.glueTotal <= 10, JSON.stringify(figures.coldStore));
  });

  test('the response body crosses once', () => {
    assert.equal(figures.cold.body, 1, JSON.stringify(figures.cold));
    assert.equal(figures.coldStore.body, 1, JSON.stringify(figures.coldStore));
  });
});

// ---- issue 9.1: prototype pollution is never read as an option or a field ------------

describe('a polluted Object.prototype (9.1)', { timeout: 60_000 }, () => {
  let steal; // a loopback "attacker" endpoint: counts every request it gets
  let hits = 0;
  before(async () => {
    steal = http.createServer((req, res) => {
      hits += 1;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'stolen', token_type: 'Bearer', expires_in: 3600 }));
    });
    await new Promise((r) => steal.listen(0, '127.0.0.1', r));
  });
  after(() => new Promise((r) => { steal.closeAllConnections(); steal.close(r); }));

  // The child: the package's default token URL routed to TOKEN_URL (as the README tests
  // do), every request the package sends recorded; `polluted({ key: value }, fn)` runs fn
  // with those members on Object.prototype and removes them before anything is printed.
  // `httpFetch` is a fetch over node:http, for pollution that breaks Node's own fetch
  // (undici fails every request while Object.prototype.error is set).
  const PRELUDE = `
    import http from 'node:http';
    import { TokenClient, getToken } from 'datacosmos-auth';
    const real = globalThis.fetch;
    const sent = [];
    const own = (o, k) => o != null && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    const record = (url, init) => {
      const body = own(init, 'body');
      sent.push({ url, body: typeof body === 'string' ? body : null, authorization: new Headers(own(init, 'headers')).get('authorization') });
    };
    const route = (url) => url.replace('https://login.open-cosmos.com/oauth/token', process.env.TOKEN_URL);
    globalThis.fetch = (input, init) => {
      record(String(input), init);
      return real(route(String(input)), init);
    };
    const httpFetch = (input, init) => new Promise((resolve, reject) => {
      record(String(input), init);
      const req = http.request(route(String(input)), { method: own(init, 'method'), headers: own(init, 'headers') }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: { 'content-type': 'application/json' } })));
      });
      req.on('error', reject);
      req.end(own(init, 'body'));
    });
    const STEAL = process.env.STEAL_URL;
    const id = { clientId: process.env.ID, clientSecret: process.env.SECRET };
    const cfg = { ...id, tokenUrl: process.env.TOKEN_URL };
    const credentials = { client_id: id.clientId, client_secret: id.clientSecret, audience: 'https://beeapp.open-cosmos.com', grant_type: 'client_credentials' };
    const env = { DATACOSMOS_CLIENT_ID: id.clientId, DATACOSMOS_CLIENT_SECRET: id.clientSecret };
    const extra = {};
    async function polluted(members, fn) {
      Object.assign(Object.prototype, members);
      try {
        return { token: await fn() };
      } catch (e) {
        return { code: e.code, message: e.message };
      } finally {
        for (const key of Object.keys(members)) delete Object.prototype[key];
      }
    }
  `;
  const inChild = (name, body, tokenUrl = demo.tokenUrl) => runChild(`pollution-${name}`, `${PRELUDE}
    const outcome = await ${body};
    console.log(JSON.stringify({ outcome, sent, extra }));
  `, {
    env: {
      ID: alice.clientId, SECRET: alice.clientSecret, TOKEN_URL: tokenUrl, STEAL_URL: `http://127.0.0.1:${steal.address().port}/steal`,
    },
  });

  /** The child got a real token from `demo`, sent only to `url`, and nothing reached the thief. */
  function assertClean(r, url = demo.tokenUrl) {
    assert.ok(typeof r.outcome.token === 'string' && r.outcome.token !== 'stolen', `a token from the demo: ${JSON.stringify(r.outcome)}`);
    assert.ok(r.sent.length >= 1);
    for (const s of r.sent) {
      assert.equal(s.url, url);
      assert.doesNotMatch(s.body ?? '', /stolen|steal/);
    }
    assert.equal(hits, 0, 'no request reached the polluted URL');
  }

  const DEFAULT_URL = 'https://login.open-cosmos.com/oauth/token';
  const tokenUrlCases = {
    'new TokenClient({ clientId, clientSecret })': 'new TokenClient(id).getToken()',
    'the one-shot getToken({ clientId, clientSecret })': 'getToken(id)',
    'fromCredentials(JSON text, {})': 'TokenClient.fromCredentials(JSON.stringify(credentials), {}).getToken()',
    'fromCredentials(object)': 'TokenClient.fromCredentials(credentials).getToken()',
    'fromEnv(env, {})': 'TokenClient.fromEnv(env, {}).getToken()',
  };
  for (const [how, call] of Object.entries(tokenUrlCases)) {
    test(`polluted tokenUrl / token_url / DATACOSMOS_TOKEN_URL, ${how}: the secret goes to the default URL only`, async () => {
      const r = await inChild(`token-url-${how.replace(/\W+/g, '-')}`,
        `polluted({ tokenUrl: STEAL, token_url: STEAL, DATACOSMOS_TOKEN_URL: STEAL }, () => ${call})`);
      assertClean(r, DEFAULT_URL);
    });
  }

  test('polluted DATACOSMOS_TOKEN_URL with fromEnv() over process.env: the default URL only', async () => {
    const r = await runChild('pollution-process-env', `${PRELUDE}
      process.env.DATACOSMOS_CLIENT_ID = id.clientId;
      process.env.DATACOSMOS_CLIENT_SECRET = id.clientSecret;
      const outcome = await polluted({ DATACOSMOS_TOKEN_URL: STEAL }, () => TokenClient.fromEnv().getToken());
      console.log(JSON.stringify({ outcome, sent }));
    `, { env: { ID: alice.clientId, SECRET: alice.clientSecret, TOKEN_URL: demo.tokenUrl, STEAL_URL: `http://127.0.0.1:${steal.address().port}/steal` } });
    assertClean(r, DEFAULT_URL);
  });

  test('polluted fetch: the global fetch is used, the polluted one never called', async () => {
    const r = await inChild('fetch', `polluted({ fetch: (...a) => { extra.stolen = (extra.stolen ?? 0) + 1; return real(STEAL, { method: 'POST' }); } },
      () => new TokenClient(cfg).getToken())`);
    assertClean(r);
    assert.equal(r.extra.stolen, undefined);
  });

  test('polluted extraParams: nothing added to the request body', async () => {
    const r = await inChild('extra-params', `polluted({ extraParams: { stolen: 'yes', audience: STEAL } }, () => new TokenClient(cfg).getToken())`);
    assertClean(r);
    assert.ok(!r.sent[0].body.includes('yes'));
  });

  test('polluted store: the inherited store is never called', async () => {
    const r = await inChild('store', `polluted({ store: { get: async () => { extra.store = 'get'; return null; }, put: async () => { extra.store = 'put'; } } },
      () => new TokenClient(cfg).getToken())`);
    assertClean(r);
    assert.equal(r.extra.store, undefined);
  });

  test('polluted authMethod: the default client_secret_post stays (no Basic header)', async () => {
    const r = await inChild('auth-method', `polluted({ authMethod: 'client_secret_basic' }, () => new TokenClient(cfg).getToken())`);
    assertClean(r);
    assert.equal(r.sent[0].authorization, null);
    assert.match(r.sent[0].body, /client_secret/);
  });

  test('polluted access_token: an empty {} token response is invalid_response, not a token', async () => {
    proxy.queue({ json: {} });
    const r = await inChild('access-token', `polluted({ access_token: 'polluted-token' }, () => new TokenClient({ ...cfg, maxRetries: 0 }).getToken())`, proxy.tokenUrl);
    assert.equal(r.outcome.code, 'invalid_response', JSON.stringify(r.outcome));
  });

  test('polluted error: a good token response stays a token (fetch over node:http: undici fails under it)', async () => {
    const r = await inChild('error', `polluted({ error: 'invalid_client' }, () => new TokenClient({ ...cfg, fetch: httpFetch }).getToken())`);
    assertClean(r);
  });

  test('polluted error, status, description: a failure keeps its own fields (no inherited ones)', async () => {
    const r = await inChild('error-on-failure', `polluted({ error: 'invalid_client', status: 999, description: 'polluted' },
      async () => { try { await new TokenClient({ ...cfg, clientSecret: 'wrong', fetch: httpFetch, maxRetries: 0 }).getToken(); }
        catch (e) { extra.own = Object.keys(e).sort(); extra.status = e.status; extra.description = e.description; throw e; } })`);
    assert.equal(r.outcome.code, 'access_denied', JSON.stringify(r.outcome));
    assert.deepEqual(r.extra, { own: ['code', 'description', 'status'], status: 401, description: 'Unauthorized' });
  });

  test('polluted names of the engine\'s output (ok, err, tok, join, w): cold, joined and cached calls give the real token', async () => {
    const r = await inChild('engine-output', `polluted({
        ok: { accessToken: 'stolen', tokenType: 'Bearer', expiresAt: 1 }, err: { code: 'invalid_client' },
        tok: { accessToken: 'stolen', tokenType: 'Bearer', expiresAt: 1 }, join: 7, w: 7,
      }, async () => {
        const client = new TokenClient({ ...cfg, fetch: httpFetch });
        const [a, b] = await Promise.all([client.getToken(), client.getToken()]);
        const c = await client.getToken();
        if (a !== b || b !== c) throw new Error('different tokens');
        return a;
      })`);
    assertClean(r);
    assert.equal(r.sent.length, 1);
  });

  test('polluted toJSON: the options are not altered', async () => {
    const r = await inChild('to-json', `polluted({ toJSON() { return { tokenUrl: STEAL, clientId: 'x', clientSecret: 'y' }; } },
      () => new TokenClient(cfg).getToken())`);
    assertClean(r);
  });
});

// ---- issue 9.6: non-JSON answers leak nothing -----------------------------------------

describe('20,000 non-JSON answers (9.6)', { timeout: 180_000 }, () => {
  // In a child with --expose-gc: the package's own wasm instance (the glue module the
  // package loaded; initSync() hands back its exports: memory, __wbindgen_externrefs),
  // a loopback server answering HTML, 16 clients in parallel until 20,000 answers.
  const CHILD = `
    import http from 'node:http';
    import { TokenClient } from 'datacosmos-auth';
    const glue = await import(new URL('datacosmos_auth.js', process.env.PKG_URL));
    const wasm = glue.initSync();
    const html = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>' + 'x'.repeat(512) + '</body></html>';
    let answers = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      answers += 1;
      res.writeHead(req.url === '/502' ? 502 : 200, { 'content-type': 'text/html' });
      res.end(html);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const base = 'http://127.0.0.1:' + server.address().port;
    const codes = new Map();
    async function hammer(path, total) {
      const until = answers + total;
      await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        const client = new TokenClient({ clientId: 'leak-' + path + i, clientSecret: 'leak-secret', tokenUrl: base + path, maxRetries: 0 });
        while (answers < until) {
          try { await client.getToken(); } catch (e) { codes.set(path + ' ' + e.code + ' ' + e.status, (codes.get(path + ' ' + e.code + ' ' + e.status) ?? 0) + 1); }
        }
        client.free();
      }));
    }
    // The JS heap after GC, as the least of a few readings (timers of the HTTP client
    // and finalizers come and go between them).
    async function heapUsed() {
      let least = Infinity;
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
        gc();
        least = Math.min(least, process.memoryUsage().heapUsed);
      }
      return least;
    }
    const figures = async () => ({
      wasmMemory: wasm.memory.buffer.byteLength,
      externrefs: wasm.__wbindgen_externrefs?.length ?? null,
      heapUsed: await heapUsed(),
      answers,
    });
    const out = {};
    // Each reading follows the same burst of 1,000 answers, so that connection pools
    // and timers are in the same state at both (the first burst also warms up).
    const reading = async (path) => { await hammer(path, 1000); return figures(); };
    for (const path of ['/502', '/200']) {
      const before = await reading(path);
      await hammer(path, 20000);
      out[path] = { before, after: await reading(path) };
    }
    out.codes = Object.fromEntries(codes);
    server.closeAllConnections();
    server.close();
    console.log(JSON.stringify(out));
  `;

  let figures;
  before(async () => {
    figures = await runChild('non-json-answers', CHILD, {
      flags: ['--expose-gc'], env: { PKG_URL: new URL('../../pkg/', import.meta.url).href }, timeoutMs: 170_000,
    });
    console.log(`# non-JSON answers: ${JSON.stringify(figures)}`);
  });

  for (const [path, name, code] of [['/502', 'HTML 502 (maxRetries 0)', 'http_error 502'], ['/200', 'HTML 200', 'invalid_response 200']]) {
    test(`${name}: all answered as ${code}; wasm memory, externref table and JS heap flat`, () => {
      const { before: b, after: a } = figures[path];
      assert.ok(a.answers - b.answers >= 20_000, `${a.answers - b.answers} answers`);
      assert.ok(figures.codes[`${path} ${code}`] >= 21_000, JSON.stringify(figures.codes));
      assert.equal(Object.keys(figures.codes).filter((k) => k.startsWith(path)).length, 1, JSON.stringify(figures.codes));
      assert.equal(a.wasmMemory, b.wasmMemory, 'wasm linear memory');
      assert.equal(a.externrefs, b.externrefs, 'externref table');
      // Readings differ by a few hundred KB from run to run (no trend over 100,000
      // answers); one leaked object per answer would be 2 MB or more.
      assert.ok(a.heapUsed - b.heapUsed < 2 << 20, `JS heap grew ${a.heapUsed - b.heapUsed} bytes (< 100 per answer)`);
    });
  }
});
