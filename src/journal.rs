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
//! Everywhere else (a terminal, tests, no journald) text lines on stderr.
//!
//! The text says what happened in the message itself, Postfix-style: the
//! fields follow it as `key=value` (`message_id=<…>`), unless the message
//! already names them (`sent outbox=12 kind=ack to=<a@b> status=sent`); the
//! same text is journald's `MESSAGE`.
//!
//! - `SUPPORTD_LOG_FORMAT=json`: one JSON object per line on stderr
//!   (timestamp, level, target, message, fields), whatever `RUST_LOG` says;
//!   `text`: text on stderr even under systemd; unset: journald under
//!   systemd, else text.
//! - `NO_COLOR` (set and not empty): no ANSI colours, also on a terminal.
//! - A `RUST_LOG` that does not parse is reported in one line on stderr and
//!   the default level is used.
//! - No secret and no mail text at any level: the wire-level crates
//!   ([`WIRE_CRATES`]: the IMAP and SMTP protocol and TLS, whose trace
//!   output holds `LOGIN "user" "password"`, `AUTH` and fetched mail bodies)
//!   are capped at INFO whatever `RUST_LOG` asks for.

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

/// Crates whose DEBUG/TRACE output carries protocol bytes (passwords,
/// tokens, mail bodies): never logged below INFO.
pub const WIRE_CRATES: [&str; 7] =
    ["async_imap", "imap_proto", "lettre", "rustls", "tokio_rustls", "mail_parser", "mail_builder"];

/// Whether an event of `target` at `level` may be logged at all (see [`WIRE_CRATES`]).
pub fn allowed(target: &str, level: &Level) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    *level <= Level::INFO || !WIRE_CRATES.contains(&root)
}

/// A field value as Postfix writes it: `message_id=<id>`, bare words bare,
/// anything with a blank or a quote quoted.
fn field_value(name: &str, v: &str) -> String {
    let v = if matches!(name, "message_id" | "MAIL_MESSAGE_ID") && v != "-" && !v.starts_with('<') {
        format!("<{v}>")
    } else {
        v.to_string()
    };
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '"') { format!("{v:?}") } else { v }
}

/// The log line's text: the message, then `key=value` for every field
/// the message does not already name.
pub fn line_text(message: &str, fields: &[(String, String)]) -> String {
    let mut out = message.to_string();
    for (k, v) in fields {
        let key = k.to_ascii_lowercase();
        if out.contains(&format!("{key}=")) {
            continue;
        }
        out.push(' ');
        out.push_str(&key);
        out.push('=');
        out.push_str(&field_value(&key, v));
    }
    out
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
    out.push(("MESSAGE".into(), line_text(&v.message, &v.raw)));
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
    /// Journal names.
    fields: Vec<(String, String)>,
    /// Tracing names.
    raw: Vec<(String, String)>,
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
            self.fields.push((field_name(field.name()), value.clone()));
            self.raw.push((field.name().to_string(), value));
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

/// The text format of stderr: `2026-11-24T09:00:00.123Z  INFO supportd::outbox: <text>`
/// with [`line_text`] (spans are not printed: the events carry their fields).
struct TextFormat {
    ansi: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut v = FieldVisitor::default();
        event.record(&mut v);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let level = format!("{:>5}", meta.level().as_str());
        let level = if self.ansi {
            let colour = match *meta.level() {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                Level::DEBUG => "34",
                _ => "35",
            };
            format!("\x1b[{colour}m{level}\x1b[0m")
        } else {
            level
        };
        writeln!(w, "{now} {level} {}: {}", meta.target(), line_text(&v.message, &v.raw))
    }
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// journald under systemd, else text.
    Auto,
    Text,
    Json,
}

/// `SUPPORTD_LOG_FORMAT`; a value that is not `text`, `json` or `journal`
/// is reported (the message) and `Auto` used.
pub fn format_from(value: Option<&str>) -> (Format, Option<String>) {
    match value.map(str::trim) {
        None | Some("") | Some("auto") | Some("journal") => (Format::Auto, None),
        Some("text") => (Format::Text, None),
        Some("json") => (Format::Json, None),
        Some(other) => (
            Format::Auto,
            Some(format!("supportd: SUPPORTD_LOG_FORMAT={other:?} is not text, json or journal; using the default")),
        ),
    }
}

