#!/usr/bin/env bash
# Stops the local Postgres and Redis that up.sh started. Data stays in .run/ for next time;
# `make clean-run` removes it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run="${TOKENWATCH_RUN_DIR:-$root/.run}"
log() { printf 'down: %s\n' "$*" >&2; }
[ -f "$run/ports" ] || { log "nothing to stop"; exit 0; }
# shellcheck disable=SC1091
. "$run/ports"

pg_data="${pg_base:-$run/pg}/data"
pg_ctl_bin=$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V -r | head -n1)
if [ -f "$pg_data/postmaster.pid" ] && [ -n "$pg_ctl_bin" ]; then
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$pg_ctl_bin" -D "$pg_data" -m fast -w stop >/dev/null && log "postgres stopped"
    else
        "$pg_ctl_bin" -D "$pg_data" -m fast -w stop >/dev/null && log "postgres stopped"
    fi
fi
if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    log "redis stopped"
fi
