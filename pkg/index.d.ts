/**
 * datacosmos-auth: OAuth 2.0 client-credentials tokens for the DataCosmos APIs
 * (Open Cosmos), from one small WebAssembly core for every JavaScript runtime.
 *
 * @example
 * import { TokenClient } from "datacosmos-auth";
 * const client = TokenClient.fromEnv();          // DATACOSMOS_CLIENT_ID / _SECRET
 * const res = await client.fetch("https://app.open-cosmos.com/api/data/v0/stac/collections");
 */

/** Options of a {@link TokenClient}. Only `clientId` and `clientSecret` are required. */
export interface ClientConfig {
  /** The client id of your DataCosmos API credentials. */
  clientId: string;
  /** The client secret. Keep it on servers: never ship it in a public web app. */
  clientSecret: string;
  /** Default `"https://beeapp.open-cosmos.com"`; `null` sends no `audience` parameter. */
  audience?: string | null;
  /** Default `"https://login.open-cosmos.com/oauth/token"`; `http:` only for loopback hosts. */
  tokenUrl?: string;
  /** The `scope` parameter. */
  scope?: string;
  /** More body parameters, e.g. `{ resource: "https://..." }` (RFC 8707). */
  extraParams?: Record<string, string>;
  /** Default `"client_secret_post"`. `"client_secret_basic"` follows RFC 6749 §2.3.1. */
  authMethod?: "client_secret_post" | "client_secret_basic";
  /** Default `"form"` (RFC 6749); `"json"` as in the DataCosmos curl example. */
  bodyEncoding?: "form" | "json";
  /**
   * Seconds before expiry at which a token is renewed (at most half its lifetime, so a
   * short-lived token is still reused). Callers during a renewal wait for it, but get
   * the still valid token at its first failed attempt or halfway through the remaining
   * validity (serve-stale). Range 0 to 86400.
   * @default 60
   */
  refreshLeewaySeconds?: number;
  /** Milliseconds for one attempt, response body included. Range 1 to 600000. @default 10000 */
  timeoutMs?: number;
  /**
   * Retries on network errors, timeouts, 408, 429 and 5xx, with jittered backoff from
   * 250 ms to 8 s, honouring `Retry-After` up to 60 s (RFC 9110 §10.2.3). Whole number 0 to 10.
   * @default 2
   */
  maxRetries?: number;
  /**
   * Seconds during which `invalid_client`, `unauthorized_client`, `access_denied` and `invalid_grant` are
   * answered again without a request (when no valid token is held). `0` turns it off;
   * `clear()` lifts it. Range 0 to 86400.
   * @default 30
   */
  negativeCacheSeconds?: number;
  /**
   * Called with every {@link TokenEvent}; for metrics and logs. Never receives the secret
   * or a token. A listener that throws or rejects is ignored.
   */
  onEvent?: (event: TokenEvent) => void;
  /** A cache shared across isolates or processes (a Workers KV namespace fits as is). */
  store?: TokenStore;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Workers' `ctx.waitUntil` (or any function taking a promise): store writes are handed
   * to it instead of delaying the token. In a Worker, pass `(p) => ctx.waitUntil(p)` for
   * the current request's `ctx`.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * A client that authenticates with a signed JWT instead of a secret (`private_key_jwt`,
 * RFC 7523 §2.2; Auth0's "Private Key JWT"). In browsers and Workers,
 * `import "datacosmos-auth/private-key-jwt"` first (the Node.js entries do it), else
 * the constructor throws `invalid_config`. Store entries are sealed with a key derived
 * from the private key's text.
 */
export interface PrivateKeyJwtConfig extends Omit<ClientConfig, "clientSecret" | "authMethod"> {
  authMethod: "private_key_jwt";
  clientSecret?: undefined;
  /**
   * PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1 P-256
   * (`BEGIN EC PRIVATE KEY`) PEM, or a private JWK. Imported once, non-extractable, sign
   * only; never in an error, event or store entry.
   */
  privateKey: string | PrivateJwk;
  /** The JWS header `kid`. */
  keyId?: string;
  /** @default "RS256" */
  signingAlgorithm?: "RS256" | "PS256" | "ES256";
  /** The assertion's `aud`. @default the token URL's origin + "/" (Auth0's form) */
  assertionAudience?: string;
  /** `exp` − `iat`, 1 to 300. @default 60 */
  assertionLifetimeSeconds?: number;
}

/** One Auth0 quota bucket (`Auth0-Client-Quota-Limit`, `Auth0-Organization-Quota-Limit`, or `X-RateLimit-*` on a 429). */
export interface QuotaBucket {
  /** E.g. `"per_hour"`, `"per_day"`; `"rate_limit"` for the `X-RateLimit-*` headers. */
  bucket: string;
  /** Requests per period. */
  limit: number;
  /** Requests left. While any bucket reads 0, no request is made until it resets. */
  remaining: number;
  /** Seconds until the bucket resets. */
  resetSeconds: number;
}

/** A private JSON Web Key (RFC 7517), structurally (no DOM lib needed): RSA or EC P-256 with its private members. */
export interface PrivateJwk {
  kty: "RSA" | "EC";
  /** The private exponent (RSA) or key (EC): required. */
  d: string;
  [member: string]: unknown;
}

/** A token with what the client knows about it (frozen). */
export interface TokenInfo {
  accessToken: string;
  /** `"Bearer"`. */
  tokenType: string;
  /** Expiry in ms since the epoch: when the request was sent + `expires_in`. */
  expiresAt: number;
  scope?: string;
  /** The last quota reading of the token endpoint, where it sent one. */
  quota?: QuotaBucket[];
}

/** What {@link ClientConfig.onEvent} receives. */
export type TokenEvent =
  | { type: "token"; source: "endpoint" | "store"; durationMs: number }
  | { type: "retry"; attempt: number; delayMs: number; reason: string }
  | { type: "stale_served"; reason: string; expiresAt: number }
  | { type: "store_error"; operation: "get" | "put" | "add" | "lease" }
  | { type: "lease"; state: "taken" | "waited" | "released" }
  | { type: "quota"; quota: QuotaBucket[] }
  | { type: "negative_cache"; code: string };

/** Per-call options. */
export interface CallOptions {
  /** An aborted caller rejects with code `"aborted"`; the shared exchange goes on for the others. */
  signal?: AbortSignal;
}

/**
 * A shared cache. Keys are opaque hashes; values are sealed with AES-GCM under a key
 * derived from the client secret, so they hold neither the secret nor the token in clear.
 */
export interface TokenStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete?(key: string): Promise<void>;
  /**
   * Atomically sets `key` if it is absent, expiring after `ttlMs`; resolves whether it
   * was set. Used for the refresh lease (one client renews, the others keep using the
   * stored token); without it the lease is a best-effort write-then-read.
   */
  add?(key: string, value: string, options: { ttlMs: number }): Promise<boolean>;
}

