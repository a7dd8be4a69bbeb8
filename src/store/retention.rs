//! Retention: the raw bytes of mails, their attachments and the outgoing
//! mails of tickets closed long enough ago leave the store; the rows, their
//! facts (sender, subject, disposition, the new text), the tickets, their
//! events and every report figure stay. Applied by the daemon's clock in
//! small batches ([`Policy`] from `[retention]`) and by `supportd purge`;
//! freed pages go back to the file system (`PRAGMA incremental_vacuum`).
//!
//! A mail is *done with* when it is older than the cutoff and its ticket
//! was closed before the cutoff (or it has no ticket: spam, bounces,
//! auto-replies). Quarantined mails are never touched (they wait for an
//! operator's `reprocess`), nor is anything of an open ticket.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::{compact, get_state, set_state, ts};

/// `[retention]` as configured; it lives in `config` (which imports no store).
pub use crate::config::RetentionPolicy as Policy;

/// What a purge removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freed {
    /// Incoming mails whose raw bytes went.
    pub raw_mails: i64,
    /// Attachments (rows) whose bytes went.
    pub attachments: i64,
    /// Attachment bodies deleted (no mail left that still keeps them).
    pub blobs: i64,
    /// Outgoing mails whose raw bytes went.
    pub outgoing: i64,
    /// Stored bytes removed (compressed, as they were kept).
    pub bytes: i64,
}

impl Freed {
    fn add(&mut self, o: &Freed) {
        self.raw_mails += o.raw_mails;
        self.attachments += o.attachments;
        self.blobs += o.blobs;
        self.outgoing += o.outgoing;
        self.bytes += o.bytes;
    }
    pub fn is_empty(&self) -> bool {
        self.raw_mails + self.attachments + self.blobs + self.outgoing == 0
    }
}

/// State key: what retention freed since the store exists (JSON [`Freed`]).
pub const TOTALS_KEY: &str = "retention.totals";
/// State key: when retention last removed something.
pub const LAST_KEY: &str = "retention.last_at";

/// Rows per kind per batch (one transaction).
pub const BATCH: usize = 200;

fn cutoff(now: DateTime<Utc>, days: u32) -> String {
    ts(now - Duration::days(i64::from(days)))
}

/// A mail `m` done with at cutoff ?1.
const DONE_MSG: &str = "m.received_at < ?1 AND m.disposition IS NOT NULL AND m.disposition <> 'quarantined' \
     AND (m.ticket_id IS NULL OR EXISTS (SELECT 1 FROM tickets t WHERE t.id = m.ticket_id AND t.status = 'closed' \
     AND t.closed_at < ?1))";

