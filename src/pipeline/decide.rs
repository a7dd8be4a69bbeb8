//! The decision about one mail, as data: pure functions of the parsed mail,
//! a [`Snapshot`] of what the store knows (read before deciding, see
//! `snapshot.rs`), the config and the arrival time `at` — no clock, no
//! store, no IO (`tests/module_graph.rs` checks the imports). `apply.rs`
//! applies what they return inside the mail's savepoint.
//!
//! - [`route`]: which way the mail goes (duplicate, machine mail, agent
//!   mail, overview, follow-up, new ticket), the trust verdict (an agent
//!   address without the trusted pass, commands from someone who may not
//!   give them, a sender who does not belong to the ticket), the security
//!   events, the warnings for the team and the trail.
//! - [`new_ticket`]: category, priority, level, status, language, the SLA
//!   due times and the in-hours wording of the acknowledgement, the team.
//! - [`follow_up`]: what a customer's mail does to a ticket's status
//!   (reopen within `reopen_days`, thanks only, too late: a new ticket).
//! - [`under_cap`]: whether a sender may get another automatic answer.
//! - [`check_commands`]: the agent commands that parse but cannot be
//!   executed on this ticket.
//! - [`agent_commands`]: what an agent's commands do, in order ([`Effect`]s),
//!   what the customer is told, the level handed to, the merge target.
//!
//! - [`team_of`], [`cc_joins`] ([`cc_left_out`]), [`overview`]: who works a
//!   ticket; who of the people a customer copied joins it (and what the team
//!   is told of the others); what the overview lists.
//! - [`due_times`]: the due times after a category or priority change.
//!
//! - [`agent_mails`] (`decide/mails.rs`): who gets each mail an agent's
//!   mail causes and its decided context: the relayed answer or a status
//!   mail to the customer side ([`customer_recipients`]), the change mails,
//!   the `#internal` note, the handover, the notice to the agent; which
//!   files go along ([`pass_on`]). [`new_ticket_mails`], [`follow_up_mails`],
//!   [`overview_mail`]: the acknowledgement (or, over the cap, the event and
//!   the team's warning), the reopen status mail, the team's notification,
//!   the consultant's copy, the overview.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::calendar::BusinessCalendar;
use crate::classify::Classification;
use crate::commands::{self, Command, CommandError, Parsed};
use crate::config::{Config, Customer, Limits, domain_of};
use crate::domain::{Category, Disposition, Level, Priority, Status, Ticket, TicketTag, parse_ts};
use crate::hygiene;
use crate::parse::InboundMail;
use crate::words::{asks_about_one_ticket, asks_for_overview, is_public_mail_domain, is_thanks_only, some_of};

mod mails;
pub use mails::{
    AgentMails, AgentSnapshot, Audience, FileInfo, FileRef, HandoverData, HistoryLine, Passed, PlannedMail, Step,
    StoredFile, agent_mails, command_error_mail, customer_recipients, follow_up_mails, new_ticket_mails, overview_mail,
    pass_on, pass_on_mail,
};

/// What the store knows about a mail that its route depends on.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// An earlier mail with the same Message-ID and the same bytes: its row and ticket.
    pub duplicate_of: Option<(i64, Option<i64>)>,
    /// For a bounce: the ticket of the mail that bounced.
    pub bounced_ticket: Option<i64>,
    /// The ticket the mail points at (after merges), if any.
    pub thread: Option<Found>,
    /// The machine-mail check as the snapshot made it (`Some(None)`: a
    /// person wrote the mail), so the writer makes it once a mail; `None`:
    /// not made, [`route`] makes it.
    pub machine: Option<Option<hygiene::Verdict>>,
}

/// The ticket a mail points at.
#[derive(Debug, Clone)]
pub struct Found {
    /// The ticket, followed through merges to the one that survives.
    pub ticket: Ticket,
    /// How it was found ("our Message-ID", "References", "subject tag", "a reply read earlier").
    pub how: String,
    /// Its participants (address, role).
    pub participants: Vec<(String, String)>,
}

/// An event to record: on a ticket (or none), by an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub ticket: Option<i64>,
    pub actor: String,
    pub kind: &'static str,
    pub detail: String,
}

