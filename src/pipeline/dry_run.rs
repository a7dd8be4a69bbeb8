//! `supportd ingest --dry-run`: the plan for each mail — its disposition,
//! the trail of decisions, the ticket as it would be afterwards, the events
//! and the mails that would be queued (with their text) — worked out by the
//! same pipeline inside one transaction that is rolled back, so nothing is
//! kept and no mailbox is acknowledged. The JSON is documented in
//! `docs/contracts.md` ("ingest --dry-run").

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Value, json};

use super::Pipeline;
use crate::config::Config;
use crate::domain::Outcome;
use crate::store::{self, Store};

/// The plans for `mails` (source label and raw bytes, read one at a time),
/// in order, as if they were ingested at `now` into `store`, each handed to
/// `out`; nothing of it is committed. Later mails see what earlier ones
/// would have done, as in a real batch.
pub fn dry_run(
    cfg: Config,
    store: &mut Store,
    mails: impl IntoIterator<Item = Result<(String, Vec<u8>)>>,
    now: DateTime<Utc>,
    mut out: impl FnMut(Value) -> Result<()>,
) -> Result<()> {
    let tx = store.conn_mut().transaction()?;
    // Built inside the transaction: a store without a Message-ID secret
    // would get one, and that is rolled back too.
    let p = Pipeline::new(cfg, &tx)?;
    for mail in mails {
        let (source, raw) = mail?;
        let o = p.process(&tx, &raw, &source, now)?;
        out(plan(&p, &tx, &source, &o).with_context(|| format!("reading the plan of {source}"))?)?;
    }
    tx.rollback().context("rolling the dry run back")?;
    Ok(())
}

/// What processing one mail did, read back from the (uncommitted) rows.
fn plan(p: &Pipeline, conn: &Connection, source: &str, o: &Outcome) -> Result<Value> {
    let arrived_at: Option<String> =
        conn.query_row("SELECT arrived_at FROM messages WHERE id = ?1", [o.row], |r| r.get(0))?;
    let trail: Vec<String> =
        store::dict::trail_of(conn, o.row)?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let ticket = match o.ticket {
        Some(t) => store::get_ticket(conn, t)?.map(|t| {
            json!({
                "tag": p.tag(t.id),
                "subject": t.subject,
                "category": t.category,
                "level": t.level,
                "priority": t.priority,
                "status": t.status,
                "customer": t.customer,
                "requester": t.requester,
                "billable": t.billable,
                "created_at": t.created_at,
                "first_response_due": t.first_response_due,
                "resolution_due": t.resolution_due,
                "merged_into": t.merged_into.map(|m| p.tag(m)),
            })
        }),
        None => None,
    };
    let mut q =
        conn.prepare("SELECT ticket_id, at, actor, kind, detail FROM events WHERE message_row = ?1 ORDER BY id")?;
    let rows = q
        .query_map([o.row], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut events = Vec::with_capacity(rows.len());
    for (t, at, actor, kind, detail) in rows {
        let detail = store::events::expand(conn, &kind, Some(o.row), detail)?;
        events.push(json!({ "ticket": t.map(|t| p.tag(t)), "at": at, "actor": actor, "kind": kind, "detail": detail }));
    }
    let mut q = conn.prepare(
        "SELECT kind, ticket_id, recipients, subject, in_reply_to, id FROM outbox WHERE cause_row = ?1 ORDER BY id",
    )?;
    let mails = q
        .query_map([o.row], |r| {
            let t: Option<i64> = r.get(1)?;
            let to: Vec<String> = serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default();
            let id: i64 = r.get(5)?;
            Ok((r.get::<_, String>(0)?, t, to, r.get::<_, String>(3)?, r.get::<_, Option<String>>(4)?, id))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(kind, t, to, subject, in_reply_to, id)| {
            // Stored compressed (and its files referred to): read through the store.
            let raw = store::outbox_raw(conn, id)?
                .with_context(|| format!("outgoing mail #{id} of the plan is gone from the store"))?;
            let m = crate::parse::parse(&raw, &p.cfg.limits).ok();
            Ok(json!({
                "kind": kind,
                "ticket": t.map(|t| p.tag(t)),
                "to": to,
                "subject": subject,
                "in_reply_to": in_reply_to,
                "auto_submitted": header(&raw, "Auto-Submitted"),
                "attachments": m.as_ref().map(|m| m.attachments.iter().map(|a| a.filename.clone()).collect::<Vec<_>>()).unwrap_or_default(),
                "text": m.map(|m| m.body_text).unwrap_or_default(),
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let message_id: Option<String> =
        conn.query_row("SELECT message_id FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).optional()?.flatten();
    Ok(json!({
        "source": source,
        "message_id": message_id,
        "disposition": o.disposition.as_str(),
        "ticket": o.ticket.map(|t| p.tag(t)),
        "reason": o.reason,
        "arrived_at": arrived_at,
        "trail": trail,
        "ticket_after": ticket,
        "events": events,
        "mails": mails,
    }))
}

/// The value of a header in the head of a raw mail (first occurrence, unfolded).
fn header(raw: &[u8], name: &str) -> Option<String> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.split("\r\n").peekable();
    while let Some(l) = lines.next() {
        if let Some((n, v)) = l.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            let mut v = v.trim().to_string();
            while let Some(next) = lines.peek().filter(|n| n.starts_with([' ', '\t'])) {
                v.push(' ');
                v.push_str(next.trim());
                lines.next();
            }
            return Some(v);
        }
    }
    None
}
