//! `tickets list`, `messages list`, `outbox list`: filtered and paginated in
//! SQL (keyset: `--after` the last row shown, `--limit` rows), each filter
//! backed by an index (migration 0015), so a page costs the same in a store
//! of ten or of a million mails.

use anyhow::Result;
use rusqlite::{Connection, ToSql};

pub use crate::domain::OverviewTickets;

use super::{
    MESSAGE_COLS, MessageEntry, OUTBOX_COLS, OutboxEntry, TICKET_COLS, Ticket, message_from_row, outbox_from_row,
    ticket_from_row,
};

/// What an operator's listing asks for; `None` is no filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// tickets: status; messages: disposition; outbox: state (`queued`, `held`, `sent`, `failed`).
    pub status: Option<String>,
    /// Rows created at or after this time (RFC 3339, UTC).
    pub since: Option<String>,
    /// tickets: the customer's name (any case) or the requester's address;
    /// messages and outbox: of this customer's tickets.
    pub customer: Option<String>,
    /// Rows of this ticket (its number).
    pub ticket: Option<i64>,
    /// outbox: mails to this address (any case); messages: mails from it.
    pub recipient: Option<String>,
    /// Rows after this id (keyset pagination: the last id of the page before).
    pub after: Option<i64>,
    /// At most this many rows.
    pub limit: Option<usize>,
}

struct Sql {
    wheres: Vec<String>,
    params: Vec<Box<dyn ToSql>>,
}

impl Sql {
    fn new() -> Sql {
        Sql { wheres: Vec::new(), params: Vec::new() }
    }
    fn add(&mut self, clause: &str, p: impl ToSql + 'static) {
        self.params.push(Box::new(p));
        self.wheres.push(clause.replace('?', &format!("?{}", self.params.len())));
    }
    fn query(&self, select: &str, order: &str, limit: Option<usize>) -> String {
        let w = if self.wheres.is_empty() { String::new() } else { format!(" WHERE {}", self.wheres.join(" AND ")) };
        let l = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        format!("{select}{w} ORDER BY {order}{l}")
    }
    fn params(&self) -> Vec<&dyn ToSql> {
        self.params.iter().map(|b| b.as_ref()).collect()
    }
}

/// Date (`2026-11-01`) or RFC 3339 time -> the stored form, for `--since`.
pub fn parse_since(s: &str) -> Option<String> {
    if let Some(t) = super::parse_ts(s) {
        return Some(super::ts(t));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(super::ts(d.and_hms_opt(0, 0, 0)?.and_utc()))
}

pub fn tickets(conn: &Connection, f: &Filter) -> Result<Vec<Ticket>> {
    let mut q = Sql::new();
    if let Some(s) = &f.status {
        q.add("status = ?", s.clone());
    }
    if let Some(c) = &f.customer {
        if c.contains('@') {
            q.add("requester = ?", c.to_ascii_lowercase());
        } else {
            q.add("customer = ? COLLATE NOCASE", c.clone());
        }
    }
    if let Some(s) = &f.since {
        q.add("created_at >= ?", s.clone());
    }
    if let Some(t) = f.ticket {
        q.add("id = ?", t);
    }
    if let Some(a) = f.after {
        q.add("id > ?", a);
    }
    let sql = q.query(&format!("SELECT {TICKET_COLS} FROM tickets"), "id", f.limit);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(q.params().as_slice(), ticket_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn messages(conn: &Connection, f: &Filter) -> Result<Vec<MessageEntry>> {
    let mut q = Sql::new();
    if let Some(s) = &f.status {
        q.add("disposition = ?", s.clone());
    }
    if let Some(t) = f.ticket {
        q.add("ticket_id = ?", t);
    }
    if let Some(c) = &f.customer {
        q.add("ticket_id IN (SELECT id FROM tickets WHERE customer = ? COLLATE NOCASE)", c.clone());
    }
    if let Some(r) = &f.recipient {
        q.add("from_addr = ? COLLATE NOCASE", r.clone());
    }
    if let Some(s) = &f.since {
        q.add("received_at >= ?", s.clone());
    }
    if let Some(a) = f.after {
        q.add("id > ?", a);
    }
    let sql = q.query(&format!("SELECT {MESSAGE_COLS} FROM messages"), "id", f.limit);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(q.params().as_slice(), message_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn outbox(conn: &Connection, f: &Filter) -> Result<Vec<OutboxEntry>> {
    let mut q = Sql::new();
    if let Some(s) = &f.status {
        let clause = match s.as_str() {
            "queued" => "state = 'queued' AND held IS NULL",
            "held" => "state = 'queued' AND held IS NOT NULL",
            "sent" => "state = 'sent'",
            "failed" => "state = 'failed'",
            other => anyhow::bail!("outbox state {other:?}: must be one of {}", super::OUTBOX_STATES.join(", ")),
        };
        q.wheres.push(clause.into());
    }
    if let Some(t) = f.ticket {
        q.add("ticket_id = ?", t);
    }
    if let Some(c) = &f.customer {
        q.add("ticket_id IN (SELECT id FROM tickets WHERE customer = ? COLLATE NOCASE)", c.clone());
    }
    if let Some(r) = &f.recipient {
        q.add("id IN (SELECT outbox_id FROM outbox_rcpt WHERE address = ?)", r.to_ascii_lowercase());
    }
    if let Some(s) = &f.since {
        q.add("created_at >= ?", s.clone());
    }
    if let Some(a) = f.after {
        q.add("id > ?", a);
    }
    let sql = q.query(&format!("SELECT {OUTBOX_COLS} FROM outbox"), "id", f.limit);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(q.params().as_slice(), outbox_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The tickets of a ticket overview, not merged away: of `customer` (its
/// name as configured), or without one only `requester`'s own; the oldest
/// `open_max` open ones and the newest `closed_max` closed ones, with the
/// counts of each. A customer's by the partial index of migration 0018 (ids
/// only, then the rows listed: a customer with 46,785 tickets read them
/// all), a person's by `tickets_requester` (a sender without a customer
/// read every ticket of the store).
pub fn overview(
    conn: &Connection,
    customer: Option<&str>,
    requester: &str,
    open_max: usize,
    closed_max: usize,
) -> Result<OverviewTickets> {
    let open: Vec<String> =
        crate::domain::Status::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.as_str())).collect();
    let open = open.join(", ");
    let (who, value) = match customer {
        Some(c) => ("customer", c.to_string()),
        None => ("requester", requester.to_ascii_lowercase()),
    };
    let scope = format!("{who} = ?1 AND merged_into IS NULL");
    let count = |cond: &str| -> Result<usize> {
        let n: i64 =
            conn.query_row(&format!("SELECT count(*) FROM tickets WHERE {scope} AND {cond}"), [&value], |r| r.get(0))?;
        Ok(n as usize)
    };
    let rows = |cond: &str, order: &str, limit: usize| -> Result<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLS} FROM tickets WHERE id IN \
             (SELECT id FROM tickets WHERE {scope} AND {cond} ORDER BY id {order} LIMIT ?2) ORDER BY id"
        );
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params![value, limit as i64], ticket_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let (is_open, is_closed) = (format!("status IN ({open})"), format!("status NOT IN ({open})"));
    Ok(OverviewTickets {
        open: rows(&is_open, "ASC", open_max)?,
        closed: rows(&is_closed, "DESC", closed_max)?,
        open_total: count(&is_open)?,
        closed_total: count(&is_closed)?,
    })
}
