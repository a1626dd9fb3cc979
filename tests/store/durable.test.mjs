// The Durable Object store in workerd (miniflare): `TokenLease` and
// `durableObjectStore` from the package's workerd entry, many workers (each its own
// isolate) bound to one Durable Object namespace, against the demo token endpoint
// (RS256 JWTs with `exp`) behind a fault proxy that counts every token request.
//
// Figures are printed (`durable: ...`); the asserts are counts, and waits bounded in
// lease times. The README's Durable Object quick start runs here too, as written.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startDemo } from "../servers/demo.mjs";
import { startFaultProxy } from "../servers/faulty.mjs";

const pkg = fileURLToPath(new URL("../../pkg/", import.meta.url));

const CLIENT = { clientId: "fleet-client", clientSecret: "fleet-secret-4d1a9c" };
// maxRetries 0 and timeoutMs 3000: the lease is one exchange plus a second (cache.rs
// lease_ms), 4000 ms.
const TIMEOUT_MS = 3000;
const LEASE_MS = 4000;

// `?fresh`: a new client for this request (cold, as in a new isolate); otherwise one
// client per isolate. `Probe` adds a look at the object's storage for the tests.
const WORKER = `
import { TokenClient, TokenLease, durableObjectStore } from "./workerd.js";
export { TokenLease };
export class Probe extends TokenLease {
  stored() { return this.ctx.storage.list().then((m) => m.size); }
}
let client;
const make = (env) => new TokenClient({
  ...JSON.parse(env.CLIENT), tokenUrl: env.TOKEN_URL, timeoutMs: Number(env.TIMEOUT_MS), maxRetries: 0,
  refreshLeewaySeconds: Number(env.LEEWAY_S), store: durableObjectStore(env.LEASE),
});
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/store") {
      // The adapter itself: op, key, value, ttl from the query.
      const q = Object.fromEntries(url.searchParams);
      const store = durableObjectStore(env.LEASE, { name: q.name });
      const result = q.op === "get" ? await store.get(q.key)
        : q.op === "put" ? await store.put(q.key, q.value, { expirationTtl: Number(q.ttl) })
        : q.op === "delete" ? await store.delete(q.key)
        : q.op === "add" ? await store.add(q.key, q.value, { ttlMs: Number(q.ttl) })
        : await env.LEASE.get(env.LEASE.idFromName(q.name)).stored();
      return Response.json({ result: result ?? null });
    }
    const c = url.searchParams.has("fresh") ? make(env) : (client ??= make(env));
    const started = Date.now();
    try {
      const info = await c.getTokenInfo();
      return Response.json({ token: info.accessToken, expiresAt: info.expiresAt, started, served: Date.now() });
    } catch (e) {
      return Response.json({ error: String(e && e.code || e), started, served: Date.now() }, { status: 500 });
    }
  },
};`;

const MODULES = [
  { type: "ESModule", path: join(pkg, "__durable_test_worker.js"), contents: WORKER },
  ...["workerd.js", "durable.js", "datacosmos_auth.js", "stores.js", "core.js"].map((f) => ({ type: "ESModule", path: join(pkg, f) })),
  { type: "CompiledWasm", path: join(pkg, "datacosmos_auth_bg.wasm") },
];

/**
 * Workers `names` in one workerd process, the first hosting the Durable Object class
 * (`className`, SQLite-backed or not), the others bound to it by scriptName.
 */
function fleet(names, { tokenUrl, leewaySeconds = 60, className = "TokenLease", sqlite = true, host = names[0], registry }) {
  const mf = new Miniflare({
    unsafeDevRegistryPath: registry,
    workers: names.map((name) => ({
      name,
      modulesRoot: pkg,
      modules: MODULES,
      compatibilityDate: "2025-01-01",
      bindings: { CLIENT: JSON.stringify(CLIENT), TOKEN_URL: tokenUrl, TIMEOUT_MS: String(TIMEOUT_MS), LEEWAY_S: String(leewaySeconds) },
      durableObjects: { LEASE: name === host ? { className, useSQLite: sqlite } : { className, scriptName: host } },
    })),
  });
  const workers = mf.ready.then(() => Promise.all(names.map((n) => mf.getWorker(n))));
  const call = async (i, path) => {
    const res = await (await workers)[i].fetch(`http://worker${path}`);
    return res.json();
  };
  return { mf, call, ready: workers, dispose: () => mf.dispose() };
}

const jwtExpMs = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url")).exp * 1000;
const range = (n) => Array.from({ length: n }, (_, i) => i);
const names = (prefix, n) => range(n).map((i) => `${prefix}${i}`);

