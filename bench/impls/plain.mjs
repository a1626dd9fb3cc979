// The physical limit of a cached call: a plain JS function returning a cached string
// (`getToken` is async like every API here; `getTokenSync` is the synchronous floor).
export const name = "plain JS function";

export function create() {
  const token = "eyJhbGciOiJSUzI1NiJ9.cached.token";
  return {
    async getToken() { return token; },
    getTokenSync() { return token; },
    clear() {},
  };
}
