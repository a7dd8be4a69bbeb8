//! The configured parts every stage shares ([`Pipeline`]: the config, the
//! classifier, the templates, the Message-ID signer and the support
//! calendar) and the queueing of a rendered mail into the outbox
//! ([`queue_mail`]). The mail pipeline, the overview, the reports and the
//! schedule all use them; this module uses none of those, so they import
//! each other in one direction only (`tests/module_graph.rs`).

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;

use crate::calendar::BusinessCalendar;
use crate::classify::Classifier;
use crate::config::{Config, Customer};
use crate::domain::TicketTag;
use crate::parse;
use crate::store::{self, OutRow, Ticket};
use crate::templates::{self, Draft, Templates};
use crate::thread::IdSigner;
use crate::words::weekday_name;

/// Everything `process` needs besides the mail, the store and the clock.
pub struct Pipeline {
    pub cfg: Config,
    /// Built at its first use ([`Pipeline::classifier`]): the embedded
    /// model takes about 30 ms to set up, which commands that classify
    /// nothing (`report`, `status`, ...) need not pay. A configured
    /// `classifier.path` is loaded at once, so a bad file fails the start.
    classifier: std::sync::OnceLock<Classifier>,
    pub templates: Templates,
    pub signer: IdSigner,
    pub calendar: BusinessCalendar,
    /// The knowledge base offered in acks (`kb.path`), re-read on reload.
    pub kb: crate::kb::Kb,
}

impl Pipeline {
    /// The classifier (the configured one, else the embedded model, built now if not yet).
    pub fn classifier(&self) -> &Classifier {
        self.classifier.get_or_init(Classifier::embedded)
    }

    /// Build the pipeline for a config; the Message-ID secret comes from the
    /// config or is generated once and kept in the store.
    pub fn new(cfg: Config, conn: &Connection) -> Result<Pipeline> {
        let classifier = std::sync::OnceLock::new();
        if let Some(p) = &cfg.classifier_path {
            let _ = classifier.set(Classifier::load(p).map_err(|e| anyhow::anyhow!(e))?);
        }
        let templates = Templates::load(&cfg.templates_path)?;
        let secret = match &cfg.secret {
            Some(s) => s.clone(),
            None => match store::get_state(conn, "message_id_secret")? {
                Some(s) => s,
                None => {
                    let s = random_hex(32)?;
                    store::set_state(conn, "message_id_secret", &s)?;
                    s
                }
            },
        };
        let signer = IdSigner::new(secret.as_bytes(), &cfg.support_domain(), &cfg.tag_prefix);
        let h = &cfg.hours;
        let calendar = BusinessCalendar::new(
            h.timezone,
            h.weekdays.clone(),
            h.open,
            h.close,
            h.bw_holidays,
            h.extra_closed_days.clone(),
        )
        .map_err(|e| anyhow::anyhow!("{}: hours: {e}", cfg.source))?;
        let kb = crate::kb::Kb::load(cfg.kb_path.as_deref(), cfg.kb_min_score).context("kb.path")?;
        Ok(Pipeline { cfg, classifier, templates, signer, calendar, kb })
    }

    pub fn tag(&self, n: i64) -> String {
        TicketTag::new(&self.cfg.tag_prefix, n).to_string()
    }
}

/// The kinds of mail that go to a ticket's customer side.
pub const CUSTOMER_KINDS: &[&str] = &["ack", "status", "agent_reply", "change"];

/// A mail to queue, with or without a ticket.
pub struct QueuedMail<'a> {
    pub kind: &'a str,
    pub ticket: Option<i64>,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub auto_submitted: &'static str,
    pub in_reply_to: Option<String>,
    /// Makes the Message-ID unique; derived from the cause.
    pub seed: &'a str,
    pub cause_row: Option<i64>,
    /// The From display name, if not the support's (`support.agent_name_in_from`).
    pub display_name: Option<String>,
    /// The `Date:` of the mail (when it is written), if not `now` (the
    /// event time, which for a mail's answers is when the mail arrived).
    pub written_at: Option<DateTime<Utc>>,
}

impl<'a> QueuedMail<'a> {
    /// A mail the daemon's clock writes (reminders, digests, reports, the
    /// handover): `Auto-Submitted: auto-generated`, caused by no incoming mail,
    /// dated now, from the support's name.
    pub fn scheduled(
        kind: &'a str,
        ticket: Option<i64>,
        to: Vec<String>,
        (subject, body): (String, String),
        seed: &'a str,
    ) -> QueuedMail<'a> {
        QueuedMail {
            kind,
            ticket,
            to,
            subject,
            body,
            auto_submitted: "auto-generated",
            in_reply_to: None,
            seed,
            cause_row: None,
            display_name: None,
            written_at: None,
        }
    }

    /// This mail in reply to `message_id` (threads with the customer's conversation).
    pub fn replying_to(mut self, message_id: Option<String>) -> QueuedMail<'a> {
        self.in_reply_to = message_id;
        self
    }
}

