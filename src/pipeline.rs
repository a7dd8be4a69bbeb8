//! `process(raw, now)`: the one path every mail takes, for the daemon, the
//! `ingest` command and the tests.
//!
//! Inside the caller's transaction: the raw bytes are written first; then
//! parse -> duplicate check -> hygiene -> thread -> classify -> decide, and the
//! message row, the ticket change, the events and the outbox rows are written.
//! A mail that fails in any stage is rolled back to its raw row and kept as
//! `quarantined` with the reason; only storage errors abort the transaction
//! (so the source is not acknowledged and the mail comes again).
//!
//! Invariant: the mailbox is acknowledged only after the transaction holding
//! a mail's row committed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde_json::json;
use tracing::{info, warn};

use crate::calendar::BusinessCalendar;
use crate::classify::{Classification, Classifier};
use crate::config::{Config, Customer, domain_of};
use crate::domain::{Category, Disposition, Level, Priority, Status, TicketTag};
use crate::hygiene;
use crate::parse::{self, InboundMail};
use crate::store::{self, MessageFacts, NewTicket, OutRow, Ticket};
use crate::templates::{self, Draft, Templates};
use crate::text;
use crate::thread::{IdSigner, OwnId};

/// Everything `process` needs besides the mail, the store and the clock.
pub struct Pipeline {
    pub cfg: Config,
    pub classifier: Classifier,
    pub templates: Templates,
    pub signer: IdSigner,
    pub calendar: BusinessCalendar,
}

/// What became of one mail.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The `messages` row.
    pub row: i64,
    pub message_id: Option<String>,
    pub disposition: Disposition,
    pub ticket: Option<i64>,
    pub reason: Option<String>,
    /// Kinds of the mails queued because of it.
    pub queued: Vec<String>,
}

/// A failure that is the mail's fault (quarantine it), not the store's.
struct MailError(String);

impl Pipeline {
    /// Build the pipeline for a config; the Message-ID secret comes from the
    /// config or is generated once and kept in the store.
    pub fn new(cfg: Config, conn: &Connection) -> Result<Pipeline> {
        let classifier = match &cfg.classifier_path {
            Some(p) => Classifier::load(p).map_err(|e| anyhow::anyhow!(e))?,
            None => Classifier::embedded(),
        };
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
        Ok(Pipeline { cfg, classifier, templates, signer, calendar })
    }

    pub fn tag(&self, n: i64) -> String {
        TicketTag::new(&self.cfg.tag_prefix, n).to_string()
    }

