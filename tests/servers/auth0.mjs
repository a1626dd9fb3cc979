// A loopback stand-in for Auth0's /oauth/token as seen by a machine-to-machine client,
// for the quota, negative cache, clock skew and chaos tests. node:http and node:crypto
// only.
//
//   POST /oauth/token   client credentials (RFC 6749 §4.4), form or JSON body,
//                       client_secret_post or client_secret_basic. 200 answers are
//                       Auth0-shaped ({access_token: HS256 JWT, token_type, expires_in});
//                       a wrong secret is 401 invalid_client.
//
// Every answer to a known client (200, 429, 503, ...) carries
//   Auth0-Client-Quota-Limit: b=per_hour;q=Q;r=R;t=T,b=per_day;q=Q;r=R;t=T
// where R counts the tokens issued in the bucket. A bucket read `r=0` until some
// instant is a *block*: the server remembers it (`blocks`), answers 429 (r=0, the seconds
// left, and X-RateLimit-Limit/Remaining/Reset) to any request of that client until
// then, and counts such a request as a *violation* (Auth0 meters the client id, whichever
// process sends). Blocks come from a bucket running out (the `quota` limits), from the script, or
// at random (`chaos`).
//
// Scripted answers (`script(...answers)`, taken in order, one per request; then the
// normal behaviour):
//   { status: 429, quotaZero: T }          429 too_many_requests, per_hour r=0 for T s
//                                          (a block), with X-RateLimit-* unless rateLimit: false
//                                          (and without Auth0-Client-Quota-Limit if quotaHeader: false)
//   { status: 200, quotaZero: T }          a token, and the per_hour bucket now reads r=0 for T s
//   { status: 503 } / { status: N, body }  that status (default body: a JSON error)
//   { error: 'invalid_client' }            401 invalid_client, whatever the secret
//   { expiresIn: s, lifetime: s }          a token with that expires_in (null: none) / JWT lifetime
//   { delayMs }                            the answer (normal or as above) that much later
//
// A request may name its sender in an `X-Isolate` header (the chaos test's Workers do,
// through the client's `fetch` option): a request from a sender that had itself been
// answered r=0 for a block still running is also counted as `toldViolation` (the client
// ignored what it was told, as opposed to not having heard of it).
//
// `clockOffsetSeconds`: the server's clock runs that far from this process's: its Date
// header, the JWT iat/exp and X-RateLimit-Reset use it (blocks and violations are kept
// on the real clock).
//
// `chaos: { seed, p429, resetSeconds: [min, max], p503, burst: [min, max] }`: unscripted
// requests are answered 429 with a block of a random length (probability p429), or start
// a burst of 503s of random length (p503); otherwise they get a token.
import http from 'node:http';
import { createHmac, randomBytes, randomUUID, createHash, timingSafeEqual } from 'node:crypto';

const MAX_BODY = 64 * 1024;
const b64url = (data) => Buffer.from(data).toString('base64url');
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest();
const sameSecret = (a, b) => timingSafeEqual(sha256(a), sha256(b));
const formDecode = (part) => decodeURIComponent(part.replace(/\+/g, '%20'));

/** A small seeded PRNG (mulberry32): the same seed, the same chaos. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @param {{ clients?: {clientId: string, clientSecret: string}[], audience?: string,
 *   lifetimeSeconds?: number, quota?: {perHour: number, perDay: number},
 *   clockOffsetSeconds?: number, expiresIn?: boolean,
 *   chaos?: {seed: number, p429: number, resetSeconds: number[], p503: number, burst: number[]} }} [opts]
 */
