#!/usr/bin/env bash
# Writes Sources/aichat-backend/link.order and Sources/aichat-frontend/link.order: the functions each server
# enters while the benchmark drives it, first entered first. The release link (Package.swift) places them at the
# start of the binary, so that a running server maps the few MB of code it uses rather than most of its 25 MB of
# machine code (the kernel maps a binary's pages 64 KB at a time around each one touched).
#
#   ./scripts/link-order.sh                    # then rebuild: scripts/release-build.sh
#
# Run it after larger changes; a stale order costs memory, never correctness (names no longer present are skipped).
# Needs a C compiler (cc or the Swift toolchain's clang), readelf and python3; Linux x86-64 (scripts/fntrace.c).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

servers=(aichat-backend aichat-frontend)
for server in "${servers[@]}"; do touch "Sources/$server/link.order"; done
for product in "${servers[@]}" aichat-bench; do scripts/release-build.sh --product "$product"; done
bin=$(scripts/release-build.sh --show-bin-path)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
compiler=$(command -v cc || command -v clang)
"$compiler" -O2 -o "$work/fntrace" scripts/fntrace.c

# Each server is started through a wrapper that runs it under fntrace.
for server in "${servers[@]}"; do
  python3 scripts/link-order.py addresses "$bin/$server" >"$work/$server.addresses"
  printf '#!/bin/sh\nexec "%s" "%s" "%s" "%s" "$@"\n' \
    "$work/fntrace" "$work/$server.addresses" "$work/$server.entered" "$bin/$server" >"$work/$server"
  chmod +x "$work/$server"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$bin/aichat-bench" "$work/aichat-backend" --frontend "$work/aichat-frontend" --streams 300 --events 20000 --samples 30 >"$work/bench.log" 2>&1 ||
  { cat "$work/bench.log" >&2; exit 1; }

# The Swift runtime's static libraries (their functions are not in sections of their own).
resources=$(swiftc -print-target-info | python3 -c 'import json, sys; print(json.load(sys.stdin)["paths"]["runtimeResourcePath"])')
archives=("$resources"_static/linux/*.a)
for server in "${servers[@]}"; do
  [ -s "$work/$server.entered" ] || { echo "no functions recorded for $server" >&2; exit 1; }
  python3 scripts/link-order.py names "$bin/$server" "$work/$server.entered" "${archives[@]}" >"Sources/$server/link.order"
  echo "Sources/$server/link.order: $(wc -l <"Sources/$server/link.order") functions"
done
