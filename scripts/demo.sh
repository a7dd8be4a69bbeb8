#!/usr/bin/env bash
# The daemon's main job on the shipped default config, no mail server needed:
# the sample mails from fixtures/pipeline/ are delivered into the Maildir
# var/inbox, one pass of `supportd run` turns them into tickets and writes the
# answers as .eml files into var/outbox, then the tickets and the outbox are
# listed. Run it again: the same mails are recorded as duplicates (no second
# ticket or answer); the samples that are quarantined on purpose (an empty
# mail, mails without a usable From) are quarantined again.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo build --release (the first time about 4 minutes on 2 cores; cargo's progress below)"
cargo build --release --locked
bin=${CARGO_TARGET_DIR:-target}/release/supportd
cfg=config/supportd.toml
mkdir -p var/inbox/new var/inbox/cur var/inbox/tmp
i=0
for f in fixtures/pipeline/*.eml; do
    i=$((i + 1))
    cp "$f" "var/inbox/new/$(date +%s).demo$(printf %03d $i).$(basename "$f" .eml)"
done
echo "== delivered $i sample mails into var/inbox/new"
"$bin" --config "$cfg" run --once
echo "== tickets"
"$bin" --config "$cfg" tickets list
echo "== incoming mails and what became of them"
"$bin" --config "$cfg" messages list
echo "== outgoing mails (written to var/outbox/)"
"$bin" --config "$cfg" outbox list
