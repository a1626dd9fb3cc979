// The authenticating reverse proxy behind `datacosmos-auth proxy` and the
// `datacosmos-auth/vite` plugin (Node.js only; not an entry of its own).
//
// Every request is forwarded to `target` with `Authorization: Bearer <token>` from a
// TokenClient. Bodies stream both ways with backpressure (node:http + stream.pipeline,
// nothing buffered whole); upstream connections are kept alive (one http(s).Agent).
// On a 401 from upstream the token is renewed once (one renewal for all requests that
// were rejected with the same token) and the request is sent again when its body is
// replayable: no body, or a body with a Content-Length of at most REPLAY_LIMIT bytes,
// which is read into memory before the first attempt. Any other body streams and a 401
// is returned as it is (the renewal still happens, for the next request).
//
// Headers: hop-by-hop fields (RFC 9110 §7.6.1: Connection and the fields it names,
// Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade) are dropped both ways,
// with Proxy-Authorization and Expect; the client's Authorization, Cookie and Origin are
// never forwarded, and upstream Set-Cookie and Access-Control-* never returned (the
// proxy answers CORS itself, for the origins it is given). One log line per request:
// method, path without the query string, status, duration in ms.
import http from "node:http";
import https from "node:https";
import { pipeline } from "node:stream";

/** Largest request body (bytes, from Content-Length) kept in memory to be replayed after a 401. */
export const REPLAY_LIMIT = 1024 * 1024;

const HOP_BY_HOP = ["connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade", "trailer"];
const NOT_FORWARDED = new Set([...HOP_BY_HOP, "host", "authorization", "proxy-authorization", "cookie", "origin", "expect"]);
const NOT_RETURNED = new Set([...HOP_BY_HOP, "set-cookie"]);
const METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const STREAM = Symbol("stream");

/**
 * Escapes C0 controls, DEL and C1 controls as `\xHH`: text from a server or a client
 * never reaches a terminal raw (ESC sequences, BEL, CR overwriting a line).
 */
