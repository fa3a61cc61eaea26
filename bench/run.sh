#!/usr/bin/env bash
# Trace-engine benchmark: Lodestone against the references a user would otherwise use, in one run.
#
#   bash bench/run.sh            # full run: 1M nodes / 10M flows, scaling series, references
#   QUICK=1 bash bench/run.sh    # small sizes, no historical references (a minute), to check it
#
# Needs: a Rust toolchain; python3 with numpy, scipy, pandas, PyKLU and pypardiso for the
# references (pip install numpy scipy pandas PyKLU pypardiso). The strongest reference is
# SuiteSparse KLU (block-triangular form, then LU per block: what Lodestone does); PARDISO is
# Brightway's solver; spsolve and the dense inverse are kept as history. Writes networks under tmp/bench/ (about 400 MB at full size).
# Timings are wall-clock seconds, best of REPS runs; memory is peak resident set size.
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

gen() { # nodes flows tags name
  [ -f "$OUT/$4/flows.csv" ] || "$BIN" generate --nodes "$1" --flows "$2" --tags "$3" --cycles 0.03 --seed 1 --out "$OUT/$4" 2>/dev/null
}

# Best-of-REPS lodestone timings: prints "load trace total peak_MiB checksum".
lodestone_time() {
  local best_load=1e9 best_trace=1e9 best_total=1e9 peak=0 sum=0
  for _ in $(seq "$REPS"); do
    local start end json mem
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$OUT/mem.txt" "$BIN" trace --network "$OUT/$1" --summary --format json > "$OUT/summary.json"
    end=$(date +%s.%N)
    mem=$(cat "$OUT/mem.txt")
    read -r load trace sum < <(python3 -c "import json;d=json.load(open('$OUT/summary.json'));print(d['load_seconds'],d['trace_seconds'],d['checksum'])")
    best_load=$(python3 -c "print(min($best_load,$load))")
    best_trace=$(python3 -c "print(min($best_trace,$trace))")
    best_total=$(python3 -c "print(min($best_total,$end-$start))")
    peak=$(( mem > peak ? mem : peak ))
  done
  echo "$best_load $best_trace $best_total $(( peak / 1024 )) $sum"
}

ref_time() { # mode name → "load solve checksum"
  py bench/reference.py "$1" "$OUT/$2" | python3 -c "import json,sys;d=json.load(sys.stdin);print(d['load_seconds'],d['solve_seconds'],d['checksum'])"
}

if [ -n "${QUICK:-}" ]; then BIG=(100000 1000000); else BIG=(1000000 10000000); fi

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); $(git rev-parse --short HEAD)"

echo "== 1. target size: ${BIG[0]} nodes, ${BIG[1]} flows, 16 tags, 3 % of nodes on loops"
gen "${BIG[0]}" "${BIG[1]}" 16 big
read -r l t tot mem sum < <(lodestone_time big)
echo "lodestone: load $l s, trace $t s, whole command $tot s, peak $mem MiB (checksum $sum)"
# The historical references (spsolve, the dense inverse) are skipped in quick mode: they are not the
# comparison that matters, and they alone take longer than the quick mode's minute.
if [ -z "${QUICK:-}" ]; then
# SciPy's spsolve (SuperLU) suffers heavy fill-in on these matrices: it is given SPSOLVE_TIMEOUT
# seconds at the target size; the ratio is then a lower bound.
SPSOLVE_TIMEOUT="${SPSOLVE_TIMEOUT:-900}"
if ref=$(timeout "$SPSOLVE_TIMEOUT" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/reference.py spsolve "$OUT/big"); then
  read -r rl rs rsum < <(echo "$ref" | python3 -c "import json,sys;d=json.load(sys.stdin);print(d['load_seconds'],d['solve_seconds'],d['checksum'])")
  echo "scipy spsolve: load $rl s, solve $rs s (checksum $rsum)"
  python3 -c "print(f'ratio spsolve solve / lodestone trace: {$rs/$t:.1f}x; checksums differ by {abs($rsum-$sum)/abs($sum):.1e} (relative)')"
else
  echo "scipy spsolve: did not finish within $SPSOLVE_TIMEOUT s"
  python3 -c "print(f'ratio spsolve solve / lodestone trace: more than {$SPSOLVE_TIMEOUT/$t:.0f}x (lower bound)')"
