#!/usr/bin/env bash
# Writes a gzip sibling (`file.gz`, best compression, no timestamp) next to every text asset in Resources/public
# larger than 1 KB; the frontend serves it to browsers that accept gzip. Run after changing any asset: a test
# fails while a sibling is stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../Resources/public"
find . -name '*.gz' -delete
find . -type f \( -name '*.js' -o -name '*.css' -o -name '*.svg' -o -name '*.json' \) -size +1k -print0 |
    while IFS= read -r -d '' file; do gzip -9 -n -k -f "$file"; done