/// Which way a mail goes.
#[derive(Debug, Clone)]
pub enum Route {
    /// Same Message-ID and bytes as an earlier mail: nothing happens.
    Duplicate { of_row: i64, ticket: Option<i64> },
    /// Machine mail (auto-reply, bounce, list, loop, spam): recorded, never
    /// answered; a bounce is noted on the ticket of the bounced mail and its
    /// failed recipients are marked.
    Machine {
        disposition: Disposition,
        reason: String,
        /// The ticket of the bounced mail, with the bounce's description and failed recipients.
        bounce: Option<(i64, String, Vec<String>)>,
    },
    /// An authenticated agent on a ticket: commands and a relayed answer.
    Agent { ticket: Box<Ticket> },
    /// A customer asks for the ticket overview.
    Overview,
    /// A customer's mail on a ticket; `untrusted`: it failed a trust check
    /// and changes no status and adds nobody.
    FollowUp { ticket: Box<Ticket>, untrusted: bool },
    /// A new ticket, linked to another one (a stranger's reply, a reply
    /// too late to reopen) with a note.
    NewTicket { linked_to: Option<i64>, note: Option<String> },
}

/// The route of a mail and everything decided on the way.
#[derive(Debug, Clone)]
pub struct Routed {
    pub route: Route,
    /// The sender is an agent whose mail passed the trust check.
    pub agent: bool,
    /// Commands refused (not an agent, or no trusted pass): the mail is a
    /// `rejected_command` handled as an ordinary message.
    pub refused: Option<String>,
    /// A security event for the ticket the mail ends on (if it ends on one).
    pub security: Option<String>,
    /// Events to record before the route's own work (a stranger's attempt).
    pub events: Vec<Event>,
    /// The commands and errors of the new text.
    pub parsed: Parsed,
    /// What each stage decided, for the stored trail.
    pub trail: Vec<String>,
    /// What the team must know (shown in its notifications).
    pub warnings: Vec<String>,
    /// Security findings to log as warnings.
    pub alerts: Vec<String>,
}

/// A text for the team, in the support's language.
fn team_words(cfg: &Config, de: String, en: String) -> String {
    if cfg.language == "en" { en } else { de }
}

fn tag(cfg: &Config, n: i64) -> String {
    TicketTag::new(&cfg.tag_prefix, n).to_string()
}

