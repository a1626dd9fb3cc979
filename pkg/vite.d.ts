/**
 * `datacosmos-auth/vite`: a Vite dev-server plugin that proxies `prefix` to the
 * DataCosmos APIs and adds the bearer token server-side, so that a page fetches
 * `/datacosmos/api/data/v0/stac/collections` without ever holding the client secret
 * or the token.
 *
 * @example
 * // vite.config.js
 * import { defineConfig } from "vite";
 * import { datacosmos } from "datacosmos-auth/vite";
 * export default defineConfig({ plugins: [datacosmos()] }); // DATACOSMOS_CLIENT_ID / _SECRET from the environment
 */
import type { Plugin } from "vite";
import type { ClientConfig } from "./index.js";

/** Options of {@link datacosmos}: where to mount, where to forward, and the client. */
export interface DataCosmosViteOptions extends Partial<ClientConfig> {
  /**
   * The dev-server path that is proxied; stripped before forwarding
   * (`/datacosmos/api/x` goes to `${target}/api/x`). Starts with `/`, no trailing `/`.
   * @default "/datacosmos"
   */
  prefix?: string;
  /**
   * Where requests go (`http:` only for loopback hosts).
   * @default "https://app.open-cosmos.com"
   */
  target?: string;
}

/**
 * A Vite plugin (dev server only: `apply: "serve"`). With `clientId` or
 * `clientSecret` given the client is `new TokenClient(options)`, otherwise
 * `TokenClient.fromEnv(process.env, options)`; it is created when the dev server starts.
 *
 * Requests under `prefix` are forwarded with `Authorization: Bearer <token>`, streamed
 * both ways; the page's own Authorization and Cookie headers are not forwarded; a 401
 * from upstream renews the token once and resends a replayable request (no body, or a
 * Content-Length of at most 1 MiB). Pages of non-loopback origins get 403.
 *
 * @throws {TypeError} a bad `prefix` or `target` (at config time).
 * @throws {OAuthError} `invalid_config` when the dev server starts with a bad config.
 */
export function datacosmos(options?: DataCosmosViteOptions): Plugin;
