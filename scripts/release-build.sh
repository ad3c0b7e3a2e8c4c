#!/usr/bin/env bash
# The release build the images and the benchmark use: `swift build -c release` with the Swift runtime and
# Foundation linked statically and every compiled function in a section of its own, so that the link can lay the
# servers' hot code out together (Package.swift, Sources/<server>/link.order). Arguments go to `swift build`:
#
#   scripts/release-build.sh --product aichat-backend
#   scripts/release-build.sh --show-bin-path
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=(swift build -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections "$@")
# SwiftPM does not know the link order and layout as inputs of the link: a server is linked again when they change.
if [[ " $* " != *" --show-bin-path "* ]]; then
  bin=$("${build[@]}" --show-bin-path)
  for server in aichat-backend aichat-frontend; do
    for input in "Sources/$server/link.order" scripts/link-layout.lds; do
      if [ -e "$bin/$server" ] && [ "$input" -nt "$bin/$server" ]; then rm -f "$bin/$server"; fi
    done
  done
fi
exec "${build[@]}"