/// Which way `mail` goes, given what the store knows ([`Snapshot`]).
pub fn route(cfg: &Config, mail: &InboundMail, new_text: &str, snap: &Snapshot) -> Routed {
    let mut r = Routed {
        route: Route::Overview,
        agent: false,
        refused: None,
        security: None,
        events: Vec::new(),
        parsed: Parsed::default(),
        trail: Vec::new(),
        warnings: Vec::new(),
        alerts: Vec::new(),
    };
    if let Some((orig, ticket)) = snap.duplicate_of {
        r.trail.push(format!("dedupe: same Message-ID and bytes as message #{orig}"));
        r.route = Route::Duplicate { of_row: orig, ticket };
        return r;
    }
    r.trail.push("dedupe: first time seen".into());
    let machine = match &snap.machine {
        Some(made) => made.clone(),
        None => hygiene::check_config(mail, cfg),
    };
    if let Some(v) = machine {
        r.trail.push(format!("hygiene: {} ({}): never answered", v.disposition, v.reason));
        let bounce = match (v.disposition, snap.bounced_ticket) {
            (Disposition::Bounce, Some(t)) => {
                let info = hygiene::bounce_info(mail);
                Some((t, info.describe(), info.failed_recipients))
            }
            _ => None,
        };
        r.route = Route::Machine { disposition: v.disposition, reason: v.reason, bounce };
        return r;
    }
    r.trail.push("hygiene: written by a person".into());
    let from = mail.from_addr().to_string();
    let trusted = cfg.agents.trusted_authserv_ids.join(", ");
    // `require_authentication` guards everything an agent mail can cause
    // (relay, first response, status, commands): an agent address without
    // the trusted pass is an ordinary, suspicious customer mail.
    let agent_address = cfg.agents.is_agent(&from);
    let impostor = agent_address
        && cfg.agents.require_authentication
        && !commands::authenticated(mail, &cfg.agents.trusted_authserv_ids);
    r.agent = agent_address && !impostor;
    if impostor {
        let why = format!(
            "{from} is an agent address, but the mail has no DKIM, SPF or DMARC pass from {trusted}: handled as a customer mail, nothing relayed"
        );
        r.alerts.push(format!("unauthenticated agent address: {why}"));
        r.trail.push(format!("trust: {why}"));
        r.warnings.push(team_words(
            cfg,
            format!(
                "Absender {from} ist eine Agenten-Adresse, aber die Mail trägt keine DKIM/SPF/DMARC-Bestätigung von {trusted}: als Kundenmail behandelt, nichts an Kunden weitergeleitet, kein Befehl ausgeführt."
            ),
            why,
        ));
    }
    // The ticket it points at, if its sender belongs there.
    let mut thread: Option<Box<Ticket>> = None;
    let mut stranger: Option<(i64, String)> = None;
    match &snap.thread {
        None => r.trail.push("thread: no ticket found (our ids, References, subject tag, earlier replies)".to_string()),
        Some(found) if belongs_to(cfg, &from, r.agent, &found.ticket, &found.participants) => {
            r.trail.push(format!("thread: {} by {}", tag(cfg, found.ticket.id), found.how));
            thread = Some(Box::new(found.ticket.clone()));
        }
        Some(found) => {
            let (t, how) = (tag(cfg, found.ticket.id), &found.how);
            let detail = format!("{from} referred to {t} by {how} but is not a participant: not joined");
            r.events.push(Event {
                ticket: Some(found.ticket.id),
                actor: "supportd".into(),
                kind: "security",
                detail: detail.clone(),
            });
            r.alerts.push(detail.clone());
            r.warnings.push(team_words(
                cfg,
                format!(
                    "{from} hat auf {t} geantwortet ({how}), gehört aber nicht zu diesem Ticket: als neues Ticket aufgenommen, nichts davon an {t} oder dessen Beteiligte."
                ),
                format!(
                    "{from} answered {t} ({how}) but does not belong to that ticket: taken as a new ticket, nothing of it went to {t} or its people."
                ),
            ));
            r.trail.push(format!("thread: not joined to {t}: {detail}"));
            stranger = Some((found.ticket.id, detail));
        }
    }

    let parsed = commands::parse(new_text, &cfg.tag_prefix);
    let agent_commands = parsed.commands.iter().any(|c| *c != Command::Overview) || !parsed.errors.is_empty();
    // Commands from a sender who may not give them: not executed, logged as a
    // security event, and the mail is handled as an ordinary message.
    r.refused = if agent_commands && !agent_address {
        Some(format!("command tags from {from}, who is not an agent"))
    } else if agent_commands && impostor {
        Some(format!("command tags from {from} without a DKIM or SPF pass from {trusted}"))
    } else {
        None
    };
    if let Some(why) = &r.refused {
        r.alerts.push(format!("rejected commands: {why}"));
        r.trail.push(format!("commands: rejected: {why}"));
        r.warnings.push(team_words(
            cfg,
            format!("Befehle in dieser Mail wurden NICHT ausgeführt: {why}"),
            format!("Commands in this mail were NOT executed: {why}"),
        ));
    } else if !parsed.commands.is_empty() || !parsed.errors.is_empty() {
        r.trail.push(format!(
            "commands: {} understood{}",
            parsed.commands.len(),
            if parsed.errors.is_empty() { String::new() } else { format!(", {} not understood", parsed.errors.len()) }
        ));
    }
    let wants_overview = r.refused.is_none() && !r.agent && asks_for_overview(&mail.subject, new_text, &parsed);
    r.route = match (thread, stranger) {
        (Some(ticket), _) if r.agent && r.refused.is_none() => Route::Agent { ticket },
        (Some(_), _) if wants_overview && !asks_about_one_ticket(new_text, &cfg.tag_prefix) => Route::Overview,
        (Some(ticket), _) => Route::FollowUp { ticket, untrusted: r.refused.is_some() },
        (None, Some((other, detail))) => Route::NewTicket { linked_to: Some(other), note: Some(detail) },
        (None, None) if wants_overview => Route::Overview,
        (None, None) => Route::NewTicket { linked_to: None, note: None },
    };
    // A mail that failed a trust check is a security event on its ticket.
    r.security = match (&r.refused, impostor) {
        (Some(why), _) => Some(format!("rejected: {why}")),
        (None, true) => {
            Some("agent address without a trusted authentication pass: handled as a customer mail".to_string())
        }
        (None, false) => None,
    };
    r.parsed = parsed;
    r
}

/// Whether the sender of a mail belongs to the ticket it points at: the
/// requester, an agent, a participant, the same configured customer, or (no
/// customer configured on either side) the same company domain — never a
/// public mail service.
pub fn belongs_to(cfg: &Config, from: &str, agent: bool, t: &Ticket, participants: &[(String, String)]) -> bool {
    if from.eq_ignore_ascii_case(&t.requester) || agent {
        return true;
    }
    if participants.iter().any(|(a, _)| a.eq_ignore_ascii_case(from)) {
        return true;
    }
    let cust = cfg.customer_for(from).map(|c| c.name.as_str());
    if let (Some(c), Some(tc)) = (cust, t.customer.as_deref()) {
        return c == tc;
    }
    let same_domain = domain_of(from).is_some_and(|d| !is_public_mail_domain(&d) && Some(d) == domain_of(&t.requester));
    cust.is_none() && t.customer.is_none() && same_domain
}

