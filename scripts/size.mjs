// The size gate: what one edge isolate loads for a minimal Worker that uses the client
// (`TokenClient` + `client.fetch`, through the package's workerd entry): the .wasm,
// plus the JS (entry, wasm-bindgen glue, io.js, fetch.js) bundled and minified by
// esbuild as wrangler would. Both gzipped (-9). Fails `make test` above the budget in
// size-budget.json, and prints the figures either way.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = new URL("../", import.meta.url);
const budget = JSON.parse(readFileSync(new URL("size-budget.json", root))).edgeIsolateGzipBytes;
const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const row = (name, b) => console.log(`${name.padEnd(44)} raw ${String(b.length).padStart(7)}  gzip ${String(gz(b)).padStart(6)}  brotli ${String(br(b)).padStart(6)}`);

const wasm = readFileSync(new URL("pkg/datacosmos_auth_bg.wasm", root));
const glue = readFileSync(new URL("pkg/datacosmos_auth.js", root));
const dir = mkdtempSync(join(tmpdir(), "datacosmos-size-"));
let js;
try {
  const app = join(dir, "worker.js");
  writeFileSync(app, `import { TokenClient } from ${JSON.stringify(fileURLToPath(new URL("pkg/workerd.js", root)))};
export default { fetch: (request, env) => TokenClient.fromEnv(env).fetch("https://app.open-cosmos.com/api/data/v0/stac/collections") };\n`);
  const out = await build({
    entryPoints: [app], bundle: true, minify: true, format: "esm", write: false, logLevel: "error",
    external: ["*.wasm", "cloudflare:*"],
  });
  js = Buffer.from(out.outputFiles[0].contents);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

row("pkg/datacosmos_auth_bg.wasm", wasm);
row("pkg/datacosmos_auth.js (wasm-bindgen glue)", glue);
row("minimal Worker JS, bundled + minified", js);
const total = gz(wasm) + gz(js);
const verdict = total <= budget ? "within" : "OVER";
console.log(`size: one edge isolate loads ${total} bytes gzipped (.wasm ${gz(wasm)} + JS ${gz(js)}), ${verdict} the budget of ${budget} bytes`);
if (total > budget) process.exit(1);
