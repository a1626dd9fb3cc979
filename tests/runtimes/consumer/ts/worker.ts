// Type-level consumer: a Cloudflare Worker in TypeScript (@cloudflare/workers-types,
// moduleResolution bundler with customConditions ["workerd"], as Wrangler projects).
import { OAuthError, TokenClient } from "datacosmos-auth";
import type { TokenStore } from "datacosmos-auth";

interface Env {
  DATACOSMOS_CLIENT_ID: string;
  DATACOSMOS_CLIENT_SECRET: string;
  TOKENS: KVNamespace;
}

let client: TokenClient | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const store: TokenStore = env.TOKENS; // a KV namespace is a TokenStore as it is
    client ??= new TokenClient({ clientId: env.DATACOSMOS_CLIENT_ID, clientSecret: env.DATACOSMOS_CLIENT_SECRET, store });
    try {
      return await client.fetch("https://app.open-cosmos.com/api/data/v0/stac/collections", { headers: request.headers });
    } catch (e) {
      if (e instanceof OAuthError) return Response.json({ code: e.code }, { status: e.status ?? 502 });
      throw e;
    }
  },
} satisfies ExportedHandler<Env>;
