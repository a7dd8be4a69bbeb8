//! Poison mails: a mail whose processing kills the process (out of memory,
//! a stack overflow, the OOM killer, an abort) or goes over its time budget
//! is quarantined at the next start instead of killing every start.
//!
//! `catch_unwind` turns a panic into a quarantine, but a process death rolls
//! the batch back and the mail stays in the mailbox: under `Restart=` it
//! would kill every start, and nothing behind it would be processed. So
//! `run` and `ingest` ([`guard`]) keep an *in-flight marker*, the file
//! `<store>-inflight`, and say in it what they are working on:
//!
//! - `batch` + one key per mail, written before a batch's work starts and
//!   emptied when the batch is over (committed or failed);
//! - `one` + a key: this mail, a suspect, is being processed alone;
//! - `over <secs>` + a key: written by the budget watchdog just before it
//!   stops the process, because this mail took longer than
//!   `limits.max_processing_secs`.
//!
//! A key is the mail's source label (`maildir:<file>`, `imap:<folder>/<uidvalidity>/<uid>`,
//! `file:<path>`) and its byte length: stable across restarts, no hashing.
//!
//! At the next start a marker that is not empty means the previous process
//! died with it: `batch` makes every key a *suspect*, `over` makes the key
//! *poison*, `one` makes it *alone* the first time and *poison* the second
//! (a single death while alone can be a kill from outside that landed on
//! it; table `inflight_suspects`). A batch holding a suspect
//! is processed carefully (no preparing ahead; a suspect is processed alone
//! under `one`, so a second death names it); a poison mail is quarantined
//! with its raw bytes, unparsed, and acknowledged like any quarantined mail,
//! so the mails behind it are processed. A mail that dies once in a batch
//! is quarantined at the fourth start at the latest (three restarts); one
//! over the time budget at the second.
//!
//! The marker is written with plain `write`, no fsync: it only has to
//! survive the death of the process (the page cache does), not a power
//! cut. Only one process guards a store: the marker is `flock`ed, and a
//! second `ingest` next to a running daemon runs unguarded (with a warning).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use tracing::{error, warn};

use crate::domain::{Disposition, Outcome};
use crate::store::{self, MessageFacts, Store};

/// Exit status of a process stopped by the budget watchdog.
pub const EXIT_OVER_BUDGET: i32 = 3;
/// Suspects and poison keys whose mail never came back are forgotten after this long.
const FORGET_AFTER_DAYS: i64 = 30;

/// The marker file of a store.
pub fn marker_path(store_path: &Path) -> PathBuf {
    let mut s = store_path.as_os_str().to_owned();
    s.push("-inflight");
    PathBuf::from(s)
}

/// The key of a mail: `<byte length> <source label>`, the label with `%`,
/// CR and LF escaped (one key per line in the marker).
pub fn key(label: &str, len: usize) -> String {
    let mut k = format!("{len} ");
    for c in label.chars() {
        match c {
            '%' => k.push_str("%25"),
            '\n' => k.push_str("%0A"),
            '\r' => k.push_str("%0D"),
            c => k.push(c),
        }
    }
    k
}

fn is_key(line: &str) -> bool {
    matches!(line.split_once(' '), Some((len, label)) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) && !label.is_empty())
}

/// What a marker file says.
#[derive(Debug, Clone, PartialEq)]
pub enum Marker {
    /// Nothing was in flight: the last process ended normally (or never wrote).
    Empty,
    /// The process died during a batch holding these mails.
    Batch(Vec<String>),
    /// The process died while processing this mail alone.
    One(String),
    /// The watchdog stopped the process: this mail took longer than `secs`.
    Over { secs: f64, key: String },
    /// Not a marker (another program's file, a damaged disk): ignored.
    Garbage(String),
}