/// Whether `addr` belongs to the organisation of a ticket whose customer is
/// `customer` and whose requester is `requester`: the same configured
/// customer, or (no customer configured on either side) the same company
/// domain, never a public mail service.
pub fn same_organisation(cfg: &Config, addr: &str, customer: Option<&str>, requester: &str) -> bool {
    match (cfg.customer_for(addr), customer) {
        (Some(c), Some(tc)) => c.name == tc,
        (None, None) => domain_of(addr).is_some_and(|d| !is_public_mail_domain(&d) && Some(d) == domain_of(requester)),
        _ => false,
    }
}

/// A new ticket, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicketPlan {
    pub category: Category,
    pub priority: Priority,
    pub level: Level,
    pub status: Status,
    /// The customer's language (configured, else guessed from the text).
    pub language: String,
    /// The mail arrived within support hours.
    pub in_hours: bool,
    /// When work starts (the next opening from the arrival).
    pub next_opening: DateTime<Utc>,
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    /// Who gets `notify_agents`: the level's team, the project team from
    /// level 2 on, the category's notify list.
    pub team: Vec<String>,
    /// A change request goes to the customer's consultant.
    pub consultant: Option<String>,
}

/// The hours of an SLA target as a duration.
pub fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0).round() as i64)
}

/// What a new ticket for a mail that arrived at `at` is: its category (from
/// the classification), priority (a security error at least high), level,
/// status (a change request with a consultant is forwarded), language, due
/// times counted in support hours from `at`, and who is told.
pub fn new_ticket(
    cfg: &Config,
    cal: &BusinessCalendar,
    class: &Classification,
    customer: Option<&Customer>,
    subject: &str,
    new_text: &str,
    at: DateTime<Utc>,
) -> NewTicketPlan {
    let category = class.category;
    let cc = cfg.category(category);
    let priority = class.priority(cc.priority);
    let level = cc.level;
    let consultant =
        if category == Category::ChangeRequest { customer.and_then(|c| c.consultant.clone()) } else { None };
    let status = if consultant.is_some() { Status::Forwarded } else { Status::New };
    let language = match customer {
        Some(c) => c.language.clone(),
        None => crate::words::detect_language(&format!("{subject}\n{new_text}"), &cfg.language),
    };
    let (fr, res) = cfg.sla_targets(category, priority);
    let mut team: Vec<String> = cfg.level_team(level).to_vec();
    if level.get() >= 2
        && let Some(c) = customer
    {
        team.extend(c.project_team.iter().cloned());
    }
    team.extend(cc.notify.iter().cloned());
    if class.tell_security_contact() {
        team.extend(cfg.category(Category::SecurityError).notify.iter().cloned());
    }
    NewTicketPlan {
        category,
        priority,
        level,
        status,
        language,
        in_hours: cal.is_open(at),
        next_opening: cal.next_opening(at),
        first_response_due: cal.add_support_hours(at, hours(fr)),
        resolution_due: cal.add_support_hours(at, hours(res)),
        team,
        consultant,
    }
}

/// What a customer's mail does to its ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// It failed a trust check: recorded, no status change, nobody added.
    Untrusted,
    /// Only thanks on a closed ticket: it stays closed.
    ThanksOnly,
    /// On a ticket closed longer than `reopen_days` ago: a new, linked ticket with this note.
    TooLate(String),
    /// On a ticket closed within `reopen_days`: open again, the customer is told.
    Reopen,
    /// On a ticket waiting for the customer: back with the team.
    Answered,
    /// On an open ticket.
    Plain,
}

/// What a customer's mail that arrived at `at` does to `ticket`.
pub fn follow_up(cfg: &Config, ticket: &Ticket, untrusted: bool, new_text: &str, at: DateTime<Utc>) -> FollowUp {
    let status = Status::parse(&ticket.status).unwrap_or(Status::Open);
    if untrusted {
        return FollowUp::Untrusted;
    }
    if !status.is_open() {
        let closed_at = ticket.closed_at.as_deref().and_then(parse_ts).unwrap_or(at);
        if is_thanks_only(new_text) {
            return FollowUp::ThanksOnly;
        }
        if at - closed_at > Duration::days(cfg.reopen_days) {
            return FollowUp::TooLate(format!(
                "reply to {} which was closed more than {} days ago",
                tag(cfg, ticket.id),
                cfg.reopen_days
            ));
        }
        return FollowUp::Reopen;
    }
    if status == Status::Waiting { FollowUp::Answered } else { FollowUp::Plain }
}

