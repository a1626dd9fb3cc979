// Browsers, bundlers, Deno and other ESM runtimes: the .wasm is embedded (base64), with
// no network or file-system access. Importing compiles nothing on the spot: the module is
// compiled and instantiated asynchronously (WebAssembly.instantiate) from a microtask
// after import, off the main thread where the runtime can. Older Chrome and Android
// WebViews refuse synchronous compilation of modules over 4 KB on the main thread.
//
// `new TokenClient(config)` before that has finished compiles synchronously where the
// runtime allows it, so that a bad config still throws at once; where the runtime refuses,
// the client waits for the asynchronous compilation and a bad config rejects its first
// call (see core.js, `Pending`). The one-shot `getToken(config)` always waits.
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
  // Whether the wasm is instantiated, without trying anything.
  loaded: () => loaded,
  // The asynchronous instantiation (started once).
  wait: () => (loading ??= loaded ? Promise.resolve() : glue.default({ module_or_path: decode() }).then(() => { loaded = true; })),
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

export const { TokenClient, getToken, OAuthError } = install(() => wasm);
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
