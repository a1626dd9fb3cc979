// `make demo`: a DataCosmos token fetched end to end.
//
// Without credentials it starts the embedded Auth0-compatible token endpoint and a
// protected STAC-like resource on 127.0.0.1, writes a demo credentials file, fetches a
// token with the CLI (as a user would with the real file), then calls the resource
// with `client.fetch`. With DATACOSMOS_CREDENTIALS=path/to/data_cosmos_api_credentials.json
// (or DATACOSMOS_CLIENT_ID/_SECRET in the environment) it does the same against the
// real DataCosmos token endpoint.
//
// Last it serves the token inspector page (www/, with the package's ./web entry at
// /pkg/) on another 127.0.0.1 port, pre-filled for the embedded server, and prints its
// URL. Interactive (a terminal, CI unset) it keeps both servers up until Ctrl-C;
// otherwise (CI, no TTY) it checks the page is served and exits.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TokenClient } from "datacosmos-auth";
import { startDemo } from "../tests/servers/demo.mjs";
import { startWww } from "../tests/servers/static.mjs";

const cli = fileURLToPath(new URL("../pkg/cli.js", import.meta.url));
const step = (n, text) => console.log(`\n[${n}] ${text}`);
const claims = (jwt) => {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
  } catch {
    return null;
  }
};

const real = process.env.DATACOSMOS_CREDENTIALS || process.env.DATACOSMOS_CLIENT_ID;
const demoClient = { clientId: "demo-client", clientSecret: "demo-secret-do-not-use-in-production" };
let server;
let site;
let dir;
let credentials = process.env.DATACOSMOS_CREDENTIALS;
const env = { ...process.env };
try {
  if (real) {
    step(1, `Using your credentials (${credentials ?? "environment"}) against the real DataCosmos endpoint`);
  } else {
    server = await startDemo({ clients: [demoClient] });
    step(1, `Embedded token server on ${server.tokenUrl} (Auth0-compatible), resource on ${server.resourceUrl}`);
    dir = mkdtempSync(join(tmpdir(), "datacosmos-demo-"));
    credentials = join(dir, "data_cosmos_api_credentials.json");
    writeFileSync(credentials, JSON.stringify({
      client_id: demoClient.clientId,
      client_secret: demoClient.clientSecret,
      audience: "https://beeapp.open-cosmos.com",
      grant_type: "client_credentials",
    }, null, 2));
    env.DATACOSMOS_TOKEN_URL = server.tokenUrl;
    console.log(`    demo credentials file: ${credentials}`);
  }

  const args = credentials ? ["token", "--credentials", credentials] : ["token"];
  step(2, `CLI: datacosmos-auth ${args.join(" ")}`);
  // Asynchronously: the embedded server runs in this process.
  const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args], { env, encoding: "utf8" });
  const token = stdout.trim();
  console.log(`    token: ${token.slice(0, 24)}…${token.slice(-8)} (${token.length} chars)`);
  const c = claims(token);
  if (c) console.log(`    claims: sub=${c.sub} aud=${c.aud} expires ${new Date(c.exp * 1000).toISOString()}`);

  step(3, "Library: TokenClient.fromCredentials(...).getTokenInfo()");
  const client = credentials
    ? TokenClient.fromCredentials(
        (await import("node:fs")).readFileSync(credentials, "utf8"),
        env.DATACOSMOS_TOKEN_URL ? { tokenUrl: env.DATACOSMOS_TOKEN_URL } : {},
      )
    : TokenClient.fromEnv();
  const info = await client.getTokenInfo();
  console.log(`    ${info.tokenType} token, expires in ${Math.round((info.expiresAt - Date.now()) / 1000)} s`);
  const again = await client.getToken();
  console.log(`    second getToken(): ${again === info.accessToken ? "served from the cache" : "a new token"}`);

  if (server) {
    step(4, `client.fetch(${server.resourceUrl})`);
    const res = await client.fetch(server.resourceUrl);
    const body = await res.json();
    console.log(`    HTTP ${res.status}: ${JSON.stringify(body).slice(0, 120)}`);
    if (res.status !== 200) throw new Error("the protected call failed");
    console.log(`    token requests at the server: ${server.tokenRequests()}`);
  }

  step(server ? 5 : 4, "The token inspector page (www/ with the package's ./web entry)");
  site = await startWww({
    demoConfig: server && {
      tokenUrl: server.tokenUrl,
      ...demoClient,
      audience: server.audience,
      resourceUrl: server.resourceUrl,
    },
  });
  for (const path of ["/", "/app.js", "/pkg/index.js"]) {
    const res = await fetch(`${site.url}${path}`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`the page server answered ${res.status} for ${path}`);
  }
  console.log(`    page: ${site.url}/${server ? " (pre-filled for the embedded token server)" : " (enter your credentials; your secret is not served)"}`);
  console.log("\nOK: token fetched and used.");

  if (!process.env.CI && process.stdin.isTTY) {
    console.log(`\nOpen ${site.url}/ in a browser. Serving until Ctrl-C.`);
    await new Promise((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    console.log("\nstopped.");
  }
} catch (e) {
  console.error(`\ndemo failed: ${e.code ? `${e.code}: ` : ""}${e.message}`);
  process.exitCode = 1;
} finally {
  await site?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
