//! The daemon (`supportd run`, the built binary) as a child process, its
//! config for the loopback mail servers, and looks into its store. Shared by
//! the live tests of the [proof] issue (tests/crash_consistency.rs,
//! tests/faults.rs, tests/security.rs) and tests/live_daemon.rs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::mailservers::{CUSTOMER, MailServers, SUPPORT};

pub const BIN: &str = env!("CARGO_BIN_EXE_supportd");
/// Customers of the shipped config that exist as users on the test servers.
pub const CUSTOMERS: [&str; 3] = [CUSTOMER, "it@stadtwerke-musterstadt.de", "jane@harbour-analytics.co.uk"];

/// What a child `supportd ingest --no-send FILE` under `/usr/bin/time -v` did.
pub struct TimedIngest {
    /// supportd's stderr (its log, then time's report).
    pub stderr: String,
    /// Peak RSS in KB, from `/usr/bin/time -v`.
    pub rss_kb: u64,
    pub took: Duration,
}

/// Runs `bin --config CONFIG ingest --no-send FILE` under `/usr/bin/time -v`
/// with `RUST_LOG=warn`; panics (naming the file and the last log line) if it
/// fails. The memory and time bounds of the hostile-mail tests are read from it.
pub fn timed_ingest(bin: &Path, config: &Path, file: &Path) -> TimedIngest {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .arg("--config")
        .arg(config)
        .args(["ingest", "--no-send"])
        .arg(file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ingest {}: {}", file.display(), stderr.lines().last().unwrap_or(""));
    let rss_kb = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.trim().parse().ok())
        .expect("peak RSS from /usr/bin/time -v");
    TimedIngest { stderr, rss_kb, took }
}

// --- config --------------------------------------------------------------------

/// `[mailbox]` for an IMAP server at `port` (`security` "plain" needs no CA).
pub fn imap_toml(port: u16, security: &str, ca: Option<&Path>, password: &str, processed_folder: &str) -> String {
    let ca = match ca {
        Some(p) if security != "plain" => format!("ca_file = {p:?}\n"),
        _ => String::new(),
    };
    format!(
        "[mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\n\
         username = \"{SUPPORT}\"\npassword = \"{password}\"\n{ca}folder = \"INBOX\"\n\
         processed_folder = \"{processed_folder}\"\nidle = true\npoll_interval_secs = 60\n"
    )
}

pub fn mailbox_toml(ms: &MailServers, security: &str, processed_folder: &str) -> String {
    let port = if security == "tls" { ms.imaps_port } else { ms.imap_port };
    imap_toml(port, security, Some(&ms.ca_file), &ms.password, processed_folder)
}

/// Port-25 style: plain, no AUTH.
pub fn transport_mx(ms: &MailServers) -> String {
    format!("[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n", ms.smtp_port)
}

/// `.eml` files into `dir`.
pub fn transport_file(dir: &Path) -> String {
    format!("[transport]\nkind = \"file\"\npath = {dir:?}\n")
}

