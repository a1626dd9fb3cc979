// Runs N processes of fleet-child.mjs against one oidc-provider and one Redis, and
// returns the token requests the provider saw. Used by the tests and for the README
// figure (`node tests/store/fleet.mjs` prints the table).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { startOidc } from "../servers/oidc.mjs";

const child = fileURLToPath(new URL("fleet-child.mjs", import.meta.url));

export async function fleet({ oidc, redisUrl, mode, processes = 8, calls = 1, gapMs = 0, leewaySeconds = 60 }) {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  await redis.flushAll();
  await redis.quit();
  const before = oidc.tokenRequests();
  const cfg = {
    ...oidc.clients.post, tokenUrl: oidc.tokenUrl, redisUrl, mode, calls, gapMs, leewaySeconds,
    startAt: Date.now() + 1500, // every process is up and connected before the race
  };
  const runs = await Promise.all(Array.from({ length: processes }, () =>
    promisify(execFile)(process.execPath, [child, JSON.stringify(cfg)], { timeout: 120_000 })));
  const results = runs.map((r) => JSON.parse(r.stdout.trim().split("\n").at(-1)));
  return {
    requests: oidc.tokenRequests() - before,
    expired: results.reduce((n, r) => n + r.expired, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const ttl = 16;
  const oidc = await startOidc({ accessTokenTTL: ttl });
  console.log(`1,000 getToken() calls over 8 processes, 160 ms apart (20 s), tokens living ${ttl} s, leeway 8 s:\n`);
  console.log("| cache | token requests | expired tokens handed out | errors |\n|---|---|---|---|");
  for (const [mode, name] of [["none", "memory only"], ["store", "Redis store, no lease"], ["lease", "Redis store + lease"]]) {
    const r = await fleet({ oidc, redisUrl, mode, processes: 8, calls: 125, gapMs: 160, leewaySeconds: 8 });
    console.log(`| ${name} | ${r.requests} | ${r.expired} | ${r.errors} |`);
  }
  await oidc.close();
}
