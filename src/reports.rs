//! Ticket overview on request and periodic ticket reports (`docs/contracts.md`; README "Ticket reports").
//! Which tickets a sender may see, and the words that ask for an overview,
//! are pure functions here; so are report periods (parsing, boundaries,
//! when a report is due) and the report formats (text, CSV, HTML with an
//! inline SVG chart). [`compute`] reads one customer's tickets from the
//! store; [`queue_report`] and [`tick_reports`] write the report mail.

use std::sync::LazyLock;

use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use regex::Regex;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use crate::calendar::BusinessCalendar;
use crate::calendar::MONTHS_EN;
use crate::calendar::SupportTimeTable;
use crate::config::{Customer, ReportCycle};
use crate::domain::{Category, Priority, Status};
use crate::engine::{Pipeline, QueuedMail, queue_mail_parts};
use crate::store;
use crate::templates::Attachment;
pub mod fast;

pub use crate::words::{asks_about_one_ticket, asks_for_overview, weekday_name};
use crate::words::{status_title, strip_reply_prefixes};

/// Weekday from its index, for callers that need the enum.
pub fn weekday(i: u32) -> Weekday {
    Weekday::try_from(i as u8).unwrap_or(Weekday::Mon)
}

// ---------------------------------------------------------------------------
// Periods

/// One report period: a month, quarter, half-year or year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub cycle: ReportCycle,
    pub year: i32,
    /// Month 1..=12, quarter 1..=4, half 1..=2, or 1 for a year.
    pub index: u32,
}

fn months_per(cycle: ReportCycle) -> u32 {
    match cycle {
        ReportCycle::Monthly => 1,
        ReportCycle::Quarterly => 3,
        ReportCycle::HalfYearly => 6,
        ReportCycle::Yearly => 12,
    }
}

const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

impl Period {
    /// `2026-11` (month), `2026-Q4` (quarter), `2026-H2` (half-year), `2026` (year).
    pub fn parse(s: &str) -> Result<Period, String> {
        let bad = || format!("{s:?}: a period is written 2026-11, 2026-Q4, 2026-H2 or 2026");
        let t = s.trim();
        let (y, rest) = match t.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (t, None),
        };
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        if year < 1970 {
            return Err(bad());
        }
        let num = |r: &str, max: u32| -> Result<u32, String> {
            match r.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) && r.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
                _ => Err(bad()),
            }
        };
        let (cycle, index) = match rest {
            None => (ReportCycle::Yearly, 1),
            Some(r) if r.len() == 2 && (r.starts_with('Q') || r.starts_with('q')) => {
                (ReportCycle::Quarterly, num(&r[1..], 4)?)
            }
            Some(r) if r.len() == 2 && (r.starts_with('H') || r.starts_with('h')) => {
                (ReportCycle::HalfYearly, num(&r[1..], 2)?)
            }
            Some(r) if r.len() == 2 => (ReportCycle::Monthly, num(r, 12)?),
            Some(_) => return Err(bad()),
        };
        Ok(Period { cycle, year, index })
    }

    /// The period of `cycle` that contains the local date `d`.
    pub fn containing(cycle: ReportCycle, d: NaiveDate) -> Period {
        Period { cycle, year: d.year(), index: (d.month() - 1) / months_per(cycle) + 1 }
    }

    /// First day (local date, inclusive).
    pub fn first_day(&self) -> NaiveDate {
        let month = (self.index - 1) * months_per(self.cycle) + 1;
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The first day after the period (local date, exclusive end).
    pub fn end_day(&self) -> NaiveDate {
        self.next().first_day()
    }

    /// The last day of the period (inclusive).
    pub fn last_day(&self) -> NaiveDate {
        self.end_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    pub fn next(&self) -> Period {
        let n = 12 / months_per(self.cycle);
        if self.index >= n {
            Period { cycle: self.cycle, year: self.year + 1, index: 1 }
        } else {
            Period { index: self.index + 1, ..*self }
        }
    }

    pub fn prev(&self) -> Period {
        let n = 12 / months_per(self.cycle);
        if self.index <= 1 {
            Period { cycle: self.cycle, year: self.year - 1, index: n }
        } else {
            Period { index: self.index - 1, ..*self }
        }
    }

    /// As written on the command line and stored: `2026-11`, `2026-Q4`, `2026-H2`, `2026`.
    pub fn label(&self) -> String {
        match self.cycle {
            ReportCycle::Monthly => format!("{}-{:02}", self.year, self.index),
            ReportCycle::Quarterly => format!("{}-Q{}", self.year, self.index),
            ReportCycle::HalfYearly => format!("{}-H{}", self.year, self.index),
            ReportCycle::Yearly => format!("{}", self.year),
        }
    }

    /// In words: "November 2026", "4. Quartal 2026" / "Q4 2026", …
    pub fn title(&self, lang: &str) -> String {
        let en = lang == "en";
        match self.cycle {
            ReportCycle::Monthly => {
                let i = (self.index as usize).clamp(1, 12) - 1;
                format!("{} {}", if en { MONTHS_EN[i] } else { MONTHS_DE[i] }, self.year)
            }
            ReportCycle::Quarterly if en => format!("Q{} {}", self.index, self.year),
            ReportCycle::Quarterly => format!("{}. Quartal {}", self.index, self.year),
            ReportCycle::HalfYearly if en => {
                format!("{} half of {}", if self.index == 1 { "first" } else { "second" }, self.year)
            }
            ReportCycle::HalfYearly => format!("{}. Halbjahr {}", self.index, self.year),
            ReportCycle::Yearly if en => format!("the year {}", self.year),
            ReportCycle::Yearly => format!("Jahr {}", self.year),
        }
    }

    /// The months of the period: (year, month).
    pub fn months(&self) -> Vec<(i32, u32)> {
        let first = (self.index - 1) * months_per(self.cycle) + 1;
        (first..first + months_per(self.cycle)).map(|m| (self.year, m)).collect()
    }

    /// Start instant: local midnight of the first day in `tz`.
    pub fn start(&self, tz: crate::zone::Zone) -> DateTime<Utc> {
        local_at(tz, self.first_day(), NaiveTime::MIN)
    }

    /// End instant (exclusive): local midnight after the last day.
    pub fn end(&self, tz: crate::zone::Zone) -> DateTime<Utc> {
        local_at(tz, self.end_day(), NaiveTime::MIN)
    }
}

/// A local date and time in `tz` as UTC (a time in a DST gap moves forward by an hour).
pub fn local_at(tz: crate::zone::Zone, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let naive = d.and_time(t);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(naive + Duration::hours(1))).earliest())
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

