// A Worker whose handlers can end before the token exchange they started has
// finished — what happens in production whenever a client disconnects, or a handler
// answers early (its own deadline, a failing sibling in Promise.all). See
// known-bug-workerd-abandoned-flight.test.mjs.
import { TokenClient } from "datacosmos-auth";

let client;
const TIMEOUT_MS = 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    // timeoutMs 1000, no retries: every exchange settles within ~1 s (API.md: total
    // time is bounded by (maxRetries + 1) * timeoutMs plus the backoff).
    client ??= new TokenClient({
      clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL,
      timeoutMs: TIMEOUT_MS, maxRetries: 0,
    });
    // ?mark=ID: once getToken() has been called, tell the test (GET MARK_URL?id=ID).
    const mark = async () => {
      const id = url.searchParams.get("mark");
      if (id) await (await fetch(`${env.MARK_URL}?id=${encodeURIComponent(id)}`)).arrayBuffer();
    };
    try {
      const pending = client.getToken();
      pending.catch(() => {}); // awaited below
      if (url.pathname === "/sibling-fails") {
        // The token and another call in parallel; the other call fails first.
        const sibling = sleep(Number(url.searchParams.get("ms") ?? 0)).then(() => {
          throw new Error("the other upstream failed");
        });
        sibling.catch(() => {});
        await mark();
        await Promise.all([pending, sibling]);
      }
      await mark();
      return Response.json({ token: await pending });
    } catch (e) {
      return Response.json({ error: String(e?.message), code: e?.code ?? null }, { status: 502 });
    }
  },
};
