// Cloudflare Workers (workerd) and other `worker` runtimes: the .wasm is imported as a
// compiled WebAssembly.Module (Workers forbid compiling wasm from bytes at run time).
import wasm from "./datacosmos_auth_bg.wasm";
import { initSync, __OAuthError } from "./datacosmos_auth.js";

initSync({ module: wasm });

export { TokenClient, getToken } from "./datacosmos_auth.js";
export const OAuthError = __OAuthError();
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
