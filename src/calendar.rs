//! Support hours: which instants count as support time (`docs/contracts.md`, `[hours]`).
//!
//! Pure functions only: no IO and no clock reads; every instant is passed in.
//! All arithmetic happens on the local calendar of the configured time zone and is
//! converted with chrono-tz per day, so intervals that span a DST switch are right.
//!
//! Conventions:
//! * A working day is open on the half-open interval `[open, close)` in local time.
//! * A local opening/closing time that falls into a DST gap is moved to the first
//!   existing local minute after the gap; one that is ambiguous (fall back) uses the
//!   earlier instant.
//! * Scans are bounded: if no open time is found within [`MAX_SCAN_DAYS`] consecutive
//!   days, the result lies more than [`MAX_HORIZON_DAYS`] days ahead, or the date range
//!   of chrono is left, functions that return an instant return
//!   [`DateTime::<Utc>::MAX_UTC`] ("never"). Support time is counted over at most
//!   [`MAX_HORIZON_DAYS`] days from the start of an interval.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
    Weekday,
};

/// How many consecutive days without any open time a scan tolerates before giving up.
pub const MAX_SCAN_DAYS: u32 = 366 * 20;

/// Far-future guard: no scan looks more than this many days (about 1000 years) ahead.
pub const MAX_HORIZON_DAYS: u32 = 366 * 1000;

/// One closed day with its German and English name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name_de: String,
    pub name_en: String,
}

/// Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
///
/// Panics only if the resulting date is outside chrono's date range.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("easter_sunday: year outside chrono's date range")
}

/// Fixed-date BW holidays: (month, day, German name, English name).
const BW_FIXED: [(u32, u32, &str, &str); 7] = [
    (1, 1, "Neujahr", "New Year's Day"),
    (1, 6, "Heilige Drei Könige", "Epiphany"),
    (5, 1, "Tag der Arbeit", "Labour Day"),
    (10, 3, "Tag der Deutschen Einheit", "German Unity Day"),
    (11, 1, "Allerheiligen", "All Saints' Day"),
    (12, 25, "1. Weihnachtstag", "Christmas Day"),
    (12, 26, "2. Weihnachtstag", "Second Day of Christmas"),
];

/// Easter-based BW holidays: (days after Easter Sunday, German name, English name).
const BW_EASTER: [(i64, &str, &str); 5] = [
    (-2, "Karfreitag", "Good Friday"),
    (1, "Ostermontag", "Easter Monday"),
    (39, "Christi Himmelfahrt", "Ascension Day"),
    (50, "Pfingstmontag", "Whit Monday"),
    (60, "Fronleichnam", "Corpus Christi"),
];

/// The one-off holiday of 2017 (500 years of the Reformation; BW ordinance of 2016).
const BW_REFORMATION_2017: (i32, u32, u32, &str, &str) =
    (2017, 10, 31, "Reformationstag (500 Jahre Reformation)", "Reformation Day (500th anniversary)");

/// All dates with names, unsorted; dates outside chrono's range are left out.
fn bw_holiday_entries(year: i32) -> Vec<(NaiveDate, &'static str, &'static str)> {
    let mut out = Vec::with_capacity(13);
    for (m, d, de, en) in BW_FIXED {
        if let Some(date) = NaiveDate::from_ymd_opt(year, m, d) {
            out.push((date, de, en));
        }
    }
    if let Some(easter) = NaiveDate::from_ymd_opt(year, 3, 1).map(|_| easter_sunday(year)) {
        for (offset, de, en) in BW_EASTER {
            if let Some(date) = easter.checked_add_signed(Duration::days(offset)) {
                out.push((date, de, en));
            }
        }
    }
    let (y, m, d, de, en) = BW_REFORMATION_2017;
    if year == y
        && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
    {
        out.push((date, de, en));
    }
    out
}

/// German name of the BW holiday on `d`, if any (no allocation).
fn bw_holiday_name(d: NaiveDate) -> Option<&'static str> {
    // Fixed dates first: cheap and the most frequent question is "no".
    for (m, day, de, _) in BW_FIXED {
        if d.month() == m && d.day() == day {
            return Some(de);
        }
    }
    let (y, m, day, de, _) = BW_REFORMATION_2017;
    if d.year() == y && d.month() == m && d.day() == day {
        return Some(de);
    }
    // Easter-based holidays lie between March 20 (Good Friday) and June 24 (Corpus Christi).
    if !(3..=6).contains(&d.month()) {
        return None;
    }
    let easter = easter_sunday(d.year());
    let offset = d.signed_duration_since(easter).num_days();
    BW_EASTER.iter().find(|(o, _, _)| *o == offset).map(|(_, de, _)| *de)
}

