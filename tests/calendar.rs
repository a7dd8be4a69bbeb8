//! Integration tests for `supportd::calendar` (`docs/contracts.md`; README "Support hours and SLA"): BW holidays, support hours,
//! DST-correct support-time arithmetic, SLA pauses, extra closed days.
//!
//! Instants are written either as Berlin wall-clock time (`berlin(..)`) or, where the UTC
//! offset itself is what a test proves, as explicit UTC (`utc(..)`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Berlin;
use holiday_de::{GermanHoliday, GermanRegion};
use supportd::calendar::{BusinessCalendar, Holiday, MAX_HORIZON_DAYS, bw_holidays, easter_sunday, parse_weekday};
use supportd::zone::Zone;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// Berlin wall-clock time (must exist and be unambiguous) as UTC.
fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

fn mins(m: i64) -> Duration {
    Duration::minutes(m)
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

const MON_FRI: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

const ALL_WEEK: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

fn with_extra_days(extra: Vec<NaiveDate>) -> BusinessCalendar {
    BusinessCalendar::new(Zone::berlin(), MON_FRI.to_vec(), time(8, 0), time(17, 0), true, extra).unwrap()
}

// ---------------------------------------------------------------------------------------
// Holidays
// ---------------------------------------------------------------------------------------

/// Hand-written BW holiday dates 2024–2030 (from published holiday calendars), in date order.
fn known_bw(year: i32) -> Vec<(u32, u32, &'static str)> {
    // Easter-based dates per year: Karfreitag, Ostermontag, Himmelfahrt, Pfingstmontag, Fronleichnam.
    let easter_based: [(u32, u32); 5] = match year {
        2024 => [(3, 29), (4, 1), (5, 9), (5, 20), (5, 30)],
        2025 => [(4, 18), (4, 21), (5, 29), (6, 9), (6, 19)],
        2026 => [(4, 3), (4, 6), (5, 14), (5, 25), (6, 4)],
        2027 => [(3, 26), (3, 29), (5, 6), (5, 17), (5, 27)],
        2028 => [(4, 14), (4, 17), (5, 25), (6, 5), (6, 15)],
        2029 => [(3, 30), (4, 2), (5, 10), (5, 21), (5, 31)],
        2030 => [(4, 19), (4, 22), (5, 30), (6, 10), (6, 20)],
        _ => panic!("no hand-written list for {year}"),
    };
    let names = ["Karfreitag", "Ostermontag", "Christi Himmelfahrt", "Pfingstmontag", "Fronleichnam"];
    let mut v = vec![
        (1, 1, "Neujahr"),
        (1, 6, "Heilige Drei Könige"),
        (5, 1, "Tag der Arbeit"),
        (10, 3, "Tag der Deutschen Einheit"),
        (11, 1, "Allerheiligen"),
        (12, 25, "1. Weihnachtstag"),
        (12, 26, "2. Weihnachtstag"),
    ];
    for ((m, d), name) in easter_based.into_iter().zip(names) {
        v.push((m, d, name));
    }
    v.sort();
    v
}

/// Proves: bw_holidays returns exactly the twelve BW holidays with the right dates and
/// German names for 2024–2030, in date order.
#[test]
fn bw_holidays_2024_to_2030_match_hand_written_list() {
    for year in 2024..=2030 {
        let got: Vec<(u32, u32, String)> = bw_holidays(year)
            .into_iter()
            .map(|h| {
                assert_eq!(h.date.year(), year);
                (h.date.month(), h.date.day(), h.name_de)
            })
            .collect();
        let want: Vec<(u32, u32, String)> = known_bw(year).into_iter().map(|(m, d, n)| (m, d, n.to_string())).collect();
        assert_eq!(got, want, "BW holidays {year}");
    }
}

/// Proves: the spot dates named in the brief (2025, 2026 Easter-based holidays) are closed
/// days of the default calendar with the right names.
#[test]
fn easter_based_closed_days_2025_and_2026_have_names() {
    let cal = BusinessCalendar::default_bw();
    let cases = [
        (date(2025, 4, 18), "Karfreitag"),
        (date(2025, 4, 21), "Ostermontag"),
        (date(2025, 5, 29), "Christi Himmelfahrt"),
        (date(2025, 6, 9), "Pfingstmontag"),
        (date(2025, 6, 19), "Fronleichnam"),
        (date(2026, 4, 3), "Karfreitag"),
        (date(2026, 4, 6), "Ostermontag"),
        (date(2026, 5, 14), "Christi Himmelfahrt"),
        (date(2026, 5, 25), "Pfingstmontag"),
        (date(2026, 6, 4), "Fronleichnam"),
    ];
    for (d, name) in cases {
        assert!(!cal.is_working_day(d), "{d} must be closed");
        assert_eq!(cal.closed_reason(d).as_deref(), Some(name), "{d}");
    }
}

/// Proves: Reformationstag (31.10.), Buß- und Bettag, Frauentag (8.3.) and Mariä
/// Himmelfahrt (15.8.) are not BW holidays 2024–2030 and are working days when on a weekday.
#[test]
fn bw_holidays_exclude_reformationstag_buss_und_bettag_and_other_states_days() {
    let cal = BusinessCalendar::default_bw();
    // Buß- und Bettag: the Wednesday before 23 November.
    let buss_und_bettag = [
        date(2024, 11, 20),
        date(2025, 11, 19),
        date(2026, 11, 18),
        date(2027, 11, 17),
        date(2028, 11, 22),
        date(2029, 11, 21),
        date(2030, 11, 20),
    ];
    for (i, year) in (2024..=2030).enumerate() {
        let dates: Vec<NaiveDate> = bw_holidays(year).iter().map(|h| h.date).collect();
        let not_holidays = [
            date(year, 10, 31),
            buss_und_bettag[i],
            date(year, 3, 8),
            date(year, 8, 15),
            date(year, 12, 24),
            date(year, 12, 31),
        ];
        for d in not_holidays {
            assert!(!dates.contains(&d), "{d} must not be a BW holiday");
            let weekday = d.weekday();
            if weekday != Weekday::Sat && weekday != Weekday::Sun {
                assert!(cal.is_working_day(d), "{d} must be a working day");
                assert_eq!(cal.closed_reason(d), None);
            }
        }
        assert!(
            bw_holidays(year).iter().all(|h| !h.name_de.contains("Reformation") && !h.name_de.contains("Buß")),
            "{year}"
        );
    }
}

/// Proves: 31.10.2017 (one-off nationwide holiday, 500 years of the Reformation, also
/// in BW) is a holiday in 2017 only — the one deliberate addition to the twelve.
#[test]
fn reformationstag_only_in_2017_as_one_off() {
    let h2017 = bw_holidays(2017);
    assert_eq!(h2017.len(), 13);
    assert!(h2017.iter().any(|h| h.date == date(2017, 10, 31)));
    for year in [2016, 2018, 2026] {
        assert!(!bw_holidays(year).iter().any(|h| h.date.month() == 10 && h.date.day() == 31));
    }
}

/// Proves: easter_sunday on hand-known dates, including the earliest (22 March) and
/// latest (25 April) possible Easter.
#[test]
fn easter_sunday_known_dates() {
    let cases = [
        (1818, date(1818, 3, 22)),
        (1943, date(1943, 4, 25)),
        (2000, date(2000, 4, 23)),
        (2008, date(2008, 3, 23)),
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ];
    for (year, want) in cases {
        assert_eq!(easter_sunday(year), want, "Easter {year}");
        assert_eq!(easter_sunday(year).weekday(), Weekday::Sun);
    }
}

/// Proves: easter_sunday agrees with the holiday_de crate (computus) for every year
/// 1583–4099, i.e. across all Gregorian century rules.
#[test]
fn easter_sunday_matches_holiday_de_1583_to_4099() {
    for year in 1583..=4099 {
        assert_eq!(Some(easter_sunday(year)), GermanHoliday::Ostersonntag.date(year), "Easter {year}");
    }
}

/// Proves: bw_holidays gives the same dates as holiday_de's Baden-Württemberg list for
/// every year 1995–2100 (holiday_de knows nothing before 1995).
#[test]
fn bw_holidays_match_holiday_de_baden_wuerttemberg_1995_to_2100() {
    for year in 1995..=2100 {
        let ours: Vec<NaiveDate> = bw_holidays(year).iter().map(|h| h.date).collect();
        let theirs: Vec<NaiveDate> =
            GermanRegion::BadenWuerttemberg.holiday_dates_in_year(year).into_iter().map(|(d, _)| d).collect();
        assert_eq!(ours, theirs, "BW holidays {year}");
    }
}

/// Proves: default_bw().is_working_day agrees day by day with "Mon–Fri and not a BW
/// holiday per holiday_de" for 1995–2100.
#[test]
fn is_working_day_matches_holiday_de_every_day_1995_to_2100() {
    let cal = BusinessCalendar::default_bw();
    let region = GermanRegion::BadenWuerttemberg;
    let mut d = date(1995, 1, 1);
    let end = date(2100, 12, 31);
    let mut checked = 0;
    while d <= end {
        let holidays = region.holiday_dates_in_year(d.year());
        let mut year_end = date(d.year(), 12, 31);
        if year_end > end {
            year_end = end;
        }
        while d <= year_end {
            let weekday = !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            let holiday = holidays.iter().any(|(h, _)| *h == d);
            assert_eq!(cal.is_working_day(d), weekday && !holiday, "{d}");
            d = d.succ_opt().unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, 38_716);
}

/// Proves: bw_holidays is sorted, has 12 entries per year (13 in 2017) for a wide range,
/// and keeps both holidays when Ascension falls on 1 May (2008).
#[test]
fn bw_holidays_sorted_with_twelve_entries_per_year() {
    for year in 1583..=3000 {
        let h = bw_holidays(year);
        let want = if year == 2017 { 13 } else { 12 };
        assert_eq!(h.len(), want, "{year}");
        assert!(h.windows(2).all(|w| w[0].date <= w[1].date), "{year} sorted");
        assert!(h.iter().all(|x| !x.name_en.is_empty()));
    }
    let may1: Vec<Holiday> = bw_holidays(2008).into_iter().filter(|h| h.date == date(2008, 5, 1)).collect();
    assert_eq!(may1.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Construction, parsing, closed reasons
// ---------------------------------------------------------------------------------------

/// Proves: new() rejects open >= close and an empty weekday list, accepts a valid setup.
#[test]
fn new_rejects_invalid_hours_and_empty_weekdays() {
    let new = |w: Vec<Weekday>, o, c| BusinessCalendar::new(Zone::berlin(), w, o, c, true, vec![]);
    assert!(new(MON_FRI.to_vec(), time(17, 0), time(8, 0)).is_err());
    assert!(new(MON_FRI.to_vec(), time(8, 0), time(8, 0)).is_err());
    assert!(new(vec![], time(8, 0), time(17, 0)).is_err());
    assert!(new(vec![Weekday::Sat], time(8, 0), time(8, 1)).is_ok());
}

/// Proves: default_bw is Europe/Berlin, Mon–Fri 08:00–17:00 with BW holidays and no extra days.
#[test]
fn default_bw_matches_support_concept() {
    let cal = BusinessCalendar::default_bw();
    assert_eq!(cal.timezone(), Zone::berlin());
    assert_eq!(cal.weekdays(), &MON_FRI);
    assert_eq!(cal.open_time(), time(8, 0));
    assert_eq!(cal.close_time(), time(17, 0));
    assert!(cal.uses_bw_holidays());
    assert!(cal.extra_closed_days().is_empty());
}

/// Proves: parse_weekday accepts the config spellings "mon".."sun" and rejects others.
#[test]
fn parse_weekday_config_spellings() {
    let cases = [
        ("mon", Some(Weekday::Mon)),
        ("tue", Some(Weekday::Tue)),
        ("wed", Some(Weekday::Wed)),
        ("thu", Some(Weekday::Thu)),
        ("fri", Some(Weekday::Fri)),
        ("sat", Some(Weekday::Sat)),
        ("sun", Some(Weekday::Sun)),
        ("Mon", Some(Weekday::Mon)),
        ("monday", None),
        ("mo", None),
        ("", None),
        ("son", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_weekday(s), want, "{s:?}");
    }
}

/// Proves: closed_reason names holidays, extra closed days, weekends, and other
/// non-support weekdays, and is None on working days; BW holidays can be switched off.
#[test]
fn closed_reason_table() {
    let cal = with_extra_days(vec![date(2026, 12, 24)]);
    let cases = [
        (date(2026, 5, 25), Some("Pfingstmontag")),
        (date(2026, 5, 23), Some("weekend")),
        (date(2026, 5, 24), Some("weekend")),
        (date(2026, 5, 26), None),
        (date(2026, 12, 24), Some("extra closed day")),
        (date(2026, 11, 1), Some("Allerheiligen")), // a Sunday: the holiday wins
    ];
    for (d, want) in cases {
        assert_eq!(cal.closed_reason(d).as_deref(), want, "{d}");
        assert_eq!(cal.is_working_day(d), want.is_none(), "{d}");
    }
    let no_wed = BusinessCalendar::new(
        Zone::berlin(),
        vec![Weekday::Mon, Weekday::Tue, Weekday::Thu],
        time(8, 0),
        time(17, 0),
        false,
        vec![],
    )
    .unwrap();
    assert_eq!(no_wed.closed_reason(date(2026, 5, 27)).as_deref(), Some("no support on Wednesday"));
    // BW holidays off: Pfingstmontag is an ordinary Monday.
    assert!(no_wed.is_working_day(date(2026, 5, 25)));
    assert!(no_wed.holidays(2026).is_empty());
}

// ---------------------------------------------------------------------------------------
// is_open / next_opening / add_support_hours / support_time_between
// ---------------------------------------------------------------------------------------

/// Proves: is_open over the opening edges, weekends, holidays and both DST switches
/// (explicit UTC instants: a fixed-offset implementation would fail the DST rows).
#[test]
fn is_open_table() {
    let cal = BusinessCalendar::default_bw();
    let s = Duration::seconds(1);
    let cases: Vec<(&str, DateTime<Utc>, bool)> = vec![
        ("Mon 08:00 opens", berlin(2026, 5, 18, 8, 0), true),
        ("Mon 07:59:59", berlin(2026, 5, 18, 8, 0) - s, false),
        ("Mon 16:59:59", berlin(2026, 5, 18, 17, 0) - s, true),
        ("Mon 17:00 closes", berlin(2026, 5, 18, 17, 0), false),
        ("Sat noon", berlin(2026, 5, 23, 12, 0), false),
        ("Sun noon", berlin(2026, 5, 24, 12, 0), false),
        ("Pfingstmontag noon", berlin(2026, 5, 25, 12, 0), false),
        ("Tue after Pentecost 08:00", berlin(2026, 5, 26, 8, 0), true),
        ("winter Mon 07:00Z = 08:00 CET", utc(2026, 1, 12, 7, 0), true),
        ("winter Mon 06:59Z = 07:59 CET", utc(2026, 1, 12, 6, 59), false),
        ("winter Mon 16:00Z = 17:00 CET", utc(2026, 1, 12, 16, 0), false),
        ("Fri before spring DST 15:59Z = 16:59 CET", utc(2026, 3, 27, 15, 59), true),
        ("Fri before spring DST 16:00Z = 17:00 CET", utc(2026, 3, 27, 16, 0), false),
        ("Mon after spring DST 06:00Z = 08:00 CEST", utc(2026, 3, 30, 6, 0), true),
        ("Mon after spring DST 05:59Z = 07:59 CEST", utc(2026, 3, 30, 5, 59), false),
        ("Mon after spring DST 15:00Z = 17:00 CEST", utc(2026, 3, 30, 15, 0), false),
        ("Fri before autumn DST 14:59Z = 16:59 CEST", utc(2026, 10, 23, 14, 59), true),
        ("Fri before autumn DST 15:00Z = 17:00 CEST", utc(2026, 10, 23, 15, 0), false),
        ("Mon after autumn DST 06:30Z = 07:30 CET", utc(2026, 10, 26, 6, 30), false),
        ("Mon after autumn DST 07:00Z = 08:00 CET", utc(2026, 10, 26, 7, 0), true),
        ("Mon after autumn DST 15:30Z = 16:30 CET", utc(2026, 10, 26, 15, 30), true),
        ("Sun spring DST night 01:30Z", utc(2026, 3, 29, 1, 30), false),
        ("Sun autumn DST night 00:30Z", utc(2026, 10, 25, 0, 30), false),
    ];
    for (name, t, want) in cases {
        assert_eq!(cal.is_open(t), want, "{name}");
    }
}

/// Proves: next_opening is t itself when open, and otherwise skips evenings, weekends,
/// holidays (incl. the evening before one) and DST switch weekends to the right instant.
#[test]
fn next_opening_table() {
    let cal = BusinessCalendar::default_bw();
    let cases: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> = vec![
        ("open: itself", berlin(2026, 5, 19, 10, 17), berlin(2026, 5, 19, 10, 17)),
        ("early morning", berlin(2026, 5, 19, 6, 0), berlin(2026, 5, 19, 8, 0)),
        ("evening to next morning", berlin(2026, 5, 19, 17, 0), berlin(2026, 5, 20, 8, 0)),
        ("Fri before Pentecost 17:00 -> Tue", berlin(2026, 5, 22, 17, 0), utc(2026, 5, 26, 6, 0)),
        ("evening before Himmelfahrt (Thu 14.05.) -> Fri", berlin(2026, 5, 13, 17, 30), berlin(2026, 5, 15, 8, 0)),
        ("evening before Tag der Arbeit (Fri 01.05.) -> Mon", berlin(2026, 4, 30, 18, 0), berlin(2026, 5, 4, 8, 0)),
        ("Maundy Thursday evening -> Tue after Easter", berlin(2026, 4, 2, 17, 30), berlin(2026, 4, 7, 8, 0)),
        ("Silvester evening -> Fri 02.01. (Neujahr Thu)", berlin(2025, 12, 31, 17, 0), berlin(2026, 1, 2, 8, 0)),
        ("Mon 05.01. evening -> Wed (Heilige Drei Könige Tue)", berlin(2026, 1, 5, 17, 0), berlin(2026, 1, 7, 8, 0)),
        ("spring DST weekend: Sat -> Mon 08:00 CEST = 06:00Z", utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 6, 0)),
        ("inside spring DST night -> Mon 06:00Z", utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 6, 0)),
        ("Fri 17:00 CET before spring DST -> Mon 06:00Z", utc(2026, 3, 27, 16, 0), utc(2026, 3, 30, 6, 0)),
        ("autumn DST weekend: Sat -> Mon 08:00 CET = 07:00Z", utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 7, 0)),
        ("Mon 07:30 CET after autumn DST -> 07:00Z", utc(2026, 10, 26, 6, 30), utc(2026, 10, 26, 7, 0)),
    ];
    for (name, t, want) in cases {
        assert_eq!(cal.next_opening(t), want, "{name}");
        assert!(cal.is_open(want), "{name}: result must be open");
    }
}

/// Proves: add_support_hours counts only open time across day ends, weekends, Pentecost
/// and both DST switches; 0 yields next_opening; negative counts as 0; a duration that
/// ends exactly at closing time yields the closing time.
#[test]
fn add_support_hours_table() {
    let cal = BusinessCalendar::default_bw();
    let cases: Vec<(&str, DateTime<Utc>, Duration, DateTime<Utc>)> = vec![
        ("Fri 22.05. 16:58 + 2 min = 17:00", berlin(2026, 5, 22, 16, 58), mins(2), berlin(2026, 5, 22, 17, 0)),
        ("Fri 22.05. 16:58 + 3 min = Tue 08:01", berlin(2026, 5, 22, 16, 58), mins(3), berlin(2026, 5, 26, 8, 1)),
        ("Mon 08:00 + 9h = Mon 17:00", berlin(2026, 5, 18, 8, 0), hours(9), berlin(2026, 5, 18, 17, 0)),
        ("Mon 08:00 + 9h01 = Tue 08:01", berlin(2026, 5, 18, 8, 0), hours(9) + mins(1), berlin(2026, 5, 19, 8, 1)),
        ("Mon 18.05. 08:00 + 45h = Fri 17:00", berlin(2026, 5, 18, 8, 0), hours(45), berlin(2026, 5, 22, 17, 0)),
        (
            "Mon 18.05. 08:00 + 46h = Tue 26.05. 09:00 (Pentecost)",
            berlin(2026, 5, 18, 8, 0),
            hours(46),
            berlin(2026, 5, 26, 9, 0),
        ),
        ("Wed 13.05. 16:00 + 2h skips Himmelfahrt", berlin(2026, 5, 13, 16, 0), hours(2), berlin(2026, 5, 15, 9, 0)),
        (
            "spring DST: Fri 16:00 CET + 2h = Mon 09:00 CEST = 07:00Z",
            utc(2026, 3, 27, 15, 0),
            hours(2),
            utc(2026, 3, 30, 7, 0),
        ),
        (
            "autumn DST: Fri 16:00 CEST + 2h = Mon 09:00 CET = 08:00Z",
            utc(2026, 10, 23, 14, 0),
            hours(2),
            utc(2026, 10, 26, 8, 0),
        ),
        ("0 when closed = next opening", berlin(2026, 5, 23, 10, 0), Duration::zero(), berlin(2026, 5, 26, 8, 0)),
        ("0 when open = t", berlin(2026, 5, 19, 10, 0), Duration::zero(), berlin(2026, 5, 19, 10, 0)),
        ("0 at closing time = next opening", berlin(2026, 5, 19, 17, 0), Duration::zero(), berlin(2026, 5, 20, 8, 0)),
        ("negative counts as 0", berlin(2026, 5, 23, 10, 0), hours(-5), berlin(2026, 5, 26, 8, 0)),
    ];
    for (name, t, d, want) in cases {
        assert_eq!(cal.add_support_hours(t, d), want, "{name}");
    }
}

/// Proves: support_time_between over the Pentecost Friday mail, weekends with DST
/// switches, a holiday week, a whole year (hand-counted 252 working days in 2026), and
/// b <= a giving zero.
#[test]
fn support_time_between_table() {
    let cal = BusinessCalendar::default_bw();
    let cases: Vec<(&str, DateTime<Utc>, DateTime<Utc>, Duration)> = vec![
        (
            "mail Fri 22.05.2026 16:58 until Tue 08:00: 2 min",
            berlin(2026, 5, 22, 16, 58),
            berlin(2026, 5, 26, 8, 0),
            mins(2),
        ),
        (
            "mail Fri 22.05.2026 16:58 until Tue 08:30: 32 min",
            berlin(2026, 5, 22, 16, 58),
            berlin(2026, 5, 26, 8, 30),
            mins(32),
        ),
        (
            "spring DST weekend Fri 16:00 -> Mon 09:00: 2h",
            berlin(2026, 3, 27, 16, 0),
            berlin(2026, 3, 30, 9, 0),
            hours(2),
        ),
        (
            "autumn DST weekend Fri 16:00 -> Mon 09:00: 2h",
            berlin(2026, 10, 23, 16, 0),
            berlin(2026, 10, 26, 9, 0),
            hours(2),
        ),
        ("normal week Mon-Mon: 45h", berlin(2026, 5, 18, 0, 0), berlin(2026, 5, 25, 0, 0), hours(45)),
        ("Himmelfahrt week: 36h", berlin(2026, 5, 11, 0, 0), berlin(2026, 5, 18, 0, 0), hours(36)),
        (
            "evening before a holiday to the day after: 0",
            berlin(2026, 5, 13, 17, 0),
            berlin(2026, 5, 15, 8, 0),
            Duration::zero(),
        ),
        ("year 2026: 252 working days x 9h", berlin(2026, 1, 1, 0, 0), berlin(2027, 1, 1, 0, 0), hours(252 * 9)),
        ("b == a", berlin(2026, 5, 19, 10, 0), berlin(2026, 5, 19, 10, 0), Duration::zero()),
        ("b < a", berlin(2026, 5, 19, 12, 0), berlin(2026, 5, 19, 10, 0), Duration::zero()),
    ];
    for (name, a, b, want) in cases {
        assert_eq!(cal.support_time_between(a, b), want, "{name}");
    }
}

/// Proves: the brief's scenario end to end — mail at 16:58 on Friday 22.05.2026 gets 2
/// support minutes that day, the next opening is Tuesday 26.05.2026 08:00 Europe/Berlin,
/// and the German text for it is "Dienstag, 26.05.2026, 08:00 Uhr".
#[test]
fn mail_friday_before_pentecost_1658_next_opening_tuesday() {
    let cal = BusinessCalendar::default_bw();
    let mail = berlin(2026, 5, 22, 16, 58);
    assert!(cal.is_open(mail));
    assert_eq!(cal.support_time_between(mail, berlin(2026, 5, 23, 0, 0)), mins(2));
    let close = cal.add_support_hours(mail, mins(2));
    assert_eq!(close, berlin(2026, 5, 22, 17, 0));
    let next = cal.next_opening(close);
    assert_eq!(next, utc(2026, 5, 26, 6, 0));
    assert_eq!(cal.format_opening(next, "de"), "Dienstag, 26.05.2026, 08:00 Uhr");
    assert_eq!(cal.format_opening(next, "en"), "Tuesday, 26 May 2026, 08:00");
}

/// Proves: format_opening shows local time of the calendar's zone (CET vs CEST),
/// German for "de"/"de-DE", English otherwise, single-digit days unpadded in English.
#[test]
fn format_opening_local_time_and_languages() {
    let cal = BusinessCalendar::default_bw();
    let winter = utc(2026, 1, 2, 7, 0); // 08:00 CET
    assert_eq!(cal.format_opening(winter, "de"), "Freitag, 02.01.2026, 08:00 Uhr");
    assert_eq!(cal.format_opening(winter, "de-DE"), "Freitag, 02.01.2026, 08:00 Uhr");
    assert_eq!(cal.format_opening(winter, "en"), "Friday, 2 January 2026, 08:00");
    let summer = utc(2026, 3, 30, 6, 0); // 08:00 CEST
    assert_eq!(cal.format_opening(summer, "de"), "Montag, 30.03.2026, 08:00 Uhr");
    assert_eq!(cal.format_opening(summer, "fr"), "Monday, 30 March 2026, 08:00");
}

/// Proves: with a seven-day calendar open 00:00–23:59, support time on the DST switch
/// Sundays is 22h59 (spring) and 24h59 (autumn) of real time, not the wall-clock 23h59.
#[test]
fn support_time_on_dst_switch_days_is_real_elapsed_time() {
    let cal =
        BusinessCalendar::new(Zone::berlin(), ALL_WEEK.to_vec(), time(0, 0), time(23, 59), false, vec![]).unwrap();
    let spring = cal.support_time_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0));
    assert_eq!(spring, hours(22) + mins(59));
    let autumn = cal.support_time_between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0));
    assert_eq!(autumn, hours(24) + mins(59));
    // add_support_hours is consistent with it across the switch.
    assert_eq!(cal.add_support_hours(berlin(2026, 3, 29, 0, 0), hours(22) + mins(59)), berlin(2026, 3, 29, 23, 59));
}

