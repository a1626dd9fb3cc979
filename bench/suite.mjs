// The whole suite: starts the loopback servers, runs figures (a)-(g), and writes
// bench/results.json (report.mjs turns it into REPORT.md and chart.svg).
// Iteration counts are below (BENCH_QUICK=1 divides them, for trying the scripts).
import { fork, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem, release } from "node:os";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { summary, median } from "./lib/stats.mjs";
import { measureSize } from "./size.mjs";
import { runWorkerd } from "./workerd.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const quick = process.env.BENCH_QUICK === "1";
const q = (n, min = 1) => (quick ? Math.max(min, Math.ceil(n / 5)) : n);
const N = {
  coldSamples: q(20, 3),
  firstRounds: q(10, 2), firstWarmup: 20, firstSamples: q(60, 10),
  cachedRounds: q(5, 1), cachedCalls: 200_000, cachedSamples: 5,
  callers: 10_000, concTrials: q(5, 2), concTrialsUnshared: q(2, 1),
  memRounds: q(2, 1), memCalls: 1_000_000, memRefreshes: q(10_000, 2000),
  workerdCold: q(10, 2), workerdFirst: q(30, 10), workerdCachedCalls: 100_000, workerdCachedSamples: q(7, 3),
};

const PEERS = ["oauth4webapi", "openid-client", "auth0"];
const TOKEN_IMPLS = ["raw", "datacosmos", ...PEERS];
const log = (m) => process.stderr.write(`[bench ${((performance.now()) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);

function child(phase, impl, args, nodeFlags = []) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [...nodeFlags, here("./node/child.mjs"), phase, impl, JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => { out += d; });
    p.on("exit", (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${phase} ${impl} exited ${code}`));
      resolve({ ...JSON.parse(out), wall });
    });
  });
}

