#!/usr/bin/env bash
# The trace on the timely dataflow engine against the single-process engine, in one run:
# one process with 1 and 2 workers, and 2, 3 and 4 processes (one worker each) on loopback.
#
#   bash bench/distributed.sh            # 1M nodes / 10M flows / 16 tags (as bench/run.sh)
#   QUICK=1 bash bench/distributed.sh    # 100k nodes / 1M flows, to check the script
#
# Prints, per configuration: trace seconds as process 0 reports them (structure, propagation,
# gathering; not loading), the whole command's wall-clock seconds, the peak resident memory of
# the largest process, and whether the checksum equals the single-process engine's. The
# networks are written under tmp/bench/ (shared with bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
OUT=tmp/bench
mkdir -p "$OUT"
cargo build --release -q
BIN="$CARGO_TARGET_DIR/release/lodestone"
if [ "${QUICK:-0}" = 1 ]; then
  NODES=100000 FLOWS=1000000 NAME=n100k_df
else
  NODES=1000000 FLOWS=10000000 NAME=n1m_df
fi
# NET=DIR: another network of the same shape (bench/run.sh passes its own 1M-node network).
NET="${NET:-$OUT/$NAME}"
[ -f "$NET/flows.csv" ] || "$BIN" generate --nodes "$NODES" --flows "$FLOWS" --tags 16 --cycles 0.03 --seed 1 --out "$NET" > /dev/null

field() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# run NAME PROCESSES WORKERS: one configuration; processes > 0 use a hosts file on loopback.
run() {
  local label=$1 processes=$2 workers=$3 start end peak=0
  local args=(trace --network "$NET" --summary --format json)
  start=$(date +%s.%N)
  if [ "$processes" = 0 ]; then
    /usr/bin/time -f "%M" -o "$OUT/df_mem0.txt" "$BIN" "${args[@]}" > "$OUT/df_summary.json"
    processes=1
  else
    local hosts="$OUT/df_hosts.txt" base=$((24000 + RANDOM % 20000))
    : > "$hosts"
    for i in $(seq 0 $((processes - 1))); do echo "127.0.0.1:$((base + i))" >> "$hosts"; done
    local pids=()
    for i in $(seq $((processes - 1)) -1 1); do
      /usr/bin/time -f "%M" -o "$OUT/df_mem$i.txt" "$BIN" "${args[@]}" --workers "$workers" \
        --hosts "$hosts" --process "$i" > /dev/null 2>&1 &
      pids+=($!)
    done
    /usr/bin/time -f "%M" -o "$OUT/df_mem0.txt" "$BIN" "${args[@]}" --workers "$workers" \
      --hosts "$hosts" --process 0 > "$OUT/df_summary.json" 2> "$OUT/df_err0.txt" \
      || { cat "$OUT/df_err0.txt" >&2; exit 1; }
    for p in "${pids[@]}"; do wait "$p"; done
  fi
  end=$(date +%s.%N)
  for i in $(seq 0 $((processes - 1))); do
    local m; m=$(cat "$OUT/df_mem$i.txt"); [ "$m" -gt "$peak" ] && peak=$m
  done
  local trace sum
  trace=$(field "$OUT/df_summary.json" trace_seconds)
  sum=$(field "$OUT/df_summary.json" checksum)
  [ -z "${REF_SUM:-}" ] && REF_SUM=$sum
  local same=no; [ "$sum" = "$REF_SUM" ] && same=yes
  printf "%-34s trace %7.2f s  whole %7.2f s  peak %6d MiB  checksum equal: %s\n" \
    "$label" "$trace" "$(python3 -c "print($end-$start)")" $((peak / 1024)) "$same"
}

echo "network: $NET ($NODES nodes, $FLOWS flows, 16 tags unless NET says otherwise); $(nproc) cores; $(date -u +%F)"
run "single-process engine" 0 0
run "dataflow, 1 process x 1 worker" 1 1
run "dataflow, 1 process x 2 workers" 1 2
run "dataflow, 2 processes x 1 worker" 2 1
run "dataflow, 3 processes x 1 worker" 3 1
run "dataflow, 4 processes x 1 worker" 4 1
