#!/usr/bin/env bash
# Opens a run's report.html in headless Chromium (from disk, no network): checks that the
# page reports every chart image as shown, and saves a full-page screenshot next to the
# report (report-screenshot.png) for a human to look at.
#
# Usage: scripts/browser-check.sh RUN_DIR      e.g. results/dc-partition/latest
# Needs Debian's chromium (apt-get install chromium) or CHROMIUM=/path/to/chrome.
set -euo pipefail
run=${1:?usage: scripts/browser-check.sh RUN_DIR}
chrome=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chrome" ]; then
  echo "no chromium found: apt-get install chromium, or set CHROMIUM" >&2
  exit 2
fi
html=$(cd "$run" && pwd -P)/report.html
test -s "$html" || { echo "no report.html in $run (caplab report $run makes it)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --hide-scrollbars --virtual-time-budget=10000)
charts=$(grep -o 'class="chart"' "$html" | wc -l)
status=$("$chrome" "${flags[@]}" --user-data-dir="$profile/1" --dump-dom "file://$html" 2>/dev/null |
  sed -n 's/.*id="chart-status">\([^<]*\)<.*/\1/p')
echo "browser: $status"
if [ "$status" != "$charts of $charts charts shown" ]; then
  echo "expected $charts of $charts charts shown" >&2
  exit 1
fi
shot=$(dirname "$html")/report-screenshot.png
"$chrome" "${flags[@]}" --user-data-dir="$profile/2" --window-size=1400,12000 \
  --screenshot="$shot" "file://$html" >/dev/null 2>&1
test -s "$shot" || { echo "no screenshot written" >&2; exit 1; }
echo "screenshot: $shot"