let demo;
let proxy;
let registry;
before(async () => {
  demo = await startDemo({ clients: [CLIENT] });
  proxy = await startFaultProxy({ target: demo.tokenUrl });
  registry = mkdtempSync(join(tmpdir(), "datacosmos-do-"));
});
after(async () => {
  await proxy?.close();
  await demo?.close();
  rmSync(registry, { recursive: true, force: true });
});

test("the adapter keeps the TokenStore contract: add is set-if-absent, entries and leases expire, the alarm sweeps", { timeout: 60_000 }, async () => {
  const w = fleet(names("c", 4), { tokenUrl: proxy.tokenUrl, className: "Probe" });
  try {
    await w.ready;
    const q = (i, params) => w.call(i, `/store?${new URLSearchParams({ name: "contract", ...params })}`).then((r) => r.result);
    assert.equal(await q(0, { op: "get", key: "k" }), null);
    await q(1, { op: "put", key: "k", value: "v1.sealed", ttl: "60" });
    assert.equal(await q(2, { op: "get", key: "k" }), "v1.sealed", "another isolate reads the entry");
    await q(3, { op: "delete", key: "k" });
    assert.equal(await q(0, { op: "get", key: "k" }), null);
    // 40 adds at once from 4 isolates: exactly one takes the lease.
    const adds = await Promise.all(range(40).map((i) => q(i % 4, { op: "add", key: "k:lease", value: `id${i}.0`, ttl: "300" })));
    assert.equal(adds.filter((x) => x === true).length, 1, `one add wins: ${adds}`);
    assert.equal(adds.filter((x) => x === false).length, 39);
    // A lease nobody gives back lapses at its ttl; then it can be taken again.
    while ((await q(1, { op: "get", key: "k:lease" })) !== null) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await q(2, { op: "add", key: "k:lease", value: "again.0", ttl: "200" }), true);
    // Nothing is read any more; the alarm deletes the expired lease from storage.
    let stored;
    for (let i = 0; i < 100 && (stored = await q(0, { op: "stored" })) !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(stored, 0, "the alarm emptied the object's storage");
    // Separate names are separate objects.
    assert.equal(await q(0, { op: "add", key: "x", value: "a", ttl: "60000" }), true);
    assert.equal(await w.call(0, `/store?${new URLSearchParams({ op: "add", name: "other", key: "x", value: "b", ttl: "60000" })}`).then((r) => r.result), true);
  } finally {
    await w.dispose();
  }
});

test("48 cold clients in 24 isolates at once: exactly 1 token request", { timeout: 90_000 }, async () => {
  const isolates = 24;
  const w = fleet(names("cold", isolates), { tokenUrl: proxy.tokenUrl });
  try {
    await w.ready;
    const before = proxy.requests.length;
    const t0 = Date.now();
    const results = await Promise.all(range(isolates * 2).map((i) => w.call(i % isolates, "/?fresh")));
    const requests = proxy.requests.length - before;
    const maxWait = Math.max(...results.map((r) => r.served - r.started));
    console.log(`durable: cold start, ${results.length} clients in ${isolates} isolates -> ${requests} token request(s); slowest client ${maxWait} ms (all done ${Date.now() - t0} ms)`);
    assert.deepEqual(results.filter((r) => r.error), [], "every client got a token");
    assert.equal(new Set(results.map((r) => r.token)).size, 1, "every client got the same token");
    assert.equal(requests, 1);
  } finally {
    await w.dispose();
  }
});

test("a holder that dies mid-exchange delays the others by at most the lease time, then exactly 1 new token request", { timeout: 120_000 }, async () => {
  const waiters = 20;
  // The Durable Object and the waiters in one workerd; the holder in another (found
  // through the dev registry), so it can be killed alone.
  const a = fleet(names("wait", waiters), { tokenUrl: proxy.tokenUrl, registry });
  await a.ready;
  const b = fleet(["holder"], { tokenUrl: proxy.tokenUrl, registry, host: "wait0" });
  try {
    await b.ready;
    const before = proxy.requests.length;
    proxy.queue({ stall: true });
    // The holder takes the lease, sends its token request, and the server stalls it.
    const holder = b.call(0, "/?fresh").catch((e) => e);
    while (proxy.requests.length === before) await new Promise((r) => setTimeout(r, 5));
    const stalledAt = Date.now();
    await b.dispose(); // the holder's workerd dies mid-exchange: no token, lease not given back
    assert.ok((await holder) instanceof Error, "the holder died without an answer");
    const results = await Promise.all(range(waiters).map((i) => a.call(i, "/?fresh")));
    const second = proxy.requests.length - before - 1;
    const waits = results.map((r) => r.served - r.started);
    const afterDeath = Math.max(...results.map((r) => r.served)) - stalledAt;
    console.log(`durable: dead holder, lease ${LEASE_MS} ms: ${waiters} waiters -> ${second} new token request(s); longest wait ${Math.max(...waits)} ms, all served ${afterDeath} ms after the holder's request`);
    assert.deepEqual(results.filter((r) => r.error), [], "every waiter got a token");
    assert.equal(new Set(results.map((r) => r.token)).size, 1, "every waiter got the same token");
    assert.equal(second, 1, "exactly one waiter took the lapsed lease and asked for a token");
    // The lease held: nobody was served before it lapsed, and all were by about then.
    assert.ok(Math.min(...results.map((r) => r.served)) - stalledAt >= LEASE_MS / 2, "the waiters waited for the lease");
    assert.ok(afterDeath <= LEASE_MS * 1.5, `served within the lease time (+50%): ${afterDeath} ms`);
  } finally {
    await b.dispose().catch(() => {});
    await a.dispose();
  }
});

