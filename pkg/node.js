// Node.js (and Bun) ESM entry: the .wasm is read from disk next to this file.
// scripts/package.mjs bundles this file and the modules it imports (all but the glue)
// into node.bundle.js, which the `node` `import` condition loads: one module instead of
// six to load in a fresh process. `fs` from process.getBuiltinModule where Node has it
// (20.16+, 22.3+): importing `node:fs` as an ES module costs more.
import * as glue from "./datacosmos_auth.js";
import { install } from "./core.js";
import "./private-key-jwt.js"; // private_key_jwt: the signer (Node can afford its bytes)

const fs = globalThis.process.getBuiltinModule?.("fs") ?? (await import("node:fs"));

function load() {
  glue.initSync({ module: fs.readFileSync(new URL("./datacosmos_auth_bg.wasm", import.meta.url)) });
  return glue;
}

export const { TokenClient, getToken, OAuthError } = install(load);
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
export { UserLogin } from "./login.js";
