#!/usr/bin/env bash
# Interleaved runs of the IMAP benchmark (scripts/bench-imap.sh, TLS, the
# peer's realistic mails) for several binaries, and each one's median.
#
#   scripts/bench-imap-compare.sh [-n ROUNDS] [-m N_MAILS] BIN...
#
# ROUNDS (default 12) rounds; each round runs every BIN once, in the order
# given in odd rounds and in the reverse order in even ones: a change in the
# host's speed during the session falls on all of them alike, and so does
# the place in a round (with two binaries in a fixed order, the one run
# first had the higher median in all six sets of 10-12 rounds on 2026-12-07,
# whichever binary it was).
# Prints one line per run (round, binary, mails/s, peak RSS in MB) and then
# per binary: the rates sorted, their median, and the range of the peak RSS.
# On the 2-core development machines one run of the same binary varies by
# +-15 % (another tenant's load, the host's clock): compare medians of
# twelve interleaved runs, not single runs.
#
# The mails: BENCH_MAILS as for bench-imap.sh (default `peer`: the 500 mails
# of tools/gen_bench_mails.py, seed 7, made once for all runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=12
N=500
while getopts "n:m:" o; do
    case $o in
    n) ROUNDS=$OPTARG ;;
    m) N=$OPTARG ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 ]] || { sed -n '2,20p' "$0" >&2; exit 2; }
for b in "$@"; do
    [[ -x $b ]] || { echo "bench-imap-compare.sh: $b is not an executable" >&2; exit 2; }
done

MAILS=${BENCH_MAILS:-peer}
TMP=$(mktemp -d /tmp/bench-compare-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
if [[ $MAILS == peer ]]; then
    MAILS=$TMP/mails
    python3 tools/gen_bench_mails.py "$MAILS" "$N" 7 >/dev/null
fi

BINS=("$@")
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${BINS[@]}")
    if ((r % 2 == 0)); then
        order=()
        for ((i = ${#BINS[@]} - 1; i >= 0; i--)); do order+=("${BINS[$i]}"); done
    fi
    for b in "${order[@]}"; do
        line=$(SUPPORTD_BIN=$b BENCH_MAILS=$MAILS BENCH_SECURITY=tls bash scripts/bench-imap.sh "$N" 0 | grep '^imap tls:') || {
            echo "bench-imap-compare.sh: round $r, $b: the benchmark failed" >&2
            exit 1
        }
        rate=$(sed -E 's/.* = ([0-9]+) mails\/s.*/\1/' <<<"$line")
        rss=$(sed -E 's/.*peak RSS ([0-9.]+) MB.*/\1/' <<<"$line")
        echo "$r $b $rate $rss" | tee -a "$TMP/runs"
    done
done

echo
for b in "$@"; do
    awk -v b="$b" '$2 == b { print $3, $4 }' "$TMP/runs" | sort -n | awk -v b="$b" '
        BEGIN { n = 0 }
        { rate[n] = $1; if (n == 0 || $2 < lo) lo = $2; if (n == 0 || $2 > hi) hi = $2; n++ }
        END {
            med = (n % 2) ? rate[int(n / 2)] : (rate[n / 2 - 1] + rate[n / 2]) / 2
            printf "%s: median %.0f mails/s of %d runs (", b, med, n
            for (i = 0; i < n; i++) printf "%s%s", (i ? " " : ""), rate[i]
            printf "), peak RSS %.1f-%.1f MB\n", lo, hi
        }'
done