    /// Process one mail inside the caller's transaction.
    pub fn process(&self, conn: &Connection, raw: &[u8], source: &str, now: DateTime<Utc>) -> Result<Outcome> {
        let hash = parse::sha256_hex(raw);
        let row = store::insert_raw(conn, raw, &hash, source, now).context("storing the raw mail")?;
        conn.execute_batch("SAVEPOINT mail")?;
        let result = catch_unwind(AssertUnwindSafe(|| self.decide_and_write(conn, row, raw, now)));
        let outcome = match result {
            Ok(Ok(Ok(o))) => {
                conn.execute_batch("RELEASE mail")?;
                o
            }
            Ok(Err(storage)) => {
                conn.execute_batch("ROLLBACK TO mail; RELEASE mail")?;
                return Err(storage);
            }
            Ok(Ok(Err(MailError(reason)))) => self.quarantine(conn, row, raw, reason)?,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                self.quarantine(conn, row, raw, format!("internal error while processing: {what}"))?
            }
        };
        info!(
            message_id = outcome.message_id.as_deref().unwrap_or("-"),
            ticket = outcome.ticket.map(|t| self.tag(t)).as_deref().unwrap_or("-"),
            disposition = outcome.disposition.as_str(),
            "processed mail from {source}"
        );
        Ok(outcome)
    }

    fn quarantine(&self, conn: &Connection, row: i64, raw: &[u8], reason: String) -> Result<Outcome> {
        conn.execute_batch("ROLLBACK TO mail; RELEASE mail")?;
        // Keep what little we can tell about the mail for the listing.
        let limits = &self.cfg.limits;
        let peek = if raw.len() <= limits.max_mail_bytes { parse::parse(raw, limits).ok() } else { None };
        let facts = MessageFacts {
            message_id: peek.as_ref().map(|m| m.message_id.clone()),
            from_addr: peek.as_ref().map(|m| m.from_addr().to_string()),
            subject: peek.as_ref().map(|m| m.subject.clone()),
            disposition: Disposition::Quarantined.as_str().into(),
            reason: Some(reason.clone()),
            ..Default::default()
        };
        store::finish_message(conn, row, &facts)?;
        warn!(row, "quarantined mail: {reason}");
        Ok(Outcome {
            row,
            message_id: facts.message_id,
            disposition: Disposition::Quarantined,
            ticket: None,
            reason: Some(reason),
            queued: Vec::new(),
        })
    }

    /// Outer `Result`: storage failed. Inner: the mail could not be processed.
    fn decide_and_write(
        &self,
        conn: &Connection,
        row: i64,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Outcome, MailError>> {
        let mail = match parse::parse(raw, &self.cfg.limits) {
            Ok(m) => m,
            Err(e) => return Ok(Err(MailError(e.0))),
        };
        let mut w = Writer { p: self, conn, row, now, mail: &mail, queued: Vec::new(), new_text: String::new() };
        let (disposition, ticket, reason) = w.run()?;
        let facts = MessageFacts {
            message_id: Some(mail.message_id.clone()),
            from_addr: Some(mail.from_addr().to_string()),
            subject: Some(mail.subject.clone()),
            sent_date: mail.date.clone(),
            in_reply_to: (!mail.in_reply_to.is_empty()).then(|| mail.in_reply_to.join(" ")),
            refs: (!mail.references.is_empty()).then(|| mail.references.join(" ")),
            new_text: Some(w.new_text.clone()),
            disposition: disposition.as_str().into(),
            reason: reason.clone(),
            ticket_id: ticket,
        };
        store::finish_message(conn, row, &facts)?;
        if disposition != Disposition::Duplicate {
            for a in &mail.attachments {
                store::insert_attachment(conn, row, &a.filename, &a.content_type, &a.data, a.flag.as_deref())?;
            }
        }
        Ok(Ok(Outcome {
            row,
            message_id: Some(mail.message_id.clone()),
            disposition,
            ticket,
            reason,
            queued: w.queued,
        }))
    }

    /// The customer language for an address (customer config, else detected from the text).
    fn language_for(&self, customer: Option<&Customer>, text: &str) -> String {
        match customer {
            Some(c) => c.language.clone(),
            None => detect_language(text, &self.cfg.language),
        }
    }
}

/// The state of one mail being decided and written.
struct Writer<'a> {
    p: &'a Pipeline,
    conn: &'a Connection,
    row: i64,
    now: DateTime<Utc>,
    mail: &'a InboundMail,
    queued: Vec<String>,
    new_text: String,
}

type Decided = (Disposition, Option<i64>, Option<String>);

/// Where a mail belongs.
enum Thread {
    None,
    Ticket(Box<Ticket>),
    /// It points at this ticket, but its sender does not belong there.
    Stranger(i64, String),
}

impl<'a> Writer<'a> {
    fn run(&mut self) -> Result<Decided> {
        let mail = self.mail;
        let cfg = &self.p.cfg;
        self.new_text = text::new_text(&mail.body_text);

        if let Some((_, ticket)) = store::find_duplicate(self.conn, &mail.message_id, &mail.content_hash, self.row)? {
            return Ok((
                Disposition::Duplicate,
                ticket,
                Some("same Message-ID and same bytes as an earlier mail".into()),
            ));
        }

        if let Some(v) = hygiene::check(mail, &cfg.support_address) {
            let mut ticket = None;
            if v.disposition == Disposition::Bounce {
                let info = hygiene::bounce_info(mail);
                ticket = self.ticket_for_ids(&info.original_ids)?.map(|(t, _)| t);
                if let Some(t) = ticket {
                    let detail = if info.failed_recipients.is_empty() {
                        "a mail on this ticket bounced".to_string()
                    } else {
                        format!("delivery failed to {}", info.failed_recipients.join(", "))
                    };
                    store::insert_event(
                        self.conn,
                        Some(t),
                        Some(self.row),
                        self.now,
                        "mailer-daemon",
                        "bounce",
                        &detail,
                    )?;
                    for r in &info.failed_recipients {
                        store::add_participant(self.conn, t, r, "bounced")?;
                    }
                }
            }
            return Ok((v.disposition, ticket, Some(v.reason)));
        }

        let from = mail.from_addr().to_string();
        let is_agent = cfg.agents.is_agent(&from);
        let thread = self.find_thread()?;

        match thread {
            Thread::Ticket(ticket) if is_agent => self.agent_mail(*ticket),
            Thread::Ticket(ticket) => self.customer_follow_up(*ticket),
            Thread::Stranger(other, detail) => self.new_ticket(Some(other), Some(detail)),
            Thread::None => self.new_ticket(None, None),
        }
    }

