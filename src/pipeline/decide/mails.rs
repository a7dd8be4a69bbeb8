//! Who gets each mail, and the template context decided for it (pure,
//! like the rest of [`super`]). For an agent's mail: the relayed answer or
//! a status mail to the customer side (at most `limits.max_recipients`, in
//! reply to the requester's last mail), the change mails, the `#internal`
//! note to the team, the handover to a new level's team (the current
//! problem, the first request, the notes, the history, the files) and the
//! notice to the agent. For a new ticket, a customer's reply and an
//! overview request: the answer to the sender under the cap, the team's
//! notification. `apply` renders each with the ticket as the change left it
//! and queues it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{AgentPlan, Announced, Effect, Event, NewTicketPlan, team_of};
use crate::calendar::BusinessCalendar;
use crate::classify::Classification;
use crate::commands::CommandError;
use crate::config::{Config, Customer};
use crate::domain::{Category, Level, Status, Ticket, parse_ts};
use crate::parse::InboundMail;
use crate::words::{cut_chars, human_size, some_of, status_headline, status_news, status_title};

/// What the store knows that an agent's mail on a ticket needs, read
/// before deciding it (`snapshot::read_agent`).
#[derive(Debug, Clone, Default)]
pub struct AgentSnapshot {
    /// The ticket's participants (address, role), in the order they joined.
    pub participants: Vec<(String, String)>,
    /// The change windows announced before, oldest first.
    pub announced: Vec<Announced>,
    /// For each `#merge` target: the ticket that survives it, if it exists.
    pub survivors: HashMap<i64, Option<Ticket>>,
    /// The Message-ID of the requester's last mail on the ticket.
    pub requester_last: Option<String>,
    /// What a handover passes on (read only when the mail has a `#level`).
    pub handover: Option<HandoverData>,
}

/// A ticket's story for the team of a new level.
#[derive(Debug, Clone, Default)]
pub struct HandoverData {
    /// The newest 50 mails, oldest first.
    pub history: Vec<HistoryLine>,
    /// The new text of the ticket's first mail.
    pub first_text: String,
    /// The new text of the customer side's latest mail.
    pub latest_customer_text: Option<String>,
    /// The internal notes so far: (stored time, who, text).
    pub notes: Vec<(String, String, String)>,
    /// The ticket's stored files (at most 100), oldest first.
    pub files: Vec<StoredFile>,
}

/// One mail of a ticket's history.
#[derive(Debug, Clone, Default)]
pub struct HistoryLine {
    /// Stored time (arrival, else reception).
    pub at: String,
    pub from: String,
    pub subject: String,
    pub disposition: Option<String>,
}

/// A stored file of a ticket, without its bytes.
#[derive(Debug, Clone, Default)]
pub struct StoredFile {
    pub row: i64,
    pub name: String,
    pub content_type: String,
    pub size: usize,
    pub sha256: String,
}

/// Whom a mail is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The customer side: the ticket's language, sent as it is.
    Customer,
    /// The team: the support's language, recipients sorted and deduplicated,
    /// never the support address; the team's warnings as they are when queued.
    Team,
}

/// A file a mail carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRef {
    /// The n-th attachment of this mail.
    ThisMail(usize),
    /// The n-th of the ticket's stored files ([`HandoverData::files`]).
    Stored(usize),
}

/// A mail to queue, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMail {
    /// The template.
    pub kind: &'static str,
    pub audience: Audience,
    pub to: Vec<String>,
    /// Customer mails: the mail they answer (team mails answer this mail).
    pub in_reply_to: Option<String>,
    /// Customer mails: the RFC 3834 mark ("no" for a person's answer).
    pub auto_submitted: &'static str,
    /// The context names the customer's contact person.
    pub with_customer: bool,
    /// The language of the context's words (a team mail is written in the
    /// support's language whatever this is).
    pub lang: String,
    /// The decided context values, over the ticket's own (a mail without a
    /// ticket, the overview: all of it).
    pub context: serde_json::Value,
    pub files: Vec<FileRef>,
    /// `change` mails: the n-th change window this mail announced or finished.
    pub change: Option<usize>,
}

