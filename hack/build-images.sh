#!/usr/bin/env bash
# Builds every image the project runs, locally (no registry is reachable): each images/<name>/ owns
# its build in images/<name>/build.sh, which skips the work when its inputs are unchanged (an
# mlops.dev/inputs-hash label on the image), so a second `make test` costs a few seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DOCKER_BUILDKIT=0
status=0
for build in "$root"/images/*/build.sh; do
  [ -e "$build" ] || continue
  name=$(basename "$(dirname "$build")")
  if ! bash "$build"; then
    echo "build-images: images/$name failed" >&2
    status=1
  fi
done
exit $status
