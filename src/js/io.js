// The JavaScript half of the thin I/O layer (src/js/mod.rs is the Rust half).
// Only runtime primitives live here: the OAuthError class, one fetch attempt with a
// timeout and a capped body read, timers, the environment, and the sealed store
// (WebCrypto is a JS API). Every decision (what to send, how to read the answer,
// whether to retry, what to cache) is made in Rust.

/** The error every failure of datacosmos-auth rejects or throws with. */
export class OAuthError extends Error {
  constructor(code, message, status, description, uri) {
    super(message);
    this.code = code;
    if (status !== undefined) this.status = status;
    if (description !== undefined) this.description = description;
    if (uri !== undefined) this.uri = uri;
  }
  toJSON() {
    const { name, code, message, status, description, uri } = this;
    return { name, code, message, status, description, uri };
  }
}
Object.defineProperty(OAuthError.prototype, "name", {
  value: "OAuthError", writable: true, configurable: true,
});

export function errorClass() {
  return OAuthError;
}

const describe = (e) => {
  if (e instanceof Error) {
    const cause = e.cause && (e.cause.code || e.cause.message);
    return cause ? `${e.message} (${cause})` : e.message;
  }
  return typeof e === "string" ? e : "unknown error";
};

// Reads a body as text, giving up (null) past `cap` bytes.
async function readCapped(res, cap) {
  const declared = Number(res.headers?.get?.("content-length"));
  if (declared > cap) {
    res.body?.cancel?.().catch(() => {});
    return null;
  }
  const body = res.body;
  if (!body || typeof body.getReader !== "function") {
    const text = await res.text();
    return new TextEncoder().encode(text).length > cap ? null : text;
  }
  const reader = body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.byteLength; }
  return new TextDecoder().decode(all);
}

/**
 * One attempt: POST, then read the body (at most `cap` bytes), all within
 * `timeoutMs`. Resolves to `{status, retryAfter, body}` (body null when too large);
 * rejects with `{timeout: true}` or `{network: message}`.
 */
export function send(fetchFn, url, headers, body, timeoutMs, cap) {
  const controller = new AbortController();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      reject({ timeout: true });
      controller.abort();
    }, timeoutMs);
  });
  const attempt = (async () => {
    let res;
    try {
      res = await fetchFn(url, {
        method: "POST", headers, body, redirect: "manual", signal: controller.signal,
      });
    } catch (e) {
      throw { network: describe(e) };
    }
    if (!res || typeof res.status !== "number") throw { network: "fetch did not return a Response" };
    let text;
    try {
      text = await readCapped(res, cap);
    } catch (e) {
      throw { network: `reading the response failed: ${describe(e)}` };
    }
    return { status: res.status, retryAfter: res.headers?.get?.("retry-after") ?? undefined, body: text };
  })();
  return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The runtime's request-independent waitUntil (workerd: from `cloudflare:workers`),
// set by the workerd entry.
let runtimeWaitUntil = null;
export function setKeepAlive(f) {
  runtimeWaitUntil = typeof f === "function" ? f : null;
}

/**
 * Hands a new token flight (settled either way) to the runtime's waitUntil and to the
 * config's, so that it outlives the request that started it: workerd cancels a
 * request's I/O when its handler returns, and other requests share the flight.
 */
export function keepAlive(waitUntil, promise) {
  const settled = promise.then(() => {}, () => {});
  for (const f of [runtimeWaitUntil, waitUntil]) {
    if (typeof f !== "function") continue;
    try {
      f(settled);
    } catch {
      // Outside a request (or not permitted): nothing to extend.
    }
  }
}

/** Maps a promise of TokenInfo to a promise of its access token. */
export function pluckToken(p) {
  return p.then((info) => info.accessToken);
}

/** Maps a promise of TokenInfo to a promise of the Authorization header value. */
export function pluckHeader(p) {
  return p.then((info) => `${info.tokenType} ${info.accessToken}`);
}

/**
 * A variable of the environment: `Deno.env` in Deno, else `process.env`. Null when
 * unset; a number when it cannot be read: 1 not permitted, 2 no environment here.
 */
export function readEnv(name) {
  try {
    const deno = globalThis.Deno;
    if (deno && deno.env && typeof deno.env.get === "function") return deno.env.get(name) ?? null;
    const env = globalThis.process && globalThis.process.env;
    if (env) return env[name] ?? null;
  } catch {
    return 1;
  }
  return 2;
}

// ---- the sealed store -----------------------------------------------------------
// Keys: "datacosmos-auth:v1:" + base64url(HKDF(secret, info = "key" + parts)).
// Values: "v1." + base64url(iv || AES-256-GCM(entry, aad = key)), the AES key derived
// by HKDF-SHA-256 from the secret. Neither holds the secret, the client id or the
// token in clear; a value that does not unseal is a miss.

const enc = new TextEncoder();
const SALT = enc.encode("datacosmos-auth/store/v1");

