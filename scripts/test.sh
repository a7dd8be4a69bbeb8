#!/usr/bin/env bash
# All tests, on a brand-new machine too: installs what the tests need
# (Dovecot, Postfix, swaks from Debian's packages) when missing, then runs
# rustfmt, clippy and the whole test suite (which starts its own mail
# servers on loopback and stops them by pid), then builds the Debian package
# and checks it installed (scripts/package.sh; about 2-3 min on a warm machine).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/mailservers.sh ]; then
    scripts/mailservers.sh install
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked --all-targets 2>&1 | tee /tmp/supportd-test.log
# Doc tests are not part of --all-targets; run them too.
cargo test --locked --doc

# The .deb: build (release), dpkg -i, check-config + systemd-analyze verify on
# the installed files, size; purged again unless it was installed before.
echo "== scripts/package.sh"
scripts/package.sh
