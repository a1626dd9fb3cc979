// The JavaScript driver: the one module that defines the package's exports. The
// per-runtime entries (index.js, node.js, node.cjs, workerd.js, worker.js) only load the
// .wasm their way and hand its exports to `install`.
//
// It decides nothing. The Rust engine (src/engine) decides; this module performs what
// it is told (fetch, store, timers, WebCrypto sealing, settling promises) and reports
// each outcome back, with Date.now(). One string crosses into wasm per event and one
// JSON string comes back (src/wire.rs), so a cold exchange costs two crossings and a
// cached token none: the engine tells the driver until when it may serve the token
// (the memo) and which flight new callers join.

const BRAND = Symbol.for("datacosmos-auth.OAuthError");
const REGISTRY = Symbol.for("datacosmos-auth/1");
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
// A member of an object the driver did not make itself (the engine's parsed JSON output,
// a caller's options bag): own members only, so that a member the object lacks is never
// taken from a polluted Object.prototype (`Object.prototype.error = …`).
const field = (o, k) => (o !== null && typeof o === "object" && hasOwn(o, k) ? o[k] : undefined);

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
    const { name, code, message, status, description, uri, retryAfterSeconds, quota } = this;
    return { name, code, message, status, description, uri, retryAfterSeconds, quota };
  }
  // One class per process (see install), and a brand for other copies and versions:
  // `instanceof OAuthError` holds for an error of any copy of the package.
  static [Symbol.hasInstance](v) {
    return v != null && typeof v === "object" && v[BRAND] === true;
  }
}
Object.defineProperty(OAuthError.prototype, "name", { value: "OAuthError", writable: true, configurable: true });
Object.defineProperty(OAuthError.prototype, BRAND, { value: true });

// What a call asks for: TokenInfo, the access token, or the Authorization header value.
const INFO = 0, TOKEN = 1, HEADER = 2;
const SHAPES = [(i) => i, (i) => i.accessToken, (i) => `${i.tokenType} ${i.accessToken}`];

const invalid = (message) => new OAuthError("invalid_config", `invalid config: ${message}`);

// `err.cause` of a network_error: what the runtime threw, as a new Error with the
// engine's redacted text, its name and its code (e.g. ECONNREFUSED); never the original
// object, whose message or properties could hold anything.
function causeOf(e, message) {
  const c = new Error(message.replace(/^network error: /, ""));
  c.name = typeof e?.name === "string" ? e.name : "Error";
  const code = e?.cause?.code ?? e?.code;
  if (typeof code === "string") c.code = code;
  return c;
}

function toError(e) {
  const f = (k) => field(e, k);
  const err = new OAuthError(f("code"), f("message"), f("status"), f("description"), f("uri"));
  if (f("retryAfterSeconds") !== undefined) err.retryAfterSeconds = f("retryAfterSeconds");
  if (f("quota")) err.quota = f("quota");
  return err;
}

// ---- options: own members only, read once, sent as one JSON document ----------------

// Reads the own enumerable string-keyed members of `obj` (and user login's SESSION
// member) into a prototype-less object:
// inherited (polluted) members never count, and a throwing getter or Proxy trap is
// invalid_config, never "absent". Non-JSON values are sent as `name#: typeof`; the
// engine's option reader (src/options.rs) decides what is valid.
function own(obj, what) {
  const out = Object.create(null);
  let keys;
  try {
    keys = Reflect.ownKeys(obj);
  } catch {
    throw invalid(`${what} could not be read`);
  }
  for (const k of keys) {
    if (typeof k !== "string" && k !== SESSION) continue;
    let v;
    try {
      const d = Reflect.getOwnPropertyDescriptor(obj, k);
      if (!d || !d.enumerable) continue;
      // Read as `obj[k]` reads it: a getter, or a Proxy's get trap, runs (and may throw).
      v = obj[k];
    } catch {
      throw invalid(`${what}.${String(k)} could not be read`);
    }
    if (v !== undefined) out[k] = v;
  }
  return out;
}

// Kept on this side too: the functions and objects, and private_key_jwt's options for
// the signer module (the engine checks only which of them are given).
const JS_SIDE = new Set(["fetch", "store", "waitUntil", "onEvent", "privateKey", "keyId", "signingAlgorithm",
  "assertionAudience", "assertionLifetimeSeconds"]);
