#!/usr/bin/env node
// datacosmos-auth token | proxy | exec -- CMD: the DataCosmos access token for the
// command line and for tools that cannot run an OAuth exchange themselves.
//
// Exit status comes from where an error arose, never from a code a server chose:
// 2 for anything found before a request is sent (usage, credentials, config thrown
// synchronously by the TokenClient constructor, fromCredentials or fromEnv), 1 for a
// failed exchange (whatever its `code`). Everything printed is redacted (every form of
// the client secret) and has its control characters escaped.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { OAuthError, TokenClient } from "./node.js";
import { createProxy, escapeControls, hostOf, isLoopbackHost, parseTarget } from "./proxy.js";

const USAGE = `Usage: datacosmos-auth <command> [options]

Commands:
  token [--json | --header]   print an access token for the DataCosmos APIs
                              (OAuth 2.0 client credentials)
  proxy                       a local reverse proxy adding the token to every request
  exec -- CMD [ARGS...]       run CMD with DATACOSMOS_ACCESS_TOKEN set and without
                              the client secret variables
  help                        show this help

Credentials (every command):
  --credentials FILE  the DataCosmos credentials file
                      ({"client_id", "client_secret", "audience", "grant_type"});
                      default: the environment, else ./data_cosmos_api_credentials.json
  --token-url URL     token endpoint (default https://login.open-cosmos.com/oauth/token)
  --audience AUD      audience (default https://beeapp.open-cosmos.com)
  --scope SCOPE       scope to request

token:
  --json              print the token endpoint's JSON response on one line
                      (any form of the client secret in it is replaced by [redacted])
  --header            print "Authorization: Bearer <token>" (for curl -H @-)

proxy:
  --port N            port to listen on (default 8787; 0 picks a free one)
  --host HOST         address to listen on (default 127.0.0.1; loopback only
                      unless --allow-remote)
  --allow-remote      allow a non-loopback --host: anyone who reaches it uses your token
  --target URL        where requests go (default https://app.open-cosmos.com)
  --cors ORIGIN       answer CORS for pages of this origin (repeatable)

  -h, --help          show this help
  -v, --version       show the version

Environment: DATACOSMOS_CLIENT_ID, DATACOSMOS_CLIENT_SECRET, DATACOSMOS_AUDIENCE,
DATACOSMOS_TOKEN_URL, DATACOSMOS_SCOPE (or the SDK's AUTHENTICATION__* names, then
OC_AUTH_CLIENT_ID, OC_AUTH_CLIENT_SECRET). DATACOSMOS_TOKEN_URL and DATACOSMOS_SCOPE
also apply with --credentials. Without client credentials (variables or a file), a
static token from DATACOSMOS_USER_TOKEN, else DATACOSMOS_ACCESS_TOKEN, is used as it
is until its JWT exp (then exit 1, token_expired).

Exit status: 0 success; 1 OAuth, HTTP or network error; 2 bad usage, missing or
unreadable credentials, invalid config. exec: the command's status (128 + signal
number when a signal ended it).

Examples:
  curl -H "Authorization: Bearer $(npx datacosmos-auth token --credentials data_cosmos_api_credentials.json)" \\
    https://app.open-cosmos.com/api/data/v0/stac/collections
  npx datacosmos-auth token --header | curl -H @- https://app.open-cosmos.com/api/data/v0/stac/collections
  npx datacosmos-auth proxy --cors http://localhost:8080
  npx datacosmos-auth exec -- python my_script.py
`;

/** Bad usage or credentials found before any request: exit 2. */
class Usage extends Error {}

