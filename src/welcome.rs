//! Supportbeginn: the handover mail of the support concept ("teilen Ihnen
//! nochmals exakt mit, wie Sie den Support erreichen können …"). A customer's
//! `contacts` get it once, when the daemon's clock first sees the customer in
//! the config (start or reload), or on request (`supportd customer welcome
//! NAME`). It names the support address, the support hours and the closed
//! days of the coming months, the three levels and who is behind them (the
//! customer's project team on level 2), the five categories and what the
//! maintenance fee covers, how to get the ticket overview, the report cycle,
//! the personal contact person and the customer's specifics.
//!
//! Exactly once: the `welcome_sent` row (unique per customer for the
//! scheduled mail) commits with the outbox row. A customer the store knew
//! before this feature (an upgraded installation with tickets, or a
//! customer whose reports were already scheduled) is recorded as `known`
//! without a mail: nobody gets an unexpected handover years into support.

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::config::{Customer, ReportCycle};
use crate::domain::{Category, Level};
use crate::engine::{Pipeline, QueuedMail, queue_mail};
use crate::store;

/// How far ahead the handover lists the closed days (months).
pub const HOLIDAY_MONTHS: u32 = 6;

fn report_cycle_title(c: ReportCycle, en: bool) -> &'static str {
    match (c, en) {
        (ReportCycle::Monthly, false) => "monatlich",
        (ReportCycle::Quarterly, false) => "vierteljährlich",
        (ReportCycle::HalfYearly, false) => "halbjährlich",
        (ReportCycle::Yearly, false) => "jährlich",
        (ReportCycle::Monthly, true) => "monthly",
        (ReportCycle::Quarterly, true) => "quarterly",
        (ReportCycle::HalfYearly, true) => "half-yearly",
        (ReportCycle::Yearly, true) => "yearly",
    }
}

fn weekday_range(p: &Pipeline, en: bool) -> String {
    let days = p.calendar.weekdays();
    let name = |w: chrono::Weekday| {
        let d = NaiveDate::from_isoywd_opt(2026, 10, w).unwrap_or_default();
        crate::reports::weekday_name(d, if en { "en" } else { "de" })
    };
    let contiguous = days.windows(2).all(|w| w[1].num_days_from_monday() == w[0].num_days_from_monday() + 1);
    match (days.first(), days.last()) {
        (Some(a), Some(b)) if contiguous && days.len() > 2 => {
            if en {
                format!("{} to {}", name(*a), name(*b))
            } else {
                format!("{} bis {}", name(*a), name(*b))
            }
        }
        _ => days.iter().map(|w| name(*w)).collect::<Vec<_>>().join(", "),
    }
}

/// The closed days (holidays, extra closed days) on working weekdays from
/// `from` for [`HOLIDAY_MONTHS`] months.
fn closed_days(p: &Pipeline, from: NaiveDate, lang: &str) -> (NaiveDate, Vec<serde_json::Value>) {
    let to = from.checked_add_months(chrono::Months::new(HOLIDAY_MONTHS)).unwrap_or(from);
    let mut out = Vec::new();
    for year in from.year()..=to.year() {
        for h in p.calendar.holidays(year) {
            if h.date < from || h.date > to || !p.calendar.weekdays().contains(&h.date.weekday()) {
                continue;
            }
            out.push(json!({
                "date": h.date.format("%d.%m.%Y").to_string(),
                "weekday": crate::reports::weekday_name(h.date, lang),
                "name": if lang == "en" { h.name_en } else { h.name_de },
            }));
        }
    }
    (to, out)
}

/// Support hours as people write them: `4`, `1,5` (German) / `1.5`.
pub fn hours_text(h: f64, en: bool) -> String {
    let s = format!("{:.1}", h);
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    if en { s } else { s.replace('.', ",") }
}

