//! What the running daemon tells ops.
//!
//! The loops report what happens to them to [`HEALTH`] (in memory: the
//! mailbox fetched or failed, the relay took a mail or could not be
//! reached); the daemon writes that record into the store's `state` table as
//! one JSON document under [`keys::HEALTH`] on every change and every
//! [`HEARTBEAT_EVERY`] (its own connection, so a batch never delays it), so
//! `supportd status` in another process reads it. [`verdict`] turns the
//! record and the store's figures into healthy / the reasons why not, the
//! same way for `supportd status` (exit code), `/healthz` and the SIGUSR1
//! status line. [`metrics_text`] is the Prometheus exposition.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::domain::{Disposition, Status};
use crate::store;

/// State keys the daemon keeps up to date.
pub mod keys {
    /// The daemon's health record ([`super::Health`] as JSON).
    pub const HEALTH: &str = "daemon.health";
}

/// How often the daemon writes its heartbeat (and the health record).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// A heartbeat older than this means the daemon is gone or hung (a long
/// batch may hold the store's write lock for a while).
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(120);
/// A queued outgoing mail older than this makes the verdict "degraded".
pub const OUTBOX_AGE_LIMIT: Duration = Duration::from_secs(3600);

/// `supportd status`: degraded or not running.
pub const EXIT_DEGRADED: i32 = 1;
/// `supportd run`: a start-up error a restart cannot fix (the store is of a
/// newer supportd, the metrics port is taken); listed in the unit's
/// `RestartPreventExitStatus=`.
pub const EXIT_PERMANENT: i32 = 4;
/// `supportd run --once`: mail could not be delivered (queued for a retry or
/// failed; sysexits' EX_TEMPFAIL), so cron sees it.
pub const EXIT_UNDELIVERED: i32 = 75;

/// An error that ends the process with its own exit status (`main`
/// prints `message` unless it is empty).
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Note a state value in the store.
pub fn note(conn: &Connection, key: &str, value: &str) -> Result<()> {
    store::set_state(conn, key, value)
}

/// Seconds buckets of the processing-latency histogram.
pub const LATENCY_BUCKETS: [f64; 8] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0];

