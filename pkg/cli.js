#!/usr/bin/env node
// datacosmos-auth token | proxy | exec -- CMD | login | logout: the DataCosmos access
// token for the command line and for tools that cannot run an OAuth exchange themselves.
//
// Exit status comes from where an error arose, never from a code a server chose:
// 2 for anything found before a request is sent (usage, credentials, config thrown
// synchronously by the TokenClient constructor, fromCredentials or fromEnv, no user
// session), 1 for a failed exchange (whatever its `code`). Everything printed is
// redacted (every form of the client secret, the refresh token) and has its control
// characters escaped.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { OAuthError, TokenClient, UserLogin } from "./node.js";
import { DEFAULT_AUTHORIZE_URL, DEFAULT_REVOCATION_URL, DEFAULT_USER_SCOPE } from "./login.js";
import { createProxy, escapeControls, hostOf, isLoopbackHost, parseTarget } from "./proxy.js";
import { FORMAT, STORAGE_KEY, TokenFile, TokenFileError, tokenFilePath } from "./token-file.js";

const USAGE = `Usage: datacosmos-auth <command> [options]

Commands:
  token [--json | --header]   print an access token for the DataCosmos APIs
                              (OAuth 2.0 client credentials)
  proxy                       a local reverse proxy adding the token to every request
  exec -- CMD [ARGS...]       run CMD with DATACOSMOS_ACCESS_TOKEN set and without
                              the client secret variables
  login                       log in as a user in the browser (authorization code
                              with PKCE, RFC 8252 loopback redirect); keeps the
                              session in the token file
  token --user                print the logged-in user's access token (renewed with
                              the refresh token when due)
  logout                      revoke the refresh token and delete the token file
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

login:
  --client-id ID      the public application's client id (else DATACOSMOS_USER_CLIENT_ID)
  --port N            port of the loopback redirect URI (default 0: a free one);
                      the redirect URI is http://HOST:PORT/oauth/callback
  --host HOST         127.0.0.1 (default), ::1 or localhost
  --authorize-url URL authorization endpoint (default https://login.open-cosmos.com/authorize)
  --token-url URL     token endpoint (default https://login.open-cosmos.com/oauth/token)
  --revocation-url URL  revocation endpoint (default https://login.open-cosmos.com/oauth/revoke)
  --audience AUD      audience (default https://beeapp.open-cosmos.com)
  --scope SCOPE       scope (default "openid profile email offline_access")
  --no-browser        only print the URL to open (also when DATACOSMOS_NO_BROWSER or CI is set)
  --timeout SECONDS   how long to wait for the login (default 300)

login, token --user, logout:
  --token-file FILE   the token file (default $XDG_CONFIG_HOME/datacosmos-auth/user.json,
                      else ~/.config/datacosmos-auth/user.json; %APPDATA% on Windows;
                      or DATACOSMOS_USER_TOKEN_FILE)

  -h, --help          show this help
  -v, --version       show the version

Environment: DATACOSMOS_CLIENT_ID, DATACOSMOS_CLIENT_SECRET, DATACOSMOS_AUDIENCE,
DATACOSMOS_TOKEN_URL, DATACOSMOS_SCOPE (or the SDK's AUTHENTICATION__* names, then
OC_AUTH_CLIENT_ID, OC_AUTH_CLIENT_SECRET). DATACOSMOS_TOKEN_URL and DATACOSMOS_SCOPE
also apply with --credentials. Without client credentials (variables or a file), a
static token from DATACOSMOS_USER_TOKEN, else DATACOSMOS_ACCESS_TOKEN, is used as it
is until its JWT exp (then exit 1, token_expired).
User login: DATACOSMOS_USER_CLIENT_ID, DATACOSMOS_AUTHORIZE_URL, DATACOSMOS_TOKEN_URL,
DATACOSMOS_REVOCATION_URL (the options win); token --user and logout read the
settings kept in the token file at login.

Exit status: 0 success; 1 OAuth, HTTP or network error (login: also a refused or
forged callback, or the timeout; token --user: a refused refresh token, invalid_grant:
log in again); 2 bad usage, missing or unreadable credentials, invalid config, not
logged in. exec: the command's status (128 + signal
number when a signal ended it).

Examples:
  curl -H "Authorization: Bearer $(npx datacosmos-auth token --credentials data_cosmos_api_credentials.json)" \\
    https://app.open-cosmos.com/api/data/v0/stac/collections
  npx datacosmos-auth token --header | curl -H @- https://app.open-cosmos.com/api/data/v0/stac/collections
  npx datacosmos-auth proxy --cors http://localhost:8080
  npx datacosmos-auth exec -- python my_script.py
  npx datacosmos-auth login --client-id YOUR_APP_CLIENT_ID
  curl -H "Authorization: Bearer $(npx datacosmos-auth token --user)" https://app.open-cosmos.com/api/data/v0/stac/collections
`;

