#!/usr/bin/env node
// datacosmos-auth token [--credentials FILE] [--json] [--token-url URL] [--audience AUD] [--scope SCOPE]
// Prints a DataCosmos access token: the curl + jq line of the DataCosmos docs, with
// validation, timeouts, retries and no secret in any output.
import { readFileSync, existsSync } from "node:fs";
import { TokenClient, OAuthError } from "./node.js";

const USAGE = `Usage: datacosmos-auth token [options]

Prints an access token for the DataCosmos APIs (OAuth 2.0 client credentials).

Options:
  --credentials FILE  the DataCosmos credentials file
                      ({"client_id", "client_secret", "audience", "grant_type"});
                      default: the environment, else ./data_cosmos_api_credentials.json
  --json              print the token endpoint's JSON response on one line
  --token-url URL     token endpoint (default https://login.open-cosmos.com/oauth/token)
  --audience AUD      audience (default https://beeapp.open-cosmos.com)
  --scope SCOPE       scope to request
  -h, --help          show this help
  -v, --version       show the version

Environment: DATACOSMOS_CLIENT_ID, DATACOSMOS_CLIENT_SECRET, DATACOSMOS_AUDIENCE,
DATACOSMOS_TOKEN_URL, DATACOSMOS_SCOPE (or the SDK's AUTHENTICATION__* names).
DATACOSMOS_TOKEN_URL and DATACOSMOS_SCOPE also apply with --credentials.

Exit status: 0 success; 1 OAuth, HTTP or network error; 2 bad usage, missing or
unreadable credentials, invalid config.

Example:
  curl -H "Authorization: Bearer $(npx datacosmos-auth token --credentials data_cosmos_api_credentials.json)" \\
    https://app.open-cosmos.com/api/data/v0/stac/collections
`;

class Usage extends Error {}

function parse(argv) {
  const opts = { json: false };
  const takes = { "--credentials": "credentials", "--token-url": "tokenUrl", "--audience": "audience", "--scope": "scope" };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === "-h" || name === "--help") return { help: true };
    if (name === "-v" || name === "--version") return { version: true };
    if (name === "--json") { opts.json = true; continue; }
    if (name in takes) {
      const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") throw new Usage(`${name} needs a value`);
      opts[takes[name]] = value;
      continue;
    }
    if (arg.startsWith("-")) throw new Usage(`unknown option ${arg}`);
    rest.push(arg);
  }
  if (rest.length !== 1 || rest[0] !== "token") {
    throw new Usage(rest.length ? `unknown command ${rest[0]}` : "missing command (token)");
  }
  return opts;
}

function env(name) {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
}

// With --json the token endpoint's answer is printed as received: the fetch the
// client uses keeps a copy of the last response.
let lastResponse;
const keepingFetch = async (url, init) => {
  const res = await fetch(url, init);
  lastResponse = res.clone();
  return res;
};

function client(opts) {
  const overrides = opts.json ? { fetch: keepingFetch } : {};
  const tokenUrl = opts.tokenUrl ?? env("DATACOSMOS_TOKEN_URL") ?? env("AUTHENTICATION__TOKEN_URL");
  const scope = opts.scope ?? env("DATACOSMOS_SCOPE");
  if (tokenUrl) overrides.tokenUrl = tokenUrl;
  if (scope) overrides.scope = scope;
  if (opts.audience) overrides.audience = opts.audience;
  let file = opts.credentials;
  if (!file && !env("DATACOSMOS_CLIENT_ID") && !env("AUTHENTICATION__CLIENT_ID") && existsSync("data_cosmos_api_credentials.json")) {
    file = "data_cosmos_api_credentials.json";
  }
  if (file) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new Usage(`cannot read credentials file ${file}: ${e.code ?? e.message}`);
    }
    return TokenClient.fromCredentials(text, overrides);
  }
  if (!env("DATACOSMOS_CLIENT_ID") && !env("AUTHENTICATION__CLIENT_ID")) {
    throw new Usage("no credentials: pass --credentials FILE or set DATACOSMOS_CLIENT_ID and DATACOSMOS_CLIENT_SECRET");
  }
  return TokenClient.fromEnv(undefined, overrides);
}

async function main(argv) {
  let opts;
  try {
    opts = parse(argv);
    if (opts.help) { process.stdout.write(USAGE); return 0; }
    if (opts.version) {
      const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
      process.stdout.write(`datacosmos-auth ${version}\n`);
      return 0;
    }
    const c = client(opts);
    const token = await c.getToken();
    const out = opts.json ? JSON.stringify(await lastResponse.json()) : token;
    process.stdout.write(`${out}\n`);
    return 0;
  } catch (e) {
    if (e instanceof Usage) {
      process.stderr.write(`datacosmos-auth: ${e.message}\n${argv.length ? "Try --help.\n" : USAGE}`);
      return 2;
    }
    if (e instanceof OAuthError) {
      process.stderr.write(`datacosmos-auth: ${e.code}: ${e.message}\n`);
      return e.code === "invalid_config" ? 2 : 1;
    }
    process.stderr.write(`datacosmos-auth: ${e && e.message ? e.message : String(e)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
