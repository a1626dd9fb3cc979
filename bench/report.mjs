// Turns bench/results.json into bench/REPORT.md and bench/chart.svg.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const R = JSON.parse(readFileSync(here("./results.json")));
const N = R.settings;

const NAMES = {
  none: "empty process (no import)",
  plain: "limit: plain JS function",
  raw: "limit: raw fetch + JSON.parse",
  datacosmos: "**datacosmos-auth**",
  "datacosmos-steps": "datacosmos-auth, wasm-bindgen steps by hand",
  oauth4webapi: "oauth4webapi + hand cache",
  "oauth4webapi-naive": "oauth4webapi + cache without single flight",
  "openid-client": "openid-client + hand cache",
  auth0: "@auth0/auth0-auth-js + hand cache",
};
const plainName = (k) => NAMES[k].replaceAll("**", "");
const f = (x, d = 2) => (x === undefined || Number.isNaN(x) ? "–" : x >= 100 ? x.toFixed(0) : x.toFixed(d));
const mmm = (s, d) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
const mib = (b) => (b / 2 ** 20).toFixed(1);
const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const yes = (ok) => (ok ? "✅ met" : "❌ not met");

// ---- targets ------------------------------------------------------------------
const gate = R.size.rows.find((r) => r.id === "gate");
const coldDc = R.cold.datacosmos.importConstruct;
const cachedDc = R.cached.datacosmos.awaited;
const firstO = R.first_oidc.impls.datacosmos.vsRaw;
const firstF = R.first_fast.impls.datacosmos.vsRaw;
const cpuF = R.first_fast.impls.datacosmos.cpuVsRaw;
const memRuns = R.memory.datacosmos;
const growth = (runs, key, from, to) => runs.map((s) => s.find((x) => x.label === to)[key] - s.find((x) => x.label === from)[key]);
const wasmGrowth = [...growth(memRuns, "wasmMemory", "warm", "cached"), ...growth(memRuns, "wasmMemory", "cached", "refresh")];
const tableGrowth = [...growth(memRuns, "externrefs", "warm", "cached"), ...growth(memRuns, "externrefs", "cached", "refresh")];
const heapSteady = growth(memRuns, "heapUsed", "refresh-half", "refresh");
const heapCached = growth(memRuns, "heapUsed", "warm", "cached");
const rawSteady = R.memory.raw ? growth(R.memory.raw, "heapUsed", "refresh-half", "refresh") : [0];
const noGrowth = wasmGrowth.every((x) => x === 0) && tableGrowth.every((x) => x === 0) && Math.max(...heapCached) < 256 * 1024;