/** Bad usage or credentials found before any request: exit 2. */
class Usage extends Error {}
/** No user session (not logged in, an unreadable token file): exit 2, no usage hint. */
class NoSession extends Error {}

const CLIENT_OPTIONS = ["credentials", "token-url", "audience", "scope"];
const OPTIONS = {
  credentials: { type: "string" },
  "token-url": { type: "string" },
  audience: { type: "string" },
  scope: { type: "string" },
  json: { type: "boolean" },
  header: { type: "boolean" },
  user: { type: "boolean" },
  port: { type: "string" },
  host: { type: "string", default: "127.0.0.1" },
  "allow-remote": { type: "boolean" },
  target: { type: "string", default: "https://app.open-cosmos.com" },
  cors: { type: "string", multiple: true, default: [] },
  "client-id": { type: "string" },
  "authorize-url": { type: "string" },
  "revocation-url": { type: "string" },
  "no-browser": { type: "boolean" },
  timeout: { type: "string" },
  "token-file": { type: "string" },
};
const COMMANDS = {
  token: [...CLIENT_OPTIONS, "json", "header", "user", "token-file"],
  proxy: [...CLIENT_OPTIONS, "port", "host", "allow-remote", "target", "cors"],
  exec: CLIENT_OPTIONS,
  login: ["client-id", "port", "host", "authorize-url", "token-url", "revocation-url", "audience", "scope",
    "no-browser", "timeout", "token-file"],
  logout: ["token-file"],
};
/** Options of `token` that `token --user` takes from the token file instead. */
const NOT_USER = CLIENT_OPTIONS;
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
  if (command === undefined) throw new Usage("missing command (token, proxy, exec, login, logout)");
  if (!Object.hasOwn(COMMANDS, command)) throw new Usage(`unknown command ${command}`);
  if (extra.length > 0) throw new Usage(`unexpected argument ${extra[0]}`);
  for (const { kind, name } of tokens) {
    if (kind !== "option") continue;
    if (!COMMANDS[command].includes(name)) throw new Usage(`--${name} is not an option of ${command}`);
    const value = values[name];
    if (value === "" || (Array.isArray(value) && value.includes(""))) throw new Usage(`--${name} needs a value`);
  }
  if (values.user) {
    const other = NOT_USER.find((name) => values[name] !== undefined);
    if (other) throw new Usage(`--${other} does not go with --user: token --user uses the settings kept at login`);
  }
  if (values["token-file"] !== undefined && command === "token" && !values.user) throw new Usage("--token-file goes with --user");
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

/** The token info, checked: VSCHAR (RFC 6749 §A.12), type Bearer (RFC 6750). */
async function checkedInfo(client) {
  const info = await client.getTokenInfo();
  if (!/^[\x20-\x7e]+$/.test(info.accessToken)) throw new Exchange("invalid_response: the access token has characters outside VSCHAR (RFC 6749 §A.12)");
  if (String(info.tokenType).toLowerCase() !== "bearer") throw new Exchange(`invalid_response: token_type ${info.tokenType} is not Bearer`);
  return info;
}

const checkedToken = async (client) => (await checkedInfo(client)).accessToken;

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

/** The --port value as a number (0 to 65535); throws Usage. */
function portNumber(value) {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new Usage(`--port must be a port number, not ${value}`);
  return Number(value);
}

