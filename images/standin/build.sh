#!/usr/bin/env bash
# Stand-in images for the stack's Consul, Nomad and Grafana (no registry can be reached here):
# mlops-operator/{consul,nomad,grafana}-standin:dev run the project's API doubles (test/doubles/)
# on Node 24 from node_modules, in scratch images with the libraries `ldd` lists and busybox (for
# the health check's wget). They take the official images' command lines and configuration paths
# and users: consul 100:1000, grafana 472:0, nomad root (the one exception, as with the real Nomad).
# The doubles and the src/api, src/clients files they import are copied. One shared base layer holds node; builds are skipped when the input hash is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../hack/lib/image-inputs.sh
. "$here/../../hack/lib/image-inputs.sh"
node=$(node_binary)
busybox=$(busybox_binary)
hash=$( { inputs_hash "$node" "$busybox" "$here/build.sh" "$here/entry.ts";
          cd "$root" && find test/doubles src/api src/clients -type f -name '*.ts' ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum;
        } | sha256sum | cut -c1-16)
uptodate=1
for c in consul nomad grafana; do
  [ "$(image_hash "mlops-operator/$c-standin:dev")" = "$hash" ] || uptodate=0
done
if [ "$uptodate" = 1 ]; then
  echo "images/standin: consul/nomad/grafana stand-ins are up to date ($hash)"
  exit 0
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/base/bin" "$ctx/base/app/images/standin" "$ctx/base/tmp" "$ctx/base/etc"
copy_with_libs "$node" "$ctx/base" /bin/node
cp "$busybox" "$ctx/base/bin/busybox"
chmod 1777 "$ctx/base/tmp"
printf '{ "type": "module", "private": true }\n' > "$ctx/base/app/package.json"
cp "$here/entry.ts" "$ctx/base/app/images/standin/entry.ts"
(cd "$root" && tar cf - --exclude='*.test.ts' test/doubles src/api src/clients) | tar xf - -C "$ctx/base/app"
printf 'root:x:0:0:root:/:/bin/sh\nconsul:x:100:1000::/consul:/bin/false\ngrafana:x:472:0::/usr/share/grafana:/bin/false\n' > "$ctx/base/etc/passwd"
printf 'root:x:0:\nconsul:x:1000:\n' > "$ctx/base/etc/group"
cat > "$ctx/Dockerfile.base" <<'DOCKERFILE'
FROM scratch
COPY base/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV NODE_OPTIONS=--disable-warning=ExperimentalWarning
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -f "$ctx/Dockerfile.base" -t "mlops-operator/standin-base:dev" --label "mlops.dev/inputs-hash=$hash" "$ctx" >/dev/null

build() { # component user dockerfile-extra
  local c=$1 user=$2 extra=$3
  printf 'FROM mlops-operator/standin-base:dev\n%b\nUSER %s\nENTRYPOINT ["/bin/node", "/app/images/standin/entry.ts", "%s"]\n' "$extra" "$user" "$c" > "$ctx/Dockerfile.$c"
  DOCKER_BUILDKIT=0 docker build -q -f "$ctx/Dockerfile.$c" -t "mlops-operator/$c-standin:dev" \
    --label "mlops.dev/inputs-hash=$hash" --label "mlops.dev/managed-by=mlops-operator" "$ctx" >/dev/null
  echo "images/standin: built mlops-operator/$c-standin:dev ($hash)"
}
build consul 100:1000 'RUN ["/bin/mkdir", "-p", "/consul/config", "/consul/data"]\nRUN ["/bin/chown", "-R", "100:1000", "/consul"]\nVOLUME ["/consul/data"]\nEXPOSE 8500\nCMD ["agent", "-dev", "-client", "0.0.0.0"]'
build nomad 0:0 'RUN ["/bin/mkdir", "-p", "/etc/nomad.d"]\nEXPOSE 4646\nCMD ["agent", "-dev"]'
build grafana 472:0 'RUN ["/bin/mkdir", "-p", "/etc/grafana", "/var/lib/grafana"]\nRUN ["/bin/chown", "-R", "472:0", "/etc/grafana", "/var/lib/grafana"]\nVOLUME ["/var/lib/grafana"]\nEXPOSE 3000'
