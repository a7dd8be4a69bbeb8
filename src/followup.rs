//! Following through (the 1st level "hält die Bearbeitung nach und sorgt für
//! die nötige Kommunikation und Transparenz"), on the daemon's clock:
//!
//! - the daily digest: each working day (support calendar) at
//!   `followup.digest_at` every level's team gets one mail with its open
//!   tickets by status, the first-response and resolution targets due today
//!   or missed, the tickets waiting on the customer and the unassigned ones;
//! - reminders: a ticket waiting on the customer gets a friendly reminder
//!   after `followup.reminder_after_days` working days, and
//!   `followup.close_after_days` working days after that reminder it is
//!   closed with a notice that a reply reopens it.
//!
//! Exactly once across restarts: each mail's record (`digests_sent`, unique
//! per level and day; `followups_sent`, unique per ticket, kind and waiting
//! period) commits with its outbox row. The clock starts with the feature:
//! `followup.since` (state) is the first tick; no digest of an earlier day
//! is sent, and a waiting period that began before it is counted from it,
//! so an upgraded installation does not remind every old waiting ticket at
//! once. A digest of a day the daemon missed entirely is not caught up (it
//! would be stale); a late start on the day sends it late.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::domain::{Category, Level, Status};
use crate::engine::{Pipeline, QueuedMail, customer_side, queue_mail};
use crate::store::{self, Ticket};
use crate::words::status_title;

/// State key: when the clock first ran the follow-through.
pub const SINCE_KEY: &str = "followup.since";
/// At most this many tickets are listed per section of a digest (the rest counted).
pub const MAX_LISTED: usize = 100;

/// The open statuses, in the digest's order.
const OPEN: [Status; 5] = [Status::New, Status::Open, Status::InProgress, Status::Waiting, Status::Forwarded];

/// When the follow-through started on this store (set at the first call).
fn since(conn: &Connection, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    match store::get_state(conn, SINCE_KEY)?.as_deref().and_then(store::parse_ts) {
        Some(s) => Ok(s),
        None => {
            store::set_state(conn, SINCE_KEY, &store::ts(now))?;
            Ok(now)
        }
    }
}

/// The local date of `t` in the support time zone.
fn local_day(p: &Pipeline, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&p.calendar.timezone()).date_naive()
}

/// The instant `n` working days after `from` (same local time of day), moved
/// to the next opening if that is outside support hours.
pub fn after_working_days(p: &Pipeline, from: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    let tz = p.calendar.timezone();
    let local = from.with_timezone(&tz);
    let mut d = local.date_naive();
    let mut left = n;
    let mut guard = 0;
    while left > 0 && guard < 3660 {
        d = d.succ_opt().unwrap_or(d);
        if p.calendar.is_working_day(d) {
            left -= 1;
        }
        guard += 1;
    }
    let at = crate::reports::local_at(tz, d, local.time());
    p.calendar.next_opening(at)
}

fn fmt_local(p: &Pipeline, t: DateTime<Utc>) -> String {
    t.with_timezone(&p.calendar.timezone()).format("%d.%m.%Y %H:%M").to_string()
}

fn fmt_day(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// When a waiting ticket went to `waiting` last (its current waiting period).
pub fn waiting_since(conn: &Connection, ticket: i64) -> Result<Option<DateTime<Utc>>> {
    let at: Option<String> = conn
        .prepare_cached(
            "SELECT at FROM status_history WHERE ticket_id = ?1 AND status = 'waiting' ORDER BY at DESC, id DESC LIMIT 1",
        )?
        .query_row([ticket], |r| r.get(0))
        .optional()?;
    Ok(at.as_deref().and_then(store::parse_ts))
}

// ---------------------------------------------------------------------------
// The daily digest

/// A status in the team's words (the customer's are in `status_title`).
pub fn team_status_title(st: Status, en: bool) -> &'static str {
    match (st, en) {
        (Status::New, false) => "neu",
        (Status::Open, false) => "offen",
        (Status::InProgress, false) => "in Bearbeitung",
        (Status::Waiting, false) => "wartet auf Kunden",
        (Status::Forwarded, false) => "an Berater weitergeleitet",
        (Status::Resolved, false) => "gelöst",
        (Status::Closed, false) => "geschlossen",
        (Status::New, true) => "new",
        (Status::Open, true) => "open",
        (Status::InProgress, true) => "in progress",
        (Status::Waiting, true) => "waiting on the customer",
        (Status::Forwarded, true) => "forwarded to the consultant",
        (Status::Resolved, true) => "resolved",
        (Status::Closed, true) => "closed",
    }
}