const SIGNER = Symbol.for("datacosmos-auth/private-key-jwt");
const SESSION = Symbol.for("datacosmos-auth/session");

function encode(members) {
  const doc = Object.create(null);
  for (const k of Object.keys(members)) {
    const v = members[k];
    const t = v === null ? "null" : typeof v;
    if (t === "string" || t === "boolean" || t === "null") doc[k] = v;
    else if (t === "number") doc[k] = Number.isFinite(v) ? v : null;
    else {
      doc[`${k}#`] = Array.isArray(v) ? "array" : t;
      if (k === "extraParams" && t === "object" && !Array.isArray(v)) {
        const params = own(v, "extraParams");
        for (const p of Object.keys(params)) if (typeof params[p] !== "string") params[p] = null;
        doc["extraParams#json"] = JSON.stringify(params);
      } else if (k === "store" && (t === "object" || t === "function")) {
        // A store's methods may be inherited (a KV namespace is a class instance).
        let caps;
        try {
          caps = ["get", "put", "add", "delete"].filter((m) => typeof v[m] === "function");
        } catch {
          throw invalid("store could not be read");
        }
        doc["store#caps"] = caps.join(",");
      }
    }
  }
  return JSON.stringify(doc);
}

function readOptions(cfg, what = "config") {
  if (cfg === undefined || cfg === null) return { doc: "{}", js: Object.create(null) };
  let array;
  try {
    array = Array.isArray(cfg); // throws for a revoked Proxy
  } catch {
    throw invalid(`the ${what} could not be read`);
  }
  if (typeof cfg !== "object" || array) throw invalid(`the ${what} must be an object`);
  const members = own(cfg, what);
  const js = Object.create(null);
  for (const k of JS_SIDE) if (k in members) js[k] = members[k];
  // User login's session (pkg/login.js), an own member under a registered symbol: it
  // builds each request's grant, reads each answer first (rotated refresh tokens), and
  // seals nothing (its store is the user's own place). Only it uses authMethod "none".
  if (!(js.session = members[SESSION]) && members.authMethod === "none") throw invalid('authMethod "none" is for UserLogin');
  return { doc: encode(members), js };
}

// ---- one attempt at the token endpoint ---------------------------------------------

const CAP = 1 << 20;
const HEADERS = ["auth0-client-quota-limit", "auth0-organization-quota-limit",
  "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"];

// HTTP dates (RFC 9110 §5.6.7) are parsed by the runtime; what to do with them is the
// engine's. A number too large, or a date past what Date can hold (a year of six or
// more digits), is the largest value (RFC 9111 §1.2.2), never "absent".
// The three forms of RFC 9110 §5.6.7 only (Date.parse alone reads "5.5" or "-5" as
// dates): IMF-fixdate, obsolete RFC 850, and asctime.
const HTTP_DATE = /^(?:[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4,} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2,} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4,})$/;

function httpDate(v) {
  if (!HTTP_DATE.test(v)) return undefined;
  const t = Date.parse(v);
  return t === t ? t : /\d{6}/.test(v) ? Number.MAX_VALUE : undefined;
}

function retryAfterMs(v) {
  const t = v.trim();
  if (/^\d+$/.test(t)) return Math.min(Number(t) * 1000, Number.MAX_VALUE);
  const at = httpDate(t);
  return at === undefined ? undefined : Math.max(0, at - Date.now());
}

const describe = (e) => {
  if (e instanceof Error) {
    const cause = e.cause && (e.cause.code || e.cause.message);
    return cause ? `${e.message} (${cause})` : e.message;
  }
  return typeof e === "string" ? e : "fetch failed";
};

