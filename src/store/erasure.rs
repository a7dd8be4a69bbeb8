//! Erasure (GDPR Art. 17): `supportd forget ADDRESS|DOMAIN` removes a
//! person's or a customer's mails and anonymises their name and address
//! everywhere in the store, keeping the counts the reports need (the ticket
//! rows with category, level, status, customer and times stay), and writes a
//! receipt (`erasures`: what was asked as a SHA-256, by whom, when, what
//! was removed).
//!
//! What goes: the raw bytes, subject, new text, headers and trail of every
//! mail from them and of every mail on a ticket they opened; the outgoing
//! mails of those tickets and to them (queued ones are not sent); their
//! tickets' requester, name and subject; their participant rows; attachment
//! names and bodies; and, in every other row, each mention of the address
//! (or domain) and of their display names (events, notes, other mails:
//! such a mail's raw bytes go too; the packed trails are read and packed
//! again), and every trained zstd dictionary that
//! learned from one of those mails or holds their address or name
//! (`store::dict`). The write runs with `secure_delete`, and
//! the WAL is folded into the file and free pages are handed back after it,
//! so nothing of them stays in the file's free pages either.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{compact, ts};

/// Who is to be forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One person: `m.keller@stadtwerke-musterstadt.de`.
    Address(String),
    /// A whole customer: `stadtwerke-musterstadt.de`.
    Domain(String),
}

impl Subject {
    pub fn parse(s: &str) -> Option<Subject> {
        let s = s.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase();
        if s.is_empty() || s.contains(char::is_whitespace) {
            return None;
        }
        match s.split_once('@') {
            Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@') => Some(Subject::Address(s)),
            Some(("", d)) if d.contains('.') && !d.contains('@') => Some(Subject::Domain(d.to_string())),
            None if s.contains('.') && !s.starts_with('.') && !s.ends_with('.') => Some(Subject::Domain(s)),
            _ => None,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Subject::Address(_) => "address",
            Subject::Domain(_) => "domain",
        }
    }
    fn term(&self) -> &str {
        match self {
            Subject::Address(a) | Subject::Domain(a) => a,
        }
    }
    /// Whether a (lowercase) address is theirs.
    fn owns(&self, addr: &str) -> bool {
        let addr = addr.trim().to_ascii_lowercase();
        match self {
            Subject::Address(a) => addr == *a,
            Subject::Domain(d) => addr.rsplit_once('@').is_some_and(|(_, ad)| ad == d),
        }
    }
    /// SQL matching an address column `c` (parameter ?1: the term).
    fn sql(&self, c: &str) -> String {
        match self {
            // Stored lowercase mostly; NOCASE so the index on messages.from_addr serves.
            Subject::Address(_) => format!("{c} = ?1 COLLATE NOCASE"),
            Subject::Domain(_) => format!("lower({c}) LIKE '%@' || ?1"),
        }
    }
}

/// The columns that name a row of `table`: `rowid`, or the primary key's
/// columns of a WITHOUT ROWID table.
fn row_key(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let without_rowid: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM pragma_table_list(?1) WHERE wr = 1)", [table], |r| r.get(0))?;
    if !without_rowid {
        return Ok(vec!["rowid".to_string()]);
    }
    let cols = conn
        .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(cols)
}

/// What stands in for an erased address, name or text.
pub const ERASED: &str = "[erased]";
/// What stands in for an erased address where an address must be.
pub const ERASED_ADDR: &str = "erased@erased.invalid";