// Issue 10's targets: ratios against oauth4webapi (+ the hand-written cache) or raw fetch.
const sizeRow = (id) => R.size.rows.find((r) => r.id === id);
const edge = sizeRow("datacosmos"), browser = sizeRow("datacosmos-browser"), o4wSize = sizeRow("oauth4webapi");
const coldRatio = coldDc.median / R.cold.oauth4webapi.importConstruct.median;
const wk = R.workerd?.cold;
const wkRatio = wk ? wk.datacosmos.overNone.median / wk.oauth4webapi.overNone.median : NaN;
const cachedRatio = cachedDc.median / R.cached.oauth4webapi.awaited.median;
const cpuO = R.first_oidc.impls.datacosmos.cpuVsRaw;
const conc = R.concurrent;
const concRatio = conc.datacosmos.wall.median / conc.oauth4webapi.wall.median;
const summary = table(["target (issue 10)", "figure", "verdict"], [
  ["edge isolate (workerd entry: .wasm + minified JS, gzip) ≤ 16 KB (stretch 12 KB)", `${kb(edge.gzip)} (${edge.gzip} B); oauth4webapi ${kb(o4wSize.gzip)}: ${ratio(edge.gzip, o4wSize.gzip)}`, yes(edge.gzip <= 16 * 1024)],
  ["browser bundle (esbuild, browser condition, gzip) ≤ 20 KB", `${kb(browser.gzip)} (${browser.gzip} B)`, yes(browser.gzip <= 20 * 1024)],
  ["cold import + construct in Node ≤ 1.0× oauth4webapi's", `${mmm(coldDc)} ms vs ${mmm(R.cold.oauth4webapi.importConstruct)} ms: ${ratio(coldRatio, 1)}`, yes(coldRatio <= 1.0)],
  ["cold start in workerd ≤ 1.2× oauth4webapi's over the empty worker", wk ? `${f(wk.datacosmos.overNone.median)} ms vs ${f(wk.oauth4webapi.overNone.median)} ms over the empty worker${wk.oauth4webapi.overNone.median > 0 ? `: ${ratio(wkRatio, 1)}` : " (the peer is within noise of the empty worker: no ratio)"}` : "not measured",
    wk && wk.oauth4webapi.overNone.median > 0 ? yes(wkRatio <= 1.2) : "❔ not determinable in this run"],
  ["cached getToken() ≤ 1.2× oauth4webapi + hand cache", `${mmm(cachedDc, 0)} ns vs ${mmm(R.cached.oauth4webapi.awaited, 0)} ns: ${ratio(cachedRatio, 1)}`, yes(cachedRatio <= 1.2)],
  ["first token: client CPU per exchange ≤ 1.05× raw fetch + JSON.parse", `fast endpoint ${ratio(cpuF.median, 1)} (${f(cpuF.min)}–${f(cpuF.max)}); oidc-provider ${ratio(cpuO.median, 1)}`, yes(cpuF.median <= 1.05)],
  ["10,000 concurrent callers: wall ≤ 1.2× oauth4webapi + cache, 1 request", `${mmm(conc.datacosmos.wall)} ms vs ${mmm(conc.oauth4webapi.wall)} ms: ${ratio(concRatio, 1)}; ${conc.datacosmos.requests.median} request(s)`, yes(concRatio <= 1.2 && conc.datacosmos.requests.max === 1)],
  ["memory flat over 1,000,000 cached calls and 10,000 refreshes", `wasm memory ${wasmGrowth.every((x) => x === 0) ? "unchanged" : "grew"}, externref table ${tableGrowth.every((x) => x === 0) ? "unchanged" : "grew"}, JS heap over the cached calls ${f(Math.max(...heapCached) / 1024, 0)} KiB`, yes(noGrowth)],
]);
const levers = table(["lever", "what an edge isolate loads, gzip", "saved (bytes, ms)"], [
  ["start of the second wave (landed v1)", "40,954 B", "–"],
  ["the engine, the Rust JSON reader (+2.2 KB), the redactor (+3.8 KB), quota, events", "46,240 B", "+5,286 B"],
  ["talc instead of dlmalloc (global allocator of the npm build only)", "44,262 B", "−1,978 B"],
  ["no_std + a trapping panic handler (no core::fmt, no std panic machinery), no str::parse", "40,723 B", "−3,539 B"],
  ["the redactor compiled only when text is redacted (construct compiles nothing)", "40,689 B", "−34 B; construct no longer compiles every form of the secret twice"],
  ["bulk-memory/nontrapping-fptoint/sign-ext for rustc; wasm-opt --low-memory-unused", "40,912 B (after +450 B of fixes)", "−180 B"],
  ["Retry-After and Date parsed by the runtime (Date.parse) in the npm build", "40,347 B (after +140 B: quota through the store)", "−705 B"],
  ["one step() export instead of call/answer/outcome (each carried the string glue and the step encoder)", "40,506 B (after +~800 B: private_key_jwt, static tokens, review fixes)", "−647 B"],
  ["talc's OOM handler without unwrap() (it kept core::fmt's padding and Debug code)", "40,340 B", "−186 B"],
  ["browser entry: the .wasm compiled and instantiated asynchronously (WebAssembly.instantiate from a microtask after import; Uint8Array.fromBase64), a client constructed before that instantiates synchronously where allowed, else waits (older Chrome and Android WebViews refuse synchronous compilation over 4 KB)", "40,423 B (the glue keeps its first instance: +6 B)", "browser bundle 50,493 → 50,592 B gzip (+99 B); the workerd entry carries none of it"],
  ["workerd/worker entries hand core.js the four glue functions, not the glue namespace (bundlers then drop the glue's async loader, instantiateStreaming and its warnings)", "39,993 B", "−430 B"],
  ["user login: authMethod \"none\" in the engine, invalid_grant negative-cached, the driver's session hook (each request built and each answer read by pkg/login.js, which an edge isolate does not load)", "40,155 B", "+162 B (landed budget was 40,420)"],
  ["the attempt's timeout by an AbortController and a timer cleared at the end instead of AbortSignal.timeout (in Node 7.5 µs and a timer left to the garbage collector per signal, against 0.25 µs)", "40,181 B", "+26 B; first-token client CPU 1.45× → 1.31× raw fetch (median of 6 interleaved rounds of 1,500 exchanges, fast endpoint)"],
  ["a call's options.signal checked (a throwing getter, a non-AbortSignal: invalid_config, no request)", "40,225 B", "+44 B"],
  ["Node ESM entry: node.js, core.js, stores.js and the signer bundled into one module (node.bundle.js; the glue stays its own); fs from process.getBuiltinModule instead of importing node:fs", "39,993 B (Node only)", "cold import + construct 19.9 → 15.7 ms median over 60 fresh processes each, interleaved (oauth4webapi 8.3 ms in the same run: 2.39× → 1.88×)"],
]);
let byCrate = "twiggy was not available for this run (bench/run.sh installs it into .tools).";
try {
  const items = JSON.parse(readFileSync(here("./twiggy.json")));
  const crate = (name) => {
    if (/shim$/.test(name)) return "wasm-bindgen export shims (with inlined bodies)";
    if (/^data segment/.test(name)) return "data segments (strings, tables)";
    const m = /^(?:<)?([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::/.exec(name);
    return m ? m[1] : "other";
  };
  const sums = new Map();
  let total = 0;
  for (const it of items) {
    if (/function names|custom section/.test(it.name)) continue;
    total += it.shallow_size;
    sums.set(crate(it.name), (sums.get(crate(it.name)) ?? 0) + it.shallow_size);
  }
  byCrate = table(["crate", "bytes", "share"], [...sums].sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([c, b]) => [c, String(b), `${f((100 * b) / total, 1)} %`]));
} catch {
  // left as the note above
}

const md = [];
md.push(`# datacosmos-auth: benchmarks

Generated by \`make bench\` (\`bench/run.sh\`) on ${R.env.date.slice(0, 16).replace("T", " ")} UTC, package commit \`${R.env.commit}\`${R.env.dirty ? " with uncommitted changes in src/ or pkg/" : ""}; the suite took ${(R.wallSeconds / 60).toFixed(1)} min. Every figure is a **median (min–max)** over repeated runs, measured in the same run as the peers and the physical limits it is compared with. The machine is a shared 2-core VM: read ratios measured side by side rather than absolute numbers.${R.quick ? "\n\n> **BENCH_QUICK=1**: reduced iteration counts; not for quoting." : ""}

![cached getToken() and first token, by implementation](chart.svg)

Where the time and the bytes go, with proposals: [FINDINGS.md](FINDINGS.md) (profiles of an earlier run; not regenerated).

## Summary: the targets of issue 10, each a ratio against the peer measured in this run

${summary}

## What each lever saved

Measured while making the change (same machine; gzip -9 of what an edge isolate loads:
the \`.wasm\` plus a minimal Worker's bundled, minified JS; scripts/size.mjs):

${levers}

## The \`.wasm\` by crate (twiggy)

${byCrate}
`);

// ---- (a) ---------------------------------------------------------------------
const A = R.cold;
md.push(`## (a) Cold start in Node

A fresh \`node\` process per sample (${N.coldSamples} samples per row, rows interleaved). *import + construct* is measured inside the process with \`performance.now()\` around \`await import(impl)\` and the client's construction (for datacosmos-auth that includes reading the \`.wasm\`, compiling and instantiating it: the \`node\` entry does it at import). *ready* is \`performance.now()\` at that point, i.e. since the process started. *process wall* is spawn to exit as seen by the parent, and includes the first token (against oidc-provider) for the rows that fetch one.

${table(["implementation", "import + construct, ms", "× plain JS", "ready since process start, ms", "first token in the fresh process, ms", "process wall, ms"],
  ["none", "plain", "datacosmos", "oauth4webapi", "openid-client", "auth0", "raw"].map((k) => [NAMES[k], mmm(A[k].importConstruct), k === "none" ? "–" : ratio(A[k].importConstruct.median, A.plain.importConstruct.median), mmm(A[k].ready), A[k].firstToken ? mmm(A[k].firstToken) : "–", mmm(A[k].processWall, 0)]))}

Where datacosmos-auth's cold start goes: the wasm-bindgen steps done one by one (import the glue, read the \`.wasm\`, \`new WebAssembly.Module\`, \`initSync\`, \`new TokenClient\`) in a separate fresh process per sample. (The package's \`node\` entry also loads its own helper modules, so the first table's row is the one that counts.)

${table(["step", "ms"], Object.entries(A["datacosmos-steps"].steps).map(([k, s]) => [k, mmm(s)]).concat([["total", mmm(A["datacosmos-steps"].importConstruct)]]))}
`);

// ---- (b) ---------------------------------------------------------------------
const firstTable = (B) => table(["implementation", "first token, ms", "× raw fetch (paired by round)", "client CPU per exchange, ms", "CPU × raw fetch"],
  ["raw", "datacosmos", "oauth4webapi", "openid-client", "auth0"].map((k) => [NAMES[k], mmm(B.impls[k].ms), k === "raw" ? "1" : `${f(B.impls[k].vsRaw.median)} (${f(B.impls[k].vsRaw.min)}–${f(B.impls[k].vsRaw.max)})`, mmm(B.impls[k].cpuMs, 3), k === "raw" ? "1" : `${f(B.impls[k].cpuVsRaw.median)} (${f(B.impls[k].cpuVsRaw.min)}–${f(B.impls[k].cpuVsRaw.max)})`]));
md.push(`## (b) First token

A new client and its first \`getToken()\` (an uncached exchange over a kept-alive loopback connection), in a warm process: ${N.firstRounds} rounds × ${N.firstSamples} samples per implementation (after ${N.firstWarmup} warm-up samples per round), one process per implementation and round, implementations interleaved within a round. *× raw fetch* is the median over rounds of (this implementation's median ÷ raw fetch's median in the same round). *Client CPU* is the process's user + system CPU time over the measured samples ÷ samples (new client + exchange, without the server's time): less noisy than wall time on this machine.

Against oidc-provider ${R.env.versions["oidc-provider"]} (tests/servers/oidc.mjs, in its own process; ${R.first_oidc.requests} token requests counted by the server):

${firstTable(R.first_oidc)}

Against the fast endpoint (bench/lib/servers.mjs: answers a prebuilt JSON, so the clients' own cost is not hidden behind the server's; ${R.first_fast.requests} token requests):

${firstTable(R.first_fast)}

@auth0/auth0-auth-js starts with OIDC discovery; its discovery document is cached per process, so only its first sample pays for it (see (a) for a fresh process).
`);

// ---- (c) ---------------------------------------------------------------------
const C = R.cached;
md.push(`## (c) Cached \`getToken()\`

ns per call with a fresh token in the cache: ${N.cachedRounds} processes per implementation × ${N.cachedSamples} samples of ${N.cachedCalls.toLocaleString("en")} calls, after a warm-up loop of the same length. *awaited* is \`for (…) await client.getToken()\` (how callers use it); *call only* times the calls alone, their promises awaited at the end (the synchronous cost); the plain function's synchronous variant returns the string without a promise (the absolute floor).

${table(["implementation", "awaited, ns/call", "× async function limit", "call only, ns/call", "synchronous, ns/call"],
  ["plain", "datacosmos", "oauth4webapi", "openid-client", "auth0"].map((k) => [NAMES[k], mmm(C[k].awaited, 0), ratio(C[k].awaited.median, C.plain.awaited.median), mmm(C[k].call, 0), C[k].sync ? mmm(C[k].sync, 1) : "–"]))}

The three peers share one hand-written cache (bench/impls/cache.mjs: an async function checking \`Date.now()\` against the expiry), so their rows measure that cache, not the libraries.
`);

// ---- (d) ---------------------------------------------------------------------
const D = R.concurrent;
md.push(`## (d) ${N.callers.toLocaleString("en")} concurrent callers

${N.callers.toLocaleString("en")} \`getToken()\` calls issued in one synchronous loop on a new client (cold cache), against the fast endpoint (its own process; it counts the token requests it answers). Latency is per caller, from its call to its promise settling. ${N.concTrials} trials after 1 warm-up trial (${N.concTrialsUnshared} trials and no warm-up for the two rows without single flight, each of which makes ${N.callers.toLocaleString("en")} requests).

${table(["implementation", "token requests made", "p50, ms", "p99, ms", "all settled, ms", "failed"],
  ["datacosmos", "oauth4webapi", "openid-client", "auth0", "oauth4webapi-naive", "raw"].map((k) => [k === "raw" ? "raw fetch per caller (no cache)" : NAMES[k], mmm(D[k].requests, 0), mmm(D[k].p50), mmm(D[k].p99), mmm(D[k].wall), f(D[k].failed.max, 0)]))}
`);

// ---- (e) ---------------------------------------------------------------------
const memRow = (k) => {
  const runs = R.memory[k];
  const at = (label, key) => runs.map((s) => s.find((x) => x.label === label)?.[key]).filter((x) => x !== undefined);
  const cell = (label, key, fmt) => { const xs = at(label, key); return xs.length ? xs.map(fmt).join(" / ") : "–"; };
  return [NAMES[k], cell("warm", "rss", mib), cell("cached", "rss", mib), cell("refresh-half", "rss", mib), cell("refresh", "rss", mib),
    cell("warm", "heapUsed", mib), cell("cached", "heapUsed", mib), cell("refresh-half", "heapUsed", mib), cell("refresh", "heapUsed", mib)];
};
md.push(`## (e) Memory

One process per implementation and round (${N.memRounds} rounds; cells list the rounds, in MiB), run with \`--expose-gc\`; each checkpoint is taken after three full GCs. *warm*: first token, 10,000 cached calls and 200 refreshes; then ${N.memCalls.toLocaleString("en")} cached calls; then ${N.memRefreshes.toLocaleString("en")} refreshes (\`client.clear()\` + \`getToken()\`, each a real exchange with the fast endpoint), with a checkpoint halfway. raw fetch has no cache (refreshes only); the plain function has nothing to refresh.

${table(["implementation", "RSS warm", `RSS after ${N.memCalls / 1e6} M cached`, `RSS after ${N.memRefreshes / 2} refreshes`, `RSS after ${N.memRefreshes} refreshes`, "JS heap warm", "JS heap after cached", `JS heap after ${N.memRefreshes / 2} refreshes`, `JS heap after ${N.memRefreshes} refreshes`],
  ["plain", "datacosmos", "oauth4webapi", "openid-client", "auth0", "raw"].map(memRow))}

datacosmos-auth's wasm side, from the same processes: the package does not export its memory, so the bench imports the glue \`pkg/datacosmos_auth.js\` itself — the same module instance the \`node\` entry initialised (same file URL) — and \`initSync()\` on the initialised glue returns the wasm exports: \`memory\` (linear memory) and \`__wbindgen_externrefs\` (the table of JS values held by Rust).

${table(["checkpoint", "wasm linear memory, bytes", "externref table, slots"],
  memRuns[0].map((s, i) => [s.label + (s.done ? ` (${s.done.toLocaleString("en")})` : ""), memRuns.map((r) => r[i].wasmMemory).join(" / "), memRuns.map((r) => r[i].externrefs).join(" / ")]))}

RSS rises by ~25 MiB over the first thousands of token requests for every implementation alike, raw fetch included (its warm-up already made 10,200 requests, hence its high *warm* figure): that is Node's \`fetch\` (undici) and V8 warming up, not a client's cache.
`);

// ---- (f) ---------------------------------------------------------------------
const S = R.size.rows;
const o4w = S.find((r) => r.id === "oauth4webapi");
md.push(`## (f) Size

gzip -9 and brotli q11 (Node's zlib). The job bundles are \`esbuild --bundle --minify --format=esm\` of bench/impls/*.mjs (create a client, get a cached token), \`--platform=browser\` for the peers; datacosmos-auth's workerd row uses \`--platform=neutral --conditions=workerd,worker\` with the \`.wasm\` kept as a separate module (added to the figures).

${table(["what", "raw", "gzip", "brotli", "gzip × oauth4webapi job"], S.map((r) => [r.name, kb(r.raw), kb(r.gzip), kb(r.brotli), ratio(r.gzip, o4w.gzip)]))}

${gate.parts ? `Of the first row: \`.wasm\` ${kb(gate.parts.wasm.raw)} raw / ${kb(gate.parts.wasm.gzip)} gzip, glue ${kb(gate.parts.glue.raw)} raw / ${kb(gate.parts.glue.gzip)} gzip. ` : ""}The size gate of \`make test\` (scripts/size.mjs, which measures its own definition) budgets: ${Object.entries(R.size.budget).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k} = ${v} B`).join(", ")}.
`);

// ---- (g) ---------------------------------------------------------------------
const G = R.workerd;
md.push(`## (g) workerd (miniflare ${R.env.versions.miniflare}, ${R.env.versions.workerd})