/// Proves: an opening time inside the spring-forward gap opens when clocks resume
/// (03:00 CEST), and one inside the repeated autumn hour opens at its first occurrence.
#[test]
fn opening_time_inside_dst_gap_or_repeated_hour() {
    let cal =
        BusinessCalendar::new(Zone::berlin(), vec![Weekday::Sun], time(2, 30), time(10, 0), false, vec![]).unwrap();
    // 29.03.2026: 02:00 CET -> 03:00 CEST; 02:30 does not exist.
    assert_eq!(cal.next_opening(utc(2026, 3, 28, 22, 0)), utc(2026, 3, 29, 1, 0));
    assert!(!cal.is_open(utc(2026, 3, 29, 0, 59)));
    assert!(cal.is_open(utc(2026, 3, 29, 1, 0)));
    // 25.10.2026: 03:00 CEST -> 02:00 CET; 02:30 exists twice (00:30Z and 01:30Z).
    assert_eq!(cal.next_opening(utc(2026, 10, 24, 22, 0)), utc(2026, 10, 25, 0, 30));
    // 02:30 CEST .. 10:00 CET = 8h30 of real time.
    assert_eq!(cal.support_time_between(utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 0, 0)), hours(8) + mins(30));
}

/// Proves: add_support_hours and support_time_between are inverse on a grid of start
/// instants (every 37 min over five weeks spanning spring DST and Easter) and durations,
/// and the result never lies in closed time unless it is a closing instant.
#[test]
fn add_support_hours_and_support_time_between_round_trip() {
    let cal = BusinessCalendar::default_bw();
    let durations = [mins(1), mins(59), hours(1), hours(9), hours(16), hours(40)];
    let mut t = berlin(2026, 3, 16, 0, 0);
    let end = berlin(2026, 4, 20, 0, 0);
    while t < end {
        for d in durations {
            let due = cal.add_support_hours(t, d);
            assert_eq!(cal.support_time_between(t, due), d, "t={t} d={d}");
            // Tight: one second earlier not enough.
            assert!(cal.support_time_between(t, due - Duration::seconds(1)) < d);
            assert!(cal.is_open(due - Duration::seconds(1)), "t={t} d={d}");
        }
        t += mins(37);
    }
}

