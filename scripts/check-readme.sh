#!/usr/bin/env bash
# Runs the commands the README shows, as a new user would type them, in a scratch copy of
# the repository (so nothing here is touched), and fails on the first one that does not
# work. `cargo test` is left to CI (.ci/run runs it).
#
# Usage: scripts/check-readme.sh      (about 3 minutes after the release build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$work"
cd "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

step() { echo "== $*"; "$@"; }
expect_code() { # expect_code N command...
  local want=$1
  shift
  echo "== $* (expect exit $want)"
  local got=0
  "$@" || got=$?
  if [ "$got" != "$want" ]; then
    echo "exit $got, expected $want" >&2
    exit 1
  fi
}

# The README's first command: a real experiment, end to end, charts and report included.
step cargo run --release --quiet -- run experiments/quickstart.toml
run=results/quickstart/latest
for f in report.html report.md summary.json charts/latency-over-time.png charts/visibility.svg; do
  test -s "$run/$f" || { echo "missing $run/$f" >&2; exit 1; }
done

caplab=$CARGO_TARGET_DIR/release/caplab
step "$caplab" validate experiments/*.toml
step "$caplab" check "$run"
step "$caplab" report "$run"
step "$caplab" plot "$run"
step "$caplab" list
step "$caplab" init my-experiment
step "$caplab" validate experiments/my-experiment.toml
step "$caplab" run experiments/my-experiment.toml --duration 3s --variant gossip
step "$caplab" compare results/quickstart/latest results/my-experiment/latest --out results/compare-check
test -s results/compare-check/report.html
# The two engines: a sim run, its exact replay, and the real-vs-sim comparison.
step "$caplab" run experiments/quickstart.toml --engine sim --out results/sim
sim=$(cd results/sim/quickstart/latest && pwd -P)
step "$caplab" run "$sim/experiment.toml" --out results/sim-replay
cmp "$sim/gossip/history.jsonl" results/sim-replay/quickstart/latest/gossip/history.jsonl
cmp "$sim/summary.json" results/sim-replay/quickstart/latest/summary.json
step "$caplab" compare "$run" "$sim" --out results/compare-engines
test -s results/compare-engines/engines.json
expect_code 2 "$caplab" validate tests/malformed/many-errors.toml
expect_code 2 "$caplab" run experiments/does-not-exist.toml

# The analysis-elsewhere examples of the README (python3 with the standard library only).
step python3 - <<'EOF'
import json
ops = [json.loads(l) for l in open("results/quickstart/latest/gossip/history.jsonl")]
reads = [o for o in ops if o["kind"] == "read" and o["outcome"] == "ok"]
assert reads, "no successful reads"
lat = sorted(o["complete_us"] - o["invoke_us"] for o in reads)
print("gossip read p50 (us):", lat[len(lat) // 2])
EOF
echo "every README command worked"
