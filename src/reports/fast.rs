//! A ticket report from the figures kept per customer and month (migration
//! 0019, `store::report_months`): what `supportd report` prints as text or
//! HTML sums a few hundred rows whatever the number of tickets in the
//! period (issue #18). Only a few tickets are still read one by one: the
//! ones it lists (at most [`LISTED_MAX`], in id order), the escalated
//! ones, the answered ones whose support seconds are not stored yet, the
//! ones that waited on the customer before their first answer, and, from an
//! index, the unanswered ones opened within the longest first-response
//! target before the period's end (pending or missed by their own target's
//! cutoff). The figures are the same as
//! [`reports::compute`](crate::reports::compute)'s, which reads every
//! ticket (the CSV still does: it lists them all); `tests/report_months.rs`
//! compares the two.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rusqlite::Connection;

use crate::calendar::SupportTimeTable;
use crate::config::Customer;
use crate::domain::{Category, Priority, Status};
use crate::engine::Pipeline;
use crate::reports::{
    Facts, Figures, LISTED_MAX, Period, Report, assemble, escalation_line, first_response_time, local_at,
    parsed_history, ticket_facts, ticket_line,
};
use crate::store::{self, report_months as rm};

/// What the kept figures depend on besides the rows: the support calendar
/// (time zone, hours, holidays). Another one fills the tables again.
pub fn calendar_fingerprint(p: &Pipeline) -> String {
    format!("{:?}", p.cfg.hours)
}

/// The UTC start (stored form) of every local month from 1970 to 2199 in `tz`, with its `YYYY-MM`.
pub fn month_bounds(tz: crate::zone::Zone) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(230 * 12);
    for y in 1970..2200 {
        for m in 1..=12 {
            let Some(d) = NaiveDate::from_ymd_opt(y, m, 1) else { continue };
            out.push((store::ts(local_at(tz, d, NaiveTime::MIN)), format!("{y}-{m:02}")));
        }
    }
    out
}

/// Keep the report tables, in the caller's transaction (a savepoint): fill
/// them anew when the support calendar is not the one they were filled for
/// (the first start after migration 0019, or a changed `[hours]`), and
/// store the support seconds of first responses given since the last time
/// (the outbox sets `first_response_at` without the calendar). Called by
/// every writer that has the config (`cli::open`, the clock).
pub fn refresh(p: &Pipeline, conn: &Connection) -> Result<()> {
    let fp = calendar_fingerprint(p);
    let again = rm::filled_for(conn)?.as_deref() != Some(fp.as_str());
    conn.execute_batch("SAVEPOINT report_months")?;
    let r = (|| -> Result<()> {
        let ids = rm::unmeasured(conn, again)?;
        for chunk in ids.chunks(1000) {
            measure(p, conn, chunk)?;
        }
        if again {
            rm::rebuild(conn, &month_bounds(p.calendar.timezone()), &fp)?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => conn.execute_batch("RELEASE report_months")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO report_months; RELEASE report_months");
            return Err(e);
        }
    }
    Ok(())
}

/// Store the first response in support seconds of the answered tickets `ids`.
fn measure(p: &Pipeline, conn: &Connection, ids: &[i64]) -> Result<()> {
    let mut inputs = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some((created, first, history)) = rm::first_response_inputs(conn, id)? else { continue };
        let (Some(c), Some(f)) = (store::parse_ts(&created), store::parse_ts(&first)) else { continue };
        let history: Vec<(i64, String, String)> = history.into_iter().map(|(s, at)| (id, s, at)).collect();
        inputs.push((id, c, f, history));
    }
    let Some(from) = inputs.iter().map(|x| x.1).min() else { return Ok(()) };
    let to = inputs.iter().map(|x| x.2).max().unwrap_or(from);
    let clock = p.calendar.support_time_table(from, to);
    for (id, c, f, history) in &inputs {
        let d = first_response_time(&clock, *c, *f, &parsed_history(history));
        rm::set_first_response_secs(conn, *id, Some(d.num_seconds()))?;
    }
    Ok(())
}

