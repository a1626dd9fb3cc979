// Cloudflare Workers (workerd): the .wasm is imported as a compiled WebAssembly.Module
// (Workers forbid compiling wasm from bytes at run time). A token flight started by one
// request is shared by the others: `waitUntil` of `cloudflare:workers` keeps it alive
// after the request that started it has ended (workerd cancels a finished request's I/O).
import * as cloudflare from "cloudflare:workers";
import wasm from "./datacosmos_auth_bg.wasm";
import * as glue from "./datacosmos_auth.js";
import { install } from "./core.js";

const keepAlive = typeof cloudflare.waitUntil === "function" ? cloudflare.waitUntil : undefined;

export const { TokenClient, getToken, OAuthError } = install(() => {
  glue.initSync({ module: wasm });
  // The functions core.js calls, not the namespace: bundlers then leave out the glue's
  // asynchronous loader (unused here).
  return { create: glue.create, step: glue.step, free: glue.free, envNames: glue.envNames };
}, { keepAlive });
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
export { TokenLease, durableObjectStore } from "./durable.js";