/// The `RUST_LOG` filter, or the default with a one-line complaint.
pub fn filter_from(value: Option<&str>, default_filter: &str) -> (tracing_subscriber::EnvFilter, Option<String>) {
    use tracing_subscriber::EnvFilter;
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => (EnvFilter::new(default_filter), None),
        Some(v) => match EnvFilter::builder().parse(v) {
            Ok(f) => (f, None),
            Err(e) => (
                EnvFilter::new(default_filter),
                Some(format!("supportd: RUST_LOG={v:?} is not a valid filter ({e}); logging at {default_filter:?}")),
            ),
        },
    }
}

/// Colours: only on a terminal, and not with `NO_COLOR` set (no-color.org).
pub fn colours(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Install the global subscriber: journald (see [`wanted`]), text or JSON
/// on stderr (`SUPPORTD_LOG_FORMAT`), filtered by `RUST_LOG` (else
/// `default_filter`) and by [`allowed`]. Returns where logs go.
pub fn init(default_filter: &str) -> &'static str {
    use tracing_subscriber::prelude::*;
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, bad_filter) = filter_from(rust_log.as_deref(), default_filter);
    let (format, bad_format) = format_from(std::env::var("SUPPORTD_LOG_FORMAT").ok().as_deref());
    for complaint in [bad_filter, bad_format].into_iter().flatten() {
        eprintln!("{complaint}");
    }
    let cap = tracing_subscriber::filter::filter_fn(|meta| allowed(meta.target(), meta.level()));
    let base = tracing_subscriber::registry().with(filter).with(cap);
    let socket = Path::new(JOURNAL_SOCKET);
    if format == Format::Auto && wanted(socket) {
        match JournalLayer::connect(socket) {
            Ok(layer) => {
                base.with(layer).init();
                return "journald";
            }
            Err(e) => eprintln!("supportd: journald at {JOURNAL_SOCKET}: {e}; logging to stderr"),
        }
    }
    if format == Format::Json {
        let json = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr);
        base.with(json).init();
        return "stderr (json)";
    }
    let ansi = colours(std::io::IsTerminal::is_terminal(&std::io::stderr()), std::env::var_os("NO_COLOR").as_deref());
    let text = tracing_subscriber::fmt::layer().event_format(TextFormat { ansi }).with_writer(std::io::stderr);
    base.with(text).init();
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
        assert_eq!(
            get("MESSAGE"),
            Some(
                "processed mail from maildir:1.test message_id=<abc@stadtwerke-musterstadt.de> ticket=MT-000042 \
                 disposition=new_ticket"
            )
        );

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

    /// Proves: the text names what happened Postfix-style (fields the
    /// message already names are not repeated, Message-IDs in <>, values
    /// with blanks quoted); the wire crates are capped at INFO whatever the
    /// filter; a bad RUST_LOG and a bad SUPPORTD_LOG_FORMAT are reported in
    /// one line each; NO_COLOR turns the colours off.
    #[test]
    fn text_caps_and_settings() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            line_text("sent outbox=12 kind=ack to=<a@b> status=sent", &[f("outbox", "12"), f("kind", "ack")]),
            "sent outbox=12 kind=ack to=<a@b> status=sent"
        );
        assert_eq!(
            line_text("processed mail from imap:INBOX/1/7", &[f("message_id", "x@y"), f("reason", "too big")]),
            "processed mail from imap:INBOX/1/7 message_id=<x@y> reason=\"too big\""
        );
        assert!(!allowed("async_imap::imap_stream", &Level::TRACE));
        assert!(!allowed("lettre::transport::smtp", &Level::DEBUG));
        assert!(!allowed("rustls::client::hs", &Level::TRACE));
        assert!(allowed("rustls::conn", &Level::WARN));
        assert!(allowed("supportd::imap", &Level::TRACE));
        let (_, bad) = filter_from(Some("supportd=loud"), "info");
        let bad = bad.expect("reported");
        assert!(bad.contains("RUST_LOG=\"supportd=loud\"") && !bad.contains('\n'), "{bad}");
        assert!(filter_from(Some("supportd=debug,warn"), "info").1.is_none());
        assert!(filter_from(Some(""), "info").1.is_none());
        assert_eq!(format_from(Some("json")).0, Format::Json);
        assert!(format_from(Some("xml")).1.is_some());
        assert!(colours(true, None));
        assert!(!colours(true, Some(std::ffi::OsStr::new("1"))));
        assert!(colours(true, Some(std::ffi::OsStr::new(""))));
        assert!(!colours(false, None));
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