const CLIENT_OPTIONS = ["credentials", "token-url", "audience", "scope"];
const OPTIONS = {
  credentials: { type: "string" },
  "token-url": { type: "string" },
  audience: { type: "string" },
  scope: { type: "string" },
  json: { type: "boolean" },
  header: { type: "boolean" },
  user: { type: "boolean" },
  port: { type: "string", default: "8787" },
  host: { type: "string", default: "127.0.0.1" },
  "allow-remote": { type: "boolean" },
  target: { type: "string", default: "https://app.open-cosmos.com" },
  cors: { type: "string", multiple: true, default: [] },
};
const COMMANDS = {
  token: [...CLIENT_OPTIONS, "json", "header", "user"],
  proxy: [...CLIENT_OPTIONS, "port", "host", "allow-remote", "target", "cors"],
  exec: CLIENT_OPTIONS,
};
const LATER = new Set(["login", "logout"]);
const ID_VARS = ["DATACOSMOS_CLIENT_ID", "AUTHENTICATION__CLIENT_ID", "OC_AUTH_CLIENT_ID"];
/** Never passed to `exec`'s command. */
const SECRET_VARS = ["DATACOSMOS_CLIENT_SECRET", "AUTHENTICATION__CLIENT_SECRET", "OC_AUTH_CLIENT_SECRET"];
/** A static token (API.md fromEnv): used when no client credentials are found. */
const TOKEN_VARS = ["DATACOSMOS_USER_TOKEN", "DATACOSMOS_ACCESS_TOKEN"];
const DEFAULT_FILE = "data_cosmos_api_credentials.json";

// Everything printed goes through `clean`: the secret's forms redacted, then control
// characters escaped. `redact` learns the secrets once the credentials are read.
let redact = (text) => text;
const clean = (text) => escapeControls(redact(String(text)));
const say = (text) => process.stdout.write(`${clean(text)}\n`);
const complain = (text) => process.stderr.write(`datacosmos-auth: ${clean(text)}\n`);

function env(name) {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
}

/** Parses argv into { command, values, rest } or { help } / { version }; throws Usage. */
function parse(argv) {
  const dash = argv.indexOf("--");
  const head = dash < 0 ? argv : argv.slice(0, dash);
  if (head.includes("-h") || head.includes("--help") || head[0] === "help") return { help: true };
  if (head.includes("-v") || head.includes("--version")) return { version: true };
  let parsed;
  try {
    parsed = parseArgs({ args: head, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new Usage(e.message);
  }
  const { values, positionals, tokens } = parsed;
  const [command, ...extra] = positionals;
  if (command === undefined) throw new Usage("missing command (token, proxy, exec)");
  if (LATER.has(command)) throw new Usage(`${command} is not available yet (user login comes in a later version); use client credentials`);
  if (!Object.hasOwn(COMMANDS, command)) throw new Usage(`unknown command ${command}`);
  if (extra.length > 0) throw new Usage(`unexpected argument ${extra[0]}`);
  for (const { kind, name } of tokens) {
    if (kind !== "option") continue;
    if (!COMMANDS[command].includes(name)) throw new Usage(`--${name} is not an option of ${command}`);
    const value = values[name];
    if (value === "" || (Array.isArray(value) && value.includes(""))) throw new Usage(`--${name} needs a value`);
  }
  if (values.user) throw new Usage("token --user is not available yet (user login comes in a later version)");
  if (values.json && values.header) throw new Usage("--json and --header exclude each other");
  const rest = dash < 0 ? null : argv.slice(dash + 1);
  if (command === "exec" && (rest === null || rest.length === 0)) throw new Usage("exec needs a command after --: exec -- CMD [ARGS...]");
  if (command !== "exec" && rest !== null) throw new Usage(`unexpected -- after ${command}`);
  return { command, values, rest };
}

/**
 * Every form of the secrets a printed text could carry, replaced by "[redacted]": raw,
 * URI percent-encoding (either hex case), form encoding, JSON and HTML escaping,
 * base64/base64url of the secret and of the Basic credential `id:secret` (RFC 6749
 * §2.3.1). Text that passed through JSON.parse is already unescaped; this covers the
 * encodings that survive it.
 */
function redactor(ids, secrets) {
  const forms = new Set();
  const b64 = (s) => [Buffer.from(s).toString("base64").replace(/=+$/, ""), Buffer.from(s).toString("base64url")];
  const formEncode = (s) => new URLSearchParams([["", s]]).toString().slice(1);
  for (const secret of secrets) {
    forms.add(secret).add(encodeURIComponent(secret)).add(formEncode(secret)).add(JSON.stringify(secret).slice(1, -1));
    forms.add(secret.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)).add(secret.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"));
    for (const form of b64(secret)) forms.add(form);
    for (const id of ids) {
      for (const form of [...b64(`${id}:${secret}`), ...b64(`${formEncode(id)}:${formEncode(secret)}`)]) forms.add(form);
    }
  }
  const patterns = [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%([0-9A-F])([0-9A-F])/g, (_, a, b) => `%[${a}${a.toLowerCase()}][${b}${b.toLowerCase()}]`));
  if (patterns.length === 0) return (text) => text;
  const re = new RegExp(patterns.join("|"), "g");
  return (text) => String(text).replace(re, "[redacted]");
}

/** A TokenClient from the options, the environment or ./data_cosmos_api_credentials.json. */
function makeClient(values, overrides = {}) {
  const tokenUrl = values["token-url"] ?? env("DATACOSMOS_TOKEN_URL") ?? env("AUTHENTICATION__TOKEN_URL");
  const scope = values.scope ?? env("DATACOSMOS_SCOPE");
  if (tokenUrl) overrides.tokenUrl = tokenUrl;
  if (scope) overrides.scope = scope;
  if (values.audience) overrides.audience = values.audience;
  const fromEnv = ID_VARS.some(env);
  let file = values.credentials;
  if (!file && !fromEnv && existsSync(DEFAULT_FILE)) file = DEFAULT_FILE;
  if (file) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new Usage(`cannot read credentials file ${file}: ${e.code ?? e.message}`);
    }
    learnSecrets(text);
    return TokenClient.fromCredentials(text, overrides);
  }
  if (!fromEnv && !TOKEN_VARS.some(env)) {
    throw new Usage("no credentials: pass --credentials FILE, set DATACOSMOS_CLIENT_ID and DATACOSMOS_CLIENT_SECRET, or set DATACOSMOS_USER_TOKEN");
  }
  // A static token (fromEnv decides: client credentials win) has no endpoint response.
  if (!fromEnv && values.json) throw new Usage("--json prints the token endpoint's response; a static token has none");
  learnSecrets(null);
  return TokenClient.fromEnv(undefined, overrides);
}

