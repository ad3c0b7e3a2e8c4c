#!/bin/sh
# Build-time check of the AIChat images: fails when a binary needs a shared library the image lacks, so
# that the image build fails instead of the container at its first start.
#
#   sh docker/check-libs.sh /app/aichat-backend [more binaries]
set -eu

status=0
for binary in "$@"; do
  # ldd also fails for a fully static binary ("not a dynamic executable"), which needs nothing: only
  # libraries reported missing count.
  libs=$(ldd "$binary" 2>&1) || true
  case "$libs" in
    *"not found"*)
      echo "$binary needs libraries the image lacks:" >&2
      echo "$libs" >&2
      status=1
      ;;
  esac
done
exit "$status"