// ---------------------------------------------------------------------------------------
// Pauses (ticket waiting on the customer)
// ---------------------------------------------------------------------------------------

/// Proves: a ticket waiting on the customer for a full day (Mon 10:00 – Tue 10:00) does
/// not consume support time: exactly one support day (9h) less is counted.
#[test]
fn pause_of_one_day_does_not_consume_support_time() {
    let cal = BusinessCalendar::default_bw();
    let a = berlin(2026, 5, 18, 9, 0);
    let b = berlin(2026, 5, 20, 10, 0);
    let pause = [(berlin(2026, 5, 18, 10, 0), berlin(2026, 5, 19, 10, 0))];
    assert_eq!(cal.support_time_between(a, b), hours(19));
    assert_eq!(cal.support_time_between_excluding(a, b, &pause), hours(10));
    assert_eq!(cal.support_time_between_excluding(a, b, &[]), hours(19));
}

/// Proves: the SLA deadline moves by the paused support time: 4h target from Mon 09:00
/// with the customer pause Mon 10:00 – Tue 10:00 is due Tue 13:00 (not Mon 13:00).
#[test]
fn pause_moves_the_deadline() {
    let cal = BusinessCalendar::default_bw();
    let t = berlin(2026, 5, 18, 9, 0);
    let pause = [(berlin(2026, 5, 18, 10, 0), berlin(2026, 5, 19, 10, 0))];
    assert_eq!(cal.add_support_hours(t, hours(4)), berlin(2026, 5, 18, 13, 0));
    assert_eq!(cal.add_support_hours_excluding(t, hours(4), &pause), berlin(2026, 5, 19, 13, 0));
    // Exactly the support time before the pause: due when the pause starts.
    assert_eq!(cal.add_support_hours_excluding(t, hours(1), &pause), berlin(2026, 5, 18, 10, 0));
    // Starting inside a pause with 0: the first opening after the pause.
    assert_eq!(
        cal.add_support_hours_excluding(berlin(2026, 5, 18, 12, 0), Duration::zero(), &pause),
        berlin(2026, 5, 19, 10, 0)
    );
}

