//! Applies the decision about one mail inside its savepoint (see
//! [`super`]): reads the snapshot ([`snapshot`]), asks [`decide`] and
//! writes what it returns: the ticket, the participants, the events, and
//! the planned mails, each rendered with the ticket as the change left it
//! and queued ([`Apply::apply_steps`]). Agent mails are in [`agent`].

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;
use tracing::{info, warn};

use super::Pipeline;
use super::decide::{self, Audience, FileRef, FollowUp, NewTicketPlan, PlannedMail, Route, Routed, Step, StoredFile};
use super::snapshot;
use crate::classify::Classification;
use crate::config::Customer;
use crate::domain::{Category, Disposition, Level, Priority, Status};
use crate::engine::change_context;
use crate::engine::{QueuedMail, queue_mail_parts};
use crate::parse::InboundMail;
use crate::store::{self, NewTicket, Ticket};
use crate::templates;
use crate::words::{priority_title, status_title, strip_reply_prefixes};

mod agent;

/// The state of one mail being decided and written.
pub(super) struct Apply<'a> {
    pub(super) p: &'a Pipeline,
    pub(super) conn: &'a Connection,
    pub(super) row: i64,
    /// When the mail arrived at our server ([`arrival`]): the time of every
    /// decision, event and queued mail it causes.
    pub(super) now: DateTime<Utc>,
    /// When it is processed: the `Date:` of the mails it causes.
    pub(super) processed: DateTime<Utc>,
    pub(super) mail: &'a InboundMail,
    pub(super) queued: Vec<String>,
    pub(super) new_text: String,
    /// The classification, if [`Pipeline::prepare`] made it already.
    pub(super) class: Option<Classification>,
    /// The machine-mail check as [`Pipeline::prepare`] made it (`None`:
    /// a person wrote the mail).
    pub(super) machine: Option<crate::hygiene::Verdict>,
    /// What each stage decided (stored with the message).
    pub(super) trail: Vec<String>,
    /// The sender is an agent whose mail passed the trust check
    /// (`require_authentication`); only such a mail acts as an agent.
    pub(super) agent: bool,
    /// What the team must know about this mail (a failed trust check,
    /// refused commands, people not added): shown in its notifications.
    pub(super) warnings: Vec<String>,
    /// Everyone this mail was also addressed to (To and CC, not the
    /// support; at most 50): for the notifications, worked out once.
    pub(super) copied: Vec<String>,
}

type Decided = (Disposition, Option<i64>, Option<String>);

impl<'a> Apply<'a> {
    /// After a category or priority change: the due times follow the new
    /// targets ([`decide::due_times`]).
    fn refresh_due_times(&self, id: i64) -> Result<()> {
        let t = store::get_ticket(self.conn, id)?.context("ticket")?;
        if Category::parse(&t.category).is_none() || Priority::parse(&t.priority).is_none() {
            return Ok(());
        }
        store::parse_ts(&t.created_at).context("ticket without a creation time")?;
        let Some((first, resolution)) = decide::due_times(&self.p.cfg, &self.p.calendar, &t) else {
            return Ok(());
        };
        if let Some(due) = first {
            store::set_ticket_field(self.conn, id, "first_response_due", &store::ts(due), self.now)?;
        }
        store::set_ticket_field(self.conn, id, "resolution_due", &store::ts(resolution), self.now)?;
        Ok(())
    }

    /// Read what the decision needs, decide the mail's route
    /// ([`decide::route`], pure) and carry it out.
    pub(super) fn run(&mut self) -> Result<Decided> {
        let snap = snapshot::read(self.p, self.conn, self.mail, self.row, self.machine.take())?;
        let routed = decide::route(&self.p.cfg, self.mail, &self.new_text, &snap);
        self.apply_route(routed)
    }

