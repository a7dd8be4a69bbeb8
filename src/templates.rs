//! Outgoing mails: minijinja templates (`config/templates/<lang>/<kind>.txt`,
//! first line `Subject: …`, a blank line, then the body) rendered into RFC
//! 5322 bytes with our Message-ID, threading headers, the ticket tag and the
//! RFC 3834 `Auto-Submitted` header. Pure given `now`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, Message, MultiPart, SinglePart};

use crate::hygiene::LOOP_HEADER;
use crate::parse::one_line;

/// The templates shipped inside the binary; files in the configured
/// directory override them one by one.
const EMBEDDED: &[(&str, &str)] = &[
    ("de/ack.txt", include_str!("../config/templates/de/ack.txt")),
    ("en/ack.txt", include_str!("../config/templates/en/ack.txt")),
    ("de/notify_agents.txt", include_str!("../config/templates/de/notify_agents.txt")),
    ("en/notify_agents.txt", include_str!("../config/templates/en/notify_agents.txt")),
    ("de/forward_consultant.txt", include_str!("../config/templates/de/forward_consultant.txt")),
    ("en/forward_consultant.txt", include_str!("../config/templates/en/forward_consultant.txt")),
    ("de/status.txt", include_str!("../config/templates/de/status.txt")),
    ("en/status.txt", include_str!("../config/templates/en/status.txt")),
    ("de/agent_reply.txt", include_str!("../config/templates/de/agent_reply.txt")),
    ("en/agent_reply.txt", include_str!("../config/templates/en/agent_reply.txt")),
    ("de/command_error.txt", include_str!("../config/templates/de/command_error.txt")),
    ("en/command_error.txt", include_str!("../config/templates/en/command_error.txt")),
    ("de/agent_notice.txt", include_str!("../config/templates/de/agent_notice.txt")),
    ("en/agent_notice.txt", include_str!("../config/templates/en/agent_notice.txt")),
    ("de/handover.txt", include_str!("../config/templates/de/handover.txt")),
    ("en/handover.txt", include_str!("../config/templates/en/handover.txt")),
    ("de/note.txt", include_str!("../config/templates/de/note.txt")),
    ("en/note.txt", include_str!("../config/templates/en/note.txt")),
    ("de/change.txt", include_str!("../config/templates/de/change.txt")),
    ("en/change.txt", include_str!("../config/templates/en/change.txt")),
    ("de/escalation.txt", include_str!("../config/templates/de/escalation.txt")),
    ("en/escalation.txt", include_str!("../config/templates/en/escalation.txt")),
    ("de/overview.txt", include_str!("../config/templates/de/overview.txt")),
    ("en/overview.txt", include_str!("../config/templates/en/overview.txt")),
    ("de/report.txt", include_str!("../config/templates/de/report.txt")),
    ("en/report.txt", include_str!("../config/templates/en/report.txt")),
    ("de/digest.txt", include_str!("../config/templates/de/digest.txt")),
    ("en/digest.txt", include_str!("../config/templates/en/digest.txt")),
    ("de/reminder.txt", include_str!("../config/templates/de/reminder.txt")),
    ("en/reminder.txt", include_str!("../config/templates/en/reminder.txt")),
    ("de/welcome.txt", include_str!("../config/templates/de/welcome.txt")),
    ("en/welcome.txt", include_str!("../config/templates/en/welcome.txt")),
    ("de/report.html", include_str!("../config/templates/de/report.html")),
    ("en/report.html", include_str!("../config/templates/en/report.html")),
];

/// At most this many bytes of the `text` variable (the new text of a mail)
/// go into an outgoing mail; the whole text stays in the ticket.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// At most this many lines of the `text` variable go into an outgoing mail.
pub const MAX_TEXT_LINES: usize = 1000;

/// `text` cut to [`MAX_TEXT_BYTES`] and [`MAX_TEXT_LINES`] (see [`cut_text_to`]).
pub fn cut_text<'a>(text: &'a str, lang: &str) -> Cow<'a, str> {
    cut_text_to(text, lang, MAX_TEXT_BYTES, MAX_TEXT_LINES)
}

