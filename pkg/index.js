// Browsers, bundlers, Deno and other ESM runtimes: the .wasm is embedded (base64) and
// compiled on first use, with no network or file-system access.
import bytes from "./wasm_inline.js";
import * as glue from "./datacosmos_auth.js";
import { install } from "./core.js";

function load() {
  const raw = atob(bytes);
  const buf = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) buf[i] = raw.charCodeAt(i);
  glue.initSync({ module: buf });
  return glue;
}

export const { TokenClient, getToken, OAuthError } = install(load);
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
export { UserLogin } from "./login.js";
