// datacosmos-auth: the package under test (resolved through bench/node_modules, a link
// to ../pkg, so Node takes the `node` entry and esbuild/workerd the `workerd` one).
import { TokenClient } from "datacosmos-auth";

export const name = "datacosmos-auth";

export function create(cfg) {
  return new TokenClient({
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    tokenUrl: cfg.tokenUrl,
    audience: cfg.audience,
    ...(cfg.fetch ? { fetch: cfg.fetch } : {}),
  });
}