/// In-process counters (reset at start; Prometheus handles that).
pub struct Counters {
    pub fetch_errors: AtomicU64,
    pub send_errors: AtomicU64,
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`], then +Inf.
    latency: [AtomicU64; 9],
    latency_sum_micros: AtomicU64,
}

pub static COUNTERS: Counters = Counters {
    fetch_errors: AtomicU64::new(0),
    send_errors: AtomicU64::new(0),
    latency: [const { AtomicU64::new(0) }; 9],
    latency_sum_micros: AtomicU64::new(0),
};

impl Counters {
    /// Record the processing time of one mail.
    pub fn observe_latency(&self, secs: f64) {
        let i = LATENCY_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(LATENCY_BUCKETS.len());
        self.latency[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

// --- the health record ---------------------------------------------------------

/// The mailbox side: `state` is `starting` (no pass finished yet), `up`
/// (the last pass worked) or `down` (failing since `since`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MailboxHealth {
    pub state: String,
    pub since: Option<String>,
    /// The last fetch (or Maildir scan) that worked.
    pub last_fetch_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Failed passes / connections since the daemon started.
    pub fetch_errors: u64,
}

/// The relay side: `state` is `unknown` (nothing sent yet), `up` (the last
/// send reached it) or `down` (suspended: the queue is tried again as a
/// whole at `retry_at`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelayHealth {
    pub state: String,
    pub since: Option<String>,
    pub last_sent_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub retry_at: Option<String>,
    /// Failed send attempts since the daemon started.
    pub send_errors: u64,
}

/// What the daemon knows about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub pid: u32,
    pub version: String,
    pub started_at: Option<String>,
    pub heartbeat_at: Option<String>,
    /// Set on a clean stop.
    pub stopped_at: Option<String>,
    pub mailbox: MailboxHealth,
    pub relay: RelayHealth,
}

/// The daemon's record, changed by its loops.
pub struct HealthCell {
    inner: Mutex<Option<Health>>,
    changed: tokio::sync::Notify,
}

/// The process's health record.
pub static HEALTH: HealthCell = HealthCell::new();

impl HealthCell {
    pub const fn new() -> HealthCell {
        HealthCell { inner: Mutex::new(None), changed: tokio::sync::Notify::const_new() }
    }

    /// Change the record; a change of state (not a mere time or count) is
    /// written into the store at once.
    fn update(&self, f: impl FnOnce(&mut Health)) {
        let key = |h: &Health| {
            (
                h.started_at.clone(),
                h.stopped_at.clone(),
                h.mailbox.state.clone(),
                h.mailbox.last_error.clone(),
                h.relay.state.clone(),
                h.relay.retry_at.clone(),
            )
        };
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let h = g.get_or_insert_with(Health::default);
        let before = key(h);
        f(h);
        let changed = key(h) != before;
        drop(g);
        if changed {
            self.changed.notify_one();
        }
    }

    /// Woken after every change (the daemon writes the record then).
    pub fn changed(&self) -> &tokio::sync::Notify {
        &self.changed
    }

    pub fn snapshot(&self) -> Health {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()
    }

    /// The daemon starts (the loops run from now on).
    pub fn started(&self, now: DateTime<Utc>) {
        self.update(|h| {
            *h = Health {
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").into(),
                started_at: Some(store::ts(now)),
                heartbeat_at: Some(store::ts(now)),
                stopped_at: None,
                mailbox: MailboxHealth { state: "starting".into(), since: Some(store::ts(now)), ..Default::default() },
                relay: RelayHealth { state: "unknown".into(), ..Default::default() },
            }
        });
    }

    pub fn heartbeat(&self, now: DateTime<Utc>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = g.as_mut() {
            h.heartbeat_at = Some(store::ts(now));
        }
    }

    pub fn stopped(&self, now: DateTime<Utc>) {
        self.update(|h| h.stopped_at = Some(store::ts(now)));
    }

    /// A fetch (or Maildir scan) worked.
    pub fn mailbox_ok(&self, now: DateTime<Utc>) {
        self.update(|h| {
            let m = &mut h.mailbox;
            if m.state != "up" {
                m.state = "up".into();
                m.since = Some(store::ts(now));
            }
            m.last_fetch_at = Some(store::ts(now));
        });
    }

    /// A mailbox pass or connection failed.
    pub fn mailbox_failed(&self, error: &str, now: DateTime<Utc>) {
        COUNTERS.fetch_errors.fetch_add(1, Ordering::Relaxed);
        self.update(|h| {
            let m = &mut h.mailbox;
            if m.state != "down" {
                m.state = "down".into();
                m.since = Some(store::ts(now));
            }
            m.last_error = Some(error.to_string());
            m.last_error_at = Some(store::ts(now));
            m.fetch_errors += 1;
        });
    }

    /// The relay took a mail.
    pub fn relay_ok(&self, now: DateTime<Utc>) {
        self.update(|h| {
            let r = &mut h.relay;
            if r.state != "up" {
                r.state = "up".into();
                r.since = Some(store::ts(now));
            }
            r.retry_at = None;
            // the minute is enough: one change per minute, not per mail
            let minute = store::ts(now)[..16].to_string();
            if r.last_sent_at.as_deref().is_none_or(|t| !t.starts_with(&minute)) {
                r.last_sent_at = Some(store::ts(now));
            }
        });
    }

    /// One send attempt failed (counted).
    pub fn send_failed(&self, error: &str, now: DateTime<Utc>) {
        COUNTERS.send_errors.fetch_add(1, Ordering::Relaxed);
        self.update(|h| {
            let r = &mut h.relay;
            r.send_errors += 1;
            r.last_error = Some(error.to_string());
            r.last_error_at = Some(store::ts(now));
        });
    }

    /// The relay could not be reached: suspended until `retry_at`.
    pub fn relay_suspended(&self, retry_at: DateTime<Utc>, now: DateTime<Utc>) {
        self.update(|h| {
            let r = &mut h.relay;
            if r.state != "down" {
                r.state = "down".into();
                r.since = Some(store::ts(now));
            }
            r.retry_at = Some(store::ts(retry_at));
        });
    }
}

impl Default for HealthCell {
    fn default() -> Self {
        Self::new()
    }
}

/// Write the record into the store.
pub fn write_health(conn: &Connection, h: &Health) -> Result<()> {
    note(conn, keys::HEALTH, &serde_json::to_string(h)?)
}

/// The record the daemon last wrote into the store (`None`: never ran on it).
pub fn read_health(conn: &Connection) -> Result<Option<Health>> {
    Ok(store::get_state(conn, keys::HEALTH)?.and_then(|v| serde_json::from_str(&v).ok()))
}

// --- the store's figures and the verdict -----------------------------------------

/// Outgoing mails.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutboxFigures {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub oldest_queued_at: Option<String>,
    pub oldest_queued_age_secs: Option<i64>,
}

/// What the store says, read over any connection (WAL readers don't block).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub outbox: OutboxFigures,
    pub quarantined: i64,
    /// Every disposition, 0 included.
    pub messages: BTreeMap<String, i64>,
    /// Every ticket status, 0 included.
    pub tickets: BTreeMap<String, i64>,
    /// The earliest first-response due time of an unanswered open ticket.
    pub next_escalation: Option<String>,
    /// The next periodic report due, if the report module keeps one.
    pub next_report: Option<String>,
    /// The store file plus its WAL, bytes.
    pub store_bytes: u64,
    /// Free pages inside the file (reused by new rows; handed back by the incremental vacuum), bytes.
    pub store_free_bytes: i64,
    /// What retention removed since the store exists (`[retention]`, `supportd purge`).
    pub retention: crate::store::retention::Freed,
    /// When retention last removed something.
    pub retention_last_at: Option<String>,
}

/// The counts of `scope` (`messages` by disposition, `outbox` by state,
/// `tickets` by status) from the `counters` table, which triggers keep in
/// the transaction of the rows (migration 0018): a few rows at any size.
/// Every value of `all` is there, 0 included.
fn counted(conn: &Connection, scope: &str, all: impl Iterator<Item = &'static str>) -> Result<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> = all.map(|k| (k.to_string(), 0)).collect();
    let mut stmt = conn.prepare_cached("SELECT key, n FROM counters WHERE scope = ?1")?;
    let rows = stmt.query_map([scope], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (k, n) = row?;
        out.insert(k, n);
    }
    Ok(out)
}

/// Bytes of the store file and its WAL.
pub fn store_bytes(path: &Path) -> u64 {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    size(path) + size(Path::new(&wal))
}

pub fn figures(conn: &Connection, store_path: &Path, now: DateTime<Utc>) -> Result<Figures> {
    let oldest: Option<String> =
        conn.query_row("SELECT min(created_at) FROM outbox WHERE state = 'queued' AND held IS NULL", [], |r| r.get(0))?;
    let age = oldest.as_deref().and_then(store::parse_ts).map(|t| (now - t).num_seconds().max(0));
    let outbox = counted(conn, "outbox", ["queued", "sent", "failed"].into_iter())?;
    let messages = counted(conn, "messages", Disposition::ALL.iter().map(|d| d.as_str()))?;
    Ok(Figures {
        outbox: OutboxFigures {
            queued: outbox["queued"],
            sent: outbox["sent"],
            failed: outbox["failed"],
            oldest_queued_at: oldest,
            oldest_queued_age_secs: age,
        },
        quarantined: messages.get("quarantined").copied().unwrap_or(0),
        messages,
        tickets: counted(conn, "tickets", Status::ALL.iter().map(|s| s.as_str()))?,
        next_escalation: conn.query_row(
            "SELECT min(first_response_due) FROM tickets INDEXED BY tickets_unanswered \
             WHERE first_response_at IS NULL AND status IN ('new', 'open', 'in_progress') AND level < 3",
            [],
            |r| r.get(0),
        )?,
        next_report: store::get_state(conn, "report.next_due")?,
        store_bytes: store_bytes(store_path),
        store_free_bytes: {
            let (size, _, free) = store::retention::pages(conn)?;
            size * free
        },
        retention: store::retention::totals(conn)?,
        retention_last_at: store::get_state(conn, store::retention::LAST_KEY)?,
    })
}

/// Healthy, or the reasons why not (one line each).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub healthy: bool,
    /// Whether the daemon runs (false: not started, stopped, or gone).
    pub running: bool,
    pub reasons: Vec<String>,
}

/// Whether a process with this pid exists (`None`: cannot tell).
pub fn pid_alive(pid: u32) -> Option<bool> {
    if pid == 0 || !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

fn age(t: &Option<String>, now: DateTime<Utc>) -> Option<i64> {
    t.as_deref().and_then(store::parse_ts).map(|t| (now - t).num_seconds())
}

/// The verdict on a health record and the store's figures at `now`.
/// `itself`: asked by the daemon (`/healthz`, SIGUSR1), which runs by
/// definition; otherwise the record's heartbeat and pid decide.
pub fn verdict(
    h: Option<&Health>,
    f: &Figures,
    now: DateTime<Utc>,
    itself: bool,
    alive: impl Fn(u32) -> Option<bool>,
) -> Verdict {
    let mut reasons = Vec::new();
    let mut running = true;
    match h {
        None => {
            running = false;
            reasons.push("daemon: has never run on this store".to_string());
        }
        Some(h) if !itself => {
            let hb = h.heartbeat_at.as_deref().unwrap_or("-");
            if let Some(stop) = &h.stopped_at {
                running = false;
                reasons.push(format!("daemon: not running (stopped at {stop})"));
            } else if alive(h.pid) == Some(false) {
                running = false;
                reasons.push(format!("daemon: not running (pid {} is gone; last heartbeat {hb})", h.pid));
            } else if age(&h.heartbeat_at, now).is_none_or(|a| a > HEARTBEAT_STALE.as_secs() as i64) {
                running = false;
                reasons.push(format!("daemon: no heartbeat since {hb} (pid {}): hung or gone", h.pid));
            }
        }
        Some(_) => {}
    }
    if let Some(h) = h.filter(|_| running) {
        let m = &h.mailbox;
        if m.state == "down" {
            reasons.push(format!(
                "mailbox: failing since {} ({} errors): {}",
                m.since.as_deref().unwrap_or("-"),
                m.fetch_errors,
                m.last_error.as_deref().unwrap_or("-")
            ));
        }
        let r = &h.relay;
        if r.state == "down" {
            reasons.push(format!(
                "relay: unreachable since {}, {} mails queued, next try {}: {}",
                r.since.as_deref().unwrap_or("-"),
                f.outbox.queued,
                r.retry_at.as_deref().unwrap_or("-"),
                r.last_error.as_deref().unwrap_or("-")
            ));
        }
    }
    if let Some(a) = f.outbox.oldest_queued_age_secs.filter(|a| *a > OUTBOX_AGE_LIMIT.as_secs() as i64) {
        reasons.push(format!(
            "outbox: {} mails queued, the oldest since {} ({} min)",
            f.outbox.queued,
            f.outbox.oldest_queued_at.as_deref().unwrap_or("-"),
            a / 60
        ));
    }
    Verdict { healthy: reasons.is_empty(), running, reasons }
}

/// Everything `supportd status` shows (`--json`: this object).
#[derive(Debug, Serialize)]
pub struct Report {
    pub healthy: bool,
    pub reasons: Vec<String>,
    pub daemon: DaemonReport,
    pub mailbox: Option<MailboxHealth>,
    pub relay: Option<RelayHealth>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct DaemonReport {
    pub running: bool,
    pub pid: Option<u32>,
    pub version: Option<String>,
    pub started_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub heartbeat_age_secs: Option<i64>,
    pub stopped_at: Option<String>,
}

/// Read the status from the store (works while the daemon runs).
pub fn report(conn: &Connection, store_path: &Path, now: DateTime<Utc>) -> Result<Report> {
    let h = read_health(conn)?;
    let f = figures(conn, store_path, now)?;
    let v = verdict(h.as_ref(), &f, now, false, pid_alive);
    Ok(Report {
        healthy: v.healthy,
        reasons: v.reasons,
        daemon: DaemonReport {
            running: v.running,
            pid: h.as_ref().map(|h| h.pid),
            version: h.as_ref().map(|h| h.version.clone()),
            started_at: h.as_ref().and_then(|h| h.started_at.clone()),
            heartbeat_at: h.as_ref().and_then(|h| h.heartbeat_at.clone()),
            heartbeat_age_secs: h.as_ref().and_then(|h| age(&h.heartbeat_at, now)),
            stopped_at: h.as_ref().and_then(|h| h.stopped_at.clone()),
        },
        mailbox: h.as_ref().map(|h| h.mailbox.clone()),
        relay: h.as_ref().map(|h| h.relay.clone()),
        figures: f,
    })
}

/// `supportd status` as text.
pub fn report_text(r: &Report) -> String {
    use std::fmt::Write;
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "verdict         {}",
        if r.healthy {
            "healthy".to_string()
        } else if !r.daemon.running {
            "not running".to_string()
        } else {
            "degraded".to_string()
        }
    );
    for why in &r.reasons {
        let _ = writeln!(s, "  - {why}");
    }
    let d = &r.daemon;
    let _ = writeln!(
        s,
        "daemon          {}, pid {}, started {}, last heartbeat {}{}",
        if d.running { "running" } else { "not running" },
        d.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
        o(&d.started_at),
        o(&d.heartbeat_at),
        d.heartbeat_age_secs.map(|a| format!(" ({a} s ago)")).unwrap_or_default()
    );
    match &r.mailbox {
        Some(m) => {
            let _ = writeln!(s, "mailbox         {} since {}, {} errors", m.state, o(&m.since), m.fetch_errors);
            let _ = writeln!(s, "  last fetch    {}", o(&m.last_fetch_at));
            let _ = writeln!(s, "  last error    {} {}", o(&m.last_error_at), o(&m.last_error));
        }
        None => {
            let _ = writeln!(s, "mailbox         -");
        }
    }
    match &r.relay {
        Some(x) => {
            let _ = writeln!(
                s,
                "relay           {} since {}, {} send errors, last sent {}",
                x.state,
                o(&x.since),
                x.send_errors,
                o(&x.last_sent_at)
            );
            if x.state == "down" {
                let _ = writeln!(s, "  next try      {}", o(&x.retry_at));
            }
            let _ = writeln!(s, "  last error    {} {}", o(&x.last_error_at), o(&x.last_error));
        }
        None => {
            let _ = writeln!(s, "relay           -");
        }
    }
    let f = &r.figures;
    let _ = writeln!(
        s,
        "outbox          {} queued, {} failed, {} sent; oldest queued {}",
        f.outbox.queued,
        f.outbox.failed,
        f.outbox.sent,
        o(&f.outbox.oldest_queued_at)
    );
    let _ = writeln!(s, "quarantined     {}", f.quarantined);
    let _ = writeln!(
        s,
        "tickets         {}",
        f.tickets.iter().filter(|(_, n)| **n > 0).map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(s, "next escalation {}", o(&f.next_escalation));
    let _ = writeln!(s, "next report     {}", o(&f.next_report));
    let _ = writeln!(s, "store           {} bytes ({} free inside)", f.store_bytes, f.store_free_bytes);
    let r = &f.retention;
    let _ = writeln!(
        s,
        "retention freed {} bytes: {} raw mails, {} attachments, {} outgoing mails (last {})",
        r.bytes,
        r.raw_mails,
        r.attachments,
        r.outgoing,
        o(&f.retention_last_at)
    );
    s
}

// --- Prometheus ---------------------------------------------------------------------

fn ts_secs(t: &Option<String>) -> i64 {
    t.as_deref().and_then(store::parse_ts).map(|t| t.timestamp()).unwrap_or(0)
}

/// The Prometheus text exposition (version 0.0.4) of the daemon's record
/// `h` and the store's figures. Every label value is present from the start.
pub fn metrics_text(f: &Figures, h: &Health, now: DateTime<Utc>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let head = |s: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    head(&mut s, "supportd_build_info", "gauge", "The running supportd's version (value 1).");
    let _ = writeln!(s, "supportd_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    head(&mut s, "supportd_start_time_seconds", "gauge", "When the daemon started (Unix time).");
    let _ = writeln!(s, "supportd_start_time_seconds {}", ts_secs(&h.started_at));
    head(&mut s, "supportd_messages", "gauge", "Stored incoming mails by disposition.");
    for (d, n) in &f.messages {
        let _ = writeln!(s, "supportd_messages{{disposition=\"{d}\"}} {n}");
    }
    head(&mut s, "supportd_tickets", "gauge", "Tickets by status.");
    for (st, n) in &f.tickets {
        let _ = writeln!(s, "supportd_tickets{{status=\"{st}\"}} {n}");
    }
    head(&mut s, "supportd_outbox", "gauge", "Outgoing mails by state.");
    for (st, n) in [("queued", f.outbox.queued), ("sent", f.outbox.sent), ("failed", f.outbox.failed)] {
        let _ = writeln!(s, "supportd_outbox{{state=\"{st}\"}} {n}");
    }
    head(
        &mut s,
        "supportd_outbox_oldest_queued_age_seconds",
        "gauge",
        "Age of the oldest queued outgoing mail (0: none).",
    );
    let _ = writeln!(s, "supportd_outbox_oldest_queued_age_seconds {}", f.outbox.oldest_queued_age_secs.unwrap_or(0));
    head(&mut s, "supportd_fetch_errors_total", "counter", "Failed mailbox passes and connections since start.");
    let _ = writeln!(s, "supportd_fetch_errors_total {}", h.mailbox.fetch_errors);
    head(&mut s, "supportd_send_errors_total", "counter", "Failed send attempts since start.");
    let _ = writeln!(s, "supportd_send_errors_total {}", h.relay.send_errors);
    head(&mut s, "supportd_processing_seconds", "histogram", "Time to process one mail (parse to written).");
    let mut cum = 0;
    for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
        cum += COUNTERS.latency[i].load(Ordering::Relaxed);
        let _ = writeln!(s, "supportd_processing_seconds_bucket{{le=\"{b}\"}} {cum}");
    }
    cum += COUNTERS.latency[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(s, "supportd_processing_seconds_bucket{{le=\"+Inf\"}} {cum}");
    let _ = writeln!(
        s,
        "supportd_processing_seconds_sum {}",
        COUNTERS.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(s, "supportd_processing_seconds_count {cum}");
    head(&mut s, "supportd_mailbox_up", "gauge", "1 while the mailbox works (the last pass or connection worked).");
    let _ = writeln!(s, "supportd_mailbox_up {}", (h.mailbox.state == "up") as i32);
    head(
        &mut s,
        "supportd_last_fetch_success_timestamp_seconds",
        "gauge",
        "When a mailbox fetch last worked (Unix time, 0: never).",
    );
    let _ = writeln!(s, "supportd_last_fetch_success_timestamp_seconds {}", ts_secs(&h.mailbox.last_fetch_at));
    head(&mut s, "supportd_relay_up", "gauge", "0 while the relay is suspended after a connection failure.");
    let _ = writeln!(s, "supportd_relay_up {}", (h.relay.state != "down") as i32);
    head(&mut s, "supportd_store_bytes", "gauge", "Size of the SQLite store and its WAL.");
    let _ = writeln!(s, "supportd_store_bytes {}", f.store_bytes);
    head(&mut s, "supportd_store_free_bytes", "gauge", "Free pages inside the store file, bytes.");
    let _ = writeln!(s, "supportd_store_free_bytes {}", f.store_free_bytes);
    head(&mut s, "supportd_retention_freed_bytes_total", "counter", "Stored bytes retention removed.");
    let _ = writeln!(s, "supportd_retention_freed_bytes_total {}", f.retention.bytes);
    head(&mut s, "supportd_retention_removed_total", "counter", "What retention removed, by kind.");
    for (kind, n) in [
        ("raw_mail", f.retention.raw_mails),
        ("attachment", f.retention.attachments),
        ("outgoing_mail", f.retention.outgoing),
    ] {
        let _ = writeln!(s, "supportd_retention_removed_total{{kind=\"{kind}\"}} {n}");
    }
    head(&mut s, "supportd_scrape_time_seconds", "gauge", "When this was produced.");
    let _ = writeln!(s, "supportd_scrape_time_seconds {}", now.timestamp());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    /// Proves: the record follows the loops (mailbox up/down with the error
    /// counted, relay suspended with its retry time and back up), and the
    /// verdict names each problem; a stale heartbeat, a gone pid or a clean
    /// stop mean "not running"; the daemon asking itself ignores those.
    #[test]
    fn verdict_follows_the_record() {
        let cell = HealthCell::new();
        cell.started(t(0));
        let f = Figures::default();
        let alive = |_| Some(true);
        let v = verdict(Some(&cell.snapshot()), &f, t(5), false, alive);
        assert!(v.healthy && v.running, "{v:?}");

        cell.mailbox_ok(t(1));
        cell.mailbox_failed("connection refused", t(2));
        let h = cell.snapshot();
        assert_eq!((h.mailbox.state.as_str(), h.mailbox.fetch_errors), ("down", 1));
        let v = verdict(Some(&h), &f, t(5), false, alive);
        assert!(!v.healthy && v.running);
        assert!(v.reasons[0].contains("mailbox") && v.reasons[0].contains("connection refused"), "{v:?}");
        cell.mailbox_ok(t(3));
        cell.send_failed("Connection error: refused", t(3));
        cell.relay_suspended(t(13), t(3));
        let h = cell.snapshot();
        assert_eq!(h.relay.state, "down");
        let v = verdict(Some(&h), &f, t(5), false, alive);
        assert_eq!(v.reasons.len(), 1, "{v:?}");
        assert!(v.reasons[0].starts_with("relay: unreachable"), "{v:?}");
        cell.relay_ok(t(14));
        assert!(verdict(Some(&cell.snapshot()), &f, t(15), false, alive).healthy);
        assert_eq!(cell.snapshot().relay.send_errors, 1);

        // not running
        let h = cell.snapshot();
        let stale = verdict(Some(&h), &f, t(500), false, alive);
        assert!(!stale.running && stale.reasons[0].contains("no heartbeat"), "{stale:?}");
        assert!(verdict(Some(&h), &f, t(500), true, alive).healthy, "the daemon itself runs");
        let gone = verdict(Some(&h), &f, t(5), false, |_| Some(false));
        assert!(!gone.running && gone.reasons[0].contains("is gone"), "{gone:?}");
        cell.stopped(t(20));
        let v = verdict(Some(&cell.snapshot()), &f, t(21), false, alive);
        assert!(!v.running && v.reasons[0].contains("stopped"), "{v:?}");
        assert!(!verdict(None, &f, t(21), false, alive).running);
    }

    /// Proves: every disposition and ticket status is a label value from
    /// the start (0), and the build info, last fetch, oldest queued age,
    /// store size and relay/mailbox gauges are in the text.
    #[test]
    fn metrics_have_every_label_value_from_the_start() {
        let store = store::Store::open_in_memory().unwrap();
        let f = figures(store.conn(), Path::new("/nonexistent"), t(0)).unwrap();
        let text = metrics_text(&f, &Health::default(), t(0));
        for d in Disposition::ALL {
            assert!(text.contains(&format!("supportd_messages{{disposition=\"{}\"}} 0\n", d.as_str())), "{d}");
        }
        for st in Status::ALL {
            assert!(text.contains(&format!("supportd_tickets{{status=\"{}\"}} 0\n", st.as_str())), "{st}");
        }
        for m in [
            "supportd_build_info{version=\"",
            "supportd_last_fetch_success_timestamp_seconds 0\n",
            "supportd_outbox_oldest_queued_age_seconds 0\n",
            "supportd_store_bytes 0\n",
            "supportd_mailbox_up 0\n",
            "supportd_fetch_errors_total 0\n",
            "supportd_send_errors_total 0\n",
        ] {
            assert!(text.contains(m), "{m}\n{text}");
        }
    }
}