impl PlannedMail {
    fn team(
        kind: &'static str,
        to: Vec<String>,
        with_customer: bool,
        lang: &str,
        context: serde_json::Value,
    ) -> PlannedMail {
        PlannedMail {
            kind,
            audience: Audience::Team,
            to,
            in_reply_to: None,
            auto_submitted: "auto-generated",
            with_customer,
            lang: lang.to_string(),
            context,
            files: Vec::new(),
            change: None,
        }
    }
}

/// One step of a mail's plan after its ticket changes: an event to record,
/// a warning for the team's later mails, or a mail to queue (in this order:
/// a refused address is recorded as it is queued).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Event(Event),
    Warning(String),
    Mail(PlannedMail),
}

/// The mails (and the events that go with them) of an agent's mail.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentMails {
    /// In order; the mails are rendered with the ticket as the commands left it.
    pub steps: Vec<Step>,
    /// To the agent who wrote (recipients or files left out), queued last,
    /// after a merge.
    pub notice: Option<PlannedMail>,
}

/// One file to pass on or list.
pub struct FileInfo<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: usize,
    /// The stored mail that holds it.
    pub row: i64,
}

/// Which files go along within `limits.max_forward_bytes`, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passed {
    /// The indices of the files passed on.
    pub passed: Vec<usize>,
    /// A line for each file for the templates (name, size, passed on, row).
    pub listed: Vec<serde_json::Value>,
    /// The names of the files kept in the store only.
    pub kept: Vec<String>,
}

/// The files passed on (in order, while their total stays within
/// `limits.max_forward_bytes`) and a line for each for the templates.
pub fn pass_on(cfg: &Config, files: &[FileInfo]) -> Passed {
    let max = cfg.limits.max_forward_bytes;
    let mut out = Passed::default();
    let mut total = 0usize;
    for (i, f) in files.iter().enumerate() {
        let forwarded = total + f.size <= max;
        if forwarded {
            total += f.size;
            out.passed.push(i);
        } else {
            out.kept.push(f.name.to_string());
        }
        out.listed.push(json!({"name": f.name, "size": human_size(f.size), "forwarded": forwarded, "row": f.row}));
    }
    out
}

/// [`pass_on`] for the attachments of `mail` (stored as `row`).
pub fn pass_on_mail(cfg: &Config, mail: &InboundMail, row: i64) -> Passed {
    let files: Vec<FileInfo> = mail
        .attachments
        .iter()
        .map(|a| FileInfo { name: &a.filename, content_type: &a.content_type, size: a.data.len(), row })
        .collect();
    pass_on(cfg, &files)
}

/// The customer side of a ticket: the requester and the CC'd participants
/// (never bounced ones), at most `limits.max_recipients`; the ones left out
/// are returned too. Linear in the number of participants.
pub fn customer_recipients(
    cfg: &Config,
    requester: &str,
    participants: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    let max = cfg.limits.max_recipients.max(1);
    let mut seen = HashSet::new();
    seen.insert(requester.to_ascii_lowercase());
    let mut to = vec![requester.to_string()];
    let mut left_out = Vec::new();
    for (a, role) in participants {
        if role == "cc" && seen.insert(a.to_ascii_lowercase()) {
            if to.len() < max {
                to.push(a.clone());
            } else {
                left_out.push(a.clone());
            }
        }
    }
    (to, left_out)
}

/// The mail to the agent whose commands cannot be executed.
pub fn command_error_mail(cfg: &Config, from: &str, errors: &[CommandError]) -> PlannedMail {
    let errors: Vec<serde_json::Value> =
        errors.iter().map(|e| json!({"line": e.line, "message": e.message_in(&cfg.language)})).collect();
    PlannedMail::team(
        "command_error",
        vec![from.to_string()],
        false,
        &cfg.language,
        json!({"errors": errors, "usage": crate::commands::USAGE}),
    )
}

