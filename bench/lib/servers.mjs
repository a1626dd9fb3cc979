// The loopback token endpoints, in their own process (so that server work does not
// share the measured event loop). Started by suite.mjs with fork(); it answers with
// one IPC message {oidc, fast} and serves until disconnected.
//
// - oidc: oidc-provider (tests/servers/oidc.mjs), the real authorization server of
//   figures (a)-(c); its token requests are counted by its own middleware.
// - fast: a minimal token endpoint that "doesn't crumble" (d, e): it reads the form
//   body, checks client_id/client_secret, and answers a prebuilt Auth0-shaped JSON
//   (an 800-character JWT-like token, unique per request) from a counter. It also
//   serves a discovery document (for @auth0/auth0-auth-js) and GET /__count.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { startOidc } from "../../tests/servers/oidc.mjs";

const oidc = await startOidc({ accessTokenTTL: 3600 });

const CLIENT = { clientId: "bench-client", clientSecret: "bench-secret-3f9a1c" };
let count = 0;
const head = randomBytes(420).toString("base64url");
const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (req.method === "GET" && path === "/__count") {
    const text = JSON.stringify({ count });
    res.writeHead(200, { "content-type": "application/json", "content-length": text.length });
    return res.end(text);
  }
  if (req.method === "GET" && path === "/.well-known/openid-configuration") {
    const text = JSON.stringify({ issuer: origin, token_endpoint: `${origin}/oauth/token`, token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"], grant_types_supported: ["client_credentials"] });
    res.writeHead(200, { "content-type": "application/json", "content-length": text.length });
    return res.end(text);
  }
  if (req.method !== "POST" || path !== "/oauth/token") {
    res.writeHead(404);
    return res.end();
  }
  count += 1;
  const n = count;
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const p = new URLSearchParams(Buffer.concat(chunks).toString());
    let status = 200;
    let text;
    if (p.get("grant_type") !== "client_credentials" || p.get("client_id") !== CLIENT.clientId || p.get("client_secret") !== CLIENT.clientSecret) {
      status = 401;
      text = '{"error":"invalid_client"}';
    } else {
      const token = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${head}.${String(n).padStart(12, "0")}${head.slice(0, 300)}`;
      text = `{"access_token":"${token}","token_type":"Bearer","expires_in":3600,"scope":"read"}`;
    }
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 30_000;
await new Promise((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const audience = "https://beeapp.open-cosmos.com";
process.send({
  oidc: { issuer: oidc.issuer, tokenUrl: oidc.tokenUrl, ...oidc.clients.post, audience },
  fast: { issuer: origin, tokenUrl: `${origin}/oauth/token`, countUrl: `${origin}/__count`, ...CLIENT, audience },
});
process.on("message", (m) => {
  if (m === "counts") process.send({ oidc: oidc.tokenRequests(), fast: count });
});
process.on("disconnect", async () => {
  server.closeAllConnections();
  server.close();
  await oidc.close();
  process.exit(0);
});
