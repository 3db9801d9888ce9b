#!/usr/bin/env bash
# Prepares everything the tests need, then runs the given command: the Docker engine, Prometheus,
# chromium (the status page's browser test) and the locally built images (no registry is
# reachable). Used by `make test` and .ci/run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-docker.sh"
"$here/ensure-prometheus.sh"
"$here/ensure-chromium.sh"
if [ -x "$here/build-images.sh" ]; then
  "$here/build-images.sh"
fi
export TESTCONTAINERS_RYUK_DISABLED=true
rm -f "$here/../.test-results/vitest.json"
status=0
"$@" || status=$?
# The plain closing line CI reads, from the JSON report (when the command wrote one).
if [ -f "$here/../.test-results/vitest.json" ]; then
  "$here/../node_modules/.bin/node" "$here/test-summary.ts" "$here/../.test-results/vitest.json"
fi
exit $status