impl Marker {
    /// The file's bytes: the kind line, the keys, `end`.
    pub fn render(&self) -> Vec<u8> {
        fn lines<'a>(head: String, keys: impl Iterator<Item = &'a String>) -> Vec<u8> {
            let mut s = head;
            s.push('\n');
            for k in keys {
                s.push_str(k);
                s.push('\n');
            }
            s.push_str("end\n");
            s.into_bytes()
        }
        match self {
            Marker::Empty | Marker::Garbage(_) => Vec::new(),
            Marker::Batch(keys) => lines("batch".into(), keys.iter()),
            Marker::One(k) => lines("one".into(), std::iter::once(k)),
            Marker::Over { secs, key } => lines(format!("over {secs}"), std::iter::once(key)),
        }
    }

    /// Read a marker file. Only whole lines count; lines after `end` are
    /// left over from a longer earlier marker and ignored. A marker cut
    /// short (no `end`) proves less: its keys become suspects at most,
    /// never poison.
    pub fn parse(bytes: &[u8]) -> Marker {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Marker::Empty;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Marker::Garbage(format!("{} bytes, not UTF-8", bytes.len()));
        };
        // Whole lines only: a last line without its newline is cut off.
        let whole = match text.rfind('\n') {
            Some(i) => &text[..i],
            None => "",
        };
        let mut lines = whole.split('\n');
        let head = lines.next().unwrap_or_default();
        let mut keys = Vec::new();
        let mut ended = false;
        for l in lines {
            if l == "end" {
                ended = true;
                break;
            }
            if !is_key(l) {
                return Marker::Garbage(format!("not a key: {:?}", l.chars().take(80).collect::<String>()));
            }
            keys.push(l.to_string());
        }
        let torn = |keys: Vec<String>| if keys.is_empty() { Marker::Empty } else { Marker::Batch(keys) };
        match head.split_once(' ').unwrap_or((head, "")) {
            ("batch", "") => torn(keys),
            ("one", "") if ended && keys.len() == 1 => Marker::One(keys.remove(0)),
            ("over", secs) if ended && keys.len() == 1 => match secs.parse::<f64>() {
                Ok(secs) => Marker::Over { secs, key: keys.remove(0) },
                Err(_) => Marker::Batch(keys),
            },
            ("one" | "over", _) if keys.len() <= 1 => torn(keys),
            _ if head.is_empty() && !text.contains('\n') => Marker::Empty,
            _ => Marker::Garbage(format!("first line {:?}", head.chars().take(80).collect::<String>())),
        }
    }
}

/// Why a poison mail is quarantined.
fn poison_reason(marker: &Marker) -> Option<String> {
    match marker {
        Marker::One(_) => Some(
            "the process died three times while processing it, twice with it alone (out of memory or killed); not processed again \
             (`supportd quarantine reprocess ID` tries once more)"
                .into(),
        ),
        Marker::Over { secs, .. } => Some(format!(
            "processing took longer than limits.max_processing_secs ({secs} s) and the process was stopped; \
             not processed again (`supportd quarantine reprocess ID` tries once more)"
        )),
        _ => None,
    }
}