/** Checks the proxy options (exit 2 on any problem); returns what `proxy` needs. */
function proxyOptions(values) {
  const port = portNumber(values.port ?? "8787");
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
  return { port, host: values.host, remote: !isLoopbackHost(values.host), target, cors: values.cors };
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

// ---- User login (RFC 6749 §4.1 + PKCE, RFC 8252 loopback redirect) ---------------------

const DEFAULT_TOKEN_URL = "https://login.open-cosmos.com/oauth/token";
const DEFAULT_AUDIENCE = "https://beeapp.open-cosmos.com";
const CALLBACK_PATH = "/oauth/callback";
const LOGIN_HOSTS = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** The token file named by --token-file, DATACOSMOS_USER_TOKEN_FILE or the config directory. */
const tokenFile = (values) => new TokenFile(tokenFilePath(values["token-file"] === undefined ? process.env
  : { ...process.env, DATACOSMOS_USER_TOKEN_FILE: values["token-file"] }));

/** The file's session (loaded, under the lock or not), else NoSession. */
function loadSession(file) {
  let data;
  try {
    data = file.load();
  } catch (e) {
    throw new NoSession(e.message);
  }
  if (data === null || typeof data.refresh_token !== "string") {
    throw new NoSession(`not logged in (no session in ${file.path}): run datacosmos-auth login`);
  }
  redact = redactor([], [data.refresh_token]);
  return data;
}

/** A UserLogin over the token file, with the settings kept at login. */
function sessionLogin(file) {
  const d = file.data;
  const text = (v) => (typeof v === "string" ? v : undefined);
  return new UserLogin({
    clientId: d.client_id,
    redirectUri: text(d.redirect_uri) ?? `http://127.0.0.1${CALLBACK_PATH}`,
    authorizeUrl: text(d.authorize_url) ?? DEFAULT_AUTHORIZE_URL,
    tokenUrl: text(d.token_url) ?? DEFAULT_TOKEN_URL,
    revocationUrl: text(d.revocation_url) ?? DEFAULT_REVOCATION_URL,
    audience: d.audience === null ? null : text(d.audience) ?? DEFAULT_AUDIENCE,
    scope: text(d.scope) ?? DEFAULT_USER_SCOPE,
    storage: file.storage(),
    storageKey: STORAGE_KEY,
    transientStorage: null,
  });
}

/** Runs `f` holding the token file's cross-process lock; a lock that cannot be had is exit 1. */
async function locked(file, f) {
  let release;
  try {
    release = await file.lock();
  } catch (e) {
    throw new Exchange(e.message);
  }
  try {
    return await f();
  } finally {
    await release().catch(() => {});
  }
}

/**
 * token --user: read the file, restore the session, print the access token. The whole
 * read → maybe refresh → write runs under the lock: a second process waits, then reads
 * the token (and the rotated refresh token) the first one wrote.
 */
async function tokenUser(values) {
  const file = tokenFile(values);
  loadSession(file);
  return locked(file, async () => {
    loadSession(file);
    const client = await sessionLogin(file).restore();
    if (!client) throw new NoSession(`not logged in (no session in ${file.path}): run datacosmos-auth login`);
    try {
      const info = await checkedInfo(client);
      const { accessToken } = info;
      if (file.writeError) complain(`warning: cannot write ${file.path}: ${file.writeError.code ?? file.writeError.message}`);
      if (values.header) return say(`Authorization: Bearer ${accessToken}`);
      if (!values.json) return say(accessToken);
      // The token response's shape (RFC 6749 §5.1), never the refresh token.
      const expiresIn = Math.max(0, Math.floor((info.expiresAt - Date.now()) / 1000));
      return say(JSON.stringify({ access_token: accessToken, token_type: info.tokenType, expires_in: expiresIn,
        ...(info.scope === undefined ? {} : { scope: info.scope }) }));
    } catch (e) {
      if (e instanceof OAuthError && e.code === "invalid_grant") {
        throw new Exchange(`${describe(e)} (the refresh token was refused: revoked or expired; run datacosmos-auth login again)`);
      }
      throw e;
    } finally {
      client.free();
    }
  });
}

/** logout: revoke the refresh token (RFC 7009, best effort) and delete the file. */
async function logout(values) {
  const file = tokenFile(values);
  if (!existsSync(file.path)) return complain(`not logged in (no session in ${file.path})`);
  return locked(file, async () => {
    let data;
    try {
      data = file.load();
    } catch (e) {
      // Not ours (--token-file on another file) or damaged: never deleted by logout.
      throw new NoSession(`${e.message}: not deleted`);
    }
    if (data === null) {
      complain(`not logged in (no session in ${file.path})`);
      return;
    }
    if (typeof data.refresh_token === "string") redact = redactor([], [data.refresh_token]);
    const { revoked } = await sessionLogin(file).logout();
    file.remove();
    complain(`logged out (${file.path} deleted; ${revoked
      ? "refresh token revoked"
      : "the refresh token could not be revoked: it stays valid at the server until it expires"})`);
  });
}

/** The login options, checked (Usage on any problem). */
function loginOptions(values) {
  const clientId = values["client-id"] ?? env("DATACOSMOS_USER_CLIENT_ID");
  if (!clientId) throw new Usage("login needs the application's client id: --client-id ID or DATACOSMOS_USER_CLIENT_ID");
  const host = values.host;
  if (!LOGIN_HOSTS.test(host)) throw new Usage(`--host must be a loopback address (127.0.0.1, ::1 or localhost), not ${host}`);
  const timeout = values.timeout ?? "300";
  if (!/^\d+(\.\d+)?$/.test(timeout) || Number(timeout) <= 0 || Number(timeout) > 86400) {
    throw new Usage(`--timeout must be seconds (more than 0, at most 86400), not ${timeout}`);
  }
  const file = tokenFile(values);
  try {
    file.load(); // a file there that is not a session file is never replaced
  } catch (e) {
    throw new NoSession(`${e.message}: not replaced`);
  }
  return {
    port: portNumber(values.port ?? "0"),
    host,
    timeoutMs: Number(timeout) * 1000,
    browser: !values["no-browser"] && !env("DATACOSMOS_NO_BROWSER") && !env("CI"),
    file,
    settings: {
      client_id: clientId,
      authorize_url: values["authorize-url"] ?? env("DATACOSMOS_AUTHORIZE_URL") ?? DEFAULT_AUTHORIZE_URL,
      token_url: values["token-url"] ?? env("DATACOSMOS_TOKEN_URL") ?? DEFAULT_TOKEN_URL,
      revocation_url: values["revocation-url"] ?? env("DATACOSMOS_REVOCATION_URL") ?? DEFAULT_REVOCATION_URL,
      audience: values.audience ?? DEFAULT_AUDIENCE,
      scope: values.scope ?? DEFAULT_USER_SCOPE,
    },
  };
}

/** Opens `url` in the system browser, detached; any failure is ignored (the URL is printed). */
function openBrowser(url) {
  const [command, args] = process.platform === "darwin" ? ["open", [url]]
    : process.platform === "win32" ? ["rundll32", ["url.dll,FileProtocolHandler", url]]
      : ["xdg-open", [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: "ignore" });
    child.once("error", () => {});
    child.unref();
  } catch {
    // No browser here: the printed URL is the way.
  }
}

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, text) {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title></head>\n`
    + `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>\n`;
}

/**
 * login: a one-shot loopback HTTP server (RFC 8252 §7.3) for the redirect URI
 * http://HOST:PORT/oauth/callback; the authorization URL printed and opened; the first
 * GET of the callback path with this login's state is the login's outcome (without it:
 * 400, and the login waits on; any other path is 404).
 */
async function login(options) {
  const { host, port, timeoutMs, file, settings } = options;
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  }).catch((e) => {
    throw new Exchange(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`);
  });
  const shown = host.includes(":") ? `[${host}]` : host;
  const redirectUri = `http://${shown}:${server.address().port}${CALLBACK_PATH}`;
  try {
    file.data = { version: FORMAT, ...settings, redirect_uri: redirectUri };
    const userLogin = sessionLogin(file);
    const url = await userLogin.authorizationUrl();
    const state = new URL(url).searchParams.get("state");
    process.stderr.write(`Open this URL to log in: ${clean(url)}\n`);
    if (options.browser) openBrowser(url);
    const error = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(new Exchange(`timeout: no login completed within ${timeoutMs / 1000} s`)), timeoutMs);
      let taken = false;
      server.on("request", (req, res) => {
        const target = new URL(req.url ?? "/", redirectUri);
        if (taken || req.method !== "GET" || target.pathname !== CALLBACK_PATH) {
          res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found\n");
          return;
        }
        // Any local process or page can reach this port: a callback without this login's
        // state is refused and the login goes on waiting for the real one (it cannot be
        // ended, or fed a code, by a guess).
        if (target.searchParams.getAll("state").length !== 1 || target.searchParams.get("state") !== state) {
          res.writeHead(400, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
            .end(page("Not this login", "state_mismatch: this callback is not for the login in progress in the terminal."));
          return;
        }
        taken = true;
        clearTimeout(timer);
        complete(file, userLogin, target.href).then((failure) => {
          const [status, body] = failure
            ? [400, page("Login failed", `${describe(failure)}. Return to the terminal.`)]
            : [200, page("Logged in", "Logged in; you can close this tab and return to the terminal.")];
          res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", connection: "close" });
          res.end(body, () => resolve(failure));
        });
      });
    });
    // A refused callback is the server's (or a forger's) word: exit 1 whatever code it
    // names, never the exit 2 of an invalid_config found before any request.
    if (error) throw error instanceof Exchange ? error : new Exchange(describe(error));
    complain(`logged in; the session is in ${file.path}`);
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