/// One ticket line of a digest.
fn row(p: &Pipeline, t: &Ticket, lang: &str, note: String) -> serde_json::Value {
    let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
    json!({
        "tag": p.tag(t.id),
        "subject": crate::words::strip_reply_prefixes(&t.subject).chars().take(80).collect::<String>(),
        "customer": t.customer.clone().unwrap_or_else(|| t.requester.clone()),
        "status": t.status,
        "status_title": Status::parse(&t.status).map_or("", |s| team_status_title(s, lang == "en")),
        "category_title": cat.title_one(lang),
        "priority": t.priority,
        "assignee": t.assignee,
        "opened": store::parse_ts(&t.created_at).map(|d| fmt_day(local_day(p, d))).unwrap_or_default(),
        "note": note,
    })
}

/// A bounded list: the first [`MAX_LISTED`] and how many more.
fn bounded(mut v: Vec<serde_json::Value>) -> (Vec<serde_json::Value>, usize) {
    let more = v.len().saturating_sub(MAX_LISTED);
    v.truncate(MAX_LISTED);
    (v, more)
}

/// The digest context of one level at `now`: its open tickets by status,
/// first-response and resolution targets due today or missed (not while
/// waiting on the customer), the waiting tickets and the unassigned ones.
/// None when the level has no open ticket.
pub fn digest_context(p: &Pipeline, conn: &Connection, level: Level, now: DateTime<Utc>) -> Result<serde_json::Value> {
    let lang = p.cfg.language.as_str();
    let en = lang == "en";
    let tz = p.calendar.timezone();
    let today = local_day(p, now);
    let end_of_day =
        crate::reports::local_at(tz, today.succ_opt().unwrap_or(today), chrono::NaiveTime::MIN) - Duration::seconds(1);
    let mut by_status = Vec::new();
    let mut first_due = Vec::new();
    let mut resolution_due = Vec::new();
    let mut waiting = Vec::new();
    let mut unassigned = Vec::new();
    let mut open_count = 0usize;
    let mut missed_count = 0usize;
    let due_note = |due: DateTime<Utc>| -> (bool, String) {
        if due < now {
            (
                true,
                if en {
                    format!("missed since {}", fmt_local(p, due))
                } else {
                    format!("überfällig seit {}", fmt_local(p, due))
                },
            )
        } else {
            let hm = due.with_timezone(&tz).format("%H:%M").to_string();
            (false, if en { format!("due today {hm}") } else { format!("fällig heute {hm} Uhr") })
        }
    };
    for st in OPEN {
        let tickets: Vec<Ticket> = store::list_tickets(conn, Some(st.as_str()), None)?
            .into_iter()
            .filter(|t| t.level == level.get() as i64 && t.merged_into.is_none())
            .collect();
        if tickets.is_empty() {
            continue;
        }
        open_count += tickets.len();
        let mut rows = Vec::new();
        for t in &tickets {
            rows.push(row(p, t, lang, String::new()));
            if st == Status::Waiting {
                let since = waiting_since(conn, t.id)?;
                let days = since.map(|s| working_days_between(p, s, now)).unwrap_or(0);
                let reminded: bool = conn
                    .prepare_cached("SELECT count(*) FROM followups_sent WHERE ticket_id = ?1 AND kind = 'reminder' AND waiting_since = ?2")?
                    .query_row(params![t.id, since.map(store::ts).unwrap_or_default()], |r| r.get::<_, i64>(0))?
                    > 0;
                let note = match (en, reminded) {
                    (false, false) => format!("wartet seit {days} Arbeitstag(en)"),
                    (false, true) => format!("wartet seit {days} Arbeitstag(en), erinnert"),
                    (true, false) => format!("waiting for {days} working day(s)"),
                    (true, true) => format!("waiting for {days} working day(s), reminded"),
                };
                waiting.push(row(p, t, lang, note));
                continue;
            }
            if t.first_response_at.is_none()
                && let Some(due) = t.first_response_due.as_deref().and_then(store::parse_ts)
                && due <= end_of_day
            {
                let (missed, note) = due_note(due);
                missed_count += usize::from(missed);
                first_due.push(row(p, t, lang, note));
            }
            if let Some(due) = t.resolution_due.as_deref().and_then(store::parse_ts)
                && due <= end_of_day
            {
                let (missed, note) = due_note(due);
                missed_count += usize::from(missed);
                resolution_due.push(row(p, t, lang, note));
            }
            if t.assignee.is_none() {
                unassigned.push(row(p, t, lang, String::new()));
            }
        }
        let (rows, more) = bounded(rows);
        by_status.push(json!({"status": st.as_str(), "status_title": team_status_title(st, en),
                              "n": tickets.len(), "tickets": rows, "more": more}));
    }
    let (first_due, first_due_more) = bounded(first_due);
    let (resolution_due, resolution_due_more) = bounded(resolution_due);
    let (waiting, waiting_more) = bounded(waiting);
    let (unassigned, unassigned_more) = bounded(unassigned);
    Ok(json!({
        "level": level.get(),
        "level_ordinal": level.ordinal(),
        "date": fmt_day(today),
        "weekday": crate::reports::weekday_name(today, lang),
        "open_count": open_count,
        "missed_count": missed_count,
        "by_status": by_status,
        "first_response_due": first_due, "first_response_due_more": first_due_more,
        "resolution_due": resolution_due, "resolution_due_more": resolution_due_more,
        "waiting": waiting, "waiting_more": waiting_more,
        "unassigned": unassigned, "unassigned_more": unassigned_more,
        "reminder_after_days": p.cfg.followup.reminder_after_days,
        "close_after_days": p.cfg.followup.close_after_days,
        "display_name": p.cfg.display_name,
        "support_address": p.cfg.support_address,
    }))
}

