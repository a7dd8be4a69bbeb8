#!/usr/bin/env bash
# How fast the outbox hands its mails to a relay: `supportd ingest` (release
# build) sends what it queued to a private Postfix on loopback
# (scripts/mailservers.sh), once per relay security.
#
#   scripts/bench-outbox.sh [N_MAILS=200]
#   SUPPORTD_BIN=path scripts/bench-outbox.sh 200     another binary (e.g. the one before a change)
#
# N short customer mails are ingested with --no-send (each queues an ack to
# the customer and a notification to the team: 2N outgoing mails); then
# `ingest` of one of them again (a duplicate, nothing new) sends the queue
# and is timed. Security plain: the MX-like port 25 service, no AUTH;
# starttls: submission with AUTH; tls: submissions (implicit TLS) with AUTH.
# Prints mails/s per security.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
ROOT=$PWD
MS=$ROOT/scripts/mailservers.sh
if [[ -n ${SUPPORTD_BIN:-} ]]; then
    BIN=$SUPPORTD_BIN
else
    BIN=$ROOT/target/release/supportd
    cargo build --release --locked --quiet
fi
bash "$MS" install >/dev/null

WORK=$(mktemp -d /tmp/bench-XXXXXX)
chmod 755 "$WORK"
trap 'bash "$MS" stop "$WORK/ms" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
bash "$MS" start "$WORK/ms" >/dev/null
# shellcheck disable=SC1091
source "$WORK/ms/env"

mkdir -p "$WORK/in"
for ((i = 1; i <= N; i++)); do
    printf 'From: Kunde %d <%s>\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Fehler beim Speichern %d\r\nMessage-ID: <outbox.%d.%d@kunde.test>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBeim Speichern der Einsatzplanung erscheint ein Fehler (%d). Bitte prüfen.\r\n' \
        "$i" "$CUSTOMER_USER" "$i" "$i" "$$" "$(date -R)" "$i" >"$WORK/in/$i.eml"
done

for sec in plain starttls tls; do
    dir=$WORK/$sec
    mkdir -p "$dir"
    case $sec in
        plain) port=$SMTP_PORT auth="" ;;
        starttls) port=$SUBMISSION_PORT ;;
        tls) port=$SUBMISSIONS_PORT ;;
    esac
    if [[ $sec != plain ]]; then
        auth="ca_file = \"$CA_FILE\"
username = \"mein-team-support@roewaplan.de\"
password = \"$PASSWORD\""
    fi
    sed -e '/^\[transport\]/,/^$/d' -e '/^\[store\]/,/^$/d' config/supportd.toml >"$dir/supportd.toml"
    cat >>"$dir/supportd.toml" <<EOC

[transport]
kind = "smtp"
host = "127.0.0.1"
port = $port
security = "$sec"
$auth

[store]
path = "supportd.sqlite3"

[limits]
auto_replies_per_hour = 10000
auto_replies_per_day = 100000
EOC
    "$BIN" --config "$dir/supportd.toml" ingest --no-send "$WORK/in" >/dev/null 2>&1
    queued=$(sqlite3 "$dir/supportd.sqlite3" "SELECT count(*) FROM outbox WHERE state = 'queued'")
    t0=$(date +%s.%N)
    "$BIN" --config "$dir/supportd.toml" ingest "$WORK/in/1.eml" >/dev/null 2>"$dir/send.log"
    t1=$(date +%s.%N)
    sent=$(sqlite3 "$dir/supportd.sqlite3" "SELECT count(*) FROM outbox WHERE state = 'sent'")
    awk -v s="$sec" -v q="$queued" -v n="$sent" -v a="$t0" -v b="$t1" 'BEGIN {
        printf "outbox %s: %d of %d mails sent in %.2f s = %.0f mails/s\n", s, n, q, b - a, n / (b - a) }'
    [[ $sent -eq $queued ]] || { tail -5 "$dir/send.log" >&2; exit 1; }
done