/// The first-response target of a category and priority, in seconds (as the report compares it).
fn target_secs(p: &Pipeline, cat: Category, prio: Priority) -> i64 {
    (p.cfg.sla_targets(cat, prio).0 * 3600.0).round() as i64
}

/// The tickets `ids` (any order, repeats allowed) with their figures for
/// `[start, end)`: those the period shows, by id.
fn facts_of(
    p: &Pipeline,
    conn: &Connection,
    ids: &[i64],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<(store::ReportRows, Vec<Facts>)> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let rows = store::report_rows_of(conn, &ids, start, end)?;
    let earliest = rows.tickets.iter().filter_map(|t| store::parse_ts(&t.created_at)).min().unwrap_or(start);
    let clock = p.calendar.support_time_table(earliest.min(start), end);
    let mut facts = Vec::new();
    let mut h = 0usize;
    for (i, t) in rows.tickets.iter().enumerate() {
        let history = super::rows_of(&rows.history, &mut h, t.id);
        if let Some(f) = ticket_facts(p, &clock, (start, end), t, history, i) {
            facts.push(f);
        }
    }
    Ok((rows, facts))
}

/// The `k`-th smallest (0-based) of a histogram of values.
fn kth(hist: &BTreeMap<i64, usize>, k: usize) -> Option<i64> {
    let mut seen = 0;
    for (v, n) in hist {
        seen += n;
        if seen > k {
            return Some(*v);
        }
    }
    None
}

/// The earliest whole second `c` in `[start, end]` whose support time up
/// to `end` is at most `target`: a ticket opened at or after it (stored
/// times are whole seconds) and unanswered at `end`, that never waited on
/// the customer, is pending; one opened before it has missed its target.
fn cutoff(clock: &SupportTimeTable<'_>, start: DateTime<Utc>, end: DateTime<Utc>, target: Duration) -> DateTime<Utc> {
    if clock.between(start, end) <= target {
        return start;
    }
    // clock.between(lo, end) > target >= clock.between(hi, end)
    let (mut lo, mut hi) = (start.timestamp(), end.timestamp());
    let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap_or(end);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if clock.between(at(mid), end) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(hi)
}

