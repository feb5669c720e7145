#!/usr/bin/env bash
# Installs the senders' own signing libraries (pinned here, from PyPI and npm) into
# target/signers: a Python venv and a node_modules. Idempotent; .ci/run calls it, and the
# signature test calls it when the tools are missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../target/signers}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
stamp="$dest/.installed-$(cat "$here/requirements.txt" "$here/package-lock.json" "$here/sign.mjs" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi
python3 -m venv "$dest/venv"
"$dest/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cp "$here/package.json" "$here/package-lock.json" "$here/sign.mjs" "$dest/"
(cd "$dest" && npm ci --silent --no-audit --no-fund)
rm -f "$dest"/.installed-*
touch "$stamp"
echo "signers installed in $dest"
