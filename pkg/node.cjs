"use strict";
// Node.js CommonJS entry (works with require-of-ESM switched off). It shares the ESM
// entry's classes and state when both are loaded (core.js keeps one set per process).
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { install } = require("./core.cjs");
require("./private-key-jwt.cjs"); // private_key_jwt: the signer

const api = install(() => {
  const glue = require("./datacosmos_auth.cjs");
  glue.initSync({ module: readFileSync(join(__dirname, "datacosmos_auth_bg.wasm")) });
  return glue;
});

exports.TokenClient = api.TokenClient;
exports.getToken = api.getToken;
exports.OAuthError = api.OAuthError;
Object.assign(exports, require("./stores.cjs"));
exports.UserLogin = require("./login.cjs").UserLogin;
