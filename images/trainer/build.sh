#!/usr/bin/env bash
# Builds mlops-operator/trainer:dev from this directory and Debian's busybox-static (installed when
# missing). Skips the build when the image's mlops.dev/inputs-hash label matches the inputs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${TRAINER_IMAGE:-mlops-operator/trainer:dev}
busybox=/bin/busybox
if [ ! -x "$busybox" ] || ! (ldd "$busybox" 2>&1 || true) | grep -q "not a dynamic executable"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "trainer: a statically linked $busybox is needed (Debian: apt-get install busybox-static)" >&2
    exit 1
  fi
  echo "trainer: installing busybox-static" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq busybox-static >/dev/null
fi
hash=$(cat "$here/Dockerfile" "$here/train.sh" "$busybox" | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{index .Config.Labels "mlops.dev/inputs-hash"}}' "$tag" 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  echo "trainer: $tag is up to date ($hash)"
  exit 0
fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$here/train.sh" "$context/"
cp "$busybox" "$context/busybox"
if ! out=$(DOCKER_BUILDKIT=0 docker build -q --label "mlops.dev/inputs-hash=$hash" -t "$tag" "$context" 2>&1); then
  echo "$out" >&2
  exit 1
fi
echo "trainer: built $tag ($hash)"
