//! What the running daemon tells ops: its state notes in the store (so
//! `supportd status` can read them from another process), in-process
//! counters, and the Prometheus text exposition on a loopback address.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::store;

/// State keys the daemon keeps up to date.
pub mod keys {
    pub const STARTED: &str = "daemon.started_at";
    pub const PID: &str = "daemon.pid";
    pub const HEARTBEAT: &str = "daemon.heartbeat";
    pub const MAILBOX_STATE: &str = "mailbox.state";
    pub const MAILBOX_LAST_SUCCESS: &str = "mailbox.last_success";
    pub const MAILBOX_LAST_ERROR: &str = "mailbox.last_error";
    pub const MAILBOX_BACKLOG: &str = "mailbox.backlog";
    pub const OUTBOX_LAST_ERROR: &str = "outbox.last_error";
}

/// Note a state value (with the time) in the store.
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

/// Everything `supportd status` shows.
#[derive(Debug, Serialize)]
pub struct Report {
    pub daemon_pid: Option<String>,
    pub daemon_started_at: Option<String>,
    pub daemon_heartbeat: Option<String>,
    pub mailbox_state: Option<String>,
    pub mailbox_last_success: Option<String>,
    pub mailbox_last_error: Option<String>,
    pub mailbox_backlog: Option<String>,
    pub outbox_queued: i64,
    pub outbox_failed: i64,
    pub outbox_sent: i64,
    pub outbox_last_error: Option<String>,
    pub quarantined: i64,
    pub messages_by_disposition: Vec<(String, i64)>,
    pub tickets_by_status: Vec<(String, i64)>,
    /// The earliest first-response due time of an unanswered open ticket.
    pub next_escalation: Option<String>,
    /// The next periodic report due, if the report module keeps one.
    pub next_report: Option<String>,
}

fn grouped(conn: &Connection, sql: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, Option<String>>(0)?.unwrap_or_default(), r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Read the status from the store (works while the daemon runs: WAL readers don't block).
pub fn report(conn: &Connection) -> Result<Report> {
    let get = |k: &str| store::get_state(conn, k);
    let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(Report {
        daemon_pid: get(keys::PID)?,
        daemon_started_at: get(keys::STARTED)?,
        daemon_heartbeat: get(keys::HEARTBEAT)?,
        mailbox_state: get(keys::MAILBOX_STATE)?,
        mailbox_last_success: get(keys::MAILBOX_LAST_SUCCESS)?,
        mailbox_last_error: get(keys::MAILBOX_LAST_ERROR)?,
        mailbox_backlog: get(keys::MAILBOX_BACKLOG)?,
        outbox_queued: count("SELECT count(*) FROM outbox WHERE state = 'queued'")?,
        outbox_failed: count("SELECT count(*) FROM outbox WHERE state = 'failed'")?,
        outbox_sent: count("SELECT count(*) FROM outbox WHERE state = 'sent'")?,
        outbox_last_error: get(keys::OUTBOX_LAST_ERROR)?,
        quarantined: count("SELECT count(*) FROM messages WHERE disposition = 'quarantined'")?,
        messages_by_disposition: grouped(
            conn,
            "SELECT disposition, count(*) FROM messages WHERE disposition IS NOT NULL GROUP BY disposition ORDER BY disposition",
        )?,
        tickets_by_status: grouped(conn, "SELECT status, count(*) FROM tickets GROUP BY status ORDER BY status")?,
        next_escalation: conn.query_row(
            "SELECT min(first_response_due) FROM tickets WHERE first_response_at IS NULL AND status IN ('new', 'open', 'in_progress') AND level < 3",
            [],
            |r| r.get(0),
        )?,
        next_report: get("report.next_due")?,
    })
}

/// The Prometheus text exposition (version 0.0.4).
pub fn metrics_text(conn: &Connection, now: DateTime<Utc>) -> Result<String> {
    use std::fmt::Write;
    let r = report(conn)?;
    let mut s = String::new();
    let _ =
        writeln!(s, "# HELP supportd_messages Stored incoming mails by disposition.\n# TYPE supportd_messages gauge");
    for (d, n) in &r.messages_by_disposition {
        let _ = writeln!(s, "supportd_messages{{disposition=\"{d}\"}} {n}");
    }
    let _ = writeln!(s, "# HELP supportd_tickets Tickets by status.\n# TYPE supportd_tickets gauge");
    for (st, n) in &r.tickets_by_status {
        let _ = writeln!(s, "supportd_tickets{{status=\"{st}\"}} {n}");
    }
    let _ = writeln!(s, "# HELP supportd_outbox Outgoing mails by state.\n# TYPE supportd_outbox gauge");
    for (st, n) in [("queued", r.outbox_queued), ("sent", r.outbox_sent), ("failed", r.outbox_failed)] {
        let _ = writeln!(s, "supportd_outbox{{state=\"{st}\"}} {n}");
    }
    let _ = writeln!(
        s,
        "# HELP supportd_fetch_errors_total Mailbox errors since start.\n# TYPE supportd_fetch_errors_total counter\nsupportd_fetch_errors_total {}",
        COUNTERS.fetch_errors.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        s,
        "# HELP supportd_send_errors_total Failed send attempts since start.\n# TYPE supportd_send_errors_total counter\nsupportd_send_errors_total {}",
        COUNTERS.send_errors.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        s,
        "# HELP supportd_processing_seconds Time to process one mail (parse to written).\n# TYPE supportd_processing_seconds histogram"
    );
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
    let up = r.mailbox_state.as_deref().is_some_and(|st| st.starts_with("ok"));
    let _ = writeln!(
        s,
        "# HELP supportd_mailbox_up Whether the last mailbox pass worked.\n# TYPE supportd_mailbox_up gauge\nsupportd_mailbox_up {}",
        up as i32
    );
    let _ = writeln!(
        s,
        "# HELP supportd_scrape_time_seconds When this was produced.\n# TYPE supportd_scrape_time_seconds gauge\nsupportd_scrape_time_seconds {}",
        now.timestamp()
    );
    Ok(s)
}
