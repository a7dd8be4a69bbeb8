#!/usr/bin/env bash
# Real mail servers on loopback for supportd's live tests.
#
#   scripts/mailservers.sh install          install missing Debian packages (root)
#   scripts/mailservers.sh start DIR [BASE] write configs into DIR, start Dovecot + Postfix
#   scripts/mailservers.sh stop DIR         stop exactly the instances started in DIR
#   scripts/mailservers.sh stop-dovecot DIR | start-dovecot DIR
#   scripts/mailservers.sh stop-postfix DIR | start-postfix DIR
#                                           one server of a started instance (outage tests;
#                                           same config and ports; start-dovecot also asks
#                                           Postfix to retry its deferred mail at once)
#
# `start` writes DIR/env, shell KEY=VALUE lines: HOST, IMAP_PORT, IMAPS_PORT,
# SMTP_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT, CA_FILE, PASSWORD (all users), SUPPORT_USER,
# CUSTOMER_USER (+ _PASSWORD), USERS (comma list), TEMPFAIL_RECIPIENT (always
# 451 at RCPT), DOVECOT_PID_FILE, POSTFIX_PID_FILE, DOVECOT_LOG, POSTFIX_LOG,
# MAIL_ROOT (maildirs: MAIL_ROOT/<domain>/<local>). Nothing is
# written to /etc; no system service is started. DIR must be short (unix
# socket paths) and traversable by the mail/postfix users: use /tmp/xyz.
# Ports: BASE (argument, exact), else the first free block at or above
# $MAILSERVERS_BASE_PORT (so parallel instances still work), else a random
# free block in 24000..32753 (below the ephemeral ports). Five consecutive ports: BASE+0 IMAP (plain +
# STARTTLS), BASE+1 IMAPS, BASE+2 SMTP (MX-like, no auth, delivers locally),
# BASE+3 submission (STARTTLS required, AUTH via Dovecot SASL), BASE+4
# submissions (implicit TLS, RFC 8314, AUTH as on submission).
# MAILSERVERS_OAUTH2_URL=http://127.0.0.1:PORT/...: Dovecot (IMAP and the
# submission AUTH) also offers XOAUTH2 and OAUTHBEARER, validating each token
# with GET URL + "Authorization: Bearer <token>"; the answer must be JSON
# {"active": true, "email": "<user>"} (the tests serve one).
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-lmtpd postfix swaks openssl libnet-ssleay-perl libio-socket-ssl-perl chromium
    systemd # systemd: systemd-analyze verify|security for tests/systemd_unit.rs (PID 1 need not be systemd)
    neomutt tmux) # a real mail client driven in tmux: tests/live_conversation.rs
PASSWORD="secret"
# Every address of config/supportd.toml that supportd may send to (teams,
# notify lists, consultants, project teams, report_to) is a user here, or
# Postfix rejects it with 550 and the outbox never drains.
USERS=(
    mein-team-support@roewaplan.de
    support-1st@roewaplan.de
    support-2nd@roewaplan.de
    entwicklung@roewaplan.de
    security@roewaplan.de
    berater@roewaplan.de
    m.wagner@roewaplan.de
    p.schmidt@roewaplan.de
    l.frank@roewaplan.de
    anna@roewaplan.de
    kunde@stadtwerke-musterstadt.de
    it@stadtwerke-musterstadt.de
    m.keller@stadtwerke-musterstadt.de
    e.kunz@stadtwerke-musterstadt.de
    jane@harbour-analytics.co.uk
    poststelle@lk-beispielhausen.de
    fremder@example.org
)
TEMPFAIL_RECIPIENT=tempfail@example.org
DOMAINS=(roewaplan.de stadtwerke-musterstadt.de harbour-analytics.co.uk lk-beispielhausen.de example.org)
POSTFIX_MASTER=/usr/lib/postfix/sbin/master
DOVECOT_BIN=/usr/sbin/dovecot
POLICY_RC=/usr/sbin/policy-rc.d

die() { echo "mailservers.sh: $*" >&2; exit 1; }
T0=$EPOCHREALTIME
trace() { # MAILSERVERS_TRACE=1 prints timings of the steps to stderr
    if [[ -n "${MAILSERVERS_TRACE:-}" ]]; then
        echo "mailservers.sh: +$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') s $*" >&2
    fi
}

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            echo "$p"
        fi
    done
}