/// Proves: pauses may be unsorted, overlapping, outside the interval, or inverted/empty
/// (ignored) — the result equals that of the cleaned-up pause list.
#[test]
fn pauses_unsorted_overlapping_and_invalid_are_normalised() {
    let cal = BusinessCalendar::default_bw();
    let a = berlin(2026, 5, 18, 8, 0);
    let b = berlin(2026, 5, 19, 17, 0); // 18h of support time
    let messy = [
        (berlin(2026, 5, 19, 9, 0), berlin(2026, 5, 19, 11, 0)),
        (berlin(2026, 5, 19, 9, 30), berlin(2026, 5, 19, 10, 0)), // nested in the previous
        (berlin(2026, 5, 18, 10, 0), berlin(2026, 5, 18, 12, 0)),
        (berlin(2026, 5, 18, 11, 0), berlin(2026, 5, 18, 13, 0)), // overlaps the previous
        (berlin(2026, 5, 19, 16, 0), berlin(2026, 5, 19, 15, 0)), // inverted: ignored
        (berlin(2026, 5, 19, 14, 0), berlin(2026, 5, 19, 14, 0)), // empty: ignored
        (berlin(2026, 5, 10, 0, 0), berlin(2026, 5, 11, 0, 0)),   // before a
        (berlin(2026, 5, 20, 0, 0), berlin(2026, 5, 21, 0, 0)),   // after b
    ];
    // Paused: Mon 10-13 (3h) + Tue 9-11 (2h) = 5h.
    assert_eq!(cal.support_time_between_excluding(a, b, &messy), hours(13));
    // Pause covering everything: nothing counts.
    let all = [(berlin(2026, 5, 1, 0, 0), berlin(2026, 6, 1, 0, 0))];
    assert_eq!(cal.support_time_between_excluding(a, b, &all), Duration::zero());
    assert_eq!(cal.add_support_hours_excluding(a, hours(13), &messy), berlin(2026, 5, 19, 17, 0));
}