Each implementation is bundled into its own worker with esbuild \`--bundle --platform=neutral --conditions=workerd,worker\` (so datacosmos-auth resolves to its \`workerd\` entry, which imports the \`.wasm\` as a module), and the modules are listed explicitly: \`ESModule\` for the bundle, \`CompiledWasm\` for the \`.wasm\`. Requests are sent with \`dispatchFetch\` from Node.

**Clocks.** In production workerd freezes \`Date.now()\`/\`performance.now()\` while JavaScript runs and advances them only across I/O. The local workerd under miniflare does advance them during JavaScript, but in whole milliseconds: a 20,000,000-iteration loop read ${G.spin.dateMs} ms on \`Date.now()\` and ${G.spin.perfMs} ms on \`performance.now()\`; during module evaluation (startup) the clock read 0 in every sample. So the figures below are differences of round trips timed in Node, with the in-worker readings beside them.

(a) cold start: \`new Miniflare()\` → ready → first request answered (\`/construct\` builds a client), a new workerd process per sample, ${G.settings.coldSamples} samples per row, interleaved; *over empty worker* subtracts the median of an empty worker. These are dominated by spawning workerd (±tens of ms), so only large differences are meaningful.

${table(["implementation", "new → ready → answered, ms", "over empty worker, ms", "constructor inside, ms (1 ms clock)"],
  ["none", "plain", "datacosmos", "raw", "oauth4webapi", "openid-client", "auth0"].map((k) => [k === "none" ? "empty worker" : NAMES[k], mmm(G.cold[k].total, 0), k === "none" ? "–" : mmm(G.cold[k].overNone, 1), G.cold[k].constructMs ? mmm(G.cold[k].constructMs, 0) : "–"]))}

(b) first token against oidc-provider: round trip of \`/first\` (new client + first \`getToken()\`) minus the median round trip of \`/noop\`, ${G.settings.firstSamples} samples after 5 warm-ups; *inside* is \`Date.now()\` around \`getToken()\`, which does advance across the fetch. (c) cached: (round trip of \`/cached?n=${G.settings.cachedCalls.toLocaleString("en")}\` − round trip of \`/cached?n=0\`) ÷ ${G.settings.cachedCalls.toLocaleString("en")}, ${G.settings.cachedSamples} samples; *inside* is \`performance.now()\` around the loop (whole ms).

${table(["implementation", "(b) first token, ms", "× raw fetch", "(b) inside, ms", "(c) cached, ns/call", "× plain", "(c) inside, ms per loop"],
  ["plain", "datacosmos", "raw", "oauth4webapi", "openid-client", "auth0"].map((k) => [NAMES[k], G.first[k] && k !== "plain" ? mmm(G.first[k].outside) : "–", G.first[k] && k !== "plain" ? ratio(G.first[k].outside.median, G.first.raw.outside.median) : "–", G.first[k] && k !== "plain" ? mmm(G.first[k].inside, 0) : "–", G.cached[k] ? mmm(G.cached[k].ns, 0) : "–", G.cached[k] ? ratio(G.cached[k].ns.median, G.cached.plain.ns.median) : "–", G.cached[k] ? mmm(G.cached[k].insideMs, 0) : "–"]))}
`);

