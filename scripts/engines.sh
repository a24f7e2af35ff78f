#!/usr/bin/env bash
# Do the two engines agree? Runs each experiment (default: profile-picture, dc-partition and
# strategies) once on the real engine (loopback TCP, real time) and once on the sim engine
# (virtual time), same seed, with the release build, then `caplab compare`s the two runs:
# per variant, latency p50/p99, stale share, availability and verdict side by side, each
# judged against the tolerances in src/record/engines.rs (latency p50 within 5% or 2 ms,
# shares within 2 points, the same verdict). Exits 1 if any experiment disagrees.
#
# Usage: scripts/engines.sh [EXPERIMENT.toml ...]
# The real runs take real time (about 1 + 1 + 3 minutes for the defaults); run it on an
# otherwise idle machine, since a busy one stretches every real hop.
set -euo pipefail
cd "$(dirname "$0")/.."

exps=("$@")
if [ ${#exps[@]} -eq 0 ]; then
  exps=(experiments/profile-picture.toml experiments/dc-partition.toml experiments/strategies.toml)
fi
cargo build --release --quiet
bin=target/release/caplab
out=${ENGINES_OUT:-$(mktemp -d)}
mkdir -p "$out"
echo "results under $out (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
status=0
for exp in "${exps[@]}"; do
  name=$(basename "$exp" .toml)
  for engine in real sim; do
    start=$(date +%s%N)
    "$bin" run "$exp" --engine "$engine" --out "$out/$engine" >"$out/$name-$engine.log" 2>&1 || true
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    printf '%s on %s: %d.%03d s of wall time (run, analysis and report)\n' \
      "$name" "$engine" $((ms / 1000)) $((ms % 1000))
  done
  table=$("$bin" compare "$out/real/$name/latest" "$out/sim/$name/latest" --out "$out/compare-$name")
  echo "$table" | sed -n '/^engines:/,/^the engines/p'
  if echo "$table" | grep -q "DISAGREE"; then
    status=1
  fi
  echo
done
exit $status
