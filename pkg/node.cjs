"use strict";
// Node.js CommonJS entry (works with require-of-ESM switched off).
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const glue = require("./datacosmos_auth.cjs");

glue.initSync({ module: readFileSync(join(__dirname, "datacosmos_auth_bg.wasm")) });

require("./fetch.cjs").installFetch(glue.TokenClient);

exports.TokenClient = glue.TokenClient;
exports.getToken = glue.getToken;
exports.OAuthError = glue.__OAuthError();
Object.assign(exports, require("./stores.cjs"));
