// Node.js (and Bun) ESM entry: the .wasm is read from disk next to this file.
import { readFileSync } from "node:fs";
import { installFetch } from "./fetch.js";
import { TokenClient as WasmTokenClient, initSync, __OAuthError } from "./datacosmos_auth.js";

initSync({ module: readFileSync(new URL("./datacosmos_auth_bg.wasm", import.meta.url)) });

installFetch(WasmTokenClient);

export { TokenClient, getToken } from "./datacosmos_auth.js";
export const OAuthError = __OAuthError();
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
