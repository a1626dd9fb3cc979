// The physical limit of an exchange: one raw `fetch` of the token endpoint with the
// same request datacosmos-auth sends (form body, same headers), then `JSON.parse`.
// No cache, no timeout, no retries, no error handling.
export const name = "raw fetch + JSON.parse";

export function create(cfg) {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: cfg.clientId,
    client_secret: cfg.clientSecret,
    audience: cfg.audience,
  }).toString();
  const headers = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  const f = cfg.fetch ?? globalThis.fetch;
  return {
    async getToken() {
      const res = await f(cfg.tokenUrl, { method: "POST", headers, body });
      return JSON.parse(await res.text()).access_token;
    },
    clear() {},
  };
}