/// Proves: add_support_hours_excluding and support_time_between_excluding are inverse
/// for a grid of starts and durations around two pauses spanning a weekend and Pentecost.
#[test]
fn pauses_round_trip() {
    let cal = BusinessCalendar::default_bw();
    let pauses = [
        (berlin(2026, 5, 20, 15, 0), berlin(2026, 5, 21, 9, 30)),
        (berlin(2026, 5, 22, 12, 0), berlin(2026, 5, 27, 10, 0)),
    ];
    let mut t = berlin(2026, 5, 18, 0, 0);
    while t < berlin(2026, 5, 29, 0, 0) {
        for d in [mins(1), hours(2), hours(9), hours(20)] {
            let due = cal.add_support_hours_excluding(t, d, &pauses);
            assert_eq!(cal.support_time_between_excluding(t, due, &pauses), d, "t={t} d={d}");
            assert!(cal.support_time_between_excluding(t, due - Duration::seconds(1), &pauses) < d);
        }
        t += mins(53);
    }
}

// ---------------------------------------------------------------------------------------
// Extra closed days, holidays(), render_year, guards
// ---------------------------------------------------------------------------------------

/// Proves: extra closed days 24.12. and 31.12. are closed (not open at 10:00, skipped by
/// next_opening and add_support_hours), listed by holidays(year) of that year only;
/// in the default calendar they are ordinary working days.
#[test]
fn extra_closed_days_christmas_eve_and_new_years_eve_are_closed() {
    let cal = with_extra_days(vec![date(2026, 12, 31), date(2026, 12, 24)]);
    for d in [date(2026, 12, 24), date(2026, 12, 31)] {
        assert!(!cal.is_working_day(d));
        assert_eq!(cal.closed_reason(d).as_deref(), Some("extra closed day"));
        assert!(!cal.is_open(berlin(d.year(), d.month(), d.day(), 10, 0)));
        assert!(BusinessCalendar::default_bw().is_working_day(d));
    }
    // 24. Thu extra, 25./26. holidays, weekend -> Mon 28.12.
    assert_eq!(cal.next_opening(berlin(2026, 12, 23, 17, 0)), berlin(2026, 12, 28, 8, 0));
    // 31. Thu extra, 1.1. Fri holiday, weekend -> Mon 04.01.2027.
    assert_eq!(cal.next_opening(berlin(2026, 12, 30, 17, 0)), berlin(2027, 1, 4, 8, 0));
    assert_eq!(cal.add_support_hours(berlin(2026, 12, 23, 16, 0), hours(2)), berlin(2026, 12, 28, 9, 0));
    // Mon 21.12. 08:00 to Mon 04.01.2027 08:00: 21., 22., 23., 28., 29., 30. = 6 days.
    assert_eq!(cal.support_time_between(berlin(2026, 12, 21, 8, 0), berlin(2027, 1, 4, 8, 0)), hours(6 * 9));
    let h = cal.holidays(2026);
    assert_eq!(h.len(), 14);
    assert!(h.windows(2).all(|w| w[0].date <= w[1].date));
    let extra: Vec<NaiveDate> = h.iter().filter(|x| x.name_en == "Extra closed day").map(|x| x.date).collect();
    assert_eq!(extra, vec![date(2026, 12, 24), date(2026, 12, 31)]);
    assert_eq!(cal.holidays(2027).len(), 12);
}

