// Deno KV with the npm `deno` binary: processes sharing one KV file race on a cold
// cache; the atomic lease (versionstamp check) lets exactly one of them fetch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { startOidc } from "../servers/oidc.mjs";

const deno = fileURLToPath(new URL("node_modules/.bin/deno", import.meta.url));
const child = fileURLToPath(new URL("deno-child.js", import.meta.url));
let oidc;
let dir;
before(async () => {
  oidc = await startOidc();
  dir = mkdtempSync(join(tmpdir(), "datacosmos-denokv-"));
});
after(async () => {
  await oidc?.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(kvPath, startAt) {
  return promisify(execFile)(deno, [
    "run", "--unstable-kv", "--allow-env", "--allow-net=127.0.0.1", `--allow-read=${dir},${fileURLToPath(new URL("../../pkg/", import.meta.url))}`, `--allow-write=${dir}`,
    child, kvPath, String(startAt),
  ], {
    timeout: 60_000,
    env: {
      ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(dir, "cache"),
      DATACOSMOS_CLIENT_ID: oidc.clients.post.clientId, DATACOSMOS_CLIENT_SECRET: oidc.clients.post.clientSecret,
      DATACOSMOS_TOKEN_URL: oidc.tokenUrl,
    },
  }).then(({ stdout }) => JSON.parse(stdout.trim().split("\n").at(-1)));
}

test("4 Deno processes on one Deno KV, cold: one token request, all get it", { timeout: 90_000 }, async () => {
  const kvPath = join(dir, "tokens.sqlite3");
  const before = oidc.tokenRequests();
  const startAt = Date.now() + 2500;
  const results = await Promise.all([0, 1, 2, 3].map(() => run(kvPath, startAt)));
  assert.equal(oidc.tokenRequests() - before, 1, "one exchange for the fleet");
  assert.equal(new Set(results.map((r) => r.token)).size, 1);
  assert.ok(results.every((r) => r.valid && r.cached));
  // A later process finds the token in KV.
  const later = await run(kvPath, 0);
  assert.equal(later.token, results[0].token);
  assert.equal(oidc.tokenRequests() - before, 1);
});