/// The period of `cycle` that ended last before `now` (local time of `tz`).
pub fn period_just_ended(cycle: ReportCycle, now: DateTime<Utc>, tz: crate::zone::Zone) -> Period {
    Period::containing(cycle, now.with_timezone(&tz).date_naive()).prev()
}

/// When the report for `period` is due: the first working day (support
/// calendar) on or after the day the period ended, at `send_at` local time.
pub fn report_due_at(period: &Period, cal: &BusinessCalendar, send_at: NaiveTime) -> DateTime<Utc> {
    let mut d = period.end_day();
    for _ in 0..60 {
        if cal.is_working_day(d) {
            break;
        }
        d = d.succ_opt().unwrap_or(d);
    }
    local_at(cal.timezone(), d, send_at)
}

/// How many missed periods are caught up at most.
pub const MAX_CATCH_UP: usize = 12;

/// The periods whose scheduled report is due at `now`, oldest first: every
/// period of `cycle` whose due time ([`report_due_at`]) lies between `since`
/// (when the daemon first looked at this customer's reports) and `now`, at
/// most [`MAX_CATCH_UP`] back. So a report missed while the daemon was down
/// is sent when it is back, and a new installation (or a newly configured
/// customer) does not send reports of the past. Whether one was sent
/// already is the caller's question.
pub fn periods_due(
    cycle: ReportCycle,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    cal: &BusinessCalendar,
    send_at: NaiveTime,
) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = period_just_ended(cycle, now, cal.timezone());
    for _ in 0..MAX_CATCH_UP {
        let due = report_due_at(&p, cal, send_at);
        if due < since {
            break;
        }
        if due <= now {
            out.push(p);
        }
        p = p.prev();
    }
    out.reverse();
    out
}

// ---------------------------------------------------------------------------
// Report content

/// One named count.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub title: String,
    pub n: usize,
    /// `title` padded to 30 characters, for the text columns.
    pub pad: String,
}

impl Count {
    fn new(key: impl Into<String>, title: impl Into<String>, n: usize) -> Count {
        let title = title.into();
        Count { key: key.into(), pad: format!("{title:<30}"), title, n }
    }
}

/// One ticket's facts in a report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportTicket {
    pub tag: String,
    pub subject: String,
    pub category: String,
    pub category_title: String,
    pub level: i64,
    /// "1st", "2nd", "3rd" (the concept's level names).
    pub level_ordinal: &'static str,
    pub priority: String,
    /// Status at the end of the period.
    pub status: String,
    pub status_title: String,
    pub billable: bool,
    pub opened: String,
    /// `opened` as an ISO date (CSV).
    pub opened_date: String,
    /// `closed` as an ISO date (CSV), or empty.
    pub closed_date: String,
    /// Date it was closed (resolved/closed) if it was closed at the end of the period.
    pub closed: String,
    pub opened_in_period: bool,
    /// First response in support minutes (pauses while waiting on the customer excluded).
    pub first_response_minutes: Option<i64>,
    pub first_response: String,
    /// `met`, `missed`, `pending` (no first response yet, target not yet used up).
    pub sla: String,
    pub sla_title: String,
    pub escalations: usize,
}

/// An escalation in the period.
#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub tag: String,
    pub date: String,
    pub detail: String,
}

/// A periodic ticket report of one customer for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub customer: String,
    pub language: String,
    pub period: String,
    pub period_title: String,
    pub from: String,
    pub to: String,
    /// The period has not ended yet: figures as of `as_of`.
    pub partial: bool,
    pub as_of: String,
    pub opened: usize,
    pub closed: usize,
    pub open_at_end: usize,
    pub by_category: Vec<Count>,
    pub by_level: Vec<Count>,
    pub by_status: Vec<Count>,
    pub per_month: Vec<Count>,
    /// Tickets opened in the period that are change requests (not covered by maintenance).
    pub billable: usize,
    pub covered: usize,
    pub first_responses: usize,
    pub first_response_median: String,
    pub first_response_p90: String,
    pub sla_met: usize,
    pub sla_missed: usize,
    pub sla_pending: usize,
    /// The escalations listed (at most [`LISTED_MAX`], the first ones).
    pub escalations: Vec<Escalation>,
    /// Escalations in the period (`escalations` may list fewer).
    pub escalations_total: usize,
    pub escalations_left_out: usize,
    /// The tickets the text and the HTML list: every ticket of the period,
    /// or over [`LISTED_MAX`] the open ones first ([`LISTED_MAX`]).
    pub tickets: Vec<ReportTicket>,
    /// Tickets in the period (`tickets` may list fewer).
    pub tickets_total: usize,
    pub tickets_left_out: usize,
    /// Every ticket of the period, for the CSV (empty from [`compute_summary`]).
    #[serde(skip)]
    pub all_tickets: Vec<ReportTicket>,
}

