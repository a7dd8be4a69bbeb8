//! Configuration (`docs/contracts.md`, "Configuration") in two layers: [`raw`] mirrors the TOML file
//! with unknown keys rejected; [`Config`] is the validated form the rest of
//! the program uses. [`Config::load`] reports every problem at once, each as
//! one line naming file, key, rule and value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, Weekday};

use crate::domain::{Category, Level, Priority};

/// The raw serde layer: exactly the keys of the file, nothing validated.
pub mod raw;

/// rspamd's actions from the mildest to the hardest (`X-Rspamd-Action`).
pub const RSPAMD_ACTIONS: &[&str] = &["greylist", "add header", "rewrite subject", "soft reject", "reject"];

/// When a mail counts as spam (`[spam]` in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct SpamThresholds {
    /// SpamAssassin `X-Spam-Status: … score=N` at or above this score
    /// (`spam.spamassassin_score`).
    pub score: f64,
    /// rspamd `X-Spamd-Result: … [N / M]` at or above this score (`spam.rspamd_score`).
    pub rspamd_score: f64,
    /// `X-Rspamd-Action` at or beyond this action, an index into
    /// [`RSPAMD_ACTIONS`] (`spam.rspamd_action`).
    pub rspamd_action: usize,
    /// Microsoft `X-MS-Exchange-Organization-SCL` / `X-Forefront-Antispam-Report` `SCL:N` at or above this.
    pub scl: i64,
    /// Marketing and phishing from senders outside the customer and agent
    /// domains is stored as spam, never answered (no backscatter): see
    /// `hygiene::unsolicited` (`spam.unsolicited`).
    pub unsolicited: bool,
}

impl Default for SpamThresholds {
    fn default() -> Self {
        // SpamAssassin's and rspamd's usual "add header" score; Exchange's
        // junk folder level.
        SpamThresholds { score: 6.0, rspamd_score: 6.0, rspamd_action: 1, scl: 5, unsolicited: true }
    }
}

/// The knowledge base's default `kb.min_score`: an article is offered from this score.
pub const KB_DEFAULT_MIN_SCORE: f64 = 11.0;

/// One configuration problem: file, key, rule and the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub key: String,
    pub rule: String,
    pub value: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}: {}", self.file, self.key, self.rule)
        } else {
            write!(f, "{}: {}: {} (got {})", self.file, self.key, self.rule, self.value)
        }
    }
}

/// Every problem found in a config file; `Display` prints one line each.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Transport security for IMAP and SMTP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Tls,
    StartTls,
    /// Only for loopback tests.
    Plain,
}

/// A network endpoint with login, shared by IMAP and SMTP.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    /// Read from `password` or `password_file` at load time.
    pub password: Option<String>,
    /// `auth = "xoauth2"`: where the access token comes from (`None`: password auth).
    pub token: Option<crate::oauth::TokenSource>,
    /// Extra trusted CA (internal CAs, tests).
    pub ca_file: Option<PathBuf>,
}

/// Where mail comes from.
#[derive(Debug, Clone)]
pub enum MailboxConfig {
    Maildir {
        path: PathBuf,
    },
    Imap {
        endpoint: Endpoint,
        folder: String,
        /// `None`: processed mail is only flagged `\Seen`.
        processed_folder: Option<String>,
        idle: bool,
        poll_interval_secs: u64,
    },
}

/// Where outgoing mail goes.
#[derive(Debug, Clone)]
pub enum TransportConfig {
    File { path: PathBuf },
    Smtp { endpoint: Endpoint },
}

/// Support hours as configured; `calendar::BusinessCalendar` is built from it.
#[derive(Debug, Clone)]
pub struct HoursConfig {
    pub timezone: crate::zone::Zone,
    pub weekdays: Vec<Weekday>,
    pub open: NaiveTime,
    pub close: NaiveTime,
    /// Whether the public holidays of Baden-Württemberg close the support.
    pub bw_holidays: bool,
    pub extra_closed_days: Vec<NaiveDate>,
}

/// Who may command tickets by mail.
#[derive(Debug, Clone)]
pub struct AgentsConfig {
    pub addresses: Vec<String>,
    pub domains: Vec<String>,
    pub require_authentication: bool,
    pub trusted_authserv_ids: Vec<String>,
}

impl AgentsConfig {
    /// Whether `addr` (lowercase) is an agent by address or domain.
    pub fn is_agent(&self, addr: &str) -> bool {
        let addr = addr.to_ascii_lowercase();
        self.addresses.contains(&addr) || domain_of(&addr).is_some_and(|d| self.domains.contains(&d))
    }
}

/// Per-category defaults.
#[derive(Debug, Clone)]
pub struct CategoryConfig {
    pub priority: Priority,
    pub level: Level,
    pub first_response_hours: f64,
    pub resolution_hours: f64,
    /// Told at once when a ticket of this category is opened.
    pub notify: Vec<String>,
}

/// SLA rules beyond the per-category targets (`[sla]`).
#[derive(Debug, Clone)]
pub struct SlaConfig {
    /// Warn the level's team when this share of the first-response target is used up.
    pub warn_share: f64,
    /// A missed first response raises a ticket one level at a time up to this level.
    pub max_escalation_level: Level,
    /// Targets per priority (`[sla.priorities.critical]`); the stricter of
    /// the category's and the priority's target applies.
    pub priorities: BTreeMap<Priority, PriorityTargets>,
}

/// First-response and resolution targets of one priority, in support hours.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriorityTargets {
    pub first_response_hours: Option<f64>,
    pub resolution_hours: Option<f64>,
}

fn default_sla() -> SlaConfig {
    let t = |fr: f64, res: f64| PriorityTargets { first_response_hours: Some(fr), resolution_hours: Some(res) };
    SlaConfig {
        warn_share: 0.8,
        max_escalation_level: Level::new(3).unwrap_or(Level::FIRST),
        priorities: BTreeMap::from([(Priority::Critical, t(1.0, 8.0)), (Priority::High, t(4.0, 24.0))]),
    }
}

/// How often a customer gets a ticket report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportCycle {
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
}

