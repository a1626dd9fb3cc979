// The README's Worker quick start in TypeScript, with the `Env` interface that
// `wrangler types` generates (string vars and secrets next to a KV binding).
// known-bug-types.test.mjs: this must type-check.
import { TokenClient } from "datacosmos-auth";

interface Env {
  DATACOSMOS_CLIENT_ID: string;
  DATACOSMOS_CLIENT_SECRET: string;
  TOKENS: KVNamespace;
}

let client: TokenClient | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    client ??= TokenClient.fromEnv(env, { store: env.TOKENS });
    return client.fetch("https://app.open-cosmos.com/api/data/v0/stac/collections", { headers: request.headers });
  },
} satisfies ExportedHandler<Env>;