/// The automatic answers that count against a sender's acknowledgement cap.
pub const ACK_BUDGET: &[&str] = &["ack"];
/// The overview answers: a budget of their own, with the same numbers.
pub const OVERVIEW_BUDGET: &[&str] = &["overview"];

/// Whether a sender who got `last_hour` and `last_day` automatic answers of
/// a budget (counted back from the arrival time) may get another one.
pub fn under_cap(limits: &Limits, last_hour: u32, last_day: u32) -> bool {
    last_hour < limits.auto_replies_per_hour && last_day < limits.auto_replies_per_day
}

/// Commands that parse but cannot be executed on this ticket with this
/// config: an assignee who is no agent, a `#cc` over the recipient cap, a
/// change window at a local time that does not exist (clock change), a merge
/// into this ticket, into a ticket merged into it, or into another
/// customer's ticket. Nothing of the mail is executed then.
///
/// `side`: the ticket's customer side now (lower case); `survivors`: for
/// each `#merge` target, the ticket that survives it after merges (`None`:
/// no such ticket).
pub fn check_commands(
    cfg: &Config,
    cal: &BusinessCalendar,
    ticket: &Ticket,
    side: &HashSet<String>,
    commands: &[Command],
    survivors: &HashMap<i64, Option<Ticket>>,
) -> Vec<CommandError> {
    let mut errors = Vec::new();
    let de = cfg.language == "de";
    let mut err = |line: String, message: String, message_de: String| {
        if errors.len() < commands::MAX_ERRORS {
            errors.push(CommandError { line, message, message_de: if de { message_de } else { String::new() } })
        }
    };
    // The people this mail's `#cc` lines add: the cap holds for all of them
    // together, whatever the number of lines.
    let mut side = side.clone();
    for c in commands {
        match c {
            Command::Assign(a) if !cfg.agents.is_agent(a) => err(
                format!("#assign {a}"),
                format!("{a} is not an agent (only addresses and domains of [agents] can be assigned)"),
                format!("{a} ist kein Agent (zuweisbar sind nur Adressen und Domains aus [agents])"),
            ),
            Command::AddParticipant(a) => {
                if cfg.agents.is_agent(a) || a.eq_ignore_ascii_case(&cfg.support_address) {
                    err(
                        format!("#cc {a}"),
                        format!("{a} is an agent or the support address, not a customer participant"),
                        format!("{a} ist ein Agent oder die Support-Adresse, kein Beteiligter auf Kundenseite"),
                    );
                } else if !side.contains(&a.to_ascii_lowercase()) && side.len() >= cfg.limits.max_recipients {
                    err(
                        format!("#cc {a}"),
                        format!(
                            "the ticket has {} recipients already (limits.max_recipients)",
                            cfg.limits.max_recipients
                        ),
                        format!("das Ticket hat schon {} Empfänger (limits.max_recipients)", cfg.limits.max_recipients),
                    );
                } else {
                    side.insert(a.to_ascii_lowercase());
                }
            }
            Command::ChangeAnnounce(w) => {
                let tz = cal.timezone();
                for t in [w.start, w.end] {
                    if tz.from_local_datetime(&w.date.and_time(t)).earliest().is_none() {
                        err(
                            format!("#change {} {}-{}", w.date, w.start.format("%H:%M"), w.end.format("%H:%M")),
                            format!(
                                "{} {} does not exist in {} (the clock is changed then): choose another time",
                                w.date,
                                t.format("%H:%M"),
                                tz
                            ),
                            format!(
                                "{} {} Uhr gibt es in {} nicht (Zeitumstellung): bitte eine andere Zeit wählen",
                                w.date.format("%d.%m.%Y"),
                                t.format("%H:%M"),
                                tz
                            ),
                        );
                        break;
                    }
                }
            }
            Command::Merge(target) => {
                let t_tag = tag(cfg, *target);
                let line = format!("#merge {t_tag}");
                match survivors.get(target).cloned().flatten() {
                    None => err(line, format!("there is no ticket {t_tag}"), format!("es gibt kein Ticket {t_tag}")),
                    Some(t) if t.id == ticket.id => err(
                        line,
                        format!("{t_tag} is this ticket or was merged into it: nothing to merge"),
                        format!("{t_tag} ist dieses Ticket oder wurde in dieses zusammengeführt: nichts zu tun"),
                    ),
                    Some(t)
                        if t.customer != ticket.customer
                            || (t.customer.is_none()
                                && !t.requester.eq_ignore_ascii_case(&ticket.requester)
                                && !same_organisation(cfg, &t.requester, None, &ticket.requester)) =>
                    {
                        let other = tag(cfg, t.id);
                        err(
                            line,
                            format!("{other} belongs to another customer: tickets are merged only within one"),
                            format!(
                                "{other} gehört zu einem anderen Kunden: zusammengeführt wird nur innerhalb eines Kunden"
                            ),
                        )
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
    errors
}

/// A change window announced before: its id and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    pub id: i64,
    pub description: String,
}

/// Which change a `#change done|cancelled` finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRef {
    /// One announced before this mail.
    Stored(Announced),
    /// The `n`-th one this mail announces (0-based).
    ThisMail(usize),
}

/// One thing an agent's commands do to a ticket, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The status changes (it differs from the one before).
    Status(Status),
    Level {
        from: i64,
        to: Level,
    },
    /// The category changes; a change request with a consultant goes to them.
    Category {
        from: String,
        to: Category,
        consultant: Option<String>,
    },
    /// `#category` settles the security flag (event detail).
    SecurityFlag {
        on: bool,
        detail: &'static str,
    },
    /// Always recorded, even when it is the same.
    Priority(Priority),
    Assign(String),
    /// Someone joins the customer side.
    Participant(String),
    /// A change window, in UTC.
    AnnounceChange {
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
        description: String,
        line: String,
    },
    FinishChange {
        change: ChangeRef,
        state: &'static str,
    },
    /// `#change done|cancelled` without an announced change: only an event.
    NoChangeToFinish,
    /// `#kb`: the agent's answer kept as a draft article (title, or the subject when empty).
    KbDraft(String),
}

/// What an agent's commands do, decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentPlan {
    pub effects: Vec<Effect>,
    /// What the customer is told (in the ticket's language), in order.
    pub news: Vec<String>,
    /// The commands that changed something, as written (for the team's note).
    pub executed: Vec<String>,
    /// `#internal`: nothing reaches the customer.
    pub internal: bool,
    /// The level the ticket was handed to (its team gets the handover).
    pub level_raised_to: Option<Level>,
    /// `#merge`: the ticket this one goes into.
    pub merge_into: Option<i64>,
}

/// What `commands` (checked already, see [`check_commands`]) do to `ticket`,
/// one after the other: a command that changes nothing (the status it has,
/// a `#cc` of someone on the customer side) is left out. `side`: the
/// customer side now (lower case); `announced`: the change windows
/// announced before, oldest first.
pub fn agent_commands(
    cfg: &Config,
    cal: &BusinessCalendar,
    ticket: &Ticket,
    commands: &[Command],
    side: &HashSet<String>,
    announced: &[Announced],
) -> AgentPlan {
    let en = ticket.language == "en";
    let mut plan = AgentPlan { internal: commands.contains(&Command::Internal), ..Default::default() };
    let mut status = ticket.status.clone();
    let mut level = ticket.level;
    let mut category = ticket.category.clone();
    let mut security_flag = ticket.security_flag;
    let mut side = side.clone();
    let mut open_changes: Vec<ChangeRef> = announced.iter().cloned().map(ChangeRef::Stored).collect();
    let mut this_mail = 0;
    for c in commands {
        let to_status = match c {
            Command::Status(st) => Some((*st, format!("#status {st}"))),
            Command::Close => Some((Status::Closed, "#close".to_string())),
            Command::Reopen => Some((Status::Open, "#reopen".to_string())),
            _ => None,
        };
        if let Some((st, line)) = to_status {
            if status != st.as_str() {
                status = st.as_str().to_string();
                plan.effects.push(Effect::Status(st));
                plan.news.push(crate::words::status_news(st, en));
                plan.executed.push(line);
            }
            continue;
        }
        if let Command::Category(cat) = c
            && let Some(detail) = crate::classify::settle_flag(security_flag, *cat)
        {
            security_flag = !security_flag;
            plan.effects.push(Effect::SecurityFlag { on: security_flag, detail });
        }
        match c {
            Command::Level(l) if level != l.get() as i64 => {
                plan.effects.push(Effect::Level { from: level, to: *l });
                level = l.get() as i64;
                plan.news.push(if en {
                    format!("Your request has been handed to our {} Level Support.", l.ordinal())
                } else {
                    format!("Ihre Anfrage wurde an unseren {} Level Support übergeben.", l.ordinal())
                });
                plan.level_raised_to = Some(*l);
                plan.executed.push(format!("#level {l}"));
            }
            Command::Category(cat) if category != cat.as_str() => {
                let consultant = if *cat == Category::ChangeRequest {
                    ticket.customer.as_deref().and_then(|n| cfg.customer_by_name(n)).and_then(|c| c.consultant.clone())
                } else {
                    None
                };
                plan.effects.push(Effect::Category { from: category.clone(), to: *cat, consultant });
                category = cat.as_str().to_string();
                let extra = match (cat.covered_by_maintenance(), en) {
                    (true, _) => "",
                    (false, true) => " (not covered by the maintenance fee; quoted separately)",
                    (false, false) => " (nicht im Wartungspreis enthalten; Abrechnung über ein explizites Angebot)",
                };
                plan.news.push(if en {
                    format!("Your request is now filed as \"{}\"{extra}.", cat.title_one("en"))
                } else {
                    format!("Ihre Anfrage wird jetzt als „{}“ geführt{extra}.", cat.title_one("de"))
                });
                plan.executed.push(format!("#category {cat}"));
            }
            Command::Priority(pr) => {
                plan.effects.push(Effect::Priority(*pr));
                plan.executed.push(format!("#priority {pr}"));
            }
            Command::Assign(a) => {
                plan.effects.push(Effect::Assign(a.clone()));
                plan.executed.push(format!("#assign {a}"));
            }
            Command::AddParticipant(a) if side.insert(a.to_ascii_lowercase()) => {
                plan.effects.push(Effect::Participant(a.clone()));
                plan.executed.push(format!("#cc {a}"));
            }
            Command::Merge(target) => plan.merge_into = Some(*target),
            Command::KbDraft(title) => {
                plan.effects.push(Effect::KbDraft(title.clone()));
                plan.executed.push("#kb".into());
            }
            Command::ChangeAnnounce(w) => {
                let tz = cal.timezone();
                let at = |t: chrono::NaiveTime| {
                    tz.from_local_datetime(&w.date.and_time(t)).earliest().map(|d| d.with_timezone(&Utc))
                };
                let (Some(starts), Some(ends)) = (at(w.start), at(w.end)) else { continue };
                plan.effects.push(Effect::AnnounceChange {
                    starts,
                    ends,
                    description: w.description.clone(),
                    line: format!(
                        "announced {} {}-{}: {}",
                        w.date,
                        w.start.format("%H:%M"),
                        w.end.format("%H:%M"),
                        w.description
                    ),
                });
                open_changes.push(ChangeRef::ThisMail(this_mail));
                this_mail += 1;
                plan.executed.push("#change".into());
            }
            Command::ChangeDone | Command::ChangeCancelled => {
                let state = if *c == Command::ChangeDone { "done" } else { "cancelled" };
                match open_changes.pop() {
                    Some(change) => {
                        plan.effects.push(Effect::FinishChange { change, state });
                        plan.executed.push(format!("#change {state}"));
                    }
                    None => plan.effects.push(Effect::NoChangeToFinish),
                }
            }
            _ => {}
        }
    }
    plan
}

/// Who works a ticket now: its level's team, the project team on level 2, the assignee.
pub fn team_of(cfg: &Config, t: &Ticket) -> Vec<String> {
    let level = Level::new(t.level).unwrap_or(Level::FIRST);
    let mut team = cfg.level_team(level).to_vec();
    if level.get() == 2
        && let Some(c) = t.customer.as_deref().and_then(|n| cfg.customer_by_name(n))
    {
        team.extend(c.project_team.iter().cloned());
    }
    if let Some(a) = &t.assignee {
        team.push(a.clone());
    }
    team
}

/// Who of the people a customer's mail copied joins the ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CcJoins {
    /// Added to the customer side (lower case), in the order written.
    pub add: Vec<String>,
    /// Left out: outside the customer's organisation.
    pub strangers: Vec<String>,
    /// Left out: over `limits.max_recipients`.
    pub over_cap: Vec<String>,
}

