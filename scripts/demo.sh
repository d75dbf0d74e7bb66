#!/usr/bin/env bash
# `make demo`: the whole product on one machine. Starts `tokenwatch serve` against the local
# Postgres and Redis (make up), registers demo tenants, shows what each role may see, ingests
# sample and simulated exports, shows what the detection finds, then keeps serving until Ctrl-C
# and shuts down cleanly.
#
# It ends by printing the analyst console's address with a development token in it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source .run/env
bin=target/release/tokenwatch
log=.run/serve.log
# Contoso is the tenant the sample exports in crates/core/tests/fixtures name.
contoso=72f988bf-86f1-41af-91ab-2d7cd011db47
fabrikam=22222222-2222-4222-8222-222222222222
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Every demo starts from an empty database of its own, so the findings stream shows them appear.
export DATABASE_URL="${DATABASE_URL%/*}/tokenwatch_demo"
psql -q -X -d "$TOKENWATCH_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS tokenwatch_demo WITH (FORCE)" >/dev/null

say "starting tokenwatch serve on ${TOKENWATCH_SERVER#http://} (log: $log)"
"$bin" serve >"$log" 2>&1 &
server=$!
stop() {
    say "stopping (SIGTERM): services report NOT_SERVING, calls drain"
    kill -TERM "$server" 2>/dev/null || true
    if wait "$server"; then echo "tokenwatch stopped cleanly"; else echo "tokenwatch exited with $?"; fi
    exit 0
}
trap stop INT TERM
for _ in $(seq 1 120); do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "tokenwatch serve did not start:" >&2
        tail -n 5 "$log" >&2
        exit 1
    fi
    "$bin" health >/dev/null 2>&1 && break
    sleep 0.5
done
"$bin" health

say "minting development tokens (HS256, TOKENWATCH_DEV_AUTH=true)"
admin=$("$bin" token issue --role msp_admin --subject admin@msp.example)
analyst=$("$bin" token issue --role analyst --tenant "$contoso" --subject analyst@msp.example)
echo "msp_admin, and an analyst for Contoso only"
console_url="http://${TOKENWATCH_HTTP_ADDR:-127.0.0.1:8080}/#token=$("$bin" token issue --role msp_admin --subject you@msp.example --ttl 8h)"
say "the analyst console: open this now, the findings appear in it live as the demo goes on"
echo "$console_url"
echo "(signed in as you@msp.example, msp_admin, for 8 hours; the token rides in the URL's fragment, which never reaches a server log)"

say "registering demo tenants as msp_admin"
for pair in "$contoso Contoso" "$fabrikam Fabrikam"; do
    set -- $pair
    TOKENWATCH_TOKEN=$admin "$bin" tenant add --tenant "$1" --name "$2" >/dev/null 2>&1 ||
        echo "tenant $2 already registered"
done
TOKENWATCH_TOKEN=$admin "$bin" tenant list

say "the Contoso analyst sees only Contoso"
TOKENWATCH_TOKEN=$analyst "$bin" tenant list
TOKENWATCH_TOKEN=$analyst "$bin" tenant show "$fabrikam" || true

say "ingesting sample exports for Contoso (UAL JSON, Graph sign-ins, Azure Monitor, Purview CSV, Sentinel CSV)"
echo "(some records are bad on purpose: they are rejected with a reason and kept in quarantine)"
TOKENWATCH_TOKEN=$admin "$bin" ingest --tenant "$contoso" crates/core/tests/fixtures/* || true

say "sending the same files again: nothing is stored twice"
TOKENWATCH_TOKEN=$admin "$bin" ingest --tenant "$contoso" --format json crates/core/tests/fixtures/* || true

say "simulating two weeks of three customer tenants (benign look-alikes and attacks included)"
sim=.run/demo-simulation
rm -rf "$sim"
"$bin" simulate --out "$sim" --seed 7 --tenants 3 --users 30 --days 14
files=$(ls "$sim"/*.json | grep -v meta.json)

say "following the findings stream live (tokenwatch findings watch), then ingesting the simulated exports through gRPC"
TOKENWATCH_TOKEN=$admin "$bin" findings watch &
watcher=$!
sleep 1
for file in $files; do
    tenant=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=d['value'][0] if isinstance(d,dict) else d[0]; print(r.get('OrganizationId') or r.get('resourceTenantId'))" "$file")
    TOKENWATCH_TOKEN=$admin "$bin" tenant add --tenant "$tenant" --name "simulated $tenant" >/dev/null 2>&1 || true
    TOKENWATCH_TOKEN=$admin "$bin" ingest --tenant "$tenant" --format json "$file" >/dev/null
done

# The pipeline has settled when the listing stops changing.
previous=""
for _ in $(seq 1 120); do
    current=$(TOKENWATCH_TOKEN=$admin "$bin" findings list --format json)
    [ -n "$previous" ] && [ "$current" = "$previous" ] && break
    previous=$current
    sleep 2
done
kill "$watcher" 2>/dev/null || true

say "the findings of every tenant, as the detection service lists them"
TOKENWATCH_TOKEN=$admin "$bin" findings list
first=$(TOKENWATCH_TOKEN=$admin "$bin" findings list --format json --limit 1 |
    python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
say "one finding explained: tokenwatch findings show $first"
TOKENWATCH_TOKEN=$admin "$bin" findings show "$first"

say "the default response policy proposed a session revocation for each high finding, awaiting approval"
TOKENWATCH_TOKEN=$admin "$bin" actions list --status pending
responder=$("$bin" token issue --role analyst --tenant '*' --subject alice@msp.example)
approver=$("$bin" token issue --role msp_admin --subject bob@msp.example)
say "an analyst asks to disable the user of $first (a dry run: the demo has no Microsoft tenant); a second person approves"
action=$(TOKENWATCH_TOKEN=$responder "$bin" respond "$first" --action disable-user --dry-run --reason "demo" --format json |
    python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
TOKENWATCH_TOKEN=$responder "$bin" actions approve "$action" || echo "(the proposer cannot approve their own action)"
TOKENWATCH_TOKEN=$approver "$bin" actions approve "$action"

say "the offline scan of the same files finds the same sessions (one engine, two ways to run it)"
"$bin" scan $files
say "measured against the simulator's labels, beside the simple rules in use today"
"$bin" eval --labels "$sim/labels.jsonl" --scan $files

say "the analyst console, again: $console_url"
say "services up; metrics at http://127.0.0.1:9464/metrics; Ctrl-C stops"
wait "$server"
