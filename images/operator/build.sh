#!/usr/bin/env bash
# mlops-operator:dev — the operator image, built locally FROM scratch (no registry here) in the
# layout images/operator/Dockerfile gives users: the project's Node 24 binary with the libraries
# `ldd` lists at /usr/local/bin/node, the bundled operator at /app/dist/cli, its production
# node_modules, crds/ and manifests/, user 65532, bin/mlopsctl as entrypoint (with busybox for its
# shell). Skips the build when an image with the same input hash exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../hack/lib/image-inputs.sh
. "$root/hack/lib/image-inputs.sh"
tag=${MLOPS_OPERATOR_IMAGE:-mlops-operator:dev}
node=$(node_binary)
busybox=$(busybox_binary)

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# What the image is made of: Node, busybox, the sources, CRDs, manifests, the lock file, the
# launcher and this script.
(cd "$root" && find src crds manifests -type f | LC_ALL=C sort | xargs cat package.json package-lock.json rolldown.config.ts) > "$ctx/sources"
hash=$(inputs_hash "$node" "$busybox" "$ctx/sources" "$root/bin/mlopsctl" "$here/build.sh")
if [ "$(image_hash "$tag")" = "$hash" ]; then
  echo "images/operator: $tag is up to date ($hash)"
  exit 0
fi

app="$ctx/rootfs/app"
mkdir -p "$app/bin" "$ctx/state" "$ctx/rootfs/tmp" "$ctx/rootfs/etc" "$ctx/rootfs/bin"
copy_with_libs "$node" "$ctx/rootfs" /usr/local/bin/node
cp "$busybox" "$ctx/rootfs/bin/busybox"
# The bundled build (rolldown.config.ts) on the project's Node, without source maps.
(cd "$root" && MLOPS_BUNDLE_DIR="$app/dist/cli" MLOPS_BUNDLE_SOURCEMAP=false \
  node_modules/.bin/node node_modules/rolldown/bin/cli.mjs -c rolldown.config.ts >/dev/null)
cp -r "$root/crds" "$root/manifests" "$root/package.json" "$app/"
cp "$root/bin/mlopsctl" "$app/bin/mlopsctl"
# After everything it is compared with: the launcher runs dist/ while it is newer than crds/.
touch "$app/dist/.stamp"
# Production dependencies only, as `npm prune --omit=dev` leaves them.
(cd "$root" && npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2) | while read -r dir; do
  rel=${dir#"$root"/}
  mkdir -p "$app/$(dirname "$rel")"
  [ -e "$app/$rel" ] || cp -rL "$dir" "$app/$rel"
done
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$ctx/rootfs/etc/group"
chmod 1777 "$ctx/rootfs/tmp"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 state/ /var/lib/mlops/
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV MLOPS_STATE_DIR=/var/lib/mlops NODE_ENV=production MLOPSCTL_BIN=mlopsctl PATH=/usr/local/bin:/bin
USER 65532:65532
WORKDIR /app
EXPOSE 9464
ENTRYPOINT ["/app/bin/mlopsctl"]
CMD ["--help"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q --label "mlops.dev/inputs-hash=$hash" --label "mlops.dev/managed-by=mlops-operator" -t "$tag" "$ctx" >/dev/null
echo "images/operator: built $tag ($hash)"