    /// Resolve the ticket this mail belongs to: our signed ids, stored ids,
    /// then the subject tag; a sender who does not belong to it does not join.
    fn find_thread(&mut self) -> Result<Thread> {
        let mail = self.mail;
        let mut ids: Vec<String> = mail.references.clone();
        ids.extend(mail.in_reply_to.iter().cloned());
        let candidate = match self.ticket_for_ids(&ids)? {
            Some((t, how)) => Some((t, how)),
            None => self.p.signer.subject_tag(&mail.subject).map(|t| (t, "subject tag")),
        };
        let Some((number, how)) = candidate else { return Ok(Thread::None) };
        let Some(mut ticket) = store::get_ticket(self.conn, number)? else { return Ok(Thread::None) };
        // Follow merges to the surviving ticket.
        let mut hops = 0;
        while let Some(target) = ticket.merged_into {
            hops += 1;
            match store::get_ticket(self.conn, target)? {
                Some(t) if hops < 10 => ticket = t,
                _ => break,
            }
        }
        if !self.belongs_to(&ticket)? {
            let detail = format!(
                "{} referred to {} by {how} but is not a participant: not joined",
                self.mail.from_addr(),
                self.p.tag(ticket.id)
            );
            store::insert_event(self.conn, Some(ticket.id), Some(self.row), self.now, "supportd", "security", &detail)?;
            warn!("{detail}");
            return Ok(Thread::Stranger(ticket.id, detail));
        }
        Ok(Thread::Ticket(Box::new(ticket)))
    }

    fn ticket_for_ids(&self, ids: &[String]) -> Result<Option<(i64, &'static str)>> {
        let mut foreign = Vec::new();
        for id in ids.iter().rev() {
            match self.p.signer.check(id) {
                OwnId::Ours(Some(n)) => return Ok(Some((n, "our Message-ID"))),
                OwnId::Ours(None) => {}
                OwnId::Forged => {
                    warn!(id, "a reference looks like our Message-ID but its hash is wrong: ignored");
                }
                OwnId::Foreign => foreign.push(id.clone()),
            }
        }
        foreign.reverse();
        Ok(store::ticket_for_message_ids(self.conn, &foreign)?.map(|t| (t, "References")))
    }

    fn belongs_to(&self, t: &Ticket) -> Result<bool> {
        let from = self.mail.from_addr();
        if from.eq_ignore_ascii_case(&t.requester) || self.p.cfg.agents.is_agent(from) {
            return Ok(true);
        }
        if store::participants(self.conn, t.id)?.iter().any(|(a, _)| a.eq_ignore_ascii_case(from)) {
            return Ok(true);
        }
        let cust = self.p.cfg.customer_for(from).map(|c| c.name.as_str());
        if let (Some(c), Some(tc)) = (cust, t.customer.as_deref()) {
            return Ok(c == tc);
        }
        // No customer configured: the same domain counts as the same organisation.
        Ok(cust.is_none()
            && t.customer.is_none()
            && domain_of(from).is_some()
            && domain_of(from) == domain_of(&t.requester))
    }