/**
 * A store in this process's memory (for tests, or to share one token between clients).
 * @example
 * const store = memoryStore();
 * const a = new TokenClient({ clientId, clientSecret, store });
 */
export function memoryStore(): TokenStore;
/**
 * A Cloudflare Workers KV namespace binding. KV has no compare-and-swap and propagates
 * in about 60 s, so its lease is best effort: at most one token request per location
 * per propagation window. For one per fleet use {@link durableObjectStore}.
 * @example
 * const client = TokenClient.fromEnv(env, { store: kvStore(env.TOKENS), waitUntil: (p) => ctx.waitUntil(p) });
 */
export function kvStore(namespace: {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<unknown>;
  delete(key: string): Promise<unknown>;
}): TokenStore;
/** The Workers / Web Cache API: `caches.default`, or `await caches.open(name)`. */
export function cacheStore(
  cache: {
    match(request: Request): Promise<Response | undefined>;
    put(request: Request, response: Response): Promise<void>;
    delete(request: Request): Promise<boolean>;
  },
  options?: { origin?: string },
): TokenStore;
/** Deno KV (`await Deno.openKv()`), with an atomic lease. */
export function denoKvStore(kv: unknown, options?: { prefix?: unknown[] }): TokenStore;
/** Redis: node-redis, ioredis or Upstash's REST client; the lease is `SET NX PX`. */
export function redisStore(client: unknown, options?: { flavor?: "node-redis" | "ioredis" | "upstash" }): TokenStore;