/// Proves: an extra closed day that is also a holiday is listed once, as the holiday.
#[test]
fn extra_closed_day_on_a_holiday_is_listed_once() {
    let cal = with_extra_days(vec![date(2026, 12, 25)]);
    let h = cal.holidays(2026);
    assert_eq!(h.len(), 12);
    assert!(h.iter().any(|x| x.date == date(2026, 12, 25) && x.name_de == "1. Weihnachtstag"));
}

/// Proves: render_year names time zone, hours, weekdays and every closed day of the year
/// with date, weekday and name (including extra closed days).
#[test]
fn render_year_lists_settings_and_every_closed_day() {
    let cal = with_extra_days(vec![date(2026, 12, 24)]);
    let text = cal.render_year(2026);
    for needle in [
        "2026",
        "Europe/Berlin",
        "08:00",
        "17:00",
        "Monday, Tuesday, Wednesday, Thursday, Friday",
        "Baden-Württemberg",
        "Support days:  251 of 365 days", // 252 hand-counted working days minus 24.12.
        "25.05.2026  Monday     Pfingstmontag (Whit Monday)",
        "24.12.2026  Thursday   Zusätzlicher Schließtag (Extra closed day)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    for h in cal.holidays(2026) {
        let line = text
            .lines()
            .find(|l| l.contains(&h.date.format("%d.%m.%Y").to_string()))
            .unwrap_or_else(|| panic!("no line for {}:\n{text}", h.date));
        assert!(line.contains(&h.name_de), "{line}");
    }
    assert!(!text.contains("31.10.2026"));
}

