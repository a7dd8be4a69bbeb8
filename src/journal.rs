//! Logging to journald with structured fields, or to stderr.
//!
//! Under systemd (the journal's socket exists and `$JOURNAL_STREAM` says our
//! stderr is connected to the journal) every log event goes to journald
//! over its native protocol, with its fields as journal fields:
//!
//! | tracing field | journal field | what |
//! |---|---|---|
//! | (level) | `PRIORITY` | 3 error, 4 warn, 6 info, 7 debug/trace |
//! | (message) | `MESSAGE` | the log line |
//! | (target) | `TARGET` | the module, e.g. `supportd::pipeline` |
//! | `ticket` | `TICKET` | `MT-000123` (or `-`) |
//! | `disposition` | `DISPOSITION` | `new_ticket`, `follow_up`, … |
//! | `message_id` | `MAIL_MESSAGE_ID` | the mail's `Message-ID` header |
//! | any other `name` | `NAME` (upper case, `[A-Z0-9_]`) | |
//!
//! An event with a `disposition` (one per processed mail) also carries
//! `MESSAGE_ID=`[`MAIL_PROCESSED`]: journald's `MESSAGE_ID` is a 128-bit
//! *event type* id, so `journalctl MESSAGE_ID=…` lists every processed mail.
//! The mail's own Message-ID therefore goes to `MAIL_MESSAGE_ID`.
//! Everywhere else (a terminal, tests, no journald) the usual text on stderr.

use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;

/// Where journald listens for native-protocol datagrams.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
/// `MESSAGE_ID` of the one-per-mail "processed" line.
pub const MAIL_PROCESSED: &str = "8f1b7a4c2e9d4b0e9a6c3d5f7e21b4a9";
/// Longest value sent (a datagram has a size limit; longer values are cut).
const MAX_VALUE: usize = 16 * 1024;

/// Journal field name for a tracing field name.
pub fn field_name(name: &str) -> String {
    match name {
        "message" => "MESSAGE".into(),
        "message_id" => "MAIL_MESSAGE_ID".into(),
        _ => {
            let mut s: String =
                name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
            // journald ignores client fields starting with `_` or a digit
            if s.starts_with(|c: char| c == '_' || c.is_ascii_digit()) {
                s.insert(0, 'F');
            }
            s.truncate(64);
            s
        }
    }
}

/// syslog priority of a level.
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// The journal fields of one event, in order.
pub fn fields_of(event: &Event<'_>) -> Vec<(String, String)> {
    let meta = event.metadata();
    let mut v = FieldVisitor::default();
    event.record(&mut v);
    let mut out = vec![
        ("PRIORITY".to_string(), priority(meta.level()).to_string()),
        ("SYSLOG_IDENTIFIER".to_string(), "supportd".to_string()),
        ("TARGET".to_string(), meta.target().to_string()),
    ];
    if v.fields.iter().any(|(k, _)| k == "DISPOSITION") {
        out.push(("MESSAGE_ID".into(), MAIL_PROCESSED.into()));
    }
    if let (Some(f), Some(l)) = (meta.file(), meta.line()) {
        out.push(("CODE_FILE".into(), f.into()));
        out.push(("CODE_LINE".into(), l.to_string()));
    }
    out.push(("MESSAGE".into(), v.message));
    out.extend(v.fields);
    out
}

/// One native-protocol datagram (`NAME=value\n`, or the length-prefixed
/// form for values with a newline).
pub fn encode(fields: &[(String, String)]) -> Vec<u8> {
    let mut buf = Vec::new();
    for (k, v) in fields {
        let mut end = v.len().min(MAX_VALUE);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        let v = &v[..end];
        buf.extend_from_slice(k.as_bytes());
        if v.contains('\n') {
            buf.push(b'\n');
            buf.extend_from_slice(&(v.len() as u64).to_le_bytes());
        } else {
            buf.push(b'=');
        }
        buf.extend_from_slice(v.as_bytes());
        buf.push(b'\n');
    }
    buf
}

#[derive(Default)]
struct FieldVisitor {
    message: String,
    fields: Vec<(String, String)>,
}

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.put(field, s);
    }
}

impl FieldVisitor {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.fields.push((field_name(field.name()), value));
        }
    }
}

/// A tracing layer writing to journald. A failed send writes the line to
/// stderr instead, so nothing is lost when journald goes away.
pub struct JournalLayer {
    sock: UnixDatagram,
}

impl JournalLayer {
    /// Connect to journald's socket at `path` (fails when nobody listens).
    pub fn connect(path: &Path) -> std::io::Result<JournalLayer> {
        let sock = UnixDatagram::unbound()?;
        sock.connect(path)?;
        Ok(JournalLayer { sock })
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let fields = fields_of(event);
        if self.sock.send(&encode(&fields)).is_err() {
            let msg = fields.iter().find(|(k, _)| k == "MESSAGE").map(|(_, v)| v.as_str()).unwrap_or("");
            eprintln!("supportd: {} {msg}", event.metadata().level());
        }
    }
}