/// Public holidays of Baden-Württemberg in `year`, sorted by date.
///
/// The twelve recurring holidays, plus the one-off Reformationstag of 31.10.2017.
/// Reformationstag (other years), Buß- und Bettag, Frauentag etc. are not BW holidays.
pub fn bw_holidays(year: i32) -> Vec<Holiday> {
    let mut entries = bw_holiday_entries(year);
    entries.sort_by_key(|(d, _, _)| *d);
    entries
        .into_iter()
        .map(|(date, de, en)| Holiday { date, name_de: de.to_string(), name_en: en.to_string() })
        .collect()
}

/// Parses a weekday as written in the config: "mon" … "sun" (case-insensitive).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    match s.to_ascii_lowercase().as_str() {
        "mon" => Some(Weekday::Mon),
        "tue" => Some(Weekday::Tue),
        "wed" => Some(Weekday::Wed),
        "thu" => Some(Weekday::Thu),
        "fri" => Some(Weekday::Fri),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    }
}

const EXTRA_DE: &str = "Zusätzlicher Schließtag";
const EXTRA_EN: &str = "Extra closed day";

/// Support hours: time zone, weekdays, daily opening window, holidays.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: crate::zone::Zone,
    /// Sorted Monday first, no duplicates.
    weekdays: Vec<Weekday>,
    open: NaiveTime,
    close: NaiveTime,
    bw_holidays: bool,
    /// Sorted, no duplicates.
    extra_closed_days: Vec<NaiveDate>,
}

impl BusinessCalendar {
    /// Builds a calendar. Err if `open >= close` or `weekdays` is empty.
    /// Duplicate weekdays and extra closed days are merged.
    pub fn new(
        tz: crate::zone::Zone,
        weekdays: Vec<Weekday>,
        open: NaiveTime,
        close: NaiveTime,
        bw_holidays: bool,
        extra_closed_days: Vec<NaiveDate>,
    ) -> Result<Self, String> {
        if open >= close {
            return Err(format!(
                "opening time {} must be before closing time {}",
                open.format("%H:%M"),
                close.format("%H:%M")
            ));
        }
        if weekdays.is_empty() {
            return Err("at least one support weekday is required".to_string());
        }
        let mut weekdays = weekdays;
        weekdays.sort_by_key(|w| w.num_days_from_monday());
        weekdays.dedup();
        let mut extra_closed_days = extra_closed_days;
        extra_closed_days.sort();
        extra_closed_days.dedup();
        Ok(Self { tz, weekdays, open, close, bw_holidays, extra_closed_days })
    }

    /// Europe/Berlin, Monday–Friday, 08:00–17:00, BW holidays, no extra closed days.
    pub fn default_bw() -> Self {
        Self::new(
            crate::zone::Zone::berlin(),
            vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
            NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
            true,
            Vec::new(),
        )
        .expect("default calendar is valid")
    }

    pub fn timezone(&self) -> crate::zone::Zone {
        self.tz
    }

    /// Support weekdays, Monday first.
    pub fn weekdays(&self) -> &[Weekday] {
        &self.weekdays
    }

    /// Daily opening time (local).
    pub fn open_time(&self) -> NaiveTime {
        self.open
    }

    /// Daily closing time (local).
    pub fn close_time(&self) -> NaiveTime {
        self.close
    }

    /// Whether the public holidays of Baden-Württemberg are closed days.
    pub fn uses_bw_holidays(&self) -> bool {
        self.bw_holidays
    }

    /// Extra closed days, sorted.
    pub fn extra_closed_days(&self) -> &[NaiveDate] {
        &self.extra_closed_days
    }