cmd_install() {
    local missing
    missing=$(missing_packages)
    if [[ -z "$missing" ]]; then
        echo "mailservers.sh: all packages installed"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "install needs root (missing: ${missing//$'\n'/ })"
    CREATED_POLICY=0
    # keep package scripts from starting the system services
    if [[ ! -e "$POLICY_RC" ]]; then
        printf '#!/bin/sh\n# temporary, created by supportd scripts/mailservers.sh\nexit 101\n' >"$POLICY_RC"
        chmod 755 "$POLICY_RC"
        CREATED_POLICY=1
    fi
    # shellcheck disable=SC2317
    cleanup_policy() { if [[ ${CREATED_POLICY:-0} -eq 1 ]]; then rm -f "$POLICY_RC"; CREATED_POLICY=0; fi; }
    trap cleanup_policy EXIT
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -y -q --no-install-recommends
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    # shellcheck disable=SC2086
    if ! "${apt[@]}" install $missing; then
        apt-get -o DPkg::Lock::Timeout=300 -q update
        # shellcheck disable=SC2086
        "${apt[@]}" install $missing
    fi
    cleanup_policy
    trap - EXIT
    missing=$(missing_packages)
    [[ -z "$missing" ]] || die "still missing after install: $missing"
    echo "mailservers.sh: installed"
}

# --- ports -------------------------------------------------------------------

port_listening() { # PORT -> 0 if some socket listens on it (IPv4 or IPv6)
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

block_free() { # BASE -> 0 if BASE..BASE+4 are free
    local i
    for i in 0 1 2 3 4; do
        if port_listening $(($1 + i)); then return 1; fi
    done
    return 0
}

wait_listening() { # PORT TIMEOUT_DECISECONDS
    local n=0
    until port_listening "$1"; do
        n=$((n + 1))
        [[ $n -le $2 ]] || return 1
        sleep 0.1
    done
}

# --- processes ---------------------------------------------------------------

# pid_is_ours KIND PID DIR: the pid is still the master of this instance.
pid_is_ours() {
    local kind=$1 pid=$2 dir=$3 exe cmdline cwd
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    case $kind in
        dovecot)
            [[ "$exe" == "$DOVECOT_BIN" ]] || return 1
            [[ "$cmdline" == *"-c $dir/dovecot.conf"* ]] || return 1 ;;
        postfix)
            [[ "$exe" == "$POSTFIX_MASTER" ]] || return 1
            cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
            [[ "$cwd" == "$dir/pf/spool" ]] || return 1 ;;
    esac
}

pid_from_file() { # FILE -> pid or empty
    [[ -f "$1" ]] || return 0
    tr -dc '0-9' <"$1"
}

# All descendants of PID (children first found via /proc/*/stat ppid). The
# files are read by cat, which goes on past a process that ends meanwhile
# (mawk, Debian's awk, gives up on the first file it cannot open, and then
# printed nothing: a stop under load left the imap processes running).
descendants() {
    local root=$1
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$root" '
        { p = $1; sub(/^.*\) /, ""); ppid[p] = $2 }
        END {
            want[root] = 1; changed = 1
            while (changed) {
                changed = 0
                for (p in ppid) if ((ppid[p] in want) && !(p in want)) { want[p] = 1; changed = 1 }
            }
            for (p in want) if (p != root) print p
        }' || true
}

starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null || true; }