/// Record what a marker left by a dead process says (in one transaction)
/// and log one line per mail. Returns whether suspects or poison are listed.
pub fn note(conn: &Connection, marker: &Marker, now: DateTime<Utc>) -> Result<bool> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "DELETE FROM inflight_suspects WHERE noted_at < ?1",
        [store::ts(now - chrono::Duration::days(FORGET_AFTER_DAYS))],
    )?;
    match marker {
        Marker::Empty => {}
        Marker::Garbage(what) => warn!("the in-flight marker is not readable ({what}): ignored"),
        Marker::Batch(keys) => {
            warn!(
                "the last run died during a batch of {} mails: each is processed alone when it comes again",
                keys.len()
            );
            for k in keys {
                tx.execute(
                    "INSERT INTO inflight_suspects (key, kind, reason, noted_at) VALUES (?1, 'suspect', ?2, ?3) \
                     ON CONFLICT (key) DO NOTHING",
                    (k, "the process died during its batch", store::ts(now)),
                )?;
                warn!("suspect mail {k}: the last run died during its batch");
            }
        }
        Marker::One(k) => {
            // The first death while alone can be a kill from outside that
            // landed on this mail; the second is the mail.
            let before: Option<String> =
                tx.query_row("SELECT kind FROM inflight_suspects WHERE key = ?1", [k], |r| r.get(0)).optional()?;
            if before.as_deref() == Some("alone") {
                let reason = poison_reason(marker).unwrap_or_default();
                tx.execute(
                    "UPDATE inflight_suspects SET kind = 'poison', reason = ?2, noted_at = ?3 WHERE key = ?1",
                    (k, &reason, store::ts(now)),
                )?;
                error!("poison mail {k}: {reason}; it is quarantined when it comes again");
            } else {
                tx.execute(
                    "INSERT INTO inflight_suspects (key, kind, reason, noted_at) VALUES (?1, 'alone', ?2, ?3) \
                     ON CONFLICT (key) DO UPDATE SET kind = 'alone', reason = ?2, noted_at = ?3",
                    (k, "the process died once while processing it alone", store::ts(now)),
                )?;
                warn!("suspect mail {k}: the last run died while processing it alone; once more and it is quarantined");
            }
        }
        Marker::Over { key: k, .. } => {
            let reason = poison_reason(marker).unwrap_or_default();
            tx.execute(
                "INSERT INTO inflight_suspects (key, kind, reason, noted_at) VALUES (?1, 'poison', ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE SET kind = 'poison', reason = ?2, noted_at = ?3",
                (k, &reason, store::ts(now)),
            )?;
            error!("poison mail {k}: {reason}; it is quarantined when it comes again");
        }
    }
    let listed = tx.query_row("SELECT EXISTS (SELECT 1 FROM inflight_suspects)", [], |r| r.get(0))?;
    tx.commit()?;
    Ok(listed)
}

/// What the watchdog thread looks at.
struct Watch {
    /// Keys of the batch in hand.
    keys: Arc<Vec<String>>,
    /// The mail in hand (index into `keys`) and since when.
    current: Option<(usize, Instant)>,
    budget: Duration,
}

struct Shared {
    /// The marker file, `flock`ed while this process lives.
    file: File,
    watch: Mutex<Watch>,
}

impl Shared {
    fn watch(&self) -> MutexGuard<'_, Watch> {
        self.watch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Overwrite the marker. A failure is logged, not fatal: the mail comes
    /// first, the protection second.
    fn write(&self, m: &Marker) {
        let bytes = m.render();
        let done = self.file.write_all_at(&bytes, 0).and_then(|()| self.file.set_len(bytes.len() as u64));
        if let Err(e) = done {
            warn!("cannot write the in-flight marker: {e}");
        }
    }
}

/// A store's in-flight marker, held by the one process guarding it.
pub struct Guard {
    shared: Arc<Shared>,
    /// Whether `inflight_suspects` may list something (only the guarding
    /// process adds rows, so `false` is certain and costs no query).
    listed: bool,
}

/// Take the store's marker for this process (`run`, `ingest`): record what
/// a dead predecessor left in it, start the budget watchdog, and watch every
/// batch of `store` from now on. Another live process holding the marker
/// leaves this one unguarded (logged).
pub fn guard(store: &mut Store, store_path: &Path) -> Result<()> {
    let path = marker_path(store_path);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening the in-flight marker {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            warn!(
                "{}: another supportd process works on this store; this one runs without the in-flight marker \
                 (a mail that kills it is not quarantined on its own)",
                path.display()
            );
            return Ok(());
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking the in-flight marker {}", path.display()));
        }
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes)
        .with_context(|| format!("reading the in-flight marker {}", path.display()))?;
    let listed = note(store.conn(), &Marker::parse(&bytes), Utc::now())?;
    file.set_len(0).with_context(|| format!("emptying the in-flight marker {}", path.display()))?;
    let shared = Arc::new(Shared {
        file,
        watch: Mutex::new(Watch { keys: Arc::default(), current: None, budget: Duration::from_secs(60) }),
    });
    spawn_watchdog(Arc::downgrade(&shared))?;
    store.set_inflight(Box::new(Guard { shared, listed }));
    Ok(())
}

