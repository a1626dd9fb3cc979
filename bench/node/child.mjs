// One measurement in a fresh Node process: `node child.mjs PHASE IMPL JSON`. Prints one
// JSON line. Every implementation runs in its own process, so no call site in the
// benchmark loop sees more than one implementation (no megamorphic inline caches)
// and memory figures are not mixed.
const [phase, impl, json = "{}"] = process.argv.slice(2);
const args = JSON.parse(json);
const now = () => performance.now();
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function load() {
  const mod = await import(`../impls/${impl === "oauth4webapi-naive" ? "oauth4webapi" : impl}.mjs`);
  return impl === "oauth4webapi-naive" ? { create: mod.createNaive } : mod;
}

if (phase === "cold") {
  // (a) performance.now() counts from this process's time origin (its start).
  if (impl === "none") {
    out({ ready: now(), importConstruct: 0 });
  } else if (impl === "datacosmos-steps") {
    // The same steps as pkg/node.js, one by one.
    const { readFileSync } = await import("node:fs");
    const t0 = now();
    const glue = await import("../../pkg/datacosmos_auth.js");
    const { install } = await import("../../pkg/core.js");
    const t1 = now();
    const bytes = readFileSync(new URL("../../pkg/datacosmos_auth_bg.wasm", import.meta.url));
    const t2 = now();
    const module = new WebAssembly.Module(bytes);
    const t3 = now();
    glue.initSync({ module });
    const { TokenClient } = install(() => glue);
    const t4 = now();
    new TokenClient({ clientId: args.clientId, clientSecret: args.clientSecret, tokenUrl: args.tokenUrl });
    const t5 = now();
    out({ ready: t5, importConstruct: t5 - t0, steps: { importGlue: t1 - t0, readWasm: t2 - t1, compile: t3 - t2, instantiate: t4 - t3, construct: t5 - t4 } });
  } else {
    const t0 = now();
    const { create } = await load();
    const client = create(args);
    const t1 = now();
    const r = { ready: t1, importConstruct: t1 - t0 };
    if (args.firstToken) {
      await client.getToken();
      r.firstToken = now() - t1;
    }
    out(r);
  }
  process.exit(0);
}

if (phase === "first") {
  // (b) a new client and its first getToken(), `samples` times (after `warmup`).
  const { create } = await load();
  const times = [];
  let cpu;
  for (let i = 0; i < args.warmup + args.samples; i++) {
    if (i === args.warmup) cpu = process.cpuUsage();
    const client = create(args);
    const t0 = now();
    await client.getToken();
    const dt = now() - t0;
    if (i >= args.warmup) times.push(dt);
  }
  const used = process.cpuUsage(cpu);
  // This process's CPU time per sample (new client + exchange), in ms: the client's
  // own cost, without the server's and with less scheduling noise than wall time.
  out({ times, cpuMs: (used.user + used.system) / 1000 / args.samples });
  process.exit(0);
}

if (phase === "cached") {
  // (c) ns per cached call: `samples` loops of `calls` awaited calls, after a warm-up.
  const { create } = await load();
  const client = create(args);
  await client.getToken();
  const loop = async (n) => {
    const t0 = now();
    for (let i = 0; i < n; i++) await client.getToken();
    return ((now() - t0) * 1e6) / n;
  };
  // The synchronous part alone: calls whose promises are not awaited one by one.
  const callOnly = async (n) => {
    let last;
    const t0 = now();
    for (let i = 0; i < n; i++) last = client.getToken();
    const dt = now() - t0;
    await last;
    return (dt * 1e6) / n;
  };
  const syncLoop = (n) => {
    let len = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) len += client.getTokenSync().length;
    const dt = now() - t0;
    if (len === 0) throw new Error("unreachable");
    return (dt * 1e6) / n;
  };
  await loop(args.calls);
  await callOnly(Math.min(args.calls, 100_000));
  const awaited = [];
  const call = [];
  const sync = [];
  for (let s = 0; s < args.samples; s++) {
    awaited.push(await loop(args.calls));
    call.push(await callOnly(Math.min(args.calls, 100_000)));
    if (client.getTokenSync) sync.push(syncLoop(args.calls));
  }
  out({ awaited, call, sync });
  process.exit(0);
}

if (phase === "concurrent") {
  // (d) `callers` concurrent getToken() on a new client (cold cache); the requests
  // are counted by the server (GET /__count).
  const { create } = await load();
  const count = async () => (await (await fetch(args.countUrl)).json()).count;
  const trials = [];
  for (let t = 0; t < args.warmup + args.trials; t++) {
    const client = create(args);
    const before = await count();
    const lat = new Float64Array(args.callers);
    const calls = new Array(args.callers);
    const start = now();
    for (let i = 0; i < args.callers; i++) {
      const t0 = now();
      calls[i] = client.getToken().then(() => { lat[i] = now() - t0; });
    }
    const settled = await Promise.allSettled(calls);
    const wall = now() - start;
    const failed = settled.filter((s) => s.status === "rejected").length;
    const requests = (await count()) - before;
    lat.sort();
    if (t >= args.warmup) {
      trials.push({ requests, failed, wall, p50: lat[Math.floor(args.callers * 0.5)], p99: lat[Math.floor(args.callers * 0.99)], max: lat[args.callers - 1] });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  out({ trials });
  process.exit(0);
}

if (phase === "memory") {
  // (e) run with --expose-gc. Memory after full GCs, at checkpoints.
  const { create } = await load();
  let wasm = null;
  if (impl === "datacosmos") {
    // The package does not export its memory: the glue module is the same instance
    // the `node` entry initialised (same file URL), and initSync() on an initialised
    // glue returns its wasm exports (memory, the externref table).
    const glue = await import("../../pkg/datacosmos_auth.js");
    wasm = glue.initSync();
  }
  const snap = async (label, done) => {
    for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
    const m = process.memoryUsage();
    return {
      label, done, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers,
      ...(wasm ? { wasmMemory: wasm.memory.buffer.byteLength, externrefs: wasm.__wbindgen_externrefs.length } : {}),
    };
  };
  const client = create(args);
  const cached = async (n) => { for (let i = 0; i < n; i++) await client.getToken(); };
  const refresh = async (n) => { for (let i = 0; i < n; i++) { client.clear(); await client.getToken(); } };
  const snaps = [];
  await client.getToken();
  await cached(10_000);
  if (args.refreshes) await refresh(200);
  snaps.push(await snap("warm", 0));
  await cached(args.calls / 2);
  snaps.push(await snap("cached-half", args.calls / 2));
  await cached(args.calls / 2);
  snaps.push(await snap("cached", args.calls));
  if (args.refreshes) {
    await refresh(args.refreshes / 2);
    snaps.push(await snap("refresh-half", args.refreshes / 2));
    await refresh(args.refreshes / 2);
    snaps.push(await snap("refresh", args.refreshes));
  }
  out({ snaps });
  process.exit(0);
}

throw new Error(`unknown phase ${phase}`);