function learnSecrets(fileText) {
  const ids = ID_VARS.map(env).filter(Boolean);
  const secrets = SECRET_VARS.map(env).filter(Boolean);
  if (fileText !== null) {
    try {
      const file = JSON.parse(fileText);
      if (typeof file?.client_id === "string" && Object.hasOwn(file, "client_id")) ids.push(file.client_id);
      if (typeof file?.client_secret === "string" && Object.hasOwn(file, "client_secret")) secrets.push(file.client_secret);
    } catch {
      // Not JSON: fromCredentials rejects it (without echoing it).
    }
  }
  redact = redactor(ids, secrets);
}

/** The access token, checked: VSCHAR (RFC 6749 §A.12), type Bearer (RFC 6750). */
async function checkedToken(client) {
  const info = await client.getTokenInfo();
  if (!/^[\x20-\x7e]+$/.test(info.accessToken)) throw new Exchange("invalid_response: the access token has characters outside VSCHAR (RFC 6749 §A.12)");
  if (String(info.tokenType).toLowerCase() !== "bearer") throw new Exchange(`invalid_response: token_type ${info.tokenType} is not Bearer`);
  return info.accessToken;
}

/** A failure of the exchange found by the CLI itself: exit 1. */
class Exchange extends Error {}

// With --json the token endpoint's answer is printed as received (redacted): the
// fetch the client uses keeps a copy of the last response.
let lastResponse;
const keepingFetch = async (url, init) => {
  const res = await fetch(url, init);
  lastResponse = res.clone();
  return res;
};

/** The JSON value with every string (keys too) redacted, own properties only. */
function redactJson(value) {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactJson(v)]));
  }
  return value;
}

async function token(client, values) {
  const accessToken = await checkedToken(client);
  if (values.header) return say(`Authorization: Bearer ${accessToken}`);
  if (!values.json) return say(accessToken);
  let body;
  try {
    body = JSON.parse(await lastResponse.text());
  } catch {
    throw new Exchange("invalid_response: the token endpoint's answer is not JSON");
  }
  // JSON.stringify escapes C0 controls; DEL and C1 become \u escapes (still valid JSON).
  const line = JSON.stringify(redactJson(body)).replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return say(line);
}