/// Proves: a non-Berlin calendar works in its own zone (New York, DST on other dates).
#[test]
fn other_time_zone_uses_its_own_local_time() {
    let ny: Zone = "America/New_York".parse().unwrap();
    let cal = BusinessCalendar::new(ny, MON_FRI.to_vec(), time(9, 0), time(17, 0), false, vec![]).unwrap();
    assert_eq!(cal.timezone(), ny);
    // Mon 09.03.2026 09:00 EDT (DST began Sun 08.03.) = 13:00Z.
    assert_eq!(cal.next_opening(utc(2026, 3, 7, 12, 0)), utc(2026, 3, 9, 13, 0));
    // Mon 02.03.2026 09:00 EST = 14:00Z.
    assert_eq!(cal.next_opening(utc(2026, 2, 28, 12, 0)), utc(2026, 3, 2, 14, 0));
    assert_eq!(cal.format_opening(utc(2026, 3, 9, 13, 0), "en"), "Monday, 9 March 2026, 09:00");
}

/// Proves: a calendar that never opens (every Monday for 21 years is an extra closed
/// day) ends the scan with DateTime::MAX_UTC instead of looping, and extreme instants
/// do not panic.
#[test]
fn far_future_guard_and_extreme_instants() {
    let mut mondays = Vec::new();
    let mut d = date(2026, 1, 5);
    while d.year() < 2048 {
        mondays.push(d);
        d += Duration::days(7);
    }
    let cal =
        BusinessCalendar::new(Zone::berlin(), vec![Weekday::Mon], time(8, 0), time(17, 0), false, mondays).unwrap();
    assert_eq!(cal.next_opening(utc(2026, 1, 1, 0, 0)), DateTime::<Utc>::MAX_UTC);
    assert_eq!(cal.add_support_hours(utc(2026, 1, 1, 0, 0), hours(1)), DateTime::<Utc>::MAX_UTC);

    let bw = BusinessCalendar::default_bw();
    let max = DateTime::<Utc>::MAX_UTC;
    // Huge durations and "never" end points stop at the ~1000-year horizon.
    let start = utc(2026, 1, 1, 0, 0);
    assert_eq!(bw.add_support_hours(start, hours(100_000_000)), max);
    // Counted: the local days from start's day through start's day + MAX_HORIZON_DAYS.
    let past_horizon = start + Duration::days(i64::from(MAX_HORIZON_DAYS) + 1);
    let to_never = bw.support_time_between(start, max);
    assert_eq!(to_never, bw.support_time_between(start, past_horizon));
    assert!(to_never > hours(2_000_000));
    let min = DateTime::<Utc>::MIN_UTC;
    let _ = bw.is_open(max);
    let _ = bw.is_open(min);
    assert_eq!(bw.next_opening(max), max);
    assert_eq!(bw.add_support_hours(max - hours(1), hours(100)), max);
    let _ = bw.next_opening(min);
    assert!(bw.format_opening(max, "de").ends_with("Uhr UTC"));
    assert!(bw.format_opening(max, "en").ends_with(" UTC"));
    assert!(bw.support_time_between(max - hours(48), max) <= hours(18));
}

