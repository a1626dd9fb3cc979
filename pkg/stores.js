// Adapters from the stores users already run to the package's `TokenStore`:
// get(key), put(key, value, {expirationTtl}), delete(key), and, where the store can do
// it atomically, add(key, value, {ttlMs}) -> boolean (set if absent) for the refresh
// lease. Values are already sealed by the client (AES-GCM); these only move strings.

const seconds = (options) => Math.max(60, Math.ceil(Number(options?.expirationTtl) || 60));
const leaseExpiry = (value) => Number(String(value).split(".").pop()) || 0;

/** A store in this process's memory (tests, or one long-lived Node process). */
export function memoryStore() {
  const map = new Map();
  const live = (key) => {
    const e = map.get(key);
    if (e && e.expires <= Date.now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  return {
    async get(key) { return live(key)?.value ?? null; },
    async put(key, value, options) { map.set(key, { value, expires: Date.now() + seconds(options) * 1000 }); },
    async delete(key) { map.delete(key); },
    async add(key, value, { ttlMs }) {
      if (live(key)) return false;
      map.set(key, { value, expires: Date.now() + ttlMs });
      return true;
    },
  };
}

/**
 * Cloudflare Workers KV: a namespace binding already fits `TokenStore`; this checks it
 * and keeps `this` bound. KV has no atomic set-if-absent: the lease is best effort.
 */
export function kvStore(namespace) {
  if (!namespace || typeof namespace.get !== "function" || typeof namespace.put !== "function") {
    throw new TypeError("kvStore: expected a KV namespace binding");
  }
  return {
    get: (key) => namespace.get(key),
    put: (key, value, options) => namespace.put(key, value, { expirationTtl: seconds(options) }),
    delete: (key) => namespace.delete(key),
  };
}

/**
 * The Workers / Web Cache API (`caches.default` in Workers, `await caches.open(name)`
 * elsewhere): entries are responses under a synthetic URL, with Cache-Control max-age.
 */
export function cacheStore(cache, { origin = "https://datacosmos-auth.invalid" } = {}) {
  if (!cache || typeof cache.match !== "function" || typeof cache.put !== "function") {
    throw new TypeError("cacheStore: expected a Cache (e.g. caches.default)");
  }
  const url = (key) => new Request(`${origin}/${encodeURIComponent(key)}`);
  return {
    async get(key) {
      const res = await cache.match(url(key));
      return res ? res.text() : null;
    },
    put: (key, value, options) => cache.put(url(key), new Response(value, {
      headers: { "content-type": "text/plain", "cache-control": `max-age=${seconds(options)}` },
    })),
    delete: (key) => cache.delete(url(key)).then(() => undefined),
  };
}

/**
 * Deno KV (`await Deno.openKv()`), with an atomic lease (versionstamp check). A local
 * KV file shared by several processes answers "database is locked" under contention:
 * such calls are tried again a few times.
 */
export function denoKvStore(kv, { prefix = ["datacosmos-auth"] } = {}) {
  if (!kv || typeof kv.get !== "function" || typeof kv.atomic !== "function") {
    throw new TypeError("denoKvStore: expected a Deno.Kv");
  }
  const k = (key) => [...prefix, key];
  const retry = async (op) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (attempt >= 8 || !/locked|busy/i.test(String(e && e.message))) throw e;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
      }
    }
  };
  return {
    get: (key) => retry(async () => (await kv.get(k(key))).value ?? null),
    put: (key, value, options) => retry(() => kv.set(k(key), value, { expireIn: seconds(options) * 1000 })).then(() => undefined),
    delete: (key) => retry(() => kv.delete(k(key))),
    add: (key, value, { ttlMs }) => retry(async () => {
      // Deno KV expires keys lazily: a lease past its own expiry counts as absent.
      const current = await kv.get(k(key));
      if (current.value !== null && leaseExpiry(current.value) > Date.now()) return false;
      const res = await kv.atomic().check({ key: k(key), versionstamp: current.versionstamp })
        .set(k(key), value, { expireIn: ttlMs }).commit();
      return res.ok === true;
    }),
  };
}

/**
 * Redis: node-redis (`createClient()`), ioredis, or Upstash's REST client; the lease is
 * an atomic `SET key value NX PX ms`.
 */
export function redisStore(client, { flavor } = {}) {
  if (!client || typeof client.get !== "function" || typeof client.set !== "function") {
    throw new TypeError("redisStore: expected a Redis client");
  }
  const kind = flavor
    ?? (typeof client.status === "string" && typeof client.setex === "function" ? "ioredis"
      : "isOpen" in client ? "node-redis" : "upstash");
  const set = {
    "node-redis": (key, value, ms, nx) => client.set(key, value, nx ? { PX: ms, NX: true } : { PX: ms }),
    ioredis: (key, value, ms, nx) => (nx ? client.set(key, value, "PX", ms, "NX") : client.set(key, value, "PX", ms)),
    upstash: (key, value, ms, nx) => client.set(key, value, nx ? { px: ms, nx: true } : { px: ms }),
  }[kind];
  if (!set) throw new TypeError(`redisStore: unknown flavor ${kind}`);
  return {
    async get(key) {
      const v = await client.get(key);
      return typeof v === "string" ? v : null;
    },
    async put(key, value, options) { await set(key, value, seconds(options) * 1000, false); },
    async delete(key) { await client.del(key); },
    async add(key, value, { ttlMs }) { return (await set(key, value, Math.max(1, Math.ceil(ttlMs)), true)) === "OK"; },
  };
}
