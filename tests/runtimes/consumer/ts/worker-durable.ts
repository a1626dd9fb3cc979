// The README's "Workers with a Durable Object lease" in TypeScript, with the `Env`
// interface that `wrangler types` generates for a durable_objects binding (typed by
// the class the worker exports: the declared TokenLease must carry the DO brand).
import { TokenClient, durableObjectStore } from "datacosmos-auth";
export { TokenLease } from "datacosmos-auth";

interface Env {
  DATACOSMOS_CLIENT_ID: string;
  DATACOSMOS_CLIENT_SECRET: string;
  TOKEN_LEASE: DurableObjectNamespace<import("datacosmos-auth").TokenLease>;
}

let client: TokenClient | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    client ??= TokenClient.fromEnv(env, { store: durableObjectStore(env.TOKEN_LEASE) });
    return client.fetch("https://app.open-cosmos.com/api/data/v0/stac/collections", { headers: request.headers });
  },
} satisfies ExportedHandler<Env>;
