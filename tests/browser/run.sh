#!/usr/bin/env bash
# The browser suite, run by `make test-browser` (after `make build setup-system`):
# Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) driven by playwright-core, with
# playwright-core and the bundlers (esbuild, Vite, Rollup, webpack) pinned by this folder's package-lock.json.
#   web-entry.test.mjs  the ./web entry imported by a page on loopback
#   www.test.mjs        the www/ token inspector, used through its labels and buttons
#   www-login.test.mjs  its "Log in as a user" path against the login server (PKCE, sessionStorage, logout)
#   async-compile.test.mjs  the wasm compiled asynchronously: pages that refuse synchronous
#                       compilation over 4 KB, as older Chrome and Android WebViews do
#   bundlers.test.mjs   the packed tarball bundled by esbuild and Vite, run in Chromium;
#                       the tree-shaking matrix: apps importing only TokenClient / only
#                       getToken, production builds by esbuild, Vite, Rollup 4, webpack 5
#   readme.test.mjs     the html examples of README.md and pkg/README.md, as written
#   static-server.test.mjs  tests/servers/static.mjs (no browser)
#   vite-plugin.test.mjs    datacosmos-auth/vite in a Vite dev server, fetched by a page
#   login-server.test.mjs   tests/servers/oidc-login.mjs: Chromium fills its login page (SPA and native clients)
#   readme-login.test.mjs   README.md's browser user-login block, as written: redirect, login page, callback, API call
#   cli-login.test.mjs      datacosmos-auth login: Chromium opens the printed URL and lands on the CLI's loopback page
#   user-login.test.mjs     UserLogin (PKCE, state, refresh rotation, sessionStorage, logout) from ./web and an esbuild bundle
# Screenshots: tests/artifacts/browser/. Never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "no Chromium at $CHROMIUM: run 'make setup-system' (Debian's chromium package)" >&2
  exit 1
fi
if [ ! -f ../../pkg/datacosmos_auth_bg.wasm ] || [ ! -f ../../pkg/wasm_inline.js ]; then
  echo "pkg/ is not built: run 'make build'" >&2
  exit 1
fi

stamp=node_modules/.installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# (Debian's chromium wrapper may print a shell warning on stderr: not ours.)
echo "$("$CHROMIUM" --version 2>/dev/null), node $(node --version)"
export CHROMIUM
exec node --test --test-concurrency=1 static-server.test.mjs login-server.test.mjs cli-login.test.mjs user-login.test.mjs web-entry.test.mjs async-compile.test.mjs www.test.mjs www-login.test.mjs bundlers.test.mjs readme.test.mjs readme-login.test.mjs vite-plugin.test.mjs
