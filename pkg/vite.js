// datacosmos-auth/vite: a Vite dev-server plugin. The page fetches
// `${prefix}/api/...`; the dev server (Node) strips `prefix`, forwards to `target` and
// adds `Authorization: Bearer <token>`. The client secret and the token stay in the
// dev server: nothing is injected into the page or the bundle.
import { isIP } from "node:net";
import { TokenClient } from "./node.js";
import { createProxy, hostOf, isLoopbackHost, parseTarget } from "./proxy.js";

/**
 * @param {{ prefix?: string, target?: string } & Partial<import("./index.js").ClientConfig>} [options]
 * @returns {import("vite").Plugin}
 */
export function datacosmos(options = {}) {
  // Own properties only: an inherited `target` must not choose where the token goes.
  const { prefix = "/datacosmos", target = "https://app.open-cosmos.com", ...config } = Object.fromEntries(Object.entries(options ?? {}));
  if (typeof prefix !== "string" || !/^\/[^?#]*[^/?#]$/.test(prefix)) {
    throw new TypeError(`datacosmos-auth/vite: prefix must be a path such as "/datacosmos" (no trailing slash), not ${JSON.stringify(prefix)}`);
  }
  parseTarget(target);
  return {
    name: "datacosmos-auth",
    apply: "serve",
    configureServer(server) {
      // Created here, not at config time: `vite build` never needs credentials.
      const hasCredentials = Object.hasOwn(config, "clientId") || Object.hasOwn(config, "clientSecret");
      const client = hasCredentials ? new TokenClient(config) : TokenClient.fromEnv(undefined, config);
      const { logger, server: serverConfig } = server.config;
      const { handle, close } = createProxy({
        client,
        target,
        prefix,
        // Pages on this dev server and on other loopback origins (Vite's default CORS policy).
        cors: (origin) => URL.canParse(origin) && isLoopbackHost(new URL(origin).hostname),
        allowHost: (host) => hostAllowed(host, serverConfig.allowedHosts),
        log: (line, status) => {
          if (status === undefined || status >= 400) logger.warn(`[datacosmos] ${line}`, { timestamp: true });
        },
      });
      server.middlewares.use(prefix, handle);
      server.httpServer?.once("close", close);
    },
  };
}

// Vite's rule for server.allowedHosts (DNS rebinding): IP literals, localhost and
// *.localhost, the listed names (".example.com" for a domain and its subdomains), or
// `true` for any host.
function hostAllowed(hostHeader, allowedHosts = []) {
  if (hostHeader === undefined || allowedHosts === true) return true;
  const name = hostOf(hostHeader);
  if (name === null) return false;
  if (isIP(name.replace(/^\[(.*)\]$/, "$1")) || isLoopbackHost(name)) return true;
  return allowedHosts.some((allowed) => allowed === name || (allowed.startsWith(".") && (name === allowed.slice(1) || name.endsWith(allowed))));
}
