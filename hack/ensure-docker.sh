#!/usr/bin/env bash
# Ensure a Docker engine answers. Uses one that already runs (a developer's laptop, DOCKER_HOST);
# otherwise, as root on Debian, installs docker.io and starts dockerd in the background.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-docker: DOCKER_HOST=$DOCKER_HOST does not answer" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-docker: no Docker engine answers and this is not root; start Docker yourself" >&2
  exit 1
fi
command -v dockerd >/dev/null 2>&1 || "$here/lib/ensure-deb.sh" docker.io
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd" >&2
  setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
