//! A ticket report's figures kept per customer and month (migration 0019):
//! the fill of the tables for the configured time zone, the reads of a
//! period's rows, and the few tickets a report still reads one by one.
//! The arithmetic (support time, targets) is `reports::fast`'s.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// State key: the support calendar (`[hours]`, debug form) the tables were
/// filled for. Another calendar (a new time zone, hours or holidays) fills
/// them again; a report reads the tickets one by one until then.
pub const CALENDAR_KEY: &str = "report_months.calendar";

/// The local month of a stored time `x` (an SQL expression), from `report_bounds`.
fn month_of(x: &str) -> String {
    format!("coalesce((SELECT b.month FROM report_bounds b WHERE b.start <= {x} ORDER BY b.start DESC LIMIT 1), '')")
}

/// The calendar the tables were filled for, if any.
pub fn filled_for(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM state WHERE key = ?1")?
        .query_row([CALENDAR_KEY], |r| r.get(0))
        .optional()?)
}

/// Fill everything anew, in the caller's transaction: `bounds` (the UTC
/// start of each local month, stored form, with its `YYYY-MM`), then the
/// three tables from the tickets and their histories (the support seconds of
/// the answers must be set already), and record `calendar`.
pub fn rebuild(conn: &Connection, bounds: &[(String, String)], calendar: &str) -> Result<()> {
    conn.execute("DELETE FROM report_bounds", [])?;
    {
        let mut st = conn.prepare("INSERT INTO report_bounds (start, month) VALUES (?1, ?2)")?;
        for (start, month) in bounds {
            st.execute(params![start, month])?;
        }
    }
    let (created, answered, at) = (month_of("created_at"), month_of("first_response_at"), month_of("h.at"));
    let next = month_of("h.nx");
    let (t_created, t_answered) = (month_of("t.created_at"), month_of("t.first_response_at"));
    conn.execute_batch(&format!(
        "DELETE FROM report_opened; DELETE FROM report_first; DELETE FROM report_spans;
         INSERT INTO report_opened (customer, month, category, level, priority, billable, unanswered_open, n)
           SELECT customer, {created}, category, level, priority, billable,
                  first_response_at IS NULL AND status NOT IN ('resolved', 'closed'), count(*)
           FROM tickets WHERE customer IS NOT NULL AND merged_into IS NULL GROUP BY 1, 2, 3, 4, 5, 6, 7;
         INSERT INTO report_first (customer, month, answered_month, category, priority, minutes, whole, n)
           SELECT customer, {created}, {answered}, category, priority, first_response_secs / 60,
                  first_response_secs % 60 = 0, count(*)
           FROM tickets WHERE customer IS NOT NULL AND merged_into IS NULL AND first_response_at IS NOT NULL
             AND first_response_secs IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7;
         INSERT INTO report_spans (customer, until_month, month, status, opened_month, answered_month, n)
           SELECT t.customer, CASE WHEN h.nx IS NULL THEN '~' ELSE {next} END, {at}, h.status, {t_created},
                  CASE WHEN t.first_response_at IS NULL THEN '~' ELSE {t_answered} END, count(*)
           FROM (SELECT ticket_id, status, at, lead(at) OVER (PARTITION BY ticket_id ORDER BY at, id) AS nx
                 FROM status_history) h
           JOIN tickets t ON t.id = h.ticket_id
           WHERE t.customer IS NOT NULL AND t.merged_into IS NULL GROUP BY 1, 2, 3, 4, 5, 6;"
    ))?;
    conn.execute(
        "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![CALENDAR_KEY, calendar],
    )?;
    Ok(())
}