impl ReportCycle {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportCycle::Monthly => "monthly",
            ReportCycle::Quarterly => "quarterly",
            ReportCycle::HalfYearly => "half-yearly",
            ReportCycle::Yearly => "yearly",
        }
    }
}

/// A customer organisation, recognised by its mail domains.
#[derive(Debug, Clone)]
pub struct Customer {
    pub name: String,
    pub domains: Vec<String>,
    pub language: String,
    /// Change requests are forwarded here.
    pub consultant: Option<String>,
    /// Named in acknowledgements.
    pub contact_person: Option<String>,
    /// Joins the 2nd level for this customer's tickets.
    pub project_team: Vec<String>,
    pub report_cycle: ReportCycle,
    pub report_to: Vec<String>,
    /// Who gets the handover mail at support start (`customer welcome`);
    /// empty: no automatic handover mail for this customer.
    pub contacts: Vec<String>,
    /// What the support must know about this customer, told in the handover mail.
    pub specifics: Vec<String>,
}

/// The follow-through of the first level (`[followup]`): the team digest
/// and the reminders of tickets waiting on the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowupConfig {
    /// Local time of the daily digest to every level's team (working days).
    pub digest_at: NaiveTime,
    /// A ticket waiting on the customer this many working days gets a
    /// reminder (0: no reminders and no automatic close).
    pub reminder_after_days: u32,
    /// ... and this many working days after the reminder it is closed
    /// (0: never closed automatically).
    pub close_after_days: u32,
}

/// `limits.max_processing_secs` when it is not set.
pub const DEFAULT_MAX_PROCESSING_SECS: u64 = 60;
/// Bounds of `limits.max_processing_secs` (fractions allowed; the tests use
/// a fraction of a second to make a large mail go over it).
pub const MIN_MAX_PROCESSING_SECS: f64 = 0.01;
pub const MAX_MAX_PROCESSING_SECS: f64 = 86_400.0;

/// Bounds on input and on automatic answers.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_mail_bytes: usize,
    pub max_mime_parts: usize,
    pub max_mime_depth: usize,
    pub auto_replies_per_hour: u32,
    pub auto_replies_per_day: u32,
    /// At most this many addresses receive one mail to a ticket's customer
    /// side (requester and CC'd participants), and a ticket has at most this
    /// many customer participants: no fan-out from one hostile mail.
    pub max_recipients: usize,
    /// Attachments up to this total size (bytes) are passed on with a mail
    /// (a customer's to the team, an agent's to the customer); larger ones
    /// are listed with their size and kept in the store.
    pub max_forward_bytes: usize,
    /// The longest one mail may take to process; a mail over it stops the
    /// process and is quarantined at the next start (see `inflight`).
    pub max_processing: std::time::Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (or `<embedded>`).
    pub source: String,
    pub support_address: String,
    pub display_name: String,
    pub tag_prefix: String,
    pub language: String,
    /// A customer reply within this many days reopens a closed ticket.
    pub reopen_days: i64,
    /// Relayed agent answers show the agent's first name in the From
    /// display name ("Anna (MEIN TEAM Support)"); the address stays the
    /// support's. Off by default: the support answers as one.
    pub agent_name_in_from: bool,
    /// Key for our Message-ID hashes; `None`: generated once and kept in the store.
    pub secret: Option<String>,
    pub mailbox: MailboxConfig,
    pub transport: TransportConfig,
    pub store_path: PathBuf,
    /// `store.dictionary_samples`: rows of a kind (incoming, outgoing mails)
    /// before the store trains a zstd dictionary on the newest of them
    /// (`store::dict`); 0: no dictionaries. Default 1000.
    pub dictionary_samples: usize,
    /// `store.cache_mib`: SQLite's page cache of the store's connection, in
    /// MiB (1..=1024). Unset: by the store's size, 1 to 4 MiB
    /// ([`crate::store::auto_cache_mib`]). See [`crate::store::Store::set_cache_mib`].
    pub store_cache_mib: Option<usize>,
    pub hours: HoursConfig,
    pub agents: AgentsConfig,
    /// Team addresses for levels 1, 2, 3 (index 0..=2).
    pub level_teams: [Vec<String>; 3],
    pub categories: BTreeMap<Category, CategoryConfig>,
    pub customers: Vec<Customer>,
    pub limits: Limits,
    /// `None`: the embedded classifier data.
    pub classifier_path: Option<PathBuf>,
    /// Directory of templates; missing files fall back to the embedded ones.
    pub templates_path: PathBuf,
    /// Prometheus text metrics on this address (loopback only), if set.
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub sla: SlaConfig,
    /// Local time (support time zone) at which periodic reports go out on the
    /// first working day of a cycle (`[reports] send_at`, default 08:00).
    pub report_send_at: NaiveTime,
    /// `[retention]`: when raw mails, attachments and outgoing mails of
    /// closed tickets leave the store (0: never).
    pub retention: RetentionPolicy,
    /// `[transport] max_per_minute`: mails handed to the transport per
    /// minute at most (0: no limit; Microsoft 365 allows 30).
    pub max_per_minute: u32,
    /// `[transport] max_concurrency`: sends in flight at once (1: one after the other).
    pub max_concurrency: u32,
    /// The knowledge base (`[kb] path`, default `kb/` beside the config if
    /// it exists); `None`: no articles are offered.
    pub kb_path: Option<PathBuf>,
    /// An article is offered when its score reaches this (`[kb] min_score`).
    pub kb_min_score: f64,
    pub followup: FollowupConfig,
    /// `[spam]`: upstream spam verdict thresholds and the check of unknown
    /// senders' marketing and phishing (read by `hygiene`).
    pub spam: SpamThresholds,
}

/// `[retention]`: days after which each kind goes (0: kept for ever).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// The raw bytes of incoming mails (`raw_after_days`).
    pub raw_after_days: u32,
    /// The bytes of incoming mails' attachments (`attachments_after_days`).
    pub attachments_after_days: u32,
    /// The raw bytes of outgoing mails (`outgoing_after_days`).
    pub outgoing_after_days: u32,
}

impl RetentionPolicy {
    pub fn is_off(&self) -> bool {
        *self == RetentionPolicy::default()
    }

