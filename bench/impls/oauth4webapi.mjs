// oauth4webapi (low-level, no cache): the exchange is clientCredentialsGrantRequest +
// processClientCredentialsResponse; the cache is the hand-written one of cache.mjs.
import * as oauth from "oauth4webapi";
import { handCache, naiveCache } from "./cache.mjs";

export const name = "oauth4webapi + hand cache";

function exchange(cfg) {
  const as = { issuer: cfg.issuer, token_endpoint: cfg.tokenUrl };
  const client = { client_id: cfg.clientId };
  const auth = oauth.ClientSecretPost(cfg.clientSecret);
  const params = new URLSearchParams({ audience: cfg.audience });
  const options = { [oauth.allowInsecureRequests]: true, ...(cfg.fetch ? { [oauth.customFetch]: cfg.fetch } : {}) };
  return async () => {
    const res = await oauth.clientCredentialsGrantRequest(as, client, auth, params, options);
    return oauth.processClientCredentialsResponse(as, client, res);
  };
}

export function create(cfg) {
  return handCache(exchange(cfg));
}

/** The same exchange behind a cache without single flight (only for (d)). */
export function createNaive(cfg) {
  return naiveCache(exchange(cfg));
}