    /// True if `d` (a local date) is a support weekday and neither a holiday nor an extra closed day.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.closed_reason(d).is_none()
    }

    /// Why `d` is closed: the holiday's German name, "extra closed day", "weekend",
    /// or `"no support on <Weekday>"`; `None` on a working day.
    pub fn closed_reason(&self, d: NaiveDate) -> Option<String> {
        let is_weekday = self.weekdays.contains(&d.weekday());
        if self.bw_holidays
            && let Some(name) = bw_holiday_name(d)
        {
            return Some(name.to_string());
        }
        if self.extra_closed_days.binary_search(&d).is_ok() {
            return Some("extra closed day".to_string());
        }
        if is_weekday {
            return None;
        }
        match d.weekday() {
            Weekday::Sat | Weekday::Sun => Some("weekend".to_string()),
            w => Some(format!("no support on {}", weekday_en(w))),
        }
    }

    /// The open interval `[open, close)` of local date `d` in UTC, if `d` is a working day.
    fn window(&self, d: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(d) {
            return None;
        }
        let o = self.local_to_utc(d.and_time(self.open))?;
        let c = self.local_to_utc(d.and_time(self.close))?;
        (o < c).then_some((o, c))
    }

    /// Local wall-clock time to UTC: earliest instant if ambiguous, first existing
    /// minute after a DST gap. `None` only near the ends of chrono's range.
    fn local_to_utc(&self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => {
                // In a gap. Gaps are at most a day long (e.g. Samoa 2011); step to its end.
                let start = naive.with_second(0)?.with_nanosecond(0)?;
                (1..=(48 * 60)).find_map(|m| {
                    let candidate = start.checked_add_signed(Duration::minutes(m))?;
                    self.tz.from_local_datetime(&candidate).earliest().map(|t| t.with_timezone(&Utc))
                })
            }
        }
    }

    /// Local date of instant `t` in the calendar's time zone. At the very ends of
    /// chrono's range, where the local date does not exist, it is clamped to the
    /// first/last representable date (no support windows exist beyond them anyway).
    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        match self.local_naive(t) {
            Some(local) => local.date(),
            None if t.year() > 0 => NaiveDate::MAX,
            None => NaiveDate::MIN,
        }
    }

    /// Local wall-clock time of `t`; `None` only at the very ends of chrono's range.
    fn local_naive(&self, t: DateTime<Utc>) -> Option<NaiveDateTime> {
        let utc = t.naive_utc();
        utc.checked_add_offset(self.tz.offset_from_utc_datetime(&utc).fix())
    }

    /// True if `t` lies within support hours.
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        self.window(self.local_date(t)).is_some_and(|(o, c)| o <= t && t < c)
    }

    /// The first instant `>= t` within support hours (`t` itself when open).
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.add_support_hours(t, Duration::zero())
    }

    /// The instant at which `d` of support time, counted from `t`, has elapsed.
    ///
    /// Only open time counts. A zero (or negative) `d` yields [`Self::next_opening`];
    /// a positive `d` that ends exactly at a closing time yields that closing time.
    pub fn add_support_hours(&self, t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        let mut remaining = d.max(Duration::zero());
        let mut day = self.local_date(t);
        let mut idle_days = 0u32;
        let mut scanned_days = 0u32;
        loop {
            if let Some((o, c)) = self.window(day)
                && c > t
            {
                idle_days = 0;
                let start = o.max(t);
                let available = c - start;
                if remaining <= available {
                    return start + remaining;
                }
                remaining -= available;
            } else {
                idle_days += 1;
                if idle_days > MAX_SCAN_DAYS {
                    return DateTime::<Utc>::MAX_UTC;
                }
            }
            scanned_days += 1;
            if scanned_days > MAX_HORIZON_DAYS {
                return DateTime::<Utc>::MAX_UTC;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => return DateTime::<Utc>::MAX_UTC,
            }
        }
    }

    /// Support time within `[a, b)`; zero if `b <= a`.
    ///
    /// Far-future guard: only the local days from `a`'s day through `a`'s day +
    /// [`MAX_HORIZON_DAYS`] are counted.
    pub fn support_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        let mut day = self.local_date(a);
        let last = match day.checked_add_days(chrono::Days::new(u64::from(MAX_HORIZON_DAYS))) {
            Some(horizon) => self.local_date(b).min(horizon),
            None => self.local_date(b),
        };
        let mut total = Duration::zero();
        loop {
            if let Some((o, c)) = self.window(day) {
                let start = o.max(a);
                let end = c.min(b);
                if end > start {
                    total += end - start;
                }
            }
            if day >= last {
                return total;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => return total,
            }
        }
    }

    /// Support time within `[a, b)` minus the support time inside `pauses`
    /// (e.g. while a ticket waits on the customer). Pauses may overlap, be unsorted,
    /// or reach outside `[a, b)`; empty or inverted pauses are ignored.
    pub fn support_time_between_excluding(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Duration {
        excluding(a, b, pauses, |x, y| self.support_time_between(x, y))
    }

    /// The support windows of the local days from `from`'s to `to`'s (at most
    /// [`SupportTimeTable::MAX_DAYS`]), looked up once, with the support time
    /// before each: [`SupportTimeTable::between`] is then two lookups instead
    /// of a walk over the days (a yearly report measures tens of thousands of
    /// tickets' first responses against the same days).
    pub fn support_time_table(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> SupportTimeTable<'_> {
        let first = self.local_date(from);
        let last = self.local_date(to.max(from));
        let days = (last - first).num_days().clamp(0, SupportTimeTable::MAX_DAYS) as usize + 1;
        let mut windows = Vec::with_capacity(days);
        let mut before = Vec::with_capacity(days);
        let mut total = Duration::zero();
        let mut day = first;
        for _ in 0..days {
            let w = self.window(day);
            before.push(total);
            if let Some((o, c)) = w {
                total += c - o;
            }
            windows.push(w);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        SupportTimeTable { cal: self, first, windows, before }
    }

    /// Like [`Self::add_support_hours`], but time inside `pauses` does not count.
    ///
    /// Inverse of [`Self::support_time_between_excluding`]: for `d > 0`,
    /// `support_time_between_excluding(t, result, pauses) == d`.
    pub fn add_support_hours_excluding(
        &self,
        t: DateTime<Utc>,
        d: Duration,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> DateTime<Utc> {
        let mut remaining = d.max(Duration::zero());
        let mut cur = t;
        for (ps, pe) in normalize_pauses(pauses) {
            if pe <= cur {
                continue;
            }
            if ps > cur {
                let available = self.support_time_between(cur, ps);
                if remaining < available || (remaining == available && remaining > Duration::zero()) {
                    return self.add_support_hours(cur, remaining);
                }
                remaining -= available;
            }
            cur = pe;
        }
        self.add_support_hours(cur, remaining)
    }

    /// Closed days of `year` besides the weekly ones: BW holidays (if on) and the
    /// extra closed days of that year, sorted by date. An extra closed day that is
    /// also a holiday is listed once, as the holiday.
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let mut out = if self.bw_holidays { bw_holidays(year) } else { Vec::new() };
        for d in self.extra_closed_days.iter().filter(|d| d.year() == year) {
            if !out.iter().any(|h| h.date == *d) {
                out.push(Holiday { date: *d, name_de: EXTRA_DE.to_string(), name_en: EXTRA_EN.to_string() });
            }
        }
        out.sort_by_key(|h| h.date);
        out
    }

    /// `t` in the calendar's local time, for mails:
    /// "de" → "Dienstag, 26.05.2026, 08:00 Uhr"; anything else → "Tuesday, 26 May 2026, 08:00".
    /// Language tags like "de-DE" count as German.
    ///
    /// An instant whose local time is not representable (e.g. `DateTime::<Utc>::MAX_UTC`,
    /// the "never" of [`Self::next_opening`]) is shown in UTC with a " UTC" suffix.
    pub fn format_opening(&self, t: DateTime<Utc>, lang: &str) -> String {
        let (local, suffix) = match self.local_naive(t) {
            Some(local) => (local, ""),
            None => (t.naive_utc(), " UTC"),
        };
        if is_german(lang) {
            format!(
                "{}, {}, {} Uhr{suffix}",
                weekday_de(local.weekday()),
                local.format("%d.%m.%Y"),
                local.format("%H:%M")
            )
        } else {
            format!(
                "{}, {} {} {}, {}{suffix}",
                weekday_en(local.weekday()),
                local.day(),
                month_en(local.month()),
                local.year(),
                local.format("%H:%M")
            )
        }
    }

    /// Human-readable overview for `supportd calendar --year Y`: time zone, hours,
    /// weekdays, holiday rule, then every closed day (holidays and extra closed days)
    /// with date, weekday and name.
    pub fn render_year(&self, year: i32) -> String {
        let mut s = String::new();
        s.push_str(&format!("Support calendar {year}\n"));
        s.push_str(&format!("Time zone:     {}\n", self.tz.name()));
        s.push_str(&format!("Support hours: {}–{}\n", self.open.format("%H:%M"), self.close.format("%H:%M")));
        let days: Vec<&str> = self.weekdays.iter().map(|w| weekday_en(*w)).collect();
        s.push_str(&format!("Weekdays:      {}\n", days.join(", ")));
        s.push_str(&format!(
            "Holidays:      {}\n",
            if self.bw_holidays { "public holidays of Baden-Württemberg (DE-BW)" } else { "none" }
        ));
        if let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31))
        {
            let support_days = first.iter_days().take_while(|d| *d <= last).filter(|d| self.is_working_day(*d)).count();
            let all_days = last.ordinal();
            s.push_str(&format!("Support days:  {support_days} of {all_days} days\n"));
        }
        let closed = self.holidays(year);
        s.push_str(&format!("\nClosed days in {year} ({}):\n", closed.len()));
        if closed.is_empty() {
            s.push_str("  (none)\n");
        }
        for h in &closed {
            let note = if self.weekdays.contains(&h.date.weekday()) { "" } else { "  [not a support weekday anyway]" };
            s.push_str(&format!(
                "  {}  {:<10} {} ({}){}\n",
                h.date.format("%d.%m.%Y"),
                weekday_en(h.date.weekday()),
                h.name_de,
                h.name_en,
                note
            ));
        }
        s
    }
}

