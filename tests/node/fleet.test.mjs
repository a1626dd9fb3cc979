// Issue 12 in Node, against a loopback stand-in for Auth0 (tests/servers/auth0.mjs)
// that sends Auth0's quota headers on every answer and records every request that
// arrives while it has told the client a bucket reads r=0 (a violation):
// quota pacing, the negative cache, clock skew, per-call cancellation, events, and the
// README's OpenTelemetry example. Waits are real (short tokens, blocks of a few
// seconds); nothing asserts how long anything took.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { TokenClient, OAuthError, memoryStore } from 'datacosmos-auth';
import { startAuth0 } from '../servers/auth0.mjs';
import { ROOT, jwtClaims, rejectsOAuth, sleep } from './helpers.mjs';

const SECRET = 'auth0-mock-secret-7c41e0b9d2';
const IDS = ['quota-a', 'quota-b', 'quota-c', 'quota-x', 'quota-other', 'neg-a', 'neg-b', 'neg-c', 'neg-d',
  'skew', 'abort', 'ev', 'ev-stale', 'ev-store', 'ev-listeners', 'otel'];

let auth0;
/** Every event any client of this file emitted: [clientId, event]. */
const events = [];
before(async () => {
  auth0 = await startAuth0({ clients: IDS.map((clientId) => ({ clientId, clientSecret: SECRET })) });
});
after(async () => {
  await auth0?.close();
});
afterEach(() => auth0.clearScript());

/** A client of `clientId` at the mock, recording its events; `extra` overrides. */
function client(clientId, extra = {}) {
  return new TokenClient({
    clientId,
    clientSecret: SECRET,
    tokenUrl: auth0.tokenUrl,
    maxRetries: 0,
    onEvent: (e) => events.push([clientId, e]),
    ...extra,
  });
}

const requestsOf = (id) => auth0.tokenRequests(id);
const violationsOf = (id) => auth0.violations().filter((r) => r.clientId === id);
// The server's block of `id` has this many seconds left; the client's retryAfterSeconds
// may exceed it by up to 2 s (X-RateLimit-Reset is a whole Unix second, read against the
// local whole second), never fall short of it.
function assertRetryAfter(err, id) {
  const left = (auth0.blocks.filter((b) => b.clientId === id).at(-1).until - Date.now()) / 1000;
  assert.ok(err.retryAfterSeconds >= Math.floor(left) && err.retryAfterSeconds <= Math.ceil(left) + 2,
    `retryAfterSeconds ${err.retryAfterSeconds}, the server's block ${left} s`);
}
const perHour = (info) => info.quota?.find((b) => b.bucket === 'per_hour');
const untilPast = async (ms) => { while (Date.now() <= ms) await sleep(Math.min(100, ms - Date.now() + 1)); };
const eventsOf = (id, type) => events.filter(([c, e]) => c === id && (!type || e.type === type)).map(([, e]) => e);

