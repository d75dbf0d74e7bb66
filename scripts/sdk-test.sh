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

# Each SDK is installed where users install it: a fresh environment that already holds today's
# gRPC packages, which installing the SDK must neither downgrade nor break; and, for Python, an
# environment at the floors pyproject.toml declares.
fresh_python() { # venv packages...
    local venv=$1
    shift
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}
import_all='import importlib, pathlib, tokenwatch
root = pathlib.Path(tokenwatch.__file__).parent
files = sorted(p for p in root.rglob("*.py") if p.name != "__init__.py")
for path in files:
    importlib.import_module(".".join(("tokenwatch",) + path.relative_to(root).with_suffix("").parts))
print("imported", len(files), "modules")'

echo "sdk-test: python beside today's grpcio, grpcio-health-checking, grpcio-status, grpcio-reflection"
venv="$work/venv-current"
fresh_python "$venv" grpcio grpcio-health-checking grpcio-status grpcio-reflection
"$venv/bin/pip" freeze --all | sort >"$work/before.txt"
"$venv/bin/pip" install --quiet --disable-pip-version-check ./sdks/python pytest
"$venv/bin/pip" freeze --all | sort >"$work/after.txt"
changed=$(comm -23 "$work/before.txt" "$work/after.txt")
if [ -n "$changed" ]; then
    echo "installing the SDK changed what was installed: $changed" >&2
    exit 1
fi
"$venv/bin/pip" check
"$venv/bin/python" -c 'import grpc_health.v1.health_pb2, grpc_status.rpc_status, grpc_reflection.v1alpha.reflection'
"$venv/bin/python" -c "$import_all"
grep -E '^(grpcio|protobuf)==' "$work/after.txt" | paste -sd' '
run python "$tenant_python" "$venv/bin/python" -m pytest -q -p no:cacheprovider sdks/python/tests

echo "sdk-test: python at the declared floors"
floors=$(python3 -c 'import re, sys, tomllib
dependencies = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print(" ".join(re.sub(r">=([^,]+).*", r"==\1", d) for d in dependencies))' sdks/python/pyproject.toml)
venv="$work/venv-floor"
fresh_python "$venv" $floors
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps ./sdks/python
"$venv/bin/pip" check
"$venv/bin/python" -c "$import_all"
echo "$floors"

echo "sdk-test: typescript (node --test)"
(cd sdks/typescript && npm ci --silent --no-audit --no-fund)
run typescript "$tenant_typescript" node --test sdks/typescript/test/

echo "sdk-test: typescript packed, beside today's @bufbuild/protobuf and Connect"
app="$work/ts-app"
mkdir -p "$app"
(cd sdks/typescript && npm pack --silent --pack-destination "$app" >/dev/null)
(
    cd "$app"
    npm init -y >/dev/null
    npm install --silent --no-audit --no-fund @bufbuild/protobuf@latest @connectrpc/connect@latest \
        @connectrpc/connect-node@latest @connectrpc/connect-web@latest
    npm install --silent --no-audit --no-fund ./tokenwatch-sdk-*.tgz
    npm ls --all >/dev/null
    node --input-type=module -e '
        import { readFileSync } from "node:fs";
        const manifest = JSON.parse(readFileSync("node_modules/@tokenwatch/sdk/package.json"));
        for (const path of Object.keys(manifest.exports)) {
            await import(path === "." ? "@tokenwatch/sdk" : "@tokenwatch/sdk" + path.slice(1));
        }
        console.log(Object.keys(manifest.exports).length, "entry points");'
    # One copy of each runtime, the app's: a second @bufbuild/protobuf would not know the
    # SDK's messages.
    for package in @bufbuild/protobuf @connectrpc/connect; do
        copies=$(npm ls --all --parseable "$package" | sort -u | wc -l)
        [ "$copies" -eq 1 ] || { echo "$copies copies of $package" >&2; exit 1; }
    done
    npm ls --depth=0 | tail -n +2 | paste -sd' '
)
