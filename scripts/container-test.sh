#!/usr/bin/env bash
# Container test: builds both runtime images from statically linked release binaries
# (docker/build-prebuilt.sh, target runtime-prebuilt), runs the project's compose.yaml with podman and
# podman-compose, and checks the deployment end to end:
#
#   * image sizes (budget MAX_IMAGE_MB each) and what the binaries link;
#   * time from container start to healthy for both services (budget MAX_HEALTHY_MS);
#   * through the frontend's port: the first registered user becomes admin, a system connection to a fake
#     OpenAI-compatible provider (Tests/container/fake_provider.py on the host), a session, a streamed answer;
#   * the backend stops on SIGTERM (`podman stop`, timed) and after it starts again the session, both
#     messages and the issued token are still valid;
#   * the entrypoint repairs a data volume that belongs to another uid;
#   * a database in the original project's format (scripts/fixtures/make_original_db.py) opens in the
#     backend container: its users log in, their sessions and stored API key are readable.
#
#   scripts/container-test.sh                  # build everything, then test
#   scripts/container-test.sh --skip-build     # reuse the binaries in dist/ (images are still rebuilt)
#   scripts/container-test.sh --remove-images  # also remove the test images at the end
#
# Runs as root on Debian 12 with the Debian apt mirror and PyPI reachable; no container registry is needed.
# Installs what is missing with apt (podman, buildah, runc, debootstrap, ...) and podman-compose from PyPI
# into a virtual environment. Swift 6.3 must be on PATH unless --skip-build is given.
#
# All container engine state (images, containers, volumes, networks) lives under $AICHAT_CT_DIR, apart
# from any other podman set-up on the machine. The base image debian:bookworm-slim is made there from the
# apt mirror with debootstrap; its root file system is kept between runs. The swift build uses its own
# SwiftPM folder ($SWIFT_SCRATCH_PATH), never .build.
#
# Environment:
#   AICHAT_CT_DIR         scratch folder (default /var/tmp/aichat-container-test)
#   SWIFT_SCRATCH_PATH    SwiftPM build folder of the static release build (default .build-static)
#   AICHAT_TAG            tag of the test images localhost/aichat/<app> (default dev)
#   BACKEND_PORT          host port of the backend (default 13556)
#   FRONTEND_PORT         host port of the frontend (default 13555)
#   MAX_IMAGE_MB          size budget of each image in MB, uncompressed (default 150)
#   MAX_HEALTHY_MS        budget from container start to healthy in milliseconds (default 1000)
#   ENFORCE_BUDGETS=0     report the budgets without failing the run
#
# Exits 0 when every check passed and the budgets were met; otherwise prints the failure, the containers'
# logs, and exits 1. The containers, volumes and network are removed in every case.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

CT=${AICHAT_CT_DIR:-/var/tmp/aichat-container-test}
export SWIFT_SCRATCH_PATH=${SWIFT_SCRATCH_PATH:-.build-static}
TAG=${AICHAT_TAG:-dev}
HOST_BACKEND_PORT=${BACKEND_PORT:-13556}
HOST_FRONTEND_PORT=${FRONTEND_PORT:-13555}
MAX_IMAGE_MB=${MAX_IMAGE_MB:-150}
MAX_HEALTHY_MS=${MAX_HEALTHY_MS:-1000}
ENFORCE_BUDGETS=${ENFORCE_BUDGETS:-1}
PODMAN_COMPOSE_VERSION=1.6.0

IMAGE_PREFIX=localhost/aichat
BASE_IMAGE=docker.io/library/debian:bookworm-slim
PROJECT=aichat
# Names fixed by compose.yaml.
BACKEND=ai-chat-web-ui-backend
FRONTEND=ai-chat-web-ui-frontend
DATA_VOLUME=ai_chat_web_ui_db_data
LOGS_VOLUME=ai_chat_web_ui_logs
NETWORK=ai_chat_web_ui_network
APP_UID=1001

