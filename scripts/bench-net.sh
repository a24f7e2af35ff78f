#!/usr/bin/env bash
# Link-layer benchmark: throughput (5 nodes all-to-all) and added latency at zero delay.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench net
