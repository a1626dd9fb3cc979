// Browsers, bundlers, Deno and other ESM runtimes: the .wasm is embedded (base64), with
// no network or file-system access. Importing compiles nothing on the spot: the module is
// compiled and instantiated asynchronously (WebAssembly.instantiate) from a microtask
// after import, off the main thread where the runtime can. Older Chrome and Android
// WebViews refuse synchronous compilation of modules over 4 KB on the main thread.
//
// `new TokenClient(config)` (and fromCredentials, fromEnv) before that has finished
// instantiates synchronously where the runtime allows it, so that a bad config still
// throws at once; where the runtime refuses, it returns a `Pending` client (below), made
// once the asynchronous instantiation is done. The one-shot `getToken(config)` waits.
import bytes from "./wasm_inline.js";
import * as glue from "./datacosmos_auth.js";
import { install } from "./core.js";

function decode() {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(bytes);
  const raw = atob(bytes);
  const buf = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) buf[i] = raw.charCodeAt(i);
  return buf;
}

let loaded = false;
let refused = false;
let loading;

const wasm = {
  create: glue.create,
  step: glue.step,
  free: glue.free,
  envNames: glue.envNames,
  // The asynchronous instantiation (started once).
  // A runtime that refuses to compile wasm from bytes (a page whose CSP lacks
  // 'wasm-unsafe-eval', a Worker bundled without the workerd/worker condition) rejects
  // every call with a coded error saying so.
  wait: () => (loading ??= loaded ? Promise.resolve() : glue.default({ module_or_path: decode() }).then(() => { loaded = true; }, (e) => {
    throw new api.OAuthError("invalid_config", `invalid config: this runtime refused to compile the WebAssembly module (${e?.message ?? e}): a page needs 'wasm-unsafe-eval' in its CSP script-src; a Worker, the "workerd" or "worker" export condition`);
  })),
  // Whether the wasm can be used now: instantiates it synchronously if the runtime allows
  // (once; a refusal is remembered).
  now() {
    if (loaded || refused) return loaded;
    try {
      glue.initSync({ module: decode() });
      loaded = true;
    } catch {
      refused = true;
    }
    return loaded;
  },
};
Promise.resolve().then(() => wasm.wait().catch(() => {}));

const api = install(() => wasm);
export const { TokenClient, OAuthError } = api;
// For UserLogin (login.js authorizationUrl): the asynchronous instantiation, awaited
// before a user is sent to log in.
api.ready ??= wasm.wait;

/** The one-shot `getToken(config)`: once the wasm is instantiated. */
export function getToken(config) {
  return loaded ? api.getToken(config) : wasm.wait().then(() => api.getToken(config));
}

// A client constructed where the runtime refused to instantiate the wasm synchronously
// (older Chrome and Android WebViews, on the main thread, for modules over 4 KB): core.js
// has read and checked the options it can check in JS (a bad config object still throws);
// `make` makes the real client once the asynchronous instantiation is done. Its first call
// waits for that, and rejects with invalid_config if the engine finds the options invalid.
class Pending {
  #make; #client; #made; #freed = false;
  constructor(make) {
    this.#make = make;
  }
  #get() {
    return (this.#made ??= wasm.wait().then(() => {
      if (this.#freed) throw new OAuthError("invalid_config", "invalid config: this TokenClient was freed");
      return (this.#client = this.#make());
    }));
  }
  getToken(options) {
    return this.#get().then((c) => c.getToken(options));
  }
  getTokenInfo(options) {
    return this.#get().then((c) => c.getTokenInfo(options));
  }
  authorizationHeader(options) {
    return this.#get().then((c) => c.authorizationHeader(options));
  }
  fetch(input, init) {
    return this.#get().then((c) => c.fetch(input, init));
  }
  clear() {
    if (this.#client) this.#client.clear();
    else this.#get().then((c) => c.clear(), () => {});
  }
  free() {
    this.#freed = true;
    this.#client?.free();
  }
}
Object.setPrototypeOf(Pending.prototype, TokenClient.prototype);
wasm.pending = (make) => new Pending(make);
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
export { UserLogin } from "./login.js";
