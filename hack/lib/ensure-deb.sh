#!/usr/bin/env bash
# ensure-deb.sh PACKAGE... — installs the Debian packages that are missing (as root), so that no
# script relies on a package another script happened to install first. Every script in hack/ and
# images/ calls it for each package it uses. `apt-get update` runs once, and only when something
# is missing. Not root and something missing: one line naming the packages, exit 1.
set -euo pipefail
missing=()
for package in "$@"; do
  if ! dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-deb: missing Debian packages ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "ensure-deb: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
