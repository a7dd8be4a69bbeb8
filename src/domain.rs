//! Domain vocabulary of `docs/contracts.md` (tickets, dispositions): categories, levels, priorities, statuses,
//! dispositions and ticket tags. Each type parses from and prints to the stable
//! ids used in config, JSON output and the database.

use std::fmt;

macro_rules! id_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $id:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $id)] $var),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The stable id (config, JSON, database).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $id),+ }
            }
            /// Parse a stable id; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($id => Some($name::$var),)+ _ => None }
            }
            /// The accepted ids joined for error messages.
            pub fn valid_ids() -> String {
                [$($id),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

id_enum!(
    /// The five request categories of the support concept.
    Category {
        FunctionalError => "functional_error",
        SecurityError => "security_error",
        UsageQuestion => "usage_question",
        UserManagement => "user_management",
        ChangeRequest => "change_request",
    }
);

impl Category {
    /// Whether the maintenance fee covers this category (the concept: change
    /// requests are billed through an explicit update offer, all else is included).
    pub fn covered_by_maintenance(self) -> bool {
        self != Category::ChangeRequest
    }

    /// The category's name in the words of the support concept.
    pub fn title(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Category::FunctionalError, "en") => "Functional error",
            (Category::SecurityError, "en") => "Security-relevant error",
            (Category::UsageQuestion, "en") => "Question on usage, content and processes",
            (Category::UserManagement, "en") => "Managing users and permissions",
            (Category::ChangeRequest, "en") => "Change request",
            (Category::FunctionalError, _) => "Funktionale Fehler",
            (Category::SecurityError, _) => "Sicherheitsrelevante Fehler",
            (Category::UsageQuestion, _) => "Fragen zu Bedienung, Inhalten und Prozessen",
            (Category::UserManagement, _) => "Verwalten von Benutzern und Berechtigungen",
            (Category::ChangeRequest, _) => "Änderungsanforderungen",
        }
    }

    /// The title of one request of this category (singular), for mails
    /// about one ticket; [`Category::title`] is the concept's group name.
    pub fn title_one(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Category::FunctionalError, "en") => "Functional error",
            (Category::SecurityError, "en") => "Security-relevant error",
            (Category::UsageQuestion, "en") => "Question on usage, content or processes",
            (Category::UserManagement, "en") => "Users and permissions",
            (Category::ChangeRequest, "en") => "Change request",
            (Category::FunctionalError, _) => "Funktionaler Fehler",
            (Category::SecurityError, _) => "Sicherheitsrelevanter Fehler",
            (Category::UsageQuestion, _) => "Frage zu Bedienung, Inhalten oder Prozessen",
            (Category::UserManagement, _) => "Benutzer und Berechtigungen",
            (Category::ChangeRequest, _) => "Änderungsanforderung",
        }
    }
}

id_enum!(
    /// Ticket priority; `security_error` is at least `high`.
    Priority { Low => "low", Normal => "normal", High => "high", Critical => "critical" }
);

