//! `supportd::zone::Zone` (jiff's bundled time zone database behind chrono's
//! `TimeZone`) gives what chrono-tz gave, which it replaced in the binary:
//! the same offset at every hour of 1990-2040 and the same instants for
//! every local half hour of 2020-2030 (a gap: none; a fold: both, the
//! earlier first), in zones with different rules.

use chrono::{Duration, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use supportd::zone::Zone;

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "UTC",
];

fn same<A: TimeZone, B: TimeZone>(a: LocalResult<chrono::DateTime<A>>, b: LocalResult<chrono::DateTime<B>>) -> bool {
    let utc = |r: LocalResult<chrono::DateTime<_>>| -> Vec<i64> {
        match r {
            LocalResult::None => vec![],
            LocalResult::Single(x) => vec![x.timestamp()],
            LocalResult::Ambiguous(x, y) => vec![x.timestamp(), y.timestamp()],
        }
    };
    utc(a.map(|x| x.with_timezone(&Utc))) == utc(b.map(|x| x.with_timezone(&Utc)))
}

#[test]
fn offsets_and_local_times_are_chrono_tzs() {
    for name in ZONES {
        let ours: Zone = name.parse().unwrap();
        let theirs: chrono_tz::Tz = name.parse().unwrap();
        assert_eq!(ours.name(), *name);
        let mut t = Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap();
        while t < end {
            let (a, b) = (t.with_timezone(&ours), t.with_timezone(&theirs));
            assert_eq!(a.offset().fix(), b.offset().fix(), "{name} at {t}");
            assert_eq!(a.naive_local(), b.naive_local(), "{name} at {t}");
            t += Duration::hours(1);
        }
        let mut local = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let end = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let mut gaps_and_folds = 0;
        while local < end {
            let (a, b) = (ours.from_local_datetime(&local), theirs.from_local_datetime(&local));
            if !matches!(b, LocalResult::Single(_)) {
                gaps_and_folds += 1;
            }
            assert!(same(a, b), "{name}: local {local}: {:?} vs {:?}", ours.from_local_datetime(&local), b);
            local += Duration::minutes(30);
        }
        if *name != "UTC" && *name != "Asia/Kolkata" && *name != "America/Sao_Paulo" {
            assert!(gaps_and_folds > 0, "{name} has DST changes in 2020-2030");
        }
    }
}

#[test]
fn an_unknown_or_malformed_name_is_an_error_naming_it() {
    for bad in ["Europe/Berlinn", "", "CET-1CEST,M3.5.0,M10.5.0/3", "../../etc/passwd"] {
        let e = bad.parse::<Zone>().unwrap_err();
        assert_eq!(e.to_string(), format!("unknown time zone '{bad}'"));
    }
}

#[test]
fn zones_compare_and_show_by_their_iana_name() {
    let a: Zone = "Europe/Berlin".parse().unwrap();
    let b = Zone::berlin();
    assert_eq!(a, b);
    assert_ne!(a, "Europe/Paris".parse::<Zone>().unwrap());
    assert_eq!(format!("{a}"), "Europe/Berlin");
}

/// Instants and local times beyond jiff's years (±9999) take the nearest
/// end's offset instead of failing or wrapping around.
#[test]
fn far_instants_and_local_times_do_not_panic() {
    let berlin = Zone::berlin();
    for y in [-200_000, -10_000, 10_000, 40_000, 70_000, 200_000] {
        let local = NaiveDate::from_ymd_opt(y, 6, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
        let LocalResult::Single(t) = berlin.from_local_datetime(&local) else { panic!("{y}: one instant") };
        // Berlin at jiff's last instant (December 9999: CET) and before its
        // first rule (local mean time, +0:53:28), not the offset of a year
        // that a cast to 16 bits wrapped into (70,000 -> 4464, summer time).
        let want = if y > 0 { 3600 } else { 3208 };
        assert_eq!(t.offset().fix().local_minus_utc(), want, "{y}: {}", t.offset());
        let utc = local.and_utc();
        assert_eq!(utc.with_timezone(&berlin).naive_utc(), local, "{y}");
    }
}
