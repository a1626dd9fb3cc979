#!/usr/bin/env bash
# The runtime suite (make test-runtimes): the PACKED package in real runtimes.
#   1. npm ci here (only when package.json / package-lock.json changed);
#   2. npm pack pkg/ into a temp dir;
#   3. a consumer project (a copy of consumer/) in that temp dir, with the tarball
#      npm-installed into its node_modules;
#   4. every *.test.mjs here with node's test runner (Node ESM/CJS, workerd via
#      miniflare, Deno, Bun, TypeScript, publint, attw).
# Only loopback traffic once the tools are installed. KEEP_TMP=1 keeps the temp dir.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [ ! -f "$ROOT/pkg/datacosmos_auth_bg.wasm" ] || [ ! -f "$ROOT/pkg/datacosmos_auth.cjs" ]; then
  echo "run.sh: pkg/ is not built; use 'make test-runtimes' (it runs 'make build' first)" >&2
  exit 1
fi
if [ ! -d "$ROOT/node_modules/oidc-provider" ]; then
  echo "run.sh: the root npm packages (oidc-provider for tests/servers) are missing; use 'make test-runtimes'" >&2
  exit 1
fi

# 1. This suite's own tools, from its lockfile. package.json's allowScripts lets the
#    postinstall scripts of bun, deno, esbuild and workerd run (they link the platform
#    binary); lib/harness.mjs still finds Bun's binary if they did not.
stamp="$HERE/node_modules/.datacosmos-lock-hash"
want="$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "run.sh: npm ci in tests/runtimes"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
for tool in deno workerd esbuild tsc; do
  if ! "$HERE/node_modules/.bin/$tool" --version >/dev/null 2>&1; then
    echo "run.sh: node_modules/.bin/$tool does not run; remove tests/runtimes/node_modules and retry" >&2
    exit 1
  fi
done

# 2. The tarball, exactly as `npm publish` would upload it.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/datacosmos-auth-runtimes.XXXXXX")"
cleanup() { if [ "${KEEP_TMP:-}" = 1 ]; then echo "run.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
tgz="$(cd "$TMP" && npm pack "$ROOT/pkg" --pack-destination "$TMP" --loglevel=error | tail -n1)"
TARBALL="$TMP/$tgz"
[ -f "$TARBALL" ] || { echo "run.sh: npm pack made no tarball" >&2; exit 1; }

# 3. The consumer project, outside the repository (so nothing can resolve pkg/ or the
#    root node_modules by walking up), with the tarball installed (no registry access:
#    the package has no dependencies).
cp -R "$HERE/consumer" "$TMP/consumer"
(cd "$TMP/consumer" && npm install --offline --no-audit --no-fund --loglevel=error "$TARBALL" >/dev/null)
echo "run.sh: $tgz ($(wc -c < "$TARBALL") bytes) installed into $TMP/consumer"

# 4. The scenarios.
export DCA_CONSUMER="$TMP/consumer" DCA_TARBALL="$TARBALL" DCA_TMP="$TMP"
cd "$HERE"
status=0
node --test --test-concurrency=2 ./*.test.mjs || status=$?
exit "$status"
