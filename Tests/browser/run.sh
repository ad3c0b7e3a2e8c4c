#!/usr/bin/env bash
# Browser test: installs Chromium, chromedriver and Selenium if missing, builds the debug binaries, then drives
# the real backend and frontend (plus a fake OpenAI-compatible provider) in headless Chromium.
# Screenshots go to $ARTEFACTS (default .build/browser-artefacts); one per view is copied to docs/screenshots/.
#
#   Tests/browser/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)
artefacts=${ARTEFACTS:-$root/.build/browser-artefacts}

# Chromium, its driver, and a CJK font so the Chinese screenshots are legible.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! fc-list :lang=zh | grep -q .; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
venv=$root/.build/browser-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import selenium' 2>/dev/null || "$venv/bin/pip" install --quiet selenium

# Built like `swift test` builds (testing enabled), so the test run that follows reuses these objects.
swift build --build-tests
bin=$(swift build --show-bin-path)

rm -rf "$artefacts"
"$venv/bin/python" "$root/Tests/browser/test_ui.py" "$bin" "$artefacts" "${SCREENSHOTS:-$root/docs/screenshots}"
