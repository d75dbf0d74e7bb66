#!/usr/bin/env bash
# Starts a local Postgres and Redis for development and tests, bound to loopback on free ports,
# with their data under .run/ (git-ignored). Installs what is missing on a Debian machine.
# Idempotent: a second run reuses what is running. Writes .run/env (source it).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run="${TOKENWATCH_RUN_DIR:-$root/.run}"
mkdir -p "$run"
log() { printf 'up: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; exit 1; fi
}

apt_install() {
    log "installing $*"
    if [ ! -f "$run/.apt-updated" ]; then
        as_root apt-get update -qq && touch "$run/.apt-updated"
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- binaries -----------------------------------------------------------------------------
pg_bin=""
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    pg_bin=$(dirname "$(command -v pg_ctl)")
else
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then pg_bin=$dir; break; fi
    done
fi
if [ -z "$pg_bin" ]; then
    apt_install postgresql
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -n1)
fi
command -v psql >/dev/null && command -v pg_dump >/dev/null || apt_install postgresql-client  # pg_dump: the backup test
command -v redis-server >/dev/null || apt_install redis-server
command -v redis-cli >/dev/null || apt_install redis-tools

# A free loopback port, never tokenwatch's own defaults (50051 gRPC, 9464 metrics).
free_port() {
    python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if port not in (50051, 9464):
        print(port); break'
}

# --- ports: reuse what a previous run chose -----------------------------------------------
if [ -f "$run/ports" ]; then
    # shellcheck disable=SC1091
    . "$run/ports"
else
    pg_port=$(free_port)
    redis_port=$(free_port)
    printf 'pg_port=%s\nredis_port=%s\n' "$pg_port" "$redis_port" >"$run/ports"
fi

# --- postgres -----------------------------------------------------------------------------
# initdb and postgres refuse to run as root: run them as an unprivileged user.
pg_user=""
if [ "$(id -u)" = 0 ]; then
    pg_user=postgres
    id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
fi
as_pg() {
    if [ -n "$pg_user" ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi
}

# The data lives under .run/ unless the postgres user cannot reach it (a checkout under /root,
# say); then under /var/tmp, keyed by the checkout's path.
pg_base="$run/pg"
mkdir -p "$pg_base"
if [ -n "$pg_user" ] && ! runuser -u "$pg_user" -- test -x "$run" 2>/dev/null; then
    pg_base="/var/tmp/tokenwatch-pg-$(printf '%s' "$root" | md5sum | cut -c1-12)"
    mkdir -p "$pg_base"
fi
grep -q '^pg_base=' "$run/ports" || printf 'pg_base=%s\n' "$pg_base" >>"$run/ports"
pg_data="$pg_base/data"
mkdir -p "$pg_base/sock"
[ -n "$pg_user" ] && chown -R "$pg_user" "$pg_base"
if [ ! -f "$pg_data/PG_VERSION" ]; then
    log "initializing postgres in $pg_data"
    as_pg "$pg_bin/initdb" -D "$pg_data" -U tokenwatch --auth=trust -E UTF8 --locale=C >"$pg_base/initdb.log"
fi
if as_pg "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
    log "postgres already running on port $pg_port"
else
    log "starting postgres on 127.0.0.1:$pg_port"
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_base/postgres.log" -w -t 60 start \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_base/sock -c max_connections=300" >/dev/null
fi
for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$pg_port" || { log "postgres does not answer; see $pg_base/postgres.log"; exit 1; }

# --- redis --------------------------------------------------------------------------------
mkdir -p "$run/redis"
if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    log "redis already running on port $redis_port"
else
    log "starting redis on 127.0.0.1:$redis_port"
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$run/redis" --daemonize yes \
        --pidfile "$run/redis/redis.pid" --logfile "$run/redis/redis.log" \
        --save "" --appendonly no >/dev/null
fi
for _ in $(seq 1 60); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.5
done
redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 || { log "redis does not answer; see $run/redis/redis.log"; exit 1; }

# --- environment --------------------------------------------------------------------------
if [ ! -f "$run/dev_jwt_secret" ]; then
    head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$run/dev_jwt_secret"
    chmod 600 "$run/dev_jwt_secret"
fi
# A development key sealing Graph credentials and webhook secrets, so `tenant credentials set`
# works locally; kept with the data it seals (a production key comes from a secret manager).
if [ ! -f "$run/dev_credentials_key" ]; then
    head -c 32 /dev/urandom | base64 | tr -d '\n' >"$run/dev_credentials_key"
    chmod 600 "$run/dev_credentials_key"
fi
cat >"$run/env" <<ENV
# Written by deploy/local/up.sh; \`source .run/env\`.
export DATABASE_URL=postgres://tokenwatch@127.0.0.1:$pg_port/tokenwatch
export REDIS_URL=redis://127.0.0.1:$redis_port/
export TOKENWATCH_TEST_DATABASE_URL=postgres://tokenwatch@127.0.0.1:$pg_port/postgres
export TOKENWATCH_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/
export TOKENWATCH_DEV_AUTH=true
export TOKENWATCH_DEV_JWT_SECRET=$(cat "$run/dev_jwt_secret")
export TOKENWATCH_JWT_ISSUER=tokenwatch-local
export TOKENWATCH_JWT_AUDIENCE=tokenwatch
export TOKENWATCH_CREDENTIALS_KEY=$(cat "$run/dev_credentials_key")
export TOKENWATCH_SERVER=\${TOKENWATCH_SERVER:-http://127.0.0.1:50051}
ENV
if [ -f "$root/data/ipdb/.versions" ]; then
    echo "export TOKENWATCH_IPDB=$root/data/ipdb" >>"$run/env"
fi
log "postgres 127.0.0.1:$pg_port, redis 127.0.0.1:$redis_port; now: source .run/env"
