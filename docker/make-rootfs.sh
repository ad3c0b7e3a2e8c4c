#!/bin/bash
# Assembles the root file system of the AIChat runtime images from a Debian system (the `rootfs` stage of
# docker/Dockerfile): only the files the binaries and the entrypoint run with, instead of a whole Debian.
#
#   bash docker/make-rootfs.sh /rootfs
#
# What goes in:
#   * the shared libraries a static-stdlib Swift binary needs (glibc, libstdc++, libgcc_s, zlib), with
#     their own dependencies and an ld.so cache;
#   * the tools the entrypoint, the health checks and someone debugging inside the container use: bash
#     (also /bin/sh), curl, setpriv, find and a few coreutils, each with its libraries;
#   * CA certificates, time zones, the user and group `aichat` (1001), /tmp, /app/data, /app/logs;
#   * the Debian package records (/var/lib/dpkg/status) and copyright files of every package a file was
#     taken from, so that image scanners see the package versions and the licences travel along.
set -euo pipefail

ROOT=${1:?usage: make-rootfs.sh DEST}
APP_UID=1001
APP_GID=1001

TOOLS=(bash curl setpriv ldd find grep sed id env test ls cat head tail wc tr sort date sleep touch mkdir cp mv rm ln
  chmod chown stat du df uname)
# Needed by the Swift binaries but loaded by no tool above; libpthread, libdl, librt and libutil are
# stubs in glibc >= 2.34 and cost a few kilobytes.
LIBS=(libstdc++.so.6 libgcc_s.so.1 libz.so.1 libm.so.6 libc.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libutil.so.1)

declare -A COPIED=()
declare -A ORIGINS=()

# copy_to_root PATH: copies PATH (following symbolic links) to the same place under $ROOT, with the
# folders resolved the way the base resolves them (/lib is /usr/lib on a merged-/usr system).
copy_to_root() {
  local src=$1 dir dest
  dir=$(realpath "$(dirname "$src")")
  dest=$ROOT$dir/$(basename "$src")
  [ -z "${COPIED[$dest]:-}" ] || return 0
  COPIED[$dest]=1
  ORIGINS[$src]=1
  mkdir -p "$ROOT$dir"
  cp -L --preserve=mode,timestamps "$src" "$dest"
}

# copy_with_libraries PATH: PATH and every library ldd lists for it (the dynamic loader included).
copy_with_libraries() {
  local file=$1 lib
  copy_to_root "$file"
  # "name => /path (addr)" or "/path (addr)"; "not a dynamic executable" for scripts.
  while read -r lib; do
    copy_to_root "$lib"
  done < <(ldd "$file" 2>/dev/null | sed -n -e 's/.*=> \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) .*/\1/p')
}

mkdir -p "$ROOT"
# The merged-/usr links of the base (bin -> usr/bin, lib64 -> usr/lib64, ...).
for link in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$link" ]; then ln -sfn "$(readlink "/$link")" "$ROOT/$link"; fi
done

for tool in "${TOOLS[@]}"; do
  path=$(type -P "$tool") || { echo "make-rootfs: $tool is missing in the base" >&2; exit 1; }
  copy_with_libraries "$path"
done
ln -sfn bash "$ROOT/usr/bin/sh"

for lib in "${LIBS[@]}"; do
  path=$(ldconfig -p | awk -v name="$lib" '$1 == name { print $NF; exit }')
  [ -n "$path" ] || { echo "make-rootfs: $lib is missing in the base" >&2; exit 1; }
  copy_with_libraries "$path"
done

# Configuration and data files, symbolic links kept.
mkdir -p "$ROOT/etc" "$ROOT/usr/share"
cp -a /etc/ssl "$ROOT/etc/"
cp -a /usr/share/ca-certificates "$ROOT/usr/share/"
ORIGINS[/etc/ssl/certs/ca-certificates.crt]=1
if [ -d /usr/share/zoneinfo ]; then
  cp -a /usr/share/zoneinfo "$ROOT/usr/share/"
  ORIGINS[/usr/share/zoneinfo/UTC]=1
fi
cp -a /etc/nsswitch.conf /etc/host.conf /etc/os-release /etc/ld.so.conf /etc/ld.so.conf.d "$ROOT/etc/"
if [ -e /usr/lib/os-release ]; then
  mkdir -p "$ROOT/usr/lib"
  cp -a /usr/lib/os-release "$ROOT/usr/lib/"
fi
ln -sfn /usr/share/zoneinfo/Etc/UTC "$ROOT/etc/localtime"

cat >"$ROOT/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/bash
aichat:x:$APP_UID:$APP_GID:AIChat:/app:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<EOF
root:x:0:
aichat:x:$APP_GID:
nogroup:x:65534:
EOF
chmod 0644 "$ROOT/etc/passwd" "$ROOT/etc/group"
mkdir -p "$ROOT/root" "$ROOT/tmp" "$ROOT/var/tmp" "$ROOT/app/data" "$ROOT/app/logs"
chmod 0700 "$ROOT/root"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
chown "$APP_UID:$APP_GID" "$ROOT/app/data" "$ROOT/app/logs"

ldconfig -r "$ROOT"

# Package records and licences of everything taken from the base.
# dpkg records some files under /lib or /bin and others under /usr: each path is looked up in every form.
# (awk reads all of dpkg-query's output: a reader that stops early, such as `head`, can end dpkg-query with SIGPIPE,
# which pipefail turns into a failed build.)
owner_of() {
  local path=$1 real candidate owner
  real=$(realpath "$path")
  for candidate in "$path" "$real" "${path#/usr}" "/usr$path" "${real#/usr}"; do
    owner=$(dpkg-query -S "$candidate" 2>/dev/null | awk '!/^diversion/ && !found { sub(/: \/.*/, ""); print; found = 1 }') || true
    if [ -n "$owner" ]; then
      echo "$owner"
      return 0
    fi
  done
  return 0
}
packages=()
for path in "${!ORIGINS[@]}"; do
  owner=$(owner_of "$path")
  [ -n "$owner" ] && packages+=("$owner")
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | tr ',' '\n' | tr -d ' ' | sed 's/:.*//' | grep -v '^$' | sort -u)
mkdir -p "$ROOT/var/lib/dpkg" "$ROOT/usr/share/doc"
dpkg-query -s "${packages[@]}" >"$ROOT/var/lib/dpkg/status"
for pkg in "${packages[@]}"; do
  if [ -f "/usr/share/doc/$pkg/copyright" ]; then
    mkdir -p "$ROOT/usr/share/doc/$pkg"
    cp -a "/usr/share/doc/$pkg/copyright" "$ROOT/usr/share/doc/$pkg/"
  fi
done
echo "make-rootfs: $(du -sh "$ROOT" | cut -f1) in $ROOT, from ${#packages[@]} packages: ${packages[*]}"