/// `text` unchanged if it has at most `max_lines` lines and `max_bytes`
/// bytes; otherwise its first lines within both bounds (cut at a line
/// boundary; a first line longer than `max_bytes` alone is cut at a
/// character boundary) and a marker line that says how many lines were left
/// out (German, or English for `lang` "en"; the rest of a line cut in the
/// middle counts as a line). One pass over the kept part and a count of the
/// rest's line ends: linear.
pub fn cut_text_to<'a>(text: &'a str, lang: &str, max_bytes: usize, max_lines: usize) -> Cow<'a, str> {
    let mut kept = 0; // bytes of the whole lines kept, without the last line end
    let mut lines = 0;
    let mut rest = text;
    loop {
        if rest.is_empty() {
            return Cow::Borrowed(text);
        }
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line_bytes = rest[..line_end].trim_end_matches(['\r', '\n']).len();
        if lines == max_lines || (text.len() - rest.len()) + line_bytes > max_bytes {
            break;
        }
        lines += 1;
        kept = text.len() - rest.len() + line_bytes;
        rest = &rest[line_end..];
    }
    let rest = rest.trim_end_matches(['\r', '\n']);
    if rest.is_empty() {
        // nothing left but line ends
        return Cow::Borrowed(text[..kept].trim_end_matches(['\r', '\n']));
    }
    let head = if lines == 0 {
        // one line longer than the bound: its first characters
        let mut cut = max_bytes.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        &text[..cut]
    } else {
        &text[..kept]
    };
    let rest_lines = rest.bytes().filter(|&b| b == b'\n').count() + 1;
    let marker = if lang == "en" {
        format!("[… shortened: {rest_lines} more lines; the full text is stored in the ticket]")
    } else {
        format!("[… gekürzt: {rest_lines} weitere Zeilen; der vollständige Text ist im Ticket gespeichert]")
    };
    let mut out = String::with_capacity(head.len() + marker.len() + 2);
    out.push_str(head);
    out.push('\n');
    out.push_str(&marker);
    Cow::Owned(out)
}

/// The context with its `text` cut for an outgoing mail (a copy only if it
/// is cut).
fn bounded_context<'a>(ctx: &'a serde_json::Value, lang: &str) -> Cow<'a, serde_json::Value> {
    let Some(serde_json::Value::String(text)) = ctx.get("text") else {
        return Cow::Borrowed(ctx);
    };
    let Cow::Owned(cut) = cut_text(text, lang) else {
        return Cow::Borrowed(ctx);
    };
    let serde_json::Value::Object(map) = ctx else {
        return Cow::Borrowed(ctx);
    };
    let copy: serde_json::Map<String, serde_json::Value> = map
        .iter()
        .map(|(k, v)| (k.clone(), if k == "text" { serde_json::Value::String(cut.clone()) } else { v.clone() }))
        .collect();
    Cow::Owned(serde_json::Value::Object(copy))
}

/// The loaded templates.
pub struct Templates {
    env: minijinja::Environment<'static>,
    names: Vec<String>,
}

impl Templates {
    /// The embedded templates only.
    pub fn embedded() -> Templates {
        Templates::from_sources(EMBEDDED.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect())
            .expect("embedded templates compile")
    }

    /// Embedded templates, overridden by `dir/<lang>/<kind>.txt` where present.
    pub fn load(dir: &Path) -> Result<Templates> {
        Templates::from_sources(sources(dir)?).map_err(|e| anyhow!("templates in {}: {e:#}", dir.display()))
    }

    /// `check-config`: every template (embedded, overridden from `dir`)
    /// rendered with strict undefined behaviour on a sample context with
    /// every variable its kind gets ([`sample_context`]; the `report` kind
    /// takes `report_ctx`, a real report's context), so a misspelt or
    /// unknown variable is an error naming the file and the variable instead
    /// of rendering empty in a customer's mail. One line per problem.
    pub fn check_strict(dir: &Path, report_ctx: &serde_json::Value) -> Vec<String> {
        let sources = match sources(dir) {
            Ok(s) => s,
            Err(e) => return vec![format!("{e:#}")],
        };
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut problems = Vec::new();
        for (name, text) in &sources {
            let shown = match dir.join(name) {
                p if p.is_file() => p.display().to_string(),
                _ => format!("{name} (embedded)"),
            };
            if let Err(e) = env.add_template_owned(name.clone(), text.clone()) {
                problems.push(format!("template {shown}: {}", one_line(&format!("{e:#}"))));
                continue;
            }
            let kind = name.split('/').nth(1).and_then(|f| f.rsplit_once('.')).map(|(k, _)| k).unwrap_or("");
            let lang = name.split('/').next().unwrap_or("de");
            let ctx = if kind == "report" { report_ctx.clone() } else { sample_context(kind, lang) };
            let Ok(t) = env.get_template(name) else { continue };
            if let Err(e) = t.render(minijinja::value::Serde(&ctx)) {
                let msg = e.to_string();
                problems.push(format!(
                    "template {shown}: {} (variables of {kind}: docs/contracts.md, \"Templates\")",
                    one_line(&msg)
                ));
            }
        }
        problems
    }