/// One batch of at most `batch` rows per kind; `dry`: only counted.
pub fn purge_batch(conn: &Connection, p: &Policy, now: DateTime<Utc>, batch: usize, dry: bool) -> Result<Freed> {
    let mut f = Freed::default();
    let now_s = ts(now);
    let empty = compact::pack(b"")?;
    if p.raw_after_days > 0 {
        let c = cutoff(now, p.raw_after_days);
        let rows: Vec<(i64, i64)> = conn
            .prepare_cached(&format!(
                "SELECT m.id, length(m.raw) FROM messages m WHERE m.raw_removed_at IS NULL AND {DONE_MSG} \
                 ORDER BY m.received_at LIMIT ?2"
            ))?
            .query_map(params![c, batch as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, len) in &rows {
            if !dry {
                conn.prepare_cached("UPDATE messages SET raw = ?1, raw_format = 1, raw_removed_at = ?2 WHERE id = ?3")?
                    .execute(params![empty, now_s, id])?;
            }
            f.raw_mails += 1;
            f.bytes += len;
        }
        if !dry {
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            super::dict::retire_touching(conn, super::dict::Kind::Mail, &ids, now)?;
        }
    }
    if p.attachments_after_days > 0 {
        let c = cutoff(now, p.attachments_after_days);
        let rows: Vec<(i64, String)> = conn
            .prepare_cached(&format!(
                "SELECT a.id, a.sha256 FROM messages m JOIN attachments a ON a.message_row = m.id \
                 WHERE a.removed_at IS NULL AND {DONE_MSG} ORDER BY m.received_at LIMIT ?2"
            ))?
            .query_map(params![c, batch as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let (a, b, bytes) = remove_attachments(conn, &rows, &now_s, dry)?;
        f.attachments += a;
        f.blobs += b;
        f.bytes += bytes;
    }
    if p.outgoing_after_days > 0 {
        let c = cutoff(now, p.outgoing_after_days);
        let rows: Vec<(i64, i64)> = conn
            .prepare_cached(
                "SELECT o.id, length(o.raw) FROM outbox o WHERE o.raw_removed_at IS NULL AND o.created_at < ?1 \
                 AND o.state IN ('sent', 'failed') AND (o.ticket_id IS NULL OR EXISTS (SELECT 1 FROM tickets t \
                 WHERE t.id = o.ticket_id AND t.status = 'closed' AND t.closed_at < ?1)) ORDER BY o.created_at LIMIT ?2",
            )?
            .query_map(params![c, batch as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, len) in &rows {
            if !dry {
                conn.prepare_cached("UPDATE outbox SET raw = ?1, raw_format = 1, raw_removed_at = ?2 WHERE id = ?3")?
                    .execute(params![empty, now_s, id])?;
            }
            f.outgoing += 1;
            f.bytes += len;
        }
        if !dry {
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            super::dict::retire_touching(conn, super::dict::Kind::Outbox, &ids, now)?;
        }
    }
    Ok(f)
}

/// Mark attachment rows removed and delete each body no live row keeps.
/// Returns (rows, bodies deleted, bytes).
pub fn remove_attachments(conn: &Connection, rows: &[(i64, String)], now: &str, dry: bool) -> Result<(i64, i64, i64)> {
    let (mut blobs, mut bytes) = (0, 0);
    for (id, _) in rows {
        if !dry {
            conn.prepare_cached("UPDATE attachments SET removed_at = ?1 WHERE id = ?2")?.execute(params![now, id])?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    let queued = if rows.is_empty() { Default::default() } else { compact::needed_by_queued(conn)? };
    for (id, sha) in rows {
        if !seen.insert(sha) || queued.contains(sha) {
            continue;
        }
        // Dry: the rows are not marked, so "kept by another live row" leaves out these very rows.
        let kept: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?1 AND removed_at IS NULL AND id <> ?2)",
            )?
            .query_row(params![sha, id], |r| r.get(0))?;
        if kept && !dry {
            continue;
        }
        if dry && kept {
            let others: i64 = conn
                .prepare_cached("SELECT count(*) FROM attachments WHERE sha256 = ?1 AND removed_at IS NULL")?
                .query_row([sha], |r| r.get(0))?;
            let here = rows.iter().filter(|(_, s)| s == sha).count() as i64;
            if others > here {
                continue;
            }
        }
        let len = compact::stored_len(conn, sha)?;
        if let Some(len) = len {
            if !dry {
                compact::remove_blob(conn, sha)?;
            }
            blobs += 1;
            bytes += len;
        }
    }
    Ok((rows.len() as i64, blobs, bytes))
}

/// Batches until nothing is left (`supportd purge`; dry: counted in one
/// read, nothing written), then the freed pages go back to the file
/// system and the totals are recorded.
pub fn purge(conn: &mut Connection, p: &Policy, now: DateTime<Utc>, dry: bool) -> Result<Freed> {
    let mut total = Freed::default();
    if dry {
        return purge_batch(conn, p, now, i64::MAX as usize, true);
    }
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let f = purge_batch(&tx, p, now, BATCH, false)?;
        record(&tx, &f, now)?;
        tx.commit()?;
        if f.is_empty() {
            break;
        }
        total.add(&f);
    }
    vacuum(conn)?;
    Ok(total)
}

/// One batch in its own transaction (the daemon's clock), then vacuum.
pub fn tick(conn: &mut Connection, p: &Policy, now: DateTime<Utc>) -> Result<Freed> {
    if p.is_off() {
        return Ok(Freed::default());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let f = purge_batch(&tx, p, now, BATCH, false)?;
    record(&tx, &f, now)?;
    tx.commit()?;
    if !f.is_empty() {
        vacuum(conn)?;
    }
    Ok(f)
}

/// [`tick`] for the daemon's clock: what it freed is logged, and so is a
/// failure (retention never stops the clock's other work).
pub fn tick_logged(conn: &mut Connection, p: &Policy, now: DateTime<Utc>) {
    match tick(conn, p, now) {
        Ok(f) if !f.is_empty() => tracing::info!(
            "retention: {} raw mails, {} attachments ({} bodies), {} outgoing mails removed, {} bytes",
            f.raw_mails,
            f.attachments,
            f.blobs,
            f.outgoing,
            f.bytes
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("retention: {e:#}"),
    }
}

fn record(conn: &Connection, f: &Freed, now: DateTime<Utc>) -> Result<()> {
    if f.is_empty() {
        return Ok(());
    }
    let mut t = totals(conn)?;
    t.add(f);
    set_state(conn, TOTALS_KEY, &serde_json::to_string(&t)?)?;
    set_state(conn, LAST_KEY, &ts(now))?;
    Ok(())
}

/// What retention freed since the store exists.
pub fn totals(conn: &Connection) -> Result<Freed> {
    Ok(get_state(conn, TOTALS_KEY)?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

/// Hand the free pages back to the file system (a store still without
/// auto_vacuum keeps them for reuse) and fold the WAL into the file.
pub fn vacuum(conn: &Connection) -> Result<()> {
    // Stepped to the end: one step may free only one page.
    let mut st = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = st.query([])?;
    while rows.next()?.is_some() {}
    drop(rows);
    drop(st);
    let _: (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(())
}

/// Pages of the store: (page size, pages, free pages).
pub fn pages(conn: &Connection) -> Result<(i64, i64, i64)> {
    Ok((
        conn.pragma_query_value(None, "page_size", |r| r.get(0))?,
        conn.pragma_query_value(None, "page_count", |r| r.get(0))?,
        conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?,
    ))
}