/// The people a customer's mail copied (To/CC) who join a ticket, the way a
/// cautious helpdesk does: only people of the ticket's own organisation
/// (its `customer`, else its `requester`'s company domain), never the
/// support or an agent, at most `limits.max_recipients` on the customer
/// side (`existing` participants counted). Linear in the number of addresses.
pub fn cc_joins(
    cfg: &Config,
    existing: &[(String, String)],
    customer: Option<&str>,
    requester: &str,
    addrs: &[String],
) -> CcJoins {
    let max = cfg.limits.max_recipients.max(1);
    let mut count = 1 + existing.iter().filter(|(_, r)| r == "cc").count();
    let mut seen: HashSet<String> = existing.iter().map(|(a, _)| a.to_ascii_lowercase()).collect();
    seen.insert(requester.to_ascii_lowercase());
    let mut out = CcJoins::default();
    for a in addrs {
        let a = a.to_ascii_lowercase();
        if a.eq_ignore_ascii_case(&cfg.support_address) || cfg.agents.is_agent(&a) || !seen.insert(a.clone()) {
            continue;
        }
        if !same_organisation(cfg, &a, customer, requester) {
            out.strangers.push(a);
        } else if count >= max {
            out.over_cap.push(a);
        } else {
            out.add.push(a);
            count += 1;
        }
    }
    out
}

