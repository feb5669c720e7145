#!/usr/bin/env bash
# Installs schemathesis (pinned in requirements.txt, from PyPI) into a venv under
# target/schemathesis. Idempotent; the contract test runs it when the tool is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../target/schemathesis}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
stamp="$dest/.installed-$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi
python3 -m venv "$dest/venv"
"$dest/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
rm -f "$dest"/.installed-*
touch "$stamp"
echo "schemathesis installed in $dest"