    fn from_sources(sources: BTreeMap<String, String>) -> Result<Templates> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        let mut names = Vec::new();
        for (name, text) in sources {
            if name.ends_with(".txt") && !text.starts_with("Subject:") {
                anyhow::bail!("template {name}: the first line must be `Subject: …`");
            }
            env.add_template_owned(name.clone(), text).with_context(|| format!("template {name}"))?;
            names.push(name);
        }
        Ok(Templates { env, names })
    }

    /// Render the HTML alternative `<lang>/<kind>.html` (falling back to
    /// German), if there is one. HTML templates escape values automatically.
    pub fn render_html(&self, kind: &str, lang: &str, ctx: &serde_json::Value) -> Result<Option<String>> {
        let name = format!("{lang}/{kind}.html");
        let name = if self.names.contains(&name) { name } else { format!("de/{kind}.html") };
        if !self.names.contains(&name) {
            return Ok(None);
        }
        let t = self.env.get_template(&name).with_context(|| format!("no template for {kind}"))?;
        let ctx = bounded_context(ctx, name.split('/').next().unwrap_or(lang));
        Ok(Some(t.render(minijinja::value::Serde(&*ctx)).with_context(|| format!("rendering template {name}"))?))
    }

    /// Render `kind` in `lang` (falling back to German): (subject, body).
    pub fn render(&self, kind: &str, lang: &str, ctx: &serde_json::Value) -> Result<(String, String)> {
        let name = format!("{lang}/{kind}.txt");
        let name = if self.names.contains(&name) { name } else { format!("de/{kind}.txt") };
        let t = self.env.get_template(&name).with_context(|| format!("no template for {kind}"))?;
        // The new text of a mail goes out bounded, whatever the template.
        let ctx = bounded_context(ctx, name.split('/').next().unwrap_or(lang));
        let text = t.render(minijinja::value::Serde(&*ctx)).with_context(|| format!("rendering template {name}"))?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = one_line(first.trim_start_matches("Subject:"));
        let body = rest.trim_start_matches(['\r', '\n']).to_string();
        Ok((subject, body))
    }
}

/// The template sources: the embedded ones, overridden by the files of
/// `dir/<lang>/` (`.txt`, `.html`).
fn sources(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut sources: BTreeMap<String, String> = EMBEDDED.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect();
    for lang in ["de", "en"] {
        let d = dir.join(lang);
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "txt" || x == "html") {
                let name = format!("{lang}/{}", p.file_name().unwrap_or_default().to_string_lossy());
                let text = std::fs::read_to_string(&p).with_context(|| format!("reading template {}", p.display()))?;
                sources.insert(name, text);
            }
        }
    }
    Ok(sources)
}