/// What the team is told of the people [`cc_joins`] left out of `ticket`:
/// a `cc_not_added` event and a warning for each reason (outside the
/// organisation: an agent adds them with `#cc`; over the cap).
pub fn cc_left_out(cfg: &Config, ticket: i64, joins: &CcJoins) -> Vec<Step> {
    let max = cfg.limits.max_recipients.max(1);
    let left_out = [
        (
            &joins.strangers,
            "outside the customer's organisation".to_string(),
            "nicht aus der Organisation des Kunden".to_string(),
            ". Mit #cc ADRESSE hinzufügen, wenn gewollt.",
            ". Add with #cc ADDRESS if wanted.",
        ),
        (&joins.over_cap, format!("more than {max} recipients"), format!("mehr als {max} Empfänger"), "", ""),
    ];
    let mut steps = Vec::new();
    for (people, why, warum, hint_de, hint_en) in left_out {
        if people.is_empty() {
            continue;
        }
        steps.push(Step::Event(Event {
            ticket: Some(ticket),
            actor: "supportd".into(),
            kind: "cc_not_added",
            detail: format!("not added to the ticket ({why}): {}", some_of(people, false)),
        }));
        steps.push(Step::Warning(team_words(
            cfg,
            format!("Nicht als Beteiligte übernommen ({warum}): {}{hint_de}", some_of(people, true)),
            format!("Not added as participants ({why}): {}{hint_en}", some_of(people, false)),
        )));
    }
    steps
}