SKIP_BUILD=0
REMOVE_IMAGES=0
for arg in "$@"; do
  case "$arg" in
    --skip-build) SKIP_BUILD=1 ;;
    --remove-images) REMOVE_IMAGES=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
  esac
done

T_START=$SECONDS
WORK=$CT/work
PROVIDER_PID=""
PASSED=()
SUMMARY=()
OVER_BUDGET=()
BUDGETS_MISSED=0

step() { printf '\n== %s\n' "$*"; }
pass() { printf '  ok  %s\n' "$*"; PASSED+=("$*"); }
note() { printf '      %s\n' "$*"; }
fail() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }
now_ns() { date +%s%N; }
ms_between() { echo $((($2 - $1) / 1000000)); }

# ------------------------------------------------------------------------------------------------ cleanup
show_logs() {
  local ctr
  for ctr in "$BACKEND" "$FRONTEND"; do
    if podman container exists "$ctr" 2>/dev/null; then
      printf '\n---- podman logs %s (last 60 lines; state %s)\n' "$ctr" \
        "$(podman inspect -f '{{.State.Status}} exit={{.State.ExitCode}}' "$ctr" 2>/dev/null)" >&2
      podman logs --tail 60 "$ctr" >&2 2>&1 || true
    fi
  done
  if [ -s "$WORK/provider.log" ]; then
    printf '\n---- fake provider\n' >&2
    tail -n 20 "$WORK/provider.log" >&2
  fi
}

remove_stack() {
  podman rm -f -t 2 "$FRONTEND" "$BACKEND" >/dev/null 2>&1 || true
  podman volume rm -f "$DATA_VOLUME" "$LOGS_VOLUME" >/dev/null 2>&1 || true
  podman network rm -f "$NETWORK" >/dev/null 2>&1 || true
}

on_exit() {
  local rc=$1
  set +e
  if [ "$rc" -ne 0 ] && [ "$BUDGETS_MISSED" = 0 ] && [ -n "${CONTAINERS_CONF:-}" ]; then
    show_logs
  fi
  [ -n "$PROVIDER_PID" ] && kill "$PROVIDER_PID" 2>/dev/null
  if [ -n "${CONTAINERS_CONF:-}" ]; then
    remove_stack
    if [ "$REMOVE_IMAGES" = 1 ]; then
      podman rmi -f "$IMAGE_PREFIX/aichat-backend:$TAG" "$IMAGE_PREFIX/aichat-frontend:$TAG" >/dev/null 2>&1
    fi
  fi
  if [ "$rc" -ne 0 ]; then
    printf '\ncontainer test FAILED after %ds (exit %d)\n' "$((SECONDS - T_START))" "$rc" >&2
  fi
}
trap 'on_exit $?' EXIT

# ------------------------------------------------------------------------------------------------ host set-up
[ "$(id -u)" -eq 0 ] || fail "run as root (podman with netavark and volume ownership checks need it)"

step "host packages"
PACKAGES=(podman buildah runc conmon netavark aardvark-dns slirp4netns fuse-overlayfs uidmap iptables
  debootstrap curl ca-certificates binutils python3 python3-venv python3-bcrypt python3-cryptography)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pass "host packages present ($(podman --version))"
if [ "$SKIP_BUILD" = 0 ]; then
  command -v swift >/dev/null 2>&1 || fail "swift is not on PATH (install Swift 6.3, or use --skip-build with binaries in dist/)"
fi

step "container engine (state in $CT)"
rm -rf "$WORK"
mkdir -p "$CT/networks" "$CT/libpod-tmp" "$WORK"
# The host's own podman configuration and storage stay untouched: everything is under $CT.
cat >"$CT/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CT/storage"
runroot = "$CT/runroot"
EOF
# runc: crun refuses hybrid cgroup v1/v2 hosts. Limits no higher than this process may set (podman's
# defaults exceed them where CAP_SYS_RESOURCE is missing). cgroupfs and file events: no systemd needed.
cat >"$CT/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$CT/libpod-tmp"

