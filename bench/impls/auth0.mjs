// @auth0/auth0-auth-js: AuthClient.getTokenByClientCredentials (no token cache of its
// own; the hand-written cache of cache.mjs). It only talks to https://{domain} and
// starts with OIDC discovery, so a customFetch maps the made-up https domain onto the
// loopback server and rewrites the discovery document's URLs to that domain; the
// discovery request and the token request still reach the real loopback server.
import { AuthClient } from "@auth0/auth0-auth-js";
import { handCache } from "./cache.mjs";

export const name = "@auth0/auth0-auth-js + hand cache";

const DOMAIN = "auth.bench.invalid";

export function create(cfg) {
  const origin = new URL(cfg.tokenUrl).origin;
  const fake = `https://${DOMAIN}`;
  const base = cfg.fetch ?? globalThis.fetch;
  const customFetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input).replace(fake, origin);
    const res = await base(input instanceof Request ? new Request(url, input) : url, init);
    if (!url.endsWith("/.well-known/openid-configuration")) return res;
    const text = (await res.text()).replaceAll(origin, fake);
    return new Response(text, { status: res.status, headers: res.headers });
  };
  const auth = new AuthClient({
    domain: DOMAIN,
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    customFetch,
  });
  const options = { audience: cfg.audience };
  return handCache(async () => {
    const r = await auth.getTokenByClientCredentials(options);
    return { access_token: r.accessToken, expires_in: r.expiresAt - Math.floor(Date.now() / 1000) };
  });
}