export function escapeControls(text) {
  return String(text).replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (as API.md defines loopback). */
export function isLoopbackHost(hostname) {
  const name = String(hostname).toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

/** The host name of a Host header value ("h:1", "[::1]:2"), or null when it does not parse. */
export function hostOf(hostHeader) {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return null;
  }
}

/**
 * Validates a proxy target: an absolute http(s) URL without credentials, query or
 * fragment; `http:` only for loopback hosts (the bearer must not cross a network in
 * clear). Returns the URL or throws a TypeError with a message for the user.
 */
export function parseTarget(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`the target ${JSON.stringify(String(text))} is not an absolute URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`the target must be an http(s) URL, not ${url.protocol}`);
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw new TypeError("an http: target is allowed only on loopback (the token would cross the network in clear): use https:");
  }
  if (url.username || url.password || url.search || url.hash) throw new TypeError("the target must not have credentials, a query or a fragment");
  return url;
}

/** A failure to get a token (the client's OAuthError, or an unusable token). */
class NoToken extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The client's header as "Bearer <VSCHAR>" (RFC 6750 §2.1, RFC 6749 §A.12), else NoToken. */
async function bearer(client) {
  let header;
  try {
    header = await client.authorizationHeader();
  } catch (err) {
    throw new NoToken(String(err?.code ?? "error"), String(err?.message ?? err));
  }
  const match = /^bearer ([\x20-\x7e]+)$/i.exec(String(header));
  if (!match) throw new NoToken("invalid_response", "the token is not a usable Bearer token (RFC 6749 §A.12 VSCHAR, RFC 6750)");
  return `Bearer ${match[1]}`;
}

/**
 * A request handler `(req, res) => void` for node:http servers and connect-style
 * middleware stacks (Vite's), forwarding to `target`.
 *
 * @param {object} options
 * @param {{ authorizationHeader(): Promise<string>, clear(): void }} options.client a TokenClient
 * @param {string | URL} options.target upstream base URL (checked with `parseTarget`)
 * @param {string} [options.prefix] the path the handler is mounted on (stripped by the
 *   caller, as connect does), put back in front of rewritten `Location` headers
 * @param {Iterable<string> | ((origin: string) => boolean)} [options.cors] origins whose
 *   pages may use the proxy (CORS answers); a page of another origin gets 403
 * @param {(host: string | undefined) => boolean} [options.allowHost] checks the Host
 *   header (DNS rebinding); absent: every host
 * @param {(line: string, status: number | undefined) => void} [options.log] one line
 *   per request, already escaped, with the status sent (undefined when none was)
 * @returns {{ handle: (req, res) => void, close: () => void }}
 */
export function createProxy({ client, target, prefix = "", cors = [], allowHost, log = () => {} }) {
  const base = parseTarget(target);
  const basePath = base.pathname.replace(/\/+$/, "");
  const transport = base.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true, scheduling: "lifo" });
  const allowed = typeof cors === "function" ? null : new Set(cors);
  const allowOrigin = allowed === null ? cors : (origin) => allowed.has(origin);
  let renewal = null; // { rejected, promise }: one renewal per rejected token

  const tokenHeader = () => bearer(client);

  // A fresh header after upstream rejected `rejected`: shared by every request that
  // was rejected with the same token, and skipped when the client already holds a
  // newer one.
  function renewed(rejected) {
    if (renewal?.rejected !== rejected) {
      const promise = (async () => {
        const current = await tokenHeader();
        if (current !== rejected) return current;
        client.clear();
        return tokenHeader();
      })();
      renewal = { rejected, promise };
    }
    return renewal.promise;
  }

  function handle(req, res) {
    const started = performance.now();
    const path = (req.originalUrl ?? req.url ?? "").split("?")[0];
    let note = "";
    res.once("close", () => {
      const status = res.headersSent ? res.statusCode : undefined;
      log(escapeControls(`${req.method} ${path} ${status ?? "-"} ${Math.round(performance.now() - started)}ms${note}`), status);
    });
    serve(req, res).catch((err) => {
      if (res.headersSent || res.destroyed || !(err instanceof NoToken || err?.upstream)) return res.destroy();
      if (err instanceof NoToken) {
        note = ` (token: ${err.code})`;
        return reply(res, 502, { error: "token_unavailable", error_description: `datacosmos-auth proxy: no token: ${err.message}` });
      }
      note = ` (upstream: ${err.code ?? "error"})`;
      return reply(res, 502, { error: "bad_gateway", error_description: `datacosmos-auth proxy: upstream unreachable (${err.code ?? "error"})` });
    });
  }

  async function serve(req, res) {
    if (allowHost && !allowHost(req.headers.host)) {
      return reply(res, 403, { error: "forbidden", error_description: "datacosmos-auth proxy: this Host is not allowed" });
    }
    const origin = req.headers.origin;
    const corsOrigin = origin !== undefined && allowOrigin(origin) ? origin : null;
    const scheme = req.socket?.encrypted ? "https" : "http";
    const self = `${scheme}://${req.headers.host}`;
    // A page of another origin must not use the token (CSRF): browsers send Origin on
    // every cross-origin request, tools (curl, GDAL, QGIS) send none.
    if (origin !== undefined && corsOrigin === null && origin !== self) {
      return reply(res, 403, { error: "forbidden", error_description: "datacosmos-auth proxy: pages of this Origin may not use the token" });
    }
    // A cross-site GET without Origin (an <img> or <script> of another page) still says
    // where it comes from in Sec-Fetch-Site (fetch metadata); tools send none.
    const site = req.headers["sec-fetch-site"];
    if (origin === undefined && (site === "cross-site" || site === "same-site")) {
      return reply(res, 403, { error: "forbidden", error_description: "datacosmos-auth proxy: requests from other sites may not use the token" });
    }
    if (req.method === "OPTIONS" && corsOrigin !== null && req.headers["access-control-request-method"] !== undefined) {
      res.writeHead(204, {
        "access-control-allow-origin": corsOrigin,
        "access-control-allow-methods": METHODS,
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "",
        "access-control-max-age": "600",
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
      return res.end();
    }
    if (!req.url.startsWith("/")) return reply(res, 400, { error: "invalid_request", error_description: "datacosmos-auth proxy: origin-form request targets only" });

    const body = await replayableBody(req);
    let auth = await tokenHeader();
    let up = await forward(req, body, auth);
    if (up.statusCode === 401) {
      if (body === STREAM) {
        renewed(auth).catch(() => {}); // for the next request; this one cannot be replayed
      } else {
        up.resume();
        auth = await renewed(auth);
        up = await forward(req, body, auth);
      }
    }
    res.writeHead(up.statusCode, responseHeaders(up, req, corsOrigin, self));
    pipeline(up, res, () => {});
  }

  // null: no body; a Buffer: a small body read whole (replayable); STREAM: streamed.
  async function replayableBody(req) {
    const length = req.headers["content-length"];
    if (req.headers["transfer-encoding"] === undefined && length === undefined) return null;
    if (req.headers["transfer-encoding"] !== undefined || Number(length) > REPLAY_LIMIT) return STREAM;
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  function forward(req, body, auth) {
    const headers = requestHeaders(req.headers);
    headers.authorization = auth;
    if (Buffer.isBuffer(body)) headers["content-length"] = String(body.length);
    return new Promise((resolve, reject) => {
      const upReq = transport.request({
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: base.port,
        path: basePath + req.url,
        method: req.method,
        headers: { ...headers, host: base.host },
        agent,
      });
      upReq.once("response", resolve);
      upReq.on("error", (err) => {
        err.upstream = true;
        reject(err);
      });
      if (body === STREAM) pipeline(req, upReq, () => {});
      else upReq.end(body ?? undefined);
    });
  }

  function responseHeaders(up, req, corsOrigin, self) {
    const drop = named(up.headers.connection);
    const headers = {};
    for (const [name, value] of Object.entries(up.headers)) {
      if (NOT_RETURNED.has(name) || drop.has(name) || name.startsWith("access-control-")) continue;
      headers[name] = value;
    }
    if (typeof headers.location === "string") headers.location = rewriteLocation(headers.location, `${self}${prefix}`);
    if (allowed === null || allowed.size > 0) headers.vary = headers.vary ? `${headers.vary}, Origin` : "Origin";
    if (corsOrigin !== null) {
      headers["access-control-allow-origin"] = corsOrigin;
      headers["access-control-expose-headers"] = "*";
    }
    return headers;
  }

  // An upstream redirect to itself points at the proxy instead (else the client would
  // follow it around the proxy, without a token).
  function rewriteLocation(location, local) {
    const upstream = `${base.origin}${basePath}`;
    if (location.startsWith(upstream) && (location.length === upstream.length || /^[/?#]/.test(location.slice(upstream.length)))) {
      return local + location.slice(upstream.length);
    }
    if (location.startsWith("/") && !location.startsWith("//") && (basePath === "" || location.startsWith(`${basePath}/`))) {
      return prefix + location.slice(basePath.length);
    }
    return location;
  }

  return { handle, close: () => agent.destroy() };
}

/** The names listed in a Connection header (RFC 9110 §7.6.1), lower-case. */
function named(connection) {
  return new Set(String(connection ?? "").toLowerCase().split(",").map((s) => s.trim()).filter(Boolean));
}

function requestHeaders(incoming) {
  const drop = named(incoming.connection);
  const headers = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (!NOT_FORWARDED.has(name) && !drop.has(name)) headers[name] = value;
  }
  return headers;
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}