/// Short category names for the chart.
pub fn category_short(c: Category, lang: &str) -> &'static str {
    match (c, lang == "en") {
        (Category::FunctionalError, true) => "Functional error",
        (Category::SecurityError, true) => "Security error",
        (Category::UsageQuestion, true) => "Usage question",
        (Category::UserManagement, true) => "Users/permissions",
        (Category::ChangeRequest, true) => "Change request",
        (Category::FunctionalError, false) => "Funktionaler Fehler",
        (Category::SecurityError, false) => "Sicherheitsfehler",
        (Category::UsageQuestion, false) => "Bedienungsfrage",
        (Category::UserManagement, false) => "Benutzer/Rechte",
        (Category::ChangeRequest, false) => "Änderungsanforderung",
    }
}

/// Support minutes as `h:mm h`.
pub fn hm(minutes: i64) -> String {
    format!("{}:{:02} h", minutes / 60, minutes % 60)
}

/// Median (mean of the two middle values for an even count) of sorted values.
pub fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// The 90th percentile by the nearest-rank method (the ⌈0.9·n⌉-th value) of sorted values.
pub fn p90(sorted: &[i64]) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * 9).div_ceil(10).max(1);
    Some(sorted[rank - 1])
}

fn date_fmt(d: DateTime<Utc>, tz: crate::zone::Zone, lang: &str) -> String {
    let l = d.with_timezone(&tz);
    if lang == "en" { l.format("%Y-%m-%d").to_string() } else { l.format("%d.%m.%Y").to_string() }
}

fn day_fmt(d: NaiveDate, lang: &str) -> String {
    if lang == "en" { d.format("%Y-%m-%d").to_string() } else { d.format("%d.%m.%Y").to_string() }
}

static ESCALATED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"level (\d) -> (\d)").expect("static regex"));

/// The customer's words for an escalation event ("… level 1 -> 2" as the clock records it).
fn escalation_words(detail: &str, en: bool) -> String {
    match ESCALATED.captures(detail) {
        Some(c) if en => {
            format!(
                "no first response within the target time: raised from {} to {} Level Support",
                level_ordinal(&c[1]),
                level_ordinal(&c[2])
            )
        }
        Some(c) => format!(
            "Zielzeit der ersten Antwort überschritten: vom {} Level an den {} Level Support übergeben",
            level_ordinal(&c[1]),
            level_ordinal(&c[2])
        ),
        None => detail.to_string(),
    }
}

fn sla_title(sla: &str, en: bool) -> &'static str {
    match (sla, en) {
        ("met", false) => "eingehalten",
        ("missed", false) => "verfehlt",
        ("pending", false) => "offen",
        ("met", true) => "met",
        ("missed", true) => "missed",
        ("pending", true) => "pending",
        _ => "",
    }
}

/// Most tickets (and escalations) the text and the HTML of a report list;
/// the CSV lists every ticket. A busy customer's yearly report had 46,785
/// tickets: 140,000 lines of mail nobody reads, and most of the time it
/// took. Over the cap the list shows the tickets still open at the
/// period's end first (then the others), in ticket order, and says how
/// many it leaves out.
pub const LISTED_MAX: usize = 100;

