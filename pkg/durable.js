// The Durable Object store (Cloudflare Workers only: it imports `cloudflare:workers`,
// so only the workerd entry may import this file). One `TokenLease` object per store
// name holds the sealed entries and the refresh lease; every isolate of the fleet
// reaches that one object, whose set-if-absent is a real lock.
//
// Why `add` is atomic: a Durable Object runs one request's code at a time, and this
// class keeps its entries in memory (loaded once, under blockConcurrencyWhile, before
// any call is delivered), so `add` checks and sets without an `await` in between: no
// other call can run between the check and the set. The storage write that follows
// is held by the object's output gate: no caller hears `true` before the lease is
// durable. Expiry is checked on every read (a dead holder's lease lapses at its
// `ttlMs`, to the millisecond) and an alarm deletes what has expired.

import { DurableObject } from "cloudflare:workers";

// `expirationTtl` is in seconds (the KV convention of TokenStore.put).
const entryTtlMs = (options) => Math.max(1, Math.ceil(Number(options?.expirationTtl) || 60)) * 1000;

/**
 * The Durable Object behind `durableObjectStore`. Export it from the Worker's main
 * module (`export { TokenLease } from "datacosmos-auth"`) and bind it in wrangler.toml.
 * Its methods are called over Durable Object RPC by the adapter; values are opaque
 * (sealed by the client) and are only kept until they expire.
 */
export class TokenLease extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    /** key -> { value, expiresAt } (ms since the epoch), mirrored in storage. */
    this.entries = new Map();
    this.alarmAt = null;
    ctx.blockConcurrencyWhile(async () => {
      for (const [key, entry] of await ctx.storage.list()) this.entries.set(key, entry);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** The live entry under `key`; an expired one is deleted. */
  live(key) {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      this.ctx.storage.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key, value, ttlMs) {
    const entry = { value: String(value), expiresAt: Date.now() + Math.max(1, Math.ceil(Number(ttlMs) || 0)) };
    this.entries.set(key, entry);
    this.ctx.storage.put(key, entry);
    if (this.alarmAt === null || entry.expiresAt < this.alarmAt) {
      this.alarmAt = entry.expiresAt;
      this.ctx.storage.setAlarm(entry.expiresAt);
    }
  }

  /** The value under `key`, or null. */
  read(key) {
    return this.live(key)?.value ?? null;
  }

  /** Sets `key` for `ttlMs`. */
  write(key, value, ttlMs) {
    this.set(key, value, ttlMs);
  }

  /** Deletes `key`. */
  remove(key) {
    this.entries.delete(key);
    this.ctx.storage.delete(key);
  }

  /** Sets `key` for `ttlMs` if no live entry holds it; returns whether it did. */
  take(key, value, ttlMs) {
    if (this.live(key)) return false;
    this.set(key, value, ttlMs);
    return true;
  }

  /** Deletes what has expired; wakes again at the next expiry. */
  async alarm() {
    const now = Date.now();
    let next = null;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.remove(key);
      else if (next === null || entry.expiresAt < next) next = entry.expiresAt;
    }
    this.alarmAt = next;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }
}

/**
 * A `TokenStore` in the Durable Object `namespace` (a binding of `TokenLease`): all
 * clients of the fleet share the object named `name`, whose `add` is an atomic
 * set-if-absent (the refresh lease). Stubs are made per call: a Worker's stub belongs
 * to the request that made it, and the client outlives requests.
 */
export function durableObjectStore(namespace, { name = "datacosmos-auth" } = {}) {
  if (!namespace || typeof namespace.idFromName !== "function" || typeof namespace.get !== "function") {
    throw new TypeError("durableObjectStore: expected a Durable Object namespace binding (of TokenLease)");
  }
  if (typeof name !== "string" || name === "") throw new TypeError("durableObjectStore: name must be a non-empty string");
  const id = namespace.idFromName(name);
  const stub = () => namespace.get(id);
  return {
    get: async (key) => (await stub().read(key)) ?? null,
    put: async (key, value, options) => { await stub().write(key, value, entryTtlMs(options)); },
    delete: async (key) => { await stub().remove(key); },
    add: async (key, value, { ttlMs }) => (await stub().take(key, value, ttlMs)) === true,
  };
}
