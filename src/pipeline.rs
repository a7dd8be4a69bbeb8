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
//!
//! The pure part of a mail's work (parse, new text, classification) is
//! [`Pipeline::prepare`]; `process` is `prepare` then `process_prepared`. A
//! batch ([`process_batch`]) prepares the next mails on a long-lived thread
//! while the current one is written, which uses the second core (ingest of
//! 5,000 mails 2,550-2,810 -> 3,920-4,380 mails/s). Nothing is stored by
//! `prepare`, so the raw bytes are still the first write of every mail.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde_json::json;
use tracing::{info, warn};

use crate::calendar::BusinessCalendar;
use crate::classify::{Classification, Classifier};
use crate::commands::{self, Command};
use crate::config::{Config, Customer, domain_of};
use crate::domain::{Category, Disposition, Level, Priority, Status, TicketTag};
use crate::hygiene;
use crate::parse::{self, InboundMail};
use crate::reports;
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
    /// The knowledge base offered in acks (`kb.path`), re-read on reload.
    pub kb: crate::kb::Kb,
}

/// The pipeline the daemon's loops use, swapped as a whole on SIGHUP: each
/// batch takes the current one, so a reload never changes a batch midway.
pub struct SharedPipeline(std::sync::RwLock<std::sync::Arc<Pipeline>>);

impl SharedPipeline {
    pub fn new(p: Pipeline) -> std::sync::Arc<SharedPipeline> {
        std::sync::Arc::new(SharedPipeline(std::sync::RwLock::new(std::sync::Arc::new(p))))
    }

    /// The pipeline in force now.
    pub fn current(&self) -> std::sync::Arc<Pipeline> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Put a new pipeline in force for the next batch.
    pub fn replace(&self, p: Pipeline) {
        let new = std::sync::Arc::new(p);
        match self.0.write() {
            Ok(mut g) => *g = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }
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

/// A mail's pure work, from [`Pipeline::prepare`].
pub struct Prepared {
    /// SHA-256 of the raw bytes (hex).
    hash: String,
    /// The parsed mail, or the reason it cannot be parsed; `Err` = a panic.
    work: std::result::Result<std::result::Result<Box<PreparedMail>, String>, String>,
    /// Time spent preparing (for the processing-latency figures).
    spent: std::time::Duration,
    /// When our own server received the mail, if the source knows it (IMAP
    /// INTERNALDATE); else it is read from the Maildir name or the topmost
    /// `Received:` header (see [`arrival`]).
    pub arrived: Option<DateTime<Utc>>,
}

struct PreparedMail {
    mail: InboundMail,
    new_text: String,
    class: Option<Classification>,
}

/// See [`Pipeline::prepare`].
fn prepare(limits: &crate::config::Limits, classifier: &Classifier, raw: &[u8], classify: bool) -> Prepared {
    let started = std::time::Instant::now();
    let work = catch_unwind(AssertUnwindSafe(|| match parse::parse(raw, limits) {
        Ok(mail) => {
            // Command lines on top are kept as they are; the new text is read
            // from what follows them (a bottom-posted answer is found then).
            let top = commands::leading_block_len(&mail.body_text);
            let new_text = if top == 0 {
                text::new_text(&mail.body_text)
            } else {
                let rest = text::new_text(&mail.body_text[top..]);
                format!("{}\n{rest}", mail.body_text[..top].trim_end())
            };
            let class = classify.then(|| classifier.classify(&mail.subject, &new_text));
            Ok(Box::new(PreparedMail { mail, new_text, class }))
        }
        Err(e) => Err(e.0),
    }))
    .map_err(|panic| panic_message(&*panic));
    let hash = match &work {
        Ok(Ok(m)) => m.mail.content_hash.clone(),
        _ => parse::sha256_hex(raw),
    };
    Prepared { hash, work, spent: started.elapsed(), arrived: None }
}

type PrepareJob = Box<dyn FnOnce() + Send>;

/// The one long-lived thread that prepares the mails of every batch, ahead
/// of the writer. Long-lived on purpose: the regex engine keeps its caches
/// per thread identity, and a new thread per batch made each rule regex
/// keep up to eight sets of caches (+20 MB).
fn prepare_thread() -> Option<std::sync::MutexGuard<'static, std::sync::mpsc::Sender<PrepareJob>>> {
    static THREAD: std::sync::OnceLock<Option<std::sync::Mutex<std::sync::mpsc::Sender<PrepareJob>>>> =
        std::sync::OnceLock::new();
    THREAD
        .get_or_init(|| {
            let (jobs, queue) = std::sync::mpsc::channel::<PrepareJob>();
            let spawned = std::thread::Builder::new().name("supportd-prepare".into()).spawn(move || {
                for job in queue {
                    job();
                }
            });
            match spawned {
                Ok(_) => Some(std::sync::Mutex::new(jobs)),
                Err(e) => {
                    warn!("cannot start the prepare thread, preparing mails inline: {e}");
                    None
                }
            }
        })
        .as_ref()
        .and_then(|m| m.lock().ok())
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

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
        let kb = crate::kb::Kb::load(cfg.kb_path.as_deref(), cfg.kb_min_score).context("kb.path")?;
        Ok(Pipeline { cfg, classifier, templates, signer, calendar, kb })
    }

    pub fn tag(&self, n: i64) -> String {
        TicketTag::new(&self.cfg.tag_prefix, n).to_string()
    }

    /// Process one mail inside the caller's transaction.
    pub fn process(&self, conn: &Connection, raw: &[u8], source: &str, now: DateTime<Utc>) -> Result<Outcome> {
        self.process_prepared(conn, raw, source, now, self.prepare(raw, false))
    }

    /// The work on a mail that needs neither the store nor the clock: its
    /// hash, the parse, the new text and (when `classify`, else later and
    /// only if needed) the classification. Pure, so a batch prepares the
    /// next mails on another thread while this one writes (see
    /// [`process_batch_then`]). A panic in here is kept and turns into a
    /// quarantine once the raw bytes are stored, as a panic while deciding
    /// does.
    pub fn prepare(&self, raw: &[u8], classify: bool) -> Prepared {
        prepare(&self.cfg.limits, &self.classifier, raw, classify)
    }