describe('quota pacing', { timeout: 60_000 }, () => {
  test('TokenInfo.quota is the last reading of Auth0-Client-Quota-Limit', async () => {
    const c = client('quota-x');
    const info = await c.getTokenInfo();
    assert.deepEqual(info.quota, [
      { bucket: 'per_hour', limit: 1000, remaining: 999, resetSeconds: info.quota[0].resetSeconds },
      { bucket: 'per_day', limit: 10000, remaining: 9999, resetSeconds: info.quota[1].resetSeconds },
    ]);
    assert.ok(info.quota[0].resetSeconds > 3500 && info.quota[1].resetSeconds > 86000, JSON.stringify(info.quota));
    assert.deepEqual(eventsOf('quota-x', 'quota').at(-1), { type: 'quota', quota: info.quota });
  });

  test('r=0 on a renewal: no request until the reset, the valid token served meanwhile, then quota_exceeded at once', async () => {
    const id = 'quota-a';
    const c = client(id);
    auth0.script({ expiresIn: 3 }); // due after 1.5 s, expired after 3 s
    const first = await c.getTokenInfo();
    await sleep(1700);
    auth0.script({ status: 429, quotaZero: 5 });
    const stale = await c.getTokenInfo();
    assert.equal(requestsOf(id), 2, 'the renewal was sent and answered 429 r=0');
    assert.equal(stale.accessToken, first.accessToken, 'the valid token is served');
    assert.deepEqual(perHour(stale), { bucket: 'per_hour', limit: 1000, remaining: 0, resetSeconds: 5 }, 'TokenInfo.quota shows the empty bucket');
    assert.deepEqual(eventsOf(id, 'stale_served').at(-1), { type: 'stale_served', reason: 'too_many_requests', expiresAt: first.expiresAt });
    let served = 0;
    // A token is handed out until min(1 s, lifetime / 10) before expiry: 300 ms here.
    while (Date.now() < first.expiresAt - 300 - 150) {
      assert.equal(await c.getToken(), first.accessToken);
      served += 1;
      await sleep(100);
    }
    assert.ok(served >= 3, `${served} calls while blocked with a valid token`);
    assert.equal(requestsOf(id), 2, 'no request while the bucket reads r=0 and a valid token exists');
    await untilPast(first.expiresAt);
    const err = await rejectsOAuth(OAuthError, c.getToken(), { code: 'quota_exceeded', status: undefined });
    assertRetryAfter(err, id);
    assert.equal(perHour(err).remaining, 0, 'the error carries the quota reading');
    assert.match(err.message, /quota/);
    assert.equal(requestsOf(id), 2, 'no token and blocked: failed without a request');
    await untilPast(auth0.blocks.at(-1).until);
    let renewed;
    for (let i = 0; i < 20 && !renewed; i++) {
      // The client's reset is counted from when it received the answer: a few ms later.
      renewed = await c.getTokenInfo().catch((e) => (e.code === 'quota_exceeded' ? sleep(100) : Promise.reject(e)));
    }
    assert.notEqual(renewed.accessToken, first.accessToken, 'after the reset a new token is fetched');
    assert.equal(perHour(renewed).remaining > 0, true);
    assert.equal(requestsOf(id), 3);
    assert.deepEqual(violationsOf(id), [], 'no request arrived while the server had said r=0');
  });

  test('a block is shared by every client of the id in the process (made before or after it); clear() does not lift it', async () => {
    const id = 'quota-b';
    const earlier = client(id, { scope: 'read' }); // another client of the id, made before the block
    const c = client(id);
    auth0.script({ status: 429, quotaZero: 4 });
    const first = await rejectsOAuth(OAuthError, c.getToken(), { code: 'too_many_requests', status: 429 });
    assert.equal(perHour(first).remaining, 0, 'the 429 carries the quota reading');
    assert.equal(requestsOf(id), 1, 'a 429 with r=0 is not retried');
    const again = await rejectsOAuth(OAuthError, c.getToken(), { code: 'quota_exceeded' });
    assertRetryAfter(again, id);
    assert.equal(perHour(again).remaining, 0);
    const e1 = await rejectsOAuth(OAuthError, earlier.getToken(), { code: 'quota_exceeded' });
    assertRetryAfter(e1, id);
    const later = client(id);
    const e2 = await rejectsOAuth(OAuthError, later.getToken(), { code: 'quota_exceeded' });
    assertRetryAfter(e2, id);
    c.clear();
    await rejectsOAuth(OAuthError, c.getToken(), { code: 'quota_exceeded' });
    assert.equal(requestsOf(id), 1, 'no other request from any client of the id');
    // Another client id at the same token URL has its own quota.
    const other = client('quota-other');
    assert.match(await other.getToken(), /^eyJ/);
    await untilPast(auth0.blocks.at(-1).until);
    let token;
    for (let i = 0; i < 20 && !token; i++) {
      token = await later.getToken().catch((e) => (e.code === 'quota_exceeded' ? sleep(100) : Promise.reject(e)));
    }
    assert.match(token, /^eyJ/, 'after the reset the block is gone');
    assert.deepEqual(violationsOf(id), []);
  });

  test('X-RateLimit-Limit/Remaining/Reset on a 429 block as well (bucket "rate_limit")', async () => {
    const id = 'quota-c';
    const c = client(id);
    auth0.script({ status: 429, quotaZero: 3, quotaHeader: false });
    const err = await rejectsOAuth(OAuthError, c.getToken(), { code: 'too_many_requests', status: 429 });
    const bucket = err.quota?.find((b) => b.bucket === 'rate_limit');
    assert.ok(bucket, JSON.stringify(err.quota));
    assert.equal(bucket.limit, 1000);
    assert.equal(bucket.remaining, 0);
    assert.ok(bucket.resetSeconds >= 2 && bucket.resetSeconds <= 4, `resetSeconds ${bucket.resetSeconds}`);
    await rejectsOAuth(OAuthError, c.getToken(), { code: 'quota_exceeded' });
    assert.equal(requestsOf(id), 1);
    assert.deepEqual(violationsOf(id), []);
  });
});

