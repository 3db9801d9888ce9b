#!/usr/bin/env bash
# mlops-operator/prometheus:dev — Debian's real Prometheus binary in a scratch image (no registry
# here), with the libraries `ldd` lists, busybox for the health check's wget, user 65534 like
# prom/prometheus, and the same paths and flags (/etc/prometheus/prometheus.yml, data /prometheus).
# Skips the build when an image with the same input hash exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${MLOPS_PROMETHEUS_IMAGE:-mlops-operator/prometheus:dev}
bin=$(command -v prometheus || true)
if [ -z "$bin" ]; then "$here/../../hack/ensure-prometheus.sh"; bin=$(command -v prometheus); fi
busybox=$(command -v busybox || echo /bin/busybox)

libs=$(ldd "$bin" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }' | sort -u)
hash=$(cat "$bin" "$busybox" "$here/build.sh" $(for l in $libs; do readlink -f "$l"; done) | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "mlops.dev/inputs-hash" }}' "$tag" 2>/dev/null || true)" = "$hash" ]; then
  echo "images/prometheus: $tag is up to date ($hash)"
  exit 0
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/prometheus" "$ctx/rootfs/prometheus" "$ctx/rootfs/tmp"
cp "$bin" "$ctx/rootfs/bin/prometheus"
cp "$busybox" "$ctx/rootfs/bin/busybox"
for l in $libs; do
  mkdir -p "$ctx/rootfs$(dirname "$l")"
  cp -L "$l" "$ctx/rootfs$l"
done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ctx/rootfs/etc/group"
cat > "$ctx/rootfs/etc/prometheus/prometheus.yml" <<'YML'
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:9090"]
YML
chmod 1777 "$ctx/rootfs/tmp"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/chown", "-R", "65534:65534", "/etc/prometheus", "/prometheus"]
USER 65534:65534
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q --label "mlops.dev/inputs-hash=$hash" --label "mlops.dev/managed-by=mlops-operator" -t "$tag" "$ctx" >/dev/null
echo "images/prometheus: built $tag ($hash)"
