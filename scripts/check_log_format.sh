#!/usr/bin/env bash
# Log and error messages are lowercase, unpunctuated and structured: fields, not interpolation.
# Fails on tracing macros whose message starts upper-case, ends with a period, or interpolates
# with {}.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='(trace|debug|info|warn|error)!\((.*, )?"([A-Z][a-z]|[^"]*\{[^"]*\}|[^"]*\.")'
if grep -rnE "$pattern" --include="*.rs" crates services tests; then
    echo "log messages above: use lowercase, no trailing period, fields instead of {} interpolation" >&2
    exit 1
fi
