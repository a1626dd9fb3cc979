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
node report.mjs
echo "make bench: $(( $(date +%s) - start )) s"