    /// Every kind after `days` (`supportd purge --older-than`).
    pub fn all(days: u32) -> RetentionPolicy {
        RetentionPolicy { raw_after_days: days, attachments_after_days: days, outgoing_after_days: days }
    }
}

/// `[spam]` validated; every bad key named, defaults for the missing ones.
fn spam_config(c: &mut Checker, raw: Option<raw::Spam>) -> SpamThresholds {
    let mut t = SpamThresholds::default();
    let Some(raw) = raw else { return t };
    for (key, val, slot) in [
        ("spam.spamassassin_score", raw.spamassassin_score, &mut t.score),
        ("spam.rspamd_score", raw.rspamd_score, &mut t.rspamd_score),
    ] {
        match val {
            Some(v) if v.is_finite() && v > 0.0 && v <= 100.0 => *slot = v,
            Some(v) => c.bad(key, "must be a score > 0 and <= 100, like 6.0", v),
            None => {}
        }
    }
    if let Some(a) = raw.rspamd_action {
        match RSPAMD_ACTIONS.iter().position(|x| x.eq_ignore_ascii_case(a.trim())) {
            Some(i) => t.rspamd_action = i,
            None => c.bad("spam.rspamd_action", format!("must be one of {}", RSPAMD_ACTIONS.join(", ")), &a),
        }
    }
    match raw.scl {
        Some(v) if (1..=9).contains(&v) => t.scl = v,
        Some(v) => c.bad("spam.scl", "must be a Microsoft SCL from 1 to 9, like 5", v),
        None => {}
    }
    if let Some(u) = raw.unsolicited {
        t.unsolicited = u;
    }
    t
}

/// The embedded default config, as shipped in `config/supportd.toml`.
pub const EMBEDDED_DEFAULT: &str = include_str!("../config/supportd.toml");

/// The domain part of an address, lowercase.
pub fn domain_of(addr: &str) -> Option<String> {
    addr.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty())
}

fn looks_like_address(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((l, d)) => !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace) && !d.contains('@'),
        None => false,
    }
}

struct Checker<'a> {
    file: &'a str,
    dir: &'a Path,
    problems: Vec<Problem>,
    /// Whether `*_file` secrets and token files are read ([`Secrets`]).
    secrets: Secrets,
}

/// Whether loading a config reads the secrets of the mailbox and the relay
/// (`password_file`, `token_file`, `support.secret_file`, with
/// `${CREDENTIALS_DIRECTORY}` expanded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Read and check them all (`run`, `ingest`, `report --send`, `check-config`).
    Read,
    /// All but the mailbox's and the relay's (`password_file`, `token_file`
    /// left out): commands that write outgoing mail into the store but send
    /// nothing (`ingest --no-send`, `quarantine reprocess`) still sign its
    /// Message-IDs with `support.secret_file`.
    NoServers,
    /// None of them (their values are `None`): for the commands that write no
    /// mail and talk to neither the mailbox nor the relay (`status`,
    /// `tickets list`, `backup`, …), which must work as root outside the
    /// unit, where `$CREDENTIALS_DIRECTORY` is not set.
    Skip,
}