/// The ticket as `effects` leave it, as far as the mails depend on it
/// (status, level, category, priority, assignee).
fn after(ticket: &Ticket, effects: &[Effect]) -> Ticket {
    let mut t = ticket.clone();
    for e in effects {
        match e {
            Effect::Status(s) => t.status = s.as_str().to_string(),
            Effect::Level { to, .. } => t.level = to.get() as i64,
            Effect::Category { to, .. } => {
                t.category = to.as_str().to_string();
                t.billable = !to.covered_by_maintenance();
            }
            Effect::Priority(p) => t.priority = p.as_str().to_string(),
            Effect::Assign(a) => t.assignee = Some(a.clone()),
            _ => {}
        }
    }
    t
}

/// What an agent's mail (from `mail`, stored as `row`, arrived `at`) sends
/// and to whom, after its commands (`plan`, from [`super::agent_commands`])
/// on `ticket`: `text` is the answer without the command lines.
#[allow(clippy::too_many_arguments)]
pub fn agent_mails(
    cfg: &Config,
    cal: &BusinessCalendar,
    mail: &InboundMail,
    row: i64,
    ticket: &Ticket,
    plan: &AgentPlan,
    text: &str,
    snap: &AgentSnapshot,
    at: DateTime<Utc>,
) -> AgentMails {
    let from = mail.from_addr().to_string();
    let words = |de: String, en: String| if cfg.language == "en" { en } else { de };
    let event = |actor: &str, kind: &'static str, detail: String| Event {
        ticket: Some(ticket.id),
        actor: actor.to_string(),
        kind,
        detail,
    };
    let now = after(ticket, &plan.effects);
    let en = ticket.language == "en";
    let mut out = AgentMails::default();
    let mut notices = Vec::new();
    let relayed = !plan.internal && !text.trim().is_empty();
    let own = pass_on_mail(cfg, mail, row);
    let own_files: Vec<FileRef> = own.passed.iter().map(|&i| FileRef::ThisMail(i)).collect();
    // This mail's note, as the handover lists it with the earlier ones.
    let mut this_note = None;
    if plan.internal {
        let agent = mail.from.as_ref().and_then(|m| m.name.clone()).filter(|n| !n.trim().is_empty());
        let agent = agent.unwrap_or_else(|| from.clone());
        out.steps.push(Step::Event(event(&from, "note", text.to_string())));
        this_note = Some((at, from.clone(), text.to_string()));
        let team: Vec<String> = team_of(cfg, &now).into_iter().filter(|a| !a.eq_ignore_ascii_case(&from)).collect();
        let mut note = PlannedMail::team(
            "note",
            team,
            true,
            &cfg.language,
            json!({"agent": agent, "changes": plan.executed, "text": text, "attachments": own.listed}),
        );
        note.files = own_files;
        out.steps.push(Step::Mail(note));
    } else {
        // The customer side after the commands: a `#cc` joins it (unless the
        // address is on the ticket already, in any role).
        let mut participants = snap.participants.clone();
        for e in &plan.effects {
            if let Effect::Participant(a) = e {
                let a = a.to_ascii_lowercase();
                if !participants.iter().any(|(p, _)| *p == a) {
                    participants.push((a, "cc".into()));
                }
            }
        }
        let (to, left_out) = customer_recipients(cfg, &ticket.requester, &participants);
        if !left_out.is_empty() {
            let max = cfg.limits.max_recipients;
            let detail = format!(
                "{} participants not mailed (at most {max} recipients per mail): {}",
                left_out.len(),
                some_of(&left_out, false)
            );
            out.steps.push(Step::Event(event("supportd", "recipients_capped", detail.clone())));
            notices.push(words(
                format!(
                    "Ihre Antwort ging an höchstens {max} Empfänger; {} Beteiligte haben sie NICHT erhalten: {}",
                    left_out.len(),
                    some_of(&left_out, true)
                ),
                detail,
            ));
        }
        let customer_mail =
            |kind: &'static str, auto_submitted: &'static str, context: serde_json::Value| PlannedMail {
                kind,
                audience: Audience::Customer,
                to: to.clone(),
                in_reply_to: snap.requester_last.clone(),
                auto_submitted,
                with_customer: true,
                lang: ticket.language.clone(),
                context,
                files: Vec::new(),
                change: None,
            };
        // One mail per agent action: a relayed answer carries the status
        // change in its footer; a status mail goes out only without text.
        if relayed {
            // The agent's files go along; what is too large stays in the
            // store and the agent is told.
            if !own.kept.is_empty() {
                let max = human_size(cfg.limits.max_forward_bytes);
                let kept = own.kept.join(", ");
                notices.push(words(
                    format!(
                        "Diese Anhänge gingen NICHT an den Kunden (zusammen über {max}): {kept}. Bitte auf anderem Weg bereitstellen."
                    ),
                    format!(
                        "These attachments did NOT reach the customer (over {max} together): {kept}. Please provide them another way."
                    ),
                ));
                out.steps.push(Step::Event(event(
                    "supportd",
                    "attachments_kept",
                    format!("not passed on to the customer (over {max}): {kept}"),
                )));
            }
            // A person's answer: no RFC 3834 auto-submitted or bulk marks.
            let mut reply = customer_mail("agent_reply", "no", json!({"changes": plan.news, "text": text}));
            reply.files = own_files;
            out.steps.push(Step::Mail(reply));
            out.steps.push(Step::Event(event(&from, "agent_reply", "relayed to the customer".into())));
        } else if !plan.news.is_empty() {
            out.steps.push(Step::Mail(customer_mail(
                "status",
                "auto-generated",
                json!({
                    "changes": plan.news,
                    "status_headline": status_headline(&now.status, plan.level_raised_to, en),
                    "status_title": status_title(&now.status, en),
                }),
            )));
        }
        let changes = plan
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::AnnounceChange { .. } | Effect::FinishChange { .. }))
            .count();
        for n in 0..changes {
            let mut m = customer_mail("change", "auto-generated", json!({}));
            m.change = Some(n);
            out.steps.push(Step::Mail(m));
        }
    }
    if let Some(l) = plan.level_raised_to {
        out.steps.push(Step::Mail(handover(cfg, cal, &now, l, snap.handover.as_ref(), this_note)));
    }
    if !notices.is_empty() {
        out.notice =
            Some(PlannedMail::team("agent_notice", vec![from], false, &cfg.language, json!({"notices": notices})));
    }
    out
}