/// Who of a ticket's customer side gets a scheduled mail (a reminder, a
/// change reminder): the requester and the people copied in, each once, at
/// most `limits.max_recipients`.
pub fn customer_side(p: &Pipeline, conn: &Connection, t: &Ticket) -> Result<Vec<String>> {
    let mut to = vec![t.requester.clone()];
    for (a, role) in store::participants(conn, t.id)? {
        if role == "cc" && !to.iter().any(|x| x.eq_ignore_ascii_case(&a)) && to.len() < p.cfg.limits.max_recipients {
            to.push(a);
        }
    }
    Ok(to)
}

/// Render a mail and put it in the outbox (inside the caller's transaction).
pub fn queue_mail(p: &Pipeline, conn: &Connection, m: QueuedMail, now: DateTime<Utc>) -> Result<Option<i64>> {
    queue_mail_parts(p, conn, m, None, Vec::new(), now)
}

/// [`queue_mail`] with an HTML alternative and attachments (the report mail).
pub fn queue_mail_parts(
    p: &Pipeline,
    conn: &Connection,
    mut m: QueuedMail,
    html: Option<String>,
    attachments: Vec<templates::Attachment>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    // An address no SMTP server would take (8-bit junk, no domain) is left out, with an event.
    let (valid, invalid): (Vec<String>, Vec<String>) =
        m.to.drain(..).partition(|a| a.parse::<lettre::Address>().is_ok());
    m.to = valid;
    if !invalid.is_empty() {
        store::insert_event(
            conn,
            m.ticket,
            m.cause_row,
            now,
            "supportd",
            "bad_address",
            &format!("no {} to {}: not a deliverable address", m.kind, invalid.join(", ")),
        )?;
    }
    if m.to.is_empty() {
        return Ok(None);
    }
    let mut subject = m.subject;
    if let Some(t) = m.ticket {
        let tag = p.tag(t);
        if !subject.contains(&tag) {
            subject = format!("[{tag}] {subject}");
        }
    }
    let unique = &parse::sha256_hex(m.seed.as_bytes())[..12];
    let message_id = p.signer.make(m.ticket, m.kind, unique);
    // A customer's thread holds only what the customer saw (the newest 10);
    // the team's mails thread on the whole ticket (the newest 20).
    let mut references = match m.ticket {
        Some(t) if CUSTOMER_KINDS.contains(&m.kind) => store::customer_thread_ids(conn, t, 10)?,
        Some(t) => {
            let all = store::ticket_message_ids(conn, t)?;
            all[all.len().saturating_sub(20)..].to_vec()
        }
        None => Vec::new(),
    };
    if let Some(irt) = &m.in_reply_to {
        references.retain(|r| r != irt);
        references.push(irt.clone());
    }
    let draft = Draft {
        kind: m.kind.into(),
        ticket: m.ticket,
        to: m.to.clone(),
        subject: subject.clone(),
        body: m.body,
        in_reply_to: m.in_reply_to.clone(),
        references,
        auto_submitted: m.auto_submitted,
        html,
        attachments,
    };
    let display_name = m.display_name.as_deref().unwrap_or(&p.cfg.display_name);
    let raw = templates::build(&draft, &p.cfg.support_address, display_name, &message_id, m.written_at.unwrap_or(now))
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    // Each attached file by its SHA-256 (known for an incoming mail's
    // files), so the store refers to the body it keeps instead of parsing
    // the mail again to find it.
    let shas: Vec<String> =
        draft.attachments.iter().map(|a| a.sha256.clone().unwrap_or_else(|| parse::sha256_hex(&a.data))).collect();
    let files: Vec<(&str, &[u8])> =
        shas.iter().zip(&draft.attachments).map(|(s, a)| (s.as_str(), a.data.as_slice())).collect();
    store::insert_outbox_files(
        conn,
        &OutRow {
            kind: m.kind.into(),
            ticket_id: m.ticket,
            message_id,
            recipients: m.to,
            subject,
            raw,
            in_reply_to: m.in_reply_to,
        },
        &files,
        m.cause_row,
        now,
    )
    .map(Some)
}

/// Template variables of a `change` mail.
pub fn change_context(
    p: &Pipeline,
    _t: &Ticket,
    _customer: Option<&Customer>,
    lang: &str,
    ch: &store::Change,
    state: &str,
    mut base: serde_json::Value,
) -> serde_json::Value {
    let tz = p.calendar.timezone();
    let starts = store::parse_ts(&ch.starts_at).unwrap_or_default().with_timezone(&tz);
    let ends = store::parse_ts(&ch.ends_at).unwrap_or_default().with_timezone(&tz);
    let weekday = weekday_name(starts.date_naive(), lang);
    if let Some(o) = base.as_object_mut() {
        o.insert("change_state".into(), json!(state));
        o.insert("change_date".into(), json!(starts.format("%d.%m.%Y").to_string()));
        o.insert("change_weekday".into(), json!(weekday));
        o.insert("change_start".into(), json!(starts.format("%H:%M").to_string()));
        o.insert("change_end".into(), json!(ends.format("%H:%M").to_string()));
        o.insert("change_description".into(), json!(ch.description));
    }
    base
}

fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).context("reading /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
