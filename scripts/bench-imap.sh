#!/usr/bin/env bash
# IMAP throughput and answer latency of `supportd run` (release build)
# against a private Dovecot + Postfix on loopback (scripts/mailservers.sh).
#
#   scripts/bench-imap.sh [N_MAILS=500] [N_LATENCY=50]     (0 skips that part)
#   BENCH_MAILS=peer scripts/bench-imap.sh 500 0     the peer benchmark's realistic mails
#   BENCH_MAILS=DIR  scripts/bench-imap.sh 500 0     the first N files of DIR
#   BENCH_SECURITY=tls scripts/bench-imap.sh 500 0  only the TLS run (default: "plain tls")
#
# BENCH_MAILS: which mails go into the Maildir. Unset: short plain-text
# German customer mails (8 bit, no attachments). `peer`: the mails the
# django-helpdesk comparison used (tools/gen_bench_mails.py, seed 7: replies,
# HTML alternatives, QP/base64, ISO-8859-1, attachments). A directory: its
# files in name order (e.g. `cargo run --release --example bench_scale --
# --mails-only DIR 500`, 37 KB on average).
#
# 1. For security plain and tls: N generated German customer mails are
#    written straight into the support user's Maildir (new/), the daemon is
#    started and timed until all N are in the Processed folder (= committed
#    and acknowledged); prints mails/s and the peak RSS (/usr/bin/time -v).
#    The answers go out through Postfix meanwhile (they compete for the CPU).
#    A second line splits the run by the daemon's log (its batch lines):
#    the start (process start, store, TLS, login, SELECT, the first batch
#    stored), the rest of the mails from the first commit to the last, and
#    the last MOVE (the last commit until all are in Processed).
# 2. With the daemon running (plain, IDLE): N_LATENCY mails, one at a time,
#    submitted over SMTP with swaks; latency = SMTP accepted -> the ack is in
#    the customer's Maildir. Prints median and p95.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
NLAT=${2:-50}
ROOT=$PWD
MS=$ROOT/scripts/mailservers.sh

# SUPPORTD_BIN: another binary to measure (e.g. the one before a change), else the release build.
if [[ -n ${SUPPORTD_BIN:-} ]]; then
    BIN=$SUPPORTD_BIN
else
    BIN=$ROOT/target/release/supportd
    cargo build --release --locked --quiet
fi
bash "$MS" install >/dev/null

WORK=$(mktemp -d /tmp/bench-XXXXXX)
chmod 755 "$WORK" # the mail and postfix users must traverse it
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    bash "$MS" stop "$WORK/ms" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
count_files() { { find "$1/new" "$1/cur" -type f 2>/dev/null || true; } | wc -l; }
# watch_maildir MAILDIR N [AFTER]: wait until MAILDIR holds N mails (new/ +
# cur/), print the time it did; with AFTER (a time), print instead the
# newest mtime of the files written since (the delivery time itself).
# WATCH_SECS: give up after this long (600). One process that
# scans every 5 ms: a bash loop forking find and wc every 10 ms took 18 % of
# the 2 cores during a 0.4 s run, CPU the daemon under test then lacked.
watch_maildir() {
    python3 - "$@" <<'PY'
import os, sys, time
md, n = sys.argv[1], int(sys.argv[2])
after = float(sys.argv[3]) if len(sys.argv) > 3 else None
deadline = time.time() + float(os.environ.get("WATCH_SECS", "600"))
def entries():
    out = []
    for sub in ("new", "cur"):
        try:
            out.extend(os.scandir(os.path.join(md, sub)))
        except FileNotFoundError:
            pass
    return out
while True:
    found = entries()
    if len(found) >= n:
        if after is None:
            print(f"{time.time():.6f}")
        else:
            print(f"{max(m for m in (e.stat().st_mtime for e in found) if m >= after):.6f}")
        break
    if time.time() > deadline:
        sys.exit(f"{md}: {len(found)} of {n} mails after {os.environ.get('WATCH_SECS', '600')} s")
    time.sleep(0.005)
PY
}

# --- generated mails --------------------------------------------------------------

SENDERS=(kunde@stadtwerke-musterstadt.de it@stadtwerke-musterstadt.de jane@harbour-analytics.co.uk)
SUBJECTS=(
    "Fehler beim Speichern der Stammdaten"
    "Wie exportiere ich die Monatsübersicht?"
    "Neuer Benutzer für Frau Müller benötigt"
    "Verdacht auf unbefugten Zugriff"
    "Änderungswunsch: zusätzliches Feld im Formular"
    "Portal lädt sehr langsam"
    "Passwort zurücksetzen für Herrn Groß"
    "Frage zur Schnittstelle"
)
BODIES=(
    "beim Speichern der Stammdaten erscheint seit heute Morgen die Meldung \"Interner Fehler 500\". Betroffen sind alle Kolleginnen und Kollegen."
    "wie kann ich die Monatsübersicht als Excel-Datei exportieren? Ich finde den Knopf dafür nicht."
    "bitte legen Sie für unsere neue Kollegin Frau Müller einen Zugang mit Leserechten an."
    "uns ist aufgefallen, dass sich ein unbekannter Benutzer nachts angemeldet hat. Bitte prüfen Sie das dringend."
    "wir hätten gern im Anmeldeformular ein zusätzliches Feld für die Kostenstelle. Was würde das kosten?"
    "das Portal braucht seit dem letzten Update über eine Minute zum Laden der Startseite."
    "Herr Groß hat sein Passwort vergessen und kann sich nicht mehr anmelden. Bitte setzen Sie es zurück."
    "gibt es eine Dokumentation zur REST-Schnittstelle? Wir möchten Daten aus unserem ERP übertragen."
)

