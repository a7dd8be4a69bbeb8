#!/usr/bin/env bash
# The [proof] benchmark in one command: prints, for generated corpora of
# 500 and 5,000 mails (or the sizes given),
#   1. `supportd ingest` of a directory: mails/s and peak RSS (bench-ingest.sh);
#   2. IMAP ingest by the running daemon from the loopback Dovecot, plain and
#      over TLS: mails/s (committed + moved to Processed) and peak RSS
#      (bench-imap.sh N 0);
#   3. SMTP submission -> ack in the customer's mailbox with IDLE: median and
#      p95 over NLAT mails (default 50; bench-imap.sh 0 NLAT).
# Release build; asserts nothing. Run it on an otherwise idle machine.
#
#   scripts/bench.sh              # 500 and 5000, latency over 50 mails
#   NLAT=5 scripts/bench.sh 50    # a quick check that everything works
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-500}")
[[ $# -gt 0 ]] || sizes=(500 5000)
NLAT=${NLAT:-50}
echo "== supportd ingest (directory)"
bash scripts/bench-ingest.sh "${sizes[@]}"
for n in "${sizes[@]}"; do
    echo "== IMAP ingest by the daemon, $n mails"
    bash scripts/bench-imap.sh "$n" 0
done
echo "== submission -> ack latency, $NLAT mails"
bash scripts/bench-imap.sh 0 "$NLAT"