    fn customer(&self) -> Option<&'a Customer> {
        let p: &'a Pipeline = self.p;
        let mail: &'a InboundMail = self.mail;
        p.cfg.customer_for(mail.from_addr())
    }

    fn new_ticket(&mut self, linked_to: Option<i64>, note: Option<String>) -> Result<Decided> {
        let p = self.p;
        let cfg = &p.cfg;
        let mail = self.mail;
        let from = mail.from_addr().to_string();
        let customer = self.customer();
        let class: Classification = p.classifier.classify(&mail.subject, &self.new_text);
        let cat = class.category;
        let cc = cfg.category(cat);
        let mut priority = cc.priority;
        if cat == Category::SecurityError && priority < Priority::High {
            priority = Priority::High;
        }
        let level = cc.level;
        let status = if cat == Category::ChangeRequest && customer.and_then(|c| c.consultant.as_ref()).is_some() {
            Status::Forwarded
        } else {
            Status::New
        };
        let language = p.language_for(customer, &format!("{}\n{}", mail.subject, self.new_text));
        let open_at = p.calendar.next_opening(self.now);
        let fr_due = p.calendar.add_support_hours(self.now, hours(cc.first_response_hours));
        let res_due = p.calendar.add_support_hours(self.now, hours(cc.resolution_hours));
        let subject = if mail.subject.is_empty() { "(kein Betreff)".to_string() } else { mail.subject.clone() };
        let nt = NewTicket {
            subject: subject.chars().take(200).collect(),
            category: cat.as_str().into(),
            level: level.get() as i64,
            priority: priority.as_str().into(),
            status: status.as_str().into(),
            customer: customer.map(|c| c.name.clone()),
            requester: from.clone(),
            billable: !cat.covered_by_maintenance(),
            confidence: class.confidence,
            low_confidence: class.low_confidence,
            language: language.clone(),
            first_response_due: Some(store::ts(fr_due)),
            resolution_due: Some(store::ts(res_due)),
            linked_to,
        };
        let id = store::insert_ticket(self.conn, &nt, self.now)?;
        store::add_participant(self.conn, id, &from, "requester")?;
        for cc_addr in mail.cc.iter().chain(mail.to.iter()) {
            let a = &cc_addr.addr;
            if !a.eq_ignore_ascii_case(&cfg.support_address) && !cfg.agents.is_agent(a) {
                store::add_participant(self.conn, id, a, "cc")?;
            }
        }
        let reasons = class.reasons.join("; ");
        store::insert_event(
            self.conn,
            Some(id),
            Some(self.row),
            self.now,
            "supportd",
            "created",
            &format!(
                "category {} (confidence {:.2}{}), level {}, priority {}: {}",
                cat,
                class.confidence,
                if class.low_confidence { ", LOW" } else { "" },
                level,
                priority,
                reasons
            ),
        )?;
        if let Some(n) = &note {
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, "supportd", "linked", n)?;
        }
        let ticket = store::get_ticket(self.conn, id)?.context("the ticket just inserted")?;
        let in_hours = p.calendar.is_open(self.now);
        let ctx = self.context(
            &ticket,
            customer,
            &language,
            json!({
                "in_hours": in_hours,
                "next_opening": p.calendar.format_opening(open_at, &language),
                "security": cat == Category::SecurityError,
                "reasons": reasons,
                "confidence": format!("{:.2}", class.confidence),
                "low_confidence": class.low_confidence,
                "follow_up": false,
            }),
        );
        // The customer's acknowledgement.
        self.queue_to_customer("ack", &ticket, &language, &ctx)?;
        // The team of the ticket's level, the category's notify list, the project team on level 2.
        let mut team: Vec<String> = cfg.level_team(level).to_vec();
        if level.get() >= 2
            && let Some(c) = customer
        {
            team.extend(c.project_team.iter().cloned());
        }
        team.extend(cc.notify.iter().cloned());
        self.queue_internal("notify_agents", &ticket, team, &ctx)?;
        if cat == Category::ChangeRequest
            && let Some(consultant) = customer.and_then(|c| c.consultant.clone())
        {
            self.queue_internal("forward_consultant", &ticket, vec![consultant], &ctx)?;
        }
        Ok((Disposition::NewTicket, Some(id), note))
    }

    fn customer_follow_up(&mut self, ticket: Ticket) -> Result<Decided> {
        let p = self.p;
        let status = Status::parse(&ticket.status).unwrap_or(Status::Open);
        if !status.is_open() {
            let closed_at = ticket.closed_at.as_deref().and_then(store::parse_ts).unwrap_or(self.now);
            let within = self.now - closed_at <= Duration::days(p.cfg.reopen_days);
            if is_thanks_only(&self.new_text) {
                store::insert_event(
                    self.conn,
                    Some(ticket.id),
                    Some(self.row),
                    self.now,
                    self.mail.from_addr(),
                    "message",
                    "thanks only: not reopened",
                )?;
                store::touch_ticket(self.conn, ticket.id, self.now)?;
                return Ok((Disposition::FollowUp, Some(ticket.id), Some("thanks only; ticket stays closed".into())));
            }
            if !within {
                let note =
                    format!("reply to {} which was closed more than {} days ago", p.tag(ticket.id), p.cfg.reopen_days);
                return self.new_ticket(Some(ticket.id), Some(note));
            }
            store::set_ticket_field(self.conn, ticket.id, "status", &Status::Open.as_str(), self.now)?;
            store::set_ticket_field(self.conn, ticket.id, "closed_at", &rusqlite::types::Null, self.now)?;
            store::insert_event(
                self.conn,
                Some(ticket.id),
                Some(self.row),
                self.now,
                self.mail.from_addr(),
                "status",
                &format!("{status} -> open (customer replied)"),
            )?;
        } else if status == Status::Waiting {
            store::set_ticket_field(self.conn, ticket.id, "status", &Status::Open.as_str(), self.now)?;
            store::insert_event(
                self.conn,
                Some(ticket.id),
                Some(self.row),
                self.now,
                self.mail.from_addr(),
                "status",
                "waiting -> open (customer replied)",
            )?;
        }
        store::insert_event(
            self.conn,
            Some(ticket.id),
            Some(self.row),
            self.now,
            self.mail.from_addr(),
            "message",
            "customer follow-up",
        )?;
        for cc in &self.mail.cc {
            if !cc.addr.eq_ignore_ascii_case(&p.cfg.support_address) && !p.cfg.agents.is_agent(&cc.addr) {
                store::add_participant(self.conn, ticket.id, &cc.addr, "cc")?;
            }
        }
        store::touch_ticket(self.conn, ticket.id, self.now)?;
        let ticket = store::get_ticket(self.conn, ticket.id)?.context("ticket")?;
        let customer = self.customer();
        let lang = ticket.language.clone();
        let ctx = self.context(&ticket, customer, &lang, json!({"follow_up": true}));
        let level = Level::new(ticket.level).unwrap_or(Level::FIRST);
        let mut team = p.cfg.level_team(level).to_vec();
        if let Some(a) = &ticket.assignee {
            team.push(a.clone());
        }
        self.queue_internal("notify_agents", &ticket, team, &ctx)?;
        Ok((Disposition::FollowUp, Some(ticket.id), None))
    }

    /// An agent's mail on a ticket (commands come with the workflow issue):
    /// relayed to the customer as the support's answer.
    fn agent_mail(&mut self, ticket: Ticket) -> Result<Decided> {
        let from = self.mail.from_addr().to_string();
        store::insert_event(
            self.conn,
            Some(ticket.id),
            Some(self.row),
            self.now,
            &from,
            "agent_reply",
            "relayed to the customer",
        )?;
        if ticket.first_response_at.is_none() {
            store::set_ticket_field(self.conn, ticket.id, "first_response_at", &store::ts(self.now), self.now)?;
        }
        let lang = ticket.language.clone();
        let mut recipients = vec![ticket.requester.clone()];
        for (a, role) in store::participants(self.conn, ticket.id)? {
            if role == "cc" && !recipients.contains(&a) {
                recipients.push(a);
            }
        }
        let body = self.new_text.clone();
        let subject = format!("[{}] {}", self.p.tag(ticket.id), strip_reply_prefixes(&ticket.subject));
        self.queue_raw("agent_reply", &ticket, recipients, subject, body, "auto-generated", &lang)?;
        let _ = lang;
        Ok((Disposition::AgentReply, Some(ticket.id), None))
    }

    fn context(
        &self,
        t: &Ticket,
        customer: Option<&Customer>,
        lang: &str,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let cfg = &self.p.cfg;
        let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
        let level = Level::new(t.level).unwrap_or(Level::FIRST);
        let mut v = json!({
            "tag": self.p.tag(t.id),
            "subject": strip_reply_prefixes(&t.subject),
            "requester": t.requester,
            "requester_name": self.mail.from.as_ref().and_then(|m| m.name.clone()),
            "customer": t.customer,
            "customer_or_requester": t.customer.clone().unwrap_or_else(|| t.requester.clone()),
            "category": t.category,
            "category_title": cat.title(lang),
            "level": t.level,
            "level_ordinal": level.ordinal(),
            "priority": t.priority,
            "priority_title": priority_title(&t.priority, lang),
            "status": t.status,
            "covered": !t.billable,
            "contact_person": customer.and_then(|c| c.contact_person.clone()),
            "display_name": cfg.display_name,
            "support_address": cfg.support_address,
            "first_response_due": t.first_response_due.as_deref().and_then(store::parse_ts)
                .map(|d| d.with_timezone(&self.p.calendar.timezone()).format("%d.%m.%Y %H:%M").to_string()),
            "text": self.new_text,
        });
        if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    }

    /// Queue a templated mail to the ticket's requester, unless the per-sender cap is reached.
    fn queue_to_customer(&mut self, kind: &str, t: &Ticket, lang: &str, ctx: &serde_json::Value) -> Result<()> {
        let to = self.mail.from_addr().to_string();
        if !self.under_rate_cap(&to)? {
            store::insert_event(
                self.conn,
                Some(t.id),
                Some(self.row),
                self.now,
                "supportd",
                "rate_cap",
                &format!("no {kind} to {to}: automatic answer cap reached"),
            )?;
            return Ok(());
        }
        let (subject, body) = self.p.templates.render(kind, lang, ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        self.queue_raw(kind, t, vec![to], subject, body, "auto-replied", lang)
    }

    fn queue_internal(&mut self, kind: &str, t: &Ticket, mut to: Vec<String>, ctx: &serde_json::Value) -> Result<()> {
        to.sort();
        to.dedup();
        to.retain(|a| !a.eq_ignore_ascii_case(&self.p.cfg.support_address));
        if to.is_empty() {
            return Ok(());
        }
        let lang = self.p.cfg.language.clone();
        let (subject, body) = self.p.templates.render(kind, &lang, ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        self.queue_raw(kind, t, to, subject, body, "auto-generated", &lang)
    }

    #[allow(clippy::too_many_arguments)]
    fn queue_raw(
        &mut self,
        kind: &str,
        t: &Ticket,
        to: Vec<String>,
        subject: String,
        body: String,
        auto_submitted: &'static str,
        _lang: &str,
    ) -> Result<()> {
        let p = self.p;
        let tag = p.tag(t.id);
        let subject = if subject.contains(&tag) { subject } else { format!("[{tag}] {subject}") };
        let unique = &parse::sha256_hex(
            format!("{}|{}|{}|{}|{}", self.mail.content_hash, kind, self.queued.len(), t.id, self.row).as_bytes(),
        )[..12];
        let message_id = p.signer.make(Some(t.id), kind, unique);
        let mut references = store::ticket_message_ids(self.conn, t.id)?;
        references.retain(|r| *r != self.mail.message_id);
        references.push(self.mail.message_id.clone());
        let draft = Draft {
            kind: kind.into(),
            ticket: Some(t.id),
            to: to.clone(),
            subject: subject.clone(),
            body,
            in_reply_to: Some(self.mail.message_id.clone()),
            references,
            auto_submitted,
        };
        let raw = templates::build(&draft, &p.cfg.support_address, &p.cfg.display_name, &message_id, self.now)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        store::insert_outbox(
            self.conn,
            &OutRow {
                kind: kind.into(),
                ticket_id: Some(t.id),
                message_id,
                recipients: to,
                subject,
                raw,
                in_reply_to: Some(self.mail.message_id.clone()),
            },
            Some(self.row),
            self.now,
        )?;
        self.queued.push(kind.to_string());
        Ok(())
    }

    fn under_rate_cap(&self, addr: &str) -> Result<bool> {
        let l = &self.p.cfg.limits;
        let hour = store::auto_mails_to_since(self.conn, addr, self.now - Duration::hours(1))?;
        let day = store::auto_mails_to_since(self.conn, addr, self.now - Duration::days(1))?;
        Ok(hour < l.auto_replies_per_hour && day < l.auto_replies_per_day)
    }
}

fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0).round() as i64)
}