/** Completes the login from the callback URL under the file's lock; resolves the error or null. */
async function complete(file, userLogin, callbackUrl) {
  try {
    await locked(file, async () => {
      // An earlier session of the same application at the same server, as it is on disk
      // now (a `token --user` during the browser wait may have rotated its refresh
      // token): UserLogin revokes that refresh token once this login has succeeded.
      let previous;
      try {
        previous = new TokenFile(file.path).load();
      } catch {
        previous = null; // not a session file: nothing to revoke
      }
      if (typeof previous?.refresh_token === "string" && previous.client_id === file.data.client_id
        && previous.revocation_url === file.data.revocation_url) {
        file.data.refresh_token = previous.refresh_token;
      }
      let client;
      try {
        client = await userLogin.handleCallback(callbackUrl);
        if (file.writeError) throw new Exchange(`cannot write ${file.path}: ${file.writeError.code ?? file.writeError.message}`);
        if (typeof file.data.refresh_token !== "string") {
          throw new Exchange("invalid_response: the authorization server gave no refresh token (offline_access in the scope?)");
        }
        redact = redactor([], [file.data.refresh_token]);
      } catch (e) {
        // Nothing half made stays behind.
        if (client) file.remove();
        throw e;
      } finally {
        client?.free();
      }
    });
    return null;
  } catch (e) {
    return e;
  }
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
    if (parsed.command === "login") options = loginOptions(parsed.values);
    else if (parsed.command !== "logout" && !parsed.values.user) client = makeClient(parsed.values, parsed.values.json ? { fetch: keepingFetch } : {});
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
    if (parsed.command === "token") await (parsed.values.user ? tokenUser(parsed.values) : token(client, parsed.values));
    else if (parsed.command === "login") await login(options);
    else if (parsed.command === "logout") await logout(parsed.values);
    else if (parsed.command === "exec") return await exec(client, parsed.rest);
    else return await proxy(client, options);
    return 0;
  } catch (e) {
    complain(describe(e));
    return e instanceof NoSession || (e instanceof OAuthError && e.code === "invalid_config" && e.status === undefined) ? 2 : 1;
  }
}

function describe(e) {
  if (e instanceof OAuthError) return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
  return e && e.message ? e.message : String(e);
}

process.exitCode = await main(process.argv.slice(2));
