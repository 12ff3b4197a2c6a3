#!/usr/bin/env bash
# Builds the project's image without Docker and imports it into the node's containerd.
# Two layers, each cached under PHOTOSTORE_CACHE/image:
#   base: a Debian 12 rootfs (mmdebstrap) with python3.11, the user 10001 and /opt/venv
#         synced from requirements.lock exactly as the Dockerfile does (pip installs uv, uv
#         syncs the lock); keyed by the lock, image.json and BASE_RECIPE. Cold: minutes.
#   app:  the photostore package installed into /opt/venv's site-packages; keyed by the
#         sources, rebuilt in about a second.
# image.json holds what the Dockerfile also says (user, env, entrypoint, cmd, packages);
# tests/unit/environment/test_node_image.py keeps the two in step.
# Usage: build-image.sh [--no-import]   (prints the image reference)
source "$(dirname "$0")/../common.sh"
NODE_ENV_DIR="$ENV_DIR/node"
IMAGE_JSON="$NODE_ENV_DIR/image.json"
CACHE="$PHOTOSTORE_CACHE/image"
mkdir -p "$CACHE" "$LOG_DIR"
# One build at a time; a second caller finds the layers built.
exec 7>"$CACHE/build.lock"
flock 7

jget() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(" ".join(v) if isinstance(v, list) else v)' "$IMAGE_JSON" "$1"; }
ref="$(jget repository):$(jget tag)"

# Raise BASE_RECIPE when build_base changes what it puts in the rootfs.
BASE_RECIPE=1
base_key=$( { echo "$BASE_RECIPE"; grep -o '"uv==[0-9.]*"' "$REPO_ROOT/Dockerfile"; cat "$REPO_ROOT/requirements.lock" "$IMAGE_JSON"; } | sha256sum | cut -c1-16)
app_key=$(cd "$REPO_ROOT" && { cat pyproject.toml; find photostore -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)
base_tar="$CACHE/base-$base_key.tar"
app_tar="$CACHE/app-$app_key.tar"
archive="$CACHE/photostore-$base_key-$app_key.tar"

build_base() {
  [[ -f "$base_tar" ]] && return
  local rootfs="$CACHE/rootfs-$base_key" started=$SECONDS
  # A build that died part-way leaves its rootfs; never one with anything mounted in it.
  grep -q " $CACHE/rootfs-" /proc/self/mountinfo || rm -rf "$CACHE"/rootfs-*
  log "building the image's base layer $base_key (cold: minutes)"
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  local mounted=()
  # shellcheck disable=SC2317  # called by the trap
  unmount_all() { local m; for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
  trap unmount_all EXIT
  mmdebstrap --quiet --mode=root --variant=minbase --include="$(jget packages | tr ' ' ,)" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    "$(jget suite)" "$rootfs" http://deb.debian.org/debian >>"$LOG_DIR/image-build.log" 2>&1 \
    || die "mmdebstrap failed (log: $LOG_DIR/image-build.log)"
  log "rootfs in $((SECONDS - started))s"
  mkdir -p "$CACHE/uv-cache" "$rootfs/tmp/uv-cache" "$rootfs/tmp/src"
  for m in proc dev; do mount --bind "/$m" "$rootfs/$m"; mounted+=("$rootfs/$m"); done
  mount --bind "$CACHE/uv-cache" "$rootfs/tmp/uv-cache"; mounted+=("$rootfs/tmp/uv-cache")
  cp "$REPO_ROOT/requirements.lock" "$rootfs/tmp/src/"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  # The host's CA bundle: it may trust a TLS-inspecting proxy in front of PyPI.
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$rootfs/tmp/src/ca.crt"
  local uv_version; uv_version=$(sed -n 's/.*"uv==\([0-9.]*\)".*/\1/p' "$REPO_ROOT/Dockerfile")
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    UV_CACHE_DIR=/tmp/uv-cache UV_LINK_MODE=copy \
    PIP_CERT=/tmp/src/ca.crt SSL_CERT_FILE=/tmp/src/ca.crt ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL UV_INDEX_URL=$PIP_INDEX_URL} \
    /bin/sh -ec "
      python3.11 -m venv /opt/venv
      /opt/venv/bin/pip install -q --no-cache-dir --disable-pip-version-check 'uv==$uv_version'
      /opt/venv/bin/uv pip sync -q --python /opt/venv/bin/python /tmp/src/requirements.lock
    " >>"$LOG_DIR/image-build.log" 2>&1 || die "installing requirements.lock failed (log: $LOG_DIR/image-build.log)"
  unmount_all; mounted=(); trap - EXIT
  # The Dockerfile's `useradd --uid 10001 --no-create-home photostore`, without running it.
  local uid; uid=$(jget user)
  echo "$(jget user_name):x:$uid:$uid::/nonexistent:/usr/sbin/nologin" >>"$rootfs/etc/passwd"
  echo "$(jget user_name):x:$uid:" >>"$rootfs/etc/group"
  echo "$(jget user_name):!:20000::::::" >>"$rootfs/etc/shadow"
  : >"$rootfs/etc/resolv.conf"
  rm -rf "$rootfs"/tmp/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*
  find "$rootfs/opt/venv" -name __pycache__ -type d -prune -exec rm -rf {} +
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$rootfs"
  log "base layer built in $((SECONDS - started))s: $(du -h "$base_tar" | cut -f1)"
}

build_app() {
  [[ -f "$app_tar" ]] && return
  local stage; stage=$(mktemp -d)
  local site="$stage/opt/venv/lib/python3.11/site-packages"
  mkdir -p "$site"
  (cd "$REPO_ROOT" && find photostore -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
    | xargs -0 cp --parents -t "$site")
  local version; version=$(python3 -c 'import sys,tomllib; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$REPO_ROOT/pyproject.toml")
  local info="$site/photostore-$version.dist-info"
  mkdir -p "$info"
  printf 'Metadata-Version: 2.1\nName: photostore\nVersion: %s\n' "$version" >"$info/METADATA"
  echo build-image.sh >"$info/INSTALLER"
  (cd "$site" && find photostore "photostore-$version.dist-info" -type f | sort \
    | while read -r f; do echo "$f,,"; done >"$info/RECORD")
  tar --numeric-owner --owner=0 --group=0 --mode=go-w -C "$stage" -cf "$app_tar.tmp" opt
  mv "$app_tar.tmp" "$app_tar"
  rm -rf "$stage"
}

build_base
build_app
if [[ ! -f "$archive" ]]; then
  python3 "$NODE_ENV_DIR/oci_archive.py" --config "$IMAGE_JSON" --out "$archive.tmp" "$base_tar" "$app_tar"
  mv "$archive.tmp" "$archive"
  # Only the newest archive and package layer are kept; base layers stay, one per lock.
  find "$CACHE" -maxdepth 1 -name 'photostore-*.tar' ! -name "$(basename "$archive")" -delete
  find "$CACHE" -maxdepth 1 -name 'app-*.tar*' ! -name "$(basename "$app_tar")*" -delete
fi
if [[ "${1:-}" != "--no-import" ]]; then
  stamp="$DATA_DIR/containerd/photostore-image.stamp"
  sock="$RUN_DIR/containerd/containerd.sock"
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$base_key-$app_key" ]] \
      || ! grep -qx "$ref" <(ctr -a "$sock" -n k8s.io images ls -q); then
    log "importing $ref into containerd"
    ctr -a "$sock" -n k8s.io images import "$archive" >/dev/null
    echo "$base_key-$app_key" >"$stamp"
  fi
fi
echo "$ref"