/// The budget watchdog: a mail in hand for longer than its budget stops the
/// process (a thread stuck in a parser cannot be cancelled), after writing
/// `over` into the marker so that the next start quarantines it. Ends when
/// the guard is dropped.
fn spawn_watchdog(shared: Weak<Shared>) -> Result<()> {
    std::thread::Builder::new()
        .name("supportd-budget".into())
        .spawn(move || {
            loop {
                let Some(s) = shared.upgrade() else { return };
                let (tick, over) = {
                    let w = s.watch();
                    let over = w
                        .current
                        .filter(|(_, since)| since.elapsed() > w.budget)
                        .map(|(i, since)| (w.keys.get(i).cloned().unwrap_or_default(), since.elapsed(), w.budget));
                    ((w.budget / 5).clamp(Duration::from_millis(5), Duration::from_millis(500)), over)
                };
                if let Some((key, took, budget)) = over {
                    error!(
                        "mail {key} is still being processed after {:.2} s, over limits.max_processing_secs ({} s): \
                         stopping; it is quarantined at the next start",
                        took.as_secs_f64(),
                        budget.as_secs_f64()
                    );
                    s.write(&Marker::Over { secs: budget.as_secs_f64(), key });
                    std::process::exit(EXIT_OVER_BUDGET);
                }
                drop(s);
                std::thread::sleep(tick);
            }
        })
        .context("starting the budget watchdog thread")?;
    Ok(())
}

/// How a mail of a careful batch is handled.
enum Plan {
    /// Not listed.
    Plain,
    /// Listed as suspect: processed alone under `one`.
    Suspect,
    /// Listed as poison: quarantined unparsed, with this reason.
    Poison(String),
}

/// The marker's view of one batch: written at [`Batch::begin`], emptied when
/// the batch is dropped (after the commit, or on its error), so that only a
/// process death leaves it behind.
pub struct Batch<'g> {
    guard: Option<&'g mut Guard>,
    keys: Arc<Vec<String>>,
    /// `Some` when the batch holds listed mails: process it with
    /// [`Batch::process_carefully`].
    plan: Option<Vec<Plan>>,
}

impl<'g> Batch<'g> {
    /// Before a batch's work: look its mails up if anything is listed (the
    /// normal case costs no query), and write the marker.
    pub fn begin(
        guard: Option<&'g mut (dyn std::any::Any + Send)>,
        tx: &Connection,
        mails: &[(String, Vec<u8>)],
        budget: Duration,
    ) -> Result<Batch<'g>> {
        let Some(g) = guard.and_then(|g| g.downcast_mut::<Guard>()) else {
            return Ok(Batch { guard: None, keys: Arc::default(), plan: None });
        };
        let keys: Arc<Vec<String>> = Arc::new(mails.iter().map(|(label, raw)| key(label, raw.len())).collect());
        let mut plan = None;
        if g.listed {
            let mut q = tx.prepare_cached("SELECT kind, reason FROM inflight_suspects WHERE key = ?1")?;
            let mut any = false;
            let mut p = Vec::with_capacity(keys.len());
            for k in keys.iter() {
                let row: Option<(String, String)> = q.query_row([k], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
                any |= row.is_some();
                p.push(match row {
                    None => Plan::Plain,
                    Some((kind, reason)) if kind == "poison" => Plan::Poison(reason),
                    Some(_) => Plan::Suspect,
                });
            }
            if any {
                plan = Some(p);
            } else {
                g.listed = tx.query_row("SELECT EXISTS (SELECT 1 FROM inflight_suspects)", [], |r| r.get(0))?;
            }
        }
        if plan.is_none() {
            g.shared.write(&Marker::Batch(keys.to_vec()));
        }
        {
            let mut w = g.shared.watch();
            w.keys = keys.clone();
            w.current = None;
            w.budget = budget;
        }
        Ok(Batch { guard: Some(g), keys, plan })
    }

    /// Whether the batch holds suspects or poison.
    pub fn careful(&self) -> bool {
        self.plan.is_some()
    }

    /// Mail `i` of the batch is in hand now (its time budget starts).
    pub fn mail(&self, i: usize) {
        if let Some(g) = &self.guard {
            g.shared.watch().current = Some((i, Instant::now()));
        }
    }

    /// No mail is in hand any more (the commit is not a mail's time).
    pub fn mails_done(&self) {
        if let Some(g) = &self.guard {
            g.shared.watch().current = None;
        }
    }

