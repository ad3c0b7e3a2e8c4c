#!/bin/bash
# Container entrypoint for the AIChat images.
#
# Runs as root only long enough to make the writable folders usable by the app user, then replaces
# itself with the command (the image's CMD: /app/aichat-backend or /app/aichat-frontend) running as
# uid/gid 1001 with no capabilities. The binary becomes PID 1 and receives SIGTERM directly.
#
# Volumes: a named volume starts out owned by root, and a host folder (bind mount) often belongs to
# another uid. Either is repaired here with chown. When that is impossible (read-only mount, NFS with
# root squash, rootless engine without the uid mapped) the container stops with one line that says
# how to fix it, instead of letting the app crash on its first write.
#
# Started as a non-root user (`docker run --user ...`, `user:` in compose) nothing is changed: the
# folders are only checked for write access.
set -euo pipefail

APP_UID=1001
APP_GID=1001
WRITABLE_DIRS=(/app/data /app/logs)

log() { printf 'aichat-entrypoint: %s\n' "$*" >&2; }

# Exit code 78 (EX_CONFIG): the container is misconfigured, retrying will not help.
fail_dir() {
  local dir=$1 ids=$2 owner
  owner=$(stat -c '%u:%g' "$dir" 2>/dev/null || echo 'unknown')
  log "ERROR: $dir (owner $owner) must be writable by uid:gid $ids and this container cannot fix it." \
      "Fix it on the host: chown -R $ids <the folder or volume mounted at $dir>" \
      "(a named volume: docker run --rm -v <volume>:/v debian:bookworm-slim chown -R $ids /v)" \
      "and mount it read-write."
  exit 78
}

# Prints the first entry under $1 that does not belong to the app user, if any.
foreign_entry() {
  find "$1" \( ! -uid "$APP_UID" -o ! -gid "$APP_GID" \) -print -quit 2>/dev/null || true
}

if [ "$#" -eq 0 ]; then
  log "ERROR: no command given."
  exit 64
fi

if [ "$(id -u)" -ne 0 ]; then
  for dir in "${WRITABLE_DIRS[@]}"; do
    mkdir -p "$dir" 2>/dev/null || true
    if [ ! -d "$dir" ] || [ ! -w "$dir" ] || [ ! -x "$dir" ]; then
      fail_dir "$dir" "$(id -u):$(id -g)"
    fi
  done
  exec "$@"
fi

for dir in "${WRITABLE_DIRS[@]}"; do
  if ! mkdir -p "$dir" 2>/dev/null; then
    fail_dir "$dir" "$APP_UID:$APP_GID"
  fi
  # Anything inside that is not the app user's: a fresh volume (root), files restored by root, a
  # host folder of another user.
  entry=$(foreign_entry "$dir")
  if [ -n "$entry" ]; then
    log "setting owner of $dir to $APP_UID:$APP_GID ($entry belonged to $(stat -c '%u:%g' "$entry"))"
    # -h with -R (physical walk): symbolic links are changed themselves, never followed.
    chown -hR "$APP_UID:$APP_GID" "$dir" 2>/dev/null || true
    if [ -n "$(foreign_entry "$dir")" ]; then
      fail_dir "$dir" "$APP_UID:$APP_GID"
    fi
  fi
  # Check as the app user: root passes every permission test, and a root-squashed or read-only
  # mount can refuse chown without an error worth trusting.
  if ! setpriv --reuid="$APP_UID" --regid="$APP_GID" --clear-groups -- test -w "$dir" -a -x "$dir"; then
    fail_dir "$dir" "$APP_UID:$APP_GID"
  fi
done

export HOME=/app USER=aichat LOGNAME=aichat
exec setpriv --reuid="$APP_UID" --regid="$APP_GID" --init-groups --inh-caps=-all --no-new-privs -- "$@"
