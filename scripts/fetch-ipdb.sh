#!/usr/bin/env bash
# Fetches the IP → ASN and IP → country data (npm packages from ip-location-db, CC BY 4.0 and
# others, see their licence files) into data/ipdb/, git-ignored. Point TOKENWATCH_IPDB at it.
# Versions are pinned so every machine enriches alike; bump them deliberately.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-data/ipdb}"
asn_version=2.3.2026061719
geo_version=2.3.2026061719
stamp="$dir/.versions"
want="asn=$asn_version geo=$geo_version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
command -v npm >/dev/null || { echo "npm is needed: apt-get install -y npm" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@ip-location-db/asn@$asn_version" \
    "@ip-location-db/geo-whois-asn-country-mmdb@$geo_version" >/dev/null)
rm -rf "$dir.new" && mkdir -p "$dir.new/asn" "$dir.new/geo"
tar xzf "$tmp"/ip-location-db-asn-*.tgz -C "$dir.new/asn" --strip-components=1
tar xzf "$tmp"/ip-location-db-geo-whois-asn-country-mmdb-*.tgz -C "$dir.new/geo" --strip-components=1
echo "$want" >"$dir.new/.versions"
rm -rf "$dir" && mv "$dir.new" "$dir"
echo "ip data in $dir ($want)" >&2
