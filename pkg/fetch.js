// client.fetch(input, init): `fetch` with the client's Authorization header; on a 401
// it asks for a fresh token once and sends again, unless the body is a stream that
// cannot be replayed. Plain JS over two internal methods of the wasm client
// (`__header`, `__fetchFn`), installed on the class by each entry.

async function authedFetch(client, input, init) {
  const fetchFn = client.__fetchFn();
  const isRequest = typeof Request !== "undefined" && input instanceof Request;
  const streamBody = init != null && init.body != null && typeof init.body.getReader === "function";
  const replayable = !streamBody && !(isRequest && input.bodyUsed);
  const attempt = (auth, last) => {
    const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
    headers.set("authorization", auth);
    const target = isRequest && !last ? input.clone() : input;
    return fetchFn(target, { ...init, headers });
  };
  // __header(null): the current header; __header(rejected): a fresh one, unless the
  // cache already holds a newer token than the rejected one.
  const auth = await client.__header(null);
  const first = await attempt(auth, !replayable);
  if (first.status !== 401 || !replayable) return first;
  try {
    await first.body?.cancel();
  } catch {
    // Already closed.
  }
  return attempt(await client.__header(auth), true);
}

export function installFetch(TokenClient) {
  Object.defineProperty(TokenClient.prototype, "fetch", {
    value: function fetch(input, init) {
      return authedFetch(this, input, init);
    },
    writable: true,
    configurable: true,
  });
}