// The body as text, or null past `cap` bytes.
async function readCapped(res, cap) {
  const declared = Number(res.headers?.get?.("content-length"));
  if (declared > cap) {
    res.body?.cancel?.().catch(() => {});
    return null;
  }
  const body = res.body;
  if (declared >= 0 && res.headers?.get?.("content-length") !== null || !body || typeof body.getReader !== "function") {
    const text = await res.text();
    return text.length > cap || (text.length * 3 > cap && new TextEncoder().encode(text).length > cap) ? null : text;
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

// One POST, aborted after `ms`: resolves to [status, headersJson, body] or rejects with
// [timedOut, message]. A fetch that ignores its signal is timed out by the engine's own
// deadline, shortly after. A controller and a timer cleared at the end, not
// AbortSignal.timeout: in Node that costs 30 times as much (a transferable signal and a
// timer left to the garbage collector).
async function attempt(fetchFn, req, ms) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    return await send(fetchFn, req, ctl.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function send(fetchFn, req, signal) {
  let res;
  try {
    res = await fetchFn(req.url, { method: "POST", headers: req.headers, body: req.body, redirect: "manual", signal });
  } catch (e) {
    throw [signal.aborted, describe(e), e];
  }
  if (!res || typeof res.status !== "number") throw [false, "fetch did not return a Response"];
  const h = Object.create(null);
  const get = (n) => {
    const v = res.headers?.get?.(n);
    return typeof v === "string" ? v : undefined;
  };
  for (const n of HEADERS) if (get(n) !== undefined) h[n] = get(n);
  const ra = get("retry-after"), date = get("date");
  if (ra !== undefined) h["retry-after-ms"] = retryAfterMs(ra);
  if (date !== undefined) h["date-ms"] = httpDate(date);
  let text;
  try {
    text = await readCapped(res, CAP);
  } catch (e) {
    throw [signal.aborted, `reading the response failed: ${describe(e)}`];
  }
  return [res.status, JSON.stringify(h), text];
}

// ---- the sealed store ----------------------------------------------------------------
// Keys: "datacosmos-auth:v1:" + base64url(HKDF(secret, info = "key" + parts)), and the
// same + ":lease" and + ":quota". Entry values: "v1." + base64url(iv || AES-256-GCM(entry, aad = key)),
// the AES key derived by HKDF-SHA-256 from the secret: the store never holds the secret,
// the client id or the token in clear, and a value that does not unseal is a miss.
// Quota values (when a block ends) are sealed too, so only holders of the secret can
// block the fleet; lease values (a random id and an expiry) are stored as they are.

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

function sealer(secret, parts) {
  const keys = (async () => {
    const subtle = globalThis.crypto.subtle;
    const ikm = await subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveBits", "deriveKey"]);
    const info = (label) => enc.encode(`${label}\0${parts}`);
    const id = new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: SALT, info: info("key") }, ikm, 256));
    const aes = await subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: SALT, info: info("seal") }, ikm,
      { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const key = `datacosmos-auth:v1:${b64url(id)}`;
    return { keys: [key, `${key}:lease`, `${key}:quota`], aes };
  })();
  keys.catch(() => {});
  return {
    keys,
    async seal(key, text) {
      const { aes } = await keys;
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await globalThis.crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: enc.encode(key) }, aes, enc.encode(text)));
      const raw = new Uint8Array(12 + sealed.length);
      raw.set(iv);
      raw.set(sealed, 12);
      return `v1.${b64url(raw)}`;
    },
    async unseal(key, value) {
      try {
        if (typeof value !== "string" || !value.startsWith("v1.")) return null;
        const raw = unb64url(value.slice(3));
        if (raw.length < 29) return null;
        const { aes } = await keys;
        const plain = await globalThis.crypto.subtle.decrypt(
          { name: "AES-GCM", iv: raw.subarray(0, 12), additionalData: enc.encode(key) }, aes, raw.subarray(12));
        return new TextDecoder().decode(plain);
      } catch {
        return null;
      }
    },
  };
}

// ---- client.fetch --------------------------------------------------------------------

// Bodies that can be sent twice (API.md): none, string, ArrayBuffer, typed arrays and
// views, Blob, FormData, URLSearchParams. Streams, async iterables and Node Readables
// are one-shot: their 401 is returned as it is.
function replayable(body) {
  if (body === undefined || body === null || typeof body === "string") return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  for (const name of ["Blob", "FormData", "URLSearchParams"]) {
    const C = globalThis[name];
    if (typeof C === "function" && body instanceof C) return true;
  }
  return false;
}

// ---- the package ---------------------------------------------------------------------

/**
 * Defines the package's exports over the wasm exports `w` (the wasm-bindgen glue:
 * create, step, free, envNames). One set per process: every copy of
 * the package (ESM and CJS, or two bundles) shares the first one's classes and state
 * through a `globalThis` registry, so `instanceof OAuthError` holds across copies and
 * the one-shot `getToken` cache is shared.
 */
