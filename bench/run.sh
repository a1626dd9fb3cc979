#!/usr/bin/env bash
# `make bench` (after `make build`): installs bench/'s pinned packages when needed,
# runs the suite (results.json), then regenerates REPORT.md and chart.svg.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
if [ ! -f node_modules/.installed ] || [ package-lock.json -nt node_modules/.installed ] || [ package.json -nt node_modules/.installed ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.installed
fi
node suite.mjs
# The .wasm by crate: the npm build again with its function names kept, for twiggy.
tools="$(cd .. && pwd)/.tools"
if [ ! -x "$tools/bin/twiggy" ]; then cargo install twiggy --version =0.8.0 --root "$tools" --quiet || true; fi
if [ -x "$tools/bin/twiggy" ]; then
  names=$(mktemp -d)
  (cd .. && RUSTFLAGS="-C target-feature=+bulk-memory,+nontrapping-fptoint,+sign-ext" \
    cargo build --release --target wasm32-unknown-unknown --no-default-features --features npm --quiet --target-dir "$names/target" \
    && "$tools/bin/wasm-bindgen" "$names/target/wasm32-unknown-unknown/release/datacosmos_auth.wasm" --out-dir "$names" --target web --no-typescript \
    && node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      --enable-reference-types --enable-multivalue --debuginfo "$names/datacosmos_auth_bg.wasm" -o "$names/named.wasm" \
    && "$tools/bin/twiggy" top -n 1000 --format json "$names/named.wasm" > bench/twiggy.json) || echo "twiggy: skipped"
  rm -rf "$names"
fi
node report.mjs
echo "make bench: $(( $(date +%s) - start )) s"