fn priority_title(p: &str, lang: &str) -> &'static str {
    match (p, lang) {
        ("low", "en") => "low",
        ("normal", "en") => "normal",
        ("high", "en") => "high",
        ("critical", "en") => "critical",
        ("low", _) => "niedrig",
        ("high", _) => "hoch",
        ("critical", _) => "kritisch",
        _ => "normal",
    }
}

/// Remove `Re:`/`AW:`/`WG:`… chains and our tag from a subject.
pub fn strip_reply_prefixes(s: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^\s*((re|aw|wg|fwd?|fw|antw|vs|sv|tr|wtr|rif|r)(\[\d+\])?\s*:\s*|\[[A-Z]{1,8}-\d{6}\]\s*)+",
        )
        .expect("static regex")
    });
    RE.replace(s, "").trim().to_string()
}

/// Whether the new text is only thanks ("Danke!", "Vielen Dank, hat geklappt").
pub fn is_thanks_only(text: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^[\s,.!:;)(-]*((vielen|herzlichen|besten|tausend|many)?\s*(dank|danke|thanks|thank you|thx|merci)(\s*(schön|sehr|nochmal|für (die|ihre) (hilfe|rückmeldung|unterstützung)|a lot|so much|for (your|the) help))*|hat (jetzt )?(geklappt|funktioniert)|passt|funktioniert (jetzt|wieder)|it works( now)?|works now|all good|perfekt|super|prima|top|gruß|grüße|mfg|lg|viele grüße|beste grüße|mit freundlichen grüßen|regards|best|cheers|[\s,.!:;)(-]+)*[\s,.!:;)(-]*$",
        )
        .expect("static regex")
    });
    let t = text.trim();
    // Short and entirely thanks-words; a name at the end is allowed.
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    if t.is_empty() || t.len() > 200 || lines.len() > 4 {
        return false;
    }
    let body = if lines.len() > 1 && lines.last().is_some_and(|l| l.split_whitespace().count() <= 3 && !l.contains('?'))
    {
        lines[..lines.len() - 1].join(" ")
    } else {
        lines.join(" ")
    };
    RE.is_match(&body)
}

