// Workers KV through workerd (miniflare): two workers with their own isolates share one
// persisted KV namespace; the second gets the token from KV, not from the endpoint.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startOidc } from "../servers/oidc.mjs";

const pkg = fileURLToPath(new URL("../../pkg/", import.meta.url));

// The package's own workerd entry and the files it imports, listed as modules.
const WORKER = `
import { TokenClient, kvStore } from "./workerd.js";
let client;
let ctxNow;
export default {
  async fetch(request, env, ctx) {
    ctxNow = ctx;
    client ??= new TokenClient({
      clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL, audience: null,
      store: kvStore(env.TOKENS), waitUntil: (p) => ctxNow.waitUntil(p),
    });
    const info = await client.getTokenInfo();
    return Response.json({ token: info.accessToken, expiresAt: info.expiresAt });
  },
};`;

// A new client per request, sharing tokens through the Cache API (caches.default).
const CACHE_WORKER = `
import { TokenClient, cacheStore } from "./workerd.js";
export default {
  async fetch(request, env) {
    const client = new TokenClient({
      clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL, audience: null,
      store: cacheStore(caches.default),
    });
    return Response.json({ token: await client.getToken() });
  },
};`;

function worker(oidc, persist, script = WORKER) {
  return new Miniflare({
    modulesRoot: pkg,
    modules: [
      { type: "ESModule", path: join(pkg, "__test_worker.js"), contents: script },
      { type: "ESModule", path: join(pkg, "workerd.js") },
      { type: "ESModule", path: join(pkg, "durable.js") },
      { type: "ESModule", path: join(pkg, "datacosmos_auth.js") },
      { type: "ESModule", path: join(pkg, "stores.js") },
      { type: "ESModule", path: join(pkg, "core.js") },
      { type: "CompiledWasm", path: join(pkg, "datacosmos_auth_bg.wasm") },
    ],
    compatibilityDate: "2025-01-01",
    bindings: { CLIENT_ID: oidc.clients.post.clientId, CLIENT_SECRET: oidc.clients.post.clientSecret, TOKEN_URL: oidc.tokenUrl },
    kvNamespaces: { TOKENS: "tokens" },
    kvPersist: persist,
  });
}

let oidc;
let dir;
before(async () => {
  oidc = await startOidc();
  dir = mkdtempSync(join(tmpdir(), "datacosmos-kv-"));
});
after(async () => {
  await oidc?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("two workers share one persisted KV namespace: one token request", { timeout: 60_000 }, async () => {
  // Started one after the other: two workerd processes creating the same fresh
  // SQLite-backed namespace at the same instant fail to open it.
  const a = worker(oidc, dir);
  let b;
  try {
    const before = oidc.tokenRequests();
    const first = await (await a.dispatchFetch("http://worker/")).json();
    assert.equal(oidc.tokenRequests() - before, 1);
    b = worker(oidc, dir);
    const second = await (await b.dispatchFetch("http://worker/")).json();
    assert.equal(second.token, first.token, "the second worker read the token from KV");
    assert.equal(oidc.tokenRequests() - before, 1);
    // What KV holds: an opaque key and a sealed value.
    const kv = await b.getKVNamespace("TOKENS");
    const { keys } = await kv.list();
    const entries = keys.map((k) => k.name).filter((k) => !k.endsWith(":lease"));
    assert.equal(entries.length, 1);
    const value = await kv.get(entries[0]);
    for (const s of [oidc.clients.post.clientSecret, oidc.clients.post.clientId, first.token]) {
      assert.ok(!entries[0].includes(s) && !value.includes(s), "KV holds the token sealed, under an opaque key");
    }
  } finally {
    await a.dispose();
    await b?.dispose();
  }
});

test("the Cache API store: a new client per request reads caches.default", { timeout: 60_000 }, async () => {
  const mf = worker(oidc, dir, CACHE_WORKER);
  try {
    const before = oidc.tokenRequests();
    const first = await (await mf.dispatchFetch("http://worker/")).json();
    const second = await (await mf.dispatchFetch("http://worker/")).json();
    assert.equal(second.token, first.token);
    assert.equal(oidc.tokenRequests() - before, 1);
  } finally {
    await mf.dispose();
  }
});