export async function startAuth0({
  clients = [],
  audience = 'https://beeapp.open-cosmos.com',
  lifetimeSeconds = 86400,
  quota = { perHour: 1000, perDay: 10000 },
  clockOffsetSeconds = 0,
  expiresIn = true,
  chaos = null,
} = {}) {
  const key = randomBytes(32);
  const started = Date.now();
  const script = [];
  const random = chaos ? prng(chaos.seed) : null;
  let burst = 0;
  let offsetMs = clockOffsetSeconds * 1000;
  /** Every token request: { at, clientId, isolate, status, violation, toldViolation }. */
  const requests = [];
  /** Every token issued: { clientId, accessToken, issuedAt, exp (ms, the JWT's) }. */
  const tokens = [];
  /** Every block announced: { clientId, from, until } (ms, this process's clock). */
  const blocks = [];
  const buckets = new Map(); // clientId -> { hour, day, blockedUntil }

  const state = (clientId) => {
    let s = buckets.get(clientId);
    if (!s) buckets.set(clientId, (s = { hour: 0, day: 0, blockedUntil: 0, told: new Map() }));
    return s;
  };
  const serverNow = () => Date.now() + offsetMs;
  const between = ([min, max]) => min + Math.floor(random() * (max - min + 1));

  function block(clientId, seconds) {
    const now = Date.now();
    const s = state(clientId);
    s.blockedUntil = Math.max(s.blockedUntil, now + seconds * 1000);
    blocks.push({ clientId, from: now, until: s.blockedUntil });
  }

  // The quota headers for `clientId` now: r=0 while blocked, else the counts.
  function quotaHeaders(clientId, isolate, withRateLimit, withQuota) {
    const now = Date.now();
    const s = state(clientId);
    const blocked = now < s.blockedUntil;
    if (blocked) s.told.set(isolate, s.blockedUntil);
    const hourReset = Math.max(1, Math.ceil((started + 3600_000 - now) / 1000));
    const dayReset = Math.max(1, Math.ceil((started + 86_400_000 - now) / 1000));
    const hour = blocked
      ? { r: 0, t: Math.ceil((s.blockedUntil - now) / 1000) }
      : { r: Math.max(0, quota.perHour - s.hour), t: hourReset };
    const day = { r: Math.max(0, quota.perDay - s.day), t: dayReset };
    const headers = {};
    if (withQuota) {
      headers['auth0-client-quota-limit'] = `b=per_hour;q=${quota.perHour};r=${hour.r};t=${hour.t},b=per_day;q=${quota.perDay};r=${day.r};t=${day.t}`;
    }
    if (withRateLimit && blocked) {
      headers['x-ratelimit-limit'] = String(quota.perHour);
      headers['x-ratelimit-remaining'] = '0';
      headers['x-ratelimit-reset'] = String(Math.ceil((s.blockedUntil + offsetMs) / 1000));
    }
    return headers;
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req, res) {
    res.on('error', () => {});
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (pathname !== '/oauth/token' || req.method !== 'POST') return send(res, 404, {}, { error: 'not_found' });
    const at = Date.now();
    const fault = script.shift() ?? {};
    const params = await readParams(req);
    const auth = clientAuth(req, params);
    const client = auth && clients.find((c) => c.clientId === auth.clientId);
    const known = Boolean(client);
    const authentic = client && sameSecret(client.clientSecret, auth.clientSecret) && fault.error !== 'invalid_client';
    const clientId = auth?.clientId ?? '';
    const s = state(clientId);
    const isolate = req.headers['x-isolate'] ?? '';
    const violation = known && at < s.blockedUntil;
    const toldViolation = violation && at < (s.told.get(isolate) ?? 0);
    const record = { at, clientId, isolate, status: 0, violation, toldViolation };
    requests.push(record);
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));

    const answer = (status, body, rateLimit = false) => {
      record.status = status;
      const headers = known && (authentic || status !== 401) ? quotaHeaders(clientId, isolate, rateLimit, fault.quotaHeader !== false) : {};
      return send(res, status, headers, body);
    };
    const tooMany = (seconds) => {
      if (seconds) block(clientId, seconds);
      return answer(429, { error: 'too_many_requests', error_description: 'Global limit has been reached' }, fault.rateLimit !== false);
    };

    if (!auth || params.grant_type !== 'client_credentials') {
      return answer(400, { error: 'invalid_request', error_description: 'Missing or invalid parameters' });
    }
    if (!authentic) return answer(401, { error: 'invalid_client', error_description: 'Unauthorized' });
    if (violation) return tooMany(0);
    if (fault.status === 429) return tooMany(fault.quotaZero ?? 0);
    if (fault.status && fault.status !== 200) {
      return answer(fault.status, fault.body ?? { error: 'temporarily_unavailable', error_description: 'Service Unavailable' });
    }
    if (!fault.status && random) {
      if (burst > 0) {
        burst -= 1;
        return answer(503, { error: 'temporarily_unavailable', error_description: 'Service Unavailable' });
      }
      const roll = random();
      if (roll < chaos.p429) return tooMany(between(chaos.resetSeconds));
      if (roll < chaos.p429 + chaos.p503) {
        burst = between(chaos.burst) - 1;
        return answer(503, { error: 'temporarily_unavailable', error_description: 'Service Unavailable' });
      }
    }
    if (s.hour >= quota.perHour || s.day >= quota.perDay) {
      // A bucket ran out: blocked until it resets (the hour bucket's reset is used).
      block(clientId, Math.ceil((started + 3600_000 - Date.now()) / 1000));
      return tooMany(0);
    }
    s.hour += 1;
    s.day += 1;
    if (fault.quotaZero) block(clientId, fault.quotaZero);
    return answer(200, issue(client, params, fault));
  }

  function issue(client, params, fault) {
    const lifetime = fault.lifetime ?? lifetimeSeconds;
    const iat = Math.floor(serverNow() / 1000);
    const claims = {
      iss: `${origin()}/`,
      sub: `${client.clientId}@clients`,
      aud: params.audience ?? audience,
      iat,
      exp: iat + lifetime,
      gty: 'client-credentials',
      azp: client.clientId,
      jti: randomUUID(),
    };
    const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
    const jwt = `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
    // exp on this process's clock: the instant the token really expires.
    tokens.push({ clientId: client.clientId, accessToken: jwt, issuedAt: Date.now(), exp: claims.exp * 1000 - offsetMs });
    const seconds = fault.expiresIn !== undefined ? fault.expiresIn : expiresIn ? lifetime : null;
    return { access_token: jwt, token_type: 'Bearer', ...(seconds === null ? {} : { expires_in: seconds }) };
  }

  async function readParams(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY) return {};
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
      try {
        const parsed = JSON.parse(text);
        return parsed && typeof parsed === 'object' ? parsed : {};
      } catch {
        return {};
      }
    }
    return Object.fromEntries(new URLSearchParams(text));
  }

  // { clientId, clientSecret } from the Basic header or the body, or null.
  function clientAuth(req, params) {
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return null;
      return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
    }
    if (typeof params.client_id !== 'string' || typeof params.client_secret !== 'string') return null;
    return { clientId: params.client_id, clientSecret: params.client_secret };
  }

  function send(res, status, headers, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
      date: new Date(serverNow()).toUTCString(),
      ...headers,
    });
    res.end(text);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = () => `http://127.0.0.1:${server.address().port}`;

  return {
    tokenUrl: `${origin()}/oauth/token`,
    requests,
    tokens,
    blocks,
    /** Queues scripted answers (see the file's head). */
    script(...answers) { script.push(...answers); },
    clearScript() { script.length = 0; },
    /** Token requests so far (of `clientId`, or all). */
    tokenRequests: (clientId) => requests.filter((r) => clientId === undefined || r.clientId === clientId).length,
    /** Requests that arrived while the server had told their client id r=0. */
    violations: () => requests.filter((r) => r.violation),
    /** Those of them from a sender that had itself been told so. */
    toldViolations: () => requests.filter((r) => r.toldViolation),
    /** Lifts every block (as if the buckets had reset). */
    resetQuota() { for (const s of buckets.values()) s.blockedUntil = 0; },
    setClockOffset(seconds) { offsetMs = seconds * 1000; },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