export function install(load, { keepAlive } = {}) {
  const shared = globalThis[REGISTRY];
  if (shared) {
    if (keepAlive && !shared.keepAlive) shared.keepAlive = keepAlive;
    return shared;
  }
  const api = define(load(), keepAlive);
  Object.defineProperty(globalThis, REGISTRY, { value: api, configurable: true });
  return api;
}

function define(w, runtimeKeepAlive) {
  const api = { keepAlive: runtimeKeepAlive };
  // The engine's seed drives backoff jitter and lease ids: unpredictability is not
  // needed, and Node loads WebCrypto lazily (about 1 ms of a cold start).
  const seed = () => Math.random() * 2 ** 52;
  const finalizer = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((id) => w.free(id)) : null;

  class TokenClient {
    #id; #req; #sign; #answer; #fetch; #store; #keys; #seal; #storeMs; #timeoutMs; #onEvent; #waitUntil;
    #until = 0; #cached = []; #join = -1; #waiters = new Map(); #timer; #timerAt = null;
    #idle = null; #freed = false; #cause;

    constructor(config, from) {
      let made;
      if (from) {
        made = from;
      } else {
        if (config === undefined || config === null) throw invalid("a config object is required");
        const { doc, js } = readOptions(config);
        const make = () => ({ out: JSON.parse(w.create(0, doc, "", seed())), js });
        // The browser entry, where the runtime refuses to instantiate the wasm synchronously
        // before its asynchronous instantiation is done: a client made once it is (index.js).
        if (w.now?.() === false) return w.pending(() => new TokenClient(undefined, make()));
        made = make();
      }
      let { out, js } = made;
      let secret = field(out, "seal");
      if (field(out, "error")) throw toError(out.error);
      this.#req = { url: out.request.url, headers: Object.fromEntries(out.request.headers), body: out.request.body };
      if (js.privateKey !== undefined) {
        // private_key_jwt (the engine checked the options go together): the signer module
        // checks them and the key's shape, imports the key once, and signs per attempt;
        // the store is sealed with the key's text.
        try {
          const signer = globalThis[SIGNER];
          if (typeof signer !== "function") throw invalid('private_key_jwt needs its signer: import "datacosmos-auth/private-key-jwt"');
          [this.#sign, secret] = signer(js, this.#req);
        } catch (e) {
          w.free(out.id);
          throw e instanceof OAuthError ? e : invalid(e.message);
        }
      }
      this.#id = out.id;
      // A user session builds each request and reads each answer first (pkg/login.js).
      const s = js.session;
      if (s) [this.#sign, this.#answer] = [() => s.request(this.#req), (status, body) => s.answer(status, body)];
      this.#timeoutMs = out.timeoutMs;
      this.#storeMs = out.storeMs;
      this.#fetch = js.fetch;
      this.#onEvent = js.onEvent;
      this.#waitUntil = js.waitUntil;
      if (js.store) {
        this.#store = js.store;
        // The secret the engine validated (create() returns it only with a store).
        this.#seal = js.session?.plain ?? sealer(secret, out.key);
        this.#keys = this.#seal.keys;
      }
      finalizer?.register(this, out.id, this);
    }

    /** A client from the DataCosmos credentials file (JSON text or object) and overrides. */
    static fromCredentials(json, overrides) {
      if (w.now?.() === false) return w.pending(() => TokenClient.fromCredentials(json, overrides));
      let text;
      if (typeof json === "string") text = json;
      else if (json !== null && typeof json === "object" && !Array.isArray(json)) text = JSON.stringify(own(json, "credentials"));
      else throw invalid("credentials must be a JSON string or an object");
      return fromBase(1, text, overrides);
    }

    /** A client from environment variables (`env`, else `Deno.env` / `process.env`). */
    static fromEnv(env, overrides) {
      if (w.now?.() === false) return w.pending(() => TokenClient.fromEnv(env, overrides));
      const names = JSON.parse(w.envNames());
      const values = Object.create(null);
      if (env !== undefined && env !== null) {
        if (typeof env !== "object") throw invalid("env must be an object");
        const members = own(env, "env");
        for (const n of names) if (typeof members[n] === "string") values[n] = members[n];
      } else {
        try {
          const deno = globalThis.Deno;
          const pe = globalThis.process?.env;
          if (deno?.env && typeof deno.env.get === "function") {
            for (const n of names) { const v = deno.env.get(n); if (typeof v === "string") values[n] = v; }
          } else if (pe) {
            for (const n of names) if (hasOwn(pe, n) && typeof pe[n] === "string") values[n] = pe[n];
          } else {
            throw invalid("no environment here (pass an env object)");
          }
        } catch (e) {
          if (e instanceof OAuthError) throw e;
          throw invalid("reading the environment is not permitted (Deno: --allow-env)");
        }
      }
      return fromBase(2, JSON.stringify(values), overrides);
    }

    /** The access token: cached; concurrent callers share one request. */
    getToken(options) {
      return this.#info(options, TOKEN);
    }

    /** `{ accessToken, tokenType, expiresAt, scope?, quota? }`. */
    getTokenInfo(options) {
      return this.#info(options, INFO);
    }

    /** `"Bearer <token>"`. */
    authorizationHeader(options) {
      return this.#info(options, HEADER);
    }

    /**
     * `fetch` with the client's Authorization header. On a 401 it renews the token once
     * and sends again, when the body can be replayed; otherwise the 401 is returned.
     */
    async fetch(input, init) {
      const fetchFn = this.#fetchFn();
      const isRequest = typeof Request !== "undefined" && input instanceof Request;
      // A Request's own body is replayed through input.clone() (below); a body given in
      // init must be one of the replayable kinds.
      const body = init && hasOwn(init, "body") ? init.body : undefined;
      const replay = replayable(body) && !(isRequest && input.bodyUsed);
      const send = (info, last) => {
        const headers = new Headers(field(init, "headers") ?? (isRequest ? input.headers : undefined));
        headers.set("authorization", `${info.tokenType} ${info.accessToken}`);
        const target = isRequest && !last ? input.clone() : input;
        return fetchFn(target, { ...init, headers });
      };
      const info = await this.getTokenInfo();
      const first = await send(info, !replay);
      if (first.status !== 401 || !replay) return first;
      try {
        await first.body?.cancel();
      } catch {
        // Already closed.
      }
      return send(await this.#run(w.step(this.#id, Date.now(), 1, 0, 0, info.accessToken), {}), true);
    }

    /** Forgets the cached token (memory and store) and lifts the negative cache. */
    clear() {
      this.#memo(null);
      this.#run(w.step(this.#id, Date.now(), 2, 0, 0));
    }

    /** Frees the client's engine now; later calls reject with invalid_config. */
    free() {
      if (this.#freed) return;
      this.#freed = true;
      this.#memo(null);
      this.#join = -1;
      clearTimeout(this.#timer);
      finalizer?.unregister(this);
      w.free(this.#id);
      // Callers waiting on a flight of this client would wait forever: its outcomes are
      // no longer reported.
      for (const root of this.#waiters.values()) root.reject(freed());
      this.#waiters.clear();
      this.#idle?.();
    }

    #fetchFn() {
      if (this.#fetch) return this.#fetch;
      const f = globalThis.fetch;
      if (typeof f !== "function") throw invalid("no fetch function in this runtime (pass config.fetch)");
      return f;
    }

    #emit(event) {
      if (!this.#onEvent) return;
      try {
        const r = this.#onEvent(event);
        if (r && typeof r.then === "function") r.then(undefined, () => {});
      } catch {
        // A throwing listener is ignored.
      }
    }

    // A call: the memo's token, the flight to join, or the engine's verdict.
    // A call for one shape of the token (INFO, TOKEN or HEADER).
    // A cached token is answered here, before anything else: no wasm, no new promise.
    #info(options, shape = INFO) {
      const now = Date.now();
      if (options === undefined && now < this.#until) return this.#cached[shape];
      if (this.#freed) return Promise.reject(freed());
      // `options.signal`: an AbortSignal or nothing. A getter or Proxy trap that throws, or
      // anything else, rejects this call (a promise-returning method never throws).
      let signal;
      try {
        signal = field(options, "signal");
        if (signal && typeof signal.addEventListener != "function") throw 0;
        if (signal?.aborted) return Promise.reject(aborted());
      } catch {
        return Promise.reject(invalid("options.signal is not an AbortSignal"));
      }
      if (now < this.#until) return this.#cached[shape];
      // Join the flight without entering wasm, but only until the engine's next
      // deadline: where that timer died with the request that armed it (workerd without
      // keep-alive), the next call enters the engine, which times the operation out.
      if (this.#join >= 0 && (this.#timerAt === null || now < this.#timerAt)) return this.#wait(this.#join, signal, shape);
      return this.#run(w.step(this.#id, now, 0, 0, 0), { signal, shape });
    }

    // Callers of one flight chain on ONE promise, created where the flight's first caller
    // waits and settled by the flight: workerd cancels a request that waits on a promise
    // it created but another request resolves ("hung"), while a reaction to another
    // request's promise with plain data is fine. An aborted caller stops waiting; the
    // flight goes on for the others.
    // Callers without a signal share the flight's promise of their shape (made once per
    // flight and shape): 10,000 concurrent callers cost no promise each.
    #wait(flight, signal, shape = INFO) {
      let root = this.#waiters.get(flight);
      if (!root) {
        root = {};
        root[INFO] = new Promise((resolve, reject) => { root.resolve = resolve; root.reject = reject; });
        root[INFO].catch(() => {});
        this.#waiters.set(flight, root);
      }
      root[shape] ??= root[INFO].then(SHAPES[shape]);
      if (!signal) return root[shape];
      return new Promise((resolve, reject) => {
        const onAbort = () => reject(aborted());
        signal.addEventListener("abort", onAbort, { once: true });
        root[shape].then((v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        }, (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        });
      });
    }

    // Runs one engine step's output: the memo, the verdict of a call (its waiter is
    // registered before the step's settles run), the actions and the timer.
    #run(json, call) {
      const r = JSON.parse(json);
      if (field(r, "error")) return call ? Promise.reject(toError(r.error)) : undefined;
      const m = field(r, "m");
      this.#memo(field(m, "tok") ? m : null);
      this.#join = field(m, "join") ?? -1;
      let result;
      if (call) {
        const v = field(r, "v");
        result = field(v, "ok") ? Promise.resolve(SHAPES[call.shape ?? INFO](Object.freeze(v.ok)))
          : field(v, "err") ? Promise.reject(toError(v.err))
          : this.#wait(v.w, call.signal, call.shape);
      }
      for (const a of r.a) this.#act(a);
      this.#arm(r.t);
      return result;
    }

    #memo(m) {
      if (!m) {
        this.#until = 0;
        return;
      }
      const info = Object.freeze(m.tok);
      this.#until = m.until;
      // The three shapes' promises, made once per token: a cached hit returns one of them.
      this.#cached = SHAPES.map((f) => Promise.resolve(f(info)));
    }

    #act(a) {
      switch (a[0]) {
        case "s": return void this.#send(a[1]);
        case "g": return void this.#get(a[1], a[2]);
        case "p": return void this.#put(a[1], a[2], a[3], a[4]);
        case "a": return void this.#add(a[1], a[3], a[4]);
        case "d": return void this.#del(a[2]);
        case "x": return this.#settle(a[1], a[2], a[3]);
        case "e": return this.#emit(a[1]);
      }
    }

    #settle(flight, token, error) {
      const root = this.#waiters.get(flight);
      if (!root) return;
      this.#waiters.delete(flight);
      if (token) return root.resolve(Object.freeze(token));
      const err = toError(error);
      if (err.code === "network_error" && this.#cause) err.cause = causeOf(this.#cause, err.message);
      root.reject(err);
    }

    #report(json) {
      if (!this.#freed) this.#run(json);
    }

    async #send(op) {
      let out;
      try {
        let [status, headers, body] = await attempt(this.#fetchFn(), this.#sign ? await this.#sign() : this.#req, this.#timeoutMs);
        // A user session reads the answer first: it keeps a rotated refresh token, and
        // redacts what it sent (the engine redacts only a client secret).
        if (this.#answer) body = await this.#answer(status, body);
        out = () => w.step(this.#id, Date.now(), 10, op, status, headers, body ?? undefined);
      } catch (e) {
        const [timedOut, message, original] = Array.isArray(e) ? e : [false, describe(e), e];
        this.#cause = timedOut ? undefined : original;
        // A key WebCrypto refused (the signer's invalid_config): reported as such (kind 2).
        out = () => w.step(this.#id, Date.now(), e?.code === "invalid_config" ? 22 : timedOut ? 21 : 20, op, 0, message);
      }
      this.#report(out());
    }

    #storeCall(f) {
      return bounded(Promise.resolve().then(f), this.#storeMs);
    }

    async #get(op, k) {
      let kind = 2, text;
      try {
        const key = (await this.#keys).keys[k];
        const v = await this.#storeCall(() => this.#store.get(key));
        text = v === null || v === undefined ? undefined : k !== 1 ? (await this.#seal.unseal(key, v)) ?? undefined : typeof v === "string" ? v : undefined;
      } catch {
        kind = 6;
      }
      this.#report(w.step(this.#id, Date.now(), 20 + kind, op, 0, text));
    }

    #later(p) {
      const f = this.#waitUntil;
      if (typeof f !== "function") return p;
      try {
        f(p);
        return Promise.resolve();
      } catch {
        return p;
      }
    }

    async #put(op, k, value, ttl) {
      let kind = 5;
      try {
        const key = (await this.#keys).keys[k];
        const v = k !== 1 ? await this.#seal.seal(key, value) : value;
        const write = this.#storeCall(() => this.#store.put(key, v, { expirationTtl: ttl })).catch(() => { kind = 6; });
        // The entry's write may be handed to waitUntil; a lease write is read back at
        // once, so it is awaited.
        await (k === 0 ? this.#later(write) : write);
      } catch {
        kind = 6;
      }
      this.#report(w.step(this.#id, Date.now(), 20 + kind, op, 0));
    }

    async #add(op, value, ttlMs) {
      let kind;
      try {
        const key = (await this.#keys).keys[1];
        kind = (await this.#storeCall(() => this.#store.add(key, value, { ttlMs }))) === true ? 3 : 4;
      } catch {
        kind = 6;
      }
      this.#report(w.step(this.#id, Date.now(), 20 + kind, op, 0));
    }

    async #del(k) {
      try {
        if (typeof this.#store.delete !== "function") return;
        const key = (await this.#keys).keys[k];
        await this.#later(this.#storeCall(() => this.#store.delete(key)).catch(() => {}));
      } catch {
        // Nobody waits for a delete.
      }
    }

    // One timer at the engine's next deadline; while the engine is busy, its work is
    // handed to waitUntil so that it outlives the request that started it (workerd).
    #arm(at) {
      if (at === this.#timerAt) return;
      clearTimeout(this.#timer);
      this.#timerAt = at;
      if (at === null) {
        this.#idle?.();
        this.#idle = null;
        return;
      }
      this.#timer = setTimeout(() => {
        this.#timerAt = null;
        this.#report(w.step(this.#id, Date.now(), 3, 0, 0));
      }, Math.max(0, at - Date.now()));
      if (!this.#idle) {
        const busy = new Promise((resolve) => { this.#idle = resolve; });
        for (const f of [api.keepAlive, this.#waitUntil]) {
          if (typeof f !== "function") continue;
          try {
            f(busy);
          } catch {
            // Outside a request: nothing to extend.
          }
        }
      }
    }
  }

  const aborted = () => new OAuthError("aborted", "the caller aborted the wait for a token");
  const freed = () => invalid("this TokenClient was freed");

  function fromBase(kind, base, overrides) {
    const { doc, js } = readOptions(overrides, "overrides");
    return new TokenClient(undefined, { out: JSON.parse(w.create(kind, doc, base, seed())), js });
  }

  // The one-shot getToken(config): a module-level cache of clients, reused only for
  // the same options (secret included) and the same fetch and store.
  const shared = new Map();
  function getToken(config) {
    try {
      if (config === undefined || config === null) throw invalid("a config object is required");
      const { doc, js } = readOptions(config);
      const hit = shared.get(doc);
      // Functions and the store are compared by identity (the document only says "function").
      if (hit && [...JS_SIDE].every((k) => hit.js[k] === js[k])) return hit.client.getToken();
      const client = new TokenClient(config);
      if (shared.size >= 32) shared.delete(shared.keys().next().value);
      shared.set(doc, { client, js });
      return client.getToken();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // `using client = new TokenClient(...)` (explicit resource management) frees it.
  if (typeof Symbol.dispose === "symbol") {
    Object.defineProperty(TokenClient.prototype, Symbol.dispose, {
      value() { this.free(); }, writable: true, configurable: true,
    });
  }

  api.TokenClient = TokenClient;
  api.OAuthError = OAuthError;
  api.getToken = getToken;
  return api;
}