/// The report of `customer` for `period` as of `now` from the kept figures,
/// with the listed tickets (no `all_tickets`: the CSV reads every ticket);
/// None when the figures cannot give it exactly (not filled for this
/// calendar, a target that is not a whole minute meets a first response
/// in that minute, an unknown status, a ticket stamped after `now`).
pub fn compute(
    p: &Pipeline,
    conn: &Connection,
    customer: &Customer,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Option<Report>> {
    if rm::filled_for(conn)?.as_deref() != Some(calendar_fingerprint(p).as_str()) {
        return Ok(None);
    }
    let tz = p.calendar.timezone();
    let lang = customer.language.as_str();
    let start = period.start(tz);
    let period_end = period.end(tz);
    let partial = now < period_end;
    let end = period_end.min(now);
    if end <= start {
        return Ok(None);
    }
    let (s, e) = (store::ts(start), store::ts(end));
    let cust = customer.name.as_str();
    if partial && rm::opened_since(conn, cust, &e)? {
        return Ok(None);
    }
    let months = period.months();
    let label = |(y, m): (i32, u32)| format!("{y}-{m:02}");
    let (first, last) = (label(months[0]), label(months[months.len() - 1]));
    let (opened, answered, spans) = rm::period_rows(conn, cust, &first, &last)?;
    let mut fig = Figures::empty(period);

    // Opened in the period, and open and unanswered now (the current period).
    let mut unanswered_open = 0usize;
    for r in &opened {
        let Ok(n) = usize::try_from(r.n) else { return Ok(None) };
        fig.opened += n;
        let cat = Category::parse(&r.category).unwrap_or(Category::UsageQuestion);
        if let Some(c) = fig.by_cat.iter_mut().find(|(c, _)| *c == cat) {
            c.1 += n;
        }
        fig.by_level[(r.level.clamp(1, 3) - 1) as usize] += n;
        if let Some(m) = fig.per_month.iter_mut().find(|(m, _)| label(*m) == r.month) {
            m.1 += n;
        }
        if r.billable {
            fig.billable += n;
        } else {
            fig.covered += n;
        }
        if r.unanswered_open {
            unanswered_open += n;
        }
    }

    // The status at the period's end: the history rows that were their ticket's last then.
    for r in &spans {
        let (Some(st), Ok(n)) = (Status::parse(&r.status), usize::try_from(r.n)) else { return Ok(None) };
        let counted = if st.is_open() {
            fig.open_at_end += n;
            true
        } else if r.month >= first {
            fig.closed += n;
            true
        } else {
            false
        };
        if counted && let Some(x) = fig.by_status.iter_mut().find(|(x, _)| *x == st) {
            x.1 += n;
        }
    }

    // First responses before the end: the histogram, then the answers not measured yet.
    let mut minutes: BTreeMap<i64, usize> = BTreeMap::new();
    for r in &answered {
        let Ok(n) = usize::try_from(r.n) else { return Ok(None) };
        let cat = Category::parse(&r.category).unwrap_or(Category::UsageQuestion);
        let prio = Priority::parse(&r.priority).unwrap_or(Priority::Normal);
        let target = target_secs(p, cat, prio);
        let (k, rest) = (target.div_euclid(60), target.rem_euclid(60));
        let met = match r.minutes.cmp(&k) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal if r.whole => true,
            std::cmp::Ordering::Equal if rest == 0 => false,
            // Seconds past the target's whole minute: the minute does not tell.
            std::cmp::Ordering::Equal => return Ok(None),
        };
        if met {
            fig.sla_met += n;
        } else {
            fig.sla_missed += n;
        }
        *minutes.entry(r.minutes).or_default() += n;
    }
    let (_, unmeasured) = facts_of(p, conn, &rm::unmeasured_in(conn, cust, &s, &e)?, (start, end))?;
    for f in unmeasured.iter().filter(|f| f.opened_in) {
        if let Some(m) = f.first_response {
            *minutes.entry(m).or_default() += 1;
        }
        match f.sla {
            "met" => fig.sla_met += 1,
            "missed" => fig.sla_missed += 1,
            _ => {}
        }
    }
    let n: usize = minutes.values().sum();
    fig.first_responses = n;
    if n > 0 {
        fig.first_response_median = if n % 2 == 1 {
            kth(&minutes, n / 2)
        } else {
            Some((kth(&minutes, n / 2 - 1).unwrap_or(0) + kth(&minutes, n / 2).unwrap_or(0)) / 2)
        };
        fig.first_response_p90 = kth(&minutes, (n * 9).div_ceil(10).max(1) - 1);
    }

    // Unanswered at the end and open then: pending when the support time
    // from its opening to the end is within its target, i.e. opened at or
    // after the target's cutoff (the clock pauses only for the ones that
    // waited on the customer: those one by one), else missed.
    let clock = p.calendar.support_time_table(start, end);
    let mut cuts: BTreeMap<(Category, Priority), String> = BTreeMap::new();
    for c in Category::ALL {
        for pr in Priority::ALL {
            let cut = cutoff(&clock, start, end, Duration::seconds(target_secs(p, *c, *pr)));
            cuts.insert((*c, *pr), store::ts(cut));
        }
    }
    let earliest = cuts.values().min().cloned().unwrap_or_else(|| s.clone()).max(s.clone());
    let mut pending = 0usize;
    let one_by_one = rm::waited(conn, cust, &s, &e)?;
    let unanswered_open = if partial {
        rm::unanswered_open_since(conn, cust, &earliest, &e, |created, cat, prio| {
            let cat = Category::parse(cat).unwrap_or(Category::UsageQuestion);
            let prio = Priority::parse(prio).unwrap_or(Priority::Normal);
            if cuts.get(&(cat, prio)).is_some_and(|cut| created >= cut.as_str()) {
                pending += 1;
            }
        })?;
        unanswered_open
    } else {
        // A past period: the status and the answer at its end from the spans;
        // of the ones opened after their target's cutoff, the status at the end.
        rm::unanswered_at_since(conn, cust, &earliest, &e, |id, created, cat, prio| {
            let cat = Category::parse(cat).unwrap_or(Category::UsageQuestion);
            let prio = Priority::parse(prio).unwrap_or(Priority::Normal);
            if cuts.get(&(cat, prio)).is_some_and(|cut| created >= cut.as_str())
                && rm::status_at(conn, id, &e)?.as_deref().and_then(Status::parse).unwrap_or(Status::New).is_open()
            {
                pending += 1;
            }
            Ok(())
        })?;
        let mut n = 0usize;
        for r in &spans {
            if Status::parse(&r.status).is_some_and(Status::is_open)
                && r.opened_month >= first
                && r.opened_month <= last
                && r.answered_month > last
            {
                n += r.n as usize;
            }
        }
        n
    };
    // The ones that waited on the customer before their answer.
    let (_, facts) = facts_of(p, conn, &one_by_one, (start, end))?;
    pending +=
        facts.iter().filter(|f| f.opened_in && f.first_response.is_none() && f.open_end && f.sla == "pending").count();
    let Some(missed) = unanswered_open.checked_sub(pending) else { return Ok(None) };
    fig.sla_pending += pending;
    fig.sla_missed += missed;

    // The period's escalations, of the tickets it shows.
    let esc_rows = rm::escalations(conn, cust, &s, &e)?;
    let esc_ids: Vec<i64> = esc_rows.iter().map(|x| x.0).collect();
    let (esc_tickets, esc_facts) = facts_of(p, conn, &esc_ids, (start, end))?;
    let shown: std::collections::HashSet<i64> = esc_facts.iter().map(|f| esc_tickets.tickets[f.row].id).collect();
    let mut escalations = Vec::new();
    let mut esc_count: BTreeMap<i64, usize> = BTreeMap::new();
    for (id, at, detail) in &esc_rows {
        let Some(at) = store::parse_ts(at).filter(|at| *at >= start && *at < end) else { continue };
        if shown.contains(id) {
            *esc_count.entry(*id).or_default() += 1;
            escalations.push(escalation_line(p, lang, *id, at, detail));
        }
    }

    // The listed tickets: the first open ones at the end by id, then the others.
    let tickets_total = fig.open_at_end + fig.closed;
    let open_ids =
        if partial { rm::open_now(conn, cust, LISTED_MAX)? } else { rm::open_candidates_at(conn, cust, &e)? };
    let mut listed: Vec<(store::ReportRow, Facts)> = Vec::new();
    // In id order, a few at a time, until LISTED_MAX were open at the end.
    for batch in open_ids.chunks(LISTED_MAX + 28) {
        let (rows, facts) = facts_of(p, conn, batch, (start, end))?;
        for f in facts.into_iter().filter(|f| f.open_end) {
            if listed.len() < LISTED_MAX {
                listed.push((rows.tickets[f.row].clone(), f));
            }
        }
        if listed.len() >= LISTED_MAX {
            break;
        }
    }
    if listed.len() < LISTED_MAX && tickets_total > listed.len() {
        let need = (LISTED_MAX - listed.len()).min(tickets_total - listed.len());
        let mut others: Vec<(store::ReportRow, Facts)> = Vec::new();
        rm::shown_in_order(conn, cust, &s, &e, |batch| {
            let (rows, facts) = facts_of(p, conn, batch, (start, end))?;
            for f in facts.into_iter().filter(|f| !f.open_end) {
                if others.len() < need {
                    others.push((rows.tickets[f.row].clone(), f));
                }
            }
            Ok(others.len() >= need)
        })?;
        listed.extend(others);
    }
    listed.sort_by_key(|(t, _)| t.id);
    let tickets = listed
        .into_iter()
        .map(|(t, mut f)| {
            f.escalations = esc_count.get(&t.id).copied().unwrap_or(0);
            ticket_line(p, lang, &t, &f, t.subject.as_deref().unwrap_or_default())
        })
        .collect();
    Ok(Some(assemble(p, customer, period, now, fig, (tickets, tickets_total), escalations, Vec::new())))
}