stop_master() { # KIND PIDFILE DIR
    local kind=$1 pidfile=$2 dir=$3 pid p
    pid=$(pid_from_file "$pidfile")
    if [[ -z "$pid" || ! -d /proc/$pid ]]; then return 0; fi # not running (stale pid file)
    if ! pid_is_ours "$kind" "$pid" "$dir"; then
        echo "mailservers.sh: $kind pid $pid is not (or no longer) this instance; not signalling" >&2
        return 0
    fi
    # remember pid + start time of the whole tree, so reused pids are not waited on
    local -a tree=()
    for p in "$pid" $(descendants "$pid"); do
        tree+=("$p:$(starttime "$p")")
    done
    # the whole tree at once, as systemd stops a service (KillMode=control-group):
    # Dovecot's master alone lets an IDLE session's imap process run on for ~8 s
    local n=0 alive entry
    for entry in "${tree[@]}"; do
        p=${entry%%:*}
        [[ "$(starttime "$p")" == "${entry#*:}" ]] && kill -TERM "$p" 2>/dev/null || true
    done
    while :; do
        alive=()
        for entry in "${tree[@]}"; do
            p=${entry%%:*}
            if [[ -d /proc/$p && "$(starttime "$p")" == "${entry#*:}" ]] &&
                ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
                alive+=("$p")
            fi
        done
        [[ ${#alive[@]} -gt 0 ]] || break
        n=$((n + 1))
        if [[ $n -eq 100 ]]; then # 10 s: force
            echo "mailservers.sh: $kind still running after 10 s, SIGKILL ${alive[*]}" >&2
            kill -KILL "${alive[@]}" 2>/dev/null || true
        fi
        [[ $n -lt 150 ]] || die "$kind processes ${alive[*]} do not end"
        sleep 0.1
    done
    rm -f "$pidfile"
}

cmd_stop() {
    local dir=${1:?usage: stop DIR}
    dir=$(cd "$dir" 2>/dev/null && pwd -P) || { echo "mailservers.sh: no such dir $1" >&2; return 0; }
    stop_master postfix "$dir/pf/spool/pid/master.pid" "$dir"
    trace "postfix stopped"
    stop_master dovecot "$dir/dc/master.pid" "$dir"
    trace "dovecot stopped"
}

env_get() { # DIR KEY -> value from DIR/env
    sed -n "s/^$2=//p" "$1/env"
}

cmd_stop_one() { # dovecot|postfix DIR
    local dir
    dir=$(cd "${2:?usage: stop-$1 DIR}" && pwd -P) || die "no such dir $2"
    case $1 in
        dovecot) stop_master dovecot "$dir/dc/master.pid" "$dir" ;;
        postfix) stop_master postfix "$dir/pf/spool/pid/master.pid" "$dir" ;;
    esac
}

cmd_start_one() { # dovecot|postfix DIR
    local dir p
    dir=$(cd "${2:?usage: start-$1 DIR}" && pwd -P) || die "no such dir $2"
    [[ -f "$dir/env" ]] || die "$dir/env missing: start the instance first"
    case $1 in
        dovecot)
            "$DOVECOT_BIN" -c "$dir/dovecot.conf" </dev/null >>"$dir/log/dovecot.start.log" 2>&1 ||
                die "dovecot failed to start (logs in $dir/log)"
            for p in "$(env_get "$dir" IMAP_PORT)" "$(env_get "$dir" IMAPS_PORT)"; do
                wait_listening "$p" 100 || die "nothing listens on port $p after 10 s"
            done
            local n=0
            until [[ -S "$dir/dc/lmtp" && -S "$dir/dc/auth-postfix" ]]; do
                n=$((n + 1))
                [[ $n -lt 100 ]] || die "dovecot sockets missing"
                sleep 0.1
            done
            # deferred mail (LMTP was down) would wait for Postfix's queue run
            if [[ -f "$dir/pf/spool/pid/master.pid" ]]; then
                /usr/sbin/postqueue -c "$dir/pf/etc" -f >/dev/null 2>&1 || true
            fi
            ;;
        postfix)
            /usr/sbin/postfix -c "$dir/pf/etc" start </dev/null >>"$dir/log/postfix.start.log" 2>&1 ||
                die "postfix failed to start (logs in $dir/log)"
            for p in "$(env_get "$dir" SMTP_PORT)" "$(env_get "$dir" SUBMISSION_PORT)" "$(env_get "$dir" SUBMISSIONS_PORT)"; do
                wait_listening "$p" 100 || die "nothing listens on port $p after 10 s"
            done
            ;;
    esac
    echo "mailservers.sh: $1 started again in $dir"
}

# --- configuration -----------------------------------------------------------

make_certs() { # DIR
    local t=$1/tls
    mkdir -p "$t"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=supportd test CA" \
        -keyout "$t/ca.key" -out "$t/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$t/server.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
        -days 30 -extfile "$t/server.ext" -out "$t/server.crt" 2>/dev/null
    chmod 644 "$t/ca.crt" "$t/server.crt"
    chmod 600 "$t/server.key" "$t/ca.key"
}

write_dovecot() { # DIR IMAP IMAPS
    local d=$1 u dh=""
    : >"$d/users"
    for u in "${USERS[@]}"; do echo "$u:{PLAIN}$PASSWORD::::::" >>"$d/users"; done
    chown root:dovecot "$d/users"
    chmod 640 "$d/users"
    if [[ -r /usr/share/dovecot/dh.pem ]]; then dh="ssl_dh = </usr/share/dovecot/dh.pem"; fi
    # MAILSERVERS_OAUTH2_URL: also offer XOAUTH2/OAUTHBEARER (IMAP, and
    # submission through Dovecot SASL), tokens checked by an RFC 7662-style
    # introspection GET with "Authorization: Bearer <token>" to that URL; the
    # answer's "email" must be the user and "active" must be true.
    local oauth_mechs="" oauth_passdb=""
    if [[ -n "${MAILSERVERS_OAUTH2_URL:-}" ]]; then
        printf '%s\n' "introspection_mode = auth" "introspection_url = $MAILSERVERS_OAUTH2_URL" \
            "username_attribute = email" "active_attribute = active" "active_value = true" \
            >"$d/dovecot-oauth2.conf.ext"
        oauth_mechs=" xoauth2 oauthbearer"
        oauth_passdb="passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $d/dovecot-oauth2.conf.ext
}
"
    fi
    cat >"$d/dovecot.conf" <<EOF