/// What `forget` removed (or, dry, would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Their tickets (anonymised; counts, category, level, status, times kept).
    pub tickets: i64,
    /// Incoming mails from them or on their tickets (erased).
    pub messages: i64,
    /// Outgoing mails to them or on their tickets (erased; queued ones not sent).
    pub outgoing: i64,
    /// Participant rows removed.
    pub participants: i64,
    /// Attachments erased (rows), and bodies deleted.
    pub attachments: i64,
    pub blobs: i64,
    /// Other rows where a mention of them was replaced (events, notes, fields).
    pub mentions: i64,
    /// Other mails whose raw bytes mentioned them (raw bytes removed).
    pub other_mails: i64,
    /// Display names found and erased with the address (how many).
    pub names: i64,
    /// Trained zstd dictionaries dropped (trained on a mail erased here or
    /// holding their address or name; the rows made with them recompressed).
    pub dictionaries: i64,
    /// Whether the whole file was rewritten afterwards (VACUUM), so no
    /// byte of them is left in unused parts of pages either; false: the
    /// file system had no room for the copy (run `supportd forget` again
    /// with room, or VACUUM the store by hand).
    pub vacuumed: bool,
}

/// A receipt of an erasure.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: i64,
    pub kind: String,
    pub subject_sha256: String,
    pub requested_by: String,
    pub at: String,
    pub summary: serde_json::Value,
}

/// Replace every case-insensitive occurrence of each term in `s`.
fn scrub(s: &str, terms: &[String]) -> Option<String> {
    let mut out = s.to_string();
    let mut changed = false;
    for t in terms {
        loop {
            let lower = out.to_lowercase();
            // Only where lowercasing keeps byte offsets (ASCII and most Latin letters).
            if lower.len() != out.len() {
                if out.contains(t.as_str()) {
                    out = out.replace(t.as_str(), ERASED);
                    changed = true;
                }
                break;
            }
            let Some(at) = lower.find(t.as_str()) else { break };
            out.replace_range(at..at + t.len(), ERASED);
            changed = true;
        }
    }
    changed.then_some(out)
}

fn contains_any(hay: &[u8], terms: &aho_corasick::AhoCorasick) -> bool {
    terms.is_match(hay)
}

/// Every text column that can hold an address, a name or their words.
const TEXT_COLUMNS: &[(&str, &str)] = &[
    ("tickets", "subject"),
    ("tickets", "requester"),
    ("tickets", "requester_name"),
    ("tickets", "assignee"),
    ("messages", "message_id"),
    ("messages", "from_addr"),
    ("messages", "subject"),
    ("messages", "in_reply_to"),
    ("messages", "refs"),
    ("messages", "new_text"),
    ("messages", "reason"),
    ("messages", "trail"),
    ("messages", "source"),
    ("message_refs", "ref_id"),
    ("events", "actor"),
    ("events", "detail"),
    ("outbox", "recipients"),
    ("outbox", "subject"),
    ("outbox", "in_reply_to"),
    ("outbox", "last_error"),
    ("outbox", "held"),
    ("outbox_rcpt", "address"),
    ("participants", "address"),
    ("attachments", "filename"),
    ("changes", "description"),
    ("changes", "announced_by"),
    ("inflight_suspects", "key"),
    ("inflight_suspects", "reason"),
    ("state", "value"),
];

/// Erase `who` in one transaction (dry: counted, then rolled back).
pub fn forget(conn: &mut Connection, who: &Subject, by: &str, now: DateTime<Utc>, dry: bool) -> Result<Summary> {
    conn.pragma_update(None, "secure_delete", "ON")?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut s = erase(&tx, who, by, now).context("erasing")?;
    if dry {
        tx.rollback()?;
        return Ok(s);
    }
    tx.commit()?;
    // secure_delete zeroes what this transaction freed, but unused parts of
    // pages can still hold bytes from before (a leaf that became an inner
    // page at a split keeps its old cells as garbage): one VACUUM rewrites
    // every page, then the WAL is folded into the file and emptied.
    let size = conn.path().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len()).unwrap_or(0);
    let free = conn.path().and_then(|p| super::free_bytes(std::path::Path::new(p))).unwrap_or(u64::MAX);
    if free > size.saturating_mul(2) + (64 << 20) {
        conn.execute_batch("VACUUM")?;
        s.vacuumed = true;
    } else {
        tracing::warn!("forget: no room for the VACUUM that rewrites the store ({size} bytes, {free} free)");
    }
    super::retention::vacuum(conn)?;
    Ok(s)
}