/// A context with every variable a template of `kind` gets (the ticket
/// variables for every ticket mail, plus the kind's own; see
/// `docs/contracts.md`, "Templates"), filled with sample values: what
/// `check-config` renders each template with, strictly.
pub fn sample_context(kind: &str, lang: &str) -> serde_json::Value {
    use serde_json::json;
    let en = lang == "en";
    let mut v = json!({
        "tag": "MT-000123",
        "subject": "Dienstplan lässt sich nicht speichern",
        "requester": "m.keller@stadtwerke-musterstadt.de",
        "requester_name": "Max Keller",
        "customer": "Stadtwerke Musterstadt",
        "customer_or_requester": "Stadtwerke Musterstadt",
        "category": "functional_error",
        "category_title": if en { "Functional error" } else { "Funktionaler Fehler" },
        "level": 1,
        "level_ordinal": "1st",
        "priority": "normal",
        "priority_title": "normal",
        "status": "open",
        "status_title": if en { "open" } else { "offen" },
        "covered": true,
        "contact_person": "Anna Berg",
        "display_name": "MEIN TEAM Support",
        "support_address": "mein-team-support@roewaplan.de",
        "first_response_due": "24.11.2026 14:00",
        "text": "Guten Tag,\nder Dienstplan lässt sich nicht speichern.",
        "warnings": ["sample warning"],
        "author": "Max Keller <m.keller@stadtwerke-musterstadt.de>",
        "author_is_requester": true,
        "copied": ["e.kunz@stadtwerke-musterstadt.de"],
        "attachments": [{"name": "fehler500.png", "size": "120 KB", "forwarded": true, "row": 7},
                        {"name": "protokoll.zip", "size": "14.2 MB", "forwarded": false, "row": 7}],
        "reopened": false,
    });
    let kb_sample = json!([{"id": "dienstplan-drucken", "file": "de/dienstplan-drucken.md",
                            "title": "Dienstplan drucken", "link": "https://hilfe.example/drucken",
                            "text": "Oben rechts auf Drucken klicken.", "score": "6.1",
                            "matched": "druck, dienstplan", "action": "create: neue"}]);
    let extra = match kind {
        "ack" => json!({"in_hours": true, "next_opening": "Dienstag, 26.05.2026, 08:00 Uhr",
                        "response_by": "24.11.2026 14:00", "security": false, "kb_articles": kb_sample.clone()}),
        "notify_agents" => json!({"follow_up": false, "low_confidence": true, "confidence": 0.42,
                                  "reasons": "keyword \"speichern\"", "kb_articles": kb_sample, "security_flag": true,
                                  "security_reasons": "security_error probability 0.31 >= flag floor 0.12"}),
        "status" => json!({"changes": ["Status: in Bearbeitung"], "status_headline": "in Bearbeitung"}),
        "agent_reply" => json!({"changes": ["Status: in Bearbeitung"]}),
        "command_error" => json!({"errors": [{"line": "#staus waiting", "message": "unknown command"}],
                                  "usage": "#status open|in_progress|waiting|resolved|closed"}),
        "note" => json!({"agent": "anna@roewaplan.de", "changes": ["Stufe: 2"]}),
        "agent_notice" => json!({"notices": ["sample notice"]}),
        "handover" => json!({"level_new": 2, "first_text": "Beim Speichern kommt Fehler 500.",
                             "notes": [{"at": "24.11.2026 10:35", "who": "anna@roewaplan.de", "text": "Log zeigt NullPointer."}],
                             "history": [{"at": "24.11.2026 10:00", "from": "m.keller@stadtwerke-musterstadt.de",
                                          "subject": "Dienstplan", "disposition": "new_ticket"}]}),
        "change" => json!({"change_state": "announced", "change_date": "03.12.2026", "change_weekday": "Donnerstag",
                           "change_start": "18:00", "change_end": "20:00", "change_description": "Update auf 4.2"}),
        "escalation" => json!({"warning": false, "share": 80}),
        "overview" => {
            let row = json!({"tag": "MT-000123", "subject": "Dienstplan", "status": "open", "status_title": "offen",
                             "level": 1, "level_ordinal": "1st", "category_title": "Funktionaler Fehler", "opened": "24.11.2026",
                             "last_activity": "25.11.2026"});
            json!({"open": [row.clone()], "closed": [row], "date": "25.11.2026 10:00", "open_total": 1,
                   "open_left_out": 0, "closed_total": 3, "closed_left_out": 2})
        }
        "reminder" => json!({"reminder_state": "reminder", "waiting_days": 5, "close_on": "Dienstag, 08.12.2026",
                             "reopen_days": 14}),
        // Not a ticket mail: the daily digest of a level's team (`followup::digest_context`).
        "digest" => {
            let row = json!({"tag": "MT-000123", "subject": "Dienstplan", "customer": "Stadtwerke Musterstadt",
                             "status": "open", "status_title": "offen", "category_title": "Funktionaler Fehler",
                             "priority": "normal", "assignee": "anna@roewaplan.de", "opened": "24.11.2026",
                             "note": "fällig heute 14:00 Uhr"});
            return json!({
                "level": 1, "level_ordinal": "1st", "date": "25.11.2026", "weekday": "Mittwoch",
                "open_count": 1, "missed_count": 0,
                "by_status": [{"status": "open", "status_title": "offen", "n": 1, "tickets": [row.clone()], "more": 0}],
                "first_response_due": [row.clone()], "first_response_due_more": 0,
                "resolution_due": [row.clone()], "resolution_due_more": 0,
                "waiting": [row.clone()], "waiting_more": 0,
                "unassigned": [row], "unassigned_more": 0,
                "reminder_after_days": 5, "close_after_days": 5,
                "display_name": "MEIN TEAM Support", "support_address": "mein-team-support@roewaplan.de",
            });
        }
        // Not a ticket mail: the handover at support start (`welcome::context`).
        "welcome" => {
            return json!({
                "customer": "Stadtwerke Musterstadt", "language": lang, "display_name": "MEIN TEAM Support",
                "support_address": "mein-team-support@roewaplan.de", "tag_prefix": "MT",
                "support_days": "Montag bis Freitag", "support_open": "08:00", "support_close": "17:00",
                "timezone": "Europe/Berlin",
                "bw_holidays": true,
                "holidays": [{"date": "25.12.2026", "weekday": "Freitag", "name": "1. Weihnachtstag"}],
                "holidays_until": "06.06.2027",
                "levels": [{"level": 1, "ordinal": "1st", "team": ["support-1st@roewaplan.de"], "project_team": []},
                           {"level": 2, "ordinal": "2nd", "team": ["support-2nd@roewaplan.de"],
                            "project_team": ["p.schmidt@roewaplan.de"]},
                           {"level": 3, "ordinal": "3rd", "team": ["entwicklung@roewaplan.de"], "project_team": []}],
                "categories": [{"id": "functional_error", "title": "Funktionale Fehler", "covered": true,
                                "first_response_hours": "4", "level": 1},
                               {"id": "change_request", "title": "Änderungsanforderungen", "covered": false,
                                "first_response_hours": "8", "level": 1}],
                "contact_person": "Anna Berg", "consultant": "berater@roewaplan.de",
                "report_cycle": "monthly", "report_cycle_title": "monatlich",
                "report_to": ["it@stadtwerke-musterstadt.de"],
                "specifics": ["Wartungsfenster dienstags 18-20 Uhr"],
                "contacts": ["it@stadtwerke-musterstadt.de"],
            });
        }
        _ => json!({}),
    };
    if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// An outgoing mail before it is turned into bytes.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: String,
    pub ticket: Option<i64>,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Message-ID (without `<>`) of the mail this answers.
    pub in_reply_to: Option<String>,
    /// References chain (without `<>`), oldest first.
    pub references: Vec<String>,
    /// `auto-replied` for answers to a mail, `auto-generated` otherwise (RFC 3834);
    /// `no` for a person's answer we relay (then no automatic or bulk headers).
    pub auto_submitted: &'static str,
    /// An HTML alternative of `body` (then the mail is multipart/alternative).
    pub html: Option<String>,
    /// Files attached after the text (then the mail is multipart/mixed).
    pub attachments: Vec<Attachment>,
}

