#!/usr/bin/env bash
# All tests, on a brand-new machine too: installs what the tests need
# (Dovecot, Postfix, swaks from Debian's packages) when missing, then runs
# rustfmt, clippy and the whole test suite (which starts its own mail
# servers on loopback and stops them by pid).
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
