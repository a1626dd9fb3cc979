// The JavaScript examples of README.md and pkg/README.md (the npm page), run as written:
// each ```js block becomes a module in a child process whose fetch sends the DataCosmos
// hosts to the loopback demo server (no test touches the internet). Every block must be
// exactly one of EXAMPLES, so a new block cannot go unrun. (The ```html blocks run in
// Chromium: tests/browser/readme.test.mjs; the Deno and Bun blocks also run in Deno and
// Bun: tests/runtimes/.)
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startDemo } from "../servers/demo.mjs";

const root = new URL("../../", import.meta.url);
const dir = new URL("tests/artifacts/readme/", root);
const CLIENT = { clientId: "readme-client", clientSecret: "readme-secret-0123456789" };
const READMES = ["README.md", "pkg/README.md"];
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
let server;

/** The ```js blocks of a README. */
function elsewhere(name, match, suite, marker) {
  return {
    name,
    match,
    async run(block) {
      const text = readFileSync(new URL(suite, import.meta.url), "utf8");
      assert.ok(text.includes(marker), `${suite} runs the README's block`);
      assert.ok(block.length > 0);
    },
  };
}

const jsBlocks = (file) => [...readFileSync(new URL(file, root), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

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

/** Runs `code` as the module `name` in a child; resolves its stdout and the token and API requests it made. */
async function run(name, code) {
  const file = new URL(name, dir);
  writeFileSync(file, code);
  const [tokens, api] = [server.tokenRequests(), server.resourceRequests()];
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", new URL("loopback.mjs", dir).href, file.pathname], {
    cwd: dir.pathname,
    env: { ...process.env, DATACOSMOS_CLIENT_ID: CLIENT.clientId, DATACOSMOS_CLIENT_SECRET: CLIENT.clientSecret },
    timeout: 20_000,
  });
  assert.equal(stderr, "", "nothing on stderr");
  return { stdout, tokenRequests: server.tokenRequests() - tokens, apiRequests: server.resourceRequests() - api };
}

/**
 * An example run as written (or as `wrap` completes it) from the file `file` (`*`: the
 * README's name): it prints `expected` (a string, or a RegExp to match) after exactly
 * one token request; `check` asserts more.
 */
const plain = (name, match, file, expected, check = () => {}, wrap = (block) => block) => ({
  name,
  match,
  async run(block, slug) {
    const ran = await run(file.replace("*", slug), wrap(block));
    if (expected instanceof RegExp) assert.match(ran.stdout, expected);
    else assert.equal(ran.stdout, expected);
    assert.equal(ran.tokenRequests, 1);
    check(ran);
  },
});