/// A crude language guess for senders without a configured customer.
pub fn detect_language(text: &str, default: &str) -> String {
    const EN: &[&str] =
        &["the", "and", "is", "not", "please", "we", "you", "our", "with", "cannot", "hello", "thanks", "have", "this"];
    const DE: &[&str] = &[
        "der", "die", "das", "und", "ist", "nicht", "bitte", "wir", "sie", "mit", "hallo", "ich", "danke", "haben",
        "ein", "eine",
    ];
    let mut en = 0;
    let mut de = 0;
    for w in text.split(|c: char| !c.is_alphabetic()).take(400) {
        let w = w.to_lowercase();
        if EN.contains(&w.as_str()) {
            en += 1;
        }
        if DE.contains(&w.as_str()) {
            de += 1;
        }
    }
    if en > de * 2 && en >= 3 {
        "en".into()
    } else if de > 0 {
        "de".into()
    } else {
        default.into()
    }
}

fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).context("reading /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Process many mails in one transaction (the throughput lever); returns the
/// outcomes in order. On a storage error nothing of the batch is committed.
pub fn process_batch(
    p: &Pipeline,
    store: &mut store::Store,
    mails: &[(String, Vec<u8>)],
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>> {
    process_batch_then(p, store, mails, now, |_, _| Ok(()))
}

/// [`process_batch`], plus `then` inside the same transaction before the
/// commit (a source records how far it got, e.g. the IMAP UID, atomically
/// with the mails themselves).
pub fn process_batch_then(
    p: &Pipeline,
    store: &mut store::Store,
    mails: &[(String, Vec<u8>)],
    now: DateTime<Utc>,
    then: impl FnOnce(&Connection, &[Outcome]) -> Result<()>,
) -> Result<Vec<Outcome>> {
    let tx = store.conn_mut().transaction()?;
    let mut out = Vec::with_capacity(mails.len());
    for (source, raw) in mails {
        out.push(p.process(&tx, raw, source, now)?);
    }
    then(&tx, &out)?;
    tx.commit().context("committing the batch")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_prefix_chains_are_stripped() {
        assert_eq!(strip_reply_prefixes("AW: WG: RE[2]: [MT-000001] Login"), "Login");
        assert_eq!(strip_reply_prefixes("Antw: Frage"), "Frage");
        assert_eq!(strip_reply_prefixes("Reparatur"), "Reparatur");
    }

    #[test]
    fn thanks_only_is_recognised_but_not_a_new_problem() {
        for t in ["Danke!", "Vielen Dank, hat geklappt", "thanks", "Vielen Dank!\nMaria", "Thank you so much!"] {
            assert!(is_thanks_only(t), "{t}");
        }
        for t in ["Danke, aber der Fehler ist wieder da.", "Thanks, but it still fails", "Danke. Können Sie noch X?"] {
            assert!(!is_thanks_only(t), "{t}");
        }
    }

    #[test]
    fn language_guess() {
        assert_eq!(detect_language("Hello, we cannot log in, please help", "de"), "en");
        assert_eq!(detect_language("Hallo, wir können uns nicht anmelden, bitte helfen Sie", "en"), "de");
    }
}