    /// Carry out a route: its events first, then the route's own work, then
    /// the security event on the ticket the mail ends on.
    pub(super) fn apply_route(&mut self, routed: Routed) -> Result<Decided> {
        let Routed { route, agent, refused, security, events, parsed, trail, warnings, alerts } = routed;
        self.agent = agent;
        self.trail.extend(trail);
        self.warnings.extend(warnings);
        for a in &alerts {
            warn!(security = true, "{a}");
        }
        for e in &events {
            store::insert_event(self.conn, e.ticket, Some(self.row), self.now, &e.actor, e.kind, &e.detail)?;
        }
        let decided = match route {
            Route::Duplicate { ticket, .. } => {
                return Ok((
                    Disposition::Duplicate,
                    ticket,
                    Some("same Message-ID and same bytes as an earlier mail".into()),
                ));
            }
            Route::Machine { disposition, reason, bounce } => {
                let mut ticket = None;
                if let Some((t, detail, failed)) = bounce {
                    store::insert_event(
                        self.conn,
                        Some(t),
                        Some(self.row),
                        self.now,
                        "mailer-daemon",
                        "bounce",
                        &detail,
                    )?;
                    for r in &failed {
                        store::add_participant(self.conn, t, r, "bounced")?;
                    }
                    ticket = Some(t);
                }
                return Ok((disposition, ticket, Some(reason)));
            }
            Route::Agent { ticket } => self.agent_mail(*ticket, parsed)?,
            Route::Overview => self.overview()?,
            Route::FollowUp { ticket, untrusted } => self.customer_follow_up(*ticket, untrusted)?,
            Route::NewTicket { linked_to, note } => self.new_ticket(linked_to, note)?,
        };
        if let (Some(detail), Some(t)) = (security, decided.1) {
            let from = self.mail.from_addr().to_string();
            store::insert_event(self.conn, Some(t), Some(self.row), self.now, &from, "security", &detail)?;
        }
        Ok(match refused {
            Some(why) => (Disposition::RejectedCommand, decided.1, Some(why)),
            None => decided,
        })
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
        let class: Classification =
            self.class.take().unwrap_or_else(|| p.classifier().classify(&mail.subject, &self.new_text));
        self.trail.push(store::events::classify_line(
            class.category.as_str(),
            class.confidence,
            class.low_confidence,
            &class.reasons.join("; "),
        ));
        let plan = decide::new_ticket(cfg, &p.calendar, &class, customer, &mail.subject, &self.new_text, self.now);
        let NewTicketPlan { category: cat, priority, level, status, language, .. } = plan.clone();
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
            first_response_due: Some(store::ts(plan.first_response_due)),
            resolution_due: Some(store::ts(plan.resolution_due)),
            linked_to,
            requester_name: mail.from.as_ref().and_then(|m| m.name.clone()).filter(|n| !n.trim().is_empty()),
            security_flag: class.security_flag,
        };
        let id = store::insert_ticket(self.conn, &nt, self.now)?;
        store::add_participant(self.conn, id, &from, "requester")?;
        let copied: Vec<String> = mail.cc.iter().chain(mail.to.iter()).map(|m| m.addr.clone()).collect();
        self.add_cc_participants(id, nt.customer.as_deref(), &from, &copied)?;
        // The reasons are in the trail's classify line (above): kept once.
        store::insert_event(
            self.conn,
            Some(id),
            Some(self.row),
            self.now,
            "supportd",
            "created",
            &store::events::created_detail(&format!(
                "category {} (confidence {:.2}{}), level {}, priority {}",
                cat,
                class.confidence,
                if class.low_confidence { ", LOW" } else { "" },
                level,
                priority,
            )),
        )?;
        if let Some(n) = &note {
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, "supportd", "linked", n)?;
        }
        let ticket = nt.as_inserted(id, self.now);
        // Who gets what is decided (decide::new_ticket_mails, pure) from the
        // sender's automatic answers so far and the knowledge base's offers.
        let under_cap = self.under_rate_cap(&from, decide::ACK_BUDGET)?;
        let kb_articles = crate::kb::offers_json(&p.kb, cat, &language, &mail.subject, &self.new_text);
        let mails =
            decide::new_ticket_mails(cfg, &p.calendar, mail, self.row, id, &plan, &class, kb_articles, under_cap);
        self.apply_steps(mails, &ticket, customer, &[], &[])?;
        Ok((Disposition::NewTicket, Some(id), note))
    }

    /// A customer's mail on a ticket. `untrusted`: the mail failed a trust
    /// check (refused commands, an agent address without the trusted pass):
    /// it is recorded and the team told, but it changes no status and adds
    /// nobody to the ticket.
    fn customer_follow_up(&mut self, ticket: Ticket, untrusted: bool) -> Result<Decided> {
        let from = self.mail.from_addr().to_string();
        let step = decide::follow_up(&self.p.cfg, &ticket, untrusted, &self.new_text, self.now);
        let reopened = step == FollowUp::Reopen;
        match step {
            FollowUp::Untrusted => {
                store::insert_event(
                    self.conn,
                    Some(ticket.id),
                    Some(self.row),
                    self.now,
                    &from,
                    "message",
                    "follow-up that failed a trust check: no status change, nobody added",
                )?;
            }
            FollowUp::ThanksOnly => {
                store::insert_event(
                    self.conn,
                    Some(ticket.id),
                    Some(self.row),
                    self.now,
                    &from,
                    "message",
                    "thanks only: not reopened",
                )?;
                store::touch_ticket(self.conn, ticket.id, self.now)?;
                return Ok((Disposition::FollowUp, Some(ticket.id), Some("thanks only; ticket stays closed".into())));
            }
            FollowUp::TooLate(note) => return self.new_ticket(Some(ticket.id), Some(note)),
            // Reopened, or the customer answered: the ticket is back with the team.
            FollowUp::Reopen | FollowUp::Answered => {
                store::set_status(self.conn, ticket.id, Status::Open, self.now, &from, Some(self.row))?;
            }
            FollowUp::Plain => {}
        }
        if !untrusted {
            store::insert_event(self.conn, Some(ticket.id), Some(self.row), self.now, &from, "message", "follow-up")?;
            if from.eq_ignore_ascii_case(&ticket.requester)
                && let Some(name) =
                    self.mail.from.as_ref().and_then(|m| m.name.as_deref()).filter(|n| !n.trim().is_empty())
                && ticket.requester_name.as_deref() != Some(name)
            {
                store::set_ticket_field(self.conn, ticket.id, "requester_name", &name, self.now)?;
            }
            // The writer (a colleague of the requester) and the people they
            // copied join, by the organisation rule and the cap.
            let mut copied: Vec<String> = vec![from.clone()];
            copied.extend(self.mail.cc.iter().map(|m| m.addr.clone()));
            self.add_cc_participants(ticket.id, ticket.customer.as_deref(), &ticket.requester, &copied)?;
        }
        store::touch_ticket(self.conn, ticket.id, self.now)?;
        let ticket = store::get_ticket(self.conn, ticket.id)?.context("ticket")?;
        let customer = self.customer();
        let under_cap = !reopened || self.under_rate_cap(&from, decide::ACK_BUDGET)?;
        let mails = decide::follow_up_mails(&self.p.cfg, self.mail, self.row, &ticket, reopened, under_cap);
        self.apply_steps(mails, &ticket, customer, &[], &[])?;
        Ok((Disposition::FollowUp, Some(ticket.id), reopened.then(|| "reopened the ticket".to_string())))
    }

    /// Add the people a customer's mail copied (To/CC) to the ticket, the
    /// way a cautious helpdesk does: only people of the ticket's own
    /// organisation, never the support or an agent, at most
    /// `limits.max_recipients` on the customer side. Everyone else is left
    /// out, recorded as an event and named to the team (an agent adds
    /// others with `#cc`). Linear in the number of addresses.
    fn add_cc_participants(
        &mut self,
        ticket: i64,
        customer: Option<&str>,
        requester: &str,
        addrs: &[String],
    ) -> Result<()> {
        let cfg = &self.p.cfg;
        let existing = store::participants(self.conn, ticket)?;
        let joins = decide::cc_joins(cfg, &existing, customer, requester, addrs);
        for a in &joins.add {
            store::add_participant(self.conn, ticket, a, "cc")?;
        }
        for step in decide::cc_left_out(cfg, ticket, &joins) {
            match step {
                Step::Event(e) => {
                    store::insert_event(self.conn, e.ticket, Some(self.row), self.now, &e.actor, e.kind, &e.detail)?
                }
                Step::Warning(w) => self.warnings.push(w),
                Step::Mail(_) => {}
            }
        }
        Ok(())
    }

    /// "Anna (MEIN TEAM Support)" for a relayed answer when
    /// `support.agent_name_in_from` is on and the agent's mail gave a name.
    fn agent_display_name(&self) -> Option<String> {
        if !self.p.cfg.agent_name_in_from {
            return None;
        }
        let first = self.mail.from.as_ref()?.name.as_deref()?.split_whitespace().next()?.trim_matches(['"', ',']);
        (!first.is_empty()).then(|| format!("{first} ({})", self.p.cfg.display_name))
    }

    /// Who wrote this mail, as "Name <address>".
    fn author(&self) -> String {
        match self.mail.from.as_ref().and_then(|m| m.name.as_deref()).filter(|n| !n.trim().is_empty()) {
            Some(n) => format!("{n} <{}>", self.mail.from_addr()),
            None => self.mail.from_addr().to_string(),
        }
    }
}

