//! Announced changes to a customer's instance (`#change`): their rows and
//! the ones whose reminder is due.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::ts;

/// An announced change to a customer's instance.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub id: i64,
    pub ticket_id: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub description: String,
    pub state: String,
    pub announced_by: String,
    pub reminded_at: Option<String>,
}

fn change_from_row(r: &rusqlite::Row) -> rusqlite::Result<Change> {
    Ok(Change {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        starts_at: r.get(2)?,
        ends_at: r.get(3)?,
        description: r.get(4)?,
        state: r.get(5)?,
        announced_by: r.get(6)?,
        reminded_at: r.get(7)?,
    })
}

const CHANGE_COLS: &str = "id, ticket_id, starts_at, ends_at, description, state, announced_by, reminded_at";

pub fn insert_change(
    conn: &Connection,
    ticket: i64,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    description: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO changes (ticket_id, starts_at, ends_at, description, state, announced_by, created_at) \
         VALUES (?1, ?2, ?3, ?4, 'announced', ?5, ?6)",
    )?
    .execute(params![ticket, ts(starts), ts(ends), description, by, ts(now)])?;
    Ok(conn.last_insert_rowid())
}

pub fn changes(conn: &Connection, ticket: i64) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare(&format!("SELECT {CHANGE_COLS} FROM changes WHERE ticket_id = ?1 ORDER BY id"))?;
    let rows = stmt.query_map([ticket], change_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Announced changes that start before `until` and have had no reminder yet.
pub fn changes_needing_reminder(conn: &Connection, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {CHANGE_COLS} FROM changes WHERE state = 'announced' AND reminded_at IS NULL AND starts_at <= ?1 AND starts_at > ?2 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![ts(until), ts(now)], change_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_change_state(conn: &Connection, id: i64, state: &str, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE changes SET state = ?1, finished_at = ?2 WHERE id = ?3")?.execute(params![
        state,
        ts(now),
        id
    ])?;
    Ok(())
}

pub fn mark_change_reminded(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE changes SET reminded_at = ?1 WHERE id = ?2")?.execute(params![ts(now), id])?;
    Ok(())
}
