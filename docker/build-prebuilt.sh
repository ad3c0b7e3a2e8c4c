#!/usr/bin/env bash
# Builds the runtime images from binaries compiled on this machine (docker/Dockerfile, target
# runtime-prebuilt), for machines where a container build cannot fetch Swift packages.
#
#   docker/build-prebuilt.sh                   # both images
#   docker/build-prebuilt.sh aichat-backend    # one image
#
# Environment:
#   ENGINE        podman or docker (default: podman if installed, else docker)
#   IMAGE_PREFIX  image name prefix (default localhost/aichat)
#   TAG           image tag (default dev)
#   SKIP_SWIFT_BUILD=1   use the binaries already in dist/
#   SWIFT_SCRATCH_PATH   SwiftPM build folder (default: SwiftPM's own, .build); a separate one such as
#                 .build-static keeps the static release build apart from the everyday builds
#
# The images are named $IMAGE_PREFIX/<app>:$TAG, which is what compose.yaml runs with
#   AICHAT_REGISTRY=localhost GHCR_OWNER=aichat AICHAT_TAG=dev
# The base image debian:bookworm-slim must be available to the engine (pulled, or made locally).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ENGINE=${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}
IMAGE_PREFIX=${IMAGE_PREFIX:-localhost/aichat}
TAG=${TAG:-dev}
APPS=("$@")
[ "${#APPS[@]}" -gt 0 ] || APPS=(aichat-backend aichat-frontend)

for app in "${APPS[@]}"; do
  case "$app" in
    aichat-backend | aichat-frontend) ;;
    *) echo "unknown image: $app (expected aichat-backend or aichat-frontend)" >&2; exit 2 ;;
  esac
done

swift_args=()
[ -z "${SWIFT_SCRATCH_PATH:-}" ] || swift_args+=(--scratch-path "$SWIFT_SCRATCH_PATH")

mkdir -p dist
if [ "${SKIP_SWIFT_BUILD:-}" != 1 ]; then
  for app in "${APPS[@]}"; do
    swift build -c release --static-swift-stdlib "${swift_args[@]}" --product "$app"
  done
  bin_dir=$(swift build -c release "${swift_args[@]}" --show-bin-path)
  for app in "${APPS[@]}"; do
    install -m 0755 "$bin_dir/$app" "dist/$app"
    strip "dist/$app"
  done
fi

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
format_args=()
# podman's default OCI format has no HEALTHCHECK.
[ "$(basename "$ENGINE")" = podman ] && format_args=(--format docker)

for app in "${APPS[@]}"; do
  [ -x "dist/$app" ] || { echo "dist/$app is missing; run without SKIP_SWIFT_BUILD=1" >&2; exit 1; }
  "$ENGINE" build "${format_args[@]}" \
    -f docker/Dockerfile --target runtime-prebuilt \
    --build-arg "APP=$app" \
    --build-arg "VERSION=$TAG" \
    --build-arg "REVISION=$revision" \
    -t "$IMAGE_PREFIX/$app:$TAG" .
done

for app in "${APPS[@]}"; do
  size=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE_PREFIX/$app:$TAG")
  echo "$IMAGE_PREFIX/$app:$TAG $((size / 1024 / 1024)) MB"
done