const EXAMPLES = [
  {
    name: "Cloudflare Workers (its fetch handler, called twice, with a KV namespace)",
    match: (b) => b.includes("export default") && !b.includes("export { TokenLease }") && !b.includes("defineConfig"),
    async run(block, slug) {
      const ran = await run(`worker-${slug}.mjs`, `${block.replace("export default", "const worker =")}
        const kv = new Map();
        const reads = new Map();
        const TOKENS = {
          get: async (k) => { reads.set(k, (reads.get(k) ?? 0) + 1); return kv.get(k) ?? null; },
          put: async (k, v) => { kv.set(k, v); },
          delete: async (k) => { kv.delete(k); },
        };
        const env = { DATACOSMOS_CLIENT_ID: ${JSON.stringify(CLIENT.clientId)}, DATACOSMOS_CLIENT_SECRET: ${JSON.stringify(CLIENT.clientSecret)}, TOKENS };
        for (let i = 0; i < 2; i++) {
          const res = await worker.fetch(new Request("https://worker.example/"), env, { waitUntil() {} });
          console.log(res.status, (await res.json()).collections.length > 0);
        }
        const entries = [...kv.keys()].filter((k) => !k.endsWith(":lease"));
        console.log(entries.length, reads.get(entries[0]));`);
      // The cold call reads the entry twice (before and after taking the lease, the
      // double-checked read); a client made per request would read it a third time.
      assert.equal(ran.stdout, "200 true\n200 true\n1 2\n", "two calls served; one sealed entry in the KV namespace, read only by the first");
      assert.equal(ran.tokenRequests, 1, "one token for both calls");
      assert.equal(ran.apiRequests, 2);
    },
  },
  // Blocks whose runtime is elsewhere: the suite that runs each as written is checked
  // to read this README and that block's distinctive line.
  elsewhere("Workers with a Durable Object lease (run in workerd by tests/store/durable.test.mjs)",
    (b) => b.includes("export { TokenLease }"), "../store/durable.test.mjs", "README.md"),
  elsewhere("private_key_jwt (run by tests/node/private-key-jwt.test.mjs against oidc-provider)",
    (b) => b.includes('authMethod: "private_key_jwt"'), "./private-key-jwt.test.mjs", "### Without a shared secret: `private_key_jwt`"),
  elsewhere("A user's login in the browser (run in Chromium by tests/browser/readme-login.test.mjs)",
    (b) => b.includes("new UserLogin"), "../browser/readme-login.test.mjs", "### A user's login in the browser"),
  elsewhere("OpenTelemetry metrics from onEvent (run by tests/node/fleet.test.mjs against a stand-in meter)",
    (b) => b.includes("@opentelemetry/api"), "./fleet.test.mjs", "'## Auth0 quotas, negative cache and events'"),
  {
    // Vite itself runs the plugin in tests/browser/vite-plugin.test.mjs; here the
    // block as written (with Vite's identity defineConfig) yields that plugin.
    name: "Vite plugin config",
    match: (b) => b.includes("defineConfig"),
    async run(block, slug) {
      const code = block.replace(/^import \{ defineConfig \} from "vite";$/m, "const defineConfig = (c) => c;")
        .replace("export default", "const config =");
      assert.notEqual(code, block, "the block imports defineConfig from vite");
      const ran = await run(`vite-${slug}.mjs`, `${code}
        console.log(config.plugins.map((p) => p.name + " " + typeof p.configureServer).join());`);
      assert.equal(ran.stdout, "datacosmos-auth function\n");
      assert.equal(ran.tokenRequests, 0, "no token before the dev server runs");
    },
  },
  {
    // The token a JupyterHub session hands over: got here from the demo server first,
    // then the block runs with it as its only credential.
    name: "static token (DATACOSMOS_USER_TOKEN, no client credentials)",
    match: (b) => b.includes("serves that token as it is"),
    async run(block, slug) {
      const ran = await run(`static-${slug}.mjs`, `
        const got = await fetch("https://login.open-cosmos.com/oauth/token", { method: "POST", body: new URLSearchParams({
          grant_type: "client_credentials", client_id: process.env.DATACOSMOS_CLIENT_ID,
          client_secret: process.env.DATACOSMOS_CLIENT_SECRET, audience: "https://beeapp.open-cosmos.com" }) });
        process.env.DATACOSMOS_USER_TOKEN = (await got.json()).access_token;
        delete process.env.DATACOSMOS_CLIENT_ID;
        delete process.env.DATACOSMOS_CLIENT_SECRET;
        ${block}
        console.log(res.status);`);
      assert.equal(ran.stdout, "200\n");
      assert.equal(ran.tokenRequests, 1, "only the test's own request: the client made none");
      assert.equal(ran.apiRequests, 1);
    },
  },
  plain("Deno (fromEnv, here through process.env)", (b) => b.includes("Deno.env"), "deno-*.mjs", new RegExp(`^Bearer ${JWT.source}\n$`)),
  plain("Bun (fromEnv, here under Node)", (b) => b.includes("Bun.env"), "bun-*.mjs", new RegExp(`^${JWT.source}\n$`)),
  plain("Node.js ES modules (credentials file, client.fetch)", (b) => b.includes("fromCredentials"), "node-*.mjs",
    // README.md prints the API's JSON, pkg/README.md its status and collection count.
    /collections|^200 2\n$/, (ran) => assert.equal(ran.apiRequests, 1, "the API was called with the token")),
  plain("Node.js CommonJS (require, fromEnv)", (b) => /^const .+ = require\("datacosmos-auth"\);/m.test(b), "node-*.cjs", "Bearer true\n"),
  plain("shared store (two clients, one token request)", (b) => b.includes("memoryStore()"), "store-*.mjs", "true\n"),
  plain("one-shot getToken(config)", (b) => b.includes("getToken({"), "oneshot-*.mjs", new RegExp(`^${JWT.source}\n$`), undefined,
    (block) => `const clientId = process.env.DATACOSMOS_CLIENT_ID, clientSecret = process.env.DATACOSMOS_CLIENT_SECRET;\n${block}\nconsole.log(token);`),
];

for (const readme of READMES) {
  const blocks = jsBlocks(readme);
  const slug = readme.replace(/\W+/g, "-").toLowerCase();

  describe(readme, () => {
    test("every js block is exactly one of the examples run here", () => {
      assert.ok(blocks.length >= 5, `found ${blocks.length} js blocks`);
      for (const block of blocks) {
        const names = EXAMPLES.filter((e) => e.match(block)).map((e) => e.name);
        assert.equal(names.length, 1, `this block matches ${names.length} examples (${names.join("; ")}):\n${block}`);
      }
    });

    for (const example of EXAMPLES) {
      const mine = blocks.filter(example.match);
      if (mine.length === 0) continue; // the test above ran every block through EXAMPLES
      test(example.name, async () => {
        assert.equal(mine.length, 1, "one block per example");
        await example.run(mine[0], slug);
      });
    }
  });
}
