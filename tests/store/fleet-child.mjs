// One process of a fleet: getToken() `calls` times, `gapMs` apart, from a start time
// shared by all processes, through Redis. Prints one JSON line of what it saw.
import { createClient } from "redis";
import { TokenClient, redisStore } from "datacosmos-auth";

const cfg = JSON.parse(process.argv[2]);
const redis = createClient({ url: cfg.redisUrl });
await redis.connect();
let store;
if (cfg.mode !== "none") {
  store = redisStore(redis);
  // "store" without the lease: every client believes it holds the lease.
  if (cfg.mode === "store") store = { ...store, add: async () => true };
}
const client = new TokenClient({
  clientId: cfg.clientId,
  clientSecret: cfg.clientSecret,
  tokenUrl: cfg.tokenUrl,
  audience: null,
  refreshLeewaySeconds: cfg.leewaySeconds,
  store,
});
await new Promise((r) => setTimeout(r, Math.max(0, cfg.startAt - Date.now())));
const seen = new Set();
let expired = 0;
let errors = 0;
for (let i = 0; i < cfg.calls; i++) {
  try {
    const info = await client.getTokenInfo();
    if (!(info.expiresAt > Date.now())) expired++;
    seen.add(info.accessToken);
  } catch (e) {
    errors++;
    console.error(`${e.code}: ${e.message}`);
  }
  if (cfg.gapMs) await new Promise((r) => setTimeout(r, cfg.gapMs));
}
await redis.quit();
console.log(JSON.stringify({ tokens: seen.size, expired, errors }));