/// The handover to level `l`'s team (and the project team on level 2): the
/// current problem (the customer side's latest text), the first request if
/// it differs, the internal notes (with `this_note`, the mail's own), the
/// mails so far and the ticket's files (passed on within
/// `limits.max_forward_bytes`, the rest listed).
fn handover(
    cfg: &Config,
    cal: &BusinessCalendar,
    ticket: &Ticket,
    l: Level,
    data: Option<&HandoverData>,
    this_note: Option<(DateTime<Utc>, String, String)>,
) -> PlannedMail {
    let empty = HandoverData::default();
    let data = data.unwrap_or(&empty);
    let tz = cal.timezone();
    let local_time = |d: DateTime<Utc>| d.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string();
    let local = |s: &str| parse_ts(s).map(local_time).unwrap_or_default();
    let history: Vec<serde_json::Value> = data
        .history
        .iter()
        .map(|m| json!({"at": local(&m.at), "from": m.from, "subject": m.subject, "disposition": m.disposition}))
        .collect();
    let first_text = &data.first_text;
    let current = data.latest_customer_text.clone().unwrap_or_else(|| first_text.clone());
    let mut notes: Vec<serde_json::Value> = data
        .notes
        .iter()
        .map(|(at, who, text)| json!({"at": local(at), "who": who, "text": cut_chars(text, 4000)}))
        .collect();
    if let Some((at, who, text)) = this_note {
        notes.push(json!({"at": local_time(at), "who": who, "text": cut_chars(&text, 4000)}));
    }
    let infos: Vec<FileInfo> = data
        .files
        .iter()
        .map(|a| FileInfo { name: &a.name, content_type: &a.content_type, size: a.size, row: a.row })
        .collect();
    let passed = pass_on(cfg, &infos);
    let mut team = cfg.level_team(l).to_vec();
    if l.get() == 2
        && let Some(c) = ticket.customer.as_deref().and_then(|n| cfg.customer_by_name(n))
    {
        team.extend(c.project_team.iter().cloned());
    }
    let mut m = PlannedMail::team(
        "handover",
        team,
        true,
        &cfg.language,
        json!({
            "level_new": l.get(),
            "first_text": if first_text.trim() == current.trim() { String::new() } else { cut_chars(first_text, 8000) },
            "notes": notes,
            "history": history,
            "attachments": passed.listed,
            "text": current,
        }),
    );
    m.files = passed.passed.iter().map(|&i| FileRef::Stored(i)).collect();
    m
}

