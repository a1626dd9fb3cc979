// Regression tests for a workerd bug this suite found (fixed: the workerd entry hands
// every new token flight to `waitUntil` from `cloudflare:workers`, so it outlives the
// request that started it, and a flight older than every bound is replaced).
//
// What happened before the fix:
// The single flight (TokenClient.info_promise) keeps ONE shared promise per client.
// Its exchange -- the fetch() and the timeout timer in io.js send() -- runs in the
// I/O context of the request that happened to call getToken() first. workerd binds
// I/O and timers to the request that created them and cancels them when that
// request's handler has returned. So when the first caller's request ends before its
// exchange has settled (client disconnect, a handler that answers early: its own
// deadline, a failing sibling in Promise.all), the fetch is cancelled (the token
// server sees the connection closed), the timer never fires, and the shared promise
// never settles: `inflight` stays set, and EVERY later getToken() of that client in
// that isolate waits forever -- far past (maxRetries + 1) * timeoutMs -- until someone
// calls clear() or the isolate is evicted. A new TokenClient in the same isolate works
// (the wasm-bindgen executor is fine): it is the stored in-flight promise.
//
// API.md: "Single flight holds for all callers in one isolate, also callers in
// different incoming requests of one Worker isolate: no waiter depends on the first
// caller's request context" and "Total time is bounded by (maxRetries + 1) * timeoutMs
// plus the backoff". Both are broken here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGate, startStats } from './lib/harness.mjs';
import { bundleWorker, startWorkers } from './lib/workerd.mjs';

const TIMEOUT_MS = 1000; // the worker's client: timeoutMs 1000, maxRetries 0
const PATIENCE_MS = 5 * TIMEOUT_MS; // five times the documented bound

let oidc;
let gate;
let stats;
let bundle;
let bindings;

before(async () => {
  const { startOidc } = await import('../servers/oidc.mjs');
  oidc = await startOidc();
  gate = await startGate(oidc.tokenUrl);
  stats = await startStats({});
  bundle = await bundleWorker({ name: 'abandoned', platform: 'browser', conditions: ['workerd', 'worker'], entry: 'worker-abandoned.js' });
  bindings = {
    TOKEN_URL: gate.tokenUrl, CLIENT_ID: oidc.clients.post.clientId, CLIENT_SECRET: oidc.clients.post.clientSecret, MARK_URL: stats.markUrl,
  };
});
after(async () => {
  await Promise.all([gate?.close(), stats?.close(), oidc?.close()]);
});

/** The worker's answer to `path`, or a note that it had none after `ms`. */
async function answerWithin(w, path, ms) {
  const started = Date.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    const r = await w.mf.dispatchFetch(`http://worker${path}`, { signal: ac.signal });
    return { status: r.status, body: await r.json(), ms: Date.now() - started };
  } catch (e) {
    if (ac.signal.aborted) return { status: null, body: `no answer after ${ms} ms`, ms };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

describe('workerd: an exchange whose starting request has ended', { timeout: 60_000 }, () => {
  test('a later request still gets a token after the request that started the exchange answered early', async (t) => {
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const before = gate.requests();
    const closed = gate.abandoned();
    // A: getToken() and a sibling that fails at once; A answers 502 while its exchange
    // is still in flight (even against this fast local token server).
    const a = await answerWithin(w, '/sibling-fails?ms=0', PATIENCE_MS);
    assert.equal(a.status, 502, JSON.stringify(a));
    await new Promise((r) => setTimeout(r, 300));
    // B: a new request, well after A's exchange would have settled.
    const b = await answerWithin(w, '/token', PATIENCE_MS);
    assert.equal(b.status, 200,
      `request B got ${JSON.stringify(b.body)} (status ${b.status}); token requests: ${gate.requests() - before}, ` +
      `closed by workerd before the answer: ${gate.abandoned() - closed}. The client's in-flight promise, started in ` +
      'request A, never settles once A has answered: every later getToken() of this client hangs.');
    assert.ok(b.ms < 3 * TIMEOUT_MS, `B took ${b.ms} ms`);
  });

  test('a request already waiting on that exchange gets a token (or an OAuthError) within the documented bound', async (t) => {
    const w = await startWorkers(bundle, bindings);
    t.after(() => w.dispose());
    const before = gate.requests();
    const closed = gate.abandoned();
    gate.hold();
    try {
      // A starts the exchange (held at the gate), then gives up after 300 ms.
      const a = answerWithin(w, '/sibling-fails?ms=300&mark=A', PATIENCE_MS);
      await stats.waitForMark('A');
      await gate.waitForPending(1);
      // B joins A's exchange while it is in flight.
      const b = answerWithin(w, '/token?mark=B', PATIENCE_MS + TIMEOUT_MS);
      await stats.waitForMark('B');
      const ra = await a;
      assert.equal(ra.status, 502, JSON.stringify(ra));
      gate.release(); // the token server answers after A has ended
      const rb = await b;
      assert.ok(rb.status !== null,
        `request B had no answer after ${rb.ms} ms (timeoutMs ${TIMEOUT_MS}, maxRetries 0); token requests: ` +
        `${gate.requests() - before}, closed by workerd before the answer: ${gate.abandoned() - closed}. B waits on a promise ` +
        'whose fetch and timer belonged to request A, which workerd cancelled when A answered.');
      assert.equal(rb.status, 200, JSON.stringify(rb));
    } finally {
      gate.release();
    }
  });

  test('without waitUntil (the generic worker entry), a stuck flight is replaced once past every bound', async (t) => {
    // worker.js has no cloudflare:workers keep-alive, so A's abandoned exchange is
    // cancelled by workerd and its promise never settles. The client must not wait for
    // it forever: past retry::flight_limit_ms (timeoutMs 1000, maxRetries 0, no store:
    // 1000 + lease 2000 + 5000 = 8 s) a new request starts a new exchange.
    const plain = await bundleWorker({ name: 'abandoned-plain', platform: 'browser', conditions: ['worker'], entry: 'worker-abandoned.js' });
    assert.ok(plain.inputs.includes('worker.js') && !plain.inputs.includes('workerd.js'), `inputs: ${plain.inputs}`);
    const w = await startWorkers(plain, bindings);
    t.after(() => w.dispose());
    const a = await answerWithin(w, '/sibling-fails?ms=0', PATIENCE_MS);
    assert.equal(a.status, 502, JSON.stringify(a));
    await new Promise((r) => setTimeout(r, 8_500));
    const c = await answerWithin(w, '/token', PATIENCE_MS);
    assert.equal(c.status, 200, `after the flight limit: ${JSON.stringify(c)}`);
  });
});