id_enum!(
    /// Ticket status (`docs/contracts.md`, "Tickets").
    Status {
        New => "new",
        Open => "open",
        InProgress => "in_progress",
        /// Waiting on the customer: the SLA clock pauses.
        Waiting => "waiting",
        /// A change request handed to the customer's consultant.
        Forwarded => "forwarded",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl Status {
    /// Whether the ticket still needs work (not resolved or closed).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

id_enum!(
    /// What happened to an incoming mail (`docs/contracts.md`, "Dispositions").
    Disposition {
        NewTicket => "new_ticket",
        FollowUp => "follow_up",
        AgentReply => "agent_reply",
        AgentCommand => "agent_command",
        OverviewRequest => "overview_request",
        AutoReply => "auto_reply",
        Bounce => "bounce",
        Spam => "spam",
        Loop => "loop",
        Duplicate => "duplicate",
        RejectedCommand => "rejected_command",
        Quarantined => "quarantined",
    }
);

/// Support level 1, 2 or 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Level(u8);

impl Level {
    pub const FIRST: Level = Level(1);
    /// `Some` for 1, 2, 3.
    pub fn new(n: i64) -> Option<Level> {
        (1..=3).contains(&n).then_some(Level(n as u8))
    }
    pub fn get(self) -> u8 {
        self.0
    }
    /// "1st", "2nd", "3rd".
    pub fn ordinal(self) -> &'static str {
        match self.0 {
            1 => "1st",
            2 => "2nd",
            _ => "3rd",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A ticket tag such as `MT-000123`: configurable prefix, six digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TicketTag {
    pub prefix: String,
    pub number: i64,
}

impl TicketTag {
    pub fn new(prefix: &str, number: i64) -> Self {
        TicketTag { prefix: prefix.to_string(), number }
    }
    /// Parse `MT-000123` (no brackets) for the given prefix.
    pub fn parse(prefix: &str, s: &str) -> Option<Self> {
        let rest = s.trim().strip_prefix(prefix)?.strip_prefix('-')?;
        if rest.len() < 6 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(TicketTag::new(prefix, rest.parse().ok()?))
    }
}

impl fmt::Display for TicketTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.prefix, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        for d in Disposition::ALL {
            assert_eq!(Disposition::parse(d.as_str()), Some(*d));
        }
        assert_eq!(Status::parse("in_progress"), Some(Status::InProgress));
        assert_eq!(Priority::parse("urgent"), None);
    }

    #[test]
    fn tag_formats_six_digits_and_parses_back() {
        let t = TicketTag::new("MT", 123);
        assert_eq!(t.to_string(), "MT-000123");
        assert_eq!(TicketTag::parse("MT", "MT-000123"), Some(t));
        assert_eq!(TicketTag::parse("MT", "MT-12"), None);
        assert_eq!(TicketTag::parse("XY", "MT-000123"), None);
    }

    #[test]
    fn only_change_requests_are_billable() {
        assert!(!Category::ChangeRequest.covered_by_maintenance());
        assert!(Category::SecurityError.covered_by_maintenance());
    }
}

/// What became of one mail.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The `messages` row.
    pub row: i64,
    pub message_id: Option<String>,
    pub disposition: Disposition,
    pub ticket: Option<i64>,
    pub reason: Option<String>,
    /// Kinds of the mails queued because of it.
    pub queued: Vec<String>,
}

/// A ticket row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ticket {
    pub id: i64,
    pub subject: String,
    pub category: String,
    pub level: i64,
    pub priority: String,
    pub status: String,
    pub customer: Option<String>,
    pub requester: String,
    pub billable: bool,
    pub confidence: f64,
    pub low_confidence: bool,
    pub language: String,
    pub assignee: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub first_response_due: Option<String>,
    pub resolution_due: Option<String>,
    pub first_response_at: Option<String>,
    pub closed_at: Option<String>,
    pub merged_into: Option<i64>,
    pub linked_to: Option<i64>,
    /// When the team was warned that the first-response target is near.
    pub sla_warned_at: Option<String>,
    /// When the ticket last rose a level for a missed first response.
    pub escalated_at: Option<String>,
    /// The requester's display name, for greetings (None: none known).
    pub requester_name: Option<String>,
    /// A security suspicion, independent of the category (see
    /// `classify::Classification::security_flag`); an agent's #category settles it.
    pub security_flag: bool,
}

/// Time as stored: RFC 3339, UTC, seconds.
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parse a stored time.
pub fn parse_ts(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// What a ticket overview lists (`store::listing::overview`): some of the open and the
/// closed tickets, and how many there are of each.
#[derive(Debug, Clone, Default)]
pub struct OverviewTickets {
    /// The open tickets (oldest first), at most the `open_max` asked for.
    pub open: Vec<Ticket>,
    /// The newest closed tickets (in ticket order), at most `closed_max`.
    pub closed: Vec<Ticket>,
    pub open_total: usize,
    pub closed_total: usize,
}
