// Node.js (and Bun) ESM entry: the .wasm is read from disk next to this file.
import { readFileSync } from "node:fs";
import * as glue from "./datacosmos_auth.js";
import { install } from "./core.js";
import "./private-key-jwt.js"; // private_key_jwt: the signer (Node can afford its bytes)

function load() {
  glue.initSync({ module: readFileSync(new URL("./datacosmos_auth_bg.wasm", import.meta.url)) });
  return glue;
}

export const { TokenClient, getToken, OAuthError } = install(load);
export { memoryStore, kvStore, cacheStore, denoKvStore, redisStore } from "./stores.js";
export { UserLogin } from "./login.js";
