#!/usr/bin/env bash
# Benchmark: `supportd ingest` of a directory of generated mails (500 and
# 5,000 by default) into a fresh store: mails/s and peak RSS. Prints figures;
# asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=$PWD/target/release/supportd
work=$(mktemp -d /tmp/supportd-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for n in ${@:-500 5000}; do
    rm -rf "$work/run" && mkdir -p "$work/run/config"
    sed 's#\.\./var/#../var/#' config/supportd.toml > "$work/run/config/supportd.toml"
    python3 tools/gen_bench_mails.py "$work/mails-$n" "$n" 7
    size=$(du -sm "$work/mails-$n" | cut -f1)
    /usr/bin/time -v "$bin" --config "$work/run/config/supportd.toml" ingest --no-send "$work/mails-$n" \
        > /dev/null 2> "$work/time-$n.txt"
    rate=$(grep -o '([0-9]* mails/s)' "$work/time-$n.txt" | tr -d '()')
    wall=$(grep 'Elapsed (wall clock)' "$work/time-$n.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$work/time-$n.txt" | awk '{print $NF}')
    summary=$(grep '^ingested' "$work/time-$n.txt")
    echo "ingest $n mails ($size MB): $rate, wall $wall, peak RSS $((rss / 1024)) MB — $summary"
done
