// One Deno process: a token through Deno KV (a file shared with other processes).
import { TokenClient, denoKvStore } from "../../pkg/index.js";

const [kvPath, startAt] = Deno.args;
const kv = await Deno.openKv(kvPath);
const client = TokenClient.fromEnv(undefined, { audience: null, store: denoKvStore(kv) });
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const info = await client.getTokenInfo();
const again = await client.getToken();
console.log(JSON.stringify({ token: info.accessToken, valid: info.expiresAt > Date.now(), cached: again === info.accessToken }));
kv.close();