/// Proves: the day table a report measures with (`support_time_table`)
/// gives exactly what the calendar's day walk gives, for 20,000 pseudo-random
/// pairs of instants over two years (weekends, BW holidays with Easter, both
/// DST changes), with and without pauses, for the default hours, a calendar
/// open at night across the DST gap (02:30-10:00 Sundays) and one open
/// almost all day; and instants outside the table fall back to the walk.
#[test]
fn the_support_time_table_equals_the_day_walk() {
    let cals = [
        BusinessCalendar::default_bw(),
        BusinessCalendar::new(Zone::berlin(), vec![Weekday::Sun], time(2, 30), time(10, 0), false, vec![]).unwrap(),
        BusinessCalendar::new(Zone::berlin(), ALL_WEEK.to_vec(), time(0, 0), time(23, 59), false, vec![]).unwrap(),
    ];
    let from = utc(2025, 1, 1, 0, 0);
    let to = utc(2026, 12, 31, 23, 0);
    let span = (to - from).num_minutes();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: i64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as i64
    };
    for cal in &cals {
        let table = cal.support_time_table(from, to);
        for _ in 0..20_000 / cals.len() {
            let a = from + mins(next(span));
            let b = a + mins(next(60 * 24 * 40));
            let b = b.min(to);
            assert_eq!(table.between(a, b), cal.support_time_between(a, b), "{a} .. {b}");
            let p = a + mins(next(60 * 24 * 5));
            let pauses = [(p, p + mins(next(60 * 24 * 3))), (p - mins(30), p + mins(next(600)))];
            assert_eq!(
                table.between_excluding(a, b, &pauses),
                cal.support_time_between_excluding(a, b, &pauses),
                "{a} .. {b} without {pauses:?}"
            );
        }
        let (early, late) = (utc(2024, 6, 3, 9, 0), utc(2027, 3, 1, 12, 0));
        assert_eq!(table.between(early, late), cal.support_time_between(early, late), "outside the table");
    }
}