/** A Cloudflare Workers Durable Object namespace binding (`env.TOKEN_LEASE`), structurally. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): unknown;
}

/**
 * Cloudflare Workers only (exported by the `workerd` entry): a store in one
 * {@link TokenLease} Durable Object, shared by every isolate of the fleet. Its `add` is
 * an atomic set-if-absent, so the refresh lease is a real lock: one token request per
 * renewal for the whole fleet; a lease whose holder died lapses after its `ttlMs`.
 * @param namespace The binding of the `TokenLease` class (wrangler.toml `durable_objects`).
 * @param options.name The object's name (`idFromName`). @default "datacosmos-auth"
 * @throws {TypeError} `namespace` is not a Durable Object namespace, or `name` is empty.
 * @example
 * import { TokenClient, durableObjectStore } from "datacosmos-auth";
 * export { TokenLease } from "datacosmos-auth";
 * const client = TokenClient.fromEnv(env, { store: durableObjectStore(env.TOKEN_LEASE) });
 */
export function durableObjectStore(namespace: DurableObjectNamespaceLike, options?: { name?: string }): TokenStore;

/**
 * Cloudflare Workers only (exported by the `workerd` entry): the Durable Object class
 * behind {@link durableObjectStore}. Re-export it from the Worker's main module and bind
 * it with `class_name = "TokenLease"`. It keeps opaque sealed entries and the lease until
 * they expire (an alarm deletes them); its methods are called by the adapter only.
 */
export class TokenLease {
  constructor(ctx: unknown, env: unknown);
  /** Deletes expired entries (the Durable Object alarm handler). */
  alarm(): Promise<void>;
}
// With @cloudflare/workers-types, `Rpc.DurableObjectBranded` carries the Durable Object
// brand, so `DurableObjectNamespace<TokenLease>` (what `wrangler types` writes) checks;
// without them this declares an empty interface.
export interface TokenLease extends Rpc.DurableObjectBranded {}
declare global {
  namespace Rpc {
    interface DurableObjectBranded {}
  }
}

/** The fields of the DataCosmos credentials file (`data_cosmos_api_credentials.json`). */
export interface DataCosmosCredentials {
  client_id: string;
  client_secret: string;
  audience?: string;
  grant_type?: "client_credentials";
}

/**
 * A DataCosmos token client: caches, renews before expiry (serving the valid token while
 * a renewal fails), shares one request between concurrent callers, retries.
 * @example
 * const client = new TokenClient({ clientId, clientSecret });
 * const res = await client.fetch("https://app.open-cosmos.com/api/data/v0/stac/collections");
 */