/// A file attached to an outgoing mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `text/csv; charset=utf-8`
    pub content_type: String,
    pub data: Vec<u8>,
    /// SHA-256 of `data` (hex) when known already (a file of an incoming
    /// mail): the store refers to the body it keeps by it.
    pub sha256: Option<String>,
}

/// The transfer encoding lettre's `Body::new` chooses for a text (the
/// chooser of its `email-encoding`, without SMTPUTF8): 7bit for ASCII with
/// short lines, else quoted-printable if at most a third of the bytes need
/// escaping, else base64. Line lengths are counted before CRs are added,
/// as lettre does.
fn lettre_encoding(s: &str) -> ContentTransferEncoding {
    let b = s.as_bytes();
    let mut last = 0;
    let line_too_long = b.iter().enumerate().filter(|(_, c)| **c == b'\n').any(|(i, _)| {
        let prev = std::mem::replace(&mut last, i);
        i - prev >= 76
    }) || b.len() - last >= 76;
    if b.is_ascii() && !line_too_long {
        return ContentTransferEncoding::SevenBit;
    }
    let escaped = b.iter().filter(|&&c| !matches!(c, b'\t' | b' '..=b'~')).count();
    if escaped <= b.len() / 3 { ContentTransferEncoding::QuotedPrintable } else { ContentTransferEncoding::Base64 }
}

/// `s` with a CR before every LF that has none, in one pass.
fn crlf_line_endings(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 16 + 2);
    let mut prev_cr = false;
    for (i, part) in s.split('\n').enumerate() {
        if i > 0 {
            if !prev_cr {
                out.push('\r');
            }
            out.push('\n');
        }
        out.push_str(part);
        prev_cr = part.ends_with('\r');
    }
    out
}

/// The body lettre's `Body::new(text)` gives (same transfer encoding, same
/// bytes), in linear time: lettre inserts each missing CR into the string
/// in place (a shift of the rest per line end), which took 128 s for 5 MB of
/// short lines. Here the line ends are converted first, in one pass.
fn text_body(text: &str) -> Body {
    let encoding = lettre_encoding(text);
    let crlf = crlf_line_endings(text);
    match encoding {
        ContentTransferEncoding::SevenBit | ContentTransferEncoding::EightBit | ContentTransferEncoding::Binary => {
            Body::dangerous_pre_encoded(crlf.into_bytes(), encoding)
        }
        // quoted-printable and base64 accept any input
        _ => Body::new_with_encoding(crlf, encoding).unwrap_or_else(Body::new),
    }
}