describe('negative cache', { timeout: 30_000 }, () => {
  const wrong = { clientSecret: 'not-the-secret-19aa' };

  test('invalid_client: the same error without a request for negativeCacheSeconds; clear() lifts it', async () => {
    const id = 'neg-a';
    const c = client(id, wrong);
    const expected = { code: 'invalid_client', status: 401, description: 'Unauthorized' };
    const e1 = await rejectsOAuth(OAuthError, c.getToken(), expected);
    assert.equal(requestsOf(id), 1);
    const e2 = await rejectsOAuth(OAuthError, c.getTokenInfo(), expected);
    await rejectsOAuth(OAuthError, c.authorizationHeader(), expected);
    assert.equal(e2.message, e1.message);
    assert.equal(requestsOf(id), 1, 'answered from the negative cache');
    assert.deepEqual(eventsOf(id, 'negative_cache'), [{ type: 'negative_cache', code: 'invalid_client' }, { type: 'negative_cache', code: 'invalid_client' }]);
    c.clear();
    await rejectsOAuth(OAuthError, c.getToken(), expected);
    assert.equal(requestsOf(id), 2, 'clear() lifted it: the next call asked again');
  });

  test('negativeCacheSeconds: 0 turns it off; a short one expires', async () => {
    const off = client('neg-b', { ...wrong, negativeCacheSeconds: 0 });
    for (let i = 0; i < 3; i++) await rejectsOAuth(OAuthError, off.getToken(), { code: 'invalid_client' });
    assert.equal(requestsOf('neg-b'), 3, 'every call asks');
    assert.deepEqual(eventsOf('neg-b', 'negative_cache'), []);
    const short = client('neg-c', { ...wrong, negativeCacheSeconds: 1 });
    await rejectsOAuth(OAuthError, short.getToken(), { code: 'invalid_client' });
    await rejectsOAuth(OAuthError, short.getToken(), { code: 'invalid_client' });
    assert.equal(requestsOf('neg-c'), 1);
    await sleep(1100);
    await rejectsOAuth(OAuthError, short.getToken(), { code: 'invalid_client' });
    assert.equal(requestsOf('neg-c'), 2, 'after negativeCacheSeconds the next call asks again');
  });

  test('unauthorized_client and access_denied are cached too; a 400 invalid_request is not', async () => {
    const id = 'neg-d';
    const c = client(id);
    for (const [status, error] of [[403, 'unauthorized_client'], [403, 'access_denied']]) {
      auth0.script({ status, body: { error, error_description: 'no' } });
      const before = requestsOf(id);
      await rejectsOAuth(OAuthError, c.getToken(), { code: error, status });
      await rejectsOAuth(OAuthError, c.getToken(), { code: error, status });
      assert.equal(requestsOf(id), before + 1, `${error} answered from the cache`);
      c.clear();
    }
    auth0.script({ status: 400, body: { error: 'invalid_request', error_description: 'no' } });
    await rejectsOAuth(OAuthError, c.getToken(), { code: 'invalid_request' });
    const before = requestsOf(id);
    assert.match(await c.getToken(), /^eyJ/);
    assert.equal(requestsOf(id), before + 1, 'invalid_request is not cached');
  });
});