/// The template context of a customer's handover mail at `now`.
pub fn context(p: &Pipeline, c: &Customer, now: DateTime<Utc>) -> serde_json::Value {
    let lang = c.language.as_str();
    let en = lang == "en";
    let tz = p.calendar.timezone();
    let today = now.with_timezone(&tz).date_naive();
    let (until, holidays) = closed_days(p, today, lang);
    let levels: Vec<serde_json::Value> = (1..=3)
        .filter_map(Level::new)
        .map(|l| {
            let project_team = if l.get() == 2 { c.project_team.clone() } else { Vec::new() };
            json!({"level": l.get(), "ordinal": l.ordinal(), "team": p.cfg.level_team(l), "project_team": project_team})
        })
        .collect();
    let categories: Vec<serde_json::Value> = Category::ALL
        .iter()
        .map(|cat| {
            let cc = p.cfg.category(*cat);
            json!({
                "id": cat.as_str(),
                "title": cat.title(lang),
                "covered": cat.covered_by_maintenance(),
                "first_response_hours": hours_text(cc.first_response_hours, en),
                "level": cc.level.get(),
            })
        })
        .collect();
    json!({
        "customer": c.name,
        "language": lang,
        "display_name": p.cfg.display_name,
        "support_address": p.cfg.support_address,
        "tag_prefix": p.cfg.tag_prefix,
        "support_days": weekday_range(p, en),
        "support_open": p.calendar.open_time().format("%H:%M").to_string(),
        "support_close": p.calendar.close_time().format("%H:%M").to_string(),
        "timezone": tz.name(),
        "bw_holidays": p.calendar.uses_bw_holidays(),
        "holidays": holidays,
        "holidays_until": until.format("%d.%m.%Y").to_string(),
        "levels": levels,
        "categories": categories,
        "contact_person": c.contact_person,
        "consultant": c.consultant,
        "report_cycle": c.report_cycle.as_str(),
        "report_cycle_title": report_cycle_title(c.report_cycle, en),
        "report_to": c.report_to,
        "specifics": c.specifics,
        "contacts": c.contacts,
    })
}

/// The rendered handover mail: (subject, body).
pub fn render(p: &Pipeline, c: &Customer, now: DateTime<Utc>) -> Result<(String, String)> {
    p.templates.render("welcome", &c.language, &context(p, c, now)).map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// Queue the handover mail to the customer's `contacts` and record it, in
/// the caller's transaction. `trigger`: `schedule` (once per customer: a
/// second one fails on the unique index) or `manual` (may repeat). Returns
/// the outbox id (None: no deliverable contact).
pub fn queue_welcome(
    p: &Pipeline,
    conn: &Connection,
    c: &Customer,
    trigger: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    anyhow::ensure!(trigger == "schedule" || trigger == "manual", "welcome trigger {trigger:?}");
    let (subject, body) = render(p, c, now)?;
    let seed = if trigger == "schedule" {
        format!("welcome|{}|schedule", c.name)
    } else {
        let n: i64 = conn.query_row("SELECT count(*) FROM welcome_sent", [], |r| r.get(0))?;
        format!("welcome|{}|manual|{}|{n}", c.name, store::ts(now))
    };
    let id =
        queue_mail(p, conn, QueuedMail::scheduled("welcome", None, c.contacts.clone(), (subject, body), &seed), now)?;
    record(conn, &c.name, trigger, id, now)
        .with_context(|| format!("recording the {trigger} handover mail of {}", c.name))?;
    store::insert_event(
        conn,
        None,
        None,
        now,
        "supportd",
        "welcome",
        &format!("{trigger} handover mail of {} to {}", c.name, c.contacts.join(", ")),
    )?;
    Ok(id)
}

fn record(conn: &Connection, customer: &str, trigger: &str, outbox: Option<i64>, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("INSERT INTO welcome_sent (customer, trigger, outbox_id, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![customer, trigger, outbox, store::ts(now)])?;
    Ok(())
}

/// Whether the customer's handover is done (`schedule`) or was not needed (`known`).
pub fn settled(conn: &Connection, customer: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT trigger FROM welcome_sent WHERE customer = ?1 AND trigger IN ('schedule', 'known')")?
        .query_row([customer], |r| r.get(0))
        .optional()?)
}

/// Whether the store knew the customer before the welcome mail existed:
/// it has tickets of the customer, or its reports were already scheduled.
fn known_before(conn: &Connection, customer: &str) -> Result<bool> {
    let tickets: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM tickets INDEXED BY tickets_customer_live WHERE customer = ?1 \
             AND merged_into IS NULL LIMIT 1)",
        )?
        .query_row([customer], |r| r.get(0))?;
    Ok(tickets > 0 || store::get_state(conn, &crate::reports::since_key(customer))?.is_some())
}

/// The clock's part, in the caller's transaction (before the reports'
/// part, which marks a customer as seen): every configured customer with
/// `contacts` whose handover is not settled gets it now, or is recorded as
/// `known` when the store knew it before. Returns the customers mailed.
pub fn tick_welcome(p: &Pipeline, conn: &Connection, now: DateTime<Utc>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in &p.cfg.customers {
        if c.contacts.is_empty() || settled(conn, &c.name)?.is_some() {
            continue;
        }
        if known_before(conn, &c.name)? {
            record(conn, &c.name, "known", None, now)?;
            store::insert_event(
                conn,
                None,
                None,
                now,
                "supportd",
                "welcome",
                &format!("{} was known before: no handover mail (send one with `supportd customer welcome`)", c.name),
            )?;
            continue;
        }
        queue_welcome(p, conn, c, "schedule", now)?;
        tracing::info!(customer = c.name, "handover mail queued");
        out.push(c.name.clone());
    }
    Ok(out)
}