impl Checker<'_> {
    fn bad(&mut self, key: impl Into<String>, rule: impl Into<String>, value: impl fmt::Debug) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            key: key.into(),
            rule: rule.into(),
            value: format!("{value:?}"),
        });
    }

    /// A whole number in `0..=max` (absent: `default`).
    fn days_or_count(&mut self, key: &str, v: Option<i64>, default: u32, max: u32) -> u32 {
        match v {
            None => default,
            Some(n) if (0..=i64::from(max)).contains(&n) => n as u32,
            Some(n) => {
                self.bad(key, format!("must be a whole number from 0 to {max}"), n);
                default
            }
        }
    }

    fn missing(&mut self, key: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            key: key.into(),
            rule: "is required".into(),
            value: String::new(),
        });
    }

    /// A problem without a value to show.
    fn rule(&mut self, key: impl Into<String>, rule: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            key: key.into(),
            rule: rule.into(),
            value: String::new(),
        });
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) }
    }

    fn addresses(&mut self, key: &str, list: Option<Vec<String>>) -> Vec<String> {
        let mut out = Vec::new();
        for (i, a) in list.unwrap_or_default().into_iter().enumerate() {
            if looks_like_address(&a) {
                out.push(a.trim().to_ascii_lowercase());
            } else {
                self.bad(format!("{key}[{i}]"), "must be a mail address like name@example.org", a);
            }
        }
        out
    }

    fn address(&mut self, key: &str, a: Option<String>) -> Option<String> {
        let a = a?;
        if looks_like_address(&a) {
            Some(a.trim().to_ascii_lowercase())
        } else {
            self.bad(key, "must be a mail address like name@example.org", a);
            None
        }
    }

    fn language(&mut self, key: &str, l: Option<String>, default: &str) -> String {
        match l {
            None => default.to_string(),
            Some(l) if l == "de" || l == "en" => l,
            Some(l) => {
                self.bad(key, "must be one of de, en", l);
                default.to_string()
            }
        }
    }

    fn secret(&mut self, key: &str, inline: Option<String>, file: Option<String>) -> Option<String> {
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.bad(format!("{key}_file"), format!("give either {key} or {key}_file, not both"), "both");
                None
            }
            (Some(s), None) => Some(s),
            (None, Some(_))
                if self.secrets == Secrets::Skip
                    || (self.secrets == Secrets::NoServers && !key.starts_with("support.")) =>
            {
                None
            }
            (None, Some(f)) => {
                let expanded = expand_credentials(&f);
                let p = self.path(&expanded);
                match std::fs::read_to_string(&p) {
                    Ok(s) => Some(s.trim_end_matches(['\r', '\n']).to_string()),
                    Err(e) => {
                        self.bad(format!("{key}_file"), format!("cannot be read: {e}"), p.display().to_string());
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }

    fn endpoint(&mut self, sect: &str, e: EndpointRaw) -> Option<Endpoint> {
        let imap = e.imap;
        let token = self.token(sect, &e);
        let host = match e.host {
            Some(h) if !h.trim().is_empty() => Some(h),
            Some(h) => {
                self.bad(format!("{sect}.host"), "must not be empty", h);
                None
            }
            None => {
                self.missing(format!("{sect}.host"));
                None
            }
        };
        let security = match e.security.as_deref() {
            None | Some("tls") => Security::Tls,
            Some("starttls") => Security::StartTls,
            Some("plain") => Security::Plain,
            Some(other) => {
                self.bad(format!("{sect}.security"), "must be one of tls, starttls, plain", other);
                Security::Tls
            }
        };
        let port = match e.port {
            None => Some(default_port(imap, security)),
            Some(p) if (1..=65535).contains(&p) => Some(p as u16),
            Some(p) => {
                self.bad(format!("{sect}.port"), "must be 1..65535", p);
                None
            }
        };
        let password = self.secret(&format!("{sect}.password"), e.password, e.password_file);
        let ca_file = e.ca_file.map(|c| {
            let p = self.path(&c);
            if !p.is_file() {
                self.bad(format!("{sect}.ca_file"), "must be a readable file", p.display().to_string());
            }
            p
        });
        Some(Endpoint { host: host?, port: port?, security, username: e.username, password, token, ca_file })
    }

    /// `auth`, `token_file`, `token_command`: `None` for password auth.
    fn token(&mut self, sect: &str, e: &EndpointRaw) -> Option<crate::oauth::TokenSource> {
        use crate::oauth::{TokenKind, TokenSource};
        let xoauth2 = match e.auth.as_deref() {
            None | Some("password") => false,
            Some("xoauth2") => true,
            Some(other) => {
                self.bad(format!("{sect}.auth"), "must be one of password, xoauth2", other);
                return None;
            }
        };
        if !xoauth2 {
            for (k, set) in [("token_file", e.token_file.is_some()), ("token_command", e.token_command.is_some())] {
                if set {
                    self.bad(format!("{sect}.{k}"), "only applies to auth = \"xoauth2\"", k);
                }
            }
            return None;
        }
        if e.username.is_none() && !e.imap {
            // (IMAP requires a username anyway and reports it already)
            self.rule(format!("{sect}.username"), "is required for auth = \"xoauth2\"");
        }
        for (k, set) in [("password", e.password.is_some()), ("password_file", e.password_file.is_some())] {
            if set {
                self.bad(
                    format!("{sect}.{k}"),
                    "does not apply to auth = \"xoauth2\" (use token_file or token_command)",
                    k,
                );
            }
        }
        match (&e.token_file, &e.token_command) {
            (Some(_), Some(_)) => {
                self.bad(format!("{sect}.token_command"), "give either token_file or token_command, not both", "both");
                None
            }
            (None, None) => {
                self.rule(format!("{sect}.token_file"), "auth = \"xoauth2\" needs token_file or token_command");
                None
            }
            (Some(f), None) => {
                let key = format!("{sect}.token_file");
                let p = self.path(&expand_credentials(f));
                if self.secrets != Secrets::Read {
                } else if let Err(err) = std::fs::File::open(&p) {
                    self.bad(&key, format!("cannot be read: {err}"), p.display().to_string());
                }
                Some(TokenSource { key, kind: TokenKind::File(p) })
            }
            (None, Some(argv)) => {
                let key = format!("{sect}.token_command");
                match argv.first() {
                    None => {
                        self.bad(&key, "must name a program and its arguments, like [\"/usr/bin/oauth2ms\"]", "[]");
                        None
                    }
                    Some(prog) if prog.trim().is_empty() => {
                        self.bad(&key, "the program must not be empty", prog);
                        None
                    }
                    Some(prog) => {
                        let mut argv = argv.clone();
                        if prog.contains('/') {
                            let p = self.path(&expand_credentials(prog));
                            if !p.is_file() {
                                self.bad(&key, "the program must be an existing file", p.display().to_string());
                            }
                            argv[0] = p.display().to_string();
                        }
                        Some(TokenSource { key, kind: TokenKind::Command(argv) })
                    }
                }
            }
        }
    }
}

/// `$CREDENTIALS_DIRECTORY` in a `*_file` value is replaced by systemd's credentials directory.
fn expand_credentials(s: &str) -> String {
    match std::env::var("CREDENTIALS_DIRECTORY") {
        Ok(dir) => s.replace("${CREDENTIALS_DIRECTORY}", &dir).replace("$CREDENTIALS_DIRECTORY", &dir),
        Err(_) => s.to_string(),
    }
}

struct EndpointRaw {
    host: Option<String>,
    port: Option<i64>,
    security: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<String>,
    auth: Option<String>,
    token_file: Option<String>,
    token_command: Option<Vec<String>>,
    ca_file: Option<String>,
    imap: bool,
}

fn default_port(imap: bool, s: Security) -> u16 {
    {
        match (imap, s) {
            (true, Security::Tls) => 993,
            (true, _) => 143,
            (false, Security::Tls) => 465,
            (false, Security::StartTls) => 587,
            (false, Security::Plain) => 25,
        }
    }
}

fn default_category(c: Category) -> CategoryConfig {
    let (priority, level, fr, res) = match c {
        Category::SecurityError => (Priority::Critical, 2, 1.0, 8.0),
        Category::FunctionalError => (Priority::Normal, 1, 4.0, 24.0),
        Category::ChangeRequest => (Priority::Low, 1, 8.0, 40.0),
        _ => (Priority::Normal, 1, 8.0, 40.0),
    };
    CategoryConfig {
        priority,
        level: Level::new(level).unwrap_or(Level::FIRST),
        first_response_hours: fr,
        resolution_hours: res,
        notify: Vec::new(),
    }
}

impl Config {
    /// Load and validate a config file; all problems at once on failure.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with(path, Secrets::Read)
    }

    /// [`Config::load`], reading the secrets or not ([`Secrets`]).
    pub fn load_with(path: &Path, secrets: Secrets) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![Problem {
                file: file.clone(),
                key: "(file)".into(),
                rule: format!("cannot be read: {e}"),
                value: String::new(),
            }])
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        Config::from_str_with(&text, &file, &dir, secrets)
    }

    /// Validate config text; relative paths are resolved against `dir`.
    pub fn from_str(text: &str, file: &str, dir: &Path) -> Result<Config, ConfigErrors> {
        Config::from_str_with(text, file, dir, Secrets::Read)
    }

    /// [`Config::from_str`], reading the secrets or not ([`Secrets`]).
    ///
    /// Every problem at once: a file that is not TOML at all is one problem
    /// (with its line); a key of the wrong type or an unknown key is reported
    /// by a second pass that checks each key on its own (naming the key, and
    /// its line), leaves the bad keys out and goes on to check the rest.
    pub fn from_str_with(text: &str, file: &str, dir: &Path, secrets: Secrets) -> Result<Config, ConfigErrors> {
        let mut c = Checker { file, dir, problems: Vec::new(), secrets };
        let raw: raw::File = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let first = {
                    let msg = e.message().replace('\n', " ");
                    let key = e
                        .span()
                        .map(|s| {
                            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                            format!("line {line}")
                        })
                        .unwrap_or_else(|| "(file)".into());
                    Problem { file: file.to_string(), key, rule: msg, value: String::new() }
                };
                let Ok(table) = text.parse::<toml::Table>() else {
                    return Err(ConfigErrors(vec![first]));
                };
                let (cleaned, problems) = structure::check(table, text);
                if problems.is_empty() {
                    return Err(ConfigErrors(vec![first]));
                }
                for (key, rule) in problems {
                    c.rule(key, rule);
                }
                match toml::Value::Table(cleaned).try_into::<raw::File>() {
                    Ok(raw) => raw,
                    Err(_) => return Err(ConfigErrors(c.problems)),
                }
            }
        };

        let s = raw.support.unwrap_or_default();
        let support_address = match c.address("support.address", s.address.clone()) {
            Some(a) => a,
            None => {
                if s.address.is_none() {
                    c.missing("support.address");
                }
                String::new()
            }
        };
        let tag_prefix = s.tag_prefix.unwrap_or_else(|| "MT".into());
        if tag_prefix.is_empty() || tag_prefix.len() > 8 || !tag_prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            c.bad("support.tag_prefix", "must be 1-8 uppercase letters A-Z", &tag_prefix);
        }
        let language = c.language("support.language", s.language, "de");
        let reopen_days = s.reopen_days.unwrap_or(14);
        if !(0..=3650).contains(&reopen_days) {
            c.bad("support.reopen_days", "must be 0..3650", reopen_days);
        }
        let secret = c.secret("support.secret", s.secret, s.secret_file);

        let m = raw.mailbox.unwrap_or_default();
        let mailbox = match m.kind.as_deref() {
            None | Some("maildir") => {
                let path = m.path.as_deref().map(|p| c.path(p));
                if path.is_none() {
                    c.missing("mailbox.path");
                }
                for (k, set) in [
                    ("host", m.host.is_some()),
                    ("port", m.port.is_some()),
                    ("username", m.username.is_some()),
                    ("auth", m.auth.is_some()),
                    ("token_file", m.token_file.is_some()),
                    ("token_command", m.token_command.is_some()),
                ] {
                    if set {
                        c.bad(format!("mailbox.{k}"), "only applies to kind = \"imap\"", k);
                    }
                }
                MailboxConfig::Maildir { path: path.unwrap_or_default() }
            }
            Some("imap") => {
                let interval = m.poll_interval_secs.unwrap_or(60);
                if !(1..=86400).contains(&interval) {
                    c.bad("mailbox.poll_interval_secs", "must be 1..86400", interval);
                }
                if m.username.is_none() {
                    c.missing("mailbox.username");
                }
                let ep = c.endpoint(
                    "mailbox",
                    EndpointRaw {
                        host: m.host,
                        port: m.port,
                        security: m.security,
                        username: m.username,
                        password: m.password,
                        password_file: m.password_file,
                        auth: m.auth,
                        token_file: m.token_file,
                        token_command: m.token_command,
                        ca_file: m.ca_file,
                        imap: true,
                    },
                );
                let processed = m.processed_folder.unwrap_or_else(|| "Processed".into());
                MailboxConfig::Imap {
                    endpoint: ep.unwrap_or_else(dummy_endpoint),
                    folder: m.folder.unwrap_or_else(|| "INBOX".into()),
                    processed_folder: (!processed.is_empty()).then_some(processed),
                    idle: m.idle.unwrap_or(true),
                    poll_interval_secs: interval.max(1) as u64,
                }
            }
            Some(other) => {
                c.bad("mailbox.kind", "must be one of maildir, imap", other);
                MailboxConfig::Maildir { path: PathBuf::new() }
            }
        };

        let t = raw.transport.unwrap_or_default();
        let max_per_minute = c.days_or_count("transport.max_per_minute", t.max_per_minute, 0, 100_000);
        let max_concurrency = match t.max_concurrency {
            None => 1,
            Some(n) if (1..=16).contains(&n) => n as u32,
            Some(n) => {
                c.bad("transport.max_concurrency", "must be a whole number from 1 to 16", n);
                1
            }
        };
        let transport = match t.kind.as_deref() {
            None | Some("file") => {
                let path = t.path.as_deref().map(|p| c.path(p));
                if path.is_none() {
                    c.missing("transport.path");
                }
                TransportConfig::File { path: path.unwrap_or_default() }
            }
            Some("smtp") => {
                let ep = c.endpoint(
                    "transport",
                    EndpointRaw {
                        host: t.host,
                        port: t.port,
                        security: t.security,
                        username: t.username,
                        password: t.password,
                        password_file: t.password_file,
                        auth: t.auth,
                        token_file: t.token_file,
                        token_command: t.token_command,
                        ca_file: t.ca_file,
                        imap: false,
                    },
                );
                TransportConfig::Smtp { endpoint: ep.unwrap_or_else(dummy_endpoint) }
            }
            Some(other) => {
                c.bad("transport.kind", "must be one of file, smtp", other);
                TransportConfig::File { path: PathBuf::new() }
            }
        };

        let raw_store = raw.store.unwrap_or_default();
        let store_path = match raw_store.path {
            Some(p) => c.path(&p),
            None => {
                c.missing("store.path");
                PathBuf::new()
            }
        };
        let dictionary_samples = match raw_store.dictionary_samples {
            Some(n) if n != 0 && !(10..=100_000).contains(&n) => {
                c.bad("store.dictionary_samples", "must be 0 (no dictionaries) or from 10 to 100000", n);
                1000
            }
            Some(n) => n as usize,
            None => 1000,
        };
        let store_cache_mib = match raw_store.cache_mib {
            Some(n) if !(1..=1024).contains(&n) => {
                c.bad("store.cache_mib", "must be from 1 to 1024 (MiB)", n);
                None
            }
            Some(n) => Some(n as usize),
            None => None,
        };

        let h = raw.hours.unwrap_or_default();
        let tz_name = h.timezone.unwrap_or_else(|| "Europe/Berlin".into());
        let timezone = tz_name.parse::<crate::zone::Zone>().unwrap_or_else(|_| {
            c.bad("hours.timezone", "must be an IANA time zone such as Europe/Berlin", &tz_name);
            crate::zone::Zone::berlin()
        });
        let mut weekdays = Vec::new();
        for (i, w) in h
            .weekdays
            .unwrap_or_else(|| ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec())
            .iter()
            .enumerate()
        {
            match parse_weekday(w) {
                Some(d) if !weekdays.contains(&d) => weekdays.push(d),
                Some(_) => c.bad(format!("hours.weekdays[{i}]"), "is listed twice", w),
                None => c.bad(format!("hours.weekdays[{i}]"), "must be one of mon, tue, wed, thu, fri, sat, sun", w),
            }
        }
        if weekdays.is_empty() {
            c.bad("hours.weekdays", "must name at least one day", "[]");
        }
        let mut time = |key: &str, v: Option<String>, d: &str| {
            let v = v.unwrap_or_else(|| d.into());
            NaiveTime::parse_from_str(&v, "%H:%M").unwrap_or_else(|_| {
                c.bad(key, "must be a time HH:MM", &v);
                NaiveTime::parse_from_str(d, "%H:%M").unwrap_or_default()
            })
        };
        let open = time("hours.open", h.open, "08:00");
        let close = time("hours.close", h.close, "17:00");
        if open >= close {
            c.bad("hours.close", "must be later than hours.open", close.format("%H:%M").to_string());
        }
        let bw_holidays = match h.holidays.as_deref() {
            None | Some("DE-BW") => true,
            Some("none") => false,
            Some(other) => {
                c.bad("hours.holidays", "must be one of DE-BW, none", other);
                true
            }
        };
        let mut extra_closed_days = Vec::new();
        for (i, d) in h.extra_closed_days.unwrap_or_default().iter().enumerate() {
            match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) => extra_closed_days.push(d),
                Err(_) => c.bad(format!("hours.extra_closed_days[{i}]"), "must be a date YYYY-MM-DD", d),
            }
        }
        let hours = HoursConfig { timezone, weekdays, open, close, bw_holidays, extra_closed_days };

        let a = raw.agents.unwrap_or_default();
        let addresses = c.addresses("agents.addresses", a.addresses);
        let domains: Vec<String> =
            a.domains.unwrap_or_default().into_iter().map(|d| d.trim().to_ascii_lowercase()).collect();
        for (i, d) in domains.iter().enumerate() {
            if d.is_empty() || d.contains('@') || !d.contains('.') {
                c.bad(format!("agents.domains[{i}]"), "must be a domain like roewaplan.de", d);
            }
        }
        let agents = AgentsConfig {
            addresses,
            domains,
            require_authentication: a.require_authentication.unwrap_or(true),
            trusted_authserv_ids: a.trusted_authserv_ids.unwrap_or_default(),
        };
        if agents.require_authentication && agents.trusted_authserv_ids.is_empty() {
            c.bad(
                "agents.trusted_authserv_ids",
                "must name at least one server when require_authentication = true",
                "[]",
            );
        }

        let mut level_teams: [Vec<String>; 3] = Default::default();
        let mut team_given = [false; 3];
        for (k, v) in raw.levels {
            match k.parse::<usize>() {
                Ok(n @ 1..=3) => {
                    team_given[n - 1] = v.team.as_ref().is_some_and(|t| !t.is_empty());
                    level_teams[n - 1] = c.addresses(&format!("levels.{k}.team"), v.team);
                }
                _ => c.bad(format!("levels.{k}"), "level must be 1, 2 or 3", &k),
            }
        }
        for (i, given) in team_given.iter().enumerate() {
            if !given {
                // New tickets, escalations and level changes to this level would notify nobody.
                c.rule(
                    format!("levels.{}.team", i + 1),
                    format!("must name at least one address (the team that gets the tickets of level {})", i + 1),
                );
            }
        }

        let mut categories: BTreeMap<Category, CategoryConfig> =
            Category::ALL.iter().map(|c| (*c, default_category(*c))).collect();
        for (k, v) in raw.categories {
            let Some(cat) = Category::parse(&k) else {
                c.bad(format!("categories.{k}"), format!("must be one of {}", Category::valid_ids()), &k);
                continue;
            };
            let mut cc = default_category(cat);
            if let Some(p) = v.priority {
                match Priority::parse(&p) {
                    Some(p) => cc.priority = p,
                    None => c.bad(
                        format!("categories.{k}.priority"),
                        format!("must be one of {}", Priority::valid_ids()),
                        p,
                    ),
                }
            }
            if let Some(l) = v.level {
                match Level::new(l) {
                    Some(l) => cc.level = l,
                    None => c.bad(format!("categories.{k}.level"), "must be 1, 2 or 3", l),
                }
            }
            for (key, val, slot) in [
                ("first_response_hours", v.first_response_hours, &mut cc.first_response_hours),
                ("resolution_hours", v.resolution_hours, &mut cc.resolution_hours),
            ] {
                if let Some(h) = val {
                    if h > 0.0 && h <= 10_000.0 {
                        *slot = h;
                    } else {
                        c.bad(format!("categories.{k}.{key}"), "must be > 0 and <= 10000 support hours", h);
                    }
                }
            }
            cc.notify = c.addresses(&format!("categories.{k}.notify"), v.notify);
            if cat == Category::SecurityError && cc.priority < Priority::High {
                c.bad(
                    format!("categories.{k}.priority"),
                    "security errors must be at least high",
                    cc.priority.as_str(),
                );
            }
            categories.insert(cat, cc);
        }

        let mut customers = Vec::new();
        let mut seen_domains: BTreeMap<String, usize> = BTreeMap::new();
        for (i, cu) in raw.customers.into_iter().enumerate() {
            let key = format!("customers[{i}]");
            let name = cu.name.unwrap_or_default();
            if name.trim().is_empty() {
                c.missing(format!("{key}.name"));
            }
            let domains: Vec<String> =
                cu.domains.unwrap_or_default().into_iter().map(|d| d.trim().to_ascii_lowercase()).collect();
            if domains.is_empty() {
                c.bad(format!("{key}.domains"), "must name at least one domain", "[]");
            }
            for (j, d) in domains.iter().enumerate() {
                if d.is_empty() || d.contains('@') || !d.contains('.') {
                    c.bad(format!("{key}.domains[{j}]"), "must be a domain like example.org", d);
                } else if let Some(prev) = seen_domains.insert(d.clone(), i) {
                    c.bad(format!("{key}.domains[{j}]"), format!("is already a domain of customers[{prev}]"), d);
                }
            }
            let language = c.language(&format!("{key}.language"), cu.language, &language);
            let consultant = c.address(&format!("{key}.consultant"), cu.consultant);
            let project_team = c.addresses(&format!("{key}.project_team"), cu.project_team);
            let report_cycle = match cu.report_cycle.as_deref() {
                None | Some("monthly") => ReportCycle::Monthly,
                Some("quarterly") => ReportCycle::Quarterly,
                Some("half-yearly") => ReportCycle::HalfYearly,
                Some("yearly") => ReportCycle::Yearly,
                Some(other) => {
                    c.bad(
                        format!("{key}.report_cycle"),
                        "must be one of monthly, quarterly, half-yearly, yearly",
                        other,
                    );
                    ReportCycle::Monthly
                }
            };
            let report_to = c.addresses(&format!("{key}.report_to"), cu.report_to);
            let contacts = c.addresses(&format!("{key}.contacts"), cu.contacts);
            let specifics: Vec<String> = cu.specifics.unwrap_or_default();
            for (j, sp) in specifics.iter().enumerate() {
                if sp.trim().is_empty() || sp.len() > 2000 {
                    c.bad(format!("{key}.specifics[{j}]"), "must be a sentence of 1..2000 bytes", sp);
                }
            }
            customers.push(Customer {
                name,
                domains,
                language,
                consultant,
                contact_person: cu.contact_person,
                project_team,
                report_cycle,
                report_to,
                contacts,
                specifics,
            });
        }

        let l = raw.limits.unwrap_or_default();
        let mut limit = |key: &str, v: Option<i64>, d: i64, max: i64| -> i64 {
            match v {
                None => d,
                Some(x) if (1..=max).contains(&x) => x,
                Some(x) => {
                    c.bad(format!("limits.{key}"), format!("must be 1..{max}"), x);
                    d
                }
            }
        };
        let limits = Limits {
            max_mail_bytes: limit("max_mail_bytes", l.max_mail_bytes, 25 * 1024 * 1024, 1 << 31) as usize,
            max_mime_parts: limit("max_mime_parts", l.max_mime_parts, 500, 100_000) as usize,
            max_mime_depth: limit("max_mime_depth", l.max_mime_depth, 20, 1000) as usize,
            auto_replies_per_hour: limit("auto_replies_per_hour", l.auto_replies_per_hour, 5, 10_000) as u32,
            auto_replies_per_day: limit("auto_replies_per_day", l.auto_replies_per_day, 20, 100_000) as u32,
            max_recipients: limit("max_recipients", l.max_recipients, 20, 1000) as usize,
            max_forward_bytes: limit("max_forward_bytes", l.max_forward_bytes, 10 * 1024 * 1024, 1 << 30) as usize,
            max_processing: match l.max_processing_secs {
                None => std::time::Duration::from_secs(DEFAULT_MAX_PROCESSING_SECS),
                Some(x) if (MIN_MAX_PROCESSING_SECS..=MAX_MAX_PROCESSING_SECS).contains(&x) => {
                    std::time::Duration::from_secs_f64(x)
                }
                Some(x) => {
                    c.bad(
                        "limits.max_processing_secs",
                        format!("must be {MIN_MAX_PROCESSING_SECS}..{MAX_MAX_PROCESSING_SECS} seconds"),
                        x,
                    );
                    std::time::Duration::from_secs(DEFAULT_MAX_PROCESSING_SECS)
                }
            },
        };

        let classifier_path = raw.classifier.and_then(|k| k.path).map(|p| {
            let p = c.path(&p);
            if !p.is_file() {
                c.bad("classifier.path", "must be a readable file", p.display().to_string());
            }
            p
        });
        let templates_path = match raw.templates.and_then(|t| t.path) {
            Some(p) => {
                let p = c.path(&p);
                if !p.is_dir() {
                    c.bad("templates.path", "must be a directory", p.display().to_string());
                }
                p
            }
            None => c.path("templates"),
        };

        let r = raw.retention.unwrap_or_default();
        let retention = RetentionPolicy {
            raw_after_days: c.days_or_count("retention.raw_after_days", r.raw_after_days, 0, 36_500),
            attachments_after_days: c.days_or_count(
                "retention.attachments_after_days",
                r.attachments_after_days,
                0,
                36_500,
            ),
            outgoing_after_days: c.days_or_count("retention.outgoing_after_days", r.outgoing_after_days, 0, 36_500),
        };

        let metrics_listen = match raw.metrics.and_then(|m| m.listen) {
            None => None,
            Some(a) => match a.parse::<std::net::SocketAddr>() {
                Ok(sa) if sa.ip().is_loopback() => Some(sa),
                Ok(_) => {
                    c.bad("metrics.listen", "must be a loopback address (metrics have no authentication)", &a);
                    None
                }
                Err(_) => {
                    c.bad("metrics.listen", "must be an address like 127.0.0.1:9187", &a);
                    None
                }
            },
        };

        let mut sla = default_sla();
        if let Some(raw_sla) = raw.sla {
            if let Some(w) = raw_sla.warn_share {
                if w > 0.0 && w < 1.0 {
                    sla.warn_share = w;
                } else {
                    c.bad("sla.warn_share", "must be a share between 0 and 1 (exclusive), like 0.8", w);
                }
            }
            if let Some(l) = raw_sla.max_escalation_level {
                match Level::new(l) {
                    Some(l) => sla.max_escalation_level = l,
                    None => c.bad("sla.max_escalation_level", "must be 1 (never escalate), 2 or 3", l),
                }
            }
            for (k, v) in raw_sla.priorities {
                let Some(pr) = Priority::parse(&k) else {
                    c.bad(format!("sla.priorities.{k}"), format!("must be one of {}", Priority::valid_ids()), &k);
                    continue;
                };
                let mut t = PriorityTargets::default();
                for (key, val, slot) in [
                    ("first_response_hours", v.first_response_hours, &mut t.first_response_hours),
                    ("resolution_hours", v.resolution_hours, &mut t.resolution_hours),
                ] {
                    match val {
                        Some(h) if h > 0.0 && h <= 10_000.0 => *slot = Some(h),
                        Some(h) => {
                            c.bad(format!("sla.priorities.{k}.{key}"), "must be > 0 and <= 10000 support hours", h)
                        }
                        None => {}
                    }
                }
                sla.priorities.insert(pr, t);
            }
        }
        let report_send_at = match raw.reports.and_then(|r| r.send_at) {
            None => NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            Some(v) => NaiveTime::parse_from_str(&v, "%H:%M").unwrap_or_else(|_| {
                c.bad("reports.send_at", "must be a time HH:MM", &v);
                NaiveTime::default()
            }),
        };

        let spam = spam_config(&mut c, raw.spam);
        let kb = raw.kb.unwrap_or_default();
        let kb_path = match kb.path {
            Some(p) => {
                let p = c.path(&p);
                if !p.is_dir() {
                    c.bad("kb.path", "must be a directory", p.display().to_string());
                }
                Some(p)
            }
            None => Some(c.path("kb")).filter(|p| p.is_dir()),
        };
        let kb_min_score = match kb.min_score {
            None => KB_DEFAULT_MIN_SCORE,
            Some(x) if x > 0.0 && x <= 1000.0 => x,
            Some(x) => {
                c.bad("kb.min_score", "must be > 0 and <= 1000", x);
                KB_DEFAULT_MIN_SCORE
            }
        };
        let fu = raw.followup.unwrap_or_default();
        let digest_at = match fu.digest_at {
            None => NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            Some(v) => NaiveTime::parse_from_str(&v, "%H:%M").unwrap_or_else(|_| {
                c.bad("followup.digest_at", "must be a time HH:MM", &v);
                NaiveTime::default()
            }),
        };
        let mut days = |key: &str, v: Option<i64>, d: u32| -> u32 {
            match v {
                None => d,
                Some(x) if (0..=365).contains(&x) => x as u32,
                Some(x) => {
                    c.bad(format!("followup.{key}"), "must be 0..365 working days (0: off)", x);
                    d
                }
            }
        };
        let followup = FollowupConfig {
            digest_at,
            reminder_after_days: days("reminder_after_days", fu.reminder_after_days, 5),
            close_after_days: days("close_after_days", fu.close_after_days, 5),
        };

        if !c.problems.is_empty() {
            return Err(ConfigErrors(c.problems));
        }
        Ok(Config {
            source: file.to_string(),
            support_address,
            display_name: s.display_name.unwrap_or_else(|| "MEIN TEAM Support".into()),
            tag_prefix,
            language,
            reopen_days,
            agent_name_in_from: s.agent_name_in_from.unwrap_or(false),
            secret,
            mailbox,
            transport,
            store_path,
            dictionary_samples,
            store_cache_mib,
            hours,
            agents,
            level_teams,
            categories,
            customers,
            limits,
            classifier_path,
            templates_path,
            metrics_listen,
            retention,
            max_per_minute,
            max_concurrency,
            sla,
            report_send_at,
            spam,
            kb_path,
            kb_min_score,
            followup,
        })
    }

    /// The customer a mail address belongs to, by domain.
    pub fn customer_for(&self, addr: &str) -> Option<&Customer> {
        let d = domain_of(addr)?;
        self.customers.iter().find(|c| c.domains.contains(&d))
    }

    pub fn customer_by_name(&self, name: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn category(&self, c: Category) -> &CategoryConfig {
        &self.categories[&c]
    }

    /// First-response and resolution targets (support hours) of a ticket:
    /// the stricter of its category's and its priority's.
    pub fn sla_targets(&self, c: Category, p: Priority) -> (f64, f64) {
        let cc = self.category(c);
        let pt = self.sla.priorities.get(&p).copied().unwrap_or_default();
        let min = |a: f64, b: Option<f64>| b.map_or(a, |b| a.min(b));
        (min(cc.first_response_hours, pt.first_response_hours), min(cc.resolution_hours, pt.resolution_hours))
    }

    pub fn level_team(&self, l: Level) -> &[String] {
        &self.level_teams[(l.get() as usize).clamp(1, 3) - 1]
    }

    /// The domain of the support address, used in our Message-IDs.
    pub fn support_domain(&self) -> String {
        domain_of(&self.support_address).unwrap_or_else(|| "localhost".into())
    }
}

/// The second pass over a file that is TOML but not of the config's shape:
/// each key is checked on its own against the raw layer, so every unknown
/// key and every value of the wrong type is reported with its key path.
mod structure;

fn dummy_endpoint() -> Endpoint {
    Endpoint {
        host: String::new(),
        port: 0,
        security: Security::Tls,
        username: None,
        password: None,
        token: None,
        ca_file: None,
    }
}

/// `mon`..`sun` to a weekday.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