/// Answered tickets whose first response has no support seconds yet (all
/// customers; `all`: every answered ticket, for a fill with a new calendar).
pub fn unmeasured(conn: &Connection, all: bool) -> Result<Vec<i64>> {
    let sql = if all {
        "SELECT id FROM tickets WHERE first_response_at IS NOT NULL"
    } else {
        "SELECT id FROM tickets INDEXED BY tickets_unmeasured WHERE first_response_at IS NOT NULL AND first_response_secs IS NULL"
    };
    let mut st = conn.prepare(sql)?;
    let ids = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// A ticket's creation, its first response, and its status history (status, at) in time order.
pub type FirstResponseInputs = (String, String, Vec<(String, String)>);

/// What the support seconds of a first response are computed from (None: no such ticket, or not answered).
pub fn first_response_inputs(conn: &Connection, id: i64) -> Result<Option<FirstResponseInputs>> {
    let Some((created, first)): Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT created_at, first_response_at FROM tickets WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let Some(first) = first else { return Ok(None) };
    let mut st = conn.prepare_cached("SELECT status, at FROM status_history WHERE ticket_id = ?1 ORDER BY at, id")?;
    let history = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(Some((created, first, history)))
}

/// Store a ticket's first response in support seconds (the triggers count it).
pub fn set_first_response_secs(conn: &Connection, id: i64, secs: Option<i64>) -> Result<()> {
    conn.prepare_cached("UPDATE tickets SET first_response_secs = ?1 WHERE id = ?2")?.execute(params![secs, id])?;
    Ok(())
}

/// One row of `report_opened`.
#[derive(Debug, Clone)]
pub struct OpenedRow {
    pub month: String,
    pub category: String,
    pub level: i64,
    pub priority: String,
    pub billable: bool,
    pub unanswered_open: bool,
    pub n: i64,
}

/// One row of `report_first`.
#[derive(Debug, Clone)]
pub struct FirstRow {
    pub category: String,
    pub priority: String,
    pub minutes: i64,
    pub whole: bool,
    pub n: i64,
}

/// One row of `report_spans`: `n` history rows of `status` in `month` that
/// were still the ticket's last row at the end of the period's last month.
#[derive(Debug, Clone)]
pub struct SpanRow {
    pub month: String,
    pub status: String,
    /// The month its ticket was opened, and answered ('~': not yet).
    pub opened_month: String,
    pub answered_month: String,
    pub n: i64,
}

/// The rows of `customer` for the months `first..=last` (`YYYY-MM`): the
/// tickets opened in them, their first responses given before the end of
/// `last`, and the history rows (of any month up to `last`) that were their
/// ticket's last at the end of `last`.
pub fn period_rows(
    conn: &Connection,
    customer: &str,
    first: &str,
    last: &str,
) -> Result<(Vec<OpenedRow>, Vec<FirstRow>, Vec<SpanRow>)> {
    let mut st = conn.prepare_cached(
        "SELECT month, category, level, priority, billable, unanswered_open, n FROM report_opened \
         WHERE customer = ?1 AND month >= ?2 AND month <= ?3 AND n <> 0",
    )?;
    let opened = st
        .query_map(params![customer, first, last], |r| {
            Ok(OpenedRow {
                month: r.get(0)?,
                category: r.get(1)?,
                level: r.get(2)?,
                priority: r.get(3)?,
                billable: r.get::<_, i64>(4)? != 0,
                unanswered_open: r.get::<_, i64>(5)? != 0,
                n: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare_cached(
        "SELECT category, priority, minutes, whole, n FROM report_first \
         WHERE customer = ?1 AND month >= ?2 AND month <= ?3 AND answered_month <= ?3 AND n <> 0",
    )?;
    let first_rows = st
        .query_map(params![customer, first, last], |r| {
            Ok(FirstRow {
                category: r.get(0)?,
                priority: r.get(1)?,
                minutes: r.get(2)?,
                whole: r.get::<_, i64>(3)? != 0,
                n: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare_cached(
        "SELECT month, status, opened_month, answered_month, sum(n) FROM report_spans \
         WHERE customer = ?1 AND until_month > ?2 AND month <= ?2 GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0",
    )?;
    let spans = st
        .query_map(params![customer, last], |r| {
            Ok(SpanRow {
                month: r.get(0)?,
                status: r.get(1)?,
                opened_month: r.get(2)?,
                answered_month: r.get(3)?,
                n: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((opened, first_rows, spans))
}

fn ids(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached(sql)?;
    let out = st.query_map(p, |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

/// Calls `f(created_at, category, priority)` for each ticket of `customer`
/// opened in `[from, end)` that is open now, has no answer and never waited
/// on the customer (the current period's unanswered ones opened from `from`
/// on; from the index alone).
pub fn unanswered_open_since(
    conn: &Connection,
    customer: &str,
    from: &str,
    end: &str,
    mut f: impl FnMut(&str, &str, &str),
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT created_at, category, priority FROM tickets INDEXED BY tickets_report_unanswered \
         WHERE customer = ?1 AND merged_into IS NULL AND first_response_at IS NULL AND created_at >= ?2 \
         AND created_at < ?3 AND status NOT IN ('resolved', 'closed') AND waited = 0",
    )?;
    let mut rows = st.query(params![customer, from, end])?;
    while let Some(r) = rows.next()? {
        f(r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, r.get_ref(2)?.as_str()?);
    }
    Ok(())
}

/// Tickets of `customer` opened in `[start, end)` that waited on the
/// customer before their first answer (their unanswered time has pauses).
pub fn waited(conn: &Connection, customer: &str, start: &str, end: &str) -> Result<Vec<i64>> {
    ids(
        conn,
        "SELECT id FROM tickets INDEXED BY tickets_waited WHERE customer = ?1 AND waited = 1 AND merged_into IS NULL \
         AND created_at >= ?2 AND created_at < ?3",
        params![customer, start, end],
    )
}

/// Tickets of `customer` opened in `[start, end)`, answered before `end`,
/// whose support seconds are not stored yet.
pub fn unmeasured_in(conn: &Connection, customer: &str, start: &str, end: &str) -> Result<Vec<i64>> {
    ids(
        conn,
        "SELECT id FROM tickets INDEXED BY tickets_unmeasured WHERE customer = ?1 AND first_response_at IS NOT NULL \
         AND first_response_secs IS NULL AND created_at >= ?2 AND created_at < ?3 AND first_response_at < ?3 \
         AND merged_into IS NULL",
        params![customer, start, end],
    )
}

/// The first `limit` tickets (by id) of `customer` open now.
pub fn open_now(conn: &Connection, customer: &str, limit: usize) -> Result<Vec<i64>> {
    ids(
        conn,
        "SELECT id FROM tickets INDEXED BY tickets_customer_live WHERE customer = ?1 AND merged_into IS NULL \
         AND status IN ('new', 'open', 'in_progress', 'waiting', 'forwarded') ORDER BY id LIMIT ?2",
        params![customer, limit as i64],
    )
}

/// Tickets of `customer` that may have been open at `end` (a past period):
/// opened before it and not closed for good before it, by id.
pub fn open_candidates_at(conn: &Connection, customer: &str, end: &str) -> Result<Vec<i64>> {
    ids(
        conn,
        "SELECT id FROM tickets INDEXED BY tickets_customer_id WHERE customer = ?1 AND merged_into IS NULL \
         AND (closed_at IS NULL OR closed_at >= ?2) AND created_at < ?2 ORDER BY id",
        params![customer, end],
    )
}

/// Calls `f` with the tickets of `customer` a report of `[start, end)` may
/// show (opened in it, or not closed for good before it), in id order, a
/// few at a time, until `f` says it has enough.
pub fn shown_in_order(
    conn: &Connection,
    customer: &str,
    start: &str,
    end: &str,
    mut f: impl FnMut(&[i64]) -> Result<bool>,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM tickets INDEXED BY tickets_customer_id WHERE customer = ?1 AND merged_into IS NULL \
         AND created_at < ?3 AND (created_at >= ?2 OR closed_at IS NULL OR closed_at >= ?2) ORDER BY id",
    )?;
    let mut rows = st.query(params![customer, start, end])?;
    let mut batch = Vec::with_capacity(128);
    while let Some(r) = rows.next()? {
        batch.push(r.get(0)?);
        if batch.len() == 128 {
            if f(&batch)? {
                return Ok(());
            }
            batch.clear();
        }
    }
    if !batch.is_empty() {
        f(&batch)?;
    }
    Ok(())
}

/// Escalations of `customer`'s tickets inside `[start, end)`: (ticket, at, detail), by ticket and time.
pub fn escalations(conn: &Connection, customer: &str, start: &str, end: &str) -> Result<Vec<(i64, String, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT e.ticket_id, e.at, e.detail FROM events e INDEXED BY events_escalation CROSS JOIN tickets t ON t.id = e.ticket_id \
         WHERE e.kind = 'escalation' AND e.at >= ?2 AND e.at < ?3 AND t.customer = ?1 AND t.merged_into IS NULL \
         ORDER BY e.ticket_id, e.at, e.id",
    )?;
    let out = st
        .query_map(params![customer, start, end], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

/// Whether `customer` has a ticket opened at or after `at` (a report as of
/// `at` cannot take the kept figures then: they count it).
pub fn opened_since(conn: &Connection, customer: &str, at: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM tickets INDEXED BY tickets_customer_id WHERE customer = ?1 AND merged_into IS NULL \
             AND created_at >= ?2)",
        )?
        .query_row(params![customer, at], |r| r.get(0))?)
}

/// Calls `f(id, created_at, category, priority)` for each ticket of
/// `customer` opened in `[from, end)`, without an answer before `end`, not
/// closed for good before it, that never waited on the customer before its
/// answer (a past period's unanswered ones opened from `from` on).
pub fn unanswered_at_since(
    conn: &Connection,
    customer: &str,
    from: &str,
    end: &str,
    mut f: impl FnMut(i64, &str, &str, &str) -> Result<()>,
) -> Result<()> {
    for sql in [
        "SELECT id, created_at, category, priority FROM tickets INDEXED BY tickets_report_unanswered \
         WHERE customer = ?1 AND merged_into IS NULL AND first_response_at IS NULL AND created_at >= ?2 \
         AND created_at < ?3 AND (closed_at IS NULL OR closed_at >= ?3) AND waited = 0",
        "SELECT id, created_at, category, priority FROM tickets INDEXED BY tickets_customer_id \
         WHERE customer = ?1 AND merged_into IS NULL AND first_response_at >= ?3 AND created_at >= ?2 \
         AND created_at < ?3 AND (closed_at IS NULL OR closed_at >= ?3) AND waited = 0",
    ] {
        let mut st = conn.prepare_cached(sql)?;
        let mut rows = st.query(params![customer, from, end])?;
        while let Some(r) = rows.next()? {
            f(r.get(0)?, r.get_ref(1)?.as_str()?, r.get_ref(2)?.as_str()?, r.get_ref(3)?.as_str()?)?;
        }
    }
    Ok(())
}

/// The status of ticket `id` at `at` (its last history row before it).
pub fn status_at(conn: &Connection, id: i64, at: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT status FROM status_history INDEXED BY status_history_status WHERE ticket_id = ?1 AND at < ?2 \
             ORDER BY at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![id, at], |r| r.get(0))
        .optional()?)
}