/// Working days from `a` to `b` (days after `a`'s day up to `b`'s day).
pub fn working_days_between(p: &Pipeline, a: DateTime<Utc>, b: DateTime<Utc>) -> u32 {
    let (mut d, end) = (local_day(p, a), local_day(p, b));
    let mut n = 0;
    let mut guard = 0;
    while d < end && guard < 3660 {
        d = d.succ_opt().unwrap_or(end);
        if p.calendar.is_working_day(d) {
            n += 1;
        }
        guard += 1;
    }
    n
}

/// The digests due at `now`: today's, if today is a working day, it is past
/// `digest_at` and that time is not before the follow-through started.
/// One per level, recorded even when the level has nothing open (then no
/// mail), so a ticket arriving later that day does not trigger one.
fn tick_digests(p: &Pipeline, conn: &Connection, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<String>> {
    let today = local_day(p, now);
    let due = crate::reports::local_at(p.calendar.timezone(), today, p.cfg.followup.digest_at);
    if !p.calendar.is_working_day(today) || now < due || due < since {
        return Ok(Vec::new());
    }
    let day = today.format("%Y-%m-%d").to_string();
    let mut out = Vec::new();
    for level in (1..=3).filter_map(Level::new) {
        let done: bool = conn
            .prepare_cached("SELECT count(*) FROM digests_sent WHERE level = ?1 AND day = ?2")?
            .query_row(params![level.get(), day], |r| r.get::<_, i64>(0))?
            > 0;
        if done {
            continue;
        }
        let ctx = digest_context(p, conn, level, now)?;
        let id = if ctx["open_count"].as_u64().unwrap_or(0) == 0 {
            None
        } else {
            let (subject, body) =
                p.templates.render("digest", &p.cfg.language, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let seed = format!("digest|{}|{day}", level.get());
            queue_mail(
                p,
                conn,
                QueuedMail::scheduled("digest", None, p.cfg.level_team(level).to_vec(), (subject, body), &seed),
                now,
            )?
        };
        conn.prepare_cached("INSERT INTO digests_sent (level, day, outbox_id, created_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![level.get(), day, id, store::ts(now)])
            .with_context(|| format!("recording the digest of level {level} for {day}"))?;
        if id.is_some() {
            tracing::info!(level = level.get(), day, "digest queued");
            out.push(format!("level {} {day}", level.get()));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Reminders and the automatic close

fn followup_at(conn: &Connection, ticket: i64, kind: &str, since: &str) -> Result<Option<DateTime<Utc>>> {
    let at: Option<String> = conn
        .prepare_cached(
            "SELECT created_at FROM followups_sent WHERE ticket_id = ?1 AND kind = ?2 AND waiting_since = ?3",
        )?
        .query_row(params![ticket, kind, since], |r| r.get(0))
        .optional()?;
    Ok(at.as_deref().and_then(store::parse_ts))
}

/// The customer's mail of a reminder or an automatic close.
fn mail_customer(
    p: &Pipeline,
    conn: &Connection,
    t: &Ticket,
    state: &str,
    close_on: Option<DateTime<Utc>>,
    waited: u32,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let lang = t.language.as_str();
    let en = lang == "en";
    let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
    let level = Level::new(t.level).unwrap_or(Level::FIRST);
    let customer = t.customer.as_deref().and_then(|n| p.cfg.customer_by_name(n));
    let last_agent_text = store::ticket_new_text(conn, t.id, "AND disposition = 'agent_reply'", true)?;
    // What the customer read: without the agent's command lines.
    let last_agent_text = crate::commands::parse(&last_agent_text, &p.cfg.tag_prefix).text.trim().to_string();
    let ctx = json!({
        "tag": p.tag(t.id),
        "subject": crate::words::strip_reply_prefixes(&t.subject),
        "requester": t.requester,
        "requester_name": t.requester_name,
        "customer": t.customer,
        "customer_or_requester": t.customer.clone().unwrap_or_else(|| t.requester.clone()),
        "category": t.category,
        "category_title": cat.title_one(lang),
        "level": t.level,
        "level_ordinal": level.ordinal(),
        "priority": t.priority,
        "priority_title": crate::words::priority_title(&t.priority, lang),
        "status": t.status,
        "status_title": status_title(&t.status, en),
        "covered": !t.billable,
        "contact_person": customer.and_then(|c| c.contact_person.clone()),
        "display_name": p.cfg.display_name,
        "support_address": p.cfg.support_address,
        "text": last_agent_text,
        "reminder_state": state,
        "waiting_days": waited,
        "close_on": close_on.map(|d| p.calendar.format_opening(d, lang).split(',').take(2).collect::<Vec<_>>().join(",")),
        "reopen_days": p.cfg.reopen_days,
    });
    let (subject, body) = p.templates.render("reminder", lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let to = customer_side(p, conn, t)?;
    let seed = format!("followup|{state}|{}|{}", t.id, store::ts(now));
    let irt = store::last_message_from(conn, t.id, &t.requester)?;
    queue_mail(p, conn, QueuedMail::scheduled("status", Some(t.id), to, (subject, body), &seed).replying_to(irt), now)
}

fn record(conn: &Connection, t: i64, kind: &str, since: &str, outbox: Option<i64>, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO followups_sent (ticket_id, kind, waiting_since, outbox_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![t, kind, since, outbox, store::ts(now)])
    .with_context(|| format!("recording the {kind} of ticket {t}"))?;
    Ok(())
}

fn tick_waiting(p: &Pipeline, conn: &Connection, started: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<String>> {
    let f = &p.cfg.followup;
    let mut out = Vec::new();
    if f.reminder_after_days == 0 {
        return Ok(out);
    }
    for t in store::list_tickets(conn, Some(Status::Waiting.as_str()), None)? {
        if t.merged_into.is_some() {
            continue;
        }
        let Some(since) = waiting_since(conn, t.id)? else { continue };
        let key = store::ts(since);
        let start = since.max(started);
        let reminded = followup_at(conn, t.id, "reminder", &key)?;
        match reminded {
            None => {
                if now < after_working_days(p, start, f.reminder_after_days) {
                    continue;
                }
                let close_on = (f.close_after_days > 0).then(|| after_working_days(p, now, f.close_after_days));
                let waited = working_days_between(p, since, now);
                let id = mail_customer(p, conn, &t, "reminder", close_on, waited, now)?;
                record(conn, t.id, "reminder", &key, id, now)?;
                store::insert_event(
                    conn,
                    Some(t.id),
                    None,
                    now,
                    "supportd",
                    "reminder",
                    &format!("waiting on the customer for {waited} working days: reminder sent"),
                )?;
                out.push(format!("{} reminder", p.tag(t.id)));
            }
            Some(at) => {
                if f.close_after_days == 0 || now < after_working_days(p, at, f.close_after_days) {
                    continue;
                }
                if followup_at(conn, t.id, "closed", &key)?.is_some() {
                    continue;
                }
                store::set_status(conn, t.id, Status::Closed, now, "supportd", None)?;
                let t2 = store::get_ticket(conn, t.id)?.context("ticket")?;
                let waited = working_days_between(p, since, now);
                let id = mail_customer(p, conn, &t2, "closed", None, waited, now)?;
                record(conn, t.id, "closed", &key, id, now)?;
                store::insert_event(
                    conn,
                    Some(t.id),
                    None,
                    now,
                    "supportd",
                    "auto_close",
                    &format!(
                        "no answer from the customer {} working days after the reminder: closed",
                        f.close_after_days
                    ),
                )?;
                out.push(format!("{} closed", p.tag(t.id)));
            }
        }
    }
    Ok(out)
}

/// What the follow-through did in one tick.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Done {
    /// "level N YYYY-MM-DD" per digest mailed.
    pub digests: Vec<String>,
    /// "MT-000123 reminder" / "MT-000123 closed".
    pub followups: Vec<String>,
}

/// The clock's part, in the caller's transaction.
pub fn tick(p: &Pipeline, conn: &Connection, now: DateTime<Utc>) -> Result<Done> {
    let started = since(conn, now)?;
    Ok(Done { followups: tick_waiting(p, conn, started, now)?, digests: tick_digests(p, conn, started, now)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn pipeline() -> (crate::store::Store, Pipeline) {
        let cfg = crate::config::Config::from_str(
            crate::config::EMBEDDED_DEFAULT,
            "x.toml",
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        let store = crate::store::Store::open_in_memory().unwrap();
        let p = Pipeline::new(cfg, store.conn()).unwrap();
        (store, p)
    }

    #[test]
    fn working_days_skip_weekends_and_bw_holidays() {
        let (_s, p) = pipeline();
        // Wednesday 23.12.2026 10:00 Berlin; 25./26.12 holidays, 27.12 Sunday.
        let from = Utc.with_ymd_and_hms(2026, 12, 23, 9, 0, 0).unwrap();
        assert_eq!(after_working_days(&p, from, 5), Utc.with_ymd_and_hms(2026, 12, 31, 9, 0, 0).unwrap());
        assert_eq!(working_days_between(&p, from, Utc.with_ymd_and_hms(2026, 12, 31, 9, 0, 0).unwrap()), 5);
        // Set to waiting at 20:00: the reminder waits for the next opening.
        let late = Utc.with_ymd_and_hms(2026, 11, 24, 19, 0, 0).unwrap();
        assert_eq!(after_working_days(&p, late, 1), Utc.with_ymd_and_hms(2026, 11, 26, 7, 0, 0).unwrap());
    }
}