/// Render a draft into RFC 5322 bytes.
pub fn build(
    draft: &Draft,
    from_addr: &str,
    display_name: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>> {
    let from_address: lettre::Address = from_addr.parse().context("support address")?;
    let from = Mailbox::new(Some(display_name.to_string()), from_address.clone());
    let mut b = Message::builder()
        .from(from)
        .subject(one_line(&draft.subject))
        .date(std::time::SystemTime::from(now))
        .message_id(Some(format!("<{message_id}>")));
    // The To header is built once (adding one address at a time made lettre
    // parse the growing header again for each: quadratic in the recipients).
    let mut rcpt = Vec::with_capacity(draft.to.len());
    let mut to_header = lettre::message::Mailboxes::new();
    for to in &draft.to {
        let addr: lettre::Address = to.parse().with_context(|| format!("recipient {to:?}"))?;
        rcpt.push(addr.clone());
        to_header.push(Mailbox::new(None, addr));
    }
    if !rcpt.is_empty() {
        b = b.mailbox(lettre::message::header::To::from(to_header));
    }
    // The envelope the headers give (From -> the To addresses), set here so
    // that lettre does not parse the header values back to find it.
    if !rcpt.is_empty() {
        b = b.envelope(lettre::address::Envelope::new(Some(from_address), rcpt).context("building the mail")?);
    }
    if let Some(irt) = &draft.in_reply_to {
        b = b.in_reply_to(format!("<{}>", one_line(irt)));
    }
    if !draft.references.is_empty() {
        let refs: Vec<String> =
            draft.references.iter().rev().take(20).rev().map(|r| format!("<{}>", one_line(r))).collect();
        b = b.references(refs.join(" "));
    }
    b = b.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(LOOP_HEADER), from_addr.to_string()));
    // A person's answer relayed by us (`auto_submitted = "no"`) carries no
    // automatic or bulk marks; everything we write ourselves keeps RFC 3834's.
    if draft.auto_submitted != "no" {
        b = b
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                draft.auto_submitted.to_string(),
            ))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".to_string()))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Precedence"), "bulk".to_string()));
    }
    // Bodies as lettre's `Body::new` makes them, but in linear time.
    if draft.html.is_none() && draft.attachments.is_empty() {
        let msg = b.header(ContentType::TEXT_PLAIN).body(text_body(&draft.body)).context("building the mail")?;
        return Ok(msg.formatted());
    }
    let alternative = |html: &str| {
        MultiPart::alternative()
            .singlepart(SinglePart::plain(text_body(&draft.body)))
            .singlepart(SinglePart::html(text_body(html)))
    };
    if draft.attachments.is_empty() {
        // Only an alternative: no mixed wrapper around it.
        let html = draft.html.as_deref().unwrap_or_default();
        return Ok(b.multipart(alternative(html)).context("building the mail")?.formatted());
    }
    let mut mixed = match &draft.html {
        Some(html) => MultiPart::mixed().multipart(alternative(html)),
        None => MultiPart::mixed().singlepart(SinglePart::plain(text_body(&draft.body))),
    };
    for a in &draft.attachments {
        let ct = ContentType::parse(&attachment_type(a))
            .with_context(|| format!("attachment {}: content type {:?}", a.filename, a.content_type))?;
        // Always base64: the file arrives byte for byte (7bit or
        // quoted-printable would let a relay rewrite a text file's line
        // ends), and the store keeps the body once, by reference to the
        // incoming mail's copy (store::compact::pack_outgoing_files finds
        // only base64 text; a text file sent as 7bit was kept again).
        let body = Body::new_with_encoding(a.data.clone(), ContentTransferEncoding::Base64)
            .map_err(|_| anyhow!("attachment {}: cannot be encoded as base64", a.filename))?;
        mixed = mixed.singlepart(lettre::message::Attachment::new(one_line(&a.filename)).body(body, ct));
    }
    Ok(b.multipart(mixed).context("building the mail")?.formatted())
}

