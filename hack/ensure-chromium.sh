#!/usr/bin/env bash
# Ensure Debian's chromium is at /usr/bin/chromium: the browser the status page's browser test drives
# through playwright-core (test/web/browser.test.ts); no browser is ever downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
"$here/lib/ensure-deb.sh" chromium
