#!/usr/bin/env bash
# Runs a command with the loopback demo token server (tests/servers/demo.mjs) up, its
# URLs and credentials in DATACOSMOS_TEST_TOKEN_URL, _RESOURCE_URL, _CLIENT_ID and
# _CLIENT_SECRET; stops the server afterwards, whatever the command's exit status.
set -euo pipefail
out=$(mktemp)
node "$(dirname "$0")/../tests/servers/demo.mjs" > "$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
line=$(head -n 1 "$out")
field() { node -e 'process.stdout.write(JSON.parse(process.argv[1])[process.argv[2]])' "$line" "$1"; }
export DATACOSMOS_TEST_TOKEN_URL=$(field tokenUrl) DATACOSMOS_TEST_RESOURCE_URL=$(field resourceUrl)
export DATACOSMOS_TEST_CLIENT_ID=$(field clientId) DATACOSMOS_TEST_CLIENT_SECRET=$(field clientSecret)
"$@"
