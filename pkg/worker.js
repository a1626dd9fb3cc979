// Other `worker` runtimes that import .wasm files as compiled modules (no
// `cloudflare:workers` here; pass `waitUntil` in the config where the runtime has one).
import wasm from "./datacosmos_auth_bg.wasm";
import { installFetch } from "./fetch.js";
import { TokenClient as WasmTokenClient, initSync, __OAuthError } from "./datacosmos_auth.js";

initSync({ module: wasm });

installFetch(WasmTokenClient);

export { TokenClient, getToken } from "./datacosmos_auth.js";
export const OAuthError = __OAuthError();
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
