#!/usr/bin/env bash
# /api/health latency while hostile load is attempted, on loopback, bounded in time (about 2 min).
#   bash bench/hostile.sh     # needs wrk and python3
# Each attack runs for 12 s while wrk measures /api/health (1 thread, 2 connections, --latency);
# the 99th percentile is printed per attack.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q
ADDR=127.0.0.1:18282
timeout 300 "$CARGO_TARGET_DIR/release/lodestone" serve --addr "$ADDR" > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true' EXIT
sleep 1.5

health() {
  timeout 20 wrk -t1 -c2 -d10s --latency "http://$ADDR/api/health" |
    awk '/ 99%/ {p99=$2} /Requests\/sec/ {rps=$2} END {printf "health p99 %s, %s req/s\n", p99, rps}'
}

attack() {  # $1: name; $2: python program run in the background for 12 s
  printf '%-44s ' "$1:"
  timeout 12 python3 -c "$2" "$ADDR" > /dev/null 2>&1 &
  local pid=$!
  sleep 1
  health
  wait $pid 2>/dev/null || true
}

echo "quiet:                                       $(health)"

attack "8 parallel 60 KB scenario posts, looped" '
import sys, threading, json, http.client
host, port = sys.argv[1].split(":")
text = "name = \"x\"\nmonths = 12\n" + "".join(f"[[events]]\nkind = \"nope_{i}\"\nstart = 0\n" for i in range(1400))
body = json.dumps({"scenario_toml": text})
def loop():
    while True:
        c = http.client.HTTPConnection(host, int(port)); c.request("POST", "/api/simulations", body, {"Content-Type": "application/json"}); c.getresponse().read(); c.close()
for _ in range(8): threading.Thread(target=loop, daemon=True).start()
threading.Event().wait(20)
'

attack "200 idle connections and half-sent headers" '
import sys, socket, time
host, port = sys.argv[1].split(":")
socks = []
for i in range(200):
    s = socket.create_connection((host, int(port)))
    if i % 2: s.send(b"GET /api/health HTTP/1.1\r\nHost: loc")
    socks.append(s)
time.sleep(20)
'

attack "4 parallel briefs (EU, G7), looped" '
import sys, threading, http.client
host, port = sys.argv[1].split(":")
def loop(path):
    while True:
        c = http.client.HTTPConnection(host, int(port)); c.request("GET", path); c.getresponse().read(); c.close()
for p in ["/briefs/eu", "/briefs/g7", "/briefs/asean", "/briefs/quad"]: threading.Thread(target=loop, args=(p,), daemon=True).start()
threading.Event().wait(20)
'

attack "a job too large, posted in a loop" '
import sys, json, http.client
host, port = sys.argv[1].split(":")
text = open("data/world/scenarios/malaysia_new_separation_lp.toml").read().replace("months = 24", "months = 600")
body = json.dumps({"scenario_toml": text, "runs": 20000})
while True:
    c = http.client.HTTPConnection(host, int(port)); c.request("POST", "/api/simulations", body, {"Content-Type": "application/json"}); c.getresponse().read(); c.close()
'
