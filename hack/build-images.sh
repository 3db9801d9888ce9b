#!/usr/bin/env bash
# build-images.sh [NAME...] — builds the images the project runs, locally (no registry is
# reachable): each images/<name>/ owns its build in images/<name>/build.sh, which installs what it
# uses and skips the work when its inputs are unchanged (an mlops.dev/inputs-hash label on the
# image), so a second `make test` costs a few seconds. No names: every image (the tests need them
# all); `make run` builds only the trainer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DOCKER_BUILDKIT=0
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for build in "$root"/images/*/build.sh; do names+=("$(basename "$(dirname "$build")")"); done
fi
status=0
for name in "${names[@]}"; do
  if [ ! -f "$root/images/$name/build.sh" ]; then
    echo "build-images: no images/$name/build.sh" >&2
    status=1
  elif ! bash "$root/images/$name/build.sh"; then
    echo "build-images: images/$name failed" >&2
    status=1
  fi
done
exit $status
