// Cloudflare Workers (workerd): the .wasm is imported as a compiled WebAssembly.Module
// (Workers forbid compiling wasm from bytes at run time).
import * as cloudflare from "cloudflare:workers";
import wasm from "./datacosmos_auth_bg.wasm";
import { installFetch } from "./fetch.js";
import { TokenClient as WasmTokenClient, initSync, __OAuthError, __setKeepAlive } from "./datacosmos_auth.js";

initSync({ module: wasm });
// A token flight started by one request is shared by the others: keep it alive after
// the request that started it has ended (workerd cancels a finished request's I/O).
if (typeof cloudflare.waitUntil === "function") __setKeepAlive(cloudflare.waitUntil);

installFetch(WasmTokenClient);

export { TokenClient, getToken } from "./datacosmos_auth.js";
export const OAuthError = __OAuthError();
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
// The Durable Object store (Workers only: it imports cloudflare:workers).
export { TokenLease, durableObjectStore } from "./durable.js";