# generated by scripts/mailservers.sh
instance_name = supportd-$(basename "$d")
base_dir = $d/dc
state_dir = $d/dc-state
log_path = $d/log/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <$d/tls/server.crt
ssl_key = <$d/tls/server.key
$dh
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login$oauth_mechs
auth_failure_delay = 0
auth_verbose = yes
mail_location = maildir:$d/mail/%d/%n
mail_uid = mail
mail_gid = mail
first_valid_uid = 1
mailbox_list_index = yes
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $d/users
}
${oauth_passdb}userdb {
  driver = passwd-file
  args = username_format=%u $d/users
  default_fields = uid=mail gid=mail home=$d/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $2
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $3
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
# no login penalty after failed logins (wrong-password tests stay fast)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol lmtp {
  postmaster_address = postmaster@roewaplan.de
}
EOF
}

write_postfix() { # DIR SMTP SUBMISSION SUBMISSIONS
    local d=$1 pf=$1/pf u
    mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
    chown postfix "$pf/data"
    chmod 700 "$pf/data"
    : >"$pf/etc/vmailbox"
    for u in "${USERS[@]}"; do echo "$u OK" >>"$pf/etc/vmailbox"; done
    # a recipient that always gets a temporary (4xx) rejection, for tests
    echo "$TEMPFAIL_RECIPIENT 451 4.3.2 temporary failure (test address)" >"$pf/etc/recipient_access"
    cat >"$pf/etc/main.cf" <<EOF
# generated by scripts/mailservers.sh
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
maillog_file = $d/log/postfix.log
maillog_file_prefixes = $d/log
myhostname = mx.supportd.test
mydomain = supportd.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
virtual_mailbox_domains = ${DOMAINS[*]}
virtual_mailbox_maps = texthash:$pf/etc/vmailbox
virtual_transport = lmtp:unix:$d/dc/lmtp
smtpd_reject_unlisted_recipient = yes
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$pf/etc/recipient_access
smtpd_banner = \$myhostname ESMTP supportd-test
smtpd_tls_cert_file = $d/tls/server.crt
smtpd_tls_key_file = $d/tls/server.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = $d/dc/auth-postfix
smtpd_sasl_auth_enable = no
delay_warning_time = 0
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
EOF
    cat >"$pf/etc/master.cf" <<EOF
# generated by scripts/mailservers.sh (no chroot anywhere)
127.0.0.1:$2 inet n - n - - smtpd
127.0.0.1:$3 inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$4 inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    # Postfix waits ~2 s for config files modified "just now": backdate them.
    touch -d '-1 min' "$pf/etc/main.cf" "$pf/etc/master.cf" "$pf/etc/vmailbox" "$pf/etc/recipient_access"
}

write_env() { # DIR IMAP IMAPS SMTP SUBMISSION SUBMISSIONS
    local d=$1
    cat >"$d/env.tmp" <<EOF
MAILSERVERS_DIR=$d
HOST=127.0.0.1
IMAP_PORT=$2
IMAPS_PORT=$3
SMTP_PORT=$4
SUBMISSION_PORT=$5
SUBMISSIONS_PORT=$6
CA_FILE=$d/tls/ca.crt
PASSWORD=$PASSWORD
SUPPORT_USER=mein-team-support@roewaplan.de
SUPPORT_PASSWORD=$PASSWORD
CUSTOMER_USER=kunde@stadtwerke-musterstadt.de
CUSTOMER_PASSWORD=$PASSWORD
USERS=$(IFS=,; echo "${USERS[*]}")
TEMPFAIL_RECIPIENT=$TEMPFAIL_RECIPIENT
DOVECOT_PID_FILE=$d/dc/master.pid
POSTFIX_PID_FILE=$d/pf/spool/pid/master.pid
DOVECOT_LOG=$d/log/dovecot.log
POSTFIX_LOG=$d/log/postfix.log
MAIL_ROOT=$d/mail
EOF
    mv "$d/env.tmp" "$d/env"
}

