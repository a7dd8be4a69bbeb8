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
# Prints one line per run (round, binary, mails/s, peak RSS in MB, ms until
# the first batch was committed, mails/s of the rest: bench-imap.sh's
# phases) and then per binary: the rates sorted, their median, the range of
# the peak RSS and the medians of the two phases.
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
        out=$(SUPPORTD_BIN=$b BENCH_MAILS=$MAILS BENCH_SECURITY=tls bash scripts/bench-imap.sh "$N" 0) &&
            line=$(grep '^imap tls:' <<<"$out") || {
            echo "bench-imap-compare.sh: round $r, $b: the benchmark failed" >&2
            exit 1
        }
        rate=$(sed -E 's/.* = ([0-9]+) mails\/s.*/\1/' <<<"$line")
        rss=$(sed -E 's/.*peak RSS ([0-9.]+) MB.*/\1/' <<<"$line")
        # the phases line (bench-imap.sh): start to the first commit, the rest's rate
        phase=$(grep '^  phases tls:' <<<"$out" || true)
        start=$(sed -nE 's/.*committed ([0-9]+) ms after the start.*/\1/p' <<<"$phase")
        steady=$(sed -nE 's/.* mails at ([0-9]+) mails\/s.*/\1/p' <<<"$phase")
        echo "$r $b $rate $rss ${start:--} ${steady:--}" | tee -a "$TMP/runs"
    done
done

echo
for b in "$@"; do
    awk -v b="$b" '$2 == b { print $3, $4, $5, $6 }' "$TMP/runs" | awk -v b="$b" '
        function median(a, n,    i, j, t) {
            for (i = 1; i < n; i++) for (j = i; j > 0 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
        }
        BEGIN { n = 0; ns = 0; nt = 0 }
        {
            rate[n] = $1; if (n == 0 || $2 < lo) lo = $2; if (n == 0 || $2 > hi) hi = $2; n++
            if ($3 != "-") start[ns++] = $3
            if ($4 != "-") steady[nt++] = $4
        }
        END {
            med = median(rate, n)
            printf "%s: median %.0f mails/s of %d runs (", b, med, n
            for (i = 0; i < n; i++) printf "%s%s", (i ? " " : ""), rate[i]
            printf "), peak RSS %.1f-%.1f MB", lo, hi
            if (ns > 0) printf "; first batch committed after a median %.0f ms, the rest at a median %.0f mails/s", median(start, ns), median(steady, nt)
            printf "\n"
        }'
done
