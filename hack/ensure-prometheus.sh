#!/usr/bin/env bash
# Ensure Prometheus and promtool are on PATH (Debian's package; built without Consul SD). The
# package would start a service under systemd; there is none here, and tests start their own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
"$here/lib/ensure-deb.sh" prometheus
