//! What the store knows about a mail, read before it is decided
//! ([`decide::Snapshot`](super::decide::Snapshot)): an earlier copy of it,
//! the ticket of a bounced mail, the ticket it points at (our signed
//! Message-IDs, stored ids, the subject tag, a reply read before it;
//! followed through merges) with its participants; for an agent's mail
//! ([`read_agent`]) what its commands and mails need.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use tracing::warn;

use super::Pipeline;
use super::decide::{AgentSnapshot, Announced, Found, HandoverData, HistoryLine, Snapshot, StoredFile};
use crate::commands::Command;
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
/// machine mail. `machine`: the machine-mail check, which the prepare step
/// made (`None`: a person wrote the mail).
pub(super) fn read(
    p: &Pipeline,
    conn: &Connection,
    mail: &InboundMail,
    row: i64,
    machine: Option<hygiene::Verdict>,
) -> Result<Snapshot> {
    let mut snap = Snapshot {
        duplicate_of: store::find_duplicate(conn, &mail.message_id, &mail.content_hash, row)?,
        ..Default::default()
    };
    if snap.duplicate_of.is_some() {
        return Ok(snap);
    }
    snap.machine = Some(machine.clone());
    if let Some(v) = machine {
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

/// Read what deciding an agent's mail on `ticket` needs: the participants,
/// the announced change windows, the `#merge` targets, the requester's last
/// mail, and for a `#level` the ticket's story for the handover.
pub(super) fn read_agent(conn: &Connection, ticket: &store::Ticket, commands: &[Command]) -> Result<AgentSnapshot> {
    let id = ticket.id;
    let mut survivors = HashMap::new();
    for c in commands {
        if let Command::Merge(target) = c {
            survivors.insert(*target, surviving(conn, *target)?);
        }
    }
    let announced = store::changes(conn, id)?
        .into_iter()
        .filter(|c| c.state == "announced")
        .map(|c| Announced { id: c.id, description: c.description })
        .collect();
    let handover = if commands.iter().any(|c| matches!(c, Command::Level(_))) {
        let all = store::list_messages(conn, Some(id), None)?;
        let history = all[all.len().saturating_sub(50)..]
            .iter()
            .map(|m| HistoryLine {
                at: m.arrived_at.clone().unwrap_or_else(|| m.received_at.clone()),
                from: m.from_addr.clone().unwrap_or_else(|| "-".into()),
                subject: m.subject.clone().unwrap_or_default(),
                disposition: m.disposition.clone(),
            })
            .collect();
        let first_text = store::ticket_new_text(conn, id, "", false).unwrap_or_default();
        let files = store::ticket_attachments(conn, id, 100)?
            .into_iter()
            .map(|a| StoredFile {
                row: a.message_row,
                name: a.filename,
                content_type: a.content_type,
                size: a.size,
                sha256: a.sha256,
            })
            .collect();
        Some(HandoverData {
            history,
            first_text,
            latest_customer_text: store::latest_customer_text(conn, id)?,
            notes: store::ticket_notes(conn, id)?,
            files,
        })
    } else {
        None
    };
    Ok(AgentSnapshot {
        participants: store::participants(conn, id)?,
        announced,
        survivors,
        requester_last: store::last_message_from(conn, id, &ticket.requester)?,
        handover,
    })
}

/// How many automatic answers of `budget` (kinds) `addr` got in the hour
/// and in the day before `at` (for [`decide::under_cap`](super::decide::under_cap)).
pub(super) fn auto_answers(conn: &Connection, addr: &str, budget: &[&str], at: DateTime<Utc>) -> Result<(u32, u32)> {
    store::auto_mails_to_since(conn, addr, budget, at - Duration::hours(1), at - Duration::days(1))
}

/// Most open tickets an overview lists (the oldest first); the rest are counted.
pub const OVERVIEW_OPEN_MAX: usize = 100;
/// Most closed tickets an overview lists (the newest); the rest are counted.
pub const OVERVIEW_CLOSED_MAX: usize = 20;

/// The tickets an overview may list: the `customer`'s, or only `from`'s own
/// when the sender belongs to none; at most [`OVERVIEW_OPEN_MAX`] open and
/// [`OVERVIEW_CLOSED_MAX`] closed ones, with the counts of each
/// ([`decide::overview`](super::decide::overview) applies the same rule).
pub(super) fn overview_tickets(
    conn: &Connection,
    customer: Option<&crate::config::Customer>,
    from: &str,
) -> Result<store::listing::OverviewTickets> {
    store::listing::overview(conn, customer.map(|c| c.name.as_str()), from, OVERVIEW_OPEN_MAX, OVERVIEW_CLOSED_MAX)
}