/// Sorted, merged, non-empty pauses.
/// Support time in `[a, b)` minus the support time inside `pauses`, with
/// `between` measuring a gap (see [`BusinessCalendar::support_time_between_excluding`]).
fn excluding(
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    between: impl Fn(DateTime<Utc>, DateTime<Utc>) -> Duration,
) -> Duration {
    if b <= a {
        return Duration::zero();
    }
    let mut total = Duration::zero();
    let mut cur = a;
    for (ps, pe) in normalize_pauses(pauses) {
        if pe <= cur {
            continue;
        }
        if ps >= b {
            break;
        }
        if ps > cur {
            total += between(cur, ps);
        }
        cur = pe;
        if cur >= b {
            return total;
        }
    }
    total + between(cur, b)
}

/// Support windows of a span of local days and the support time before
/// each ([`BusinessCalendar::support_time_table`]). Gives exactly what
/// [`BusinessCalendar::support_time_between`] gives: a day's window lies
/// inside its local day, so the support time in `[a, b)` is the support
/// time before `b` minus the support time before `a`. Instants outside the
/// span are measured by the calendar itself.
pub struct SupportTimeTable<'c> {
    cal: &'c BusinessCalendar,
    /// The local date of `windows[0]`.
    first: NaiveDate,
    /// Each day's support window (None: closed).
    windows: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>>,
    /// Support time of the days before each day, from `first` on.
    before: Vec<Duration>,
}

