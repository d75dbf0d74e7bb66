#!/usr/bin/env bash
# The SDKs against a live server (`make test` runs this after the Rust tests): starts
# `tokenwatch serve` on a fresh database, registers two tenants with simulated files, and runs
# each SDK's tests — pytest for Python, node's test runner for TypeScript — whose examples
# authenticate, ingest the files and follow the findings stream. A contract change that breaks
# a client breaks the build.
set -euo pipefail
cd "$(dirname "$0")/.."
source .run/env

bin=target/debug/tokenwatch
[ -x "$bin" ] || cargo build --quiet -p tokenwatch
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server="http://127.0.0.1:$port"
database_url="${TOKENWATCH_TEST_DATABASE_URL%/*}/tw_test_sdk_$$"

TOKENWATCH_LISTEN="127.0.0.1:$port" TOKENWATCH_METRICS_LISTEN=off DATABASE_URL="$database_url" \
    TOKENWATCH_CONNECTOR_CONCURRENCY=0 TOKENWATCH_LOG_FORMAT=json \
    "$bin" serve >"$work/serve.log" 2>&1 &
serve_pid=$!
stop() {
    kill "$serve_pid" 2>/dev/null && wait "$serve_pid" || true
    rm -rf "$work"
}
trap stop EXIT
if ! "$bin" health --server "$server" --wait 60s >/dev/null; then
    tail -20 "$work/serve.log" >&2
    exit 1
fi

# One simulated tenant, copied under two ids: one per SDK, so each sees its own findings.
"$bin" simulate --out "$work/sim" --seed 5 --tenants 1 --users 30 --days 9 >/dev/null
original=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["tenant_id"])' "$work/sim/labels.jsonl")
admin=$("$bin" token issue --role msp_admin)
for sdk in python typescript; do
    tenant=$(python3 -c 'import uuid; print(uuid.uuid4())')
    mkdir -p "$work/$sdk"
    for file in "$work"/sim/ual-*.json "$work"/sim/signins-*.json; do
        sed "s/$original/$tenant/g" "$file" >"$work/$sdk/$(basename "$file")"
    done
    TOKENWATCH_TOKEN="$admin" "$bin" tenant add --server "$server" --tenant "$tenant" --name "SDK $sdk" >/dev/null
    declare "tenant_$sdk=$tenant"
done

run() { # sdk tenant command...
    local sdk=$1 tenant=$2
    shift 2
    TOKENWATCH_SDK_SERVER="$server" TOKENWATCH_SDK_TENANT="$tenant" \
        TOKENWATCH_SDK_TOKEN=$("$bin" token issue --role service --tenant "$tenant") \
        TOKENWATCH_SDK_FILES=$(ls "$work/$sdk"/*.json | paste -sd:) "$@"
}

echo "sdk-test: python (pytest)"
.tools/venv/bin/pip install --quiet --disable-pip-version-check ./sdks/python
run python "$tenant_python" .tools/venv/bin/python -m pytest -q -p no:cacheprovider sdks/python/tests

echo "sdk-test: typescript (node --test)"
(cd sdks/typescript && npm ci --silent --no-audit --no-fund)
run typescript "$tenant_typescript" node --test sdks/typescript/test/