async function exec(client, command) {
  const accessToken = await checkedToken(client);
  const childEnv = { ...process.env, DATACOSMOS_ACCESS_TOKEN: accessToken };
  for (const name of SECRET_VARS) delete childEnv[name];
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: "inherit", env: childEnv });
    const forward = (signal) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const done = (status) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve(status);
    };
    child.once("error", (e) => {
      complain(`cannot run ${command[0]}: ${e.code ?? e.message}`);
      done(e.code === "ENOENT" ? 127 : 126);
    });
    child.once("exit", (code, signal) => done(signal ? 128 + (constants.signals[signal] ?? 0) : code));
  });
}

/** Checks the proxy options (exit 2 on any problem); returns what `proxy` needs. */
function proxyOptions(values) {
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw new Usage(`--port must be a port number, not ${values.port}`);
  if (!isLoopbackHost(values.host) && !values["allow-remote"]) {
    throw new Usage(`refusing to listen on ${values.host}, which is not loopback: anyone who can reach it would use your token. Pass --allow-remote to do it anyway`);
  }
  let target;
  try {
    target = parseTarget(values.target);
  } catch (e) {
    throw new Usage(`--target: ${e.message}`);
  }
  for (const origin of values.cors) {
    let parsed = null;
    try {
      parsed = new URL(origin).origin;
    } catch {
      // reported below
    }
    if (parsed !== origin) throw new Usage(`--cors takes an origin such as http://localhost:8080, not ${origin}`);
  }
  return { port: Number(values.port), host: values.host, remote: !isLoopbackHost(values.host), target, cors: values.cors };
}

async function proxy(client, { port, host, remote, target, cors }) {
  const { handle, close } = createProxy({
    client,
    target,
    cors,
    // Bound to loopback, only loopback Host names are served (no DNS rebinding).
    allowHost: remote ? undefined : (value) => value === undefined || isLoopbackHost(hostOf(value) ?? ""),
    log: (line) => process.stderr.write(`${clean(line)}\n`),
  });
  if (remote) complain(`warning: listening on ${host}: anyone who can reach this address uses your DataCosmos token`);
  const server = http.createServer({ requestTimeout: 0 }, handle);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  }).catch((e) => {
    throw new Exchange(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`);
  });
  const address = server.address();
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  complain(`proxy listening on http://${shown}:${address.port} -> ${target.href.replace(/\/$/, "")}`);
  return new Promise((resolve) => {
    const stop = () => {
      server.close(() => resolve(0));
      server.closeAllConnections();
      close();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

async function main(argv) {
  let parsed;
  let client;
  let options;
  // Before any request: usage, credentials and config. Whatever fails here is exit 2.
  try {
    parsed = parse(argv);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (parsed.version) {
      const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
      say(`datacosmos-auth ${version}`);
      return 0;
    }
    if (parsed.command === "proxy") options = proxyOptions(parsed.values);
    client = makeClient(parsed.values, parsed.values.json ? { fetch: keepingFetch } : {});
  } catch (e) {
    if (e instanceof Usage) {
      complain(e.message);
      if (!argv.length) process.stderr.write(USAGE);
      else process.stderr.write("Try --help.\n");
    } else {
      complain(describe(e));
    }
    return 2;
  }
  // The exchange and what follows: exit 1, whatever code the server chose. Only the
  // library's own invalid_config found before any answer (no HTTP status) is exit 2.
  try {
    if (parsed.command === "token") await token(client, parsed.values);
    else if (parsed.command === "exec") return await exec(client, parsed.rest);
    else return await proxy(client, options);
    return 0;
  } catch (e) {
    complain(describe(e));
    return e instanceof OAuthError && e.code === "invalid_config" && e.status === undefined ? 2 : 1;
  }
}

function describe(e) {
  if (e instanceof OAuthError) return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
  return e && e.message ? e.message : String(e);
}

process.exitCode = await main(process.argv.slice(2));
