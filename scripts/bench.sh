#!/usr/bin/env bash
# Speed and memory figures of the backend against a fake provider on loopback (release build).
#
#   ./scripts/bench.sh                 # 2000 concurrent streams, 200000-event relay, 200 latency samples
#   ./scripts/bench.sh --streams 500   # any of --streams N --events N --samples N
#
# Prints: time-to-first-token added by the backend (p50/p90), relay throughput in content events/s,
# resident memory and failures with many concurrent slow streams; then for the frontend: idle memory, the
# time-to-first-token and throughput its proxy adds, the chat page's server response time and first-page weight.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A plain release build (the images add only a static Swift runtime).
build=(swift build -c release)
"${build[@]}" --product aichat-backend
"${build[@]}" --product aichat-frontend
"${build[@]}" --product aichat-bench
bin=$("${build[@]}" --show-bin-path)
# Every stream holds a few sockets in each process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$bin/aichat-bench" "$bin/aichat-backend" --frontend "$bin/aichat-frontend" "$@"
