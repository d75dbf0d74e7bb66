#!/usr/bin/env bash
# Fails when the committed SDKs differ from what the protos generate (`make sdks`): a contract
# change must ship with its regenerated clients.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory sdks >/dev/null
changed=$(git status --porcelain --untracked-files=all -- sdks/python/src sdks/typescript/gen)
if [ -n "$changed" ]; then
    echo "the committed SDKs are not what the protos generate; run \`make sdks\` and commit:" >&2
    echo "$changed" >&2
    exit 1
fi
echo "sdks: up to date with the protos"
