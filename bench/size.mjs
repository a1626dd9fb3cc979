// (f) Size: the package's .wasm + JS glue (raw, gzip -9, brotli q11), and for every
// implementation the minified bundle of the same job (create a client, get a cached
// token: impls/*.mjs), built with esbuild --bundle --minify.
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const sizes = (buf) => ({
  raw: buf.length,
  gzip: gzipSync(buf, { level: 9 }).length,
  brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
const add = (...xs) => ({ raw: xs.reduce((s, x) => s + x.raw, 0), gzip: xs.reduce((s, x) => s + x.gzip, 0), brotli: xs.reduce((s, x) => s + x.brotli, 0) });

async function bundle(impl, variant) {
  const common = {
    stdin: { contents: `export { create } from ${JSON.stringify(here(`./impls/${impl}.mjs`))};`, resolveDir: here("./"), loader: "js" },
    bundle: true, minify: true, format: "esm", write: false, logLevel: "silent", outdir: "/out",
  };
  const opts = variant === "workerd"
    ? { ...common, platform: "neutral", conditions: ["workerd", "worker"], mainFields: ["module", "main"], external: ["*.wasm", "cloudflare:*"] }
    : { ...common, platform: "browser" };
  const r = await esbuild.build(opts);
  const js = r.outputFiles.find((f) => f.path.endsWith(".js"));
  return Buffer.from(js.contents);
}

export async function measureSize() {
  const pkg = here("../pkg/");
  const wasm = sizes(readFileSync(`${pkg}datacosmos_auth_bg.wasm`));
  const glue = sizes(readFileSync(`${pkg}datacosmos_auth.js`));
  const rows = [];
  rows.push({ id: "gate", name: "datacosmos-auth: .wasm + JS glue (datacosmos_auth.js), as shipped", ...add(wasm, glue), parts: { wasm, glue } });
  const jobWorkerd = sizes(await bundle("datacosmos", "workerd"));
  rows.push({ id: "datacosmos", name: "datacosmos-auth job, workerd entry: minified JS bundle + .wasm", ...add(jobWorkerd, wasm), parts: { js: jobWorkerd, wasm } });
  rows.push({ id: "datacosmos-browser", name: "datacosmos-auth job, browser entry (wasm inlined as base64): one minified JS bundle", ...sizes(await bundle("datacosmos", "browser")) });
  for (const impl of ["oauth4webapi", "openid-client", "auth0", "raw"]) {
    rows.push({ id: impl, name: `${impl} job: minified JS bundle`, ...sizes(await bundle(impl, "browser")) });
  }
  return { rows, budget: JSON.parse(readFileSync(here("../size-budget.json"))) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.table((await measureSize()).rows.map(({ parts, ...r }) => r));
