//! Test harness: a private Dovecot + Postfix pair on loopback, started by
//! `scripts/mailservers.sh start <dir under /tmp>` and stopped (by pid) on drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use supportd::imap::{ImapSettings, Security};
use supportd::smtp::SmtpSettings;

static INSTALL: Mutex<bool> = Mutex::new(false);

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailservers.sh")
}

fn installed() -> bool {
    Path::new("/usr/sbin/dovecot").exists()
        && Path::new("/usr/lib/postfix/sbin/master").exists()
        && Path::new("/usr/lib/dovecot/lmtp").exists()
}

/// Runs `scripts/mailservers.sh install` once per test process if the
/// servers are missing (fresh CI machine).
pub fn ensure_installed() {
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if *done || installed() {
        *done = true;
        return;
    }
    let out = Command::new("bash").arg(script()).arg("install").output().expect("run mailservers.sh install");
    assert!(
        out.status.success(),
        "mailservers.sh install failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    *done = true;
}

/// One running Dovecot + Postfix instance.
pub struct MailServers {
    pub dir: PathBuf,
    pub env: HashMap<String, String>,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub smtp_port: u16,
    pub submission_port: u16,
    /// Implicit TLS (RFC 8314 submissions) + AUTH.
    pub submissions_port: u16,
    pub ca_file: PathBuf,
    pub password: String,
    /// Wall-clock time of `mailservers.sh start`.
    pub bring_up: Duration,
    stopped: bool,
    _tmp: tempfile::TempDir,
}

pub const SUPPORT: &str = "mein-team-support@roewaplan.de";
pub const CUSTOMER: &str = "kunde@stadtwerke-musterstadt.de";

impl MailServers {
    pub fn start() -> MailServers {
        Self::start_with_env(&[])
    }

    /// `start` with extra environment for mailservers.sh (e.g. `MAILSERVERS_OAUTH2_URL`).
    pub fn start_with_env(vars: &[(&str, &str)]) -> MailServers {
        ensure_installed();
        let tmp = tempfile::Builder::new().prefix("msv-").tempdir_in("/tmp").expect("temp dir under /tmp");
        let dir = tmp.path().to_path_buf();
        let t0 = Instant::now();
        // `output()` also proves the daemons do not keep our pipes open:
        // it would hang otherwise.
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            .envs(vars.iter().copied())
            .output()
            .expect("run mailservers.sh start");
        let bring_up = t0.elapsed();
        if !out.status.success() {
            // best effort cleanup before failing
            let _ = Command::new("bash").arg(script()).arg("stop").arg(&dir).output();
            panic!(
                "mailservers.sh start failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let env = parse_env(&std::fs::read_to_string(dir.join("env")).expect("DIR/env"));
        let port = |k: &str| -> u16 {
            env.get(k)
                .unwrap_or_else(|| panic!("{k} missing in env"))
                .parse()
                .unwrap_or_else(|_| panic!("{k} not a port"))
        };
        MailServers {
            imap_port: port("IMAP_PORT"),
            imaps_port: port("IMAPS_PORT"),
            smtp_port: port("SMTP_PORT"),
            submission_port: port("SUBMISSION_PORT"),
            submissions_port: port("SUBMISSIONS_PORT"),
            ca_file: PathBuf::from(&env["CA_FILE"]),
            password: env["PASSWORD"].clone(),
            env,
            dir,
            bring_up,
            stopped: false,
            _tmp: tmp,
        }
    }

    pub fn imap(&self, user: &str, security: Security) -> ImapSettings {
        let port = match security {
            Security::Tls => self.imaps_port,
            Security::StartTls | Security::Plain => self.imap_port,
        };
        ImapSettings {
            host: "127.0.0.1".into(),
            port,
            security,
            username: user.into(),
            password: self.password.clone(),
            token: None,
            ca_file: Some(self.ca_file.clone()),
            folder: "INBOX".into(),
            processed_folder: Some("Processed".into()),
        }
    }

    /// Port-25-like delivery: plain, no auth.
    pub fn smtp_mx(&self) -> SmtpSettings {
        plain_smtp(self.smtp_port)
    }

    /// Submission: STARTTLS required + AUTH.
    pub fn smtp_submission(&self, user: &str) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.submission_port,
            security: Security::StartTls,
            username: Some(user.into()),
            password: Some(self.password.clone()),
            token: None,
            ca_file: Some(self.ca_file.clone()),
        }
    }

    /// Submissions: implicit TLS + AUTH.
    pub fn smtp_submissions(&self, user: &str) -> SmtpSettings {
        SmtpSettings { port: self.submissions_port, security: Security::Tls, ..self.smtp_submission(user) }
    }

    /// Maildir of a user (Dovecot layout `mail/<domain>/<local>`).
    pub fn maildir(&self, user: &str) -> PathBuf {
        let (local, domain) = user.split_once('@').expect("user@domain");
        self.dir.join("mail").join(domain).join(local)
    }

    /// Message files (new + cur) in a maildir folder ("" = INBOX).
    pub fn maildir_files(&self, user: &str, folder: &str) -> Vec<String> {
        let base = if folder.is_empty() { self.maildir(user) } else { self.maildir(user).join(format!(".{folder}")) };
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(base.join(sub)) {
                for e in rd.flatten() {
                    files.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
                }
            }
        }
        files.sort();
        files
    }

    /// Polls the maildir until `n` messages are there (delivery is async).
    pub fn wait_for_files(&self, user: &str, folder: &str, n: usize, max: Duration) -> Vec<String> {
        let t0 = Instant::now();
        loop {
            let files = self.maildir_files(user, folder);
            if files.len() >= n || t0.elapsed() > max {
                return files;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Master pids (from the pid files) and all their descendants, with the
    /// process start time so reused pids are not mistaken for ours.
    pub fn processes(&self) -> Vec<(u32, u64)> {
        let mut roots = Vec::new();
        for k in ["DOVECOT_PID_FILE", "POSTFIX_PID_FILE"] {
            if let Some(pid) = std::fs::read_to_string(&self.env[k]).ok().and_then(|s| s.trim().parse::<u32>().ok()) {
                roots.push(pid);
            }
        }
        let table = proc_table();
        let mut want: Vec<u32> = roots.clone();
        loop {
            let before = want.len();
            for (pid, (ppid, _)) in &table {
                if want.contains(ppid) && !want.contains(pid) {
                    want.push(*pid);
                }
            }
            if want.len() == before {
                break;
            }
        }
        want.into_iter().filter_map(|p| table.get(&p).map(|(_, st)| (p, *st))).collect()
    }

    pub fn stop(&mut self) -> std::process::Output {
        self.stopped = true;
        Command::new("bash").arg(script()).arg("stop").arg(&self.dir).output().expect("run mailservers.sh stop")
    }

    pub fn log_tail(&self) -> String {
        let mut s = String::new();
        for f in ["dovecot.log", "postfix.log"] {
            let text = std::fs::read_to_string(self.dir.join("log").join(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(20);
            s.push_str(&format!("--- {f}\n{}\n", lines[from..].join("\n")));
        }
        s
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("mail server logs of {}:\n{}", self.dir.display(), self.log_tail());
        }
        if !self.stopped {
            let out = self.stop();
            if !out.status.success() {
                eprintln!("mailservers.sh stop failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}

/// Plain SMTP to `127.0.0.1:port`, no AUTH.
pub fn plain_smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        username: None,
        password: None,
        token: None,
        ca_file: None,
    }
}

/// pid -> (ppid, starttime) for live, non-zombie processes.
pub fn proc_table() -> HashMap<u32, (u32, u64)> {
    let mut t = HashMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return t;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // fields after "(comm) ": state ppid ... starttime is field 22 overall
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 20 || f[0] == "Z" || f[0] == "X" {
            continue;
        }
        let (Ok(ppid), Ok(start)) = (f[1].parse::<u32>(), f[19].parse::<u64>()) else {
            continue;
        };
        t.insert(pid, (ppid, start));
    }
    t
}

pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A small RFC 5322 message with a unique Message-ID.
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <{nanos}.test@supportd.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
