#!/usr/bin/env bash
# Installs what the dashboard's browser test needs and prints the variables it reads:
#
#   eval "$(bash tests/browser/install.sh)"   # then: cargo test -p wasmhook-tests --test ui_browser
#
# Chromium comes from Debian's packages (installed when missing; needs root for apt-get), and
# playwright-core (pinned in package-lock.json) from npm into target/browser. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../target/browser}"

if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
stamp="$dest/.installed-$(cat "$here/package-lock.json" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$dest/"
    (cd "$dest" && npm ci --silent --no-audit --no-fund >&2)
    rm -f "$dest"/.installed-*
    touch "$stamp"
fi

# Not WASMHOOK_*: the server reads every WASMHOOK_* variable as a setting.
echo "export CHROMIUM_PATH=$(command -v chromium) UI_TEST_REQUIRED=1"