/// The due times of `t` after its category or priority changed: the
/// first-response one only while no answer reached the customer (counted
/// from an escalation, else the creation), the resolution one from the
/// creation. `None` for a ticket without a known category, priority or
/// creation time.
pub fn due_times(cfg: &Config, cal: &BusinessCalendar, t: &Ticket) -> Option<(Option<DateTime<Utc>>, DateTime<Utc>)> {
    let (cat, prio) = (Category::parse(&t.category)?, Priority::parse(&t.priority)?);
    let (fr, res) = cfg.sla_targets(cat, prio);
    let created = parse_ts(&t.created_at)?;
    let first = t.first_response_at.is_none().then(|| {
        let start = t.escalated_at.as_deref().and_then(parse_ts).unwrap_or(created);
        cal.add_support_hours(start, hours(fr))
    });
    Some((first, cal.add_support_hours(created, hours(res))))
}

/// The tickets an overview lists, open first.
#[derive(Debug, Clone, Default)]
pub struct Overview<'t> {
    pub open: Vec<&'t Ticket>,
    pub closed: Vec<&'t Ticket>,
}

/// What the overview for `from` lists of `tickets` (its customer's tickets
/// when `of_customer`, else all): merged tickets never; without a customer
/// only the sender's own tickets (an unknown sender sees nothing of others).
pub fn overview<'t>(tickets: &'t [Ticket], of_customer: bool, from: &str) -> Overview<'t> {
    let mut out = Overview::default();
    for t in tickets {
        if t.merged_into.is_some() || (!of_customer && !t.requester.eq_ignore_ascii_case(from)) {
            continue;
        }
        if Status::parse(&t.status).is_some_and(|s| s.is_open()) {
            out.open.push(t);
        } else {
            out.closed.push(t);
        }
    }
    out
}
