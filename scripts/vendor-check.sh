#!/usr/bin/env bash
# Checks the vendored libraries in Resources/public/vendor against VERSIONS.json, the one place that records each
# library's version, source and the sha256 of every file it ships:
#   - every listed file exists and has its recorded digest;
#   - every file in a library's folder is listed (its `copyright` and the .gz siblings aside);
#   - KaTeX's bundle states the version the manifest records;
#   - every .gz sibling decompresses to its source (else run scripts/compress-assets.sh).
# Prints one line per problem and exits 1 if there is any; prints a summary and exits 0 otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../Resources/public/vendor"
exec python3 - <<'EOF'
import gzip, hashlib, json, os, re, sys

problems = []
try:
    with open("VERSIONS.json", encoding="utf-8") as f:
        manifest = json.load(f)
except (OSError, ValueError) as error:
    sys.exit(f"vendor-check: cannot read Resources/public/vendor/VERSIONS.json: {error}")

listed = 0
for library in manifest["libraries"]:
    name, folder, files = library["name"], library["folder"], library["files"]
    for path, expected in files.items():
        listed += 1
        try:
            with open(path, "rb") as f:
                actual = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            problems.append(f"{name}: {path} is listed but missing")
            continue
        if actual != expected:
            problems.append(f"{name}: {path} has sha256 {actual}, VERSIONS.json records {expected}")
    for root, _, names in os.walk(folder):
        for file in names:
            path = os.path.join(root, file)
            if file != "copyright" and not file.endswith(".gz") and path not in files:
                problems.append(f"{name}: {path} is shipped but not listed in VERSIONS.json")
    if name == "KaTeX":
        with open(f"{folder}/katex.min.js", encoding="utf-8", errors="replace") as f:
            found = re.search(r'version:"([0-9.]+)"', f.read())
        if not found or found.group(1) != library["version"]:
            problems.append(f"KaTeX: katex.min.js states version {found and found.group(1)}, VERSIONS.json records {library['version']}")

for root, _, names in os.walk("."):
    for file in names:
        if not file.endswith(".gz"):
            continue
        packed, source = os.path.join(root, file), os.path.join(root, file[:-3])
        try:
            with gzip.open(packed) as f:
                unpacked = f.read()
        except (OSError, EOFError) as error:
            problems.append(f"{packed[2:]} does not decompress: {error}")
            continue
        if not os.path.exists(source):
            problems.append(f"{packed[2:]} has no source file")
        elif unpacked != open(source, "rb").read():
            problems.append(f"{packed[2:]} is stale: run scripts/compress-assets.sh")

for problem in problems:
    print(f"vendor-check: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
versions = ", ".join(f"{library['name']} {library['version']}" for library in manifest["libraries"])
print(f"vendor-check: {listed} files match VERSIONS.json ({versions}); .gz siblings are current")
EOF