/// The Content-Type an attached file goes out with: a text file whose
/// bytes are UTF-8 (the parser turns an incoming text part into UTF-8,
/// whatever its charset was) says so; without it a client reads the bytes
/// as US-ASCII or its locale's default (Thunderbird: "Ãœbersicht").
fn attachment_type(a: &Attachment) -> Cow<'_, str> {
    let t = a.content_type.to_ascii_lowercase();
    if t.starts_with("text/") && !t.contains("charset") && !a.data.is_ascii() && std::str::from_utf8(&a.data).is_ok() {
        Cow::Owned(format!("{}; charset=utf-8", a.content_type))
    } else {
        Cow::Borrowed(&a.content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_starts_with_a_subject_and_renders() {
        let t = Templates::embedded();
        let ctx = serde_json::json!({"tag": "MT-000001", "subject": "Login", "covered": true, "in_hours": false, "next_opening": "Montag"});
        for (name, _) in EMBEDDED.iter().filter(|(n, _)| n.ends_with(".txt")) {
            let (lang, kind) = name.trim_end_matches(".txt").split_once('/').unwrap();
            let (s, body) = t.render(kind, lang, &ctx).unwrap();
            if !["overview", "report", "welcome", "digest"].contains(&kind) {
                assert!(s.contains("MT-000001"), "{name}: subject {s:?} lacks the tag");
            }
            assert!(!body.is_empty());
        }
    }

    #[test]
    fn a_short_text_is_not_cut() {
        for t in ["", "eine Zeile", "zwei\nZeilen\n", "ä\r\nö\r\n"] {
            assert!(matches!(cut_text(t, "de"), Cow::Borrowed(x) if x == t), "{t:?}");
        }
        let exactly = "x\n".repeat(MAX_TEXT_LINES);
        assert_eq!(cut_text(&exactly, "de"), exactly.as_str());
    }

    #[test]
    fn too_many_lines_are_cut_at_a_line_boundary_with_a_marker() {
        let t: String = (1..=10).map(|i| format!("Zeile {i}\n")).collect();
        assert_eq!(
            cut_text_to(&t, "de", 1000, 3),
            "Zeile 1\nZeile 2\nZeile 3\n[… gekürzt: 7 weitere Zeilen; der vollständige Text ist im Ticket gespeichert]"
        );
        assert_eq!(
            cut_text_to(&t, "en", 1000, 3),
            "Zeile 1\nZeile 2\nZeile 3\n[… shortened: 7 more lines; the full text is stored in the ticket]"
        );
        // CRLF line ends count as line ends, the CR is not kept before the marker
        let crlf = t.replace('\n', "\r\n");
        assert!(cut_text_to(&crlf, "de", 1000, 2).starts_with("Zeile 1\r\nZeile 2\n[… gekürzt: 8 weitere"));
    }

    #[test]
    fn too_many_bytes_are_cut_at_a_line_boundary() {
        let t = "aaaa\nbbbb\ncccc\ndddd";
        // "aaaa\nbbbb" is 9 bytes; with "\ncccc" it would be 14
        assert_eq!(
            cut_text_to(t, "de", 13, 100),
            "aaaa\nbbbb\n[… gekürzt: 2 weitere Zeilen; der vollständige Text ist im Ticket gespeichert]"
        );
        assert_eq!(
            cut_text_to(t, "de", 14, 100),
            "aaaa\nbbbb\ncccc\n[… gekürzt: 1 weitere Zeilen; der vollständige Text ist im Ticket gespeichert]"
        );
        assert_eq!(cut_text_to(t, "de", 19, 100), t);
    }

    #[test]
    fn one_huge_line_is_cut_at_a_character_boundary() {
        let t = format!("{}\nRest", "ä".repeat(100)); // 200 bytes, then a line
        let cut = cut_text_to(&t, "en", 15, 100);
        assert_eq!(
            cut,
            format!("{}\n[… shortened: 2 more lines; the full text is stored in the ticket]", "ä".repeat(7))
        );
        let huge = "ü".repeat(200_000);
        let big = cut_text(&huge, "de");
        assert!(big.len() <= MAX_TEXT_BYTES + 200, "{}", big.len());
        assert!(big.ends_with("[… gekürzt: 1 weitere Zeilen; der vollständige Text ist im Ticket gespeichert]"));
    }

    #[test]
    fn trailing_blank_lines_are_dropped_without_a_marker() {
        let t = format!("Text\n{}", "\n".repeat(5000));
        assert_eq!(cut_text(&t, "de"), "Text");
    }

    #[test]
    fn render_cuts_the_text_variable_of_every_template() {
        let t = Templates::embedded();
        let long: String = (0..5000).map(|i| format!("Zeile {i}\n")).collect();
        let ctx = serde_json::json!({"tag": "MT-000001", "subject": "Login", "text": long});
        for (kind, lang, marker) in [
            ("notify_agents", "de", "[… gekürzt: 4000 weitere Zeilen;"),
            ("agent_reply", "en", "[… shortened: 4000 more lines;"),
            ("note", "de", "[… gekürzt: 4000 weitere Zeilen;"),
            ("escalation", "en", "[… shortened: 4000 more lines;"),
        ] {
            let (_, body) = t.render(kind, lang, &ctx).unwrap();
            assert!(body.contains(marker), "{kind}/{lang}: {body}");
            assert!(body.contains("Zeile 999\n") && !body.contains("Zeile 1000\n"), "{kind}/{lang}");
            assert!(body.len() < MAX_TEXT_BYTES + 4096, "{kind}/{lang}: {} bytes", body.len());
        }
    }

    #[test]
    fn text_body_is_what_lettre_makes() {
        let samples = [
            String::new(),
            "Hallo".into(),
            "Grüße\nzweite Zeile\n".into(),
            "\nerste Zeile leer\r\nCRLF schon da\rnur CR\n".into(),
            format!("{}\n{}\n", "a".repeat(74), "b".repeat(75)),
            format!("{}\n", "a".repeat(75)),
            format!("{}\n", "a".repeat(76)),
            format!("x\n{}\ny", "c".repeat(75)),
            "📬📬📬📬📬📬 fast nur UTF-8".into(),
            "Zeile\n".repeat(1000),
            "ä\n".repeat(500),
            format!("{}=\t \n", "ü".repeat(40)),
        ];
        for s in samples {
            let ours = text_body(&s);
            let theirs = Body::new(s.clone());
            assert_eq!(ours.encoding(), theirs.encoding(), "{s:?}");
            assert_eq!(ours.into_vec(), theirs.into_vec(), "{s:?}");
        }
    }

    #[test]
    fn building_a_mail_of_many_short_lines_is_linear() {
        let body: String = (0..500_000).map(|i| format!("Zeile {i}\n")).collect(); // 6 MB
        let d = Draft {
            kind: "notify_agents".into(),
            ticket: Some(1),
            to: vec!["anna@roewaplan.de".into()],
            subject: "x".into(),
            body,
            in_reply_to: None,
            references: Vec::new(),
            auto_submitted: "auto-generated",
            html: Some("<p>x</p>\n".repeat(100_000)),
            attachments: Vec::new(),
        };
        let t = std::time::Instant::now();
        let raw =
            build(&d, "mein-team-support@roewaplan.de", "MEIN TEAM Support", "mt.x@roewaplan.de", Utc::now()).unwrap();
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(raw.windows(14).any(|w| w == b"Zeile 499999\r\n"));
    }

    #[test]
    fn built_mail_has_threading_and_rfc3834_headers_and_no_injected_header() {
        let d = Draft {
            kind: "ack".into(),
            ticket: Some(1),
            to: vec!["kunde@example.org".into()],
            subject: "[MT-000001] Hallo\r\nBcc: evil@example.org".into(),
            body: "Grüße".into(),
            in_reply_to: Some("abc@x".into()),
            references: vec!["abc@x".into()],
            auto_submitted: "auto-replied",
            html: None,
            attachments: Vec::new(),
        };
        let raw =
            build(&d, "mein-team-support@roewaplan.de", "MEIN TEAM Support", "mt.x@roewaplan.de", Utc::now()).unwrap();
        let s = String::from_utf8_lossy(&raw);
        assert!(s.contains("In-Reply-To: <abc@x>"), "{s}");
        assert!(s.contains("References: <abc@x>"), "{s}");
        assert!(s.contains("Auto-Submitted: auto-replied"), "{s}");
        assert!(s.contains("Message-ID: <mt.x@roewaplan.de>"), "{s}");
        assert!(!s.lines().any(|l| l.starts_with("Bcc:")), "{s}");
    }

    /// Proves: attached files go out in base64, a UTF-8 text file says
    /// `charset=utf-8` (the parser made it UTF-8, whatever it came as), an
    /// ASCII one and a picture keep their type, and each decodes to its bytes.
    #[test]
    fn attachments_go_out_in_base64_and_a_utf8_text_says_its_charset() {
        let file = |name: &str, ct: &str, data: &[u8]| Attachment {
            filename: name.into(),
            content_type: ct.into(),
            data: data.to_vec(),
            sha256: None,
        };
        let umlauts = "Übersicht für März: Größe überschritten\r\n".repeat(40);
        let d = Draft {
            kind: "notify_agents".into(),
            ticket: Some(1),
            to: vec!["support-1st@roewaplan.de".into()],
            subject: "[MT-000001] Export".into(),
            body: "Neues Ticket".into(),
            in_reply_to: None,
            references: Vec::new(),
            auto_submitted: "auto-generated",
            html: None,
            attachments: vec![
                file("export.log", "text/plain", umlauts.as_bytes()),
                file("ascii.log", "text/plain", b"ERROR export\r\n"),
                file("shot.png", "image/png", &[0x89, b'P', b'N', b'G', 0, 0xff, 0xfe]),
            ],
        };
        let raw =
            build(&d, "mein-team-support@roewaplan.de", "MEIN TEAM Support", "mt.x@roewaplan.de", Utc::now()).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw[..]).unwrap();
        use mail_parser::MimeHeaders;
        let parts: Vec<_> = msg.attachments().collect();
        assert_eq!(parts.len(), 3);
        for (p, a) in parts.iter().zip(&d.attachments) {
            assert_eq!(p.content_transfer_encoding(), Some("base64"), "{}", a.filename);
            assert_eq!(p.contents(), a.data.as_slice(), "{}", a.filename);
        }
        let charset = |i: usize| parts[i].content_type().and_then(|c| c.attribute("charset")).map(str::to_string);
        assert_eq!(charset(0).as_deref(), Some("utf-8"));
        assert_eq!(charset(1), None);
        assert_eq!(
            parts[2].content_type().map(|c| (c.ctype().to_string(), c.subtype().map(str::to_string))),
            Some(("image".to_string(), Some("png".to_string())))
        );
    }
}