BENCH_MAILS=${BENCH_MAILS:-}
if [[ $BENCH_MAILS == peer ]]; then
    BENCH_MAILS=$WORK/mails
    python3 tools/gen_bench_mails.py "$BENCH_MAILS" "$N" 7
fi

# fill_maildir MAILDIR N TAG: N mails into MAILDIR/new, owned like MAILDIR's parent
fill_maildir() {
    local md=$1 n=$2 tag=$3 i s b from f owner
    owner=$(stat -c %u:%g "$(dirname "$(dirname "$md")")")
    mkdir -p "$md/new" "$md/cur" "$md/tmp"
    if [[ -n $BENCH_MAILS ]]; then
        i=0
        while IFS= read -r src; do
            i=$((i + 1))
            f="$md/tmp/$(date +%s).M${i}P$$.$tag"
            cp "$src" "$f" && mv "$f" "$md/new/"
        done < <(find "$BENCH_MAILS" -maxdepth 1 -type f | sort | head -n "$n")
        [[ $i -eq $n ]] || { echo "$BENCH_MAILS holds $i mails, not $n" >&2; exit 1; }
        chown "$owner" "$(dirname "$md")"
        chown -R "$owner" "$md"
        return
    fi
    for ((i = 1; i <= n; i++)); do
        s=$((i % ${#SUBJECTS[@]}))
        b=$((i % ${#BODIES[@]}))
        from=${SENDERS[$((i % ${#SENDERS[@]}))]}
        f="$md/tmp/$(date +%s).M${i}P$$.$tag"
        printf '%s\r\n' \
            "Return-Path: <$from>" \
            "From: Kunde $i <$from>" \
            "To: mein-team-support@roewaplan.de" \
            "Subject: ${SUBJECTS[$s]} ($tag $i)" \
            "Date: $(date -R)" \
            "Message-ID: <bench.$tag.$i.$$@kunde.test>" \
            "MIME-Version: 1.0" \
            "Content-Type: text/plain; charset=utf-8" \
            "Content-Transfer-Encoding: 8bit" \
            "" \
            "Sehr geehrte Damen und Herren," \
            "" \
            "${BODIES[$b]}" \
            "" \
            "Mit freundlichen Grüßen" \
            "Kunde $i" >"$f"
        mv "$f" "$md/new/"
    done
    chown "$owner" "$(dirname "$md")"
    chown -R "$owner" "$md"
}

# write_config DIR SECURITY
write_config() {
    local dir=$1 sec=$2 port ca=""
    # shellcheck disable=SC1091
    source "$WORK/ms/env"
    port=$IMAP_PORT
    if [[ $sec == tls ]]; then port=$IMAPS_PORT; ca="ca_file = \"$CA_FILE\""; fi
    mkdir -p "$dir"
    sed -e '/^\[mailbox\]/,/^$/d' -e '/^\[transport\]/,/^$/d' -e '/^\[store\]/,/^$/d' config/supportd.toml >"$dir/supportd.toml"
    cat >>"$dir/supportd.toml" <<EOF

[mailbox]
kind = "imap"
host = "127.0.0.1"
port = $port
security = "$sec"
$ca
username = "mein-team-support@roewaplan.de"
password = "$PASSWORD"
processed_folder = "Processed"

[transport]
kind = "smtp"
host = "127.0.0.1"
port = $SMTP_PORT
security = "plain"

[store]
path = "supportd.sqlite3"

[limits]
auto_replies_per_hour = 10000
auto_replies_per_day = 100000
EOF
}

start_servers() {
    bash "$MS" stop "$WORK/ms" >/dev/null 2>&1 || true
    bash "$MS" start "$WORK/ms" >/dev/null
    # shellcheck disable=SC1091
    source "$WORK/ms/env"
}

# phases LOG T0 T1 N SECURITY: the run split by the daemon's "N mails committed"
# lines (their times have milliseconds; up to the N benchmark mails): start
# until the first batch was committed, the other mails from the first commit
# to the last, the last MOVE.
phases() {
    python3 - "$@" <<'PY'
import re, sys, datetime
log, t0, t1, n, sec = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
commits, stored = [], 0
for line in open(log, errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z .*imap_source: (\d+) mails committed", line)
    if m:
        at = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
        commits.append((at, int(m.group(2))))
        stored += int(m.group(2))
        # the benchmark's mails only (bounces of the answers come in later)
        if stored >= n:
            break
if len(commits) < 2:
    print(f"  phases {sec}: fewer than two batches in the log, no split")
    sys.exit(0)
first, last = commits[0], commits[-1]
rest = stored - first[1]
span = max(last[0] - first[0], 1e-3)
print(f"  phases {sec}: first batch ({first[1]} mails) committed {1000 * (first[0] - t0):.0f} ms after the start;"
      f" the other {rest} mails at {rest / span:.0f} mails/s (first to last commit, {len(commits) - 1} batches);"
      f" last MOVE {1000 * (t1 - last[0]):.0f} ms")
PY
}

# --- 1. throughput ----------------------------------------------------------------

declare -A RATE RSS
read -r -a SECS <<<"${BENCH_SECURITY:-plain tls}"
[[ $N -gt 0 ]] || SECS=()
for sec in "${SECS[@]}"; do
    start_servers
    md=$MAIL_ROOT/roewaplan.de/mein-team-support
    fill_maildir "$md" "$N" "$sec"
    dir=$WORK/$sec
    write_config "$dir" "$sec"
    # the watcher starts (and pays its interpreter's start) before the clock does
    watch_maildir "$md/.Processed" "$N" >"$dir/done.txt" &
    wpid=$!
    PIDS+=($wpid)
    sleep 0.3
    t0=$(now)
    # the batch lines (a few per run) give the phases below
    RUST_LOG=warn,supportd::imap_source=info /usr/bin/time -v -o "$dir/time.txt" "$BIN" --config "$dir/supportd.toml" run 2>"$dir/daemon.log" &
    PIDS+=($!)
    tpid=$!
    while kill -0 "$wpid" 2>/dev/null; do
        kill -0 "$tpid" 2>/dev/null || { cat "$dir/daemon.log" >&2; echo "daemon died" >&2; exit 1; }
        sleep 0.2
    done
    wait "$wpid" || exit 1
    t1=$(cat "$dir/done.txt")
    secs=$(elapsed "$t0" "$t1")
    # let the outbox try every answer once so the RSS covers sending too, then
    # stop (the peer's mails come from addresses the test Postfix does not
    # know: those answers are rejected and wait for a retry)
    for _ in $(seq 600); do
        q=$(sqlite3 "$dir/supportd.sqlite3" "SELECT count(*) FROM outbox WHERE state = 'queued' AND attempts = 0")
        [[ $q -eq 0 ]] && break
        sleep 0.1
    done
    t2=$(now)
    # the daemon is /usr/bin/time's only child, whatever SUPPORTD_BIN is called
    dpid=$(pgrep -P "$tpid" || true)
    [[ -n "$dpid" ]] && kill -TERM "$dpid"
    wait "$tpid" || true
    tickets=$(sqlite3 "$dir/supportd.sqlite3" "SELECT count(*) FROM tickets")
    sent=$(sqlite3 "$dir/supportd.sqlite3" "SELECT count(*) FROM outbox WHERE state = 'sent'")
    RATE[$sec]=$(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    RSS[$sec]=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$dir/time.txt")
    echo "imap $sec: $N mails processed (committed + moved) in ${secs}s = ${RATE[$sec]} mails/s;" \
        "$tickets tickets; $sent answers sent after $(elapsed "$t0" "$t2")s; peak RSS ${RSS[$sec]} MB"
    phases "$dir/daemon.log" "$t0" "$t1" "$N" "$sec"
done

# --- 2. latency ---------------------------------------------------------------------

[[ $NLAT -gt 0 ]] || exit 0
start_servers
dir=$WORK/latency
write_config "$dir" plain
RUST_LOG=warn "$BIN" --config "$dir/supportd.toml" run 2>"$dir/daemon.log" &
PIDS+=($!)
dpid=$!
sleep 1
cust=$MAIL_ROOT/stadtwerke-musterstadt.de/kunde
: >"$dir/lat.txt"
for ((i = 1; i <= NLAT; i++)); do
    before=$(count_files "$cust")
    tpre=$(now)
    WATCH_SECS=30 watch_maildir "$cust" $((before + 1)) "$tpre" >"$dir/ack.txt" &
    wpid=$!
    PIDS+=($wpid)
    swaks --server "127.0.0.1:$SMTP_PORT" -f kunde@stadtwerke-musterstadt.de -t mein-team-support@roewaplan.de \
        --header "Subject: Latenztest $i: Fehler beim Speichern" \
        --header "Message-ID: <lat.$i.$$@kunde.test>" \
        --body "Beim Speichern erscheint ein Fehler. Bitte prüfen." --hide-all
    t0=$(now)
    wait "$wpid" || { echo "no ack for mail $i after 30 s" >&2; exit 1; }
    elapsed "$t0" "$(cat "$dir/ack.txt")" >>"$dir/lat.txt"
    echo >>"$dir/lat.txt"
done
kill -TERM "$dpid"
wait "$dpid" || true
sort -n "$dir/lat.txt" | awk 'NF { a[n++] = $1 } END {
    printf "latency SMTP accepted -> ack in customer Maildir over %d mails: median %.0f ms, p95 %.0f ms, max %.0f ms\n",
        n, a[int((n - 1) * 0.5)] * 1000, a[int((n - 1) * 0.95 + 0.5)] * 1000, a[n - 1] * 1000 }'
