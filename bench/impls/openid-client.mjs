// openid-client v6 (no token cache of its own): a Configuration from static metadata
// (no discovery), clientCredentialsGrant, and the hand-written cache of cache.mjs.
import * as client from "openid-client";
import { handCache } from "./cache.mjs";

export const name = "openid-client + hand cache";

export function create(cfg) {
  const config = new client.Configuration(
    { issuer: cfg.issuer, token_endpoint: cfg.tokenUrl },
    cfg.clientId,
    cfg.clientSecret,
    client.ClientSecretPost(cfg.clientSecret),
  );
  client.allowInsecureRequests(config); // loopback http only
  if (cfg.fetch) config[client.customFetch] = cfg.fetch;
  const params = { audience: cfg.audience };
  return handCache(() => client.clientCredentialsGrant(config, params));
}
