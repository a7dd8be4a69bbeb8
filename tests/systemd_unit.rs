//! The shipped unit `systemd/supportd.service` checked by systemd's own
//! tools, offline (PID 1 need not be systemd): `systemd-analyze verify`
//! against a throwaway root holding the binary where the unit expects it,
//! and `systemd-analyze security --offline=true` with an exposure of at
//! most 2.0. Also: `supportd run` under a notify socket says READY=1, pings
//! WATCHDOG=1 while its loops are healthy, and says STOPPING=1 on SIGTERM.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_supportd");
/// The exposure `systemd-analyze security` may report at most.
const MAX_EXPOSURE: f64 = 2.0;

fn unit_path() -> PathBuf {
    common::repo().join("systemd/supportd.service")
}

fn analyze() -> Command {
    let mut c = Command::new("systemd-analyze");
    c.env("SYSTEMD_PAGER", "").env("SYSTEMD_COLORS", "0");
    c
}

/// A root directory with the unit in /etc/systemd/system, the distribution's
/// units (for the default dependencies), and the commands the unit runs.
fn fake_root(with_binary: bool) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for d in ["usr/bin", "bin", "etc/systemd/system", "usr/lib/systemd"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    let ok = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(r.join("usr/lib/systemd/"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "copying /usr/lib/systemd/system");
    if with_binary {
        std::fs::copy(BIN, r.join("usr/bin/supportd")).unwrap();
    }
    std::fs::copy("/bin/kill", r.join("bin/kill")).unwrap();
    std::fs::copy(unit_path(), r.join("etc/systemd/system/supportd.service")).unwrap();
    root
}

fn verify(root: &Path) -> (bool, String) {
    let out = analyze()
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.display()))
        .arg("supportd.service")
        .current_dir(root)
        .output()
        .expect("systemd-analyze not found: apt-get install systemd (scripts/mailservers.sh install does)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Proves: systemd 252 parses every line of the unit without a warning
/// (unknown keys, bad values and missing commands are warnings or errors)
/// and finds the commands it runs. The same check on the root without
/// /usr/bin/supportd fails, so the check can fail.
#[test]
fn unit_passes_systemd_analyze_verify() {
    let root = fake_root(true);
    let (ok, text) = verify(root.path());
    assert!(ok && text.trim().is_empty(), "systemd-analyze verify complained:\n{text}");

    let bare = fake_root(false);
    let (ok, text) = verify(bare.path());
    assert!(!ok && text.contains("/usr/bin/supportd"), "verify should miss the binary:\n{text}");
}

/// The figure of "Overall exposure level for supportd.service: 1.1 OK".
fn exposure(output: &str) -> Option<f64> {
    let line = output.lines().find(|l| l.contains("Overall exposure level"))?;
    line.split(':').nth(1)?.split_whitespace().next()?.parse().ok()
}

/// Proves: the sandbox keeps `systemd-analyze security` at an exposure of at
/// most 2.0 (0 = fully locked down, 10 = no sandbox), and the check of the
/// figure fails on an unhardened unit.
#[test]
fn unit_exposure_is_at_most_2() {
    let out = analyze().args(["security", "--offline=true", "--no-pager"]).arg(unit_path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let e = exposure(&text).unwrap_or_else(|| panic!("no exposure figure in:\n{text}"));
    eprintln!("systemd-analyze security: exposure {e}");
    let weak: Vec<&str> = text.lines().filter(|l| l.starts_with('✗')).collect();
    assert!(e <= MAX_EXPOSURE, "exposure {e} > {MAX_EXPOSURE}; open points:\n{}", weak.join("\n"));

    // The same figure for a unit without any sandbox is high.
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("bare.service");
    std::fs::write(&bare, "[Service]\nExecStart=/usr/bin/supportd run\n").unwrap();
    let out = analyze().args(["security", "--offline=true", "--no-pager"]).arg(&bare).output().unwrap();
    let e = exposure(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(e > MAX_EXPOSURE, "an unhardened unit scored {e}");
}

/// Proves: the lifecycle lines ops rely on: config checked before start and
/// before the SIGHUP of a reload (in that order), the watchdog, the state
/// directory the example config's store lives in, the credentials.
#[test]
fn unit_checks_config_before_start_and_reload() {
    let unit = std::fs::read_to_string(unit_path()).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    let pos = |l: &str| lines.iter().position(|x| *x == l).unwrap_or_else(|| panic!("missing {l:?}"));
    pos("ExecStartPre=/usr/bin/supportd --config /etc/supportd/supportd.toml check-config");
    let check = pos("ExecReload=/usr/bin/supportd --config /etc/supportd/supportd.toml check-config");
    let hup = pos("ExecReload=/bin/kill -HUP $MAINPID");
    assert!(check < hup, "check-config must run before the SIGHUP");
    pos("WatchdogSec=60");
    pos("NotifyAccess=main");
    pos("StateDirectory=supportd");
    let cfg = std::fs::read_to_string(common::repo().join("config/production.example.toml")).unwrap();
    assert!(cfg.contains("path = \"/var/lib/supportd/supportd.sqlite3\""), "store not in the StateDirectory");
}

/// Proves: permanent errors do not restart forever: the exit statuses of
/// "cannot work" (2 invalid config, 4 newer store schema / taken port, see
/// `supportd::status::EXIT_PERMANENT`) are in `RestartPreventExitStatus=`,
/// and a start limit ends a restart loop of anything else; every
/// `LoadCredential=` has a `SetCredential=` fallback of the same id, so a
/// credential file the config does not use (a relay without AUTH, XOAUTH2)
/// may be missing without stopping the start. (`systemd-analyze verify`
/// and the exposure test above check the same file.)
#[test]
fn permanent_errors_do_not_restart_and_credentials_are_optional() {
    let unit = std::fs::read_to_string(unit_path()).unwrap();
    let values = |key: &str| -> Vec<String> {
        unit.lines().filter_map(|l| l.trim().strip_prefix(&format!("{key}="))).map(str::to_string).collect()
    };
    let prevent: Vec<String> = values("RestartPreventExitStatus")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for code in [2, supportd::status::EXIT_PERMANENT] {
        assert!(prevent.contains(&code.to_string()), "exit {code} not in RestartPreventExitStatus={prevent:?}");
    }
    assert!(!prevent.contains(&"3".to_string()), "exit 3 (poison mail) must restart");
    assert_eq!(values("StartLimitIntervalSec"), ["10min"]);
    assert_eq!(values("StartLimitBurst"), ["5"]);
    let set: Vec<String> = values("SetCredential").iter().map(|v| v.split(':').next().unwrap().to_string()).collect();
    let load = values("LoadCredential");
    assert!(!load.is_empty());
    for l in &load {
        let id = l.split(':').next().unwrap();
        assert!(set.iter().any(|s| s == id), "LoadCredential={l} without a SetCredential={id}: fallback");
    }
}

/// Reads notify datagrams until `want` arrives (collecting all) or `limit`.
fn recv_until(sock: &UnixDatagram, seen: &mut Vec<String>, want: &str, limit: Duration) -> bool {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    while t.elapsed() < limit {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == want);
            seen.push(msg);
            if hit {
                return true;
            }
        }
    }
    false
}

/// Proves: under a notify socket with WATCHDOG_USEC set (what systemd gives
/// a Type=notify unit with WatchdogSec=), `supportd run` says READY=1 after
/// start-up, then sends WATCHDOG=1 repeatedly at half the interval while the
/// loops are healthy, and STOPPING=1 on SIGTERM before exiting 0. (That no
/// ping is sent for an ended or overdue loop: unit tests in src/watchdog.rs.)
#[test]
fn run_notifies_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let cfgdir = dir.path().join("config");
    std::fs::create_dir_all(&cfgdir).unwrap();
    let cfg = cfgdir.join("supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "600000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let ready = recv_until(&sock, &mut seen, "READY=1", Duration::from_secs(60));
    let mut pings = 0;
    let t = Instant::now();
    while ready && pings < 4 && t.elapsed() < Duration::from_secs(10) {
        if recv_until(&sock, &mut seen, "WATCHDOG=1", Duration::from_secs(2)) {
            pings += 1;
        }
    }
    let ping_time = t.elapsed();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let stopping = recv_until(&sock, &mut seen, "STOPPING=1", Duration::from_secs(20));
    let status = child.wait().unwrap();
    let logtext = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(ready, "no READY=1; got {seen:?}\n{logtext}");
    assert_eq!(pings, 4, "WATCHDOG=1 pings; got {seen:?}\n{logtext}");
    // 4 pings at 0.3 s intervals: not a burst, not minutes
    assert!(ping_time >= Duration::from_millis(800) && ping_time < Duration::from_secs(5), "{ping_time:?}");
    assert!(stopping, "no STOPPING=1; got {seen:?}");
    assert!(status.success(), "{status:?}\n{logtext}");
}

/// `supportd run --once` on a Maildir holding two mails, with
/// `JOURNAL_STREAM` set as systemd does for services; returns stderr.
fn run_once_with_journal_stream(rust_log: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfgdir = dir.path().join("config");
    std::fs::create_dir_all(&cfgdir).unwrap();
    let cfg = cfgdir.join("supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let inbox = dir.path().join("var/inbox");
    for d in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(d)).unwrap();
    }
    for (i, id) in ["j1@sw", "j2@sw"].iter().enumerate() {
        let raw = common::mail("m.keller@stadtwerke-musterstadt.de", &format!("Frage {i}"), id, "", "Wie geht das?");
        std::fs::write(inbox.join("new").join(format!("{i}.test")), raw).unwrap();
    }
    let mut cmd = Command::new(BIN);
    cmd.arg("--config").arg(&cfg).args(["run", "--once"]).env("JOURNAL_STREAM", "8:12345");
    match rust_log {
        Some(f) => cmd.env("RUST_LOG", f),
        None => cmd.env_remove("RUST_LOG"),
    };
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// Proves: with no journald listening (the socket missing, as on this
/// machine) the log falls back to stderr even under systemd's
/// `JOURNAL_STREAM`; there is exactly one info line per processed mail with
/// its ticket and disposition; `RUST_LOG=warn` filters those lines out.
#[test]
fn logs_fall_back_to_stderr_one_line_per_mail_and_obey_rust_log() {
    if Path::new(supportd::journal::JOURNAL_SOCKET).exists() {
        eprintln!("journald listens here: the stderr fallback cannot be observed; skipped");
        return;
    }
    let stderr = run_once_with_journal_stream(None);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("processed mail from")).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    for (l, tag) in lines.iter().zip(["MT-000001", "MT-000002"]) {
        assert!(l.contains(" INFO ") && l.contains(&format!(" ticket={tag}")), "{l}");
        assert!(l.contains(" disposition=new_ticket") && l.contains(" message_id=<j"), "{l}");
    }
    let quiet = run_once_with_journal_stream(Some("warn"));
    assert!(!quiet.contains("processed mail from"), "RUST_LOG=warn still shows info lines:\n{quiet}");
}
