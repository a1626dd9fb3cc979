// User login: the authorization code grant (RFC 6749 §4.1) of a public client
// (`token_endpoint_auth_method` "none"), with PKCE S256 (RFC 7636) and `state`, then
// refresh tokens (RFC 6749 §6, rotation honoured). The browser redirects to the
// authorization endpoint and back; the CLI (cli.js) listens on a loopback redirect URI
// (RFC 8252 §7.3). The tokens are then served by a TokenClient, the same engine as
// for client credentials (single flight, serve-stale, retries): a session object
// supplies each request's grant and keeps the rotated refresh token (core.js, SESSION).
//
// No wasm here and no secret of the application: what is secret is per user (the code
// verifier, the refresh token), kept in memory unless the caller gives a storage.
// The package's classes come from its registry (core.js `install`), which the entry
// that re-exports UserLogin has filled: one class per process, ESM and CJS alike.
const REGISTRY = Symbol.for("datacosmos-auth/1");
const SESSION = Symbol.for("datacosmos-auth/session");

/** Auth0's authorization endpoint for DataCosmos. */
export const DEFAULT_AUTHORIZE_URL = "https://login.open-cosmos.com/authorize";
/** Auth0's revocation endpoint (RFC 7009) for DataCosmos. */
export const DEFAULT_REVOCATION_URL = "https://login.open-cosmos.com/oauth/revoke";
/** The scopes of the DataCosmos Python SDK's user login: an ID token and a refresh token. */
export const DEFAULT_USER_SCOPE = "openid profile email offline_access";
const DEFAULT_AUDIENCE = "https://beeapp.open-cosmos.com";
const PENDING = "datacosmos-auth:pending:";
// States whose callback is being handled or was handled in this realm: a callback is
// claimed before the first await, so two handleCallback of one callback at once (a
// framework running an effect twice) send its code once (RFC 6749 §4.1.2: a code used
// twice may revoke the grant). One set per realm, whatever the copies of the package
// (the class itself is shared: see the end of this module).
const CLAIMED = new Set();
// Server text kept in an error, as the engine keeps the token endpoint's (1 KiB).
const MAX_TEXT = 1024;
const ownValue = (o, name) => o !== null && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
// Options handed to the TokenClient as they are.
const CLIENT_OPTIONS = ["tokenUrl", "fetch", "onEvent", "waitUntil", "timeoutMs", "maxRetries",
  "refreshLeewaySeconds", "negativeCacheSeconds"];

const fail = (code, message) => new globalThis[REGISTRY].OAuthError(code, message);
const invalid = (message) => fail("invalid_config", `invalid config: ${message}`);

function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const random = (n) => b64url(globalThis.crypto.getRandomValues(new Uint8Array(n)));

/**
 * The PKCE pair of RFC 7636 §4.1–4.2: a code verifier of 43 characters (32 random
 * bytes, base64url) and its S256 code challenge, BASE64URL(SHA-256(verifier)).
 * @returns {Promise<{ codeVerifier: string, codeChallenge: string }>}
 */
export async function pkcePair() {
  // Browsers expose crypto.subtle only in a secure context (https, or http on loopback).
  if (typeof globalThis.crypto?.subtle?.digest !== "function") {
    throw invalid("PKCE needs crypto.subtle, which browsers give only a secure context (https, or http on localhost)");
  }
  const codeVerifier = random(32);
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(codeVerifier));
  return { codeVerifier, codeChallenge: b64url(new Uint8Array(digest)) };
}

// An https URL, or http on a loopback host (RFC 8252 §7.3, and tests).
function checkUrl(name, value) {
  if (typeof value !== "string" || value.length === 0) throw invalid(`${name} must be a non-empty string`);
  let u;
  try {
    u = new URL(value);
  } catch {
    throw invalid(`${name} is not a URL`);
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
    throw invalid(`${name} must be https (http only on a loopback host)`);
  }
  if (u.hash) throw invalid(`${name} must not have a fragment`);
  return value;
}

// An own member of the caller's config (an inherited one, e.g. from a polluted
// Object.prototype, never counts); a getter or Proxy trap that throws is invalid_config.
function member(config, name) {
  try {
    return Object.prototype.hasOwnProperty.call(config, name) ? config[name] : undefined;
  } catch {
    throw invalid(`config.${name} could not be read`);
  }
}