/// Should the log go to journald? Its socket exists and systemd connected
/// our stderr to the journal (`$JOURNAL_STREAM`, set for services): an
/// operator's `supportd tickets list` in a shell keeps its messages on the
/// terminal.
pub fn wanted(socket: &Path) -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() && socket.exists()
}

/// Install the global subscriber: journald (see [`wanted`]) or stderr, both
/// filtered by `RUST_LOG` (else `default_filter`). Returns where logs go.
pub fn init(default_filter: &str) -> &'static str {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let socket = Path::new(JOURNAL_SOCKET);
    if wanted(socket) {
        match JournalLayer::connect(socket) {
            Ok(layer) => {
                tracing_subscriber::registry().with(filter).with(layer).init();
                return "journald";
            }
            Err(e) => eprintln!("supportd: journald at {JOURNAL_SOCKET}: {e}; logging to stderr"),
        }
    }
    // colours only on a terminal (not in a pipe, a file or the journal)
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    "stderr"
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    /// Parse a native-protocol datagram back into fields.
    fn decode(mut b: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let nl = b.iter().position(|&c| c == b'\n').unwrap();
            let line = &b[..nl];
            if let Some(eq) = line.iter().position(|&c| c == b'=') {
                out.push((
                    String::from_utf8(line[..eq].to_vec()).unwrap(),
                    String::from_utf8(line[eq + 1..].to_vec()).unwrap(),
                ));
                b = &b[nl + 1..];
            } else {
                let name = String::from_utf8(line.to_vec()).unwrap();
                let len = u64::from_le_bytes(b[nl + 1..nl + 9].try_into().unwrap()) as usize;
                let v = String::from_utf8(b[nl + 9..nl + 9 + len].to_vec()).unwrap();
                out.push((name, v));
                b = &b[nl + 9 + len + 1..];
            }
        }
        out
    }

    /// Proves: the one-per-mail line reaches a journald-style socket as one
    /// datagram with TICKET, DISPOSITION, MAIL_MESSAGE_ID, the processed-mail
    /// MESSAGE_ID, PRIORITY 6 and the message; a multi-line message survives
    /// the length-prefixed encoding.
    #[test]
    fn processed_mail_line_has_journal_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let layer = JournalLayer::connect(&path).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                message_id = "abc@stadtwerke-musterstadt.de",
                ticket = "MT-000042",
                disposition = "new_ticket",
                "processed mail from maildir:1.test"
            );
            tracing::error!("two\nlines");
        });
        let mut buf = vec![0u8; 65536];
        let n = server.recv(&mut buf).unwrap();
        let f = decode(&buf[..n]);
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("TICKET"), Some("MT-000042"), "{f:?}");
        assert_eq!(get("DISPOSITION"), Some("new_ticket"));
        assert_eq!(get("MAIL_MESSAGE_ID"), Some("abc@stadtwerke-musterstadt.de"));
        assert_eq!(get("MESSAGE_ID"), Some(MAIL_PROCESSED));
        assert_eq!(get("PRIORITY"), Some("6"));
        assert_eq!(get("SYSLOG_IDENTIFIER"), Some("supportd"));
        assert_eq!(get("MESSAGE"), Some("processed mail from maildir:1.test"));

        let n = server.recv(&mut buf).unwrap();
        let f = decode(&buf[..n]);
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MESSAGE"), Some("two\nlines"));
        assert_eq!(get("PRIORITY"), Some("3"));
        assert_eq!(get("MESSAGE_ID"), None, "only processed-mail lines carry the MESSAGE_ID");
    }

    /// Proves: field names become valid journal names (upper case, no
    /// leading `_` or digit, which journald would drop or refuse).
    #[test]
    fn field_names_are_valid_journal_names() {
        assert_eq!(field_name("ticket"), "TICKET");
        assert_eq!(field_name("disposition"), "DISPOSITION");
        assert_eq!(field_name("message_id"), "MAIL_MESSAGE_ID");
        assert_eq!(field_name("outbox.id"), "OUTBOX_ID");
        assert_eq!(field_name("_private"), "F_PRIVATE");
        assert_eq!(field_name("2fa"), "F2FA");
    }

    /// Proves: without a listening journald the layer cannot be built (the
    /// caller then logs to stderr), and `wanted` is false without the socket.
    #[test]
    fn no_journald_means_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing.sock");
        assert!(JournalLayer::connect(&missing).is_err());
        assert!(!wanted(&missing));
    }
}
