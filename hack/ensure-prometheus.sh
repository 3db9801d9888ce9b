#!/usr/bin/env bash
# Ensure Prometheus and promtool are on PATH (Debian's package; built without Consul SD).
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-prometheus: prometheus/promtool missing and this is not root; install them yourself" >&2
  exit 1
fi
echo "ensure-prometheus: installing prometheus" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq prometheus >/dev/null
# The package would start a service under systemd; there is none here, and tests start their own.