/// The report of `customer` for `period`, from the store, as of `now`: only
/// this customer's tickets (merged ones left out). A period not yet ended is
/// reported up to `now` (`partial`). With every ticket for the CSV
/// (`all_tickets`); [`compute_summary`] when only the text or HTML is wanted.
pub fn compute(
    p: &Pipeline,
    conn: &Connection,
    customer: &Customer,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Report> {
    compute_with(p, conn, customer, period, now, true)
}

/// [`compute`] without `all_tickets`: the same figures and listed tickets,
/// without building a line for every ticket (`supportd report` as text or
/// HTML). From the figures kept per month ([`fast`]: a few
/// hundred rows whatever the size), or where they cannot give it exactly
/// as [`compute_by_ticket`].
pub fn compute_summary(
    p: &Pipeline,
    conn: &Connection,
    customer: &Customer,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Report> {
    // One read transaction for all the reads (one snapshot, one lock).
    conn.execute_batch("SAVEPOINT report_read")?;
    let fast = fast::compute(p, conn, customer, period, now);
    conn.execute_batch("RELEASE report_read")?;
    if let Some(r) = fast? {
        return Ok(r);
    }
    compute_with(p, conn, customer, period, now, false)
}

/// [`compute_summary`] from every ticket of the period and its history
/// (linear in them; what the kept figures are compared with in the tests).
pub fn compute_by_ticket(
    p: &Pipeline,
    conn: &Connection,
    customer: &Customer,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Report> {
    compute_with(p, conn, customer, period, now, false)
}

/// One ticket's figures in a report, before it becomes a [`ReportTicket`].
pub(crate) struct Facts {
    /// Index into the rows read.
    pub(crate) row: usize,
    pub(crate) created: DateTime<Utc>,
    pub(crate) status_end: Status,
    pub(crate) closed_at: Option<DateTime<Utc>>,
    pub(crate) opened_in: bool,
    pub(crate) closed_in: bool,
    pub(crate) open_end: bool,
    pub(crate) first_response: Option<i64>,
    pub(crate) sla: &'static str,
    pub(crate) escalations: usize,
}

/// [`store::waiting_from_history`] over a history whose times are parsed already.
fn waiting_pauses(
    history: &[(&str, Option<Status>, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut start: Option<DateTime<Utc>> = None;
    for (status, _, at) in history {
        match (*status == "waiting", start) {
            (true, None) => start = Some(*at),
            (false, Some(s)) => {
                out.push((s, *at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, now));
    }
    out
}

/// The first response of a ticket created at `created` and answered at
/// `first`, in support time: the clock pauses while it waits on the customer
/// (`history`: (ticket, status, at) in time order).
pub(crate) fn first_response_time(
    clock: &SupportTimeTable<'_>,
    created: DateTime<Utc>,
    first: DateTime<Utc>,
    history: &[(&str, Option<Status>, DateTime<Utc>)],
) -> Duration {
    clock.between_excluding(created, first, &waiting_pauses(history, first))
}

/// A history's rows with their times parsed (rows with an unreadable time left out).
pub(crate) fn parsed_history(history: &[(i64, String, String)]) -> Vec<(&str, Option<Status>, DateTime<Utc>)> {
    history.iter().filter_map(|(_, s, at)| Some((s.as_str(), Status::parse(s), store::parse_ts(at)?))).collect()
}

/// The rows of ticket `id` in `rows` (sorted by ticket), read on from
/// `*pos`, which ends past them: one pass over all tickets in id order.
pub(crate) fn rows_of<'a>(rows: &'a [(i64, String, String)], pos: &mut usize, id: i64) -> &'a [(i64, String, String)] {
    while *pos < rows.len() && rows[*pos].0 < id {
        *pos += 1;
    }
    let from = *pos;
    while *pos < rows.len() && rows[*pos].0 == id {
        *pos += 1;
    }
    &rows[from..*pos]
}

/// One ticket's figures for a report of `[start, end)` (`history`: its
/// status history in time order); None when the period does not show it
/// (opened after, or closed for good before, or an unreadable time).
/// Escalations are the caller's.
pub(crate) fn ticket_facts(
    p: &Pipeline,
    clock: &SupportTimeTable<'_>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    t: &store::ReportRow,
    history: &[(i64, String, String)],
    row: usize,
) -> Option<Facts> {
    let created = store::parse_ts(&t.created_at)?;
    if created >= end {
        return None;
    }
    let raw_history = parsed_history(history);
    let history = || raw_history.iter().filter_map(|(_, s, at)| Some(((*s)?, *at)));
    let status_end = history().rev().find(|(_, at)| *at < end).map(|(s, _)| s).unwrap_or(Status::New);
    let opened_in = created >= start;
    let closed_in = !status_end.is_open() && history().any(|(s, at)| !s.is_open() && at >= start && at < end);
    let open_end = status_end.is_open();
    if !(opened_in || closed_in || open_end) {
        return None;
    }
    let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
    let closed_at = if status_end.is_open() {
        None
    } else {
        history().rev().find(|(s, at)| !s.is_open() && *at < end).map(|(_, at)| at)
    };

    // First response in support time; the clock pauses while waiting on the customer.
    let fr_at = t.first_response_at.as_deref().and_then(store::parse_ts).filter(|f| *f < end);
    let prio = Priority::parse(&t.priority).unwrap_or(Priority::Normal);
    let target = Duration::seconds((p.cfg.sla_targets(cat, prio).0 * 3600.0).round() as i64);
    let (first_response, sla) = match fr_at {
        Some(f) => {
            let d = first_response_time(clock, created, f, &raw_history);
            (Some(d.num_minutes()), if d <= target { "met" } else { "missed" })
        }
        None => {
            let d = clock.between_excluding(created, end, &waiting_pauses(&raw_history, end));
            if !status_end.is_open() {
                // Closed without an answer by mail (e.g. solved by phone): no measurement.
                (None, "")
            } else if d > target {
                (None, "missed")
            } else {
                (None, "pending")
            }
        }
    };
    Some(Facts {
        row,
        created,
        status_end,
        closed_at,
        opened_in,
        closed_in,
        open_end,
        first_response,
        sla,
        escalations: 0,
    })
}

/// A report's figures, before the listed tickets and escalations are added.
pub(crate) struct Figures {
    pub(crate) opened: usize,
    pub(crate) closed: usize,
    pub(crate) open_at_end: usize,
    pub(crate) by_cat: Vec<(Category, usize)>,
    pub(crate) by_level: [usize; 3],
    pub(crate) by_status: Vec<(Status, usize)>,
    pub(crate) per_month: Vec<((i32, u32), usize)>,
    pub(crate) billable: usize,
    pub(crate) covered: usize,
    pub(crate) first_responses: usize,
    pub(crate) first_response_median: Option<i64>,
    pub(crate) first_response_p90: Option<i64>,
    pub(crate) sla_met: usize,
    pub(crate) sla_missed: usize,
    pub(crate) sla_pending: usize,
}

impl Figures {
    pub(crate) fn empty(period: &Period) -> Figures {
        Figures {
            opened: 0,
            closed: 0,
            open_at_end: 0,
            by_cat: Category::ALL.iter().map(|c| (*c, 0)).collect(),
            by_level: [0; 3],
            by_status: Status::ALL.iter().map(|s| (*s, 0)).collect(),
            per_month: period.months().into_iter().map(|m| (m, 0)).collect(),
            billable: 0,
            covered: 0,
            first_responses: 0,
            first_response_median: None,
            first_response_p90: None,
            sla_met: 0,
            sla_missed: 0,
            sla_pending: 0,
        }
    }
}

/// A report's line of one ticket.
pub(crate) fn ticket_line(p: &Pipeline, lang: &str, t: &store::ReportRow, f: &Facts, subject: &str) -> ReportTicket {
    let tz = p.calendar.timezone();
    let en = lang == "en";
    let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
    ReportTicket {
        tag: p.tag(t.id),
        subject: strip_reply_prefixes(subject),
        category: t.category.clone(),
        category_title: cat.title_one(lang).to_string(),
        level: t.level,
        level_ordinal: level_ordinal(&t.level.to_string()),
        priority: t.priority.clone(),
        status: f.status_end.as_str().to_string(),
        status_title: status_title(f.status_end.as_str(), en).to_string(),
        billable: t.billable,
        opened: date_fmt(f.created, tz, lang),
        closed: f.closed_at.map(|c| date_fmt(c, tz, lang)).unwrap_or_default(),
        opened_date: date_fmt(f.created, tz, "en"),
        closed_date: f.closed_at.map(|c| date_fmt(c, tz, "en")).unwrap_or_default(),
        opened_in_period: f.opened_in,
        first_response_minutes: f.first_response,
        first_response: f.first_response.map(hm).unwrap_or_else(|| "-".into()),
        sla: f.sla.to_string(),
        sla_title: sla_title(f.sla, en).to_string(),
        escalations: f.escalations,
    }
}

/// An escalation as the report shows it.
pub(crate) fn escalation_line(p: &Pipeline, lang: &str, ticket: i64, at: DateTime<Utc>, detail: &str) -> Escalation {
    Escalation {
        tag: p.tag(ticket),
        date: date_fmt(at, p.calendar.timezone(), lang),
        detail: escalation_words(detail, lang == "en"),
    }
}

fn compute_with(
    p: &Pipeline,
    conn: &Connection,
    customer: &Customer,
    period: &Period,
    now: DateTime<Utc>,
    full: bool,
) -> Result<Report> {
    let tz = p.calendar.timezone();
    let lang = customer.language.as_str();
    let start = period.start(tz);
    let end = period.end(tz).min(now);

    let mut escalations = Vec::new();
    let mut fig = Figures::empty(period);
    let mut fr_minutes = Vec::new();

    // Only the tickets the period can show, with their histories and the
    // period's escalations, in three queries; the support time by a table
    // of the days (a yearly report of a busy customer walked the calendar
    // day by day for each of its 46,785 tickets).
    let rows = store::report_rows(conn, &customer.name, start, end, full)?;
    let earliest = rows.tickets.iter().filter_map(|t| store::parse_ts(&t.created_at)).min().unwrap_or(start);
    let clock = p.calendar.support_time_table(earliest.min(start), end);
    let (mut h, mut x) = (0usize, 0usize);
    let mut facts: Vec<Facts> = Vec::new();
    for (i, t) in rows.tickets.iter().enumerate() {
        // The rows are in ticket order, the histories and escalations too.
        let history = rows_of(&rows.history, &mut h, t.id);
        let escalated = rows_of(&rows.escalations, &mut x, t.id);
        let Some(mut f) = ticket_facts(p, &clock, (start, end), t, history, i) else { continue };
        for (_, at, detail) in escalated {
            let Some(at) = store::parse_ts(at).filter(|at| *at >= start && *at < end) else { continue };
            f.escalations += 1;
            escalations.push(escalation_line(p, lang, t.id, at, detail));
        }
        if f.opened_in {
            fig.opened += 1;
            let cat = Category::parse(&t.category).unwrap_or(Category::UsageQuestion);
            if let Some(c) = fig.by_cat.iter_mut().find(|(c, _)| *c == cat) {
                c.1 += 1;
            }
            fig.by_level[(t.level.clamp(1, 3) - 1) as usize] += 1;
            let local = f.created.with_timezone(&tz);
            if let Some(m) = fig.per_month.iter_mut().find(|(m, _)| *m == (local.year(), local.month())) {
                m.1 += 1;
            }
            if t.billable {
                fig.billable += 1;
            } else {
                fig.covered += 1;
            }
            if let Some(m) = f.first_response {
                fr_minutes.push(m);
            }
            match f.sla {
                "met" => fig.sla_met += 1,
                "missed" => fig.sla_missed += 1,
                "pending" => fig.sla_pending += 1,
                _ => {}
            }
        }
        if f.closed_in {
            fig.closed += 1;
        }
        if f.open_end {
            fig.open_at_end += 1;
        }
        if let Some(s) = fig.by_status.iter_mut().find(|(s, _)| *s == f.status_end) {
            s.1 += 1;
        }
        facts.push(f);
    }
    fr_minutes.sort_unstable();
    fig.first_responses = fr_minutes.len();
    fig.first_response_median = median(&fr_minutes);
    fig.first_response_p90 = p90(&fr_minutes);

    // The listed tickets: all, or over the cap the open ones first, in ticket order.
    let mut listed: Vec<&Facts> = facts.iter().filter(|f| f.open_end).collect();
    listed.extend(facts.iter().filter(|f| !f.open_end));
    listed.truncate(LISTED_MAX);
    listed.sort_by_key(|f| f.row);
    let mut tickets = Vec::with_capacity(listed.len());
    for f in listed {
        let subject = match &rows.tickets[f.row].subject {
            Some(s) => s.clone(),
            None => store::ticket_subject(conn, rows.tickets[f.row].id)?.unwrap_or_default(),
        };
        tickets.push(ticket_line(p, lang, &rows.tickets[f.row], f, &subject));
    }
    let all_tickets: Vec<ReportTicket> = if full {
        facts
            .iter()
            .map(|f| {
                ticket_line(
                    p,
                    lang,
                    &rows.tickets[f.row],
                    f,
                    rows.tickets[f.row].subject.as_deref().unwrap_or_default(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let tickets_total = facts.len();
    Ok(assemble(p, customer, period, now, fig, (tickets, tickets_total), escalations, all_tickets))
}

/// The report from its figures, listed tickets (and how many the period
/// has), the period's escalations (all; at most [`LISTED_MAX`] are kept)
/// and, for the CSV, every ticket.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assemble(
    p: &Pipeline,
    customer: &Customer,
    period: &Period,
    now: DateTime<Utc>,
    fig: Figures,
    (tickets, tickets_total): (Vec<ReportTicket>, usize),
    mut escalations: Vec<Escalation>,
    all_tickets: Vec<ReportTicket>,
) -> Report {
    let tz = p.calendar.timezone();
    let lang = customer.language.as_str();
    let en = lang == "en";
    let escalations_total = escalations.len();
    escalations.truncate(LISTED_MAX);
    let months = if en { &MONTHS_EN } else { &MONTHS_DE };
    Report {
        customer: customer.name.clone(),
        language: lang.to_string(),
        period: period.label(),
        period_title: period.title(lang),
        from: day_fmt(period.first_day(), lang),
        to: day_fmt(period.last_day(), lang),
        partial: now < period.end(tz),
        as_of: if en {
            now.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
        } else {
            now.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
        },
        opened: fig.opened,
        closed: fig.closed,
        open_at_end: fig.open_at_end,
        by_category: fig.by_cat.into_iter().map(|(c, n)| Count::new(c.as_str(), category_short(c, lang), n)).collect(),
        by_level: fig
            .by_level
            .iter()
            .enumerate()
            .map(|(i, n)| {
                Count::new(format!("{}", i + 1), format!("{} Level Support", level_ordinal(&(i + 1).to_string())), *n)
            })
            .collect(),
        by_status: fig
            .by_status
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| Count::new(s.as_str(), status_title(s.as_str(), en), n))
            .collect(),
        per_month: fig
            .per_month
            .into_iter()
            .map(|((y, m), n)| {
                Count::new(
                    format!("{y}-{m:02}"),
                    format!("{} {y}", months[(m as usize) - 1].chars().take(3).collect::<String>()),
                    n,
                )
            })
            .collect(),
        billable: fig.billable,
        covered: fig.covered,
        first_responses: fig.first_responses,
        first_response_median: fig.first_response_median.map(hm).unwrap_or_else(|| "-".into()),
        first_response_p90: fig.first_response_p90.map(hm).unwrap_or_else(|| "-".into()),
        sla_met: fig.sla_met,
        sla_missed: fig.sla_missed,
        sla_pending: fig.sla_pending,
        escalations_left_out: escalations_total - escalations.len(),
        escalations_total,
        escalations,
        tickets_left_out: tickets_total - tickets.len(),
        tickets_total,
        tickets,
        all_tickets,
    }
}

// ---------------------------------------------------------------------------
// Formats

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A text cell (a subject comes from a mail): one that a spreadsheet would
/// read as a formula (`=`, `+`, `-`, `@`, tab or CR first) gets a `'` in
/// front and is quoted, as OWASP recommends against CSV injection; Excel
/// and LibreOffice then show it as text. Numbers of ours use [`csv_field`].
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("\"'{}\"", s.replace('"', "\"\""))
    } else {
        csv_field(s)
    }
}

/// The tickets of a report as CSV (RFC 4180, comma, CRLF, UTF-8; stable
/// English column ids, ids as values, ISO dates, in every language).
pub fn to_csv(r: &Report) -> String {
    let mut out = String::from(
        "tag,subject,category,level,priority,status_at_period_end,billable,opened,closed,opened_in_period,first_response_support_minutes,first_response_sla,escalations\r\n",
    );
    let every = if r.all_tickets.is_empty() { &r.tickets } else { &r.all_tickets };
    for t in every {
        // Every text column as text (the subject is the customer's; the
        // others are ours today), the numbers as they are.
        let fields = [
            csv_text(&t.tag),
            csv_text(&t.subject),
            csv_text(&t.category),
            csv_field(&t.level.to_string()),
            csv_text(&t.priority),
            csv_text(&t.status),
            csv_text(&t.billable.to_string()),
            csv_text(&t.opened_date),
            csv_text(&t.closed_date),
            csv_text(&t.opened_in_period.to_string()),
            csv_field(&t.first_response_minutes.map(|m| m.to_string()).unwrap_or_default()),
            csv_text(&t.sla),
            csv_field(&t.escalations.to_string()),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Bar colour of the category chart.
pub const CATEGORY_COLOUR: &str = "#1f6fb2";
/// Bar colour of the month chart.
pub const MONTH_COLOUR: &str = "#e07b00";

/// A small horizontal bar chart as inline SVG: one `<rect class="bar">` per item (also for 0).
pub fn svg_bars(id: &str, title: &str, items: &[Count], colour: &str) -> String {
    let row = 24;
    let label_w = 170;
    let bar_w = 260;
    let top = 26;
    let height = top + row * items.len() as i64 + 8;
    let width = label_w + bar_w + 50;
    let max = items.iter().map(|c| c.n).max().unwrap_or(0).max(1);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{t}\" font-family=\"Arial, Helvetica, sans-serif\" font-size=\"12\">\n<title>{t}</title>\n<text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">{t}</text>\n",
        t = xml_escape(title)
    );
    for (i, c) in items.iter().enumerate() {
        let y = top + row * i as i64;
        let w = (c.n as i64 * bar_w) / max as i64;
        s.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#333\">{label}</text>\n<rect class=\"bar\" data-key=\"{key}\" x=\"{label_w}\" y=\"{y2}\" width=\"{w}\" height=\"16\" fill=\"{colour}\"/>\n<text x=\"{vx}\" y=\"{ty}\" fill=\"#333\">{n}</text>\n",
            lx = label_w - 8,
            ty = y + 13,
            label = xml_escape(&c.title),
            key = xml_escape(&c.key),
            y2 = y + 1,
            vx = label_w + w + 6,
            n = c.n,
        ));
    }
    s.push_str("</svg>");
    s
}

/// The template context of a report: its fields, the charts and the sender's name.
pub fn context(p: &Pipeline, r: &Report) -> serde_json::Value {
    let en = r.language == "en";
    let mut ctx = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    let cat_title = if en { "Tickets opened per category" } else { "Neue Tickets je Kategorie" };
    let month_title = if en { "Tickets opened per month" } else { "Neue Tickets je Monat" };
    ctx["chart_categories"] = json!(svg_bars("chart-categories", cat_title, &r.by_category, CATEGORY_COLOUR));
    ctx["chart_months"] = json!(svg_bars("chart-months", month_title, &r.per_month, MONTH_COLOUR));
    ctx["display_name"] = json!(p.cfg.display_name);
    ctx["support_address"] = json!(p.cfg.support_address);
    ctx
}

/// Plain-text report: (subject, body) from the `report` template.
pub fn render_text(p: &Pipeline, r: &Report) -> Result<(String, String)> {
    p.templates.render("report", &r.language, &context(p, r)).map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// HTML report (the `report.html` template) with the inline SVG charts.
pub fn render_html(p: &Pipeline, r: &Report) -> Result<String> {
    p.templates
        .render_html("report", &r.language, &context(p, r))
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .context("no report.html template")
}

/// File name of the CSV attachment.
pub fn csv_filename(r: &Report) -> String {
    let slug: String = r
        .customer
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("tickets-{slug}-{}.csv", r.period)
}

// ---------------------------------------------------------------------------
// Sending

/// Queue the report mail of `customer` for `period` to its `report_to`
/// (multipart/alternative text + HTML, the CSV attached) and record it in
/// `reports_sent`, in the caller's transaction. `trigger` is `schedule`
/// (exactly once per customer and period: a second one fails on the unique
/// index) or `manual` (`supportd report --send`: may repeat). Returns the
/// outbox id, or None when `report_to` holds no deliverable address.
pub fn queue_report(
    p: &Pipeline,
    conn: &Connection,
    customer: &Customer,
    period: &Period,
    trigger: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    anyhow::ensure!(trigger == "schedule" || trigger == "manual", "report trigger {trigger:?}");
    let r = compute(p, conn, customer, period, now)?;
    let (subject, body) = render_text(p, &r)?;
    let html = render_html(p, &r)?;
    let csv = to_csv(&r);
    let seed = if trigger == "schedule" {
        format!("report|{}|{}|schedule", customer.name, r.period)
    } else {
        let n: i64 = conn.query_row("SELECT count(*) FROM reports_sent", [], |x| x.get(0))?;
        format!("report|{}|{}|manual|{}|{n}", customer.name, r.period, store::ts(now))
    };
    let id = queue_mail_parts(
        p,
        conn,
        QueuedMail::scheduled("report", None, customer.report_to.clone(), (subject, body), &seed),
        Some(html),
        vec![Attachment {
            filename: csv_filename(&r),
            content_type: "text/csv; charset=utf-8".into(),
            data: csv.into_bytes(),
            sha256: None,
        }],
        now,
    )?;
    store::insert_report_sent(conn, &customer.name, &r.period, trigger, id, now)
        .with_context(|| format!("recording the {trigger} report {} of {}", r.period, customer.name))?;
    store::insert_event(
        conn,
        None,
        None,
        now,
        "supportd",
        "report",
        &format!("{trigger} report {} of {} to {}", r.period, customer.name, customer.report_to.join(", ")),
    )?;
    Ok(id)
}

/// State key: when the clock first looked at a customer's reports.
pub fn since_key(customer: &str) -> String {
    format!("report.since.{customer}")
}

/// The clock's part for reports, in the caller's transaction: every customer
/// with `report_to` gets the report of each period that is due and not yet
/// sent (see [`periods_due`]). Returns "customer period" of each report
/// queued, and keeps `report.next_due` in the state table for `status`.
pub fn tick_reports(p: &Pipeline, conn: &Connection, now: DateTime<Utc>) -> Result<Vec<String>> {
    // The report figures kept per month: the support seconds of new first responses.
    crate::reports::fast::refresh(p, conn)?;
    let mut out = Vec::new();
    let mut next: Option<(DateTime<Utc>, String)> = None;
    for c in &p.cfg.customers {
        if c.report_to.is_empty() {
            continue;
        }
        let key = since_key(&c.name);
        let since = match store::get_state(conn, &key)?.as_deref().and_then(store::parse_ts) {
            Some(s) => s,
            None => {
                store::set_state(conn, &key, &store::ts(now))?;
                now
            }
        };
        for period in periods_due(c.report_cycle, since, now, &p.calendar, p.cfg.report_send_at) {
            if store::report_scheduled_sent(conn, &c.name, &period.label())? {
                continue;
            }
            queue_report(p, conn, c, &period, "schedule", now)?;
            tracing::info!(customer = c.name, period = period.label(), "report queued");
            out.push(format!("{} {}", c.name, period.label()));
        }
        let mut upcoming = period_just_ended(c.report_cycle, now, p.calendar.timezone());
        if report_due_at(&upcoming, &p.calendar, p.cfg.report_send_at) <= now {
            upcoming = upcoming.next();
        }
        let due = report_due_at(&upcoming, &p.calendar, p.cfg.report_send_at);
        if next.as_ref().is_none_or(|(d, _)| due < *d) {
            next = Some((due, format!("{} {} {}", store::ts(due), c.name, upcoming.label())));
        }
    }
    match next {
        Some((_, s)) => store::set_state(conn, "report.next_due", &s)?,
        None => {
            conn.execute("DELETE FROM state WHERE key = 'report.next_due'", [])?;
        }
    }
    Ok(out)
}

/// "1st", "2nd", "3rd": the concept's names of the levels, in German and English texts alike.
fn level_ordinal(n: &str) -> &'static str {
    match n {
        "1" => "1st",
        "2" => "2nd",
        "3" => "3rd",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Command, Parsed};

    #[test]
    fn overview_requests_phrased_formally_or_as_a_question() {
        let none = Parsed::default();
        for (subject, text) in [
            ("Anfrage", "Sehr geehrte Damen und Herren, bitte um Aufstellung unserer offenen Vorgänge."),
            ("Frage", "Hallo, welche unserer Anfragen sind noch offen?"),
            ("Bitte um Liste", "Könnten Sie uns eine Liste unserer offenen Tickets schicken?"),
            ("Question", "Which of our requests are still open?"),
            ("Status", "Could you send me the status of all our open tickets?"),
        ] {
            assert!(asks_for_overview(subject, text, &none), "{subject}: {text}");
        }
        for (subject, text) in [
            ("Export", "Ich habe noch offene Fragen zum Export."),
            ("Login", "Der Login geht nicht, bitte prüfen."),
            ("Question", "Which field shows the open shifts?"),
        ] {
            assert!(!asks_for_overview(subject, text, &none), "{subject}: {text}");
        }
    }

    #[test]
    fn overview_words_in_german_and_english() {
        let none = Parsed::default();
        for s in [
            "Ticketübersicht",
            "Bitte um Ticketuebersicht",
            "Übersicht meiner Tickets",
            "Status aller Anfragen",
            "ticket overview please",
            "list of my tickets",
        ] {
            assert!(asks_for_overview(s, "", &none), "{s}");
        }
        assert!(!asks_for_overview("Login geht nicht", "Der Status der Anfrage?", &none));
        let cmd = Parsed { commands: vec![Command::Overview], ..Default::default() };
        assert!(asks_for_overview("x", "", &cmd));
    }

    #[test]
    fn one_tag_in_the_text_means_one_ticket() {
        assert!(asks_about_one_ticket("What is the status of MT-000123?", "MT"));
        assert!(!asks_about_one_ticket("Ticketübersicht bitte", "MT"));
        assert!(!asks_about_one_ticket("MT-000001 und MT-000002", "MT"));
    }

    #[test]
    fn csv_text_cells_never_start_a_formula() {
        assert_eq!(csv_text("=1+1"), "\"'=1+1\"");
        assert_eq!(csv_text("+49 711"), "\"'+49 711\"");
        assert_eq!(csv_text("-2"), "\"'-2\"");
        assert_eq!(csv_text("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_text("\t=1"), "\"'\t=1\"");
        assert_eq!(csv_text("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("Login, bitte"), "\"Login, bitte\"");
        assert_eq!(csv_text("a=b"), "a=b");
        assert_eq!(csv_field("-5"), "-5", "numbers of ours stay numbers");
    }
}