    /// A batch with suspects or poison, one mail at a time: poison is
    /// quarantined unparsed, a suspect is processed under `one <key>`, any
    /// other mail under `batch <key>`; a listed key is struck off in the
    /// batch's transaction. `process` is the pipeline's work on one mail
    /// (`pipeline::Pipeline::process`), handed in so that this module does
    /// not import the pipeline that uses it.
    pub fn process_carefully(
        &mut self,
        tx: &Connection,
        mails: &[(String, Vec<u8>)],
        now: DateTime<Utc>,
        mut process: impl FnMut(&Connection, &[u8], &str) -> Result<Outcome>,
    ) -> Result<Vec<Outcome>> {
        let plan = self.plan.take().unwrap_or_default();
        let mut out = Vec::with_capacity(mails.len());
        for (i, ((source, raw), how)) in mails.iter().zip(plan).enumerate() {
            let key = &self.keys[i];
            if let Some(g) = &self.guard {
                match &how {
                    Plan::Plain => g.shared.write(&Marker::Batch(vec![key.clone()])),
                    Plan::Suspect => g.shared.write(&Marker::One(key.clone())),
                    // A death while storing it leaves it listed as it is.
                    Plan::Poison(_) => g.shared.write(&Marker::Batch(vec![key.clone()])),
                }
            }
            let o = match how {
                // Bounded work (a hash and an insert), not timed: the
                // watchdog must never stop the process on a mail that is
                // being quarantined (it would be listed again, forever).
                Plan::Poison(reason) => {
                    self.mails_done();
                    quarantine_unparsed(tx, raw, source, reason, now)?
                }
                Plan::Suspect | Plan::Plain => {
                    self.mail(i);
                    process(tx, raw, source)?
                }
            };
            tx.prepare_cached("DELETE FROM inflight_suspects WHERE key = ?1")?.execute([key])?;
            out.push(o);
        }
        self.mails_done();
        // A death in the commit is no mail's fault: back to `batch`.
        if let Some(g) = &self.guard {
            g.shared.write(&Marker::Batch(self.keys.to_vec()));
        }
        Ok(out)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if let Some(g) = &self.guard {
            g.shared.watch().current = None;
            g.shared.write(&Marker::Empty);
        }
    }
}

