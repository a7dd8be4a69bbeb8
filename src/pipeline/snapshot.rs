//! What the store knows about a mail, read before it is decided
//! ([`decide::Snapshot`](super::decide::Snapshot)): an earlier copy of it,
//! the ticket of a bounced mail, the ticket it points at (our signed
//! Message-IDs, stored ids, the subject tag, a reply read before it;
//! followed through merges) with its participants.

use anyhow::Result;
use rusqlite::Connection;
use tracing::warn;

use super::Pipeline;
use super::decide::{Found, Snapshot};
use crate::domain::Disposition;
use crate::hygiene;
use crate::parse::InboundMail;
use crate::store;
use crate::thread::OwnId;

/// At most this many of a mail's `References` (the newest) are used to
/// find its thread and are stored: real threads stay far below it.
pub const MAX_REFERENCES: usize = 100;

/// Read what deciding `mail` (stored as `row`) needs. Reads only what its
/// route can use: nothing more for a duplicate, only the bounced ticket for
/// machine mail.
pub(super) fn read(p: &Pipeline, conn: &Connection, mail: &InboundMail, row: i64) -> Result<Snapshot> {
    let mut snap = Snapshot {
        duplicate_of: store::find_duplicate(conn, &mail.message_id, &mail.content_hash, row)?,
        ..Default::default()
    };
    if snap.duplicate_of.is_some() {
        return Ok(snap);
    }
    if let Some(v) = hygiene::check_config(mail, &p.cfg) {
        if v.disposition == Disposition::Bounce {
            let info = hygiene::bounce_info(mail);
            snap.bounced_ticket = ticket_for_ids(p, conn, &info.original_ids)?.map(|(t, _)| t);
        }
        return Ok(snap);
    }
    snap.thread = find_thread(p, conn, mail)?;
    Ok(snap)
}

/// The ticket this mail points at: our signed ids, stored ids, then the
/// subject tag, then a reply read before it; followed through merges.
fn find_thread(p: &Pipeline, conn: &Connection, mail: &InboundMail) -> Result<Option<Found>> {
    let mut ids: Vec<String> = mail.references.clone();
    ids.extend(mail.in_reply_to.iter().cloned());
    let candidate = match ticket_for_ids(p, conn, &ids)? {
        Some((t, how)) => Some((t, how)),
        None => match p.signer.subject_tag(&mail.subject) {
            Some(t) => Some((t, "subject tag")),
            // A reply that was read first opened the ticket.
            None => store::ticket_of_replies_to(conn, &mail.message_id)?.map(|t| (t, "a reply read earlier")),
        },
    };
    let Some((number, how)) = candidate else { return Ok(None) };
    let Some(mut ticket) = store::get_ticket(conn, number)? else { return Ok(None) };
    // Follow merges to the surviving ticket.
    let mut hops = 0;
    while let Some(target) = ticket.merged_into {
        hops += 1;
        match store::get_ticket(conn, target)? {
            Some(t) if hops < 10 => ticket = t,
            _ => break,
        }
    }
    let participants = store::participants(conn, ticket.id)?;
    Ok(Some(Found { ticket, how: how.to_string(), participants }))
}

/// The ticket that survives `n` after merges (at most 10 hops), if `n` exists.
pub(super) fn surviving(conn: &Connection, n: i64) -> Result<Option<store::Ticket>> {
    let Some(mut t) = store::get_ticket(conn, n)? else { return Ok(None) };
    for _ in 0..10 {
        match t.merged_into {
            Some(next) => match store::get_ticket(conn, next)? {
                Some(x) => t = x,
                None => break,
            },
            None => break,
        }
    }
    Ok(Some(t))
}

/// The ticket the newest of `ids` points at (at most the newest
/// [`MAX_REFERENCES`] are looked at). Forged ids (ours in shape, wrong
/// hash) are ignored and logged once per mail, with their count.
fn ticket_for_ids(p: &Pipeline, conn: &Connection, ids: &[String]) -> Result<Option<(i64, &'static str)>> {
    let mut foreign = Vec::new();
    let mut forged: Vec<&str> = Vec::new();
    let mut found = None;
    for id in ids.iter().rev().take(MAX_REFERENCES) {
        match p.signer.check(id) {
            OwnId::Ours(Some(n)) => {
                found = Some(n);
                break;
            }
            OwnId::Ours(None) => {}
            OwnId::Forged => forged.push(id),
            OwnId::Foreign => foreign.push(id.clone()),
        }
    }
    if let Some(first) = forged.first() {
        warn!(
            security = true,
            forged = forged.len(),
            "{} reference(s) look like our Message-IDs but their hash is wrong (first: {first}): ignored",
            forged.len()
        );
    }
    if let Some(n) = found {
        return Ok(Some((n, "our Message-ID")));
    }
    foreign.reverse();
    Ok(store::ticket_for_message_ids(conn, &foreign)?.map(|t| (t, "References")))
}
