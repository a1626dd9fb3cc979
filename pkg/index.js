// Browsers, bundlers, Deno and other ESM runtimes: the .wasm is embedded (base64) and
// compiled synchronously at import, with no network or file-system access.
import bytes from "./wasm_inline.js";
import { installFetch } from "./fetch.js";
import { TokenClient as WasmTokenClient, initSync, __OAuthError } from "./datacosmos_auth.js";

const raw = atob(bytes);
const buf = new Uint8Array(raw.length);
for (let i = 0; i < raw.length; i++) buf[i] = raw.charCodeAt(i);
initSync({ module: buf });

installFetch(WasmTokenClient);

export { TokenClient, getToken } from "./datacosmos_auth.js";
export const OAuthError = __OAuthError();
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
