#!/usr/bin/env bash
# Renders every Kubernetes overlay (kubectl kustomize; Debian's kubernetes-client when kubectl
# is missing) and validates the result against the Kubernetes schemas (kubernetes-validate,
# strict: unknown fields fail), and checks each overlay has a Deployment per service.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v kubectl >/dev/null; then
    echo "kubectl missing: installing Debian's kubernetes-client" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq kubernetes-client >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq kubernetes-client >/dev/null; fi
fi
validate=.tools/venv/bin/kubernetes-validate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for overlay in deploy/kubernetes/overlays/*/; do
    name=$(basename "$overlay")
    kubectl kustomize "$overlay" >"$work/$name.yaml" 2>"$work/$name.err" || {
        cat "$work/$name.err" >&2
        exit 1
    }
    "$validate" --strict --quiet "$work/$name.yaml"
    .tools/venv/bin/python - "$work/$name.yaml" <<'PY'
import sys, yaml
wanted = {"ingest", "baseline", "detection", "response", "feedback"}
served = {}
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc["kind"] == "Deployment":
        args = doc["spec"]["template"]["spec"]["containers"][0]["args"]
        served[args[args.index("--services") + 1]] = doc["metadata"]["name"]
assert set(served) == wanted, f"{sys.argv[1]}: one Deployment per service, got {served}"
PY
    echo "kubernetes: $name renders ($(grep -c '^kind:' "$work/$name.yaml") objects) and validates"
done
