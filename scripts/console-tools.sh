#!/usr/bin/env bash
# What building and testing the console needs: its npm packages (esbuild, playwright-core, the
# TypeScript SDK) and, for the end-to-end tests, Debian's Chromium (and poppler, which the
# monthly report's test renders PDF pages with).
#
#   scripts/console-tools.sh            packages only (make console)
#   scripts/console-tools.sh --browser  packages and Chromium (make test)
set -euo pipefail
cd "$(dirname "$0")/.."

# The SDK is copied in (install-links), so a regenerated SDK means installing again.
sdk_changed() {
    [ -n "$(find sdks/typescript -path sdks/typescript/node_modules -prune -o -type f \
        -newer console/node_modules -print -quit)" ]
}
if [ ! -d console/node_modules ] || [ console/package-lock.json -nt console/node_modules ] ||
    sdk_changed; then
    echo "console: installing its packages (npm ci)"
    (cd console && npm ci --silent --no-audit --no-fund)
    touch console/node_modules
fi

# The monthly report's test renders its PDF with poppler (pdftoppm, pdftotext).
if [ "${1:-}" = "--browser" ] && ! command -v pdftoppm >/dev/null 2>&1; then
    echo "reports: installing poppler-utils for the end-to-end tests (apt-get)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq poppler-utils >/dev/null
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "console: installing Chromium for the end-to-end tests (apt-get)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
