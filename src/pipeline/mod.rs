//! `process(raw, now)`: the one path every mail takes, for the daemon, the
//! `ingest` command and the tests.
//!
//! Inside the caller's transaction: the raw bytes are written first; then
//! parse -> `snapshot` (what the store knows: an earlier copy, the ticket
//! the mail points at) -> [`decide`] (pure: the route with its trust verdict,
//! the new ticket, the reply's and the commands' effects, and the mails to
//! queue: who gets each and its decided context) -> `apply` (`apply.rs`,
//! `apply/agent.rs`), which applies that: the message row, the ticket change,
//! the events and the outbox rows (each planned mail rendered with the
//! ticket as the change left it). Every decision runs on the
//! mail's arrival time ([`arrival`]). [`dry_run`] does all of it in a
//! transaction it rolls back.
//! A mail that fails in any stage is rolled back to its raw row and kept as
//! `quarantined` with the reason; only storage errors abort the transaction
//! (so the source is not acknowledged and the mail comes again).
//!
//! Invariant: the mailbox is acknowledged only after the transaction holding
//! a mail's row committed.
//!
//! The pure part of a mail's work (parse, new text, classification, the
//! machine-mail check) is [`Pipeline::prepare`]; `process` is `prepare`
//! then `process_prepared`. A batch ([`process_batch`]) prepares the next
//! mails on a long-lived thread while the current one is written, which
//! uses the second core (ingest of 5,000 mails 2,550-2,810 -> 3,920-4,380
//! mails/s). Nothing is stored by
//! `prepare`, so the raw bytes are still the first write of every mail.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use tracing::{info, warn};

use crate::classify::{Classification, Classifier};
use crate::commands;
use crate::config::Customer;
use crate::domain::Disposition;
use crate::parse::{self, InboundMail};
use crate::store::{self, MessageFacts};
use crate::text;
use crate::words::detect_language;

mod apply;
pub mod decide;
pub mod dry_run;
mod snapshot;

pub use crate::domain::Outcome;
pub use crate::engine::{CUSTOMER_KINDS, Pipeline};
pub use crate::words::{is_public_mail_domain, is_thanks_only, strip_reply_prefixes};
use apply::{Apply, copied_of};
pub use snapshot::MAX_REFERENCES;

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

/// A failure that is the mail's fault (quarantine it), not the store's.
struct MailError(String);

/// A mail's pure work, from [`Pipeline::prepare`].
pub struct Prepared {
    /// SHA-256 of the raw bytes (hex).
    hash: String,
    /// The parsed mail, or the reason it cannot be parsed; `Err` = a panic.
    work: std::result::Result<std::result::Result<Box<PreparedMail>, String>, String>,
    /// The mail's stored form ([`store::compact::pack_mail`]), made here
    /// beside the writer; `None` when the mail did not parse (the writer
    /// compresses its bytes then).
    packed: Option<store::compact::Packed>,
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
    /// The machine-mail check ([`crate::hygiene::check_config`]): a pure
    /// function of the mail and the config, so it is made here, beside
    /// the writer, which has no other work to wait on (`None`: a person
    /// wrote it).
    machine: Option<crate::hygiene::Verdict>,
}

/// How the first write stored a mail (see [`Pipeline::process_prepared`]).
struct Stored {
    /// `raw_format` is a skeleton: the attachment bodies must be in `blobs`
    /// with attachment rows that keep them, or the row is rewritten as zstd.
    skeleton: bool,
    /// The packed attachment bodies made by [`prepare`], in order (empty: none made).
    blobs: Vec<Option<Vec<u8>>>,
}

