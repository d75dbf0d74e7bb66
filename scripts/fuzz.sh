#!/usr/bin/env bash
# Runs the fuzz targets under fuzz/ (cargo-fuzz, libFuzzer, nightly Rust), installing what they
# need. A panic, a timeout (10 s for one input) or a process over 512 MB fails the run, and
# libFuzzer leaves the input under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh --seconds 5             each target 5 s (what make test runs)
#   scripts/fuzz.sh --runs 10000000         each target ten million executions
#   scripts/fuzz.sh --runs 1000000 jwt      one target
#
# Seeds are fuzz/seeds/<target> (written from the documented formats, plus every crash found so
# far); with ../shared/datasets present, records carved from those public samples are added. The
# corpus the fuzzer grows is kept in fuzz/corpus/<target> (not committed).
#
# No sanitizer (-s none): the parsers are safe Rust, so what fuzzing can find is panics, hangs
# and runaway memory, which libFuzzer catches without one; address sanitizer made each run
# 2.5-4x slower (1,200-2,000 against 4,700 executions a second on the document target).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=""
runs=""
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ -n "$seconds$runs" ] || seconds=10
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: installing the nightly toolchain (libFuzzer's instrumentation needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2
fi

echo "fuzz: building ${#targets[@]} targets (release, no sanitizer)"

mkdir -p fuzz/corpus
if ! cargo +nightly fuzz build -O -s none >fuzz/corpus/build.log 2>&1; then
    grep -E -A12 '^error' fuzz/corpus/build.log | head -60
    echo "fuzz: the targets do not build (fuzz/corpus/build.log)"
    exit 1
fi

datasets=../shared/datasets
carved=fuzz/corpus/.datasets
if [ -d "$datasets" ] && [ ! -d "$carved" ]; then
    echo "fuzz: carving seeds from $datasets"
    python3 scripts/fuzz-seeds-from-datasets.py "$datasets" "$carved"
fi

summary=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    dirs=("$corpus" "fuzz/seeds/$target")
    [ -d "$carved/$target" ] && dirs+=("$carved/$target")
    limit=()
    [ -n "$seconds" ] && limit+=("-max_total_time=$seconds")
    [ -n "$runs" ] && limit+=("-runs=$runs")
    log="fuzz/corpus/$target.${runs:-${seconds}s}.log"
    echo "fuzz: $target ${limit[*]}"
    if ! cargo +nightly fuzz run -O -s none "$target" "${dirs[@]}" -- \
        "${limit[@]}" -dict=fuzz/dicts/m365.dict -timeout=10 \
        -rss_limit_mb=512 -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target FAILED; the input is under fuzz/artifacts/$target/ (log: $log)"
        exit 1
    fi
    executed=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" || echo "?")
    elapsed=$(grep -oP '^Done [0-9]+ runs in \K[0-9]+' "$log" || echo "?")
    rss=$(grep -oP 'stat::peak_rss_mb:\s*\K[0-9]+' "$log" || echo "?")
    summary+=("$(printf '%-20s %12s executions %7s s  peak RSS %5s MB' "$target" "$executed" "$elapsed" "$rss")")
done
printf 'fuzz: no crash, timeout or oversized allocation\n'
printf '  %s\n' "${summary[@]}"
