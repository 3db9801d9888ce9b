#!/usr/bin/env bash
# Sourced by images/*/build.sh: the inputs image builds share, from one place.
#   busybox_binary        the statically linked busybox (Debian's busybox-static, installed when missing)
#   node_binary           the project's Node 24 binary (the `node` devDependency)
#   copy_with_libs BIN ROOTFS DEST   BIN at ROOTFS/DEST plus the shared libraries `ldd` lists
#   inputs_hash FILE...   a short hash of the files' contents (the image's mlops.dev/inputs-hash)
#   image_hash TAG        the mlops.dev/inputs-hash label of an existing image, or nothing
_image_inputs_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_image_inputs_root=$(cd "$_image_inputs_lib/../.." && pwd)

busybox_binary() {
  "$_image_inputs_lib/ensure-deb.sh" busybox-static
  echo /bin/busybox
}

node_binary() {
  local node
  node=$(readlink -f "$_image_inputs_root/node_modules/.bin/node" 2>/dev/null || true)
  if [ -z "$node" ] || [ ! -x "$node" ]; then
    echo "image-inputs: $_image_inputs_root/node_modules/.bin/node is missing; run npm ci" >&2
    return 1
  fi
  echo "$node"
}

shared_libs() {
  { ldd "$1" 2>/dev/null || true; } | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }' | sort -u
}

copy_with_libs() {
  local bin=$1 rootfs=$2 dest=$3 lib
  mkdir -p "$rootfs$(dirname "$dest")"
  cp "$bin" "$rootfs$dest"
  for lib in $(shared_libs "$bin"); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}

inputs_hash() {
  local file lib
  {
    for file in "$@"; do
      cat "$file"
      for lib in $(shared_libs "$file"); do cat "$(readlink -f "$lib")"; done
    done
  } | sha256sum | cut -c1-16
}

image_hash() {
  docker image inspect -f '{{ index .Config.Labels "mlops.dev/inputs-hash" }}' "$1" 2>/dev/null || true
}