cmd_start() {
    local dir=${1:?usage: start DIR [BASE_PORT]} base=${2:-} from=${MAILSERVERS_BASE_PORT:-}
    [[ $(id -u) -eq 0 ]] || die "start needs root (Dovecot/Postfix masters drop privileges themselves)"
    if [[ ! -x "$DOVECOT_BIN" || ! -x "$POSTFIX_MASTER" || ! -x /usr/lib/dovecot/lmtp ]]; then
        die "dovecot/postfix missing: run scripts/mailservers.sh install"
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    [[ ${#dir} -le 60 ]] || die "DIR too long for unix socket paths (${#dir} > 60): $dir"
    # a stale instance in the same DIR would share sockets: stop it first
    cmd_stop "$dir"
    rm -rf "$dir/dc" "$dir/dc-state" "$dir/pf" "$dir/mail" "$dir/log" "$dir/tls" "$dir/env"
    chmod 755 "$dir"
    mkdir -p "$dir/log" "$dir/mail" "$dir/dc" "$dir/dc-state"
    chmod 755 "$dir/dc" "$dir/log"
    chown mail:mail "$dir/mail"
    chmod 700 "$dir/mail"
    trace "dir prepared"
    make_certs "$dir"
    trace "certificates made"

    # Port choice and daemon start under one machine-wide lock, so parallel
    # instances see each other's listening sockets.
    exec 9>/tmp/.supportd-mailservers.lock
    flock -w 60 9 || die "could not lock /tmp/.supportd-mailservers.lock"
    local tries=0
    if [[ -n "$base" ]]; then
        [[ "$base" =~ ^[0-9]+$ && $base -ge 1024 && $base -le 65532 ]] || die "bad base port $base"
        block_free "$base" || die "ports $base..$((base + 4)) not free"
    elif [[ -n "$from" ]]; then
        [[ "$from" =~ ^[0-9]+$ && $from -ge 1024 && $from -le 65332 ]] || die "bad MAILSERVERS_BASE_PORT $from"
        base=$from
        until block_free "$base"; do
            base=$((base + 5))
            [[ $base -lt $((from + 200)) ]] || die "no free port block in $from..$((from + 199))"
        done
    else
        while :; do
            # below Linux's ephemeral ports (32768..60999): a client
            # socket's local port there would make a listener's bind fail
            base=$((24000 + (RANDOM % 1750) * 5))
            if block_free "$base"; then break; fi
            tries=$((tries + 1))
            [[ $tries -lt 50 ]] || die "no free port block found"
        done
    fi
    trace "ports chosen (lock held)"
    local imap=$base imaps=$((base + 1)) smtp=$((base + 2)) sub=$((base + 3)) subs=$((base + 4))
    write_dovecot "$dir" "$imap" "$imaps"
    write_postfix "$dir" "$smtp" "$sub" "$subs"

    # fd 9 (the lock) must not leak into the daemons
    "$DOVECOT_BIN" -c "$dir/dovecot.conf" </dev/null >>"$dir/log/dovecot.start.log" 2>&1 9>&- ||
        { cat "$dir/log/dovecot.start.log" "$dir/log/dovecot.log" >&2 2>/dev/null; die "dovecot failed to start"; }
    /usr/sbin/postfix -c "$dir/pf/etc" start </dev/null >>"$dir/log/postfix.start.log" 2>&1 9>&- ||
        { cat "$dir/log/postfix.start.log" "$dir/log/postfix.log" >&2 2>/dev/null; cmd_stop "$dir"; die "postfix failed to start"; }
    trace "daemons started"
    local p
    for p in "$imap" "$imaps" "$smtp" "$sub" "$subs"; do
        wait_listening "$p" 100 || { cmd_stop "$dir"; die "nothing listens on port $p after 10 s (logs in $dir/log)"; }
    done
    local n=0
    until [[ -S "$dir/dc/lmtp" && -S "$dir/dc/auth-postfix" ]]; do
        n=$((n + 1))
        [[ $n -lt 100 ]] || { cmd_stop "$dir"; die "dovecot sockets missing"; }
        sleep 0.1
    done
    trace "listening"
    flock -u 9
    exec 9>&-
    write_env "$dir" "$imap" "$imaps" "$smtp" "$sub" "$subs"
    echo "mailservers.sh: started in $dir (imap $imap, imaps $imaps, smtp $smtp, submission $sub, submissions $subs)"
}

# (sourcing the file only defines the functions)
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case ${1:-} in
        install) cmd_install ;;
        start) shift; cmd_start "$@" ;;
        stop) shift; cmd_stop "$@" ;;
        stop-dovecot | stop-postfix) cmd_stop_one "${1#stop-}" "${2:-}" ;;
        start-dovecot | start-postfix) cmd_start_one "${1#start-}" "${2:-}" ;;
        *)
            echo "usage: $0 install | start DIR [BASE_PORT] | stop DIR | {stop,start}-{dovecot,postfix} DIR" >&2
            exit 2
            ;;
    esac
fi