fi
fi

echo "== 1a. the strongest reference, KLU (PyKLU), at the target size, same files"
best_klu=1e9; best_fs=1e9
for _ in $(seq "$REPS"); do
  read -r ks kfs ksum < <(py bench/reference.py klu "$OUT/big" | python3 -c "import json,sys;d=json.load(sys.stdin);print(d['solve_seconds'],d['factor_solve_seconds'],d['checksum'])")
  best_klu=$(python3 -c "print(min($best_klu,$ks))"); best_fs=$(python3 -c "print(min($best_fs,$kfs))")
done
echo "klu: assemble + factor + solve $best_klu s, factor + solve $best_fs s (checksum $ksum)"
python3 -c "print(f'ratio klu / lodestone trace: {$best_klu/$t:.2f}x (factor + solve alone {$best_fs/$t:.2f}x); checksums differ by {abs($ksum-$sum)/abs($sum):.1e} (relative)')"

echo "== 1a'. vectorised level-order Gauss-Seidel (NumPy/SciPy) at the target size"
read -r gl gs gsum < <(ref_time gauss big)
python3 -c "print(f'gauss-seidel: solve {$gs:.2f} s; ratio / lodestone trace {$gs/$t:.1f}x; checksums differ by {abs($gsum-$sum)/abs($sum):.1e} (relative)')"

echo "== 1b. KLU and PARDISO at 10000 nodes, 100000 flows, 16 tags"
gen 10000 100000 16 n10k
read -r l t tot mem sum < <(lodestone_time n10k)
for mode in klu pardiso; do
  read -r rl rs rsum < <(ref_time "$mode" n10k)
  python3 -c "print(f'$mode: solve {$rs:.4f} s; ratio / lodestone trace {$rs/$t:.1f}x; checksums differ by {abs($rsum-$sum)/abs($sum):.1e} (relative)')"
done

if [ -z "${QUICK:-}" ]; then
echo "== 1c. spsolve where it finishes: 10000 nodes, 100000 flows, 16 tags"
gen 10000 100000 16 n10k
read -r l t tot mem sum < <(lodestone_time n10k)
read -r rl rs rsum < <(ref_time spsolve n10k)
echo "lodestone: trace $t s; scipy spsolve: solve $rs s"
python3 -c "print(f'ratio spsolve / lodestone trace: {$rs/$t:.0f}x; checksums differ by {abs($rsum-$sum)/abs($sum):.1e} (relative)')"

echo "== 2. dense reference: 8000 nodes, 80000 flows, 16 tags"
gen 8000 80000 16 n8k
read -r l t tot mem sum < <(lodestone_time n8k)
read -r rl rs rsum < <(ref_time dense n8k)
echo "lodestone: trace $t s; numpy dense Leontief inverse: $rs s"
python3 -c "print(f'ratio dense / lodestone trace: {$rs/$t:.0f}x; checksums differ by {abs($rsum-$sum)/abs($sum):.1e} (relative)')"
fi

echo "== 3. scaling (trace seconds, best of $REPS)"
if [ -n "${QUICK:-}" ]; then SIZES=(25000 50000 100000); else SIZES=(250000 500000 1000000); fi
for n in "${SIZES[@]}"; do
  gen "$n" $(( n * 10 )) 16 "n$n"
  read -r l t tot mem sum < <(lodestone_time "n$n")
  echo "nodes $n, flows $(( n * 10 )), tags 16: load $l s, trace $t s, peak $mem MiB"
done
n=${SIZES[2]}
for f in 5 20; do
  gen "$n" $(( n * f )) 16 "n${n}f$f"
  read -r l t tot mem sum < <(lodestone_time "n${n}f$f")
  echo "nodes $n, flows $(( n * f )), tags 16: load $l s, trace $t s, peak $mem MiB"
done
for k in 4 8 32; do
  gen "$n" $(( n * 10 )) "$k" "n${n}k$k"
  read -r l t tot mem sum < <(lodestone_time "n${n}k$k")
  echo "nodes $n, flows $(( n * 10 )), tags $k: load $l s, trace $t s, peak $mem MiB"
done
