#!/usr/bin/env bash
# Randomized fault soak (not part of `cargo test`).
#
#   scripts/soak.sh N [FIRST_SEED]
#
# Runs N seeds (FIRST_SEED, FIRST_SEED+1, ...; default 1) of one experiment whose faults are
# all `random`: overlapping partitions of every shape, crashes, pauses, loss, latency and
# clock skew, over 3 DCs and 5 nodes, against
#   raft          Raft with linearizable reads,
#   gossip-hlc    gossip, last writer wins on hybrid logical clocks,
#   gossip-quorum gossip with partial quorums (n = 3, r = 2, w = 2).
# (A Raft variant with lease reads is added here once it exists.)
#
# Prints one line per seed and a total:
#   lin  keys whose Raft history is not linearizable (target 0),
#   lost acknowledged Raft writes (target 0),
#   conv whether every gossip variant converged after the last heal (target yes),
#   lab  lab_error events over all variants (the lab's own failures: the seed says nothing
#        about the systems when it is not 0),
#   faults generated for the seed.
# Exit status: 0 when every seed met every target, 1 otherwise, 2 on a harness error.
#
# Environment: CAPLAB=path/to/caplab uses that binary (default: builds the release one);
# SOAK_OUT=dir keeps the runs there (default: a temporary directory, removed at the end);
# SOAK_DURATION overrides the measured window (default 15s).
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:?usage: scripts/soak.sh N [FIRST_SEED]}
first=${2:-1}
duration=${SOAK_DURATION:-15s}
command -v jq >/dev/null || { echo "soak.sh needs jq" >&2; exit 2; }

if [[ -z "${CAPLAB:-}" ]]; then
    cargo build --release --quiet --bin caplab
    CAPLAB=target/release/caplab
fi
out=${SOAK_OUT:-$(mktemp -d)}
[[ -n "${SOAK_OUT:-}" ]] || trap 'rm -rf "$out"' EXIT
mkdir -p "$out"

exp="$out/soak.toml"
cat >"$exp" <<'EOF'
name = "soak"
description = "Randomized overlapping faults of every kind against Raft and gossip"
seed = 1
duration = "15s"
warmup = "2s"
cooldown = "6s"

[topology]
client_delay = { dist = "constant", value = "200us" }
local_delay = { dist = "uniform", low = "150us", high = "350us" }
[topology.dcs.eu]
nodes = 2
[topology.dcs.us]
nodes = 2
[topology.dcs.asia]
nodes = 1
[topology.default_link]
delay = { dist = "normal", mean = "20ms", stddev = "2ms" }

[[variants]]
name = "raft"
kind = "raft"
read_policy = "linearizable"

[[variants]]
name = "gossip-hlc"
kind = "gossip"
conflict = "lww-hlc"
gossip_interval = "100ms"

[[variants]]
name = "gossip-quorum"
kind = "gossip"
conflict = "lww-hlc"
gossip_interval = "100ms"
replicas = 3
read_quorum = 2
write_quorum = 2

[workload]
users = 12
rate = 60.0
write_fraction = 0.4
timeout = "1s"

# Faults start in the first 12 s of the window (so the last heal leaves time to converge)
# and overlap freely.
[[faults]]
at = "500ms"
duration = "11500ms"
kind = "random"
mean_interval = "1500ms"
mean_duration = "2s"
kinds = ["partition", "crash", "pause", "latency", "loss", "clock-skew"]
EOF

printf '%-6s %-6s %-6s %-18s %-5s %-7s %s\n' seed lin lost "conv (hlc,quorum)" lab faults verdict
bad=0
tot_lin=0 tot_lost=0 tot_lab=0 tot_faults=0 unconverged=0 failed=0
for ((seed = first; seed < first + n; seed++)); do
    log="$out/seed-$seed.log"
    set +e
    "$CAPLAB" run "$exp" --out "$out/runs" --seed "$seed" --duration "$duration" >"$log" 2>&1
    code=$?
    set -e
    run="$out/runs/soak/latest"
    summary="$run/summary.json"
    if [[ $code -ge 2 || ! -f "$summary" ]]; then
        printf '%-6s harness error (exit %s), see %s\n' "$seed" "$code" "$log"
        failed=$((failed + 1))
        bad=1
        continue
    fi
    lin=$(jq '.variants.raft.linearizability.keys_not_linearizable // 0' "$summary")
    lost=$(jq '.variants.raft.lost_writes // 0' "$summary")
    conv=$(jq -r '[.variants["gossip-hlc"].convergence.converged, .variants["gossip-quorum"].convergence.converged] | map(if . then "yes" else "NO" end) | join(",")' "$summary")
    lab=$(jq '[.variants[] | .events.lab_error // 0] | add' "$summary")
    faults=$(jq '.variants.raft.events.fault_start // 0' "$summary")
    verdict=$(jq -r '.verdict | if type == "object" then (.met // .) else . end' "$summary")
    printf '%-6s %-6s %-6s %-18s %-5s %-7s %s\n' "$seed" "$lin" "$lost" "$conv" "$lab" "$faults" "$verdict"
    tot_lin=$((tot_lin + lin))
    tot_lost=$((tot_lost + lost))
    tot_lab=$((tot_lab + lab))
    tot_faults=$((tot_faults + faults))
    [[ "$conv" == "yes,yes" ]] || unconverged=$((unconverged + 1))
    if [[ $lin -ne 0 || $lost -ne 0 || "$conv" != "yes,yes" || $lab -ne 0 ]]; then
        bad=1
    fi
done
echo "total: $n seeds, $tot_faults faults; linearizability anomalies (raft) $tot_lin; lost acknowledged writes (raft) $tot_lost; seeds where a gossip variant did not converge $unconverged; lab errors $tot_lab; harness errors $failed"
exit $bad