fn ids(conn: &Connection, sql: &str, term: &str) -> Result<Vec<i64>> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map([term], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn erase(tx: &Connection, who: &Subject, by: &str, now: DateTime<Utc>) -> Result<Summary> {
    let term = who.term().to_string();
    let mut s = Summary::default();
    let now_s = ts(now);
    let empty = compact::pack(b"")?;

    // Their tickets and mails.
    let tickets = ids(tx, &format!("SELECT id FROM tickets WHERE {}", who.sql("requester")), &term)?;
    let mut msgs = ids(tx, &format!("SELECT id FROM messages WHERE {}", who.sql("from_addr")), &term)?;
    for t in &tickets {
        let mut st = tx.prepare_cached("SELECT id FROM messages WHERE ticket_id = ?1")?;
        msgs.extend(st.query_map([t], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    msgs.sort_unstable();
    msgs.dedup();

    // Their display names: the tickets' requester names and the From headers of their mails.
    let mut names: Vec<String> = Vec::new();
    for t in &tickets {
        let n: Option<String> =
            tx.query_row("SELECT requester_name FROM tickets WHERE id = ?1", [t], |r| r.get(0)).optional()?.flatten();
        names.extend(n);
    }
    for m in &msgs {
        let from: Option<String> = tx.query_row("SELECT from_addr FROM messages WHERE id = ?1", [m], |r| r.get(0))?;
        if !from.as_deref().is_some_and(|f| who.owns(f)) {
            continue;
        }
        if let Some(raw) = compact::raw_bytes(tx, *m)?
            && let Some(msg) = mail_parser::MessageParser::default().parse_headers(&raw[..])
            && let Some(name) = msg.from().and_then(|a| a.first()).and_then(|a| a.name())
        {
            names.push(name.to_string());
        }
    }
    let mut names: Vec<String> =
        names.into_iter().map(|n| n.trim().to_lowercase()).filter(|n| n.chars().count() >= 4).collect();
    names.sort();
    names.dedup();
    s.names = names.len() as i64;
    let mut terms: Vec<String> = vec![term.clone()];
    terms.extend(names.iter().cloned());
    // "Keller, Max" and "Max Keller": each word of a name of 4+ letters alone is too broad; the whole name is searched.
    // One automaton for all terms, ASCII case ignored: linear in the bytes searched.
    let raw_terms = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(terms.iter().map(|t| t.as_bytes()))
        .context("building the search for the terms")?;

    // Their mails: everything but the disposition, the ticket and the times.
    let erased_msg_ids: std::collections::HashSet<i64> = msgs.iter().copied().collect();
    for m in &msgs {
        tx.prepare_cached(
            "UPDATE messages SET raw = ?1, raw_format = 1, raw_removed_at = ?2, message_id = 'erased.' || id || '@erased.invalid', \
             from_addr = ?3, subject = ?4, in_reply_to = NULL, refs = NULL, new_text = NULL, reason = NULL, trail = NULL \
             WHERE id = ?5",
        )?
        .execute(params![empty, now_s, ERASED_ADDR, ERASED, m])?;
        tx.prepare_cached("DELETE FROM message_refs WHERE message_row = ?1")?.execute([m])?;
        tx.prepare_cached("DELETE FROM message_trails WHERE message_row = ?1")?.execute([m])?;
        let atts: Vec<(i64, String)> = tx
            .prepare_cached("SELECT id, sha256 FROM attachments WHERE message_row = ?1")?
            .query_map([m], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, _) in &atts {
            tx.prepare_cached("UPDATE attachments SET filename = ?1 WHERE id = ?2")?.execute(params![ERASED, id])?;
        }
        let live: Vec<(i64, String)> = atts.into_iter().collect();
        let (a, b, _) = super::retention::remove_attachments(tx, &live, &now_s, false)?;
        s.attachments += a;
        s.blobs += b;
    }
    s.messages = msgs.len() as i64;

    // Outgoing mails on their tickets, caused by their mails, or to them.
    let mut outs = ids(tx, &format!("SELECT DISTINCT outbox_id FROM outbox_rcpt WHERE {}", who.sql("address")), &term)?;
    for t in &tickets {
        let mut st = tx.prepare_cached("SELECT id FROM outbox WHERE ticket_id = ?1")?;
        outs.extend(st.query_map([t], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    for m in &msgs {
        let mut st = tx.prepare_cached("SELECT id FROM outbox WHERE cause_row = ?1")?;
        outs.extend(st.query_map([m], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    outs.sort_unstable();
    outs.dedup();
    for o in &outs {
        let rcpts: String = tx.query_row("SELECT recipients FROM outbox WHERE id = ?1", [o], |r| r.get(0))?;
        let list: Vec<String> = serde_json::from_str(&rcpts).unwrap_or_default();
        let list: Vec<String> =
            list.into_iter().map(|a| if who.owns(&a) { ERASED_ADDR.to_string() } else { a }).collect();
        tx.prepare_cached(
            "UPDATE outbox SET raw = ?1, raw_format = 1, raw_removed_at = ?2, recipients = ?3, subject = ?4, \
             in_reply_to = NULL, held = NULL, state = CASE state WHEN 'queued' THEN 'failed' ELSE state END, \
             last_error = CASE state WHEN 'queued' THEN 'erased before it was sent (supportd forget)' ELSE last_error END \
             WHERE id = ?5",
        )?
        .execute(params![empty, now_s, serde_json::to_string(&list)?, ERASED, o])?;
    }
    s.outgoing = outs.len() as i64;
    // OR REPLACE: two erased recipients of one mail become one row (the
    // table's key is address, time, mail).
    tx.execute(
        &format!("UPDATE OR REPLACE outbox_rcpt SET address = ?2 WHERE {}", who.sql("address")),
        params![term, ERASED_ADDR],
    )?;

    // Their tickets: the counts stay, the person goes.
    for t in &tickets {
        tx.prepare_cached("UPDATE tickets SET requester = ?1, requester_name = NULL, subject = ?2 WHERE id = ?3")?
            .execute(params![ERASED_ADDR, ERASED, t])?;
    }
    s.tickets = tickets.len() as i64;
    s.participants = tx.execute(&format!("DELETE FROM participants WHERE {}", who.sql("address")), [&term])? as i64;

    // Every other mention: fields of other rows, one scan per table.
    let mut tables: Vec<&str> = TEXT_COLUMNS.iter().map(|(t, _)| *t).collect();
    tables.dedup();
    for table in tables {
        let cols: Vec<&str> = TEXT_COLUMNS.iter().filter(|(t, _)| *t == table).map(|(_, c)| *c).collect();
        let mut conds = Vec::new();
        for c in &cols {
            for i in 0..terms.len() {
                conds.push(format!("{c} LIKE '%' || ?{} || '%'", i + 1));
            }
        }
        // A row is named by its rowid, or by its primary key in a WITHOUT
        // ROWID table (outbox_rcpt: its one scrubbed column is the last
        // written, so the key read here still names the row).
        let key = row_key(tx, table)?;
        // `k = ?from AND …`: the key's values as parameters from number `from`.
        let at_key = |from: usize| -> String {
            key.iter().enumerate().map(|(i, k)| format!("{k} = ?{}", i + from)).collect::<Vec<_>>().join(" AND ")
        };
        let sql = format!("SELECT {}, {} FROM {table} WHERE {}", key.join(", "), cols.join(", "), conds.join(" OR "));
        let params: Vec<&dyn rusqlite::ToSql> = terms.iter().map(|t| t as &dyn rusqlite::ToSql).collect();
        type Row = (Vec<rusqlite::types::Value>, Vec<Option<String>>);
        let rows: Vec<Row> = tx
            .prepare(&sql)?
            .query_map(params.as_slice(), |r| {
                let ids = (0..key.len()).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<_>>>()?;
                let mut vals = Vec::with_capacity(cols.len());
                for i in 0..cols.len() {
                    vals.push(r.get::<_, Option<String>>(key.len() + i)?);
                }
                Ok((ids, vals))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (ids, vals) in rows {
            for (col, v) in cols.iter().zip(vals) {
                let Some(new) = v.as_deref().and_then(|v| scrub(v, &terms)) else { continue };
                let mut args: Vec<&dyn rusqlite::ToSql> = vec![&new];
                args.extend(ids.iter().map(|v| v as &dyn rusqlite::ToSql));
                let res = tx.execute(&format!("UPDATE {table} SET {col} = ?1 WHERE {}", at_key(2)), args.as_slice());
                match res {
                    Ok(_) => s.mentions += 1,
                    // A key that would collide after scrubbing (participants, outbox_rcpt): the row goes.
                    Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                        let ids: Vec<&dyn rusqlite::ToSql> = ids.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
                        tx.execute(&format!("DELETE FROM {table} WHERE {}", at_key(1)), ids.as_slice())?;
                        s.mentions += 1;
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    // Packed trails (migration 0020) of other mails: read, scrubbed, packed again.
    let mut trail_hits = Vec::new();
    let mut cursor = 0i64;
    loop {
        let rows: Vec<(i64, Vec<u8>)> = tx
            .prepare_cached("SELECT message_row, data FROM message_trails WHERE message_row > ?1 ORDER BY 1 LIMIT 200")?
            .query_map([cursor], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, packed) in &rows {
            let text = String::from_utf8_lossy(&super::dict::unpack(tx, packed)?).into_owned();
            if let Some(new) = scrub(&text, &terms) {
                let packed = super::dict::pack(tx, super::dict::Kind::Trail, new.as_bytes())?;
                tx.prepare_cached("UPDATE message_trails SET data = ?1 WHERE message_row = ?2")?
                    .execute(params![packed, id])?;
                s.mentions += 1;
                trail_hits.push(*id);
            }
        }
        match rows.last() {
            Some((last, _)) if rows.len() == 200 => cursor = *last,
            _ => break,
        }
    }

    // Every other mail whose bytes mention them, and attachment bodies that do.
    let mut hit_msgs = Vec::new();
    {
        // A skeleton is searched as it is (its text without the attachments'
        // base64, which never shows a name in clear): the bodies are searched
        // decoded below. One row at a time: memory stays at one mail.
        let mut st = tx.prepare("SELECT id, raw_format, raw FROM messages WHERE raw_removed_at IS NULL ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))?;
        for row in rows {
            let (id, format, data) = row?;
            if erased_msg_ids.contains(&id) {
                continue;
            }
            let text = match format {
                compact::SKELETON => super::dict::unpack(tx, &data)?,
                f => compact::restore(tx, f, data)?,
            };
            if contains_any(&text, &raw_terms) {
                hit_msgs.push(id);
            }
        }
    }
    for id in &hit_msgs {
        tx.prepare_cached("UPDATE messages SET raw = ?1, raw_format = 1, raw_removed_at = ?2 WHERE id = ?3")?
            .execute(params![empty, now_s, id])?;
    }
    let mut hit_out = Vec::new();
    {
        let mut st = tx.prepare("SELECT id, raw_format, raw FROM outbox WHERE raw_removed_at IS NULL ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))?;
        for row in rows {
            let (id, f, raw) = row?;
            let text =
                if f == compact::SKELETON { super::dict::unpack(tx, &raw)? } else { compact::outbox_raw(tx, f, raw)? };
            if contains_any(&text, &raw_terms) {
                hit_out.push(id);
            }
        }
    }
    for id in &hit_out {
        tx.prepare_cached("UPDATE outbox SET raw = ?1, raw_format = 1, raw_removed_at = ?2 WHERE id = ?3")?
            .execute(params![empty, now_s, id])?;
    }
    s.other_mails = (hit_msgs.len() + hit_out.len()) as i64;
    let mut hit_blobs = Vec::new();
    {
        let mut st = tx.prepare("SELECT sha256, codec, data, tail_first, tail_pieces FROM blobs")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?, r.get(3)?, r.get(4)?))
        })?;
        for row in rows {
            let (sha, codec, data, first, pieces) = row?;
            let data = compact::with_tail(tx, data, first, pieces)?;
            if contains_any(&compact::unpack_blob(codec, data)?, &raw_terms) {
                hit_blobs.push(sha);
            }
        }
    }
    for sha in &hit_blobs {
        s.attachments += tx.execute(
            "UPDATE attachments SET removed_at = ?1 WHERE sha256 = ?2 AND removed_at IS NULL",
            params![now_s, sha],
        )? as i64;
        s.blobs += compact::remove_blob(tx, sha)? as i64;
    }

    // The trained dictionaries hold pieces of the mails they learned from:
    // one trained on a mail erased here, or holding an address or a name of
    // theirs, goes now; the rows made with it are recompressed without one
    // (a new one is trained later from the mails that stay).
    let erased_mail: Vec<i64> = msgs.iter().chain(&hit_msgs).copied().collect();
    let erased_out: Vec<i64> = outs.iter().chain(&hit_out).copied().collect();
    let erased_trails: Vec<i64> = erased_mail.iter().chain(&trail_hits).copied().collect();
    for (kind, rows) in [
        (super::dict::Kind::Mail, &erased_mail),
        (super::dict::Kind::Outbox, &erased_out),
        (super::dict::Kind::Trail, &erased_trails),
    ] {
        let ids = super::dict::touched_by(tx, kind, rows, &raw_terms)?;
        s.dictionaries += super::dict::drop_now(tx, kind, &ids)? as i64;
    }

    // The receipt: what (as a hash), by whom, when, how much.
    tx.execute(
        "INSERT INTO erasures (kind, subject_sha256, requested_by, at, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![who.kind(), crate::parse::sha256_hex(term.as_bytes()), by, now_s, serde_json::to_string(&s)?],
    )?;
    Ok(s)
}

/// Every receipt, oldest first.
pub fn receipts(conn: &Connection) -> Result<Vec<Receipt>> {
    let mut st =
        conn.prepare("SELECT id, kind, subject_sha256, requested_by, at, summary FROM erasures ORDER BY id")?;
    let rows = st.query_map([], |r| {
        let summary: String = r.get(5)?;
        Ok(Receipt {
            id: r.get(0)?,
            kind: r.get(1)?,
            subject_sha256: r.get(2)?,
            requested_by: r.get(3)?,
            at: r.get(4)?,
            summary: serde_json::from_str(&summary).unwrap_or(serde_json::Value::Null),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scrub pass names rows by rowid, and those of a WITHOUT ROWID
    /// table (which has none) by their key.
    #[test]
    fn rows_are_named_by_rowid_or_by_their_key() {
        let s = crate::store::Store::open_in_memory().unwrap();
        assert_eq!(row_key(s.conn(), "outbox_rcpt").unwrap(), ["address", "created_at", "outbox_id"]);
        for table in ["participants", "messages", "inflight_suspects", "state"] {
            assert_eq!(row_key(s.conn(), table).unwrap(), ["rowid"], "{table}");
        }
    }

    #[test]
    fn subjects_parse_and_match() {
        assert_eq!(Subject::parse("M.Keller@Stadtwerke.de"), Some(Subject::Address("m.keller@stadtwerke.de".into())));
        assert_eq!(Subject::parse("stadtwerke.de"), Some(Subject::Domain("stadtwerke.de".into())));
        assert_eq!(Subject::parse("@stadtwerke.de"), Some(Subject::Domain("stadtwerke.de".into())));
        for bad in ["", "keller", "a b@c.de", "a@b", ".de"] {
            assert_eq!(Subject::parse(bad), None, "{bad}");
        }
        let d = Subject::Domain("stadtwerke.de".into());
        assert!(d.owns("X@Stadtwerke.de") && !d.owns("x@stadtwerke.de.evil") && !d.owns("x@evil-stadtwerke.de"));
        assert_eq!(scrub("Max KELLER schrieb", &["max keller".into()]).as_deref(), Some("[erased] schrieb"));
        assert_eq!(scrub("nichts", &["max keller".into()]), None);
    }
}