function b64url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function bounded(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("store timed out")), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export class SealedStore {
  constructor(store, secret, parts, timeoutMs, waitUntil) {
    this.store = store;
    this.ms = timeoutMs;
    // Workers' ctx.waitUntil: writes are handed over instead of awaited.
    this.waitUntil = typeof waitUntil === "function" ? waitUntil : null;
    this.lease_ = null;
    // Derived once per client, lazily; the secret is not kept on this object.
    this.keys = (async () => {
      const subtle = globalThis.crypto.subtle;
      const ikm = await subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveBits", "deriveKey"]);
      const info = (label) => enc.encode(`${label}\0${parts}`);
      const id = new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: SALT, info: info("key") }, ikm, 256));
      const aes = await subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: SALT, info: info("seal") }, ikm,
        { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      return { key: `datacosmos-auth:v1:${b64url(id)}`, aes };
    })();
    this.keys.catch(() => {});
  }

  /**
   * The unsealed entry text; null for a miss (absent, foreign, tampered); undefined
   * when the store failed (threw, rejected, too slow), so the caller skips the lease.
   */
  async get() {
    let key, aes, value;
    try {
      ({ key, aes } = await this.keys);
      value = await bounded(Promise.resolve().then(() => this.store.get(key)), this.ms);
    } catch {
      return undefined;
    }
    try {
      if (typeof value !== "string" || !value.startsWith("v1.")) return null;
      const raw = unb64url(value.slice(3));
      if (raw.length < 29) return null;
      const plain = await globalThis.crypto.subtle.decrypt(
        { name: "AES-GCM", iv: raw.subarray(0, 12), additionalData: enc.encode(key) }, aes, raw.subarray(12));
      return new TextDecoder().decode(plain);
    } catch {
      return null;
    }
  }

  /** Seals and stores `entry`; never rejects. With waitUntil, resolves at once. */
  put(entry, ttlSeconds) {
    return this.later(this.put_(entry, ttlSeconds));
  }

  later(p) {
    if (!this.waitUntil) return p;
    try {
      this.waitUntil(p);
    } catch {
      return p;
    }
    return Promise.resolve();
  }

  async put_(entry, ttlSeconds) {
    try {
      const { key, aes } = await this.keys;
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await globalThis.crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: enc.encode(key) }, aes, enc.encode(entry)));
      const raw = new Uint8Array(12 + sealed.length);
      raw.set(iv);
      raw.set(sealed, 12);
      const ttl = Math.max(60, Math.ceil(ttlSeconds));
      await bounded(Promise.resolve().then(() => this.store.put(key, `v1.${b64url(raw)}`, { expirationTtl: ttl })), this.ms);
    } catch {
      // A store that fails only costs the next isolate a token request.
    }
  }

  /**
   * Tries to take the refresh lease for `ms`: the store's atomic `add` where it has
   * one (Redis SET NX PX, Deno KV atomic check), else a best-effort write-then-read of
   * a lease key (Workers KV is eventually consistent). Resolves true when taken, and
   * also when the store fails: a broken store must not make anyone wait.
   * `lease(0)` gives a held lease back.
   */
  async lease(ms) {
    if (!(ms > 0)) return this.release();
    try {
      const { key } = await this.keys;
      const lkey = `${key}:lease`;
      const id = b64url(globalThis.crypto.getRandomValues(new Uint8Array(9)));
      const value = `${id}.${Date.now() + ms}`;
      const call = (f) => bounded(Promise.resolve().then(f), this.ms);
      let won;
      if (typeof this.store.add === "function") {
        won = (await call(() => this.store.add(lkey, value, { ttlMs: ms }))) === true;
      } else {
        const held = await call(() => this.store.get(lkey));
        if (typeof held === "string" && Number(held.split(".")[1]) > Date.now()) return false;
        await call(() => this.store.put(lkey, value, { expirationTtl: Math.max(60, Math.ceil(ms / 1000)) }));
        won = (await call(() => this.store.get(lkey))) === value;
      }
      if (won) this.lease_ = { lkey, value: `${id}.0` };
      return won;
    } catch {
      return true;
    }
  }

  /** Gives the lease back (deletes it, or marks it expired); never rejects. */
  async release() {
    const held = this.lease_;
    this.lease_ = null;
    if (!held) return Promise.resolve();
    const call = (f) => bounded(Promise.resolve().then(f), this.ms).catch(() => {});
    return this.later(typeof this.store.delete === "function"
      ? call(() => this.store.delete(held.lkey))
      : call(() => this.store.put(held.lkey, held.value, { expirationTtl: 60 })));
  }

  /** Deletes the entry where the store can; never rejects. */
  async delete() {
    try {
      if (typeof this.store.delete !== "function") return;
      const { key } = await this.keys;
      await bounded(Promise.resolve().then(() => this.store.delete(key)), this.ms);
    } catch {
      // As for put.
    }
  }
}
