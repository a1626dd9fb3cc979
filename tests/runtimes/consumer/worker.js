// A Cloudflare Worker (module syntax) that uses datacosmos-auth as the README's
// quick start does: one client per isolate, created on first use. The tests bundle it
// with esbuild (the package's `workerd`/`worker` export, the .wasm left as an import)
// and run it in workerd through miniflare, without nodejs_compat.
//
// Bindings: TOKEN_URL, CLIENT_ID, CLIENT_SECRET (oidc-provider), MARK_URL,
// DATACOSMOS_CLIENT_ID / _SECRET / _TOKEN_URL (for fromEnv(env)), DEMO_TOKEN_URL,
// DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, RESOURCE_URL (the demo server), TOKENS (KV).
import { OAuthError, TokenClient, getToken } from "datacosmos-auth";

let client; // README style: shared by every request this isolate serves
let kvClient;
let envClient;
let demoClient;

const json = (body, status = 200) => Response.json(body, { status });

function describeError(e, secret) {
  const renderings = [String(e), JSON.stringify(e), String(e?.message), String(e?.stack), String(e?.description)];
  return {
    instanceOfOAuthError: e instanceof OAuthError,
    instanceOfError: e instanceof Error,
    name: e?.name,
    code: e?.code,
    status: e?.status ?? null,
    message: String(e?.message),
    leaked: secret ? renderings.some((r) => r.includes(secret)) : null,
  };
}

const routes = {
  // ?mark=ID: once getToken() has been called (its promise not yet settled), tells the
  // test (GET MARK_URL?id=ID), which then knows this request is a caller in flight.
  async "/token"(url, env) {
    client ??= new TokenClient({ clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL });
    const pending = client.getToken();
    pending.catch(() => {}); // awaited below; no unhandled rejection while marking
    const mark = url.searchParams.get("mark");
    if (mark) await (await fetch(`${env.MARK_URL}?id=${encodeURIComponent(mark)}`)).arrayBuffer();
    return json({ token: await pending });
  },

  async "/info"(url, env) {
    client ??= new TokenClient({ clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL });
    const info = await client.getTokenInfo();
    return json({ ...info, header: await client.authorizationHeader() });
  },

  async "/fromenv"(url, env) {
    envClient ??= TokenClient.fromEnv(env);
    return json({ token: await envClient.getToken() });
  },

  async "/oneshot"(url, env) {
    const config = { clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL, scope: "read" };
    const a = await getToken(config);
    const b = await getToken({ ...config });
    return json({ same: a === b });
  },

  async "/error"(url, env) {
    const secret = "wrong-secret-in-worker-8c1d";
    try {
      await new TokenClient({ clientId: env.CLIENT_ID, clientSecret: secret, tokenUrl: env.TOKEN_URL }).getToken();
      return json({ rejected: false });
    } catch (e) {
      return json({ rejected: true, ...describeError(e, secret) });
    }
  },

  async "/invalid-config"() {
    try {
      new TokenClient({ clientId: "x", clientSecret: "y-secret", tokenUrl: "http://example.com/oauth/token" });
      return json({ threwSynchronously: false });
    } catch (e) {
      return json({ threwSynchronously: true, ...describeError(e, "y-secret") });
    }
  },

  // client.fetch against the demo server's protected resource.
  async "/fetch"(url, env) {
    demoClient ??= new TokenClient({
      clientId: env.DEMO_CLIENT_ID, clientSecret: env.DEMO_CLIENT_SECRET, tokenUrl: env.DEMO_TOKEN_URL,
    });
    const res = await demoClient.fetch(env.RESOURCE_URL, { headers: { accept: "application/json" } });
    return json({ status: res.status, body: await res.json() });
  },

  // The store option backed by a Workers KV namespace (passed as it is).
  async "/kv"(url, env) {
    kvClient ??= new TokenClient({
      clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL, store: env.TOKENS,
    });
    return json({ token: await kvClient.getToken() });
  },

  async "/kv-clear"(url, env) {
    kvClient ??= new TokenClient({
      clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, tokenUrl: env.TOKEN_URL, store: env.TOKENS,
    });
    kvClient.clear();
    return json({ cleared: true });
  },
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const route = routes[url.pathname];
    if (!route) return json({ error: "no such route" }, 404);
    try {
      return await route(url, env);
    } catch (e) {
      return json({ unexpected: describeError(e, env.CLIENT_SECRET) }, 500);
    }
  },
};
