// The README's JavaScript examples, run as written: each ```js block becomes a module
// in a child process whose fetch sends the DataCosmos hosts to the loopback demo
// server (no test touches the internet).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startDemo } from "../servers/demo.mjs";

const root = new URL("../../", import.meta.url);
const dir = new URL("tests/artifacts/readme/", root);
const CLIENT = { clientId: "readme-client", clientSecret: "readme-secret-0123456789" };
const blocks = [...readFileSync(new URL("README.md", root), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
let server;

before(async () => {
  server = await startDemo({ clients: [CLIENT] });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Preloaded into each child: DataCosmos hosts -> the demo server.
  writeFileSync(new URL("loopback.mjs", dir), `
    const real = globalThis.fetch;
    const map = (u) => String(u)
      .replace("https://login.open-cosmos.com/oauth/token", ${JSON.stringify(server.tokenUrl)})
      .replace(/^https:\\/\\/app\\.open-cosmos\\.com\\/api\\/data\\/v0\\/stac\\/collections/, ${JSON.stringify(server.resourceUrl)});
    globalThis.fetch = (input, init) => {
      if (input instanceof Request) return real(new Request(map(input.url), input), init);
      return real(map(input), init);
    };
  `);
  writeFileSync(new URL("data_cosmos_api_credentials.json", dir), JSON.stringify({
    client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret,
    audience: "https://beeapp.open-cosmos.com", grant_type: "client_credentials",
  }));
});
after(async () => { await server?.close(); });

async function run(name, code) {
  const file = new URL(name, dir);
  writeFileSync(file, code);
  return promisify(execFile)(process.execPath, ["--import", new URL("loopback.mjs", dir).href, file.pathname], {
    cwd: dir.pathname,
    env: { ...process.env, DATACOSMOS_CLIENT_ID: CLIENT.clientId, DATACOSMOS_CLIENT_SECRET: CLIENT.clientSecret },
    timeout: 20_000,
  });
}

test("the README has the examples this test runs", () => {
  assert.ok(blocks.length >= 5, `found ${blocks.length} js blocks`);
});

test("README: Cloudflare Workers example (its fetch handler, called twice)", async () => {
  const block = blocks.find((b) => b.includes("export default"));
  const { stdout } = await run("worker.mjs", `${block.replace("export default", "const worker =")}
    const kv = new Map();
    const TOKENS = { get: async (k) => kv.get(k) ?? null, put: async (k, v) => { kv.set(k, v); }, delete: async (k) => { kv.delete(k); } };
    const env = { DATACOSMOS_CLIENT_ID: ${JSON.stringify(CLIENT.clientId)}, DATACOSMOS_CLIENT_SECRET: ${JSON.stringify(CLIENT.clientSecret)}, TOKENS };
    for (let i = 0; i < 2; i++) {
      const res = await worker.fetch(new Request("https://worker.example/"), env, { waitUntil() {} });
      console.log(res.status, (await res.json()).collections.length > 0);
    }
    console.log([...kv.keys()].filter((k) => !k.endsWith(":lease")).length);`);
  assert.equal(stdout, "200 true\n200 true\n1\n", "two calls served, one sealed entry in the KV namespace");
  assert.ok(server.tokenRequests() >= 1);
});

test("README: Deno example (fromEnv, here through process.env)", async () => {
  const block = blocks.find((b) => b.includes("Deno.env"));
  const { stdout } = await run("deno.mjs", block);
  assert.match(stdout, /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
});

test("README: Node.js example (credentials file, client.fetch)", async () => {
  const block = blocks.find((b) => b.includes("fromCredentials"));
  const { stdout } = await run("node.mjs", block);
  assert.match(stdout, /collections/);
});

test("README: shared store example (two clients, one token request)", async () => {
  const block = blocks.find((b) => b.includes("memoryStore()"));
  const before = server.tokenRequests();
  const { stdout } = await run("store.mjs", block);
  assert.equal(stdout, "true\n");
  assert.equal(server.tokenRequests() - before, 1);
});

test("README: one-shot example", async () => {
  const block = blocks.find((b) => b.includes("getToken({"));
  const { stdout } = await run("oneshot.mjs", `const clientId = process.env.DATACOSMOS_CLIENT_ID, clientSecret = process.env.DATACOSMOS_CLIENT_SECRET;
${block}
console.log(token.split(".").length);`);
  assert.equal(stdout, "3\n");
});
