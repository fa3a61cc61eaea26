#!/usr/bin/env bash
# Calibration of data/world/scenarios/backtest_2025.toml on April-June 2025 (the calibration
# months): a grid over the April-May delay form and the approval probabilities of April-May and
# June, 1000 runs each; prints the in-sample and out-of-sample MAPE of China's total magnet
# exports, best in-sample first. Then, with the file's general parameters, a grid over the
# April-May approval for US buyers alone (the event with destinations = ["USA"]), by the US
# series' in-sample MAPE. The July-November parameters are not fitted.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LODESTONE:-target/release/lodestone}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scenario=data/world/scenarios/backtest_2025.toml
for delay in "{ triangular = [0.25, 1.0, 2.0] }" "{ uniform = [0, 2] }" "{ empirical = [0, 1] }" "{ empirical = [0, 1, 2] }"; do
  for a1 in 0.3 0.5 0.7; do
    for a2 in 0.5 0.7 0.9; do
      # The first two events are the calibrated ones.
      awk -v a1="$a1" -v a2="$a2" -v d="$delay" '
        /destinations = \["USA"\]/ { us = 1 }
        /^approval_probability/ { if (us) us = 0; else { n++; if (n == 1) $0 = "approval_probability = " a1; else if (n == 2) $0 = "approval_probability = " a2 } }
        /^delay_months/ { m++; if (m == 1) $0 = "delay_months = " d }
        { print }' "$scenario" > "$tmp/s.toml"
      "$bin" simulate backtest "$tmp/s.toml" --runs 1000 --format json |
        python3 -c "
import json, sys
v = json.load(sys.stdin)
r = [x for x in v['rows'] if x['destination'] == 'WLD'][0]
print(f\"{r['mape_in_sample']:.3f}  {r['mape_out_of_sample']:.3f}  delay {sys.argv[1]}  approval {sys.argv[2]} / {sys.argv[3]}\")
" "$delay" "$a1" "$a2"
    done
  done
done | sort -n
echo "US buyers, April-May approval (US in-sample MAPE, out-of-sample MAPE):"
for a in 0.0 0.02 0.05 0.1 0.15 0.2 0.3; do
  awk -v a="$a" '/destinations = \["USA"\]/ { us = 1 }
    us && /^approval_probability/ { $0 = "approval_probability = " a; us = 0 }
    { print }' "$scenario" > "$tmp/s.toml"
  "$bin" simulate backtest "$tmp/s.toml" --runs 1000 --format json |
    python3 -c "
import json, sys
v = json.load(sys.stdin)
r = [x for x in v['rows'] if x['destination'] == 'USA'][0]
print(f\"{r['mape_in_sample']:.3f}  {r['mape_out_of_sample']:.3f}  US approval {sys.argv[1]}\")
" "$a"
done | sort -n