describe('clock skew', { timeout: 30_000 }, () => {
  // Only a JWT exp (no expires_in) and the server's clock `offset` seconds off: the
  // token's 600 s are counted on the local clock from when the request was sent.
  async function skewed(offset, expiresIn = null) {
    auth0.setClockOffset(offset);
    try {
      const c = client('skew');
      auth0.script({ lifetime: 600, expiresIn });
      const sentAfter = Date.now();
      const info = await c.getTokenInfo();
      const receivedBy = Date.now();
      c.free();
      return { info, exp: jwtClaims(info.accessToken).exp * 1000, sentAfter, receivedBy };
    } finally {
      auth0.setClockOffset(0);
    }
  }

  for (const offset of [3600, -3600]) {
    test(`a Date ${offset > 0 ? 'an hour ahead' : 'an hour behind'}: expiresAt = local now + (exp − Date)`, async () => {
      const { info, exp, sentAfter, receivedBy } = await skewed(offset);
      // Date has whole seconds and exp = the server's iat + 600: exp − Date is 600 s,
      // or 599 s when the second turned between issuing and answering.
      assert.ok(info.expiresAt >= sentAfter + 599_000 && info.expiresAt <= receivedBy + 600_000,
        `expiresAt ${info.expiresAt - sentAfter} ms after the call (JWT exp is ${exp - sentAfter} ms after it)`);
      assert.ok(Math.abs(exp - info.expiresAt) > 3_000_000, 'the JWT exp as it is would be an hour off');
    });
  }

  test('within 5 s the JWT exp is used as it is; expires_in always wins over exp', async () => {
    const near = await skewed(2);
    assert.equal(near.info.expiresAt, near.exp);
    const withIn = await skewed(3600, 120);
    assert.ok(withIn.info.expiresAt >= withIn.sentAfter + 120_000 && withIn.info.expiresAt <= withIn.receivedBy + 120_000);
  });
});

describe('per-call cancellation', { timeout: 30_000 }, () => {
  test('an aborted caller rejects with "aborted"; the others get the token of the same single request', async () => {
    const id = 'abort';
    const c = client(id);
    auth0.script({ delayMs: 600 });
    const controller = new AbortController();
    const order = [];
    const track = (name, p) => p.then((v) => { order.push(name); return v; }, (e) => { order.push(name); throw e; });
    const calls = [
      track('plain', c.getToken()),
      track('info', c.getTokenInfo({ signal: new AbortController().signal })),
      track('header', c.authorizationHeader()),
    ];
    const aborted = track('aborted', c.getToken({ signal: controller.signal }));
    const abortedInfo = track('abortedInfo', c.getTokenInfo({ signal: controller.signal }));
    await sleep(50);
    controller.abort();
    const err = await rejectsOAuth(OAuthError, aborted, { code: 'aborted' });
    assert.equal(err.status, undefined);
    await rejectsOAuth(OAuthError, abortedInfo, { code: 'aborted' });
    const [token, info, header] = await Promise.all(calls);
    assert.deepEqual(order.slice(0, 2).sort(), ['aborted', 'abortedInfo'], `the aborted callers stopped waiting first: ${order}`);
    assert.equal(info.accessToken, token);
    assert.equal(header, `Bearer ${token}`);
    assert.equal(requestsOf(id), 1, 'one request for everyone');
  });

  test('an already aborted signal rejects without a request; a flight whose only caller aborted still fills the cache', async () => {
    const c = client('abort');
    c.clear();
    const before = requestsOf('abort');
    await rejectsOAuth(OAuthError, c.getToken({ signal: AbortSignal.abort() }), { code: 'aborted' });
    assert.equal(requestsOf('abort'), before, 'nothing was sent');
    auth0.script({ delayMs: 300 });
    const controller = new AbortController();
    const lone = c.getToken({ signal: controller.signal });
    controller.abort();
    await rejectsOAuth(OAuthError, lone, { code: 'aborted' });
    while (requestsOf('abort') === before) await sleep(10);
    await sleep(400);
    assert.match(await c.getToken(), /^eyJ/);
    assert.equal(requestsOf('abort'), before + 1, 'the aborted caller\'s flight went on and its token was cached');
  });
});

