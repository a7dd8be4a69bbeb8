//! The daemon's clock: SLA warnings and escalations, change reminders,
//! periodic ticket reports (`reports::tick_reports`).
//! [`tick`] is a function of the store and `now`, so it is tested with a
//! controlled clock; everything it does is recorded in the store, so a
//! restart never does it twice and a missed tick is caught up.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::Connection;
use serde_json::json;
use tracing::info;

use crate::domain::{Category, Level, Priority, Status};
use crate::engine::{Pipeline, QueuedMail, change_context, customer_side, queue_mail};
use crate::store::{self, Ticket};
use crate::words::{priority_title, status_title, strip_reply_prefixes};

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub warned: Vec<i64>,
    pub escalated: Vec<i64>,
    pub reminded: Vec<i64>,
    /// Periodic reports queued: "customer period".
    pub reports: Vec<String>,
    /// Handover mails queued at support start (customer names).
    pub welcomed: Vec<String>,
    /// Daily digests queued ("level N YYYY-MM-DD").
    pub digests: Vec<String>,
    /// Reminders and automatic closes of tickets waiting on the customer.
    pub followups: Vec<String>,
}

fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0).round() as i64)
}

/// Support time a ticket has waited for its first response on its current level.
pub fn sla_elapsed(p: &Pipeline, conn: &Connection, t: &Ticket, now: DateTime<Utc>) -> Result<Duration> {
    let (start, pauses) = sla_clock(conn, t, now)?;
    Ok(p.calendar.support_time_between_excluding(start, now, &pauses))
}

/// Where a ticket's first-response clock on its current level starts (its
/// creation, i.e. the arrival of its first mail, or its last escalation)
/// and its pauses (waiting on the customer) until `now`.
type Clock = (DateTime<Utc>, Vec<(DateTime<Utc>, DateTime<Utc>)>);

fn sla_clock(conn: &Connection, t: &Ticket, now: DateTime<Utc>) -> Result<Clock> {
    let start = t
        .escalated_at
        .as_deref()
        .and_then(store::parse_ts)
        .or_else(|| store::parse_ts(&t.created_at))
        .context("ticket without a creation time")?;
    Ok((start, store::waiting_intervals(conn, t.id, now)?))
}