// ---- environment and method -----------------------------------------------------
const V = R.env.versions;
md.push(`## Environment

- CPU: ${R.env.cpu}, ${R.env.cores} cores, ${R.env.memGiB} GiB; Linux ${R.env.kernel}
- Node ${R.env.node}
- datacosmos-auth ${V["datacosmos-auth"]} (pkg/ built by \`make build\` from commit \`${R.env.commit}\`${R.env.dirty ? ", with uncommitted changes" : ""})
- peers: oauth4webapi ${V.oauth4webapi}, openid-client ${V["openid-client"]}, @auth0/auth0-auth-js ${V["@auth0/auth0-auth-js"]} (jose ${V.jose})
- tools: esbuild ${V.esbuild}, miniflare ${V.miniflare} (${V.workerd}), oidc-provider ${V["oidc-provider"]}
- exact versions pinned in bench/package.json and bench/package-lock.json

## How it is measured

- **Servers.** bench/lib/servers.mjs runs in its own process: oidc-provider (tests/servers/oidc.mjs, client_secret_post client, opaque 43-character tokens) and the fast endpoint (a node:http handler that checks the form body and answers an ~900-character JWT-shaped token, unique per request, \`expires_in: 3600\`; it counts token requests, GET /__count). Everything is on 127.0.0.1.
- **Implementations** (bench/impls/): every one sends the same request — form body with grant_type, client_id, client_secret and \`audience\` (oidc-provider ignores it). *raw fetch + JSON.parse* is one \`fetch\` and \`JSON.parse(await res.text())\` with no cache, timeout or error handling. The peers have no token cache of their own, so each gets the same hand-written cache with single flight (bench/impls/cache.mjs). oauth4webapi uses \`clientCredentialsGrantRequest\` + \`processClientCredentialsResponse\`; openid-client a \`Configuration\` from static metadata with \`clientCredentialsGrant\`; @auth0/auth0-auth-js \`AuthClient.getTokenByClientCredentials\` with a \`customFetch\` that maps its https domain onto the loopback server (it requires https and OIDC discovery; the discovery document's URLs are rewritten to the fake domain).
- **Isolation.** Each measurement runs in a fresh Node process per implementation (bench/node/child.mjs), so no call site of the loops sees two implementations and memory is not shared; implementations are interleaved within each round so that drift of the machine hits all of them.
- **Iteration counts:** ${Object.entries(N).map(([k, v]) => `${k} ${v.toLocaleString("en")}`).join(", ")}.
- Reproduce: \`make bench\` (builds pkg/, \`npm ci\` in bench/ when the lockfile changed, runs bench/suite.mjs, then bench/report.mjs). \`BENCH_QUICK=1 bash bench/run.sh\` runs reduced counts for trying changes.
`);

