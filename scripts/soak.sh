#!/usr/bin/env bash
# Randomized fault soak (not part of `cargo test`).
#
#   scripts/soak.sh N [FIRST_SEED]
#
# Runs N seeds (FIRST_SEED, FIRST_SEED+1, ...; default 1) of one experiment whose faults are
# all `random`: overlapping partitions of every shape, crashes, pauses, loss, latency and
# clock skew, over 3 DCs and 5 nodes, against
#   raft          Raft with linearizable reads,
#   raft-lease    Raft with lease reads (LeaseRead: no quorum round trip while the leader's
#                 lease holds; linearizable as long as clocks drift less than the lease margin),
#   gossip-hlc    gossip, last writer wins on hybrid logical clocks,
#   gossip-quorum gossip with partial quorums (n = 3, r = 2, w = 2).
#
# Prints one line per seed and a total:
#   lin  keys whose Raft history is not linearizable, linearizable reads + lease reads
#        (target 0,0),
#   lost acknowledged Raft writes, both Raft variants (target 0,0),
#   conv whether each gossip variant converged after the last heal (target yes; "-" when a
#        partition was still in force at the end, so there was nothing to expect),
#   lab  lab_error events over all variants (the lab's own failures: the seed says nothing
#        about the systems when it is not 0),
#   faults generated for the seed, and overlaps: fault ends that left their effect in force
#        because another fault still held it (the composition at work).
# Exit status: 0 when every seed met every target, 1 otherwise, 2 on a harness error.
#
# Environment: CAPLAB=path/to/caplab uses that binary (default: builds the release one);
# SOAK_OUT=dir keeps the runs there (default: a temporary directory, removed at the end);
# SOAK_DURATION overrides the measured window (default 15s); SOAK_ENGINE=sim runs every seed
# in virtual time (seconds per seed instead of minutes; a finding replays exactly with
# `caplab run <run>/experiment.toml`).
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:?usage: scripts/soak.sh N [FIRST_SEED]}
first=${2:-1}
duration=${SOAK_DURATION:-15s}
engine=${SOAK_ENGINE:-real}
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
name = "raft-lease"
kind = "raft"
read_policy = "lease"

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
# and overlap freely: one generator of every kind, and two more of partitions and of
# crashes and pauses, so that the same links and nodes are often hit by two faults at once.
[[faults]]
at = "500ms"
duration = "11500ms"
kind = "random"
mean_interval = "1500ms"
mean_duration = "2s"
kinds = ["partition", "crash", "pause", "latency", "loss", "clock-skew"]

[[faults]]
at = "1s"
duration = "11s"
kind = "random"
mean_interval = "2s"
mean_duration = "2500ms"
kinds = ["partition"]

[[faults]]
at = "1s"
duration = "11s"
kind = "random"
mean_interval = "3s"
mean_duration = "1500ms"
kinds = ["crash", "pause", "latency", "loss", "clock-skew"]
EOF

printf '%-5s %-5s %-5s %-17s %-4s %-7s %-9s %s\n' seed lin lost "conv (hlc,quorum)" lab faults overlaps verdict
bad=0
tot_lin=0 tot_lost=0 tot_lab=0 tot_faults=0 tot_overlaps=0 unconverged=0 failed=0
for ((seed = first; seed < first + n; seed++)); do
    log="$out/seed-$seed.log"
    set +e
    "$CAPLAB" run "$exp" --out "$out/runs" --seed "$seed" --duration "$duration" \
      --engine "$engine" >"$log" 2>&1
    code=$?
    set -e
    run="$out/runs/soak/latest"
    summary="$run/summary.json"
    if [[ $code -ge 2 || ! -f "$summary" ]]; then
        printf '%-5s harness error (exit %s), see %s\n' "$seed" "$code" "$log"
        failed=$((failed + 1))
        bad=1
        continue
    fi
    lin_lin=$(jq '.variants.raft.linearizability.keys_not_linearizable // 0' "$summary")
    lin_lease=$(jq '.variants["raft-lease"].linearizability.keys_not_linearizable // 0' "$summary")
    lost_lin=$(jq '.variants.raft.lost_writes // 0' "$summary")
    lost_lease=$(jq '.variants["raft-lease"].lost_writes // 0' "$summary")
    lin=$((lin_lin + lin_lease))
    lost=$((lost_lin + lost_lease))
    # yes / NO, or "-" when a partition was still in force at the end (nothing to expect).
    conv=$(jq -r '[.variants["gossip-hlc"].convergence, .variants["gossip-quorum"].convergence]
        | map(if .expected | not then "-" elif .converged then "yes" else "NO" end) | join(",")' "$summary")
    lab=$(jq '[.variants[] | .events.lab_error // 0] | add' "$summary")
    faults=$(jq '.variants.raft.events.fault_start // 0' "$summary")
    # Fault ends that left an effect in force because another fault still held it.
    overlaps=$(grep '"fault_end"' "$run/raft/events.jsonl" | grep -c 'another fault' || true)
    verdict=$(jq -r '.verdict' "$summary")
    printf '%-5s %-5s %-5s %-17s %-4s %-7s %-9s %s\n' "$seed" "$lin_lin,$lin_lease" "$lost_lin,$lost_lease" "$conv" "$lab" "$faults" "$overlaps" "$verdict"
    tot_lin=$((tot_lin + lin))
    tot_lost=$((tot_lost + lost))
    tot_lab=$((tot_lab + lab))
    tot_faults=$((tot_faults + faults))
    tot_overlaps=$((tot_overlaps + overlaps))
    [[ "$conv" != *NO* ]] || unconverged=$((unconverged + 1))
    if [[ $lin -ne 0 || $lost -ne 0 || "$conv" == *NO* || $lab -ne 0 ]]; then
        bad=1
    fi
done
echo "total: $n seeds, $tot_faults faults ($tot_overlaps ends left an effect held by another fault); linearizability anomalies (raft) $tot_lin; lost acknowledged writes (raft) $tot_lost; seeds where a gossip variant did not converge after the last heal $unconverged; lab errors $tot_lab; harness errors $failed"
exit $bad
