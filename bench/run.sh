#!/usr/bin/env bash
# Trace-engine benchmark: Lodestone against the references a specialist would pick, in one run.
#
#   bash bench/run.sh            # full run (about 13 minutes on the project's 2-core machine)
#   QUICK=1 bash bench/run.sh    # small sizes, to check the script (45 s here, built)
#
# What one run prints, in order:
#   0. what the machine's memory allows: the costs of the trace's kinds of access measured on
#      their own, and the time each phase would take at those costs (crates/trace/examples/memory_model.rs);
#   1. the solvers at 10k, 100k and 1M nodes (10 flows per node, 16 tags, 3 % of nodes on loops):
#      Lodestone's trace against SuiteSparse KLU (PyKLU: block-triangular form, then LU per block,
#      what Lodestone does), PARDISO (pypardiso, Brightway's solver; given PARDISO_TIMEOUT seconds
#      and not tried again at a larger size once it has not finished) and a vectorised
#      level-order Gauss-Seidel in NumPy/SciPy, with the ratios and the checksums' agreement;
#   2. the growth of the trace from 250k to 4M nodes against n log n;
#      parts 1 and 2 print the phases of each size's last trace (the summary's phase_seconds),
#      to set beside part 0's model;
#   3. other shapes at 1M nodes (flows per node, tags);
#   4. the loader against Polars on the 1M network (pip install polars; skipped without it);
#   5. the timely dataflow engine in 1-4 processes on loopback (bench/distributed.sh);
#   6. history (full run only): SciPy's spsolve at 10k nodes and a dense NumPy Leontief inverse
#      at 8k, the baselines of the first benchmark.
#
# Needs: a Rust toolchain; python3 with numpy, scipy, pandas, PyKLU and pypardiso (pip install
# numpy scipy pandas PyKLU pypardiso polars). Networks are written under tmp/bench/ (about 3 GB at
# full size). Timings are wall-clock seconds, best of REPS runs; memory is peak resident set size.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
REPS="${REPS:-3}"
OUT=tmp/bench
mkdir -p "$OUT"
cargo build --release -q
BIN="$CARGO_TARGET_DIR/release/lodestone"
# The machine sets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow a current
# NumPy, so the references run without them (as a user's own machine would).
py() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 "$@"; }
calc() { python3 -c "print($1)"; }
r3() { calc "f'{$1:.3g}'"; }  # seconds to three significant digits

gen() { # nodes flows tags name
  [ -f "$OUT/$4/flows.csv" ] || "$BIN" generate --nodes "$1" --flows "$2" --tags "$3" --cycles 0.03 --seed 1 --out "$OUT/$4" > /dev/null 2>&1
}

# Best-of-REPS lodestone timings: prints "load trace total peak_MiB checksum".
lodestone_time() {
  local best_load=1e9 best_trace=1e9 best_total=1e9 peak=0 sum=0 reps=${2:-$REPS}
  for _ in $(seq "$reps"); do
    local start end mem load trace
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$OUT/mem.txt" "$BIN" trace --network "$OUT/$1" --summary --format json > "$OUT/summary.json"
    end=$(date +%s.%N)
    mem=$(cat "$OUT/mem.txt")
    read -r load trace sum < <(python3 -c "import json;d=json.load(open('$OUT/summary.json'));print(d['load_seconds'],d['trace_seconds'],d['checksum'])")
    best_load=$(calc "min($best_load,$load)")
    best_trace=$(calc "min($best_trace,$trace)")
    best_total=$(calc "min($best_total,$end-$start)")
    peak=$(( mem > peak ? mem : peak ))
  done
  echo "$best_load $best_trace $best_total $(( peak / 1024 )) $sum"
}

# The phases of the last timed trace, from its summary.
phases() {
  python3 -c "import json;p=json.load(open('$OUT/summary.json'))['phase_seconds'];print('  phases of the last run (s): '+', '.join(f'{k} {v:.3f}' for k,v in p.items()))"
}

# agree A B: relative difference of two checksums.
agree() { calc "f'{abs($1-$2)/abs($2):.1e}'"; }

if [ -n "${QUICK:-}" ]; then
  SOLVER_SIZES=(10000 100000); GROWTH=(25000 50000 100000); BIG=100000
  PARDISO_TIMEOUT="${PARDISO_TIMEOUT:-5}"
else
  PARDISO_TIMEOUT="${PARDISO_TIMEOUT:-120}"
  SOLVER_SIZES=(10000 100000 1000000); GROWTH=(250000 500000 1000000 2000000 4000000); BIG=1000000
fi

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD)"

echo "== 0. what the machine's memory allows (best of 3 per figure)"
# shellcheck disable=SC2046  # one node count per word
cargo run --release -q -p lodestone-trace --example memory_model -- $(printf '%s\n' "${GROWTH[0]}" "$BIG" "${GROWTH[-1]}" | sort -nu)

