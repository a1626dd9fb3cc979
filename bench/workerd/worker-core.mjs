// The bench worker (bundled per implementation by workerd.mjs with esbuild
// --conditions=workerd,worker). Config comes from the CFG binding.
//
// Timing in workerd: Date.now() and performance.now() do not advance while JavaScript
// runs (a Spectre mitigation); they only move across I/O. So times taken in here are
// reported as they are, and the figures are also measured from outside, in Node, by
// differences of dispatchFetch round trips. (Under miniflare the local workerd's
// clock does move during JavaScript, in whole milliseconds: /spin shows which.)
export function makeWorker(create, loadMs) {
  let client; // one per isolate, as the README recommends
  const json = (o) => new Response(JSON.stringify(o), { headers: { "content-type": "application/json" } });
  return {
    async fetch(request, env) {
      const url = new URL(request.url);
      const cfg = JSON.parse(env.CFG);
      if (url.pathname === "/noop") return json({});
      if (url.pathname === "/spin") {
        // Does the clock move during synchronous JavaScript? (a frozen clock gives 0)
        const n = Number(url.searchParams.get("n"));
        const d0 = Date.now();
        const p0 = performance.now();
        let x = 0;
        for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
        return json({ dateMs: Date.now() - d0, perfMs: performance.now() - p0, x });
      }
      if (url.pathname === "/construct") {
        const t0 = performance.now();
        create(cfg);
        return json({ inside: performance.now() - t0, loadMs });
      }
      if (url.pathname === "/first") {
        const c = create(cfg);
        const t0 = Date.now();
        await c.getToken();
        return json({ inside: Date.now() - t0 });
      }
      if (url.pathname === "/cached") {
        client ??= create(cfg);
        await client.getToken();
        const n = Number(url.searchParams.get("n"));
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await client.getToken();
        return json({ inside: performance.now() - t0, n });
      }
      return new Response("not found", { status: 404 });
    },
  };
}
