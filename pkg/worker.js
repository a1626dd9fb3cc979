// Other `worker` runtimes that import .wasm files as compiled modules (no
// `cloudflare:workers` here; pass `waitUntil` in the config where the runtime has one).
import wasm from "./datacosmos_auth_bg.wasm";
import * as glue from "./datacosmos_auth.js";
import { install } from "./core.js";

export const { TokenClient, getToken, OAuthError } = install(() => {
  glue.initSync({ module: wasm });
  // The functions core.js calls, not the namespace: bundlers then leave out the glue's
  // asynchronous loader (unused here).
  return { create: glue.create, step: glue.step, free: glue.free, envNames: glue.envNames };
});
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
