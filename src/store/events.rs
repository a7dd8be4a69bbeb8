//! The events of tickets (`events`): what happened, when, by whom.
//!
//! A new ticket's `created` event says its category, confidence, level and
//! priority, then why: the classification's reasons (the rules and words
//! that decided, about 500 bytes). The same reasons are in the `classify`
//! line of the creating mail's trail, which is kept compressed
//! (`message_trails`). So since 2026-12 a `created` event keeps them once:
//! its stored detail ends in [`REASONS_IN_TRAIL`] instead, and every reader
//! here puts them back from the trail ([`expand`]), so what `tickets show`
//! and `ingest --dry-run` print is the same as before (84 MB less in a store
//! of 200,000 mails). Rows from before keep their full text.
//!
//! When the trail is gone (`forget` erased the mail), the marker stays: the
//! reasons quoted the person's words.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::ts;

/// Stands for a `created` event's reasons, which are in the trail of the
/// event's mail.
pub const REASONS_IN_TRAIL: &str = "[reasons: see the mail's trail]";

/// The start of a trail's classification line; the reasons follow its first `"): "`.
const CLASSIFY: &str = "classify: ";

/// The trail line that records a classification (written by the pipeline
/// for a new ticket; the `created` event's reasons are read back from it).
pub fn classify_line(category: &str, confidence: f64, low_confidence: bool, reasons: &str) -> String {
    format!("{CLASSIFY}{category} (confidence {confidence:.2}{}): {reasons}", if low_confidence { ", LOW" } else { "" })
}

/// The stored detail of a `created` event: `head` (category, confidence,
/// level, priority) and the marker for the reasons.
pub fn created_detail(head: &str) -> String {
    format!("{head}: {REASONS_IN_TRAIL}")
}

pub fn insert_event(
    conn: &Connection,
    ticket: Option<i64>,
    message_row: Option<i64>,
    now: DateTime<Utc>,
    actor: &str,
    kind: &str,
    detail: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (ticket_id, message_row, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![ticket, message_row, ts(now), actor, kind, detail])?;
    Ok(())
}

/// An event's detail as it was meant: a `created` event's reasons put back
/// from the trail of its mail (`message_row`). Any other detail, or one
/// whose trail is gone, is returned as stored.
pub fn expand(conn: &Connection, kind: &str, message_row: Option<i64>, detail: String) -> Result<String> {
    let (Some(head), Some(row)) = (detail.strip_suffix(REASONS_IN_TRAIL), message_row) else {
        return Ok(detail);
    };
    if kind != "created" {
        return Ok(detail);
    }
    let Some(trail) = super::dict::trail_of(conn, row)? else {
        return Ok(detail);
    };
    let lines: Vec<String> = serde_json::from_str(&trail).unwrap_or_default();
    let reasons = lines.iter().find_map(|l| l.strip_prefix(CLASSIFY)?.split_once("): ").map(|(_, r)| r));
    Ok(match reasons {
        Some(r) => format!("{head}{r}"),
        None => detail,
    })
}

/// An event row.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

/// A ticket's events, oldest first.
pub fn events(conn: &Connection, ticket: i64) -> Result<Vec<Event>> {
    let mut stmt =
        conn.prepare("SELECT at, actor, kind, detail, message_row FROM events WHERE ticket_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([ticket], |r| {
        Ok((Event { at: r.get(0)?, actor: r.get(1)?, kind: r.get(2)?, detail: r.get(3)? }, r.get(4)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut e, message_row): (Event, Option<i64>) = row?;
        e.detail = expand(conn, &e.kind, message_row, e.detail)?;
        out.push(e);
    }
    Ok(out)
}

/// Events of one kind on a ticket: (at, detail), oldest first.
pub fn ticket_events(conn: &Connection, ticket: i64, kind: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, detail, message_row FROM events WHERE ticket_id = ?1 AND kind = ?2 ORDER BY at, id",
    )?;
    let rows = stmt.query_map(params![ticket, kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (at, detail, message_row): (String, String, Option<i64>) = row?;
        out.push((at, expand(conn, kind, message_row, detail)?));
    }
    Ok(out)
}