echo "== 1. solvers: Lodestone trace (best of $REPS) against KLU, PARDISO and level-order Gauss-Seidel"
pardiso_done=yes
for n in "${SOLVER_SIZES[@]}"; do
  gen "$n" $(( n * 10 )) 16 "g$n"
  read -r l t tot mem sum < <(lodestone_time "g$n")
  echo "-- $n nodes, $(( n * 10 )) flows, 16 tags"
  echo "lodestone: trace $(r3 "$t") s (load $(r3 "$l") s, whole command $(r3 "$tot") s, peak $mem MiB); checksum $sum"
  phases
  # One load of the files (pandas) for the KLU runs and Gauss-Seidel.
  modes=$(python3 -c "print(','.join(['klu']*$REPS+['gauss']))")
  py bench/reference.py "$modes" "$OUT/g$n" > "$OUT/ref.jsonl"
  read -r ks kfs ksum gs gsum < <(python3 - "$OUT/ref.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
klu = [r for r in rows if r["mode"] == "klu"]
gauss = [r for r in rows if r["mode"] == "gauss"][0]
print(min(r["solve_seconds"] for r in klu), min(r["factor_solve_seconds"] for r in klu),
      klu[0]["checksum"], gauss["solve_seconds"], gauss["checksum"])
EOF
)
  echo "klu: assemble + factor + solve $(r3 "$ks") s, factor + solve $(r3 "$kfs") s; ratio to lodestone $(calc "f'{$ks/$t:.2f}'")x ($(calc "f'{$kfs/$t:.2f}'")x without SciPy's assembly); checksums differ by $(agree "$ksum" "$sum")"
  echo "gauss-seidel: solve $(r3 "$gs") s; ratio $(calc "f'{$gs/$t:.1f}'")x; checksums differ by $(agree "$gsum" "$sum")"
  if [ "$pardiso_done" = yes ]; then
    if ref=$(timeout "$PARDISO_TIMEOUT" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/reference.py pardiso "$OUT/g$n"); then
      read -r ps psum < <(echo "$ref" | python3 -c "import json,sys;d=json.load(sys.stdin);print(d['solve_seconds'],d['checksum'])")
      echo "pardiso: solve $(r3 "$ps") s; ratio $(calc "f'{$ps/$t:.1f}'")x; checksums differ by $(agree "$psum" "$sum")"
    else
      echo "pardiso: did not finish within $PARDISO_TIMEOUT s, load included (fill-in); ratio more than $(calc "f'{$PARDISO_TIMEOUT/$t:.0f}'")x"
      pardiso_done=no
    fi
  else
    echo "pardiso: not run (it did not finish at a smaller size)"
  fi
done

echo "== 2. growth (trace seconds, best of $REPS; 2 runs from 2M nodes), against n log n from the first size"
n0=${GROWTH[0]}; t0=
for n in "${GROWTH[@]}"; do
  gen "$n" $(( n * 10 )) 16 "g$n"
  reps=$REPS; [ "$n" -ge 2000000 ] && reps=2
  read -r l t tot mem sum < <(lodestone_time "g$n" "$reps")
  [ -z "$t0" ] && t0=$t
  bytes=$(du -cb "$OUT/g$n"/nodes.csv "$OUT/g$n"/flows.csv "$OUT/g$n"/content.csv | tail -1 | cut -f1)
  echo "nodes $n, flows $(( n * 10 )): trace $(r3 "$t") s ($(calc "f'{$t/($n*10)*1e9:.0f}'") ns per flow; n log n predicts $(calc "f'{$t0*$n/$n0*__import__(\"math\").log($n)/__import__(\"math\").log($n0):.2f}'") s), load $(r3 "$l") s ($(calc "f'{$bytes/$l/1e6:.0f}'") MB/s), whole command $(r3 "$tot") s, peak $mem MiB"
  phases
done

if [ -z "${QUICK:-}" ]; then
echo "== 3. other shapes at $BIG nodes (best of $REPS)"
for f in 5 20; do
  gen "$BIG" $(( BIG * f )) 16 "g${BIG}f$f"
  read -r l t tot mem sum < <(lodestone_time "g${BIG}f$f")
  echo "nodes $BIG, flows $(( BIG * f )), tags 16: load $(r3 "$l") s, trace $(r3 "$t") s, peak $mem MiB"
done
for k in 4 8 32; do
  gen "$BIG" $(( BIG * 10 )) "$k" "g${BIG}k$k"
  read -r l t tot mem sum < <(lodestone_time "g${BIG}k$k")
  echo "nodes $BIG, flows $(( BIG * 10 )), tags $k: load $(r3 "$l") s, trace $(r3 "$t") s, peak $mem MiB"
done
fi

echo "== 4. loading $BIG nodes: Lodestone against Polars (best of 3 each)"
read -r l t tot mem sum < <(lodestone_time "g$BIG" 3)
bytes=$(du -cb "$OUT/g$BIG"/nodes.csv "$OUT/g$BIG"/flows.csv "$OUT/g$BIG"/content.csv | tail -1 | cut -f1)
echo "lodestone: load $(r3 "$l") s ($(calc "f'{$bytes/$l/1e6:.0f}'") MB/s of CSV: parse, validate, resolve ids); whole command $(r3 "$tot") s"
if py -c "import polars" 2> /dev/null; then
  py bench/polars_load.py "$OUT/g$BIG"
else
  echo "polars: not installed (pip install polars); skipped"
fi

echo "== 5. the timely dataflow engine"
NET="$OUT/g$BIG" bash bench/distributed.sh

if [ -z "${QUICK:-}" ]; then
echo "== 6. history: the first benchmark's baselines"
gen 10000 100000 16 g10000
read -r l t tot mem sum < <(lodestone_time g10000)
read -r rs rsum < <(py bench/reference.py spsolve "$OUT/g10000" | python3 -c "import json,sys;d=json.load(sys.stdin);print(d['solve_seconds'],d['checksum'])")
echo "scipy spsolve at 10000 nodes: solve $(r3 "$rs") s; ratio $(calc "f'{$rs/$t:.0f}'")x; checksums differ by $(agree "$rsum" "$sum")"
gen 8000 80000 16 g8000
read -r l t tot mem sum < <(lodestone_time g8000)
read -r rs rsum < <(py bench/reference.py dense "$OUT/g8000" | python3 -c "import json,sys;d=json.load(sys.stdin);print(d['solve_seconds'],d['checksum'])")
echo "numpy dense Leontief inverse at 8000 nodes: $(r3 "$rs") s; ratio $(calc "f'{$rs/$t:.0f}'")x; checksums differ by $(agree "$rsum" "$sum")"
fi