/// A poison mail: its raw bytes stored as always (first), `quarantined`
/// with the reason, nothing parsed.
fn quarantine_unparsed(
    tx: &Connection,
    raw: &[u8],
    source: &str,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let row =
        store::insert_raw(tx, raw, &crate::parse::sha256_hex(raw), source, now).context("storing the raw mail")?;
    let facts = MessageFacts {
        disposition: Disposition::Quarantined.as_str().into(),
        reason: Some(reason.clone()),
        trail: vec![format!("quarantined unparsed: {reason}")],
        ..Default::default()
    };
    store::finish_message(tx, row, &facts)?;
    warn!(row, "quarantined mail from {source} unparsed: {reason}");
    Ok(Outcome {
        row,
        message_id: None,
        disposition: Disposition::Quarantined,
        ticket: None,
        reason: Some(reason),
        queued: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ks: &[&str]) -> Vec<String> {
        ks.iter().map(|k| k.to_string()).collect()
    }

    /// Proves: every marker kind survives render -> parse, and a key escapes
    /// the characters that would break its line.
    #[test]
    fn markers_round_trip() {
        let k = key("file:/tmp/a\nb%c\r.eml", 42);
        assert_eq!(k, "42 file:/tmp/a%0Ab%25c%0D.eml");
        for m in [
            Marker::Batch(keys(&["12 maildir:1.test", "7 imap:INBOX/3/9"])),
            Marker::One(k.clone()),
            Marker::Over { secs: 0.05, key: k.clone() },
        ] {
            assert_eq!(Marker::parse(&m.render()), m);
        }
        assert_eq!(Marker::parse(&Marker::Empty.render()), Marker::Empty);
    }

    /// Proves: an empty or blank file, and a batch with no keys, mean that
    /// nothing was in flight.
    #[test]
    fn empty_markers_are_empty() {
        for b in [&b""[..], b"\n", b"  \n", b"batch\nend\n", b"batch\n", b"bat"] {
            assert_eq!(Marker::parse(b), Marker::Empty, "{:?}", String::from_utf8_lossy(b));
        }
    }

    /// Proves: a torn marker (cut anywhere, or with the tail of a longer
    /// older marker behind `end`) yields its whole keys as suspects at most;
    /// a torn `one`/`over` never makes a mail poison.
    #[test]
    fn torn_markers_give_suspects_never_poison() {
        assert_eq!(
            Marker::parse(b"batch\n10 maildir:a\n20 maildir:b\n30 maild"),
            Marker::Batch(keys(&["10 maildir:a", "20 maildir:b"]))
        );
        assert_eq!(Marker::parse(b"one\n10 maildir:a\n"), Marker::Batch(keys(&["10 maildir:a"])));
        assert_eq!(Marker::parse(b"one\n10 maildir:a\nen"), Marker::Batch(keys(&["10 maildir:a"])));
        assert_eq!(Marker::parse(b"over 60\n10 maildir:a\n"), Marker::Batch(keys(&["10 maildir:a"])));
        assert_eq!(Marker::parse(b"one\n10 mail"), Marker::Empty);
        // A short new marker over a longer old one (death between write and truncate).
        assert_eq!(
            Marker::parse(b"one\n10 maildir:a\nend\n20 maildir:b\n30 maildir:c\nend\n"),
            Marker::One("10 maildir:a".into())
        );
        // Every cut of a full marker parses, and is poison only when whole.
        let full = Marker::One("10 maildir:a".into()).render();
        for n in 0..full.len() {
            let m = Marker::parse(&full[..n]);
            assert!(matches!(m, Marker::Empty | Marker::Batch(_)), "cut at {n}: {m:?}");
        }
    }

    /// Proves: bytes that are not a marker are reported as garbage (and so
    /// ignored), not turned into suspects or poison.
    #[test]
    fn garbage_is_garbage() {
        for b in [
            &b"\xff\xfe\x00binary"[..],
            b"hello world\n",
            b"batch\nnot a key\nend\n",
            b"one\n10 a\n20 b\nend\n",
            b"ONE\n10 maildir:a\nend\n",
            b"\x00\x00\x00\x00\n",
        ] {
            assert!(
                matches!(Marker::parse(b), Marker::Garbage(_)),
                "{:?}: {:?}",
                String::from_utf8_lossy(b),
                Marker::parse(b)
            );
        }
        // `over` with an unreadable figure still names a mail that was in flight.
        assert_eq!(Marker::parse(b"over x\n10 maildir:a\nend\n"), Marker::Batch(keys(&["10 maildir:a"])));
    }

    /// Proves: `note` lists a batch's keys as suspects, a first `one` as
    /// `alone` and a second `one` of the same key as poison (poison never
    /// goes back to suspect).
    #[test]
    fn note_lists_suspects_and_poison() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        let now = Utc::now();
        assert!(!note(c, &Marker::Empty, now).unwrap());
        assert!(note(c, &Marker::Batch(keys(&["1 a", "2 b"])), now).unwrap());
        note(c, &Marker::One("1 a".into()), now).unwrap();
        let kind: String =
            c.query_row("SELECT kind FROM inflight_suspects WHERE key = '1 a'", [], |r| r.get(0)).unwrap();
        assert_eq!(kind, "alone", "one death alone may be a kill from outside");
        note(c, &Marker::One("1 a".into()), now).unwrap();
        note(c, &Marker::Batch(keys(&["1 a"])), now).unwrap();
        let kinds: Vec<(String, String)> = c
            .prepare("SELECT key, kind FROM inflight_suspects ORDER BY key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(kinds, vec![("1 a".into(), "poison".into()), ("2 b".into(), "suspect".into())]);
        // Forgotten after FORGET_AFTER_DAYS.
        assert!(!note(c, &Marker::Empty, now + chrono::Duration::days(FORGET_AFTER_DAYS + 1)).unwrap());
    }
}