const srv = fork(here("./lib/servers.mjs"), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const servers = await new Promise((resolve) => srv.once("message", resolve));
const counts = () => new Promise((resolve) => { srv.once("message", resolve); srv.send("counts"); });
const results = { settings: N, quick };

try {
  // (a) cold start: a fresh Node process per sample, implementations interleaved.
  log("(a) cold start");
  const coldImpls = ["none", "plain", "datacosmos", "datacosmos-steps", ...TOKEN_IMPLS.filter((i) => i !== "datacosmos")];
  const cold = Object.fromEntries(coldImpls.map((i) => [i, []]));
  for (let s = 0; s < N.coldSamples; s++) {
    for (const impl of coldImpls) {
      cold[impl].push(await child("cold", impl, { ...servers.oidc, firstToken: TOKEN_IMPLS.includes(impl) }));
    }
  }
  results.cold = Object.fromEntries(Object.entries(cold).map(([impl, xs]) => [impl, {
    importConstruct: summary(xs.map((x) => x.importConstruct)),
    ready: summary(xs.map((x) => x.ready)),
    processWall: summary(xs.map((x) => x.wall)),
    ...(xs[0].firstToken !== undefined ? { firstToken: summary(xs.map((x) => x.firstToken)) } : {}),
    ...(xs[0].steps ? { steps: Object.fromEntries(Object.keys(xs[0].steps).map((k) => [k, summary(xs.map((x) => x.steps[k]))])) } : {}),
  }]));

  // (b) first token of a new client in a warm process, against oidc-provider and
  // against the fast endpoint (where the client's own cost is not hidden by the server's).
  for (const endpoint of ["oidc", "fast"]) {
    log(`(b) first token, ${endpoint}`);
    const times = Object.fromEntries(TOKEN_IMPLS.map((i) => [i, []]));
    const roundMedians = Object.fromEntries(TOKEN_IMPLS.map((i) => [i, []]));
    const cpu = Object.fromEntries(TOKEN_IMPLS.map((i) => [i, []]));
    const before = await counts();
    for (let r = 0; r < N.firstRounds; r++) {
      for (const impl of TOKEN_IMPLS) {
        const o = await child("first", impl, { ...servers[endpoint], warmup: N.firstWarmup, samples: N.firstSamples });
        times[impl].push(...o.times);
        roundMedians[impl].push(median(o.times));
        cpu[impl].push(o.cpuMs);
      }
    }
    const after = await counts();
    results[`first_${endpoint}`] = {
      requests: after[endpoint] - before[endpoint],
      impls: Object.fromEntries(TOKEN_IMPLS.map((impl) => [impl, {
        ms: summary(times[impl]),
        // Paired: the ratio of this implementation's median to raw fetch's in the same round.
        vsRaw: summary(roundMedians[impl].map((m, i) => m / roundMedians.raw[i])),
        cpuMs: summary(cpu[impl]),
        cpuVsRaw: summary(cpu[impl].map((m, i) => m / cpu.raw[i])),
      }])),
    };
  }

  // (c) cached getToken(): ns per call. raw fetch has no cache and is left out.
  log("(c) cached calls");
  const cachedImpls = ["plain", "datacosmos", ...PEERS];
  const cached = Object.fromEntries(cachedImpls.map((i) => [i, { awaited: [], call: [], sync: [] }]));
  for (let r = 0; r < N.cachedRounds; r++) {
    for (const impl of cachedImpls) {
      const o = await child("cached", impl, { ...servers.oidc, calls: N.cachedCalls, samples: N.cachedSamples });
      for (const k of ["awaited", "call", "sync"]) cached[impl][k].push(...o[k]);
    }
  }
  results.cached = Object.fromEntries(Object.entries(cached).map(([impl, o]) => [impl, {
    awaited: summary(o.awaited), call: summary(o.call), ...(o.sync.length ? { sync: summary(o.sync) } : {}),
  }]));

  // (d) 10,000 concurrent callers on a cold cache, against the fast endpoint.
  log("(d) concurrent callers");
  results.concurrent = {};
  for (const impl of ["datacosmos", ...PEERS, "oauth4webapi-naive", "raw"]) {
    const unshared = impl === "raw" || impl === "oauth4webapi-naive";
    const o = await child("concurrent", impl, { ...servers.fast, callers: N.callers, warmup: unshared ? 0 : 1, trials: unshared ? N.concTrialsUnshared : N.concTrials });
    results.concurrent[impl] = Object.fromEntries(["requests", "failed", "wall", "p50", "p99", "max"].map((k) => [k, summary(o.trials.map((t) => t[k]))]));
    log(`  ${impl}: ${median(o.trials.map((t) => t.requests))} requests`);
  }

  // (e) memory: one process per implementation and round, with --expose-gc.
  log("(e) memory");
  const memImpls = ["plain", "datacosmos", ...PEERS, "raw"];
  const mem = Object.fromEntries(memImpls.map((i) => [i, []]));
  for (let r = 0; r < N.memRounds; r++) {
    for (const impl of memImpls) {
      const args = {
        ...servers.fast,
        calls: impl === "raw" ? 0 : N.memCalls, // raw fetch has no cache: refreshes only
        refreshes: impl === "plain" ? 0 : N.memRefreshes, // nothing to refresh
      };
      mem[impl].push((await child("memory", impl, args, ["--expose-gc"])).snaps);
    }
  }
  results.memory = mem;

  // (f) size.
  log("(f) size");
  results.size = await measureSize();

  // (g) workerd via miniflare. raw fetch has no cache, so it is left out of (c) there.
  log("(g) workerd");
  results.workerd = await runWorkerd({
    impls: ["plain", "datacosmos", "raw", ...PEERS], cachedImpls: ["plain", "datacosmos", ...PEERS], cfg: servers.oidc,
    coldSamples: N.workerdCold, firstSamples: N.workerdFirst,
    cachedCalls: N.workerdCachedCalls, cachedSamples: N.workerdCachedSamples, log,
  });
} finally {
  srv.disconnect();
}

// The environment.
const version = (p) => JSON.parse(readFileSync(here(`./node_modules/${p}/package.json`))).version;
const git = (...a) => { try { return execFileSync("git", a, { cwd: here("../"), encoding: "utf8" }).trim(); } catch { return "?"; } };
let workerdVersion = "?";
try { workerdVersion = execFileSync(here("./node_modules/.bin/workerd"), ["--version"], { encoding: "utf8" }).trim(); } catch { /* keep ? */ }
results.env = {
  date: new Date().toISOString(),
  cpu: cpus()[0].model, cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(),
  node: process.version,
  commit: git("rev-parse", "--short", "HEAD"), dirty: git("status", "--porcelain", "--", "src", "pkg", "Cargo.toml", "Cargo.lock") !== "",
  versions: {
    "datacosmos-auth": JSON.parse(readFileSync(here("../pkg/package.json"))).version,
    oauth4webapi: version("oauth4webapi"), "openid-client": version("openid-client"),
    "@auth0/auth0-auth-js": version("@auth0/auth0-auth-js"), jose: version("jose"),
    esbuild: version("esbuild"), miniflare: version("miniflare"), workerd: workerdVersion,
    "oidc-provider": JSON.parse(readFileSync(here("../node_modules/oidc-provider/package.json"))).version,
  },
};
results.wallSeconds = performance.now() / 1000;
writeFileSync(here("./results.json"), `${JSON.stringify(results, null, 1)}\n`);
log(`results.json written (${results.wallSeconds.toFixed(0)} s)`);
