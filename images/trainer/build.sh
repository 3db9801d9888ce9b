#!/usr/bin/env bash
# Builds mlops-operator/trainer:dev from this directory and Debian's busybox-static (installed when
# missing). Skips the build when the image's mlops.dev/inputs-hash label matches the inputs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../hack/lib/image-inputs.sh
. "$here/../../hack/lib/image-inputs.sh"
tag=${TRAINER_IMAGE:-mlops-operator/trainer:dev}
busybox=$(busybox_binary)
hash=$(inputs_hash "$here/Dockerfile" "$here/train.sh" "$busybox")
if [ "$(image_hash "$tag")" = "$hash" ]; then
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
