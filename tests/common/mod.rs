//! Test harness: a fresh store and pipeline per test on the shipped default
//! config (paths moved into a temporary directory), driving the same
//! `process` function as the daemon and `ingest`.
#![allow(dead_code)]

pub mod daemon;
pub mod imap_peer;
pub mod inbox;
pub mod mailservers;
pub mod mutt;
pub mod smtp_peer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use supportd::config::Config;
use supportd::pipeline::{self, Outcome, Pipeline};
use supportd::store::{self, Store};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub p: Pipeline,
}

/// `supportd --config CONFIG ARGS...` (the test's binary), with neither the
/// systemd credentials directory nor `SUPPORTD_CONFIG` of the environment.
pub fn supportd(config: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_supportd"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("SUPPORTD_CONFIG")
        .output()
        .unwrap()
}

/// The JSON lines of a command that must have succeeded.
pub fn ok_json(o: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Tuesday 24.11.2026 10:00 Berlin: inside support hours.
pub fn tuesday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped default config with `extra` TOML appended, its var/ paths in a temp dir.
pub fn config_text(extra: &str) -> String {
    let text = std::fs::read_to_string(repo().join("config/supportd.toml")).unwrap();
    format!("{text}\n{extra}")
}

impl Env {
    pub fn new() -> Env {
        Env::with_config("")
    }

    /// The default config with `from` replaced by `to` (e.g. one key of a table).
    pub fn with_replaced(from: &str, to: &str) -> Env {
        let text = std::fs::read_to_string(repo().join("config/supportd.toml")).unwrap();
        assert!(text.contains(from), "the default config has no {from:?}");
        Env::with_text(&text.replace(from, to))
    }

    /// `extra` is TOML appended to the default config (new tables only).
    pub fn with_config(extra: &str) -> Env {
        Env::with_text(&config_text(extra))
    }

    fn with_text(text: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let cfgdir = dir.path().join("config");
        std::fs::create_dir_all(&cfgdir).unwrap();
        let cfg = Config::from_str(text, "test.toml", &cfgdir).unwrap();
        let store = Store::open(&cfg.store_path).unwrap();
        let p = Pipeline::new(cfg, store.conn()).unwrap();
        Env { dir, store, p }
    }

    /// Process one mail in its own transaction at `now`.
    pub fn ingest_at(&mut self, raw: &[u8], now: DateTime<Utc>) -> Outcome {
        pipeline::process_batch(&self.p, &mut self.store, &[("test".to_string(), raw.to_vec())], now).unwrap().remove(0)
    }

    /// What the outbox worker does after the transport's 250: every queued
    /// row is marked sent at `now` (through the same store function).
    pub fn deliver_at(&mut self, now: DateTime<Utc>) {
        for o in self.outbox().into_iter().filter(|o| o.state == "queued") {
            store::outbox_mark_sent(self.store.conn(), o.id, now).unwrap();
        }
    }

    pub fn ingest(&mut self, raw: &[u8]) -> Outcome {
        self.ingest_at(raw, tuesday_morning())
    }

    pub fn ingest_file(&mut self, path: &Path) -> Outcome {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.ingest(&raw)
    }

    pub fn tickets(&self) -> Vec<store::Ticket> {
        store::list_tickets(self.store.conn(), None, None).unwrap()
    }

    pub fn ticket(&self, n: i64) -> store::Ticket {
        store::get_ticket(self.store.conn(), n).unwrap().unwrap()
    }

    pub fn outbox(&self) -> Vec<store::OutboxEntry> {
        store::list_outbox(self.store.conn(), None).unwrap()
    }

    /// Outbox rows caused by the message row `row`.
    pub fn outbox_for_row(&self, row: i64) -> Vec<(String, Vec<String>)> {
        let mut stmt =
            self.store.conn().prepare("SELECT kind, recipients FROM outbox WHERE cause_row = ?1 ORDER BY id").unwrap();
        stmt.query_map([row], |r| {
            let rc: String = r.get(1)?;
            Ok((r.get::<_, String>(0)?, serde_json::from_str(&rc).unwrap()))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    /// The raw bytes of an outgoing mail.
    pub fn outbox_raw(&self, id: i64) -> String {
        let raw: Vec<u8> = supportd::store::outbox_raw(self.store.conn(), id).unwrap().unwrap();
        // As a reader sees it: the header block, then the decoded body.
        let text = String::from_utf8_lossy(&raw).into_owned();
        let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
        let msg = mail_parser::MessageParser::default().parse(&raw).expect("our mail parses");
        format!("{head}\n\n{}", msg.body_text(0).unwrap_or_default().replace("\r\n", "\n"))
    }

    /// Outbox rows of one kind, in order.
    pub fn sent(&self, kind: &str) -> Vec<store::OutboxEntry> {
        self.outbox().into_iter().filter(|o| o.kind == kind).collect()
    }

    /// The Message-ID of the newest outbox row of `kind`.
    pub fn last_id(&self, kind: &str) -> String {
        self.sent(kind).last().unwrap_or_else(|| panic!("no {kind} mail")).message_id.clone()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// Base64 of `data` on one line (the tests build encoded headers and parts
/// by hand; no crate for it).
pub fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() / 3 * 4 + 4);
    for c in data.chunks(3) {
        let v =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= c.len() { A[((v >> (18 - 6 * k)) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// Base64 of `data` in 76-character lines, each ended by CRLF (a MIME body).
pub fn b64_lines(data: &[u8]) -> String {
    let one = b64(data);
    let mut out = String::with_capacity(one.len() + one.len() / 38 + 2);
    for line in one.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// A plain customer mail, CRLF, with optional extra headers.
pub fn mail(from: &str, subject: &str, message_id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    let mut s = format!(
        "From: {from}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Tue, 24 Nov 2026 09:55:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    );
    for h in extra_headers.lines().filter(|l| !l.is_empty()) {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(&body.replace('\n', "\r\n"));
    s.into_bytes()
}

/// The mail bombs: 10,000 MIME parts, 1,000 nested levels, a 30 MB
/// base64 attachment (each with its name).
pub fn mail_bombs() -> [(&'static str, String); 3] {
    let mut parts = String::from(
        "From: a@example.org\r\nSubject: parts\r\nMessage-ID: <bomb1@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
    );
    for _ in 0..10_000 {
        parts.push_str("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n");
    }
    parts.push_str("--b--\r\n");
    let mut nested = String::from("From: a@example.org\r\nSubject: nested\r\nMessage-ID: <bomb2@x>\r\n");
    for i in 0..1000 {
        nested.push_str(&format!("Content-Type: multipart/mixed; boundary=n{i}\r\n\r\n--n{i}\r\n"));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\nx\r\n");
    let mut big = String::from(
        "From: a@example.org\r\nSubject: big\r\nMessage-ID: <bomb3@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let line = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n";
    while big.len() < 30 * 1024 * 1024 {
        big.push_str(line);
    }
    big.push_str("--b--\r\n");
    [("10,000 parts", parts), ("1,000 levels", nested), ("30 MB", big)]
}

/// An outgoing mail as a reader sees it.
pub fn reader_view(raw: &[u8]) -> String {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default().parse(raw).expect("our mail parses");
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut out = String::new();
    for name in ["From", "To", "Subject", "In-Reply-To", "References", "Auto-Submitted", "Precedence"] {
        let value: Vec<String> = head
            .split("\r\n")
            .fold(Vec::<String>::new(), |mut acc, l| {
                if l.starts_with(' ') || l.starts_with('\t') {
                    if let Some(last) = acc.last_mut() {
                        last.push(' ');
                        last.push_str(l.trim());
                    }
                } else {
                    acc.push(l.to_string());
                }
                acc
            })
            .into_iter()
            .filter_map(|l| {
                l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
            })
            .collect();
        for v in value {
            let v = if name == "Subject" { msg.subject().unwrap_or("").to_string() } else { v };
            out.push_str(&format!("{name}: {v}\n"));
        }
    }
    out.push('\n');
    out.push_str(&msg.body_text(0).unwrap_or_default().replace("\r\n", "\n"));
    for a in msg.attachments() {
        let data = a.contents();
        out.push_str(&format!(
            "\n[attachment {} {} bytes sha256 {}]",
            a.attachment_name().unwrap_or("?"),
            data.len(),
            &supportd::parse::sha256_hex(data)[..16]
        ));
    }
    out.push('\n');
    out
}