test("short tokens, several renewal periods: no expired token served, one request per period (KV-backed object)", { timeout: 120_000 }, async () => {
  // 12 s tokens renewed 6 s before expiry: a renewal every 6 s; 20 s of calls.
  const lifetime = 12;
  const leeway = 6;
  const short = await startDemo({ clients: [CLIENT], lifetimeSeconds: lifetime });
  const isolates = 6;
  const w = fleet(names("short", isolates), { tokenUrl: short.tokenUrl, leewaySeconds: leeway, sqlite: false });
  try {
    await w.ready;
    const start = Date.now();
    const until = start + 20_000;
    const served = [];
    await Promise.all(range(isolates).map(async (i) => {
      for (let n = 0; Date.now() < until; n++) {
        served.push(await w.call(i, n % 4 === 3 ? "/?fresh" : "/"));
        await new Promise((r) => setTimeout(r, 150));
      }
    }));
    const duration = Date.now() - start;
    const requests = short.tokenRequests();
    const expired = served.filter((r) => !r.error && (r.served >= jwtExpMs(r.token) || r.served >= r.expiresAt)).length;
    const periods = Math.ceil(duration / ((lifetime - leeway) * 1000));
    console.log(`durable: ${served.length} calls over ${duration} ms in ${isolates} isolates, ${lifetime} s tokens renewed ${leeway} s early -> ${requests} token requests (${new Set(served.map((r) => r.token)).size} tokens served), ${expired} expired served`);
    assert.deepEqual(served.filter((r) => r.error), [], "no call failed");
    assert.equal(expired, 0, "no expired token served");
    assert.ok(requests >= 3, "the loop spanned several renewals");
    assert.ok(requests <= periods + 1, `at most one token request per renewal period (${requests} in ${periods} periods)`);
  } finally {
    await w.dispose();
    await short.close();
  }
});

test("README: the Durable Object quick start (wrangler.toml binding, the worker as written) runs in workerd", { timeout: 60_000 }, async () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("### Workers with a Durable Object lease"));
  const toml = /```toml\n([\s\S]*?)```/.exec(section)[1];
  const js = /```js\n([\s\S]*?)```/.exec(section)[1];
  const binding = /\[\[durable_objects\.bindings\]\]\nname = "(\w+)"\nclass_name = "(\w+)"/.exec(toml);
  assert.ok(binding && /new_sqlite_classes = \["TokenLease"\]/.test(toml), "the wrangler.toml binds and migrates TokenLease");
  const [, name, className] = binding;
  assert.ok(js.includes(`env.${name}`), "the worker uses the binding the toml declares");
  const code = js.replaceAll('"datacosmos-auth"', '"./workerd.js"')
    .replace("https://app.open-cosmos.com/api/data/v0/stac/collections", demo.resourceUrl);
  const workers = names("readme", 4);
  const mf = new Miniflare({
    workers: workers.map((worker, i) => ({
      name: worker,
      modulesRoot: pkg,
      modules: [{ ...MODULES[0], contents: code }, ...MODULES.slice(1)],
      compatibilityDate: "2025-01-01",
      bindings: { DATACOSMOS_CLIENT_ID: CLIENT.clientId, DATACOSMOS_CLIENT_SECRET: CLIENT.clientSecret, DATACOSMOS_TOKEN_URL: proxy.tokenUrl },
      durableObjects: { [name]: i === 0 ? { className, useSQLite: true } : { className, scriptName: workers[0] } },
    })),
  });
  try {
    const before = proxy.requests.length;
    const responses = await Promise.all(range(8).map(async (i) => {
      const res = await (await mf.getWorker(workers[i % 4])).fetch("http://worker/");
      return [res.status, (await res.json()).collections?.length > 0];
    }));
    assert.deepEqual(responses, range(8).map(() => [200, true]), "every request reached the resource with a valid token");
    assert.equal(proxy.requests.length - before, 1, "one token request for 4 isolates");
  } finally {
    await mf.dispose();
  }
});