export class TokenClient {
  /**
   * Options are read once, as own properties; unknown options are rejected.
   * @throws {OAuthError} `invalid_config`, synchronously (also for a getter or Proxy trap that throws).
   */
  constructor(config: ClientConfig | PrivateKeyJwtConfig);
  /** From the DataCosmos credentials file (its text or the parsed object). */
  static fromCredentials(json: string | DataCosmosCredentials | object, overrides?: Partial<ClientConfig> | Partial<PrivateKeyJwtConfig>): TokenClient;
  /**
   * From `DATACOSMOS_CLIENT_ID`, `DATACOSMOS_CLIENT_SECRET`, `DATACOSMOS_AUDIENCE`,
   * `DATACOSMOS_TOKEN_URL`, `DATACOSMOS_SCOPE` (or the SDK's `AUTHENTICATION__*`, then
   * `OC_AUTH_CLIENT_ID` / `OC_AUTH_CLIENT_SECRET`).
   * Without `env`: `Deno.env` or `process.env`. In a Worker pass the `env` binding.
   *
   * Without client credentials, a static token from `DATACOSMOS_USER_TOKEN`, else
   * `DATACOSMOS_ACCESS_TOKEN`, is served as it is, never requested or stored: until
   * its JWT `exp` (`expiresAt`; an opaque token: `8640000000000000`, never), then every
   * call rejects with `token_expired`. Client credentials, when both are set, win.
   * @throws {OAuthError} `invalid_config`: neither credentials nor a static token, only
   * one of client id and secret, or anything the constructor rejects.
   */
  static fromEnv(env?: Record<string, string | undefined> | object, overrides?: Partial<ClientConfig> | Partial<PrivateKeyJwtConfig>): TokenClient;
  /**
   * The access token: cached (a cached token is answered without entering wasm);
   * concurrent callers share one request.
   * @throws {OAuthError} (rejects) the exchange's error, `quota_exceeded`, `aborted`.
   * @example const token = await client.getToken({ signal: AbortSignal.timeout(5000) });
   */
  getToken(options?: CallOptions): Promise<string>;
  /** The token with its type, expiry, scope and the last quota reading. */
  getTokenInfo(options?: CallOptions): Promise<TokenInfo>;
  /** E.g. `"Bearer eyJ..."`. */
  authorizationHeader(options?: CallOptions): Promise<string>;
  /**
   * `fetch` with the Authorization header (through `config.fetch`). On a 401 it renews
   * the token once and sends again, when the body can be replayed (none, string,
   * ArrayBuffer, typed array, Blob, FormData, URLSearchParams); otherwise the 401 is returned.
   */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** Forgets the cached token (memory and store) and lifts the negative cache (not a quota block). */
  clear(): void;
  /** Frees this client's engine now; later calls reject with `invalid_config`. Optional: collected clients are freed. */
  free(): void;
}

/**
 * One-shot: the token for `config`, through a module-level cache (one per process,
 * shared by the ESM and CJS copies) keyed by the options, the secret included, and
 * the identity of `fetch` and `store`.
 * @throws {OAuthError} (rejects; never throws synchronously) `invalid_config` or the exchange's error.
 * @example
 * const token = await getToken({ clientId, clientSecret });
 */
export function getToken(config: ClientConfig | PrivateKeyJwtConfig): Promise<string>;

/**
 * The Web Storage interface (`sessionStorage`, `localStorage`), or an object like it
 * whose methods return promises (a token file). Values are strings.
 */
