#!/bin/bash
# /usr/local/bin/node in the AIChat images, which contain no Node.js.
#
# The original project's compose file checks the backend's health with
#   node -e "require('http').get('http://localhost:8001/api/settings/health', ...)"
# A compose file carried over from it keeps working: for `node -e SCRIPT` the first http:// or https:// URL in
# SCRIPT is requested with curl, and the exit code is 0 when it answers with a 2xx status, 1 otherwise.
# Anything else exits with 127 and says so.
set -uo pipefail

if [ "$#" -eq 2 ] && { [ "$1" = "-e" ] || [ "$1" = "--eval" ]; }; then
  url=$(grep -oE "https?://[^'\"\` )]+" <<<"$2" | head -n 1)
  if [ -n "$url" ]; then
    status=$(curl -sS -o /dev/null --max-time 10 -w '%{http_code}' "$url") || exit 1
    case "$status" in 2??) exit 0 ;; *) exit 1 ;; esac
  fi
fi
echo "node: this image has no Node.js; only a health check of the form node -e \"...http.get('http://...')...\" is understood" >&2
exit 127