function ownString(config, name, fallback) {
  const v = member(config, name);
  if (v === undefined) return fallback;
  if (typeof v !== "string" || v.length === 0) throw invalid(`${name} must be a non-empty string`);
  return v;
}

// `storage`: the Web Storage interface (getItem, setItem, removeItem), synchronous or
// returning promises (a token file in the CLI).
function checkStorage(name, s) {
  if (s === undefined || s === null) return undefined;
  let methods;
  try {
    methods = typeof s === "object" && ["getItem", "setItem", "removeItem"].every((m) => typeof s[m] === "function");
  } catch {
    throw invalid(`${name} could not be read`); // a getter or Proxy trap that throws
  }
  if (!methods) throw invalid(`${name} must have getItem, setItem and removeItem`);
  return s;
}

// `globalThis.sessionStorage`, or undefined where there is none or reading it throws
// (a sandboxed iframe, a data: URL, storage blocked by the user: a SecurityError).
function ambientSessionStorage() {
  try {
    return globalThis.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * A user's login at DataCosmos (Auth0): authorization code + PKCE, then refresh tokens.
 *
 * ```js
 * const login = new UserLogin({ clientId, redirectUri: `${location.origin}/callback` });
 * if (location.pathname === "/callback") client = await login.handleCallback(location.href);
 * else client = (await login.restore()) ?? (await login.redirect());
 * await client.getToken();
 * ```
 */
class UserLogin {
  #config; #storage; #transient; #key; #pending = new Map(); #client = null;

  /**
   * @param {object} config `clientId` (the public application's id), `redirectUri`
   *   (registered at the authorization server), and optionally `authorizeUrl`,
   *   `tokenUrl`, `revocationUrl`, `audience` (default the DataCosmos API; `null` for
   *   none), `scope` (default "openid profile email offline_access"), `extraParams`
   *   (more authorization request parameters: `prompt`, `organization`…),
   *   `storage` (where the session is kept across page loads: `sessionStorage`; default
   *   memory only), `storageKey`, `transientStorage` (where a pending login's state and
   *   code verifier wait for the callback; default `sessionStorage` where there is one),
   *   and the TokenClient options `fetch`, `onEvent`, `waitUntil`, `timeoutMs`,
   *   `maxRetries`, `refreshLeewaySeconds`, `negativeCacheSeconds`.
   * @throws {OAuthError} `invalid_config`.
   */
  constructor(config) {
    if (config === null || typeof config !== "object") throw invalid("a config object is required");
    const c = Object.create(null);
    c.clientId = ownString(config, "clientId");
    if (c.clientId === undefined) throw invalid("clientId is required");
    c.redirectUri = checkUrl("redirectUri", ownString(config, "redirectUri"));
    c.authorizeUrl = checkUrl("authorizeUrl", ownString(config, "authorizeUrl", DEFAULT_AUTHORIZE_URL));
    c.revocationUrl = checkUrl("revocationUrl", ownString(config, "revocationUrl", DEFAULT_REVOCATION_URL));
    c.scope = ownString(config, "scope", DEFAULT_USER_SCOPE);
    let audience = member(config, "audience");
    if (audience === undefined) audience = DEFAULT_AUDIENCE;
    if (audience !== null && (typeof audience !== "string" || audience.length === 0)) {
      throw invalid("audience must be a non-empty string or null");
    }
    c.audience = audience;
    c.extraParams = Object.create(null);
    const extra = member(config, "extraParams");
    if (extra !== undefined) {
      if (extra === null || typeof extra !== "object") throw invalid("extraParams must be an object");
      let entries;
      try {
        entries = Object.entries(extra);
      } catch {
        throw invalid("extraParams could not be read");
      }
      for (const [k, v] of entries) {
        if (typeof v !== "string") throw invalid(`extraParams.${k} must be a string`);
        if (["response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"].includes(k)) {
          throw invalid(`extraParams may not set \`${k}\``);
        }
        c.extraParams[k] = v;
      }
    }
    c.client = Object.create(null);
    for (const k of CLIENT_OPTIONS) if (member(config, k) !== undefined) c.client[k] = member(config, k);
    this.#storage = checkStorage("storage", member(config, "storage"));
    const transient = member(config, "transientStorage");
    this.#transient = checkStorage("transientStorage", transient === undefined ? ambientSessionStorage() : transient);
    this.#key = ownString(config, "storageKey", `datacosmos-auth:user:${c.clientId}`);
    this.#config = c;
    // The TokenClient's options are checked now (invalid_config here, not at the callback).
    this.#makeClient(null).client.free();
  }

  /**
   * Starts a login: a fresh `state` and PKCE pair (RFC 7636 §4.1–4.3); returns the
   * authorization request URL (RFC 6749 §4.1.1) with `response_type=code`,
   * `client_id`, `redirect_uri`, `scope`, `state`, `code_challenge`,
   * `code_challenge_method=S256`, `audience` and `extraParams`. The state and verifier
   * wait in memory and in `transientStorage` for {@link handleCallback}.
   * @returns {Promise<string>}
   */
  async authorizationUrl() {
    // Where the constructor got a waiting client (the browser entry, its wasm still being
    // compiled: core.js `Pending`), the TokenClient options are checked now, before the
    // user leaves the page: a bad option, or a wasm compile the page refuses (CSP), fails
    // here and not at the callback, after the user has logged in.
    const ready = globalThis[REGISTRY].ready;
    if (ready) {
      await ready();
      this.#makeClient(null).client.free();
    }
    const c = this.#config;
    const { codeVerifier, codeChallenge } = await pkcePair();
    const state = random(32);
    const url = new URL(c.authorizeUrl);
    const params = {
      response_type: "code", client_id: c.clientId, redirect_uri: c.redirectUri, scope: c.scope, state,
      code_challenge: codeChallenge, code_challenge_method: "S256",
      ...(c.audience === null ? {} : { audience: c.audience }), ...c.extraParams,
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const pending = JSON.stringify({ codeVerifier, redirectUri: c.redirectUri });
    this.#pending.set(state, pending);
    try {
      await this.#transient?.setItem(PENDING + state, pending);
    } catch {
      // Memory still has it (same page, or the CLI).
    }
    return url.href;
  }

  /** Browsers: {@link authorizationUrl}, then `location.assign` to it. Never resolves. */
  async redirect() {
    globalThis.location.assign(await this.authorizationUrl());
    return new Promise(() => {});
  }

  /**
   * Completes a login from the redirect URI the authorization server sent the browser
   * to (RFC 6749 §4.1.2): checks `state` against a pending login (each is used once),
   * then exchanges the code with the code verifier (§4.1.3, RFC 7636 §4.5).
   * @param {string | URL} callbackUrl The whole redirect URI with its query.
   * @returns {Promise<TokenClient>} The user's TokenClient, its first token fetched.
   * @throws {OAuthError} `state_mismatch` (no pending login has this state: forged,
   *   replayed or from another browser); the server's `error` code of §4.1.2.1
   *   (`access_denied`…), with its `error_description`; `invalid_grant` when the code
   *   is refused (reused, expired, wrong verifier); any error of the token request.
   */
  async handleCallback(callbackUrl) {
    let params;
    try {
      params = new URL(String(callbackUrl)).searchParams;
    } catch {
      throw fail("invalid_request", "the callback URL is not a URL");
    }
    const state = params.get("state");
    const mismatch = () => fail("state_mismatch", "the callback's state matches no login started here (RFC 6749 §10.12)");
    if (state !== null && CLAIMED.has(state)) throw mismatch();
    if (state !== null) CLAIMED.add(state);
    let pending = state === null ? undefined : this.#pending.get(state);
    if (state !== null && pending === undefined && this.#transient) {
      try {
        pending = (await this.#transient.getItem(PENDING + state)) ?? undefined;
      } catch {
        pending = undefined;
      }
    }
    if (state !== null) {
      this.#pending.delete(state);
      try {
        await this.#transient?.removeItem(PENDING + state);
      } catch {
        // Gone with the page.
      }
    }
    let saved;
    try {
      saved = JSON.parse(pending);
    } catch {
      saved = undefined;
    }
    // Pending logins are found by their state: none found is a mismatch.
    if (!saved || typeof ownValue(saved, "codeVerifier") !== "string" || typeof ownValue(saved, "redirectUri") !== "string") {
      if (state !== null) CLAIMED.delete(state); // none of ours: nothing to keep claimed
      throw mismatch();
    }
    const error = params.get("error");
    if (error !== null) {
      // The error code's charset (RFC 6749 §4.1.2.1); anything else is not repeated.
      const code = error.length <= 64 && /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(error) ? error : null;
      const err = fail(code ?? "access_denied", `the authorization server refused the login${code ? `: ${code}` : ""}`);
      const description = params.get("error_description");
      if (description !== null) err.description = description.length > MAX_TEXT ? `${description.slice(0, MAX_TEXT)}…` : description;
      throw err;
    }
    const code = params.get("code");
    if (!code) throw fail("invalid_request", "the callback has no code");
    // The session this login replaces (here or in storage): its refresh token is revoked
    // once the new one is in place, not left valid at the server.
    const replaced = this.#client?.session.refreshToken() ?? (await this.#stored());
    const made = this.#makeClient({ grant_type: "authorization_code", code, redirect_uri: saved.redirectUri, code_verifier: saved.codeVerifier });
    try {
      await made.client.getToken();
    } catch (e) {
      made.client.free();
      throw e;
    }
    this.#end(true);
    this.#client = made;
    if (replaced && replaced !== made.session.refreshToken()) await this.#revoke(replaced);
    return made.client;
  }

  /**
   * The logged-in user's TokenClient: the one {@link handleCallback} made, or one
   * restored from `storage` (a refresh token kept there), or `null` when nobody is
   * logged in here.
   * @returns {Promise<TokenClient | null>}
   */
  async restore() {
    if (this.#client) return this.#client.client;
    const refresh = await this.#stored();
    if (typeof refresh !== "string" || refresh.length === 0) return null;
    this.#client = this.#makeClient({ grant_type: "refresh_token", refresh_token: refresh });
    return this.#client.client;
  }

  /**
   * Logs out here: frees the TokenClient, deletes the stored session, and revokes the
   * refresh token at `revocationUrl` (RFC 7009 §2; best effort: a failure to revoke
   * is not an error, and `{ revoke: false }` skips it).
   * @param {{ revoke?: boolean }} [options]
   * @returns {Promise<{ revoked: boolean }>} `revoked`: the server confirmed the
   *   revocation (HTTP 200); false when skipped, when there was no refresh token, or
   *   when the request failed.
   */
  async logout(options) {
    const revoke = ownValue(options, "revoke") !== false;
    const refresh = this.#client?.session.refreshToken() ?? (await this.#stored());
    this.#end(revoke);
    await this.#forget();
    return { revoked: Boolean(refresh && revoke && (await this.#revoke(refresh))) };
  }

  // Frees the client and ends its session: a refresh in flight that answers later keeps
  // nothing (its rotated refresh token would bring a logged-out or replaced session
  // back into storage), and revokes what it got when `revokeLate`.
  #end(revokeLate) {
    this.#client?.session.end(revokeLate);
    this.#client?.client.free();
    this.#client = null;
  }

  // RFC 7009 §2.1, as a public client; best effort: on failure the token stays valid at
  // the server until it expires. Whether the server confirmed it (200, §2.2).
  async #revoke(refresh) {
    const fetchFn = this.#config.client.fetch ?? globalThis.fetch;
    try {
      const body = new URLSearchParams({ token: refresh, token_type_hint: "refresh_token", client_id: this.#config.clientId });
      const res = await fetchFn(this.#config.revocationUrl, {
        method: "POST", body: body.toString(), redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        signal: AbortSignal.timeout(this.#config.client.timeoutMs ?? 10_000),
      });
      await res.body?.cancel?.();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async #stored() {
    try {
      return (await this.#storage?.getItem(`${this.#key}:refresh`)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async #forget() {
    for (const k of ["refresh", "token"]) {
      try {
        await this.#storage?.removeItem(`${this.#key}:${k}`);
      } catch {
        // Nothing more to do.
      }
    }
  }

  // A TokenClient whose requests carry `grant` (then the rotated refresh tokens).
  #makeClient(grant) {
    const api = globalThis[REGISTRY];
    const c = this.#config;
    const storage = this.#storage;
    const key = this.#key;
    let ended = false; // logged out or replaced: see #end
    let revokeLate = false;
    const revoke = (token) => this.#revoke(token);
    let sent = []; // the secrets of the last request: never in an error
    const session = {
      // RFC 6749 §4.1.3 (the code, once) or §6 (the refresh token), as a public client.
      async request(base) {
        if (!grant) throw invalid("no login: the session has no code or refresh token (log in again)");
        if (grant.grant_type === "refresh_token" && storage && !ended) {
          // Storage holds the session: another client on it (another tab, another
          // UserLogin) may have rotated the refresh token since this one read it, and the
          // one in memory is then spent (reuse detection would revoke the whole grant).
          let stored;
          try {
            stored = await storage.getItem(`${key}:refresh`);
          } catch {
            stored = undefined;
          }
          if (typeof stored === "string" && stored.length > 0) grant = { grant_type: "refresh_token", refresh_token: stored };
        }
        sent = ["code", "code_verifier", "refresh_token"].map((k) => ownValue(grant, k)).filter((v) => typeof v === "string" && v.length > 0);
        const body = new URLSearchParams({ ...grant, client_id: c.clientId });
        return { url: base.url, headers: { ...base.headers, "content-type": "application/x-www-form-urlencoded" }, body: body.toString() };
      },
      // A 2xx answer: its refresh token replaces the one sent (rotation); a code is
      // never sent twice.
      async accept(text) {
        let next;
        try {
          next = ownValue(JSON.parse(text), "refresh_token");
        } catch {
          next = undefined;
        }
        if (ended) {
          if (revokeLate && typeof next === "string" && next.length > 0) await revoke(next);
          return;
        }
        const exchange = grant?.grant_type === "authorization_code";
        if (typeof next === "string" && next.length > 0) {
          grant = { grant_type: "refresh_token", refresh_token: next };
          await storage?.setItem(`${key}:refresh`, next);
        } else if (exchange) {
          // No refresh token (no offline_access): this login lasts one access token.
          grant = null;
          await storage?.removeItem(`${key}:refresh`);
        }
        own = true;
      },
      // The answer's text with what the last request sent (code, code verifier, refresh
      // token; raw, percent- and JSON-escaped) replaced, before any of it reaches an error.
      redact(text) {
        if (typeof text !== "string") return text;
        for (const secret of sent) {
          for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
            text = text.split(form).join("[redacted]");
          }
        }
        return text;
      },
      // The driver's one call per answer (core.js #send): a 2xx answer is accepted first
      // (a session that cannot keep its refresh token is its own concern), then the
      // engine gets the text redacted.
      async answer(status, text) {
        if (status >= 200 && status < 300) await this.accept(text).catch(() => {});
        return this.redact(text);
      },
      // The store's sealer: entries as they are (no client secret to seal them with).
      plain: {
        keys: Promise.resolve({ keys: ["token", "lease", "quota"] }),
        seal: async (k, text) => text,
        unseal: async (k, value) => (typeof value === "string" ? value : null),
      },
      refreshToken: () => (grant?.grant_type === "refresh_token" ? grant.refresh_token : undefined),
      end(revokeIt) {
        ended = true;
        revokeLate = revokeIt;
      },
    };
    // The access token entry (the engine's text: token, type, expiry) goes to storage
    // too; the lease and quota entries stay in memory. A new login's client reads
    // storage only once its own code is exchanged: until then what storage holds is an
    // earlier session's, kept until this login succeeds.
    let own = grant?.grant_type !== "authorization_code";
    const memory = new Map();
    const store = {
      async get(k) {
        if (k !== "token" || !storage || !own) return memory.get(k) ?? null;
        return (await storage.getItem(`${key}:token`)) ?? null;
      },
      async put(k, v) {
        if (ended) return;
        if (k !== "token" || !storage) memory.set(k, v);
        else await storage.setItem(`${key}:token`, v);
      },
      async delete(k) {
        memory.delete(k);
        if (k === "token") await storage?.removeItem(`${key}:token`);
      },
    };
    const client = new api.TokenClient({
      clientId: c.clientId, audience: c.audience, scope: c.scope, ...c.client,
      authMethod: "none", store, [SESSION]: session,
    });
    return { client, session };
  }
}

// One UserLogin class per realm, as core.js's `install` keeps one TokenClient and
// OAuthError: every copy of the package (the ESM and CJS entries, two bundles on a page)
// exports the first copy's class, so `instanceof UserLogin` holds across them and its
// CLAIMED set sees every callback (two copies handling one callback send its code once).
const LOGIN = Symbol.for("datacosmos-auth/login/1");
if (!globalThis[LOGIN]) Object.defineProperty(globalThis, LOGIN, { value: UserLogin, configurable: true });
const SharedUserLogin = globalThis[LOGIN];
export { SharedUserLogin as UserLogin };
