// The shared store on a real redis-server (started by run.sh; REDIS_URL): a fleet of
// Node processes racing on a cold cache and at expiry, node-redis and ioredis.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import IORedis from "ioredis";
import { TokenClient, redisStore } from "datacosmos-auth";
import { startOidc } from "../servers/oidc.mjs";
import { fleet } from "./fleet.mjs";

const redisUrl = process.env.REDIS_URL;
let oidc;
let shortOidc;
before(async () => {
  assert.ok(redisUrl, "REDIS_URL is set by tests/store/run.sh");
  oidc = await startOidc();
  shortOidc = await startOidc({ accessTokenTTL: 16 });
});
after(async () => {
  await oidc?.close();
  await shortOidc?.close();
});

describe("a fleet of 8 Node processes on one Redis", { timeout: 90_000 }, () => {
  test("cold cache, with the lease: one token request, every process gets the token", async () => {
    const r = await fleet({ oidc, redisUrl, mode: "lease", processes: 8, calls: 3 });
    assert.deepEqual(r, { requests: 1, expired: 0, errors: 0 });
  });

  test("cold cache, memory only: one request per process (the baseline)", async () => {
    const r = await fleet({ oidc, redisUrl, mode: "none", processes: 8, calls: 3 });
    assert.deepEqual(r, { requests: 8, expired: 0, errors: 0 });
  });

  test("through expiry, with the lease: one request per token lifetime, no expired token", async () => {
    // 16 s tokens, renewed 8 s before expiry (so every 8 s); 13 s of calls: the first
    // token and one renewal, whoever holds the lease; the others keep the valid token.
    const r = await fleet({ oidc: shortOidc, redisUrl, mode: "lease", processes: 8, calls: 65, gapMs: 200, leewaySeconds: 8 });
    assert.deepEqual(r, { requests: 2, expired: 0, errors: 0 });
  });
});

describe("client flavours", { timeout: 20_000 }, () => {
  for (const [name, connect] of [
    ["node-redis", async () => { const c = createClient({ url: redisUrl }); await c.connect(); return [c, () => c.quit()]; }],
    ["ioredis", async () => { const c = new IORedis(redisUrl); return [c, () => c.disconnect()]; }],
  ]) {
    test(`${name}: a second client reads the token from Redis; the entry is sealed and expires`, async () => {
      const [c, close] = await connect();
      try {
        await c.flushall?.() ?? await c.flushAll();
        const config = { ...oidc.clients.basic, authMethod: "client_secret_basic", tokenUrl: oidc.tokenUrl, audience: null };
        const first = await new TokenClient({ ...config, store: redisStore(c) }).getToken();
        const before = oidc.tokenRequests();
        const second = await new TokenClient({ ...config, store: redisStore(c) }).getToken();
        assert.equal(second, first);
        assert.equal(oidc.tokenRequests(), before);
        const keys = (await c.keys("*")).filter((k) => !k.endsWith(":lease"));
        assert.equal(keys.length, 1);
        const value = await c.get(keys[0]);
        for (const secret of [config.clientSecret, config.clientId, first]) {
          assert.ok(!keys[0].includes(secret) && !value.includes(secret), "sealed and opaque");
        }
        const ttl = await (c.pTTL ? c.pTTL(keys[0]) : c.pttl(keys[0]));
        assert.ok(ttl > 0 && ttl <= 600_000, `entry TTL ${ttl} ms`);
        assert.deepEqual(await c.keys("*:lease"), [], "the lease was given back");
      } finally {
        await close();
      }
    });
  }
});
