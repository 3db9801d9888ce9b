#!/usr/bin/env bash
# mlops-operator/prometheus:dev — Debian's real Prometheus binary in a scratch image (no registry
# here), with the libraries `ldd` lists, busybox for the health check's wget, user 65534 like
# prom/prometheus, and the same paths and flags (/etc/prometheus/prometheus.yml, data /prometheus).
# Skips the build when an image with the same input hash exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../hack/lib/image-inputs.sh
. "$here/../../hack/lib/image-inputs.sh"
tag=${MLOPS_PROMETHEUS_IMAGE:-mlops-operator/prometheus:dev}
"$here/../../hack/ensure-prometheus.sh"
bin=$(command -v prometheus)
busybox=$(busybox_binary)
hash=$(inputs_hash "$bin" "$busybox" "$here/build.sh")
if [ "$(image_hash "$tag")" = "$hash" ]; then
  echo "images/prometheus: $tag is up to date ($hash)"
  exit 0
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/prometheus" "$ctx/rootfs/prometheus" "$ctx/rootfs/tmp"
copy_with_libs "$bin" "$ctx/rootfs" /bin/prometheus
cp "$busybox" "$ctx/rootfs/bin/busybox"
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