impl<'a> Apply<'a> {
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
            // The greeting is the requester's, whoever's mail caused this one.
            "requester_name": t.requester_name,
            "customer": t.customer,
            "customer_or_requester": t.customer.clone().unwrap_or_else(|| t.requester.clone()),
            "category": t.category,
            "category_title": cat.title_one(lang),
            "level": t.level,
            "level_ordinal": level.ordinal(),
            "priority": t.priority,
            "priority_title": priority_title(&t.priority, lang),
            "status": t.status,
            "status_title": status_title(&t.status, lang == "en"),
            "covered": !t.billable,
            "contact_person": customer.and_then(|c| c.contact_person.clone()),
            "display_name": cfg.display_name,
            "support_address": cfg.support_address,
            // Once answered, no due time is shown any more.
            "first_response_due": t.first_response_due.as_deref().filter(|_| t.first_response_at.is_none()).and_then(store::parse_ts)
                .map(|d| d.with_timezone(&self.p.calendar.timezone()).format("%d.%m.%Y %H:%M").to_string()),
            "text": self.new_text,
            "warnings": self.warnings,
            // Who wrote the mail that caused this one, and who else it went to.
            "author": self.author(),
            "author_is_requester": self.mail.from_addr().eq_ignore_ascii_case(&t.requester),
            "copied": self.copied,
            // Set where they apply; every template may test them.
            "attachments": [],
            "reopened": false,
        });
        if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    }

    /// Render and queue a mail [`decide`] planned, with `ticket`'s context
    /// (and its `customer`'s contact person where the plan says so); its
    /// files are loaded from this mail or the store, a `change` mail takes
    /// the n-th of `changes`.
    pub(super) fn queue_planned(
        &mut self,
        m: PlannedMail,
        ticket: &Ticket,
        customer: Option<&Customer>,
        stored: &[StoredFile],
        changes: &[(store::Change, &'static str)],
    ) -> Result<()> {
        let p = self.p;
        let mut files = Vec::with_capacity(m.files.len());
        for f in &m.files {
            files.push(match *f {
                FileRef::ThisMail(i) => {
                    let a = self.mail.attachments.get(i).context("an attachment of this mail")?;
                    attachment(&a.filename, &a.content_type, a.data.clone(), Some(a.sha256.clone()))
                }
                FileRef::Stored(i) => {
                    let s = stored.get(i).context("a stored attachment")?;
                    let data = store::blob(self.conn, &s.sha256)?
                        .context("an attachment's bytes are missing from the store")?;
                    attachment(&s.name, &s.content_type, data, Some(s.sha256.clone()))
                }
            });
        }
        let customer = if m.with_customer { customer } else { None };
        let lang = m.lang.clone();
        let mut ctx = self.context(ticket, customer, &lang, m.context);
        if let Some(n) = m.change {
            let (ch, state) = changes.get(n).context("a change of this mail")?;
            ctx = change_context(p, ticket, customer, &lang, ch, state, ctx);
        }
        match m.audience {
            Audience::Team => self.queue_internal_with(m.kind, ticket, m.to, &ctx, files),
            Audience::Customer => {
                let (subject, body) = p.templates.render(m.kind, &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                self.queue_plain(m.kind, Some(ticket.id), m.to, subject, body, m.auto_submitted, m.in_reply_to, files)
            }
        }
    }

    /// Apply the steps of a plan in order: events, warnings for the team's
    /// later mails, mails ([`Apply::queue_planned`]).
    pub(super) fn apply_steps(
        &mut self,
        steps: Vec<Step>,
        ticket: &Ticket,
        customer: Option<&Customer>,
        stored: &[StoredFile],
        changes: &[(store::Change, &'static str)],
    ) -> Result<()> {
        for step in steps {
            match step {
                Step::Event(e) => {
                    store::insert_event(self.conn, e.ticket, Some(self.row), self.now, &e.actor, e.kind, &e.detail)?;
                    if e.kind == "rate_cap" {
                        info!(ticket = %self.p.tag(ticket.id), "{}", e.detail);
                    }
                }
                Step::Warning(w) => self.warnings.push(w),
                Step::Mail(m) => self.queue_planned(m, ticket, customer, stored, changes)?,
            }
        }
        Ok(())
    }

    fn queue_internal(&mut self, kind: &str, t: &Ticket, to: Vec<String>, ctx: &serde_json::Value) -> Result<()> {
        self.queue_internal_with(kind, t, to, ctx, Vec::new())
    }

    /// [`Apply::queue_internal`] with files attached.
    fn queue_internal_with(
        &mut self,
        kind: &str,
        t: &Ticket,
        mut to: Vec<String>,
        ctx: &serde_json::Value,
        attachments: Vec<templates::Attachment>,
    ) -> Result<()> {
        to.sort();
        to.dedup();
        to.retain(|a| !a.eq_ignore_ascii_case(&self.p.cfg.support_address));
        if to.is_empty() {
            return Ok(());
        }
        let lang = self.p.cfg.language.clone();
        // The team reads the support's language, whatever the customer's is.
        let mut ctx = ctx.clone();
        ctx["warnings"] = json!(self.warnings);
        let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
        ctx["category_title"] = json!(cat.title_one(&lang));
        ctx["priority_title"] = json!(priority_title(&t.priority, &lang));
        let (subject, body) = self.p.templates.render(kind, &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let irt = Some(self.mail.message_id.clone());
        self.queue_plain(kind, Some(t.id), to, subject, body, "auto-generated", irt, attachments)
    }

    /// Queue a rendered mail (with or without a ticket) in this transaction.
    #[allow(clippy::too_many_arguments)]
    fn queue_plain(
        &mut self,
        kind: &str,
        ticket: Option<i64>,
        to: Vec<String>,
        subject: String,
        body: String,
        auto_submitted: &'static str,
        in_reply_to: Option<String>,
        attachments: Vec<templates::Attachment>,
    ) -> Result<()> {
        let seed = format!("{}|{}|{}|{:?}|{}", self.mail.content_hash, kind, self.queued.len(), ticket, self.row);
        let queued = queue_mail_parts(
            self.p,
            self.conn,
            QueuedMail {
                kind,
                ticket,
                to,
                subject,
                body,
                auto_submitted,
                in_reply_to,
                seed: &seed,
                cause_row: Some(self.row),
                display_name: (kind == "agent_reply").then(|| self.agent_display_name()).flatten(),
                written_at: Some(self.processed),
            },
            None,
            attachments,
            self.now,
        )?;
        if queued.is_some() {
            self.queued.push(kind.to_string());
        }
        Ok(())
    }

    /// The ticket overview for the sender: their organisation's tickets (by
    /// domain), or only their own when they belong to no customer. Sent to
    /// the From address only, under the per-address cap.
    fn overview(&mut self) -> Result<Decided> {
        let p = self.p;
        let from = self.mail.from_addr().to_string();
        let customer = self.customer();
        if !self.under_rate_cap(&from, decide::OVERVIEW_BUDGET)? {
            let detail = format!("no overview to {from}: overview answer cap reached");
            store::insert_event(self.conn, None, Some(self.row), self.now, "supportd", "rate_cap", &detail)?;
            warn!("{detail}");
            return Ok((
                Disposition::OverviewRequest,
                None,
                Some(format!("no overview to {from}: automatic answer cap reached")),
            ));
        }
        let lang = self.p.language_for(customer, &self.new_text);
        let listed = snapshot::overview_tickets(self.conn, customer, &from)?;
        let (m, visible) = decide::overview_mail(&p.cfg, &p.calendar, self.mail, customer, &lang, &listed, self.now);
        let (subject, body) = p.templates.render(m.kind, &m.lang, &m.context).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        self.queue_plain(m.kind, None, m.to, subject, body, m.auto_submitted, m.in_reply_to, Vec::new())?;
        Ok((Disposition::OverviewRequest, None, Some(format!("{visible} tickets listed"))))
    }

    /// Whether `addr` may get another automatic answer of this budget: the
    /// acknowledgement budget counts acks (and any other automatic answer to
    /// a customer), the overview budget only overviews — an explicit
    /// request is owed its answer even after a busy exchange. Relayed agent
    /// answers and status mails are people's answers and never count.
    fn under_rate_cap(&self, addr: &str, budget: &[&str]) -> Result<bool> {
        let (hour, day) = snapshot::auto_answers(self.conn, addr, budget, self.now)?;
        Ok(decide::under_cap(&self.p.cfg.limits, hour, day))
    }
}

/// A file to attach: a content type no mail library would take goes as
/// `application/octet-stream`.
pub(super) fn attachment(
    name: &str,
    content_type: &str,
    data: Vec<u8>,
    sha256: Option<String>,
) -> templates::Attachment {
    let ct = if lettre::message::header::ContentType::parse(content_type).is_ok() {
        content_type
    } else {
        "application/octet-stream"
    };
    templates::Attachment { filename: name.to_string(), content_type: ct.to_string(), data, sha256 }
}

/// Everyone `mail` was also addressed to (To and CC, not `support`), at most 50.
pub(super) fn copied_of(mail: &InboundMail, support: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    mail.to
        .iter()
        .chain(mail.cc.iter())
        .filter(|m| !m.addr.eq_ignore_ascii_case(support) && seen.insert(m.addr.to_ascii_lowercase()))
        .take(50)
        .map(|m| m.addr.clone())
        .collect()
}
