// (g) The same (a)-(c) in workerd, through miniflare (Node side). Each implementation
// is bundled into its own worker with esbuild --bundle --conditions=workerd,worker
// (datacosmos-auth then resolves to its `workerd` entry, which imports the .wasm as a
// module), and the modules are listed explicitly: ESModule for .js, CompiledWasm for
// the .wasm.
//
// Inside workerd the clock is frozen while JavaScript runs, so:
// (a) cold start = (new Miniflare -> ready -> first /construct answered) for the
//     implementation's worker minus the same for an empty worker, each in a new
//     workerd process; what remains is loading the bundle, compiling and
//     instantiating the wasm, and constructing a client;
// (b) first token = the round trip of /first minus that of /noop (both from Node);
//     Date.now() inside does advance across the fetch, and is reported beside it;
// (c) cached call = (round trip of /cached?n=N - round trip of /cached?n=0) / N.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { Miniflare } from "miniflare";
import { summary, median } from "./lib/stats.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const now = () => performance.now();

async function bundle(impl) {
  const entry = impl === "none"
    ? "export default { fetch() { return new Response('{}'); } };"
    : `import ${JSON.stringify(here("./workerd/t0.mjs"))};
       import { create } from ${JSON.stringify(here(`./impls/${impl}.mjs`))};
       import { makeWorker } from ${JSON.stringify(here("./workerd/worker-core.mjs"))};
       const loadMs = performance.now() - globalThis.__benchT0;
       export default makeWorker(create, loadMs);`;
  const r = await esbuild.build({
    stdin: { contents: entry, resolveDir: here("./"), loader: "js" },
    bundle: true, format: "esm", platform: "neutral", conditions: ["workerd", "worker"],
    mainFields: ["module", "main"], external: ["*.wasm", "cloudflare:*"], write: false, logLevel: "silent", outdir: "/out",
  });
  const js = r.outputFiles[0].text;
  const modules = [{ type: "ESModule", path: "worker.js", contents: js }];
  if (js.includes("datacosmos_auth_bg.wasm")) {
    modules.push({ type: "CompiledWasm", path: "datacosmos_auth_bg.wasm", contents: readFileSync(here("../pkg/datacosmos_auth_bg.wasm")) });
  }
  return modules;
}

const options = (modules, cfg) => ({
  modules, modulesRoot: "/", compatibilityDate: "2025-09-01", bindings: { CFG: JSON.stringify(cfg) },
});

async function roundTrip(mf, path) {
  const t0 = now();
  const res = await mf.dispatchFetch(`http://bench.local${path}`);
  const body = await res.json();
  return { ms: now() - t0, body };
}

export async function runWorkerd({ impls, cachedImpls, cfg, coldSamples, firstSamples, cachedCalls, cachedSamples, log }) {
  const modules = {};
  for (const impl of ["none", ...impls]) modules[impl] = await bundle(impl);

  // (a) cold start, interleaved, each sample a new workerd process.
  const cold = Object.fromEntries(["none", ...impls].map((i) => [i, []]));
  const inside = Object.fromEntries(impls.map((i) => [i, { loadMs: [], constructMs: [] }]));
  for (let s = 0; s < coldSamples; s++) {
    for (const impl of ["none", ...impls]) {
      const t0 = now();
      const mf = new Miniflare(options(modules[impl], cfg));
      await mf.ready;
      const r = await roundTrip(mf, impl === "none" ? "/noop" : "/construct");
      cold[impl].push(now() - t0);
      if (impl !== "none") { inside[impl].loadMs.push(r.body.loadMs); inside[impl].constructMs.push(r.body.inside); }
      await mf.dispose();
    }
  }
  log?.("workerd (a) done");

  // (b), (c): one workerd process per implementation.
  const first = {};
  const cached = {};
  for (const impl of impls) {
    const mf = new Miniflare(options(modules[impl], cfg));
    await mf.ready;
    for (let i = 0; i < 5; i++) { await roundTrip(mf, "/noop"); await roundTrip(mf, "/first"); }
    const noop = [];
    const rt = [];
    const inside = [];
    for (let i = 0; i < firstSamples; i++) {
      noop.push((await roundTrip(mf, "/noop")).ms);
      const r = await roundTrip(mf, "/first");
      rt.push(r.ms);
      inside.push(r.body.inside);
    }
    const noopMedian = median(noop);
    first[impl] = { outside: summary(rt.map((x) => x - noopMedian)), inside: summary(inside), noop: summary(noop) };

    if (!cachedImpls.includes(impl)) { await mf.dispose(); continue; }
    await roundTrip(mf, `/cached?n=${cachedCalls}`);
    const per = [];
    const insideCached = [];
    for (let i = 0; i < cachedSamples; i++) {
      const zero = (await roundTrip(mf, "/cached?n=0")).ms;
      const r = await roundTrip(mf, `/cached?n=${cachedCalls}`);
      per.push(((r.ms - zero) * 1e6) / cachedCalls);
      insideCached.push(r.body.inside);
    }
    cached[impl] = { ns: summary(per), insideMs: summary(insideCached) };
    await mf.dispose();
    log?.(`workerd ${impl} done`);
  }
  const none = median(cold.none);
  const spin = await (async () => {
    const mf = new Miniflare(options(modules.plain, cfg));
    await mf.ready;
    const r = (await roundTrip(mf, "/spin?n=20000000")).body;
    await mf.dispose();
    return r;
  })();
  return {
    spin,
    cold: Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, {
      total: summary(v), overNone: summary(v.map((x) => x - none)),
      ...(inside[k] ? { loadMs: summary(inside[k].loadMs), constructMs: summary(inside[k].constructMs) } : {}),
    }])),
    first,
    cached,
    settings: { coldSamples, firstSamples, cachedCalls, cachedSamples, compatibilityDate: "2025-09-01" },
  };
}
