//! What a ticket report reads (`reports::compute`): the period's tickets
//! with only the columns the figures need, their status histories and the
//! period's escalations, each in one query.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;

/// One ticket of a report: the columns its figures need, nothing more.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub created_at: String,
    pub category: String,
    pub level: i64,
    pub priority: String,
    pub billable: bool,
    pub first_response_at: Option<String>,
    /// Read only when asked for (a report lists few tickets; its CSV all).
    pub subject: Option<String>,
}

/// What a report of `customer` for `[start, end)` reads: the tickets the
/// period can show (not merged away, created before `end`, not closed for
/// good before `start`: `closed_at` is the last close, a reopen clears it)
/// in id order; their status history (ticket, status, at) in
/// ticket and time order; their escalations inside the period (ticket, at,
/// detail). Three queries whatever the number of tickets; `subjects`: read
/// each ticket's subject too.
pub fn report_rows(
    conn: &Connection,
    customer: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    subjects: bool,
) -> Result<ReportRows> {
    const WHERE: &str = "t.customer = ?1 AND t.merged_into IS NULL AND t.created_at < ?3 \
                         AND (t.closed_at IS NULL OR t.closed_at >= ?2)";
    let (s, e) = (ts(start), ts(end));
    let subject = if subjects { "t.subject" } else { "NULL" };
    let mut st = conn.prepare(&format!(
        "SELECT t.id, t.created_at, t.category, t.level, t.priority, t.billable, t.first_response_at, {subject} \
         FROM tickets t WHERE {WHERE} ORDER BY t.id"
    ))?;
    let tickets = st.query_map(params![customer, s, e], report_row)?.collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare(&format!(
        "SELECT h.ticket_id, h.status, h.at FROM status_history h JOIN tickets t ON t.id = h.ticket_id \
         WHERE {WHERE} ORDER BY h.ticket_id, h.at, h.id"
    ))?;
    let history = st
        .query_map(params![customer, s, e], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // From the escalation index (0018; CROSS JOIN keeps the events outside): the
    // period's few, not every ticket's events.
    let mut st = conn.prepare(&format!(
        "SELECT e.ticket_id, e.at, e.detail FROM events e INDEXED BY events_escalation CROSS JOIN tickets t ON t.id = e.ticket_id \
         WHERE e.kind = 'escalation' AND e.at >= ?2 AND e.at < ?3 AND {WHERE} ORDER BY e.ticket_id, e.at, e.id"
    ))?;
    let escalations = st
        .query_map(params![customer, s, e], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ReportRows { tickets, history, escalations })
}

/// A report row from `id, created_at, category, level, priority, billable,
/// first_response_at, subject` in that order.
fn report_row(r: &rusqlite::Row) -> rusqlite::Result<ReportRow> {
    Ok(ReportRow {
        id: r.get(0)?,
        created_at: r.get(1)?,
        category: r.get(2)?,
        level: r.get(3)?,
        priority: r.get(4)?,
        billable: r.get::<_, i64>(5)? != 0,
        first_response_at: r.get(6)?,
        subject: r.get(7)?,
    })
}

/// [`report_rows`]: the tickets, their histories, their escalations in the period.
#[derive(Debug, Default)]
pub struct ReportRows {
    pub tickets: Vec<ReportRow>,
    /// (ticket, status, at), by ticket and time.
    pub history: Vec<(i64, String, String)>,
    /// (ticket, at, detail), by ticket and time.
    pub escalations: Vec<(i64, String, String)>,
}

/// The subject of ticket `id` (a report reads them only for the tickets it lists).
pub fn ticket_subject(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT subject FROM tickets WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?)
}

/// [`report_rows`] for the tickets `ids` only (sorted, distinct; any
/// customer's, merged ones too: the caller chose them): the few a report
/// lists or reads one by one, with their subjects, histories and
/// escalations in `[start, end)`.
pub fn report_rows_of(conn: &Connection, ids: &[i64], start: DateTime<Utc>, end: DateTime<Utc>) -> Result<ReportRows> {
    let (s, e) = (ts(start), ts(end));
    let mut out = ReportRows::default();
    let mut tk = conn.prepare_cached(
        "SELECT id, created_at, category, level, priority, billable, first_response_at, subject FROM tickets WHERE id = ?1",
    )?;
    let mut hs =
        conn.prepare_cached("SELECT ticket_id, status, at FROM status_history WHERE ticket_id = ?1 ORDER BY at, id")?;
    let mut es = conn.prepare_cached(
        "SELECT ticket_id, at, detail FROM events WHERE ticket_id = ?1 AND kind = 'escalation' AND at >= ?2 AND at < ?3 \
         ORDER BY at, id",
    )?;
    for &id in ids {
        let Some(t) = tk.query_row([id], report_row).optional()? else {
            continue;
        };
        out.tickets.push(t);
        for h in hs.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            out.history.push(h?);
        }
        for x in es.query_map(params![id, s, e], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            out.escalations.push(x?);
        }
    }
    Ok(out)
}