/// An automatic answer to the sender of `mail` on ticket `ticket`, or, when
/// `under_cap` is false (the sender had their share, [`super::under_cap`]),
/// the `rate_cap` event and a warning for the team instead.
fn to_sender(
    cfg: &Config,
    mail: &InboundMail,
    ticket: i64,
    kind: &'static str,
    under_cap: bool,
    lang: &str,
    context: serde_json::Value,
) -> Vec<Step> {
    let to = mail.from_addr().to_string();
    if !under_cap {
        let l = &cfg.limits;
        let (hour, day) = (l.auto_replies_per_hour, l.auto_replies_per_day);
        let words = if cfg.language == "en" {
            format!(
                "No automatic answer ({kind}) to {to}: at most {hour} per hour and {day} per day to one sender, the cap is reached. Please answer in person."
            )
        } else {
            format!(
                "Keine automatische Antwort ({kind}) an {to}: höchstens {hour} pro Stunde und {day} pro Tag an einen Absender, die Grenze ist erreicht. Bitte persönlich antworten."
            )
        };
        return vec![
            Step::Event(Event {
                ticket: Some(ticket),
                actor: "supportd".into(),
                kind: "rate_cap",
                detail: format!("no {kind} to {to}: automatic answer cap reached"),
            }),
            Step::Warning(words),
        ];
    }
    vec![Step::Mail(PlannedMail {
        kind,
        audience: Audience::Customer,
        to: vec![to],
        in_reply_to: Some(mail.message_id.clone()),
        auto_submitted: "auto-replied",
        with_customer: true,
        lang: lang.to_string(),
        context,
        files: Vec::new(),
        change: None,
    })]
}

/// The mails of a new ticket `ticket` opened by `mail` (stored as `row`):
/// the acknowledgement to the sender (under the cap: `under_cap`), with the
/// knowledge base's offers `kb_articles`; the notification with the mail's
/// files to the team of its level, the category's notify list and the
/// project team (`plan.team`); a change request to the customer's consultant.
#[allow(clippy::too_many_arguments)]
pub fn new_ticket_mails(
    cfg: &Config,
    cal: &BusinessCalendar,
    mail: &InboundMail,
    row: i64,
    ticket: i64,
    plan: &NewTicketPlan,
    class: &Classification,
    kb_articles: serde_json::Value,
    under_cap: bool,
) -> Vec<Step> {
    let lang = &plan.language;
    let mut ctx = json!({
        "in_hours": plan.in_hours,
        "next_opening": cal.format_opening(plan.next_opening, lang),
        "response_by": cal.format_opening(plan.first_response_due, lang),
        "security": plan.category == Category::SecurityError,
        "reasons": class.reasons.join("; "),
        "confidence": format!("{:.2}", class.confidence),
        "low_confidence": class.low_confidence,
        "follow_up": false,
        "kb_articles": kb_articles,
    });
    let mut steps = to_sender(cfg, mail, ticket, "ack", under_cap, lang, ctx.clone());
    let own = pass_on_mail(cfg, mail, row);
    ctx["attachments"] = json!(own.listed);
    for (k, v) in class.flag_context().as_object().into_iter().flatten() {
        ctx[k] = v.clone();
    }
    let mut notify = PlannedMail::team("notify_agents", plan.team.clone(), true, lang, ctx.clone());
    notify.files = own.passed.iter().map(|&i| FileRef::ThisMail(i)).collect();
    steps.push(Step::Mail(notify));
    if let Some(consultant) = &plan.consultant {
        steps.push(Step::Mail(PlannedMail::team("forward_consultant", vec![consultant.clone()], true, lang, ctx)));
    }
    steps
}

