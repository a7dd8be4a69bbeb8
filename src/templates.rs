//! Outgoing mails: minijinja templates (`config/templates/<lang>/<kind>.txt`,
//! first line `Subject: …`, a blank line, then the body) rendered into RFC
//! 5322 bytes with our Message-ID, threading headers, the ticket tag and the
//! RFC 3834 `Auto-Submitted` header. Pure given `now`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart, SinglePart};

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
    ("de/report.html", include_str!("../config/templates/de/report.html")),
    ("en/report.html", include_str!("../config/templates/en/report.html")),
];

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
        let mut sources: BTreeMap<String, String> =
            EMBEDDED.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect();
        for lang in ["de", "en"] {
            let d = dir.join(lang);
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "txt" || x == "html") {
                    let name = format!("{lang}/{}", p.file_name().unwrap_or_default().to_string_lossy());
                    let text =
                        std::fs::read_to_string(&p).with_context(|| format!("reading template {}", p.display()))?;
                    sources.insert(name, text);
                }
            }
        }
        Templates::from_sources(sources).map_err(|e| anyhow!("templates in {}: {e:#}", dir.display()))
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
        Ok(Some(t.render(minijinja::value::Serde(ctx)).with_context(|| format!("rendering template {name}"))?))
    }

    /// Render `kind` in `lang` (falling back to German): (subject, body).
    pub fn render(&self, kind: &str, lang: &str, ctx: &serde_json::Value) -> Result<(String, String)> {
        let name = format!("{lang}/{kind}.txt");
        let name = if self.names.contains(&name) { name } else { format!("de/{kind}.txt") };
        let t = self.env.get_template(&name).with_context(|| format!("no template for {kind}"))?;
        let text = t.render(minijinja::value::Serde(ctx)).with_context(|| format!("rendering template {name}"))?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = one_line(first.trim_start_matches("Subject:"));
        let body = rest.trim_start_matches(['\r', '\n']).to_string();
        Ok((subject, body))
    }
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
    /// `auto-replied` for answers to a mail, `auto-generated` otherwise (RFC 3834).
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
    let mut rcpt = Vec::with_capacity(draft.to.len());
    for to in &draft.to {
        let addr: lettre::Address = to.parse().with_context(|| format!("recipient {to:?}"))?;
        rcpt.push(addr.clone());
        b = b.to(Mailbox::new(None, addr));
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
    b = b
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            draft.auto_submitted.to_string(),
        ))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(LOOP_HEADER), from_addr.to_string()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".to_string()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Precedence"), "bulk".to_string()));
    if draft.html.is_none() && draft.attachments.is_empty() {
        let msg = b.header(ContentType::TEXT_PLAIN).body(draft.body.clone()).context("building the mail")?;
        return Ok(msg.formatted());
    }
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(draft.body.clone());
    let mut mixed = match &draft.html {
        Some(html) => MultiPart::mixed().multipart(MultiPart::alternative_plain_html(draft.body.clone(), html.clone())),
        None => MultiPart::mixed().singlepart(text),
    };
    for a in &draft.attachments {
        let ct = ContentType::parse(&a.content_type)
            .with_context(|| format!("attachment {}: content type {:?}", a.filename, a.content_type))?;
        mixed = mixed.singlepart(lettre::message::Attachment::new(one_line(&a.filename)).body(a.data.clone(), ct));
    }
    let msg = if draft.attachments.is_empty() {
        // Only an alternative: no mixed wrapper around it.
        let html = draft.html.clone().unwrap_or_default();
        b.multipart(MultiPart::alternative_plain_html(draft.body.clone(), html)).context("building the mail")?
    } else {
        b.multipart(mixed).context("building the mail")?
    };
    Ok(msg.formatted())
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
            if kind != "overview" && kind != "report" {
                assert!(s.contains("MT-000001"), "{name}: subject {s:?} lacks the tag");
            }
            assert!(!body.is_empty());
        }
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
}