describe('events', { timeout: 30_000 }, () => {
  const FIELDS = {
    token: ['durationMs', 'source', 'type'],
    retry: ['attempt', 'delayMs', 'reason', 'type'],
    stale_served: ['expiresAt', 'reason', 'type'],
    store_error: ['operation', 'type'],
    lease: ['state', 'type'],
    quota: ['quota', 'type'],
    negative_cache: ['code', 'type'],
  };

  test('two clients on one store: token (endpoint, store), lease (taken, waited, released), quota, retry', async () => {
    const store = memoryStore();
    const a = client('ev', { store, maxRetries: 1 });
    const b = client('ev', { store, maxRetries: 1 });
    auth0.script({ status: 503 }, { delayMs: 300 });
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
    assert.equal(ta, tb);
    assert.equal(requestsOf('ev'), 2, 'one 503, one retry; the other client waited on the lease');
    const got = eventsOf('ev');
    const has = (e) => got.some((g) => JSON.stringify(g) === JSON.stringify(e));
    for (const state of ['taken', 'waited', 'released']) assert.ok(has({ type: 'lease', state }), `lease ${state}: ${JSON.stringify(got)}`);
    const tokens = got.filter((e) => e.type === 'token');
    assert.deepEqual(tokens.map((e) => e.source).sort(), ['endpoint', 'store']);
    assert.ok(tokens.every((e) => Number.isFinite(e.durationMs) && e.durationMs >= 0));
    const [retry] = got.filter((e) => e.type === 'retry');
    assert.equal(retry.attempt, 1);
    assert.equal(retry.reason, 'temporarily_unavailable');
    assert.ok(retry.delayMs >= 0 && retry.delayMs <= 8000, `delayMs ${retry.delayMs}`);
    assert.equal(got.filter((e) => e.type === 'quota').length, 2, 'a quota event per answer');
    // A cached call emits nothing.
    const count = got.length;
    await a.getToken();
    assert.equal(eventsOf('ev').length, count);
  });

  test('stale_served and store_error (get, put) carry their fields', async () => {
    const c = client('ev-stale');
    auth0.script({ expiresIn: 2 });
    const first = await c.getTokenInfo();
    await sleep(1100);
    auth0.script({ status: 500 });
    assert.equal(await c.getToken(), first.accessToken);
    assert.deepEqual(eventsOf('ev-stale', 'stale_served'), [{ type: 'stale_served', reason: 'temporarily_unavailable', expiresAt: first.expiresAt }]);
    const failing = {
      get: async () => { throw new Error('store down'); },
      put: () => Promise.reject(new Error('store down')),
    };
    const s = client('ev-store', { store: failing });
    assert.match(await s.getToken(), /^eyJ/);
    assert.deepEqual(eventsOf('ev-store', 'store_error').map((e) => e.operation).sort(), ['get', 'put']);
  });

  test('a throwing and a rejecting onEvent listener are ignored', async () => {
    const unhandled = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let calls = 0;
      const throwing = client('ev-listeners', { onEvent: () => { calls += 1; throw new Error('listener threw'); } });
      const rejecting = client('ev-listeners', { onEvent: async () => { calls += 1; throw new Error('listener rejected'); }, scope: 'x' });
      assert.match(await throwing.getToken(), /^eyJ/);
      assert.match(await rejecting.getToken(), /^eyJ/);
      assert.ok(calls >= 4, `the listeners were called (${calls})`);
      await sleep(50);
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('every event of this file has the documented fields and holds neither the secret nor a token', () => {
    const types = new Set(events.map(([, e]) => e.type));
    assert.deepEqual([...types].sort(), Object.keys(FIELDS).sort(), 'every type was observed');
    const tokens = auth0.tokens.map((t) => t.accessToken);
    assert.ok(tokens.length >= 10);
    for (const [id, e] of events) {
      assert.deepEqual(Object.keys(e).sort(), FIELDS[e.type], `${id}: ${JSON.stringify(e)}`);
      const json = JSON.stringify(e);
      assert.ok(!json.includes(SECRET) && !json.includes('not-the-secret'), `${id}: an event holds the secret`);
      for (const t of tokens) {
        assert.ok(!json.includes(t) && !json.includes(t.split('.')[2]), `${id}: an event holds a token`);
      }
    }
  });
});

// README.md's OpenTelemetry block, as written, with a stand-in for @opentelemetry/api
// (the package does not depend on OpenTelemetry, nor do its tests): the stand-in
// implements the calls the block makes (metrics.getMeter, meter.createCounter,
// meter.createHistogram, counter.add, histogram.record) and checks their arguments as
// the OpenTelemetry metrics API specifies them.
test('README.md: the OpenTelemetry example counts tokens by source and records durationMs', { timeout: 30_000 }, async () => {
  const readme = readFileSync(new URL('README.md', `file://${ROOT}/`), 'utf8');
  const section = readme.slice(readme.indexOf('## Auth0 quotas, negative cache and events'));
  const block = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('"@opentelemetry/api"'));
  assert.ok(block?.includes('from "@opentelemetry/api"'), 'the section has the OpenTelemetry block');
  const dir = new URL('tests/artifacts/otel/', `file://${ROOT}/`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('otel-api.mjs', dir), `
    const NAME = /^[A-Za-z][A-Za-z0-9_.\\/-]{0,254}$/;
    const recorded = [];
    const checkOptions = (o) => {
      if (o === undefined) return;
      if (typeof o !== "object") throw new TypeError("options must be an object");
      for (const k of Object.keys(o)) if (!["description", "unit", "valueType", "advice"].includes(k)) throw new TypeError("unknown option " + k);
      if (o.unit !== undefined && !/^[\\x20-\\x7e]{0,63}$/.test(o.unit)) throw new TypeError("bad unit");
    };
    const checkAttributes = (a) => {
      if (a === undefined) return;
      for (const v of Object.values(a)) if (!["string", "number", "boolean"].includes(typeof v)) throw new TypeError("bad attribute value");
    };
    const instrument = (kind, name, options) => {
      if (!NAME.test(name)) throw new TypeError("bad instrument name " + name);
      checkOptions(options);
      const record = (value, attributes) => {
        if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new TypeError(kind + " value must be a finite number >= 0");
        checkAttributes(attributes);
        recorded.push({ kind, name, unit: options?.unit, value, attributes });
      };
      return kind === "counter" ? { add: record } : { record };
    };
    export const metrics = {
      getMeter(name) {
        if (typeof name !== "string" || !name) throw new TypeError("meter name");
        return {
          createCounter: (n, o) => instrument("counter", n, o),
          createHistogram: (n, o) => instrument("histogram", n, o),
        };
      },
    };
    process.on("beforeExit", () => { console.log(JSON.stringify(recorded)); recorded.length = 0; });
  `);
  const code = block.replace('from "@opentelemetry/api"', `from ${JSON.stringify(new URL('otel-api.mjs', dir).href)}`);
  writeFileSync(new URL('example.mjs', dir), code);
  const before = requestsOf('otel');
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [new URL('example.mjs', dir).pathname], {
    cwd: dir.pathname,
    env: { ...process.env, DATACOSMOS_CLIENT_ID: 'otel', DATACOSMOS_CLIENT_SECRET: SECRET, DATACOSMOS_TOKEN_URL: auth0.tokenUrl },
    timeout: 20_000,
  });
  assert.equal(stderr, '');
  const recorded = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.equal(requestsOf('otel') - before, 1, 'the example fetched one token');
  const counter = recorded.filter((r) => r.kind === 'counter');
  const histogram = recorded.filter((r) => r.kind === 'histogram');
  assert.deepEqual(counter.map((r) => [r.value, r.attributes]), [[1, { source: 'endpoint' }]], 'one token request, by source');
  assert.equal(histogram.length, 1);
  assert.equal(histogram[0].unit, 'ms');
  assert.ok(histogram[0].value >= 0 && histogram[0].value < 20_000);
  assert.deepEqual(histogram[0].attributes, { source: 'endpoint' });
});