impl SupportTimeTable<'_> {
    /// The most days a table covers (about 30 years).
    pub const MAX_DAYS: i64 = 11_000;

    /// Support time from the start of the table up to `t`, or None outside it.
    fn upto(&self, t: DateTime<Utc>) -> Option<Duration> {
        let i = usize::try_from((self.cal.local_date(t) - self.first).num_days()).ok()?;
        let w = self.windows.get(i)?;
        let within = match w {
            Some((o, c)) if t > *o => t.min(*c) - *o,
            _ => Duration::zero(),
        };
        Some(self.before[i] + within)
    }

    /// [`BusinessCalendar::support_time_between`], by table.
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        match (self.upto(a), self.upto(b)) {
            (Some(x), Some(y)) => y - x,
            _ => self.cal.support_time_between(a, b),
        }
    }

    /// [`BusinessCalendar::support_time_between_excluding`], by table.
    pub fn between_excluding(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Duration {
        excluding(a, b, pauses, |x, y| self.between(x, y))
    }
}

fn normalize_pauses(pauses: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut ps: Vec<_> = pauses.iter().copied().filter(|(s, e)| s < e).collect();
    ps.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(ps.len());
    for (s, e) in ps {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

fn is_german(lang: &str) -> bool {
    let l = lang.trim().to_ascii_lowercase();
    l == "de" || l.starts_with("de-") || l.starts_with("de_")
}

fn weekday_de(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Montag",
        Weekday::Tue => "Dienstag",
        Weekday::Wed => "Mittwoch",
        Weekday::Thu => "Donnerstag",
        Weekday::Fri => "Freitag",
        Weekday::Sat => "Samstag",
        Weekday::Sun => "Sonntag",
    }
}

fn weekday_en(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// English month names, January first.
pub const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_en(m: u32) -> &'static str {
    MONTHS_EN[(m as usize).saturating_sub(1).min(11)]
}
