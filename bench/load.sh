#!/usr/bin/env bash
# Load test of the read API on loopback, bounded in time (about 60 s in all).
#   bash bench/load.sh     # needs wrk (apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q
ADDR=127.0.0.1:18181
timeout 90 "$CARGO_TARGET_DIR/release/lodestone" serve --addr "$ADDR" > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1.5
for path in /api/health /api/tables/facilities/lynas_lamp_kuantan /api/tables/flows \
  "/api/trace?node=jl_mag/sintered_ndfeb&tag=mined:*" /api/risk/dependency/USA \
  "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01" \
  /records/facilities/lynas_lamp_kuantan "/api/risk/concentration?stage=separation" /; do
  printf '%s: ' "$path"
  timeout 20 wrk -t2 -c16 -d8s "http://$ADDR$path" | grep -E "Requests/sec|Non-2xx|Socket errors" | tr '\n' ' '
  echo
done
