// The size gate: fails when the gzipped .wasm + JS glue exceed the budget in
// size-budget.json, and prints the figures either way.
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const root = new URL("../", import.meta.url);
const budget = JSON.parse(readFileSync(new URL("size-budget.json", root))).wasmPlusGlueGzipBytes;
const files = ["pkg/datacosmos_auth_bg.wasm", "pkg/datacosmos_auth.js"];
let total = 0;
for (const f of files) {
  const raw = readFileSync(new URL(f, root));
  const gz = gzipSync(raw, { level: 9 }).length;
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  total += gz;
  console.log(`${f.padEnd(30)} raw ${String(raw.length).padStart(7)}  gzip ${String(gz).padStart(6)}  brotli ${String(br).padStart(6)}`);
}
const verdict = total <= budget ? "within" : "OVER";
console.log(`size: .wasm + glue gzipped = ${total} bytes (${(total / 1024).toFixed(1)} KiB), ${verdict} the budget of ${budget} bytes`);
if (total > budget) process.exit(1);
