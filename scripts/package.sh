#!/usr/bin/env bash
# Build the Debian package with cargo-deb, install it on this machine, and
# check the installed result:
#   - cargo-deb is installed from crates.io when missing (cargo install
#     cargo-deb --locked: about 2-3 min on 2 cores, once per machine);
#   - `cargo deb` builds the release binary (about 2 min from scratch, seconds
#     when target/release is warm) and target/debian/supportd_*.deb;
#   - `dpkg -i` installs it; `supportd check-config` on the installed
#     /etc/supportd/supportd.toml (the production example: it reads its two
#     passwords from $CREDENTIALS_DIRECTORY, as under the unit's
#     LoadCredential=, so the check gets a throwaway directory with dummy
#     passwords); `systemd-analyze verify` on the installed unit;
#   - prints the package size.
# If supportd was not installed before, the package is purged again at the end
# (KEEP_INSTALLED=1 keeps it), so the machine is left as it was found. The
# service is never enabled or started (PID 1 need not be systemd). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "package.sh: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (dpkg -i)"
command -v systemd-analyze >/dev/null || die "systemd-analyze missing: scripts/mailservers.sh install"

if ! cargo deb --version >/dev/null 2>&1; then
    echo "== cargo install cargo-deb --locked"
    t0=$(date +%s)
    cargo install cargo-deb --locked
    echo "package.sh: cargo-deb installed in $(($(date +%s) - t0)) s"
fi

echo "== cargo deb"
t0=$(date +%s)
# stdout's last line is the path of the .deb; the build log goes to stderr
deb=$(cargo deb --locked | tail -n 1)
[[ -f "$deb" ]] || die "cargo deb did not report a .deb (last line: $deb)"
echo "package.sh: built $deb in $(($(date +%s) - t0)) s"

was_installed=0
if dpkg-query -W -f='${Status}' supportd 2>/dev/null | grep -q 'install ok installed'; then
    was_installed=1
fi
had_etc=0
[[ -e /etc/supportd ]] && had_etc=1
cleanup() {
    if [[ $was_installed -eq 0 && ${KEEP_INSTALLED:-0} != 1 ]]; then
        dpkg --purge supportd >/dev/null || true
        # postinst made it; purge keeps it on purpose (it may hold passwords)
        rmdir /etc/supportd/credentials 2>/dev/null || true
        if [[ $had_etc -eq 0 ]]; then rmdir /etc/supportd 2>/dev/null || true; fi
        echo "package.sh: purged again (KEEP_INSTALLED=1 keeps it)"
    fi
    rm -rf "${creds:-}"
}
trap cleanup EXIT

echo "== dpkg -i"
dpkg -i "$deb"
dpkg -L supportd

echo "== check the installed package"
[[ -x /usr/bin/supportd ]] || die "/usr/bin/supportd missing"
dpkg-query -W -f='${Conffiles}\n' supportd | grep -q '/etc/supportd/supportd.toml' ||
    die "/etc/supportd/supportd.toml is not a conffile"
[[ $(stat -c %a /etc/supportd/credentials) == 700 ]] || die "/etc/supportd/credentials is not 0700"
creds=$(mktemp -d)
echo dummy >"$creds/imap-password"
echo dummy >"$creds/smtp-password"
CREDENTIALS_DIRECTORY=$creds /usr/bin/supportd --config /etc/supportd/supportd.toml check-config
# without the credentials it must fail, naming the keys (exit 2)
set +e
out=$(CREDENTIALS_DIRECTORY=/nonexistent /usr/bin/supportd --config /etc/supportd/supportd.toml check-config 2>&1)
rc=$?
set -e
[[ $rc -eq 2 && $out == *mailbox.password_file* ]] || die "check-config without credentials: rc $rc: $out"
verify=$(cd / && SYSTEMD_PAGER='' systemd-analyze verify --man=no /lib/systemd/system/supportd.service 2>&1) ||
    die "systemd-analyze verify failed: $verify"
[[ -z "$verify" ]] || die "systemd-analyze verify warned: $verify"
echo "package.sh: systemd-analyze verify /lib/systemd/system/supportd.service: clean"
exposure=$(systemd-analyze security --offline=true --no-pager /lib/systemd/system/supportd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for supportd.service: \([0-9.]*\).*/\1/p')
echo "package.sh: systemd-analyze security exposure $exposure"

size=$(stat -c %s "$deb")
installed=$(dpkg-query -W -f='${Installed-Size}' supportd)
echo "package.sh: $(basename "$deb"): $size bytes ($((size / 1024)) KiB), installed size ${installed} KiB"
