// The consumer's worker.js, bundled with esbuild from the consumer project (so
// "datacosmos-auth" resolves to the installed tarball through its export
// conditions), then run in workerd through miniflare's programmatic API.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { CONSUMER, INSTALLED } from './harness.mjs';

export const COMPATIBILITY_DATE = '2026-04-26';

// Cloudflare's production runtime refuses to compile WebAssembly from bytes at run time
// ("Wasm code generation disallowed by embedder"); local workerd does not enforce it.
// This banner, run before any bundled code, restores that rule inside the test worker:
// compiling from bytes throws, instantiating an imported (precompiled) module works.
const PRODUCTION_WASM_POLICY = `{
  const deny = () => new WebAssembly.CompileError("Wasm code generation disallowed by embedder (emulated by the test)");
  const Original = WebAssembly.Module;
  WebAssembly.Module = new Proxy(Original, { construct() { throw deny(); } });
  WebAssembly.compile = async () => { throw deny(); };
  WebAssembly.compileStreaming = async () => { throw deny(); };
  WebAssembly.instantiateStreaming = async () => { throw deny(); };
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async (source, imports) => {
    if (!(source instanceof Original)) throw deny();
    return instantiate(source, imports);
  };
}`;

/**
 * Bundles consumer/worker.js (or `entry`). Returns the miniflare `modules` (the bundle as an
 * ESModule, every external .wasm import as a CompiledWasm module under the name the
 * bundle imports it by, with the bytes of the installed package's .wasm), the
 * package files esbuild read, and the bundle's external imports.
 */
export async function bundleWorker({ name, platform, conditions, entry = 'worker.js' }) {
  const outdir = join(process.env.DCA_TMP, `bundle-${name}`);
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: CONSUMER,
    entryPoints: [entry],
    outfile: join(outdir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform,
    conditions,
    external: ['*.wasm', 'cloudflare:*'],
    metafile: true,
    banner: { js: PRODUCTION_WASM_POLICY },
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.keys(result.metafile.inputs).filter((p) => p.includes('node_modules/datacosmos-auth/'))
    .map((p) => p.slice(p.indexOf('node_modules/datacosmos-auth/') + 'node_modules/datacosmos-auth/'.length)).sort();
  const imports = output.imports.map((i) => i.path);
  const modules = [{ type: 'ESModule', path: join(outdir, 'worker.js') }];
  for (const spec of imports.filter((p) => p.endsWith('.wasm'))) {
    assert.ok(spec.startsWith('./'), `the bundle imports the wasm by a relative path (${spec})`);
    modules.push({
      type: 'CompiledWasm',
      path: join(outdir, posix.normalize(spec)),
      contents: readFileSync(join(INSTALLED, basename(spec))),
    });
  }
  return { outdir, modules, inputs, imports, code: readFileSync(join(outdir, 'worker.js'), 'utf8') };
}

/**
 * A Miniflare instance running `bundle` as one worker per name in `names` (each its
 * own isolate), all bound to one KV namespace TOKENS. No nodejs_compat, no request.cf
 * download (cf: false): the only traffic is the workers' own fetches to loopback.
 */
export async function startWorkers(bundle, bindings, names = ['main']) {
  let output = ''; // workerd's stdout/stderr (console.log, uncaught errors)
  const mf = new Miniflare({
    cf: false,
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
    workers: names.map((name) => ({
      name,
      modulesRoot: bundle.outdir,
      modules: bundle.modules,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: [],
      bindings,
      kvNamespaces: { TOKENS: 'datacosmos-tokens' },
    })),
  });
  try {
    await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    err.message += `\n--- workerd output\n${output}`;
    err.workerdOutput = output;
    throw err;
  }
  const workers = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await mf.getWorker(n)])));
  const call = async (name, path) => {
    const res = await workers[name].fetch(`http://worker${path}`);
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  };
  return { mf, call, get: (path) => call(names[0], path), output: () => output, dispose: () => mf.dispose() };
}