    /// [`Pipeline::process`] with the pure work done already (by
    /// [`Pipeline::prepare`] on the same raw bytes).
    pub fn process_prepared(
        &self,
        conn: &Connection,
        raw: &[u8],
        source: &str,
        now: DateTime<Utc>,
        prepared: Prepared,
    ) -> Result<Outcome> {
        let started = std::time::Instant::now();
        // One span per mail; its Message-ID and ticket are recorded once known.
        let span = tracing::info_span!(
            "mail",
            source,
            row = tracing::field::Empty,
            message_id = tracing::field::Empty,
            ticket = tracing::field::Empty
        );
        let _entered = span.enter();
        let Prepared { hash, work, spent, arrived } = prepared;
        let row = store::insert_raw(conn, raw, &hash, source, now).context("storing the raw mail")?;
        span.record("row", row);
        conn.prepare_cached("SAVEPOINT mail")?.execute([])?;
        let result = match work {
            Ok(work) => catch_unwind(AssertUnwindSafe(|| self.decide_and_write(conn, row, work, source, arrived, now))),
            Err(what) => Err(Box::new(what) as Box<dyn std::any::Any + Send>),
        };
        let outcome = match result {
            Ok(Ok(Ok(o))) => {
                conn.prepare_cached("RELEASE mail")?.execute([])?;
                o
            }
            // The store failed (disk full, read-only, I/O): the whole batch
            // fails and the source keeps the mail for the next try.
            // SQLite may already have rolled the whole transaction back
            // (SQLITE_FULL, SQLITE_IOERR): then the savepoint is gone too,
            // and the original error, not "no such savepoint", is the news.
            Ok(Err(e)) if is_storage_error(&e) => {
                if let Err(r) = conn.execute_batch("ROLLBACK TO mail; RELEASE mail") {
                    tracing::debug!("rollback after a storage error: {r}");
                }
                return Err(e);
            }
            // Anything else is this mail's fault: keep it, quarantined.
            Ok(Err(e)) => self.quarantine(conn, row, raw, format!("{e:#}"))?,
            Ok(Ok(Err(MailError(reason)))) => self.quarantine(conn, row, raw, reason)?,
            Err(panic) => {
                let what = panic_message(&*panic);
                self.quarantine(conn, row, raw, format!("internal error while processing: {what}"))?
            }
        };
        crate::status::COUNTERS.observe_latency((started.elapsed() + spent).as_secs_f64());
        if let Some(m) = &outcome.message_id {
            span.record("message_id", m.as_str());
        }
        if let Some(t) = outcome.ticket {
            span.record("ticket", self.tag(t).as_str());
        }
        info!(
            message_id = outcome.message_id.as_deref().unwrap_or("-"),
            ticket = outcome.ticket.map(|t| self.tag(t)).as_deref().unwrap_or("-"),
            disposition = outcome.disposition.as_str(),
            queued = if outcome.queued.is_empty() { "-".to_string() } else { outcome.queued.join(",") },
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
            trail: vec![format!("quarantined: {reason}")],
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
        work: std::result::Result<Box<PreparedMail>, String>,
        source: &str,
        arrived: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Outcome, MailError>> {
        let PreparedMail { mail, new_text, class } = match work {
            Ok(m) => *m,
            Err(e) => return Ok(Err(MailError(e))),
        };
        // Every decision runs on the customer's clock: when the mail reached
        // our server, not when it is processed (a backlog after an outage).
        let at = arrival(arrived, source, mail.received_at, now);
        let mut w = Writer {
            p: self,
            conn,
            row,
            now: at,
            processed: now,
            mail: &mail,
            queued: Vec::new(),
            new_text,
            class,
            thread_how: String::new(),
            agent: false,
            warnings: Vec::new(),
            notices: Vec::new(),
            copied: copied_of(&mail, &self.cfg.support_address),
            trail: vec![format!(
                "parse: Message-ID {}{}, from {}, {} attachments{}",
                mail.message_id,
                if mail.synthetic_id { " (synthetic: the mail had none)" } else { "" },
                mail.from_addr(),
                mail.attachments.len(),
                if mail.html_only { ", HTML only" } else { "" }
            )],
        };
        let (disposition, ticket, reason) = w.run()?;
        w.trail.push(format!(
            "decide: {disposition}{}{}",
            ticket.map(|t| format!(" on {}", self.tag(t))).unwrap_or_default(),
            if w.queued.is_empty() { String::new() } else { format!(", queued {}", w.queued.join(", ")) }
        ));
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
            trail: w.trail.clone(),
            arrived_at: Some(store::ts(w.now)),
        };
        store::finish_message(conn, row, &facts)?;
        if disposition != Disposition::Duplicate {
            // The newest references only: a mail with 20,000 of them stores no 20,000 rows.
            let skip = mail.references.len().saturating_sub(MAX_REFERENCES);
            let mut refs: Vec<String> = mail.references[skip..].to_vec();
            let known: std::collections::HashSet<&String> = refs.iter().collect();
            let extra: Vec<String> = mail.in_reply_to.iter().filter(|r| !known.contains(r)).cloned().collect();
            refs.extend(extra);
            store::insert_refs(conn, row, &refs)?;
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

/// The kinds of mail that go to a ticket's customer side.
pub const CUSTOMER_KINDS: &[&str] = &["ack", "status", "agent_reply", "change"];

/// The automatic answers that count against a sender's acknowledgement cap.
const ACK_BUDGET: &[&str] = &["ack"];
/// The overview answers: a budget of their own, with the same numbers.
const OVERVIEW_BUDGET: &[&str] = &["overview"];

/// At most this many of a mail's `References` (the newest) are used to
/// find its thread and are stored: real threads stay far below it.
pub const MAX_REFERENCES: usize = 100;

/// The state of one mail being decided and written.
struct Writer<'a> {
    p: &'a Pipeline,
    conn: &'a Connection,
    row: i64,
    /// When the mail arrived at our server ([`arrival`]): the time of every
    /// decision, event and queued mail it causes.
    now: DateTime<Utc>,
    /// When it is processed: the `Date:` of the mails it causes.
    processed: DateTime<Utc>,
    mail: &'a InboundMail,
    queued: Vec<String>,
    new_text: String,
    /// The classification, if [`Pipeline::prepare`] made it already.
    class: Option<Classification>,
    /// What each stage decided (stored with the message).
    trail: Vec<String>,
    /// How the thread was found (for the trail).
    thread_how: String,
    /// The sender is an agent whose mail passed the trust check
    /// (`require_authentication`); only such a mail acts as an agent.
    agent: bool,
    /// What the team must know about this mail (a failed trust check,
    /// refused commands, people not added): shown in its notifications.
    warnings: Vec<String>,
    /// What the agent who wrote must know (recipients left out, …): sent
    /// to them as an `agent_notice` mail.
    notices: Vec<String>,
    /// Everyone this mail was also addressed to (To and CC, not the
    /// support; at most 50): for the notifications, worked out once.
    copied: Vec<String>,
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
    /// After a category or priority change: the due times follow the new
    /// targets (the first-response one only while no answer reached the customer).
    fn refresh_due_times(&self, id: i64) -> Result<()> {
        let t = store::get_ticket(self.conn, id)?.context("ticket")?;
        let (Some(cat), Some(prio)) = (Category::parse(&t.category), Priority::parse(&t.priority)) else {
            return Ok(());
        };
        let (fr, res) = self.p.cfg.sla_targets(cat, prio);
        let created = store::parse_ts(&t.created_at).context("ticket without a creation time")?;
        if t.first_response_at.is_none() {
            let start = t.escalated_at.as_deref().and_then(store::parse_ts).unwrap_or(created);
            let due = self.p.calendar.add_support_hours(start, hours(fr));
            store::set_ticket_field(self.conn, id, "first_response_due", &store::ts(due), self.now)?;
        }
        let due = self.p.calendar.add_support_hours(created, hours(res));
        store::set_ticket_field(self.conn, id, "resolution_due", &store::ts(due), self.now)?;
        Ok(())
    }

    fn run(&mut self) -> Result<Decided> {
        let mail = self.mail;
        let cfg = &self.p.cfg;

        if let Some((orig, ticket)) = store::find_duplicate(self.conn, &mail.message_id, &mail.content_hash, self.row)?
        {
            self.trail.push(format!("dedupe: same Message-ID and bytes as message #{orig}"));
            return Ok((
                Disposition::Duplicate,
                ticket,
                Some("same Message-ID and same bytes as an earlier mail".into()),
            ));
        }

        self.trail.push("dedupe: first time seen".into());
        if let Some(v) = hygiene::check(mail, &cfg.support_address) {
            self.trail.push(format!("hygiene: {} ({}): never answered", v.disposition, v.reason));
            let mut ticket = None;
            if v.disposition == Disposition::Bounce {
                let info = hygiene::bounce_info(mail);
                ticket = self.ticket_for_ids(&info.original_ids)?.map(|(t, _)| t);
                if let Some(t) = ticket {
                    let detail = info.describe();
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

        self.trail.push("hygiene: written by a person".into());
        let from = mail.from_addr().to_string();
        // `require_authentication` guards everything an agent mail can cause
        // (relay, first response, status, commands): an agent address without
        // the trusted pass is an ordinary, suspicious customer mail.
        let agent_address = cfg.agents.is_agent(&from);
        let impostor = agent_address
            && cfg.agents.require_authentication
            && !commands::authenticated(mail, &cfg.agents.trusted_authserv_ids);
        self.agent = agent_address && !impostor;
        let is_agent = self.agent;
        if impostor {
            let why = format!(
                "{from} is an agent address, but the mail has no DKIM, SPF or DMARC pass from {}: handled as a customer mail, nothing relayed",
                cfg.agents.trusted_authserv_ids.join(", ")
            );
            warn!(security = true, "unauthenticated agent address: {why}");
            self.trail.push(format!("trust: {why}"));
            self.warnings.push(self.team_words(
                &format!(
                    "Absender {from} ist eine Agenten-Adresse, aber die Mail trägt keine DKIM/SPF/DMARC-Bestätigung von {}: als Kundenmail behandelt, nichts an Kunden weitergeleitet, kein Befehl ausgeführt.",
                    cfg.agents.trusted_authserv_ids.join(", ")
                ),
                &why,
            ));
        }
        let thread = self.find_thread()?;
        self.trail.push(match &thread {
            Thread::None => "thread: no ticket found (our ids, References, subject tag, earlier replies)".to_string(),
            Thread::Ticket(t) => format!("thread: {} by {}", self.p.tag(t.id), self.thread_how),
            Thread::Stranger(t, why) => format!("thread: not joined to {}: {why}", self.p.tag(*t)),
        });

        let parsed = commands::parse(&self.new_text, &cfg.tag_prefix);
        let agent_commands = parsed.commands.iter().any(|c| *c != Command::Overview) || !parsed.errors.is_empty();
        // Commands from a sender who may not give them: not executed, logged as a
        // security event, and the mail is handled as an ordinary message.
        let refused = if agent_commands && !agent_address {
            Some(format!("command tags from {from}, who is not an agent"))
        } else if agent_commands && impostor {
            Some(format!(
                "command tags from {from} without a DKIM or SPF pass from {}",
                cfg.agents.trusted_authserv_ids.join(", ")
            ))
        } else {
            None
        };
        if let Some(why) = &refused {
            warn!(security = true, "rejected commands: {why}");
            self.trail.push(format!("commands: rejected: {why}"));
            self.warnings.push(self.team_words(
                &format!("Befehle in dieser Mail wurden NICHT ausgeführt: {why}"),
                &format!("Commands in this mail were NOT executed: {why}"),
            ));
        } else if !parsed.commands.is_empty() || !parsed.errors.is_empty() {
            self.trail.push(format!(
                "commands: {} understood{}",
                parsed.commands.len(),
                if parsed.errors.is_empty() {
                    String::new()
                } else {
                    format!(", {} not understood", parsed.errors.len())
                }
            ));
        }
        let wants_overview =
            refused.is_none() && !is_agent && reports::asks_for_overview(&mail.subject, &self.new_text, &parsed);
        let decided = match thread {
            Thread::Ticket(ticket) if is_agent && refused.is_none() => self.agent_mail(*ticket, parsed)?,
            Thread::Ticket(ticket)
                if wants_overview && !reports::asks_about_one_ticket(&self.new_text, &cfg.tag_prefix) =>
            {
                let _ = ticket;
                self.overview()?
            }
            Thread::Ticket(ticket) => self.customer_follow_up(*ticket, refused.is_some())?,
            Thread::None if wants_overview => self.overview()?,
            Thread::Stranger(other, detail) => self.new_ticket(Some(other), Some(detail))?,
            Thread::None => self.new_ticket(None, None)?,
        };
        // A mail that failed a trust check is a security event on its ticket.
        let security = match (&refused, impostor) {
            (Some(why), _) => Some(format!("rejected: {why}")),
            (None, true) => {
                Some("agent address without a trusted authentication pass: handled as a customer mail".to_string())
            }
            (None, false) => None,
        };
        if let (Some(detail), Some(t)) = (security, decided.1) {
            store::insert_event(self.conn, Some(t), Some(self.row), self.now, &from, "security", &detail)?;
        }
        Ok(match refused {
            Some(why) => (Disposition::RejectedCommand, decided.1, Some(why)),
            None => decided,
        })
    }

    /// Resolve the ticket this mail belongs to: our signed ids, stored ids,
    /// then the subject tag; a sender who does not belong to it does not join.
    fn find_thread(&mut self) -> Result<Thread> {
        let mail = self.mail;
        let mut ids: Vec<String> = mail.references.clone();
        ids.extend(mail.in_reply_to.iter().cloned());
        let candidate = match self.ticket_for_ids(&ids)? {
            Some((t, how)) => Some((t, how)),
            None => match self.p.signer.subject_tag(&mail.subject) {
                Some(t) => Some((t, "subject tag")),
                // A reply that was read first opened the ticket.
                None => store::ticket_of_replies_to(self.conn, &mail.message_id)?.map(|t| (t, "a reply read earlier")),
            },
        };
        let Some((number, how)) = candidate else { return Ok(Thread::None) };
        self.thread_how = how.to_string();
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
            let tag = self.p.tag(ticket.id);
            let from = self.mail.from_addr();
            self.warnings.push(self.team_words(
                &format!(
                    "{from} hat auf {tag} geantwortet ({how}), gehört aber nicht zu diesem Ticket: als neues Ticket aufgenommen, nichts davon an {tag} oder dessen Beteiligte."
                ),
                &format!(
                    "{from} answered {tag} ({how}) but does not belong to that ticket: taken as a new ticket, nothing of it went to {tag} or its people."
                ),
            ));
            return Ok(Thread::Stranger(ticket.id, detail));
        }
        Ok(Thread::Ticket(Box::new(ticket)))
    }

    /// The ticket the newest of `ids` points at (at most the newest
    /// [`MAX_REFERENCES`] are looked at). Forged ids (ours in shape, wrong
    /// hash) are ignored and logged once per mail, with their count.
    fn ticket_for_ids(&self, ids: &[String]) -> Result<Option<(i64, &'static str)>> {
        let mut foreign = Vec::new();
        let mut forged: Vec<&str> = Vec::new();
        let mut found = None;
        for id in ids.iter().rev().take(MAX_REFERENCES) {
            match self.p.signer.check(id) {
                OwnId::Ours(Some(n)) => {
                    found = Some(n);
                    break;
                }
                OwnId::Ours(None) => {}
                OwnId::Forged => forged.push(id),
                OwnId::Foreign => foreign.push(id.clone()),
            }
        }
        if let Some(first) = forged.first() {
            warn!(
                security = true,
                forged = forged.len(),
                "{} reference(s) look like our Message-IDs but their hash is wrong (first: {first}): ignored",
                forged.len()
            );
        }
        if let Some(n) = found {
            return Ok(Some((n, "our Message-ID")));
        }
        foreign.reverse();
        Ok(store::ticket_for_message_ids(self.conn, &foreign)?.map(|t| (t, "References")))
    }

    fn belongs_to(&self, t: &Ticket) -> Result<bool> {
        let from = self.mail.from_addr();
        if from.eq_ignore_ascii_case(&t.requester) || self.agent {
            return Ok(true);
        }
        if store::participants(self.conn, t.id)?.iter().any(|(a, _)| a.eq_ignore_ascii_case(from)) {
            return Ok(true);
        }
        let cust = self.p.cfg.customer_for(from).map(|c| c.name.as_str());
        if let (Some(c), Some(tc)) = (cust, t.customer.as_deref()) {
            return Ok(c == tc);
        }
        // No customer configured: the same company domain counts as the same
        // organisation — but never a public mail service, whose users are strangers.
        let same_domain =
            domain_of(from).is_some_and(|d| !is_public_mail_domain(&d) && Some(d) == domain_of(&t.requester));
        Ok(cust.is_none() && t.customer.is_none() && same_domain)
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
            self.class.take().unwrap_or_else(|| p.classifier.classify(&mail.subject, &self.new_text));
        self.trail.push(format!(
            "classify: {} (confidence {:.2}{}): {}",
            class.category,
            class.confidence,
            if class.low_confidence { ", LOW" } else { "" },
            class.reasons.join("; ")
        ));
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
        let (fr_hours, res_hours) = p.cfg.sla_targets(cat, priority);
        let fr_due = p.calendar.add_support_hours(self.now, hours(fr_hours));
        let res_due = p.calendar.add_support_hours(self.now, hours(res_hours));
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
            requester_name: mail.from.as_ref().and_then(|m| m.name.clone()).filter(|n| !n.trim().is_empty()),
        };
        let id = store::insert_ticket(self.conn, &nt, self.now)?;
        store::add_participant(self.conn, id, &from, "requester")?;
        let copied: Vec<String> = mail.cc.iter().chain(mail.to.iter()).map(|m| m.addr.clone()).collect();
        self.add_cc_participants(id, nt.customer.as_deref(), &from, &copied)?;
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
        let ticket = nt.as_inserted(id, self.now);
        let in_hours = p.calendar.is_open(self.now);
        let ctx = self.context(
            &ticket,
            customer,
            &language,
            json!({
                "in_hours": in_hours,
                "next_opening": p.calendar.format_opening(open_at, &language),
            "response_by": p.calendar.format_opening(fr_due, &language),
                "security": cat == Category::SecurityError,
                "reasons": reasons,
                "confidence": format!("{:.2}", class.confidence),
                "low_confidence": class.low_confidence,
                "follow_up": false,
            }),
        );
        let mut ctx = ctx;
        ctx["kb_articles"] = crate::kb::offers_json(&p.kb, cat, &language, &mail.subject, &self.new_text);
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
        let (files, listed, _) = self.pass_on()?;
        ctx["attachments"] = json!(listed);
        self.queue_internal_with("notify_agents", &ticket, team, &ctx, files)?;
        if cat == Category::ChangeRequest
            && let Some(consultant) = customer.and_then(|c| c.consultant.clone())
        {
            self.queue_internal("forward_consultant", &ticket, vec![consultant], &ctx)?;
        }
        Ok((Disposition::NewTicket, Some(id), note))
    }

    /// A customer's mail on a ticket. `untrusted`: the mail failed a trust
    /// check (refused commands, an agent address without the trusted pass):
    /// it is recorded and the team told, but it changes no status and adds
    /// nobody to the ticket.
    fn customer_follow_up(&mut self, ticket: Ticket, untrusted: bool) -> Result<Decided> {
        let p = self.p;
        let status = Status::parse(&ticket.status).unwrap_or(Status::Open);
        let from = self.mail.from_addr().to_string();
        let mut reopened = false;
        if untrusted {
            store::insert_event(
                self.conn,
                Some(ticket.id),
                Some(self.row),
                self.now,
                &from,
                "message",
                "follow-up that failed a trust check: no status change, nobody added",
            )?;
        } else if !status.is_open() {
            let closed_at = ticket.closed_at.as_deref().and_then(store::parse_ts).unwrap_or(self.now);
            let within = self.now - closed_at <= Duration::days(p.cfg.reopen_days);
            if is_thanks_only(&self.new_text) {
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
            if !within {
                let note =
                    format!("reply to {} which was closed more than {} days ago", p.tag(ticket.id), p.cfg.reopen_days);
                return self.new_ticket(Some(ticket.id), Some(note));
            }
            store::set_status(self.conn, ticket.id, Status::Open, self.now, &from, Some(self.row))?;
            reopened = true;
        } else if status == Status::Waiting {
            // The customer answered: the ticket is back with the team.
            store::set_status(self.conn, ticket.id, Status::Open, self.now, &from, Some(self.row))?;
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
        let lang = ticket.language.clone();
        if reopened {
            // The customer is told the request is open again (an automatic
            // answer: under the acknowledgement cap).
            let en = lang == "en";
            let ctx = self.context(
                &ticket,
                customer,
                &lang,
                json!({
                    "changes": [status_news(Status::Open, en)],
                    "status_headline": if en { "Your request is open again" } else { "Ihre Anfrage ist wieder geöffnet" },
                }),
            );
            self.queue_to_customer("status", &ticket, &lang, &ctx)?;
        }
        let (files, listed, _) = self.pass_on()?;
        let ctx = self.context(
            &ticket,
            customer,
            &lang,
            json!({"follow_up": true, "reopened": reopened, "attachments": listed}),
        );
        let team = self.team_of(&ticket);
        let team = team.into_iter().filter(|a| !a.eq_ignore_ascii_case(&from)).collect();
        self.queue_internal_with("notify_agents", &ticket, team, &ctx, files)?;
        Ok((Disposition::FollowUp, Some(ticket.id), reopened.then(|| "reopened the ticket".to_string())))
    }

    /// Who works a ticket now: its level's team, the project team on level 2, the assignee.
    fn team_of(&self, t: &Ticket) -> Vec<String> {
        let cfg = &self.p.cfg;
        let level = Level::new(t.level).unwrap_or(Level::FIRST);
        let mut team = cfg.level_team(level).to_vec();
        if level.get() == 2
            && let Some(c) = t.customer.as_deref().and_then(|n| cfg.customer_by_name(n))
        {
            team.extend(c.project_team.iter().cloned());
        }
        if let Some(a) = &t.assignee {
            team.push(a.clone());
        }
        team
    }

    /// The customer side of a ticket: requester and CC'd participants (never
    /// bounced ones), at most `limits.max_recipients`; the ones left out are
    /// returned too. Linear in the number of participants.
    fn customer_recipients(&self, t: &Ticket) -> Result<(Vec<String>, Vec<String>)> {
        let max = self.p.cfg.limits.max_recipients.max(1);
        let mut seen = std::collections::HashSet::new();
        seen.insert(t.requester.to_ascii_lowercase());
        let mut to = vec![t.requester.clone()];
        let mut left_out = Vec::new();
        for (a, role) in store::participants(self.conn, t.id)? {
            if role == "cc" && seen.insert(a.to_ascii_lowercase()) {
                if to.len() < max {
                    to.push(a);
                } else {
                    left_out.push(a);
                }
            }
        }
        Ok((to, left_out))
    }

    /// Whether `addr` belongs to the organisation of a ticket whose customer
    /// is `customer` and whose requester is `requester`: the same configured
    /// customer, or (no customer configured on either side) the same company
    /// domain, never a public mail service.
    fn same_organisation(&self, addr: &str, customer: Option<&str>, requester: &str) -> bool {
        match (self.p.cfg.customer_for(addr), customer) {
            (Some(c), Some(tc)) => c.name == tc,
            (None, None) => {
                domain_of(addr).is_some_and(|d| !is_public_mail_domain(&d) && Some(d) == domain_of(requester))
            }
            _ => false,
        }
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
        let max = cfg.limits.max_recipients.max(1);
        let existing = store::participants(self.conn, ticket)?;
        let mut count = 1 + existing.iter().filter(|(_, r)| r == "cc").count();
        let mut seen: std::collections::HashSet<String> =
            existing.into_iter().map(|(a, _)| a.to_ascii_lowercase()).collect();
        seen.insert(requester.to_ascii_lowercase());
        let (mut stranger, mut over_cap) = (Vec::new(), Vec::new());
        for a in addrs {
            let a = a.to_ascii_lowercase();
            if a.eq_ignore_ascii_case(&cfg.support_address) || cfg.agents.is_agent(&a) || !seen.insert(a.clone()) {
                continue;
            }
            if !self.same_organisation(&a, customer, requester) {
                stranger.push(a);
            } else if count >= max {
                over_cap.push(a);
            } else {
                store::add_participant(self.conn, ticket, &a, "cc")?;
                count += 1;
            }
        }
        let left_out = [
            (
                stranger,
                "outside the customer's organisation".to_string(),
                "nicht aus der Organisation des Kunden".to_string(),
                ". Mit #cc ADRESSE hinzufügen, wenn gewollt.",
                ". Add with #cc ADDRESS if wanted.",
            ),
            (over_cap, format!("more than {max} recipients"), format!("mehr als {max} Empfänger"), "", ""),
        ];
        for (people, why, warum, hint_de, hint_en) in left_out {
            if people.is_empty() {
                continue;
            }
            let detail = format!("not added to the ticket ({why}): {}", some_of(&people, false));
            store::insert_event(
                self.conn,
                Some(ticket),
                Some(self.row),
                self.now,
                "supportd",
                "cc_not_added",
                &detail,
            )?;
            self.warnings.push(self.team_words(
                &format!("Nicht als Beteiligte übernommen ({warum}): {}{hint_de}", some_of(&people, true)),
                &format!("Not added as participants ({why}): {}{hint_en}", some_of(&people, false)),
            ));
        }
        Ok(())
    }

    /// This mail's attachments: the ones passed on (in order, while their
    /// total stays within `limits.max_forward_bytes`) and a line for each
    /// (name, size, passed on or kept in the store only) for the templates.
    fn pass_on(&self) -> Result<(Vec<templates::Attachment>, Vec<serde_json::Value>, Vec<String>)> {
        let atts = &self.mail.attachments;
        let files: Vec<FileInfo> = atts
            .iter()
            .map(|a| FileInfo { name: &a.filename, content_type: &a.content_type, size: a.data.len(), row: self.row })
            .collect();
        pass_on(&self.p.cfg, &files, |i| Ok(atts[i].data.clone()))
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

    /// A text for the team, in the support's language.
    fn team_words(&self, de: &str, en: &str) -> String {
        if self.p.cfg.language == "en" { en.to_string() } else { de.to_string() }
    }

    /// An agent's mail on a ticket: commands executed (each an event), the
    /// text relayed to the customer unless `#internal`, status mails for what
    /// the customer should know. A malformed command executes nothing.
    fn agent_mail(&mut self, ticket: Ticket, parsed: commands::Parsed) -> Result<Decided> {
        let p = self.p;
        let from = self.mail.from_addr().to_string();
        let id = ticket.id;
        let mut parsed = parsed;
        let problems = self.check_commands(&ticket, &parsed.commands)?;
        parsed.errors.extend(problems);
        if !parsed.errors.is_empty() {
            let ctx = self.context(
                &ticket,
                None,
                &p.cfg.language,
                json!({"errors": parsed.errors.iter().map(|e| json!({"line": e.line, "message": e.message_in(&p.cfg.language)})).collect::<Vec<_>>(),
                       "usage": commands::USAGE}),
            );
            let detail =
                parsed.errors.iter().map(|e| format!("{:?}: {}", e.line, e.message)).collect::<Vec<_>>().join("; ");
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "command_error", &detail)?;
            self.queue_internal("command_error", &ticket, vec![from.clone()], &ctx)?;
            return Ok((Disposition::AgentCommand, Some(id), Some(format!("commands not executed: {detail}"))));
        }
        let lang = ticket.language.clone();
        let en = lang == "en";
        let internal = parsed.commands.contains(&Command::Internal);
        let mut customer_news: Vec<String> = Vec::new();
        let mut level_raised_to: Option<Level> = None;
        let mut merge_into: Option<i64> = None;
        let mut change_mails: Vec<(store::Change, &'static str)> = Vec::new();
        let mut executed: Vec<String> = Vec::new();
        // The customer side, read once: a `#cc` of someone already on it adds nothing.
        let mut side: std::collections::HashSet<String> = {
            let (to, left_out) = self.customer_recipients(&ticket)?;
            to.iter().chain(left_out.iter()).map(|a| a.to_ascii_lowercase()).collect()
        };
        for c in &parsed.commands {
            match c {
                Command::Internal | Command::Overview => {}
                Command::KbDraft(title) => {
                    crate::kb::save_draft(self.conn, &ticket, title, &parsed.text, &from, self.row, self.now)?;
                    executed.push("#kb".into());
                }
                Command::Status(st) => {
                    if store::set_status(self.conn, id, *st, self.now, &from, Some(self.row))?.is_some() {
                        customer_news.push(status_news(*st, en));
                        executed.push(format!("#status {st}"));
                    }
                }
                Command::Close => {
                    if store::set_status(self.conn, id, Status::Closed, self.now, &from, Some(self.row))?.is_some() {
                        customer_news.push(status_news(Status::Closed, en));
                        executed.push("#close".into());
                    }
                }
                Command::Reopen => {
                    if store::set_status(self.conn, id, Status::Open, self.now, &from, Some(self.row))?.is_some() {
                        customer_news.push(status_news(Status::Open, en));
                        executed.push("#reopen".into());
                    }
                }
                Command::Level(l) => {
                    let old = store::get_ticket(self.conn, id)?.context("ticket")?.level;
                    if old != l.get() as i64 {
                        store::set_ticket_field(self.conn, id, "level", &(l.get() as i64), self.now)?;
                        store::insert_event(
                            self.conn,
                            Some(id),
                            Some(self.row),
                            self.now,
                            &from,
                            "level",
                            &format!("{old} -> {l}"),
                        )?;
                        customer_news.push(if en {
                            format!("Your request has been handed to our {} Level Support.", l.ordinal())
                        } else {
                            format!("Ihre Anfrage wurde an unseren {} Level Support übergeben.", l.ordinal())
                        });
                        level_raised_to = Some(*l);
                        executed.push(format!("#level {l}"));
                    }
                }
                Command::Category(cat) => {
                    let t = store::get_ticket(self.conn, id)?.context("ticket")?;
                    if t.category != cat.as_str() {
                        store::set_ticket_field(self.conn, id, "category", &cat.as_str(), self.now)?;
                        store::set_ticket_field(
                            self.conn,
                            id,
                            "billable",
                            &(!cat.covered_by_maintenance() as i64),
                            self.now,
                        )?;
                        store::set_ticket_field(self.conn, id, "low_confidence", &0i64, self.now)?;
                        self.refresh_due_times(id)?;
                        store::insert_event(
                            self.conn,
                            Some(id),
                            Some(self.row),
                            self.now,
                            &from,
                            "category",
                            &format!("{} -> {cat}", t.category),
                        )?;
                        customer_news.push(if en {
                            format!(
                                "Your request is now filed as \"{}\"{}.",
                                cat.title_one("en"),
                                if cat.covered_by_maintenance() {
                                    ""
                                } else {
                                    " (not covered by the maintenance fee; quoted separately)"
                                }
                            )
                        } else {
                            format!(
                                "Ihre Anfrage wird jetzt als „{}“ geführt{}.",
                                cat.title_one("de"),
                                if cat.covered_by_maintenance() {
                                    ""
                                } else {
                                    " (nicht im Wartungspreis enthalten; Abrechnung über ein explizites Angebot)"
                                }
                            )
                        });
                        if *cat == Category::ChangeRequest
                            && let Some(consultant) = t
                                .customer
                                .as_deref()
                                .and_then(|n| p.cfg.customer_by_name(n))
                                .and_then(|c| c.consultant.clone())
                        {
                            let t = store::get_ticket(self.conn, id)?.context("ticket")?;
                            let ctx = self.context(&t, None, &p.cfg.language, json!({}));
                            self.queue_internal("forward_consultant", &t, vec![consultant], &ctx)?;
                        }
                        executed.push(format!("#category {cat}"));
                    }
                }
                Command::Priority(pr) => {
                    store::set_ticket_field(self.conn, id, "priority", &pr.as_str(), self.now)?;
                    store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "priority", pr.as_str())?;
                    self.refresh_due_times(id)?;
                    executed.push(format!("#priority {pr}"));
                }
                Command::Assign(a) => {
                    store::set_ticket_field(self.conn, id, "assignee", a, self.now)?;
                    store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "assign", a)?;
                    executed.push(format!("#assign {a}"));
                }
                Command::AddParticipant(a) => {
                    if side.insert(a.to_ascii_lowercase()) {
                        store::add_participant(self.conn, id, a, "cc")?;
                        store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "participant", a)?;
                        executed.push(format!("#cc {a}"));
                    }
                }
                Command::Merge(target) => merge_into = Some(*target),
                Command::ChangeAnnounce(w) => {
                    let tz = p.calendar.timezone();
                    let at = |t: chrono::NaiveTime| {
                        use chrono::TimeZone;
                        tz.from_local_datetime(&w.date.and_time(t)).earliest().map(|d| d.with_timezone(&Utc))
                    };
                    let (Some(starts), Some(ends)) = (at(w.start), at(w.end)) else { continue };
                    let cid = store::insert_change(self.conn, id, starts, ends, &w.description, &from, self.now)?;
                    store::insert_event(
                        self.conn,
                        Some(id),
                        Some(self.row),
                        self.now,
                        &from,
                        "change",
                        &format!(
                            "announced {} {}-{}: {}",
                            w.date,
                            w.start.format("%H:%M"),
                            w.end.format("%H:%M"),
                            w.description
                        ),
                    )?;
                    let ch = store::changes(self.conn, id)?.into_iter().find(|c| c.id == cid).context("change")?;
                    change_mails.push((ch, "announced"));
                    executed.push("#change".into());
                }
                Command::ChangeDone | Command::ChangeCancelled => {
                    let state = if *c == Command::ChangeDone { "done" } else { "cancelled" };
                    match store::changes(self.conn, id)?.into_iter().rev().find(|c| c.state == "announced") {
                        Some(ch) => {
                            store::set_change_state(self.conn, ch.id, state, self.now)?;
                            store::insert_event(
                                self.conn,
                                Some(id),
                                Some(self.row),
                                self.now,
                                &from,
                                "change",
                                &format!("{state}: {}", ch.description),
                            )?;
                            change_mails.push((ch, state));
                            executed.push(format!("#change {state}"));
                        }
                        None => store::insert_event(
                            self.conn,
                            Some(id),
                            Some(self.row),
                            self.now,
                            &from,
                            "change",
                            "no announced change to finish",
                        )?,
                    }
                }
            }
        }
        let ticket = store::get_ticket(self.conn, id)?.context("ticket")?;
        let customer = ticket.customer.as_deref().and_then(|n| p.cfg.customer_by_name(n));
        let text = parsed.text.clone();
        let relayed = !internal && !text.trim().is_empty();
        if internal {
            let agent = self.mail.from.as_ref().and_then(|m| m.name.clone()).filter(|n| !n.trim().is_empty());
            let agent = agent.unwrap_or_else(|| from.clone());
            let mut ctx =
                self.context(&ticket, customer, &p.cfg.language, json!({"agent": agent, "changes": executed}));
            ctx["text"] = json!(text);
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "note", &text)?;
            let team: Vec<String> =
                self.team_of(&ticket).into_iter().filter(|a| !a.eq_ignore_ascii_case(&from)).collect();
            let (files, listed, _) = self.pass_on()?;
            ctx["attachments"] = json!(listed);
            self.queue_internal_with("note", &ticket, team, &ctx, files)?;
        } else {
            let (to, left_out) = self.customer_recipients(&ticket)?;
            if !left_out.is_empty() {
                let max = p.cfg.limits.max_recipients;
                let detail = format!(
                    "{} participants not mailed (at most {max} recipients per mail): {}",
                    left_out.len(),
                    some_of(&left_out, false)
                );
                store::insert_event(
                    self.conn,
                    Some(id),
                    Some(self.row),
                    self.now,
                    "supportd",
                    "recipients_capped",
                    &detail,
                )?;
                self.notices.push(self.team_words(
                    &format!(
                        "Ihre Antwort ging an höchstens {max} Empfänger; {} Beteiligte haben sie NICHT erhalten: {}",
                        left_out.len(),
                        some_of(&left_out, true)
                    ),
                    &detail,
                ));
            }
            let in_reply_to = store::last_message_from(self.conn, id, &ticket.requester)?;
            // One mail per agent action: a relayed answer carries the status
            // change in its footer; a status mail goes out only without text.
            if relayed {
                let mut ctx = self.context(&ticket, customer, &lang, json!({"changes": customer_news}));
                ctx["text"] = json!(text);
                let (subject, body) =
                    p.templates.render("agent_reply", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                // The agent's files go along; what is too large stays in the
                // store and the agent is told.
                let (files, _, kept) = self.pass_on()?;
                if !kept.is_empty() {
                    let max = human_size(p.cfg.limits.max_forward_bytes);
                    self.notices.push(self.team_words(
                        &format!(
                            "Diese Anhänge gingen NICHT an den Kunden (zusammen über {max}): {}. Bitte auf anderem Weg bereitstellen.",
                            kept.join(", ")
                        ),
                        &format!(
                            "These attachments did NOT reach the customer (over {max} together): {}. Please provide them another way.",
                            kept.join(", ")
                        ),
                    ));
                    store::insert_event(
                        self.conn,
                        Some(id),
                        Some(self.row),
                        self.now,
                        "supportd",
                        "attachments_kept",
                        &format!("not passed on to the customer (over {max}): {}", kept.join(", ")),
                    )?;
                }
                // A person's answer: no RFC 3834 auto-submitted or bulk marks.
                let seed_ticket = Some(ticket.id);
                self.queue_plain(
                    "agent_reply",
                    seed_ticket,
                    to.clone(),
                    subject,
                    body,
                    "no",
                    in_reply_to.clone(),
                    files,
                )?;
                store::insert_event(
                    self.conn,
                    Some(id),
                    Some(self.row),
                    self.now,
                    &from,
                    "agent_reply",
                    "relayed to the customer",
                )?;
            }
            if !relayed && !customer_news.is_empty() {
                let ctx = self.context(
                    &ticket,
                    customer,
                    &lang,
                    json!({
                        "changes": customer_news,
                        "status_headline": status_headline(&ticket, level_raised_to, en),
                        "status_title": status_title(&ticket.status, en),
                    }),
                );
                let (subject, body) =
                    p.templates.render("status", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                self.queue_raw("status", &ticket, to.clone(), subject, body, "auto-generated", in_reply_to.clone())?;
            }
            for (ch, state) in change_mails {
                let ctx = self.change_context(&ticket, customer, &lang, &ch, state);
                let (subject, body) =
                    p.templates.render("change", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                self.queue_raw("change", &ticket, to.clone(), subject, body, "auto-generated", in_reply_to.clone())?;
            }
        }
        if let Some(l) = level_raised_to {
            self.handover(&ticket, customer, l)?;
        }
        if let Some(target) = merge_into {
            self.merge(id, target, &from)?;
        }
        if !self.notices.is_empty() {
            let ticket = store::get_ticket(self.conn, id)?.context("ticket")?;
            let mut ctx = self.context(&ticket, None, &p.cfg.language, json!({}));
            ctx["notices"] = json!(self.notices);
            self.queue_internal("agent_notice", &ticket, vec![from.clone()], &ctx)?;
        }
        let disposition = if relayed { Disposition::AgentReply } else { Disposition::AgentCommand };
        // After a merge the mail belongs with the others on the target.
        let ticket = match merge_into {
            Some(_) => store::get_ticket(self.conn, id)?.and_then(|x| x.merged_into).unwrap_or(id),
            _ => id,
        };
        Ok((disposition, Some(ticket), None))
    }

    /// The ticket that survives `n` after merges (at most 10 hops), if `n` exists.
    fn surviving(&self, n: i64) -> Result<Option<Ticket>> {
        let Some(mut t) = store::get_ticket(self.conn, n)? else { return Ok(None) };
        for _ in 0..10 {
            match t.merged_into {
                Some(next) => match store::get_ticket(self.conn, next)? {
                    Some(x) => t = x,
                    None => break,
                },
                None => break,
            }
        }
        Ok(Some(t))
    }

    /// Commands that parse but cannot be executed on this ticket with this
    /// config: an assignee who is no agent, a `#cc` over the recipient cap,
    /// a change window at a local time that does not exist (clock change),
    /// a merge into this ticket, into a ticket merged into it, or into
    /// another customer's ticket. Nothing of the mail is executed then.
    fn check_commands(&self, ticket: &Ticket, commands: &[Command]) -> Result<Vec<commands::CommandError>> {
        let cfg = &self.p.cfg;
        let mut errors = Vec::new();
        let de = cfg.language == "de";
        let mut err = |line: String, message: String, message_de: String| {
            if errors.len() < commands::MAX_ERRORS {
                errors.push(commands::CommandError {
                    line,
                    message,
                    message_de: if de { message_de } else { String::new() },
                })
            }
        };
        // The customer side now and the people this mail's `#cc` lines add:
        // the cap holds for all of them together, whatever the number of lines.
        let (to, left_out) = self.customer_recipients(ticket)?;
        let mut side: std::collections::HashSet<String> =
            to.iter().chain(left_out.iter()).map(|a| a.to_ascii_lowercase()).collect();
        for c in commands {
            match c {
                Command::Assign(a) if !cfg.agents.is_agent(a) => err(
                    format!("#assign {a}"),
                    format!("{a} is not an agent (only addresses and domains of [agents] can be assigned)"),
                    format!("{a} ist kein Agent (zuweisbar sind nur Adressen und Domains aus [agents])"),
                ),
                Command::AddParticipant(a) => {
                    if cfg.agents.is_agent(a) || a.eq_ignore_ascii_case(&cfg.support_address) {
                        err(
                            format!("#cc {a}"),
                            format!("{a} is an agent or the support address, not a customer participant"),
                            format!("{a} ist ein Agent oder die Support-Adresse, kein Beteiligter auf Kundenseite"),
                        );
                    } else if !side.contains(&a.to_ascii_lowercase()) && side.len() >= cfg.limits.max_recipients {
                        err(
                            format!("#cc {a}"),
                            format!(
                                "the ticket has {} recipients already (limits.max_recipients)",
                                cfg.limits.max_recipients
                            ),
                            format!(
                                "das Ticket hat schon {} Empfänger (limits.max_recipients)",
                                cfg.limits.max_recipients
                            ),
                        );
                    } else {
                        side.insert(a.to_ascii_lowercase());
                    }
                }
                Command::ChangeAnnounce(w) => {
                    use chrono::TimeZone;
                    let tz = self.p.calendar.timezone();
                    for t in [w.start, w.end] {
                        if tz.from_local_datetime(&w.date.and_time(t)).earliest().is_none() {
                            err(
                                format!("#change {} {}-{}", w.date, w.start.format("%H:%M"), w.end.format("%H:%M")),
                                format!(
                                    "{} {} does not exist in {} (the clock is changed then): choose another time",
                                    w.date,
                                    t.format("%H:%M"),
                                    tz
                                ),
                                format!(
                                    "{} {} Uhr gibt es in {} nicht (Zeitumstellung): bitte eine andere Zeit wählen",
                                    w.date.format("%d.%m.%Y"),
                                    t.format("%H:%M"),
                                    tz
                                ),
                            );
                            break;
                        }
                    }
                }
                Command::Merge(target) => {
                    let tag = self.p.tag(*target);
                    let line = format!("#merge {tag}");
                    match self.surviving(*target)? {
                        None => err(line, format!("there is no ticket {tag}"), format!("es gibt kein Ticket {tag}")),
                        Some(t) if t.id == ticket.id => err(
                            line,
                            format!("{tag} is this ticket or was merged into it: nothing to merge"),
                            format!("{tag} ist dieses Ticket oder wurde in dieses zusammengeführt: nichts zu tun"),
                        ),
                        Some(t)
                            if t.customer != ticket.customer
                                || (t.customer.is_none()
                                    && !t.requester.eq_ignore_ascii_case(&ticket.requester)
                                    && !self.same_organisation(&t.requester, None, &ticket.requester)) =>
                        {
                            err(
                                line,
                                format!(
                                    "{} belongs to another customer: tickets are merged only within one",
                                    self.p.tag(t.id)
                                ),
                                format!(
                                    "{} gehört zu einem anderen Kunden: zusammengeführt wird nur innerhalb eines Kunden",
                                    self.p.tag(t.id)
                                ),
                            )
                        }
                        Some(_) => {}
                    }
                }
                _ => {}
            }
        }
        Ok(errors)
    }

    /// The handover to a new level's team: the current problem (the customer
    /// side's latest text), the first request if it differs, the internal
    /// notes, the mails so far and the ticket's attachments (passed on
    /// within `limits.max_forward_bytes`, the rest listed).
    fn handover(&mut self, ticket: &Ticket, customer: Option<&Customer>, l: Level) -> Result<()> {
        let p = self.p;
        let id = ticket.id;
        let tz = p.calendar.timezone();
        let local = |s: &str| {
            store::parse_ts(s).map(|d| d.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()).unwrap_or_default()
        };
        let history: Vec<serde_json::Value> = store::list_messages(self.conn, Some(id), None)?
            .iter()
            .rev()
            .take(50)
            .rev()
            .map(|m| {
                json!({
                    "at": local(&m.received_at),
                    "from": m.from_addr.as_deref().unwrap_or("-"),
                    "subject": m.subject.as_deref().unwrap_or(""),
                    "disposition": m.disposition,
                })
            })
            .collect();
        let first_text: String = self
            .conn
            .query_row(
                "SELECT coalesce(new_text, '') FROM messages WHERE ticket_id = ?1 ORDER BY id LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .unwrap_or_default();
        let current = store::latest_customer_text(self.conn, id)?.unwrap_or_else(|| first_text.clone());
        let notes: Vec<serde_json::Value> = store::ticket_notes(self.conn, id)?
            .into_iter()
            .map(|(at, who, text)| json!({"at": local(&at), "who": who, "text": cut_chars(&text, 4000)}))
            .collect();
        let stored = store::ticket_attachments(self.conn, id, 100)?;
        let infos: Vec<FileInfo> = stored
            .iter()
            .map(|a| FileInfo { name: &a.filename, content_type: &a.content_type, size: a.size, row: a.message_row })
            .collect();
        let conn = self.conn;
        let (files, listed, _) = pass_on(&p.cfg, &infos, |i| {
            store::blob(conn, &stored[i].sha256)?.context("an attachment's bytes are missing from the store")
        })?;
        let mut ctx = self.context(
            ticket,
            customer,
            &p.cfg.language,
            json!({
                "level_new": l.get(),
                "first_text": if first_text.trim() == current.trim() { String::new() } else { cut_chars(&first_text, 8000) },
                "notes": notes,
                "history": history,
                "attachments": listed,
            }),
        );
        ctx["text"] = json!(current);
        let mut team = p.cfg.level_team(l).to_vec();
        if l.get() == 2
            && let Some(c) = customer
        {
            team.extend(c.project_team.iter().cloned());
        }
        self.queue_internal_with("handover", ticket, team, &ctx, files)
    }

    /// Move a ticket's mails into `target` (or the ticket that survives it)
    /// and close it with a pointer. [`Writer::check_commands`] made sure
    /// the target exists, is not this ticket and is the same customer's.
    fn merge(&mut self, source: i64, target: i64, by: &str) -> Result<()> {
        let Some(target_ticket) = self.surviving(target)?.filter(|t| t.id != source) else {
            return Ok(());
        };
        let target = target_ticket.id;
        self.conn
            .execute("UPDATE messages SET ticket_id = ?1 WHERE ticket_id = ?2", rusqlite::params![target, source])?;
        // The source's customer side joins the target, by the same rule and cap as CCs.
        let source_ticket = store::get_ticket(self.conn, source)?.context("ticket")?;
        let mut people = vec![source_ticket.requester.clone()];
        people.extend(store::participants(self.conn, source)?.into_iter().filter(|(_, r)| r == "cc").map(|(a, _)| a));
        self.add_cc_participants(target, target_ticket.customer.as_deref(), &target_ticket.requester, &people)?;
        store::set_ticket_field(self.conn, source, "merged_into", &target, self.now)?;
        store::set_status(self.conn, source, Status::Closed, self.now, by, Some(self.row))?;
        store::insert_event(
            self.conn,
            Some(source),
            Some(self.row),
            self.now,
            by,
            "merge",
            &format!("merged into {}", self.p.tag(target)),
        )?;
        store::insert_event(
            self.conn,
            Some(target),
            Some(self.row),
            self.now,
            by,
            "merge",
            &format!("{} merged into this ticket", self.p.tag(source)),
        )?;
        Ok(())
    }

    fn change_context(
        &self,
        t: &Ticket,
        customer: Option<&Customer>,
        lang: &str,
        ch: &store::Change,
        state: &str,
    ) -> serde_json::Value {
        change_context(self.p, t, customer, lang, ch, state, self.context(t, customer, lang, json!({})))
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

    /// Queue a templated mail to the ticket's requester, unless the per-sender cap is reached.
    fn queue_to_customer(&mut self, kind: &str, t: &Ticket, lang: &str, ctx: &serde_json::Value) -> Result<()> {
        let to = self.mail.from_addr().to_string();
        if !self.under_rate_cap(&to, ACK_BUDGET)? {
            store::insert_event(
                self.conn,
                Some(t.id),
                Some(self.row),
                self.now,
                "supportd",
                "rate_cap",
                &format!("no {kind} to {to}: automatic answer cap reached"),
            )?;
            let l = &self.p.cfg.limits;
            self.warnings.push(self.team_words(
                &format!(
                    "Keine automatische Antwort ({kind}) an {to}: höchstens {} pro Stunde und {} pro Tag an einen Absender, die Grenze ist erreicht. Bitte persönlich antworten.",
                    l.auto_replies_per_hour, l.auto_replies_per_day
                ),
                &format!(
                    "No automatic answer ({kind}) to {to}: at most {} per hour and {} per day to one sender, the cap is reached. Please answer in person.",
                    l.auto_replies_per_hour, l.auto_replies_per_day
                ),
            ));
            info!(ticket = %self.p.tag(t.id), "no {kind} to {to}: automatic answer cap reached");
            return Ok(());
        }
        let (subject, body) = self.p.templates.render(kind, lang, ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let irt = Some(self.mail.message_id.clone());
        self.queue_raw(kind, t, vec![to], subject, body, "auto-replied", irt)
    }

    fn queue_internal(&mut self, kind: &str, t: &Ticket, to: Vec<String>, ctx: &serde_json::Value) -> Result<()> {
        self.queue_internal_with(kind, t, to, ctx, Vec::new())
    }

    /// [`Writer::queue_internal`] with files attached.
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

    #[allow(clippy::too_many_arguments)]
    fn queue_raw(
        &mut self,
        kind: &str,
        t: &Ticket,
        to: Vec<String>,
        subject: String,
        body: String,
        auto_submitted: &'static str,
        in_reply_to: Option<String>,
    ) -> Result<()> {
        self.queue_plain(kind, Some(t.id), to, subject, body, auto_submitted, in_reply_to, Vec::new())
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
        if !self.under_rate_cap(&from, OVERVIEW_BUDGET)? {
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
        let tickets = match customer {
            Some(c) => store::list_tickets(self.conn, None, Some(&c.name))?,
            None => store::list_tickets(self.conn, None, None)?
                .into_iter()
                .filter(|t| t.requester.eq_ignore_ascii_case(&from))
                .collect(),
        };
        let tz = p.calendar.timezone();
        let fmt = |s: &str| {
            store::parse_ts(s).map(|d| d.with_timezone(&tz).format("%d.%m.%Y").to_string()).unwrap_or_default()
        };
        let en = lang == "en";
        let row = |t: &Ticket| {
            json!({
                "tag": p.tag(t.id),
                "subject": t.subject,
                "status": t.status,
                "status_title": status_title(&t.status, en),
                "level": t.level,
                "level_ordinal": Level::new(t.level).unwrap_or(Level::FIRST).ordinal(),
                "category_title": Category::parse(&t.category).map(|c| c.title_one(&lang)).unwrap_or(""),
                "opened": fmt(&t.created_at),
                "last_activity": fmt(&t.updated_at),
            })
        };
        let visible: Vec<&Ticket> = tickets.iter().filter(|t| t.merged_into.is_none()).collect();
        let open: Vec<_> =
            visible.iter().filter(|t| Status::parse(&t.status).is_some_and(|s| s.is_open())).map(|t| row(t)).collect();
        let closed: Vec<_> =
            visible.iter().filter(|t| !Status::parse(&t.status).is_some_and(|s| s.is_open())).map(|t| row(t)).collect();
        let ctx = json!({
            "customer": customer.map(|c| c.name.clone()),
            "requester_name": self.mail.from.as_ref().and_then(|m| m.name.clone()),
            "date": self.now.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string(),
            "open": open,
            "closed": closed,
            "display_name": p.cfg.display_name,
        });
        let (subject, body) = p.templates.render("overview", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let irt = Some(self.mail.message_id.clone());
        self.queue_plain("overview", None, vec![from], subject, body, "auto-replied", irt, Vec::new())?;
        Ok((Disposition::OverviewRequest, None, Some(format!("{} tickets listed", visible.len()))))
    }

    /// Whether `addr` may get another automatic answer of this budget: the
    /// acknowledgement budget counts acks (and any other automatic answer to
    /// a customer), the overview budget only overviews — an explicit
    /// request is owed its answer even after a busy exchange. Relayed agent
    /// answers and status mails are people's answers and never count.
    fn under_rate_cap(&self, addr: &str, budget: &[&str]) -> Result<bool> {
        let l = &self.p.cfg.limits;
        let (hour, day) = store::auto_mails_to_since(
            self.conn,
            addr,
            budget,
            self.now - Duration::hours(1),
            self.now - Duration::days(1),
        )?;
        Ok(hour < l.auto_replies_per_hour && day < l.auto_replies_per_day)
    }
}

/// Domains of public mail services: two addresses there are two strangers.
pub fn is_public_mail_domain(domain: &str) -> bool {
    const PUBLIC: &[&str] = &[
        "gmail.com",
        "googlemail.com",
        "web.de",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "t-online.de",
        "freenet.de",
        "arcor.de",
        "posteo.de",
        "mailbox.org",
        "outlook.com",
        "outlook.de",
        "hotmail.com",
        "hotmail.de",
        "live.com",
        "live.de",
        "msn.com",
        "yahoo.com",
        "yahoo.de",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aol.de",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "gmx.com",
        "mail.de",
        "email.de",
        "online.de",
        "vodafone.de",
        "kabelmail.de",
        "1und1.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "tutanota.com",
        "tuta.io",
    ];
    PUBLIC.contains(&domain)
}

/// One attachment to pass on or list: name, content type, size and the
/// stored mail that holds it.
pub(crate) struct FileInfo<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: usize,
    pub row: i64,
}

/// Attachments to pass on within `limits.max_forward_bytes` (in order) and
/// a line for each for the templates; the names of those not passed on.
/// `load(i)` gives the bytes of `files[i]`: called only for the files passed
/// on, so a ticket's large stored files are never read for a listing.
pub(crate) fn pass_on(
    cfg: &Config,
    files: &[FileInfo],
    mut load: impl FnMut(usize) -> Result<Vec<u8>>,
) -> Result<(Vec<templates::Attachment>, Vec<serde_json::Value>, Vec<String>)> {
    let max = cfg.limits.max_forward_bytes;
    let (mut passed, mut listed, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    let mut total = 0usize;
    for (i, f) in files.iter().enumerate() {
        let forwarded = total + f.size <= max;
        if forwarded {
            total += f.size;
            let ct = if lettre::message::header::ContentType::parse(f.content_type).is_ok() {
                f.content_type
            } else {
                "application/octet-stream"
            };
            passed.push(templates::Attachment {
                filename: f.name.to_string(),
                content_type: ct.to_string(),
                data: load(i)?,
            });
        } else {
            kept.push(f.name.to_string());
        }
        listed.push(json!({"name": f.name, "size": human_size(f.size), "forwarded": forwarded, "row": f.row}));
    }
    Ok((passed, listed, kept))
}

/// Everyone `mail` was also addressed to (To and CC, not `support`), at most 50.
fn copied_of(mail: &InboundMail, support: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    mail.to
        .iter()
        .chain(mail.cc.iter())
        .filter(|m| !m.addr.eq_ignore_ascii_case(support) && seen.insert(m.addr.to_ascii_lowercase()))
        .take(50)
        .map(|m| m.addr.clone())
        .collect()
}

/// The first ten of a list of addresses, and how many more ("… and 12
/// more" / "… und 12 weitere"): what a notification or event names.
fn some_of(v: &[String], de: bool) -> String {
    let mut s = v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 10 {
        let more = v.len() - 10;
        s.push_str(&if de { format!(" und {more} weitere") } else { format!(" and {more} more") });
    }
    s
}

/// At most `n` characters of `s` (char-safe), with "…" when cut.
fn cut_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// "1.2 MB", "340 KB", "12 Bytes".
pub(crate) fn human_size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{} KB", n / 1024)
    } else {
        format!("{n} Bytes")
    }
}

/// When a mail reached our own server, the time every decision about it
/// uses: the source's word (IMAP INTERNALDATE), else the delivery time in a
/// Maildir file name (`1796527138.M…`), else the topmost `Received:` header
/// (our MTA's), else `now`. Never the sender's `Date:`, never in the future,
/// and never more than 60 days before `now` (a wrong clock somewhere).
pub fn arrival(
    explicit: Option<DateTime<Utc>>,
    source: &str,
    received: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let from_name = source.strip_prefix("maildir:").and_then(|name| {
        let secs: String = name.chars().take_while(|c| c.is_ascii_digit()).collect();
        (secs.len() >= 9 && name[secs.len()..].starts_with('.'))
            .then(|| secs.parse::<i64>().ok())
            .flatten()
            .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
    });
    let t = explicit.or(from_name).or(received).unwrap_or(now);
    t.clamp(now - Duration::days(60), now)
}

/// Whether an error came from SQLite (then the batch must not commit).
fn is_storage_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<rusqlite::Error>().is_some())
}

/// A mail to queue, with or without a ticket.
pub(crate) struct QueuedMail<'a> {
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

/// Render a mail and put it in the outbox (inside the caller's transaction).
pub(crate) fn queue_mail(p: &Pipeline, conn: &Connection, m: QueuedMail, now: DateTime<Utc>) -> Result<Option<i64>> {
    queue_mail_parts(p, conn, m, None, Vec::new(), now)
}

/// [`queue_mail`] with an HTML alternative and attachments (the report mail).
pub(crate) fn queue_mail_parts(
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
    store::insert_outbox(
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
        m.cause_row,
        now,
    )
    .map(Some)
}

/// The customer's words for a status change.
fn status_news(st: Status, en: bool) -> String {
    let (de, e) = match st {
        Status::Waiting => ("Wir benötigen Ihre Rückmeldung.", "We need your answer."),
        Status::InProgress => ("Ihre Anfrage ist in Bearbeitung.", "We are working on your request."),
        Status::Resolved => ("Ihre Anfrage wurde gelöst.", "Your request has been resolved."),
        Status::Closed => ("Ihre Anfrage wurde geschlossen.", "Your request has been closed."),
        Status::Open | Status::New => ("Ihre Anfrage wurde wieder geöffnet.", "Your request has been reopened."),
        Status::Forwarded => (
            "Ihre Anfrage wurde an Ihre Beraterin bzw. Ihren Berater weitergeleitet.",
            "Your request has been forwarded to your consultant.",
        ),
    };
    if en { e.into() } else { de.into() }
}

pub(crate) fn status_title(status: &str, en: bool) -> &'static str {
    match (status, en) {
        ("new", false) => "neu",
        ("open", false) => "offen",
        ("in_progress", false) => "in Bearbeitung",
        ("waiting", false) => "wartet auf Ihre Rückmeldung",
        ("forwarded", false) => "an Berater weitergeleitet",
        ("resolved", false) => "gelöst",
        ("closed", false) => "geschlossen",
        ("new", true) => "new",
        ("in_progress", true) => "in progress",
        ("waiting", true) => "waiting for your answer",
        ("forwarded", true) => "forwarded to your consultant",
        ("resolved", true) => "resolved",
        ("closed", true) => "closed",
        _ => "open",
    }
}

fn status_headline(t: &Ticket, level: Option<Level>, en: bool) -> String {
    match (t.status.as_str(), level, en) {
        ("closed", _, false) => "Ihre Anfrage wurde geschlossen".into(),
        ("closed", _, true) => "Your request has been closed".into(),
        ("resolved", _, false) => "Ihre Anfrage wurde gelöst".into(),
        ("resolved", _, true) => "Your request has been resolved".into(),
        ("waiting", _, false) => "Wir benötigen Ihre Rückmeldung".into(),
        ("waiting", _, true) => "We need your answer".into(),
        (_, Some(l), false) => format!("Übergabe an den {} Level Support", l.ordinal()),
        (_, Some(l), true) => format!("Handed to {} Level Support", l.ordinal()),
        (_, None, false) => "Neuigkeiten zu Ihrer Anfrage".into(),
        (_, None, true) => "News on your request".into(),
    }
}

/// Template variables of a `change` mail.
pub(crate) fn change_context(
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
    let weekday = crate::reports::weekday_name(starts.date_naive(), lang);
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

fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0).round() as i64)
}

pub(crate) fn priority_title(p: &str, lang: &str) -> &'static str {
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

/// How many prepared mails a batch's preparing thread may hold ready.
const PREPARE_AHEAD: usize = 8;

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
    process_batch_arrived_then(p, store, mails, &[], now, then)
}

/// [`process_batch_then`] with the arrival time of each mail where the
/// source knows it (`arrivals[i]` for `mails[i]`, e.g. IMAP INTERNALDATE);
/// a missing entry falls back to the Maildir name, the topmost `Received:`
/// header or `now` ([`arrival`]).
pub fn process_batch_arrived_then(
    p: &Pipeline,
    store: &mut store::Store,
    mails: &[(String, Vec<u8>)],
    arrivals: &[Option<DateTime<Utc>>],
    now: DateTime<Utc>,
    then: impl FnOnce(&Connection, &[Outcome]) -> Result<()>,
) -> Result<Vec<Outcome>> {
    let (conn, guard) = store.parts_mut();
    let tx = conn.transaction()?;
    // The in-flight marker (crate::inflight): a process death in this batch
    // makes its mails suspects at the next start; listed mails go the careful way.
    let mut inflight = crate::inflight::Batch::begin(guard, &tx, mails, p.cfg.limits.max_processing)?;
    if inflight.careful() {
        let out = inflight.process_carefully(p, &tx, mails, now)?;
        then(&tx, &out)?;
        tx.commit().context("committing the batch")?;
        return Ok(out);
    }
    // Two stages: the prepare thread parses and classifies the next mails
    // while this thread writes; at most PREPARE_AHEAD raw mails are copied
    // for it at a time. A job that is lost (no thread) leaves its channel
    // closed, and the mail is prepared here instead.
    let shared = std::sync::Arc::new((p.cfg.limits.clone(), p.classifier.clone()));
    let submit = |raw: &[u8]| -> std::sync::mpsc::Receiver<Prepared> {
        let (done, result) = std::sync::mpsc::sync_channel::<Prepared>(1);
        let (raw, shared) = (raw.to_vec(), shared.clone());
        let job: PrepareJob = Box::new(move || {
            let _ = done.send(prepare(&shared.0, &shared.1, &raw, true));
        });
        if let Some(t) = prepare_thread() {
            let _ = t.send(job);
        }
        result
    };
    let mut ahead = std::collections::VecDeque::with_capacity(PREPARE_AHEAD + 1);
    let mut out = Vec::with_capacity(mails.len());
    for (i, (source, raw)) in mails.iter().enumerate() {
        while ahead.len() <= PREPARE_AHEAD && i + ahead.len() < mails.len() {
            ahead.push_back(submit(&mails[i + ahead.len()].1));
        }
        inflight.mail(i);
        let mut prepared = ahead
            .pop_front()
            .and_then(|r: std::sync::mpsc::Receiver<Prepared>| r.recv().ok())
            .unwrap_or_else(|| p.prepare(raw, false));
        prepared.arrived = arrivals.get(i).copied().flatten();
        out.push(p.process_prepared(&tx, raw, source, now, prepared)?);
    }
    inflight.mails_done();
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