/// The shipped config with mailbox, transport and store (`store_path`,
/// relative to `dir` or absolute) replaced, and `extra` appended (default:
/// the per-sender answer limits raised, tests send many mails from few senders).
pub fn write_config_with(dir: &Path, mailbox: &str, transport: &str, store_path: &str, extra: Option<&str>) -> PathBuf {
    let text = std::fs::read_to_string(super::repo().join("config/supportd.toml")).unwrap();
    let replace = |text: String, old: &str, new: &str| {
        assert!(text.contains(old), "shipped config lacks {old:?}");
        text.replace(old, new)
    };
    let text = replace(text, "[mailbox]\nkind = \"maildir\"\npath = \"../var/inbox\"\n", mailbox);
    let text = replace(text, "[transport]\nkind = \"file\"\npath = \"../var/outbox\"\n", transport);
    let text =
        replace(text, "[store]\npath = \"../var/supportd.sqlite3\"\n", &format!("[store]\npath = {store_path:?}\n"));
    let extra = extra.unwrap_or("[limits]\nauto_replies_per_hour = 10000\nauto_replies_per_day = 100000\n");
    let text = format!("{text}\n{extra}");
    let path = dir.join("supportd.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn write_config(dir: &Path, mailbox: &str, transport: &str) -> PathBuf {
    write_config_with(dir, mailbox, transport, "supportd.sqlite3", None)
}

// --- the daemon as a child process ----------------------------------------------

pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `supportd run`; returns once the IMAP loop is connected.
    pub fn start(config: &Path) -> Daemon {
        let log = config.parent().unwrap().join("daemon.log");
        let before = std::fs::read_to_string(log).unwrap_or_default().matches("IMAP connected").count();
        let d = Daemon::spawn(config);
        d.wait_log_count("IMAP connected", before + 1, Duration::from_secs(20));
        d
    }

    /// Starts `supportd run`; stderr (the log) is appended to `DIR/daemon.log`.
    pub fn spawn(config: &Path) -> Daemon {
        Daemon::spawn_with(config, &[])
    }

    pub fn spawn_with(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let log = config.parent().unwrap().join("daemon.log");
        let f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(f);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon { child: Some(cmd.spawn().unwrap()), log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn count(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }

    pub fn wait_log_count(&self, needle: &str, n: usize, max: Duration) {
        let t0 = Instant::now();
        while self.count(needle) < n {
            assert!(t0.elapsed() < max, "no {needle:?} (x{n}) in the daemon log after {max:?}:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Still running (not exited)?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGTERM; returns the exit status and how long the exit took.
    pub fn terminate(&mut self, max: Duration) -> (ExitStatus, Duration) {
        let t0 = Instant::now();
        let ok = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status().unwrap();
        assert!(ok.success());
        let mut child = self.child.take().unwrap();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return (st, t0.elapsed());
            }
            if t0.elapsed() > max {
                let _ = child.kill();
                let _ = child.wait();
                panic!("daemon still running {max:?} after SIGTERM:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = self.log_text();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- daemon log tail\n{}", lines[lines.len().saturating_sub(40)..].join("\n"));
        }
        self.kill();
    }
}

/// `supportd --config C ARGS... --json`: one JSON object per line.
pub fn cli_json(config: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(BIN).arg("--config").arg(config).args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub fn store_path(config: &Path) -> PathBuf {
    config.parent().unwrap().join("supportd.sqlite3")
}

/// A read-only look into a store (WAL: does not disturb the daemon).
pub fn query_i64_at(db: &Path, sql: &str) -> i64 {
    if !db.exists() {
        return 0;
    }
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

pub fn query_i64(config: &Path, sql: &str) -> i64 {
    query_i64_at(&store_path(config), sql)
}

pub fn wait_until(what: &str, max: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < max, "timed out after {max:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

// --- mail -----------------------------------------------------------------------

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{nanos}.{}.{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// A customer mail to the support address; returns (Message-ID without <>, raw).
pub fn customer_mail(from: &str, subject: &str, body: &str, extra: &str) -> (String, Vec<u8>) {
    let id = format!("{}@kunde.test", unique());
    let raw = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    );
    (id, raw.into_bytes())
}

/// Drops a mail straight into a user's Maildir `new/` (what LMTP would do).
pub fn write_into_maildir(ms: &MailServers, user: &str, raw: &[u8]) {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(ms.dir.join("mail")).unwrap();
    let mut p = ms.dir.join("mail");
    for part in ms.maildir(user).strip_prefix(ms.dir.join("mail")).unwrap().components() {
        p.push(part);
        if !p.exists() {
            std::fs::create_dir(&p).unwrap();
            std::os::unix::fs::chown(&p, Some(owner.uid()), Some(owner.gid())).unwrap();
        }
    }
    for sub in ["new", "cur", "tmp"] {
        let d = ms.maildir(user).join(sub);
        if !d.exists() {
            std::fs::create_dir(&d).unwrap();
            std::os::unix::fs::chown(&d, Some(owner.uid()), Some(owner.gid())).unwrap();
        }
    }
    let name = format!("{}.M1P1.supportd-test", unique());
    let tmp = ms.maildir(user).join("tmp").join(&name);
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(raw).unwrap();
    f.sync_all().unwrap();
    std::os::unix::fs::chown(&tmp, Some(owner.uid()), Some(owner.gid())).unwrap();
    std::fs::rename(&tmp, ms.maildir(user).join("new").join(&name)).unwrap();
}

/// The header block of every message file in a user's folder ("" = INBOX),
/// read from disk (fast for thousands of mails; nothing is touched).
pub fn maildir_headers(ms: &MailServers, user: &str, folder: &str) -> Vec<String> {
    let base = if folder.is_empty() { ms.maildir(user) } else { ms.maildir(user).join(format!(".{folder}")) };
    ms.maildir_files(user, folder)
        .into_iter()
        .filter_map(|f| std::fs::read(base.join(f)).ok())
        .map(|raw| {
            let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
            text.split("\n\n").next().unwrap_or("").to_string()
        })
        .collect()
}

/// One header of a header block (unfolded, trimmed), case-insensitive.
pub fn header_of(block: &str, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for line in block.lines() {
        if let Some(v) = out.as_mut()
            && (line.starts_with(' ') || line.starts_with('\t'))
        {
            v.push(' ');
            v.push_str(line.trim());
            continue;
        }
        if out.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            out = Some(v.trim().to_string());
        }
    }
    out
}
