// One Deno process: a token through Deno KV (a file shared with other processes).
import { TokenClient, denoKvStore } from "../../pkg/index.js";

const [kvPath, startAt] = Deno.args;
// Four processes opening one new SQLite file at once: the ones that find it being
// created get "database is locked" from the open itself (before any store call), so the
// open is tried again for up to 5 s.
async function openKv() {
  for (let i = 0; ; i++) {
    try {
      return await Deno.openKv(kvPath);
    } catch (e) {
      if (i >= 100 || !/database is locked/.test(String(e?.message))) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
const kv = await openKv();
const client = TokenClient.fromEnv(undefined, { audience: null, store: denoKvStore(kv) });
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const info = await client.getTokenInfo();
const again = await client.getToken();
console.log(JSON.stringify({ token: info.accessToken, valid: info.expiresAt > Date.now(), cached: again === info.accessToken }));
kv.close();