/// Run the clock once at `now`, inside the caller's transaction.
pub fn tick(p: &Pipeline, conn: &Connection, now: DateTime<Utc>) -> Result<Tick> {
    let mut out = Tick::default();
    for t in store::list_tickets(conn, None, None)? {
        let Some(status) = Status::parse(&t.status) else { continue };
        if t.first_response_at.is_some() || !matches!(status, Status::New | Status::Open | Status::InProgress) {
            continue;
        }
        let Some(cat) = Category::parse(&t.category) else { continue };
        let prio = Priority::parse(&t.priority).unwrap_or(Priority::Normal);
        let target = hours(p.cfg.sla_targets(cat, prio).0);
        let warn_share = p.cfg.sla.warn_share;
        let elapsed = sla_elapsed(p, conn, &t, now)?;
        let level = Level::new(t.level).unwrap_or(Level::FIRST);
        if elapsed >= target && level < p.cfg.sla.max_escalation_level {
            // The escalation happened when the target was missed, by the
            // same calendar arithmetic from the same event times, whether
            // this tick comes a minute later (live) or days later (after an
            // outage): the next level's clock starts there.
            let (start, pauses) = sla_clock(conn, &t, now)?;
            let missed = p.calendar.add_support_hours_excluding(start, target, &pauses).min(now);
            let next = Level::new(t.level + 1).unwrap_or(level);
            store::set_ticket_field(conn, t.id, "level", &(next.get() as i64), now)?;
            store::set_ticket_field(conn, t.id, "escalated_at", &store::ts(missed), now)?;
            store::set_ticket_field(conn, t.id, "sla_warned_at", &rusqlite::types::Null, now)?;
            let due = p.calendar.add_support_hours(missed, target);
            store::set_ticket_field(conn, t.id, "first_response_due", &store::ts(due), now)?;
            let detail = format!(
                "no first response after {:.1} support hours (target {:.1}): level {} -> {}",
                target.num_minutes() as f64 / 60.0,
                target.num_minutes() as f64 / 60.0,
                level,
                next
            );
            store::insert_event(conn, Some(t.id), None, missed, "supportd", "escalation", &detail)?;
            info!(ticket = p.tag(t.id), "{detail}");
            let t2 = store::get_ticket(conn, t.id)?.context("ticket")?;
            let mut team = p.cfg.level_team(next).to_vec();
            if next.get() == 2
                && let Some(c) = t.customer.as_deref().and_then(|n| p.cfg.customer_by_name(n))
            {
                team.extend(c.project_team.iter().cloned());
            }
            mail_team(p, conn, &t2, "escalation", team, json!({"warning": false}), now)?;
            out.escalated.push(t.id);
        } else if elapsed.num_seconds() as f64 >= target.num_seconds() as f64 * warn_share
            && t.sla_warned_at.is_none()
            && elapsed < target
        {
            store::set_ticket_field(conn, t.id, "sla_warned_at", &store::ts(now), now)?;
            store::insert_event(
                conn,
                Some(t.id),
                None,
                now,
                "supportd",
                "sla_warning",
                &format!("{:.0} % of the first-response time used", warn_share * 100.0),
            )?;
            let team = p.cfg.level_team(level).to_vec();
            mail_team(
                p,
                conn,
                &t,
                "escalation",
                team,
                json!({"warning": true, "share": (warn_share * 100.0) as i64}),
                now,
            )?;
            out.warned.push(t.id);
        }
    }

    // Change reminders: on the working day before the change, from opening time.
    let horizon = now + Duration::days(10);
    for ch in store::changes_needing_reminder(conn, horizon, now)? {
        let Some(starts) = store::parse_ts(&ch.starts_at) else { continue };
        if now < reminder_time(p, starts) {
            continue;
        }
        let t = store::get_ticket(conn, ch.ticket_id)?.context("ticket of a change")?;
        let customer = t.customer.as_deref().and_then(|n| p.cfg.customer_by_name(n));
        let lang = t.language.clone();
        let base = base_context(p, &t, &lang);
        let ctx = change_context(p, &t, customer, &lang, &ch, "reminder", base);
        let (subject, body) = p.templates.render("change", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let to = customer_side(p, conn, &t)?;
        let seed = format!("change-reminder|{}|{}", ch.id, store::ts(now));
        let irt = store::last_message_from(conn, t.id, &t.requester)?;
        queue_mail(
            p,
            conn,
            QueuedMail::scheduled("change", Some(t.id), to, (subject, body), &seed).replying_to(irt),
            now,
        )?;
        store::mark_change_reminded(conn, ch.id, now)?;
        store::insert_event(
            conn,
            Some(t.id),
            None,
            now,
            "supportd",
            "change",
            &format!("reminder sent for {}", ch.description),
        )?;
        out.reminded.push(ch.id);
    }

    // The first level's follow-through: reminders, automatic closes, the daily digest.
    let done = crate::followup::tick(p, conn, now)?;
    (out.digests, out.followups) = (done.digests, done.followups);
    // The handover at support start: once per customer, before the reports mark it as seen.
    out.welcomed = crate::welcome::tick_welcome(p, conn, now)?;
    // Periodic reports: exactly once per customer and period (recorded with the outbox row).
    out.reports = crate::reports::tick_reports(p, conn, now)?;
    Ok(out)
}

/// The working day before the change's date, at opening time.
pub fn reminder_time(p: &Pipeline, starts: DateTime<Utc>) -> DateTime<Utc> {
    let tz = p.calendar.timezone();
    let mut d = starts.with_timezone(&tz).date_naive();
    for _ in 0..30 {
        d = d.pred_opt().unwrap_or(d);
        if p.calendar.is_working_day(d) {
            break;
        }
    }
    let open = p.cfg.hours.open;
    tz.from_local_datetime(&d.and_time(open))
        .earliest()
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or(starts - Duration::days(1))
}

fn base_context(p: &Pipeline, t: &Ticket, lang: &str) -> serde_json::Value {
    let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
    let level = Level::new(t.level).unwrap_or(Level::FIRST);
    json!({
        "tag": p.tag(t.id),
        "subject": strip_reply_prefixes(&t.subject),
        "requester": t.requester,
        "customer": t.customer,
        "category": t.category,
        "category_title": cat.title_one(lang),
        "level": t.level,
        "level_ordinal": level.ordinal(),
        "priority": t.priority,
        "priority_title": priority_title(&t.priority, lang),
        "status": t.status,
        "status_title": status_title(&t.status, lang == "en"),
        "covered": !t.billable,
        "display_name": p.cfg.display_name,
        "support_address": p.cfg.support_address,
        "first_response_due": t.first_response_due.as_deref().and_then(store::parse_ts)
            .map(|d| d.with_timezone(&p.calendar.timezone()).format("%d.%m.%Y %H:%M").to_string()),
    })
}

fn mail_team(
    p: &Pipeline,
    conn: &Connection,
    t: &Ticket,
    kind: &str,
    mut team: Vec<String>,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    team.sort();
    team.dedup();
    if team.is_empty() {
        return Ok(());
    }
    let mut ctx = base_context(p, t, &p.cfg.language);
    let text = store::ticket_new_text(conn, t.id, "", false).unwrap_or_default();
    ctx["text"] = json!(text);
    if let (Some(o), serde_json::Value::Object(e)) = (ctx.as_object_mut(), extra) {
        o.extend(e);
    }
    let (subject, body) = p.templates.render(kind, &p.cfg.language, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let seed = format!("{kind}|{}|{}|{}", t.id, t.level, store::ts(now));
    queue_mail(p, conn, QueuedMail::scheduled(kind, Some(t.id), team, (subject, body), &seed), now)?;
    Ok(())
}

/// Run one tick in its own transaction, taken for writing at once: a tick
/// reads, then writes (state keys at least), and a read transaction of WAL
/// cannot become a write one after another process committed (SQLite says
/// "database is locked" at once, without waiting: seen when `run --once`
/// raced 19 `ingest`s on a new store, once the pipeline's set-up no longer
/// spent 30 ms on the classifier first).
pub fn tick_store(p: &Pipeline, store: &mut store::Store, now: DateTime<Utc>) -> Result<Tick> {
    let tx = store.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let t = tick(p, &tx, now)?;
    tx.commit()?;
    Ok(t)
}