[network]
network_backend = "netavark"
network_config_dir = "$CT/networks"
EOF
export CONTAINERS_STORAGE_CONF=$CT/storage.conf CONTAINERS_CONF=$CT/containers.conf
podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}}' >/dev/null
pass "podman configured: runtime runc, storage $CT/storage"

if [ ! -x "$CT/venv/bin/podman-compose" ]; then
  python3 -m venv "$CT/venv"
  "$CT/venv/bin/pip" install -q --disable-pip-version-check "podman-compose==$PODMAN_COMPOSE_VERSION"
fi
pass "podman-compose $("$CT/venv/bin/podman-compose" --version 2>/dev/null | awk '/podman-compose/ {print $NF; exit}')"

step "base image $BASE_IMAGE (debootstrap, minbase)"
# The first Debian archive URI in the host's apt sources (either format).
apt_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/\[[^]]*\]//' | awk '$1 == "URIs:" || $1 == "deb" { print $2 }' | grep -v security | grep -m 1 '/debian/\?$' || true
}
make_rootfs() {
  local rootfs=$CT/rootfs mirror
  mirror=$(apt_mirror)
  [ -n "$mirror" ] || fail "no Debian mirror found in the apt sources"
  rm -rf "$rootfs.tmp"
  echo "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
  # What the official slim image does: no documentation, manual pages or translations from dpkg (copyright
  # files stay), no .deb files or apt caches left behind.
  cat >"$rootfs.tmp/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  cat >"$rootfs.tmp/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'APT::Install-Recommends "false";\nAPT::AutoRemove::SuggestsImportant "false";\n' \
    >"$rootfs.tmp/etc/apt/apt.conf.d/docker-autoremove-suggests"
  printf 'Acquire::Languages "none";\n' >"$rootfs.tmp/etc/apt/apt.conf.d/docker-no-languages"
  find "$rootfs.tmp/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs.tmp/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs.tmp/usr/share/"{man,info,groff,linda,lintian/overrides,locale}/* \
    "$rootfs.tmp/var/cache/apt/"*.bin "$rootfs.tmp/var/cache/apt/archives/"*.deb "$rootfs.tmp/var/lib/apt/lists/"* \
    "$rootfs.tmp/var/log/"*.log "$rootfs.tmp/var/log/apt/"* "$rootfs.tmp/var/cache/debconf/"*-old
  # The same sources as the official image: the release, its updates and security updates.
  rm -f "$rootfs.tmp/etc/apt/sources.list"
  cat >"$rootfs.tmp/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  : >"$rootfs.tmp/etc/resolv.conf"
  : >"$rootfs.tmp/etc/hostname"
  mv "$rootfs.tmp" "$rootfs"
}
if podman image exists "$BASE_IMAGE"; then
  pass "base image present"
else
  [ -d "$CT/rootfs/etc/apt" ] || make_rootfs
  tar -C "$CT/rootfs" --numeric-owner -c . |
    podman import --quiet --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  pass "base image imported from $CT/rootfs"
fi
base_size=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")

# ------------------------------------------------------------------------------------------------ images
step "static release binaries and images (docker/build-prebuilt.sh)"
t=$SECONDS
if [ "$SKIP_BUILD" = 1 ]; then
  SKIP_SWIFT_BUILD=1 ENGINE=podman IMAGE_PREFIX=$IMAGE_PREFIX TAG=$TAG docker/build-prebuilt.sh >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" >&2; fail "docker/build-prebuilt.sh failed (log: $WORK/build.log)"; }
else
  echo "swift build -c release --static-swift-stdlib --scratch-path $SWIFT_SCRATCH_PATH (a clean build takes a while; log: $WORK/build.log)"
  ENGINE=podman IMAGE_PREFIX=$IMAGE_PREFIX TAG=$TAG docker/build-prebuilt.sh >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" >&2; fail "docker/build-prebuilt.sh failed (log: $WORK/build.log)"; }
fi
pass "images built in $((SECONDS - t))s"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }
note "base $BASE_IMAGE: $(mb "$base_size") MB"
for app in aichat-backend aichat-frontend; do
  bin=dist/$app
  size=$(podman image inspect --format '{{.Size}}' "$IMAGE_PREFIX/$app:$TAG")
  bin_size=$(stat -c %s "$bin")
  needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  # ICU's data table is only linked in with FoundationInternationalization (swift-foundation-icu).
  if grep -aq 'icudt[0-9]*l' "$bin"; then icu="ICU data linked in"; else icu="no ICU data"; fi
  note "$app: image $(mb "$size") MB; binary $(mb "$bin_size") MB stripped, $icu; needs: $needed"
  SUMMARY+=("image $IMAGE_PREFIX/$app:$TAG  $(mb "$size") MB (binary $(mb "$bin_size") MB, $icu)")
  if [ "$size" -gt $((MAX_IMAGE_MB * 1000000)) ]; then
    OVER_BUDGET+=("$app image $(mb "$size") MB > $MAX_IMAGE_MB MB")
  else
    pass "$app image $(mb "$size") MB <= $MAX_IMAGE_MB MB"
  fi
done

# ------------------------------------------------------------------------------------------------ stack
# Only what is set here reaches compose.yaml: no .env file, no variables of the calling shell.
while read -r var; do unset "$var"; done < <(grep -v '^[[:space:]]*#' compose.yaml | grep -oE '\$\{[A-Za-z_][A-Za-z0-9_]*' | cut -c3- | sort -u)
export AICHAT_REGISTRY=localhost GHCR_OWNER=aichat AICHAT_TAG=$TAG BACKEND_PORT=$HOST_BACKEND_PORT FRONTEND_PORT=$HOST_FRONTEND_PORT
: >"$WORK/empty.env"
compose() {
  "$CT/venv/bin/podman-compose" --project-name "$PROJECT" --env-file "$WORK/empty.env" -f "$ROOT/compose.yaml" "$@" \
    >>"$WORK/compose.log" 2>&1 || { tail -n 20 "$WORK/compose.log" >&2; fail "podman-compose $* failed"; }
}

# wait_healthy CONTAINER PORT PATH: polls the health endpoint through the published port from before the
# container starts (run in the background ahead of `up`/`start`), then confirms with the image's own health
# check. Sets HEALTHY_MS to the time from the container's start to its first healthy answer.
start_poller() {
  local port=$1 path=$2 out=$3
  rm -f "$out"
  (
    end=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$end" ]; do
      if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port$path" 2>/dev/null; then
        now_ns >"$out.tmp" && mv "$out.tmp" "$out"
        exit 0
      fi
      sleep 0.01
    done
  ) &
  POLLER_PID=$!
}
wait_healthy() {
  local ctr=$1 out=$2 started ready state
  while kill -0 "$POLLER_PID" 2>/dev/null; do
    state=$(podman inspect -f '{{.State.Status}}' "$ctr" 2>/dev/null || echo missing)
    case "$state" in
      exited | stopped | dead) kill "$POLLER_PID" 2>/dev/null; fail "$ctr stopped before it became healthy" ;;
    esac
    sleep 1
  done
  wait "$POLLER_PID" || true
  if [ ! -s "$out" ]; then
    fail "$ctr did not answer its health check within 60 s"
  fi
  ready=$(cat "$out")
  started=$(podman inspect -f '{{.State.StartedAt.UnixNano}}' "$ctr")
  HEALTHY_MS=$(ms_between "$started" "$ready")
  podman healthcheck run "$ctr" >/dev/null 2>&1 || fail "podman healthcheck run $ctr failed although the endpoint answers"
  [ "$(podman inspect -f '{{.State.Health.Status}}' "$ctr")" = healthy ] || fail "$ctr is not reported healthy"
}
record_healthy() {
  local label=$1
  SUMMARY+=("start to healthy, $label: $HEALTHY_MS ms")
  if [ "$HEALTHY_MS" -gt "$MAX_HEALTHY_MS" ]; then
    OVER_BUDGET+=("$label: start to healthy $HEALTHY_MS ms > $MAX_HEALTHY_MS ms")
    note "$label: start to healthy $HEALTHY_MS ms (over the $MAX_HEALTHY_MS ms budget)"
  else
    pass "$label: start to healthy $HEALTHY_MS ms"
  fi
}

step "compose stack (compose.yaml, ports $HOST_FRONTEND_PORT and $HOST_BACKEND_PORT)"
remove_stack
for port in "$HOST_BACKEND_PORT" "$HOST_FRONTEND_PORT"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then fail "port $port is in use; set BACKEND_PORT / FRONTEND_PORT"; fi
done
: >"$WORK/compose.log"

# A data volume left by another uid (another host, a restore as root): the entrypoint must take it over.
podman volume create "$DATA_VOLUME" >/dev/null
data_dir=$(podman volume inspect -f '{{.Mountpoint}}' "$DATA_VOLUME")
mkdir -p "$data_dir/restored"
touch "$data_dir/restored/notes.txt"
chown -R 4242:4242 "$data_dir"

start_poller "$HOST_BACKEND_PORT" /api/settings/health "$WORK/backend.ready"
compose up -d --no-deps backend
wait_healthy "$BACKEND" "$WORK/backend.ready"
record_healthy "backend (first start)"
# grep reads the whole log (no -q): with pipefail, an early exit would fail the pipeline on SIGPIPE.
if ! podman logs "$BACKEND" 2>&1 | grep 'setting owner of /app/data to 1001:1001' >/dev/null; then
  fail "the entrypoint did not report repairing the data volume"
fi
foreign=$(find "$data_dir" \( ! -uid "$APP_UID" -o ! -gid "$APP_UID" \) -print -quit)
[ -z "$foreign" ] || fail "$foreign in the data volume is not owned by $APP_UID:$APP_UID after start"
[ -f "$data_dir/app.db" ] || fail "the backend did not create app.db in the data volume"
pass "entrypoint repaired a data volume owned by 4242:4242; app.db created by uid $(stat -c %u "$data_dir/app.db")"

# podman 4.3 ignores `condition: service_healthy`: the frontend is started once the backend is healthy.
start_poller "$HOST_FRONTEND_PORT" /api/health "$WORK/frontend.ready"
compose up -d --no-deps frontend
wait_healthy "$FRONTEND" "$WORK/frontend.ready"
record_healthy "frontend"

step "health checks of the original's compose file"
# Backend: node -e with an HTTP GET that expects 200; frontend: curl -f.
node_check="require('http').get('http://localhost:8001/api/settings/health', (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"
podman exec "$BACKEND" node -e "$node_check" || fail "the original's backend health check (node -e) failed"
if podman exec "$BACKEND" node -e "${node_check/settings\/health/no-such-path}"; then
  fail "the node -e health check passed for a path that answers 404"
fi
podman exec "$FRONTEND" curl -f -s -o /dev/null http://localhost:3000/api/health || fail "the original's frontend health check (curl -f) failed"
pass "node -e (backend) and curl -f (frontend) health checks of the original answer as there"

step "chat through the frontend (fake provider on the host)"
gateway=$(podman network inspect -f '{{range .Subnets}}{{.Gateway}} {{end}}' "$NETWORK" | awk '{print $1}')
[ -n "$gateway" ] || fail "no gateway address on network $NETWORK"
rm -f "$WORK/provider.port"
python3 Tests/container/fake_provider.py "$gateway" "$WORK/provider.port" >"$WORK/provider.log" 2>&1 &
PROVIDER_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/provider.port" ] && break; sleep 0.05; done
[ -s "$WORK/provider.port" ] || fail "the fake provider did not start"
provider_url="http://$gateway:$(cat "$WORK/provider.port")/v1"
podman exec "$BACKEND" curl -fsS -o /dev/null --max-time 5 "$provider_url/models" ||
  fail "the backend container cannot reach the fake provider at $provider_url (firewall?)"
pass "fake provider at $provider_url, reachable from the backend container"
python3 Tests/container/stack_check.py chat "http://127.0.0.1:$HOST_FRONTEND_PORT" "$provider_url" "$WORK/state.json" ||
  fail "chat through the frontend"
PASSED+=("register admin, system connection, session, streamed chat through the frontend")

step "SIGTERM and restart of the backend"
# podman-compose applies stop_grace_period only to its own stop/down, so it is given to podman stop here.
grace=$(sed -n 's/^ *stop_grace_period: *\([0-9]*\)s.*/\1/p' compose.yaml | head -n 1)
grace=${grace:-30}
t0=$(now_ns)
podman stop -t "$grace" "$BACKEND" >/dev/null 2>>"$WORK/podman.log"
STOP_MS=$(ms_between "$t0" "$(now_ns)")
exit_code=$(podman inspect -f '{{.State.ExitCode}}' "$BACKEND")
[ "$STOP_MS" -lt $((grace * 1000)) ] || fail "the backend needed the whole grace period ($grace s) and was killed"
[ "$exit_code" = 0 ] || fail "the backend exited with $exit_code on SIGTERM"
pass "backend stopped on SIGTERM in $STOP_MS ms, exit code 0 (grace period $grace s)"
SUMMARY+=("backend stop (SIGTERM): $STOP_MS ms, exit $exit_code")

start_poller "$HOST_BACKEND_PORT" /api/settings/health "$WORK/backend.ready"
podman start "$BACKEND" >/dev/null 2>>"$WORK/podman.log"
wait_healthy "$BACKEND" "$WORK/backend.ready"
record_healthy "backend (restart)"
python3 Tests/container/stack_check.py history "http://127.0.0.1:$HOST_FRONTEND_PORT" "$WORK/state.json" ||
  fail "data after the restart"
PASSED+=("session, messages and token kept across the backend restart")

step "database of the original project"
kill "$PROVIDER_PID" 2>/dev/null || true
PROVIDER_PID=""
compose down -t 10
podman volume rm -f "$DATA_VOLUME" >/dev/null
/usr/bin/python3 scripts/fixtures/make_original_db.py "$WORK/original.db" >"$WORK/fixture.log" 2>&1 ||
  { cat "$WORK/fixture.log" >&2; fail "scripts/fixtures/make_original_db.py failed"; }
podman volume create "$DATA_VOLUME" >/dev/null
data_dir=$(podman volume inspect -f '{{.Mountpoint}}' "$DATA_VOLUME")
# Copied in by root, as an operator restoring a backup would.
install -m 0644 -o root -g root "$WORK/original.db" "$data_dir/app.db"
start_poller "$HOST_BACKEND_PORT" /api/settings/health "$WORK/backend.ready"
compose up -d --no-deps backend
wait_healthy "$BACKEND" "$WORK/backend.ready"
record_healthy "backend (original database)"
[ "$(stat -c %u "$data_dir/app.db")" = "$APP_UID" ] || fail "app.db copied in by root was not handed to uid $APP_UID"
python3 Tests/container/stack_check.py original "http://127.0.0.1:$HOST_BACKEND_PORT" || fail "original database"
PASSED+=("original-format database opens, users log in, data and API key readable")
compose down -t 10

# ------------------------------------------------------------------------------------------------ summary
step "summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo "  checks passed: ${#PASSED[@]}"
echo "  total time: $((SECONDS - T_START)) s"
if [ "${#OVER_BUDGET[@]}" -gt 0 ]; then
  for line in "${OVER_BUDGET[@]}"; do echo "  OVER BUDGET: $line"; done
  if [ "$ENFORCE_BUDGETS" = 1 ]; then
    BUDGETS_MISSED=1
    echo "container test: all checks passed, ${#OVER_BUDGET[@]} budget(s) missed (ENFORCE_BUDGETS=0 to report only)" >&2
    exit 1
  fi
fi
echo "container test passed"
