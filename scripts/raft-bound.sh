#!/usr/bin/env bash
# Raft at its true cost: runs the Raft variant(s) of an experiment (default:
# experiments/profile-picture.toml, variant "raft") with the release build and prints, per
# client DC, the Raft latency lower bound (analysis::raft_model: 2 x client delay + round
# trip client's node <-> leader + the leader's round trip to the (majority-1)-th nearest
# other node, from the topology's mean delays and where the leader was) beside the measured
# write and read p50/p99 and their ratio, plus the bound with the best leader placement and
# every failover beside what the configuration implies.
#
# Usage: scripts/raft-bound.sh [EXPERIMENT.toml] [VARIANT ...]
# e.g.   scripts/raft-bound.sh experiments/profile-picture.toml raft
# Latencies are measured in real time: run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

exp=${1:-experiments/profile-picture.toml}
shift || true
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  variants=(raft)
fi

cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
args=()
for v in "${variants[@]}"; do
  args+=(--variant "$v")
done
# Other processes (a compiler above all) stretch every hop of a run: the load average around
# the run tells a measurement of Raft from a measurement of the machine.
load_before=$(cut -d' ' -f1 /proc/loadavg)
./target/release/caplab run "$exp" --out "$out" "${args[@]}" > "$out/terminal.txt" || true
load_after=$(cut -d' ' -f1 /proc/loadavg)
summary=$(find "$out" -name summary.json | head -1)
if [ -z "$summary" ]; then
  cat "$out/terminal.txt"
  echo "no summary.json: the run failed" >&2
  exit 2
fi

cores=$(nproc)
echo "load average (1 min) before the run $load_before, after $load_after, on $cores cores"
if awk -v a="$load_before" -v b="$load_after" -v c="$cores" 'BEGIN { exit !(a > c || b > c) }'; then
  echo "warning: the machine was busy (load above its core count): latencies above their" \
    "bound may be the machine's, not Raft's; rerun on an idle machine" >&2
fi
python3 - "$summary" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ms = lambda us: "-" if us is None else f"{us / 1000:.0f}"
rt = lambda r: "-" if r is None else f"{r:.2f}x"
for name, v in s["variants"].items():
    m = v.get("raft_model")
    if not m:
        continue
    print(f"== {name}: leader(s) " + ", ".join(
        f'{l["leader"]} ({l["cause"]})' for l in m["leaders"]))
    print(f'{"client DC":<10}{"write bound":>12}{"p50":>7}{"p99":>7}{"ratio":>8}'
          f'{"read bound":>12}{"p50":>7}{"p99":>7}{"ratio":>8}'
          f'{"best-leader write/read bound (" + str(m["best_leader"]) + ")":>44}')
    for d in m["dcs"]:
        print(f'{d["dc"]:<10}{ms(d["write_bound_us"]):>12}{ms(d["write_p50_us"]):>7}'
              f'{ms(d["write_p99_us"]):>7}{rt(d["write_ratio"]):>8}'
              f'{ms(d["read_bound_us"]):>12}{ms(d["read_p50_us"]):>7}'
              f'{ms(d["read_p99_us"]):>7}{rt(d["read_ratio"]):>8}'
              f'{ms(d["best_write_bound_us"]) + " / " + ms(d["best_read_bound_us"]):>44}')
    print("(all times in ms)")
    for f in m["failovers"]:
        print(f'failover after the {f["kind"]} ({f["detail"]}): {f["old_leader"]} -> '
              f'{f["new_leader"]}, first write after {ms(f["measured_us"])} ms, expected '
              f'{ms(f["expected_us"])} ms ({ms(f["expected_min_us"])}-{ms(f["expected_max_us"])}): '
              f'{f["formula"]}')
EOF
