#!/usr/bin/env bash
# Regenerates the committed reference results: runs every experiment in experiments/ (or
# the ones named on the command line) with the release build and copies the lean part of
# each run -- report.md, the PNG charts, summary.json, run.json, experiment.toml and the
# terminal output -- to results/reference/<experiment>/. Histories, SVGs and report.html
# are left out to keep the repository small (a run re-creates them).
#
# Before replacing a reference it prints the headline numbers of the committed one next to
# the new one (ok share, stale share, read and write p50 per variant), so "reproduces the
# reference within run-to-run noise" can be checked by eye. Run it on an otherwise idle
# machine: latencies are measured in real time.
#
# Usage: scripts/reference-runs.sh [experiments/NAME.toml ...]     (about 12 minutes for all)
# ENGINE=sim runs them on the sim engine instead and writes results/reference/<name>-sim/
# (experiments whose file says engine = "sim", like gossip-scale, always run on it).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=./target/release/caplab
ref=results/reference
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(experiments/*.toml)
fi

headline() { # summary.json -> one line per variant
  python3 - "$1" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
for name, v in s.get("variants", {}).items():
    def p50(x):
        return f'{x["p50"] / 1000:.1f}ms' if x else "-"
    if "availability" not in v:
        print(f"    {name:<16} {v.get('status', '?')}")
        continue
    a = v["availability"]["ok_fraction"] or 0
    st = v["reads"]["stale_fraction"] or 0
    print(f"    {name:<16} ok {a:6.1%}  stale {st:6.1%}  read p50 {p50(v['reads']['latency_us']):>8}"
          f"  write p50 {p50(v['writes']['latency_us']):>8}")
EOF
}

for f in "${files[@]}"; do
  name=$(sed -n 's/^name *= *"\(.*\)".*/\1/p' "$f" | head -n 1)
  echo "== $name ($f)"
  code=0
  engine_args=()
  if [ -n "${ENGINE:-}" ]; then
    engine_args=(--engine "$ENGINE")
  fi
  "$bin" run "$f" --out "$tmp" "${engine_args[@]}" >"$tmp/$name.log" 2>&1 || code=$?
  if [ "$code" -ge 2 ]; then
    echo "caplab run $f failed (exit $code):" >&2
    tail -n 20 "$tmp/$name.log" >&2
    exit "$code"
  fi
  run=$(cd "$tmp/$name/latest" && pwd -P)
  dest="$ref/$name"
  if [ "${ENGINE:-}" = sim ] && ! grep -q '^engine *= *"sim"' "$f"; then
    dest="$ref/$name-sim"
  fi
  if [ -f "$dest/summary.json" ] && [ -f "$run/summary.json" ]; then
    echo "  committed reference:"
    headline "$dest/summary.json"
    echo "  this run:"
    headline "$run/summary.json"
  fi
  rm -rf "$dest"
  mkdir -p "$dest/charts"
  for file in report.md summary.json run.json experiment.toml sweep.json sweep.csv sweep.toml; do
    if [ -f "$run/$file" ]; then
      cp "$run/$file" "$dest/"
    fi
  done
  cp "$run"/charts/*.png "$dest/charts/"
  # The report names the temporary run directory; point it at the reference instead.
  sed -i "s#$run#$dest#g; s#$tmp/$name/latest#$dest#g" "$dest/report.md"
  sed "s#$tmp/$name/[^/ ]*#$dest#g" "$tmp/$name.log" >"$dest/run.log"
done

{
  echo "# Reference results"
  echo
  echo "One run of every experiment in \`experiments/\`, made by \`scripts/reference-runs.sh\`."
  echo "Each folder holds the report (\`report.md\`, charts in \`charts/\`), \`summary.json\`,"
  echo "\`run.json\`, the resolved \`experiment.toml\` (seed included: \`caplab run"
  echo "results/reference/<name>/experiment.toml\` replays the same operations and faults) and"
  echo "the terminal output (\`run.log\`). Histories are not committed; a new run makes them."
  echo
  echo "- generated: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "- toolchain: $(rustc --version)"
  echo
  echo "| experiment | verdict |"
  echo "|---|---|"
  for d in "$ref"/*/; do
    n=$(basename "$d")
    if [ -f "$d/summary.json" ]; then
      v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("verdict","?"))' "$d/summary.json")
    elif [ -f "$d/sweep.json" ]; then
      v="sweep"
    else
      v="?"
    fi
    echo "| [$n]($n/report.md) | $v |"
  done
  if [ -f "$ref/engines.md" ]; then
    echo
    echo "Folders ending in \`-sim\` were recorded on the sim engine (\`ENGINE=sim\`); [engines.md](engines.md)"
    echo "compares the two engines on the same seeds (made by \`scripts/engines.sh\`)."
  fi
} >"$ref/README.md"
du -sh "$ref"
