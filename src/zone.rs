//! IANA time zones for chrono (`[hours] timezone`): jiff's bundled time
//! zone database behind chrono's `TimeZone` trait.
//!
//! Why not chrono-tz: its transitions of all ~600 zones are static tables
//! whose entries point at their abbreviations ("CET"), so the dynamic
//! loader writes every one of them at start: 0.95 MB of the binary that
//! every supportd process kept resident (`.data.rel.ro`), whichever zone it
//! used. jiff keeps the database as compressed bytes, of which only the
//! configured zone is ever read.
//!
//! A [`Zone`] is `Copy` as chrono-tz's was: each zone is looked up once per
//! process and kept (at most the database's ~600 zones).

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone};

/// An IANA time zone (`Europe/Berlin`).
#[derive(Clone, Copy)]
pub struct Zone(&'static Loaded);

struct Loaded {
    name: String,
    tz: jiff::tz::TimeZone,
}

/// The zones looked up so far, by the name asked for.
static LOADED: Mutex<Vec<(String, &'static Loaded)>> = Mutex::new(Vec::new());

impl Zone {
    /// The zone of the support concept's hours.
    pub fn berlin() -> Zone {
        "Europe/Berlin".parse().expect("the bundled time zone database has Europe/Berlin")
    }

    /// The IANA name (`Europe/Berlin`).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    fn offset_at(&self, utc: &NaiveDateTime) -> FixedOffset {
        let seconds = match jiff::Timestamp::from_second(utc.and_utc().timestamp()) {
            Ok(ts) => self.0.tz.to_offset(ts).seconds(),
            // Outside jiff's range (years beyond ±9999): the nearest end's offset.
            Err(_) => {
                let edge = if utc.and_utc().timestamp() < 0 { jiff::Timestamp::MIN } else { jiff::Timestamp::MAX };
                self.0.tz.to_offset(edge).seconds()
            }
        };
        FixedOffset::east_opt(seconds).unwrap_or(FixedOffset::east_opt(0).expect("zero offset"))
    }

    fn offset(&self, fixed: FixedOffset) -> ZoneOffset {
        ZoneOffset { zone: *self, fixed }
    }
}

/// An unknown zone name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone(pub String);

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown time zone '{}'", self.0)
    }
}

impl std::error::Error for UnknownZone {}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(name: &str) -> Result<Zone, UnknownZone> {
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, z)) = loaded.iter().find(|(n, _)| n == name) {
            return Ok(Zone(z));
        }
        // Names only: jiff would also take a POSIX TZ string ("CET-1CEST").
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)) {
            return Err(UnknownZone(name.to_string()));
        }
        let tz = jiff::tz::db().get(name).map_err(|_| UnknownZone(name.to_string()))?;
        let canonical = tz.iana_name().unwrap_or(name).to_string();
        let z: &'static Loaded = Box::leak(Box::new(Loaded { name: canonical, tz }));
        loaded.push((name.to_string(), z));
        Ok(Zone(z))
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// The offset of a [`Zone`] at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    /// A local time in a gap (spring forward) has no offset; one in a fold
    /// (fall back) has two, the earlier instant first, as chrono-tz gave.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        use chrono::{Datelike, Timelike};
        let year = i16::try_from(local.year()).unwrap_or(i16::MAX);
        let civil = jiff::civil::DateTime::new(
            year,
            local.month() as i8,
            local.day() as i8,
            local.hour() as i8,
            local.minute() as i8,
            local.second() as i8,
            0,
        );
        let Ok(civil) = civil else {
            // Beyond jiff's years: the offset at the same reading as UTC.
            return LocalResult::Single(self.offset(self.offset_at(local)));
        };
        let fixed = |o: jiff::tz::Offset| FixedOffset::east_opt(o.seconds()).map(|f| self.offset(f));
        match self.0.tz.to_ambiguous_timestamp(civil).offset() {
            jiff::tz::AmbiguousOffset::Unambiguous { offset } => {
                fixed(offset).map_or(LocalResult::None, LocalResult::Single)
            }
            jiff::tz::AmbiguousOffset::Gap { .. } => LocalResult::None,
            // `before` is the larger offset, so the earlier instant.
            jiff::tz::AmbiguousOffset::Fold { before, after } => match (fixed(before), fixed(after)) {
                (Some(a), Some(b)) => LocalResult::Ambiguous(a, b),
                _ => LocalResult::None,
            },
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset(self.offset_at(utc))
    }
}