writeFileSync(here("./REPORT.md"), `${md.join("\n")}`);

// ---- chart ----------------------------------------------------------------------
function panel(title, unit, rows, x0, y0, w) {
  const labelW = 250;
  const barW = w - labelW - 70;
  const max = Math.max(...rows.map((r) => r.s.median)) * 1.35;
  const sx = (v) => x0 + labelW + Math.min(v, max) / max * barW;
  const out = [`<text x="${x0}" y="${y0}" font-size="14" font-weight="bold">${title}</text>`];
  rows.forEach((r, i) => {
    const y = y0 + 16 + i * 30;
    const color = r.key === "datacosmos" ? "#d9480f" : r.key === "plain" || r.key === "raw" ? "#868e96" : "#1c7ed6";
    out.push(`<text x="${x0 + labelW - 8}" y="${y + 15}" font-size="12" text-anchor="end">${plainName(r.key)}</text>`);
    out.push(`<rect x="${x0 + labelW}" y="${y + 3}" width="${(sx(r.s.median) - x0 - labelW).toFixed(1)}" height="16" fill="${color}"/>`);
    const a = sx(r.s.min); const b = sx(r.s.max);
    out.push(`<line x1="${a.toFixed(1)}" x2="${b.toFixed(1)}" y1="${y + 11}" y2="${y + 11}" stroke="#212529" stroke-width="1.2"/>`);
    out.push(`<line x1="${a.toFixed(1)}" x2="${a.toFixed(1)}" y1="${y + 6}" y2="${y + 16}" stroke="#212529"/>`);
    out.push(r.s.max > max ? `<text x="${(b + 2).toFixed(1)}" y="${y + 15}" font-size="11">▸${f(r.s.max, 0)}</text>` : `<line x1="${b.toFixed(1)}" x2="${b.toFixed(1)}" y1="${y + 6}" y2="${y + 16}" stroke="#212529"/>`);
    const label = `${f(r.s.median, unit === "ns" ? 0 : 2)} ${unit}`;
    const end = sx(r.s.median);
    out.push(end - x0 - labelW > 64
      ? `<text x="${(end - 5).toFixed(1)}" y="${y + 15}" font-size="11" text-anchor="end" fill="#fff">${label}</text>`
      : `<text x="${(b + (r.s.max > max ? 40 : 6)).toFixed(1)}" y="${y + 15}" font-size="11">${label}</text>`);
  });
  return { svg: out.join("\n"), height: 16 + rows.length * 30 };
}
const W = 900;
const p1 = panel("(c) cached getToken(), ns per awaited call — Node, median with min–max", "ns",
  ["plain", "datacosmos", "oauth4webapi", "openid-client", "auth0"].map((key) => ({ key, s: R.cached[key].awaited })), 20, 30, W - 40);
const p2 = panel("(b) first token against oidc-provider, ms — Node, median with min–max", "ms",
  ["raw", "datacosmos", "oauth4webapi", "openid-client", "auth0"].map((key) => ({ key, s: R.first_oidc.impls[key].ms })), 20, 30 + p1.height + 40, W - 40);
const H = 30 + p1.height + 40 + p2.height + 30;
writeFileSync(here("./chart.svg"), `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${p1.svg}
${p2.svg}
<text x="20" y="${H - 10}" font-size="11" fill="#495057">orange: datacosmos-auth · blue: peers (each with the same hand-written cache) · grey: physical limits · whiskers: min–max (▸ clipped)</text>
</svg>
`);
console.log("bench/REPORT.md and bench/chart.svg written");
