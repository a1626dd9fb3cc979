// The cache a user writes around a library that has none: keep the token until
// `leewayMs` before expiry, and let concurrent callers share one request (single
// flight). Every peer below uses this same wrapper, so that the peers differ only
// in the library that does the exchange.
export function handCache(fetchToken, leewayMs = 60_000) {
  let token;
  let expiresAt = 0;
  let inflight;
  let generation = 0;
  return {
    async getToken() {
      if (token !== undefined && Date.now() < expiresAt - leewayMs) return token;
      if (inflight === undefined) {
        const gen = generation;
        const sentAt = Date.now();
        inflight = fetchToken().then(
          (r) => {
            if (gen === generation) {
              token = r.access_token;
              expiresAt = sentAt + (r.expires_in ?? 3600) * 1000;
              inflight = undefined;
            }
            return r.access_token;
          },
          (e) => {
            if (gen === generation) inflight = undefined;
            throw e;
          },
        );
      }
      return inflight;
    },
    clear() {
      token = undefined;
      inflight = undefined;
      generation += 1;
    },
  };
}

// The other cache people write: no single flight, so N concurrent callers with a
// cold cache make N requests. Only used in (d), to show what single flight saves.
export function naiveCache(fetchToken, leewayMs = 60_000) {
  let token;
  let expiresAt = 0;
  return {
    async getToken() {
      if (token !== undefined && Date.now() < expiresAt - leewayMs) return token;
      const sentAt = Date.now();
      const r = await fetchToken();
      token = r.access_token;
      expiresAt = sentAt + (r.expires_in ?? 3600) * 1000;
      return token;
    },
    clear() { token = undefined; },
  };
}
