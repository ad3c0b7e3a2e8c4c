#!/usr/bin/env bash
# Builds both servers and runs them together: the backend on 8001 (SQLite in ./data, secrets generated on
# first start) and the frontend on 3000, which proxies /api to the backend. Ctrl-C stops both.
#
#   ./scripts/start.sh            release build (first build takes a while)
#   BUILD=debug ./scripts/start.sh
#
# Settings come from the environment or a .env file in the repository root (see .env.example).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

configuration=${BUILD:-release}
swift build -c "$configuration"
bin=$(swift build -c "$configuration" --show-bin-path)

backend_port=${BACKEND_PORT:-8001}
frontend_port=${FRONTEND_PORT:-3000}

PORT=$backend_port "$bin/aichat-backend" &
backend=$!
PORT=$frontend_port BACKEND_HOST=${BACKEND_HOST:-127.0.0.1} BACKEND_INTERNAL_PORT=$backend_port "$bin/aichat-frontend" &
frontend=$!
trap 'kill -TERM $backend $frontend 2>/dev/null; wait' INT TERM EXIT

echo "AIChat: open http://localhost:$frontend_port (API on http://localhost:$backend_port/api)"
wait -n $backend $frontend