/// The mails of a customer's mail on `ticket` (as the mail left it): when it
/// `reopened` the ticket, a status mail to the sender (under the cap); the
/// notification with the mail's files to the team that works the ticket
/// (never the sender).
pub fn follow_up_mails(
    cfg: &Config,
    mail: &InboundMail,
    row: i64,
    ticket: &Ticket,
    reopened: bool,
    under_cap: bool,
) -> Vec<Step> {
    let from = mail.from_addr();
    let lang = &ticket.language;
    let mut steps = Vec::new();
    if reopened {
        // The customer is told the request is open again (an automatic
        // answer: under the acknowledgement cap).
        let en = lang == "en";
        let ctx = json!({
            "changes": [status_news(Status::Open, en)],
            "status_headline": if en { "Your request is open again" } else { "Ihre Anfrage ist wieder geöffnet" },
        });
        steps.extend(to_sender(cfg, mail, ticket.id, "status", under_cap, lang, ctx));
    }
    let own = pass_on_mail(cfg, mail, row);
    let team: Vec<String> = team_of(cfg, ticket).into_iter().filter(|a| !a.eq_ignore_ascii_case(from)).collect();
    let ctx = json!({"follow_up": true, "reopened": reopened, "attachments": own.listed});
    let mut notify = PlannedMail::team("notify_agents", team, true, lang, ctx);
    notify.files = own.passed.iter().map(|&i| FileRef::ThisMail(i)).collect();
    steps.push(Step::Mail(notify));
    steps
}

/// The ticket overview for the sender of `mail` (arrived `at`), in `lang`:
/// the tickets of their `customer` (`listed`: some open and closed ones and
/// the count of each), or only their own when they belong to no customer
/// ([`super::overview`]), open first; the context says how many it leaves
/// out. Sent to the From address only. Also returns how many tickets it lists.
pub fn overview_mail(
    cfg: &Config,
    cal: &BusinessCalendar,
    mail: &InboundMail,
    customer: Option<&Customer>,
    lang: &str,
    listed: &crate::domain::OverviewTickets,
    at: DateTime<Utc>,
) -> (PlannedMail, usize) {
    let from = mail.from_addr();
    let tz = cal.timezone();
    let fmt = |s: &str| parse_ts(s).map(|d| d.with_timezone(&tz).format("%d.%m.%Y").to_string()).unwrap_or_default();
    let en = lang == "en";
    let row = |t: &Ticket| {
        json!({
            "tag": super::tag(cfg, t.id),
            "subject": t.subject,
            "status": t.status,
            "status_title": status_title(&t.status, en),
            "level": t.level,
            "level_ordinal": Level::new(t.level).unwrap_or(Level::FIRST).ordinal(),
            "category_title": Category::parse(&t.category).map(|c| c.title_one(lang)).unwrap_or(""),
            "opened": fmt(&t.created_at),
            "last_activity": fmt(&t.updated_at),
        })
    };
    let tickets: Vec<Ticket> = listed.open.iter().chain(listed.closed.iter()).cloned().collect();
    let listing = super::overview(&tickets, customer.is_some(), from);
    let open: Vec<_> = listing.open.iter().map(|t| row(t)).collect();
    let closed: Vec<_> = listing.closed.iter().map(|t| row(t)).collect();
    let visible = listing.open.len() + listing.closed.len();
    let (open_total, closed_total) = (listed.open_total.max(open.len()), listed.closed_total.max(closed.len()));
    let context = json!({
        "open_total": open_total,
        "open_left_out": open_total - open.len(),
        "closed_total": closed_total,
        "closed_left_out": closed_total - closed.len(),
        "customer": customer.map(|c| c.name.clone()),
        "requester_name": mail.from.as_ref().and_then(|m| m.name.clone()),
        "date": at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string(),
        "open": open,
        "closed": closed,
        "display_name": cfg.display_name,
    });
    let m = PlannedMail {
        kind: "overview",
        audience: Audience::Customer,
        to: vec![from.to_string()],
        in_reply_to: Some(mail.message_id.clone()),
        auto_submitted: "auto-replied",
        with_customer: true,
        lang: lang.to_string(),
        context,
        files: Vec::new(),
        change: None,
    };
    (m, visible)
}
