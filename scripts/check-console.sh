#!/usr/bin/env bash
# Fails when the console embedded in the binary (crates/console/assets) is not what console/
# builds: a change to the page must ship with its build (`make console`).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory console >/dev/null
changed=$(git status --porcelain --untracked-files=all -- crates/console/assets)
if [ -n "$changed" ]; then
    echo "the embedded console is not what console/ builds; run \`make console\` and commit:" >&2
    echo "$changed" >&2
    exit 1
fi
echo "console: embedded build up to date"
