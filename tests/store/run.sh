#!/usr/bin/env bash
# The shared store against real engines (make test-store; pkg/ is built first):
# a redis-server on a free loopback port, workerd KV and Durable Objects via miniflare
# (and the chaos test across isolates), Deno KV.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f node_modules/.installed ] || [ package-lock.json -nt node_modules/.installed ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.installed
fi
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" --daemonize yes --pidfile "$dir/redis.pid"
# redis-server writes its log until it has exited: wait for that (at most 5 s) before
# removing its directory, and never let the clean-up decide the suite's exit status.
stop_redis() {
  local pid status=$?
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$dir" 2>/dev/null || true
  exit "$status"
}
trap stop_redis EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
REDIS_URL="redis://127.0.0.1:$port" node --test --test-concurrency=1 redis.test.mjs kv.test.mjs durable.test.mjs chaos.test.mjs deno.test.mjs