export interface LoginStorage {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** Options of a {@link UserLogin}. Only `clientId` and `redirectUri` are required. */
export interface UserLoginConfig {
  /** The client id of a public application (Auth0 "Single Page" or "Native"): no secret. */
  clientId: string;
  /**
   * Where the authorization server sends the browser back, registered with the
   * application: `https:`, or `http:` on a loopback host (RFC 8252 §7.3).
   */
  redirectUri: string;
  /** Default `"https://login.open-cosmos.com/authorize"`. */
  authorizeUrl?: string;
  /** Default `"https://login.open-cosmos.com/oauth/token"`. */
  tokenUrl?: string;
  /** RFC 7009 revocation endpoint, used by `logout()`. Default `"https://login.open-cosmos.com/oauth/revoke"`. */
  revocationUrl?: string;
  /** Default `"https://beeapp.open-cosmos.com"`; `null` sends no `audience`. */
  audience?: string | null;
  /** Default `"openid profile email offline_access"` (`offline_access`: a refresh token). */
  scope?: string;
  /** More authorization request parameters (`prompt`, `login_hint`, `organization`…). */
  extraParams?: Record<string, string>;
  /**
   * Where the session (refresh token and access token) is kept across page loads, e.g.
   * `sessionStorage`. Default: memory only (a reload logs out). Anything stored there is
   * readable by every script of the origin: an XSS flaw would leak the session.
   */
  storage?: LoginStorage | null;
  /** Default `"datacosmos-auth:user:<clientId>"`: `storage` keys are this plus `:refresh` and `:token`. */
  storageKey?: string;
  /**
   * Where a started login's `state` and code verifier wait for the callback (one use each).
   * Default `globalThis.sessionStorage` where there is one, else memory.
   */
  transientStorage?: LoginStorage | null;
  /** As in {@link ClientConfig}. */
  fetch?: typeof fetch;
  onEvent?: (event: TokenEvent) => void;
  timeoutMs?: number;
  maxRetries?: number;
  refreshLeewaySeconds?: number;
  negativeCacheSeconds?: number;
  /** As in {@link ClientConfig}: keeps a renewal alive past the request that started it. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * A user's login (OAuth 2.0 authorization code grant, RFC 6749 §4.1) as a public client
 * with PKCE S256 (RFC 7636) and `state`; then refresh tokens (RFC 6749 §6), rotated ones
 * kept. The {@link TokenClient} it gives renews the access token as for client
 * credentials: single flight, retries, serve-stale.
 * @example
 * const login = new UserLogin({ clientId, redirectUri: `${location.origin}/callback` });
 * const client = location.pathname === "/callback"
 *   ? await login.handleCallback(location.href)
 *   : (await login.restore()) ?? (await login.redirect());
 * const res = await client.fetch("https://app.open-cosmos.com/api/data/v0/stac/collections");
 */
export class UserLogin {
  /** @throws {OAuthError} `invalid_config`, synchronously. */
  constructor(config: UserLoginConfig);
  /**
   * A new authorization request URL (`response_type=code`, `state`, `code_challenge`,
   * `code_challenge_method=S256`, `scope`, `audience`); its state and code verifier wait
   * for {@link handleCallback}.
   */
  authorizationUrl(): Promise<string>;
  /** Browsers: sends the page to {@link authorizationUrl}. Never resolves. */
  redirect(): Promise<never>;
  /**
   * Completes the login from the redirect URI with its query: checks `state`, exchanges
   * the code with the code verifier, and resolves with the user's client (its first
   * token fetched).
   * @throws {OAuthError} (rejects) `state_mismatch`; the server's `error` (`access_denied`…);
   *   `invalid_grant` (code reused or expired, wrong verifier); any token request error.
   */
  handleCallback(callbackUrl: string | URL): Promise<TokenClient>;
  /** The logged-in user's client: from this login, or from `storage`; `null` if none. */
  restore(): Promise<TokenClient | null>;
  /**
   * Frees the client, deletes the stored session and revokes the refresh token
   * (RFC 7009; best effort, skipped with `{ revoke: false }`). `revoked`: the server
   * confirmed the revocation (HTTP 200).
   */
  logout(options?: { revoke?: boolean }): Promise<{ revoked: boolean }>;
}

/**
 * Every failure: branch on `code`. `instanceof OAuthError` holds for errors of any copy
 * of the package in the process (a `Symbol.for` brand). Never contains the secret.
 * @example
 * try { await client.getToken(); } catch (e) {
 *   if (e instanceof OAuthError && e.code === "quota_exceeded") retryIn(e.retryAfterSeconds);
 * }
 */
export class OAuthError extends Error {
  name: "OAuthError";
  /**
   * The server's RFC 6749 `error` (e.g. `"invalid_client"`; never redacted), or one of
   * `"invalid_config"`, `"network_error"`, `"timeout"`, `"invalid_response"`,
   * `"http_error"`, `"quota_exceeded"`, `"aborted"`, `"token_expired"`, `"state_mismatch"` (user login).
   */
  code: string;
  /** For `quota_exceeded`: seconds until the empty bucket resets. */
  retryAfterSeconds?: number;
  /** The last quota reading, where the token endpoint sent one. */
  quota?: QuotaBucket[];
  /** The server's `error_description` (secrets redacted). */
  description?: string;
  /** The server's `error_uri`. */
  uri?: string;
  /** The HTTP status where a response arrived. */
  status?: number;
}