/// See [`Pipeline::prepare`].
fn prepare(cfg: &crate::config::Config, classifier: &Classifier, raw: &[u8], classify: bool) -> Prepared {
    let started = std::time::Instant::now();
    let work = catch_unwind(AssertUnwindSafe(|| match parse::parse(raw, &cfg.limits) {
        Ok(mail) => {
            // Command lines on top are kept as they are; the new text is read
            // from what follows them (a bottom-posted answer is found then).
            let body = mail.reply_body();
            let top = commands::leading_block_len(body);
            let new_text = if top == 0 {
                text::new_text_with(body, mail.forwarded)
            } else {
                let rest = text::new_text_with(&body[top..], mail.forwarded);
                format!("{}\n{rest}", body[..top].trim_end())
            };
            let class = classify.then(|| classifier.classify(&mail.subject, &new_text));
            let machine = crate::hygiene::check_config(&mail, cfg);
            Ok(Box::new(PreparedMail { mail, new_text, class, machine }))
        }
        Err(e) => Err(e.0),
    }))
    .map_err(|panic| panic_message(&*panic));
    let hash = match &work {
        Ok(Ok(m)) => m.mail.content_hash.clone(),
        _ => parse::sha256_hex(raw),
    };
    // The stored form (the skeleton and the attachments' packed bodies),
    // made here and not in the write transaction; the writer compresses the
    // skeleton with the store's dictionary. A failure (which zstd does not
    // have for bytes in memory) only means the writer stores the bytes.
    let packed = match &work {
        Ok(Ok(m)) => catch_unwind(AssertUnwindSafe(|| store::compact::pack_mail(raw, &m.mail.attachments)))
            .ok()
            .and_then(|r| r.map_err(|e| warn!("packing a mail for the store: {e:#}")).ok()),
        _ => None,
    };
    Prepared { hash, work, packed, spent: started.elapsed(), arrived: None }
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

/// Start building the embedded classifier on the prepare thread now, so
/// that its set-up (about 30 ms) overlaps opening the store and connecting
/// to the mailbox instead of holding up the first batch; the first
/// [`Pipeline::classifier`] waits for it if it is not done. Does nothing
/// with `classifier.path` (that one is loaded when the pipeline is built)
/// or without a prepare thread.
pub fn build_classifier_ahead(cfg: &crate::config::Config) {
    if cfg.classifier_path.is_some() {
        return;
    }
    if let Some(t) = prepare_thread() {
        let _ = t.send(Box::new(|| drop(crate::classify::Classifier::embedded())));
    }
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
    /// Process one mail inside the caller's transaction.
    pub fn process(&self, conn: &Connection, raw: &[u8], source: &str, now: DateTime<Utc>) -> Result<Outcome> {
        self.process_prepared(conn, raw, source, now, self.prepare(raw, false))
    }

    /// The work on a mail that needs neither the store nor the clock: its
    /// hash, the parse, the new text, the machine-mail check and (when
    /// `classify`, else later and only if needed) the classification. Pure,
    /// so a batch prepares the next mails on another thread while this one
    /// writes (see [`process_batch_then`]). A panic in here is kept and turns into a
    /// quarantine once the raw bytes are stored, as a panic while deciding
    /// does.
    pub fn prepare(&self, raw: &[u8], classify: bool) -> Prepared {
        prepare(&self.cfg, self.classifier(), raw, classify)
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
        self.process_prepared_in(conn, raw, source, now, prepared, false)?
            .ok_or_else(|| anyhow::anyhow!("no outcome for {source}"))
    }

    /// [`Pipeline::process_prepared`]; `optimistic`: without a savepoint
    /// of its own, and `None` instead of a quarantine when deciding or
    /// writing fails for the mail's own sake (the caller then stores the
    /// whole batch again the careful way). A mail that did not parse is
    /// quarantined as always (nothing of it is written but its raw row),
    /// under a savepoint of its own.
    fn process_prepared_in(
        &self,
        conn: &Connection,
        raw: &[u8],
        source: &str,
        now: DateTime<Utc>,
        prepared: Prepared,
        optimistic: bool,
    ) -> Result<Option<Outcome>> {
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
        let Prepared { hash, work, packed, spent, arrived } = prepared;
        // The first write: the mail as stored, a skeleton when its
        // attachments' base64 text can be left out (their bodies follow in
        // the mail's savepoint; without them the row is rewritten as zstd).
        let (row, stored) = match packed {
            Some(p) => {
                let plain = p.skeleton.as_deref().unwrap_or(raw);
                let row = store::insert_packed(conn, p.format, plain, raw.len(), &hash, source, now)
                    .context("storing the raw mail")?;
                (row, Stored { skeleton: p.format == store::compact::SKELETON, blobs: p.blobs })
            }
            None => (
                store::insert_raw(conn, raw, &hash, source, now).context("storing the raw mail")?,
                Stored { skeleton: false, blobs: Vec::new() },
            ),
        };
        let skeleton = stored.skeleton;
        span.record("row", row);
        // A mail that did not parse (or whose preparing panicked) gets its
        // savepoint in any case: it is quarantined, nothing to redo.
        let savepoint = !optimistic || !matches!(work, Ok(Ok(_)));
        if savepoint {
            conn.prepare_cached("SAVEPOINT mail")?.execute([])?;
        }
        let result = match work {
            Ok(work) => catch_unwind(AssertUnwindSafe(|| {
                self.decide_and_write(conn, row, raw, work, stored, source, arrived, now)
            })),
            Err(what) => Err(Box::new(what) as Box<dyn std::any::Any + Send>),
        };
        let outcome = match result {
            Ok(Ok(Ok(o))) => {
                if savepoint {
                    conn.prepare_cached("RELEASE mail")?.execute([])?;
                }
                o
            }
            // The store failed (disk full, read-only, I/O): the whole batch
            // fails and the source keeps the mail for the next try.
            // SQLite may already have rolled the whole transaction back
            // (SQLITE_FULL, SQLITE_IOERR): then the savepoint is gone too,
            // and the original error, not "no such savepoint", is the news.
            Ok(Err(e)) if is_storage_error(&e) => {
                if savepoint && let Err(r) = conn.execute_batch("ROLLBACK TO mail; RELEASE mail") {
                    tracing::debug!("rollback after a storage error: {r}");
                }
                return Err(e);
            }
            // Without a savepoint this mail's writes cannot be undone
            // alone: the caller stores the batch again, the careful way.
            _ if !savepoint => return Ok(None),
            // Anything else is this mail's fault: keep it, quarantined.
            Ok(Err(e)) => self.quarantine(conn, row, raw, skeleton, format!("{e:#}"))?,
            Ok(Ok(Err(MailError(reason)))) => self.quarantine(conn, row, raw, skeleton, reason)?,
            Err(panic) => {
                let what = panic_message(&*panic);
                self.quarantine(conn, row, raw, skeleton, format!("internal error while processing: {what}"))?
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
        Ok(Some(outcome))
    }

    /// `skeleton`: the raw row was written as a skeleton, whose attachment
    /// bodies the rollback took away: it is kept as zstd of the bytes.
    fn quarantine(&self, conn: &Connection, row: i64, raw: &[u8], skeleton: bool, reason: String) -> Result<Outcome> {
        conn.execute_batch("ROLLBACK TO mail; RELEASE mail")?;
        if skeleton {
            store::repack_raw(conn, row, raw)?;
        }
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
    #[allow(clippy::too_many_arguments)]
    fn decide_and_write(
        &self,
        conn: &Connection,
        row: i64,
        raw: &[u8],
        work: std::result::Result<Box<PreparedMail>, String>,
        stored: Stored,
        source: &str,
        arrived: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Outcome, MailError>> {
        let PreparedMail { mail, new_text, class, machine } = match work {
            Ok(m) => *m,
            Err(e) => return Ok(Err(MailError(e))),
        };
        #[cfg(test)]
        if mail.subject.contains(tests::PANIC_WHILE_DECIDING) {
            panic!("a test mail that panics while deciding");
        }
        // The bodies the skeleton refers to that the store never had, before
        // anything is decided: the mails this one causes (the team
        // notification passing its files on) refer to them too instead of
        // keeping them again. (A body retention removed is kept again below,
        // only for a mail whose attachment rows are written.)
        let Stored { skeleton, blobs } = stored;
        for (a, z) in mail.attachments.iter().zip(blobs) {
            store::compact::put_known_blob(conn, &a.sha256, &a.data, Some(z), false)?;
        }
        // Every decision runs on the customer's clock: when the mail reached
        // our server, not when it is processed (a backlog after an outage).
        let at = arrival(arrived, source, mail.received_at, now);
        let mut w = Apply {
            p: self,
            conn,
            row,
            now: at,
            processed: now,
            mail: &mail,
            queued: Vec::new(),
            new_text,
            class,
            machine,
            agent: false,
            warnings: Vec::new(),
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
                store::compact::put_known_blob(conn, &a.sha256, &a.data, None, true)?;
                store::insert_attachment_row(conn, row, a)?;
            }
        } else if skeleton {
            // A duplicate keeps no attachment rows: nothing would keep the
            // bodies its skeleton refers to from retention.
            store::repack_raw(conn, row, raw)?;
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
    // The daemon labels a Maildir mail by its file name, `ingest` by its
    // path: the delivery time leads the file name either way.
    let from_name = source.strip_prefix("maildir:").map(|p| p.rsplit('/').next().unwrap_or(p)).and_then(|name| {
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
    // The classifier is built at its first use: here, before the batch's
    // transaction and its time budget (`limits.max_processing_secs`), so
    // no mail of a first batch is charged for it (a debug build takes
    // seconds; a crash-restart loop would quarantine good mails).
    p.classifier();
    let (conn, guard) = store.parts_mut();
    // Between batches, a step of the store's dictionary work (training once,
    // then 200 rows recompressed at a time; store::dict), in its own
    // transaction: a failure is logged and never holds the mail up.
    store::dict::tick_logged(conn, now, p.cfg.dictionary_samples, 1);
    let tx = conn.transaction()?;
    // The in-flight marker (crate::inflight): a process death in this batch
    // makes its mails suspects at the next start; listed mails go the careful way.
    let mut inflight = crate::inflight::Batch::begin(guard, &tx, mails, p.cfg.limits.max_processing)?;
    if inflight.careful() {
        let out = inflight.process_carefully(&tx, mails, now, |tx, raw, source| p.process(tx, raw, source, now))?;
        then(&tx, &out)?;
        tx.commit().context("committing the batch")?;
        return Ok(out);
    }
    // Two stages: the prepare thread parses and classifies the next mails
    // while this thread writes; at most PREPARE_AHEAD raw mails are copied
    // for it at a time. A job that is lost (no thread) leaves its channel
    // closed, and the mail is prepared here instead.
    let shared = std::sync::Arc::new((p.cfg.clone(), p.classifier().clone()));
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
    // Optimistic first: no savepoint per mail. A savepoint copies every
    // page a mail changes to the statement journal first (5-8 % of the
    // writer's time, perf of the IMAP bench); it is needed only to undo one
    // mail that fails after writing. When one does (rare: a panic or an
    // error while deciding or writing), the whole batch is undone and
    // stored again with a savepoint per mail, which quarantines that mail.
    let mut tx = tx;
    let mut optimistic = true;
    let out = loop {
        let mut ahead = std::collections::VecDeque::with_capacity(PREPARE_AHEAD + 1);
        let mut out = Vec::with_capacity(mails.len());
        let mut failed = None;
        for (i, (source, raw)) in mails.iter().enumerate() {
            // Refilled in groups, not one mail at a time: the prepare thread is
            // the faster stage and sleeps whenever it has caught up, so each
            // job sent alone woke it (a futex call, 3 % of the writer's time).
            if ahead.len() <= PREPARE_AHEAD / 2 {
                while ahead.len() <= PREPARE_AHEAD && i + ahead.len() < mails.len() {
                    ahead.push_back(submit(&mails[i + ahead.len()].1));
                }
            }
            inflight.mail(i);
            let mut prepared = ahead
                .pop_front()
                .and_then(|r: std::sync::mpsc::Receiver<Prepared>| r.recv().ok())
                .unwrap_or_else(|| p.prepare(raw, false));
            prepared.arrived = arrivals.get(i).copied().flatten();
            match p.process_prepared_in(&tx, raw, source, now, prepared, optimistic)? {
                Some(o) => out.push(o),
                None => {
                    failed = Some(source);
                    break;
                }
            }
        }
        let Some(source) = failed else { break out };
        warn!(
            "{source} could not be stored in its batch of {} mails: storing the batch again with a savepoint \
             per mail (the lines above for its mails are repeated)",
            mails.len()
        );
        // The mails still being prepared for this pass are not waited for.
        drop(ahead);
        inflight.mails_done();
        tx.rollback().context("undoing the batch")?;
        tx = conn.transaction()?;
        optimistic = false;
    };
    inflight.mails_done();
    then(&tx, &out)?;
    tx.commit().context("committing the batch")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped default config.
    fn default_config() -> crate::config::Config {
        crate::config::Config::from_str(crate::config::EMBEDDED_DEFAULT, "x.toml", std::path::Path::new("/nonexistent"))
            .unwrap()
    }

    /// A mail with this in its subject panics in `decide_and_write`.
    pub(super) const PANIC_WHILE_DECIDING: &str = "[supportd test: panic while deciding]";

    /// A batch is stored without a savepoint per mail first. Proves the way
    /// back when a mail fails after parsing (here a panic while deciding):
    /// the batch is undone and stored again with a savepoint per mail, so
    /// that mail is quarantined with its raw bytes, the others get their
    /// tickets and answers once, and nothing of the first pass is left.
    #[test]
    fn a_mail_failing_while_deciding_is_quarantined_and_its_batch_stored_once() {
        let cfg = default_config();
        let mut store = store::Store::open_in_memory().unwrap();
        let p = Pipeline::new(cfg, store.conn()).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pipeline");
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        let bad = String::from_utf8(read("05-en-applemail-kostenstelle.eml"))
            .unwrap()
            .replacen("Subject: ", &format!("Subject: {PANIC_WHILE_DECIDING} "), 1)
            .into_bytes();
        let mails = vec![
            ("test:1".to_string(), read("01-de-outlook-login-fehler.eml")),
            ("test:2".to_string(), bad.clone()),
            ("test:3".to_string(), read("03-de-thunderbird-neuer-benutzer.eml")),
        ];
        let now = DateTime::<Utc>::from_timestamp(1_796_630_400, 0).unwrap(); // a Tuesday, 09:00 CET
        let out = process_batch(&p, &mut store, &mails, now).unwrap();
        let disp: Vec<&str> = out.iter().map(|o| o.disposition.as_str()).collect();
        assert_eq!(disp, ["new_ticket", "quarantined", "new_ticket"], "{out:?}");
        assert!(out[1].reason.as_deref().unwrap().contains("panics while deciding"), "{:?}", out[1].reason);
        assert_eq!(store::raw_bytes(store.conn(), out[1].row).unwrap().unwrap(), bad, "raw bytes kept");
        let count = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM messages"), 3, "one row per mail");
        assert_eq!(count("SELECT count(*) FROM tickets"), 2);
        let queued: usize = out.iter().map(|o| o.queued.len()).sum();
        assert!(queued >= 2, "{out:?}");
        assert_eq!(count("SELECT count(*) FROM outbox") as usize, queued, "each answer queued once");
    }

    /// The delivery time leads a Maildir file's name, whether the label is
    /// the name (the daemon) or the path (`ingest MAILDIR`).
    #[test]
    fn the_maildir_delivery_time_is_read_from_a_name_or_a_path() {
        let now = DateTime::<Utc>::from_timestamp(1_796_600_000, 0).unwrap();
        let delivered = DateTime::<Utc>::from_timestamp(1_796_527_138, 0).unwrap();
        for label in ["maildir:1796527138.M1P1.mx", "maildir:/var/lib/inbox/new/1796527138.M1P1.mx"] {
            assert_eq!(arrival(None, label, None, now), delivered, "{label}");
        }
        assert_eq!(arrival(None, "maildir:/var/lib/inbox/new/x.M1P1.mx", None, now), now);
        assert_eq!(arrival(None, "file:/tmp/1796527138.eml", None, now), now, "only Maildir names count");
    }

    /// The machine-mail check is made by `prepare` (the prepare thread's
    /// step), with the config's support address and spam settings, so the
    /// writer only reads it: a bounce and an out-of-office notice come out
    /// of `prepare` with their verdicts, a customer's request with none.
    #[test]
    fn prepare_makes_the_machine_mail_check() {
        let cfg = default_config();
        let classifier = Classifier::embedded();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let machine_of = |path: &str| {
            let raw = std::fs::read(dir.join(path)).unwrap();
            match prepare(&cfg, &classifier, &raw, true).work {
                Ok(Ok(m)) => m.machine.map(|v| v.disposition),
                _ => panic!("{path} did not parse"),
            }
        };
        assert_eq!(machine_of("hygiene/13-dsn-postfix-user-unknown.eml"), Some(Disposition::Bounce));
        assert_eq!(machine_of("hygiene/20-oof-text-out-of-office.eml"), Some(Disposition::AutoReply));
        assert_eq!(machine_of("pipeline/01-de-outlook-login-fehler.eml"), None);
    }
}
