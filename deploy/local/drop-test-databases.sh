#!/usr/bin/env bash
# Drops the per-test databases (tw_test_*) that earlier test runs left on the local cluster.
set -euo pipefail
url="${TOKENWATCH_TEST_DATABASE_URL:?source .run/env first}"
psql -q -X -d "$url" -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'tw\_test\_%'" |
    while read -r name; do
        psql -q -X -d "$url" -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    done
