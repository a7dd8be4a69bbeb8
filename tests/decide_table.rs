//! Table tests of the mail decision (`pipeline::decide`) without a database:
//! each row is a mail (real RFC 5322 text, parsed by the production parser),
//! a snapshot of what the store would know, and the plan the pure functions
//! return: the route (disposition), the trust verdict and security events,
//! the new ticket's SLA and in-hours facts, what a reply does to a ticket,
//! the answer cap and the agent commands that cannot be executed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use supportd::calendar::BusinessCalendar;
use supportd::classify::Classification;
use supportd::commands;
use supportd::config::Config;
use supportd::domain::{Category, Disposition, Level, Priority, Status, Ticket};
use supportd::parse::{self, InboundMail};
use supportd::pipeline::decide::{self, FollowUp, Found, Route, Routed, Snapshot};

fn config(replace: &[(&str, &str)]) -> Config {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut text = std::fs::read_to_string(dir.join("supportd.toml")).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "the default config has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    Config::from_str(&text, "supportd.toml", &dir).unwrap()
}

fn calendar(cfg: &Config) -> BusinessCalendar {
    let h = &cfg.hours;
    BusinessCalendar::new(h.timezone, h.weekdays.clone(), h.open, h.close, h.bw_holidays, h.extra_closed_days.clone())
        .unwrap()
}

/// Berlin local time as UTC.
fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

fn mail(cfg: &Config, headers: &str, body: &str) -> InboundMail {
    let raw = format!("{headers}\r\nMessage-ID: <{}@example.org>\r\n\r\n{body}\r\n", blake(headers, body));
    parse::parse(raw.as_bytes(), &cfg.limits).unwrap_or_else(|e| panic!("{headers}: {}", e.0))
}

/// A stable, distinct Message-ID per mail text.
fn blake(a: &str, b: &str) -> String {
    parse::sha256_hex(format!("{a}{b}").as_bytes())[..16].to_string()
}

fn ticket(id: i64, requester: &str, customer: Option<&str>, status: Status) -> Ticket {
    Ticket {
        id,
        subject: "Dienstplan lässt sich nicht speichern".into(),
        category: "functional_error".into(),
        level: 1,
        priority: "normal".into(),
        status: status.as_str().into(),
        customer: customer.map(String::from),
        requester: requester.into(),
        billable: false,
        confidence: 0.9,
        low_confidence: false,
        language: "de".into(),
        assignee: None,
        created_at: "2026-11-20T09:00:00Z".into(),
        updated_at: "2026-11-20T09:00:00Z".into(),
        first_response_due: None,
        resolution_due: None,
        first_response_at: None,
        closed_at: None,
        merged_into: None,
        linked_to: None,
        sla_warned_at: None,
        escalated_at: None,
        requester_name: None,
        security_flag: false,
    }
}

const CUSTOMER: &str = "m.mueller@stadtwerke-musterstadt.de";
const SW: Option<&str> = Some("Stadtwerke Musterstadt");

fn on(t: Ticket, how: &str) -> Snapshot {
    Snapshot {
        thread: Some(Found {
            participants: vec![(t.requester.clone(), "requester".into())],
            ticket: t,
            how: how.into(),
        }),
        ..Default::default()
    }
}

fn route(cfg: &Config, from: &str, extra_headers: &str, subject: &str, body: &str, snap: &Snapshot) -> Routed {
    let headers = format!("From: {from}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: {subject}{extra_headers}");
    let m = mail(cfg, &headers, body);
    decide::route(cfg, &m, body, snap)
}

/// The route as a short word, the ticket it concerns, and whether commands were refused.
type Shape = (&'static str, Option<i64>, bool);

fn shape(r: &Routed) -> Shape {
    let (w, t) = match &r.route {
        Route::Duplicate { ticket, .. } => ("duplicate", *ticket),
        Route::Machine { disposition, bounce, .. } => (disposition.as_str(), bounce.as_ref().map(|b| b.0)),
        Route::Agent { ticket } => ("agent", Some(ticket.id)),
        Route::Overview => ("overview", None),
        Route::FollowUp { ticket, untrusted: false } => ("follow_up", Some(ticket.id)),
        Route::FollowUp { ticket, untrusted: true } => ("follow_up_untrusted", Some(ticket.id)),
        Route::NewTicket { linked_to, .. } => ("new_ticket", *linked_to),
    };
    (w, t, r.refused.is_some())
}

#[test]
fn the_route_of_each_kind_of_mail() {
    let cfg = config(&[]);
    let open = || on(ticket(7, CUSTOMER, SW, Status::Open), "subject tag");
    let none = Snapshot::default();
    let auto = "\r\nAuto-Submitted: auto-replied";
    let rows: Vec<(&str, Routed, Shape)> = vec![
        (
            "a new request",
            route(&cfg, CUSTOMER, "", "Dienstplan speichert nicht", "Beim Speichern kommt ein Fehler.", &none),
            ("new_ticket", None, false),
        ),
        (
            "a customer's reply on the ticket",
            route(&cfg, CUSTOMER, "", "AW: [MT-000007] Dienstplan", "Hier der Screenshot.", &open()),
            ("follow_up", Some(7), false),
        ),
        (
            "a colleague of the same customer",
            route(&cfg, "chefin@stadtwerke-musterstadt.de", "", "AW: [MT-000007]", "Bitte dringend.", &open()),
            ("follow_up", Some(7), false),
        ),
        (
            "an overview request without a ticket",
            route(&cfg, CUSTOMER, "", "Ticketübersicht", "Bitte senden Sie uns eine Ticketübersicht.", &none),
            ("overview", None, false),
        ),
        (
            "an overview request as a reply to a ticket",
            route(&cfg, CUSTOMER, "", "AW: [MT-000007] Dienstplan", "Bitte schicken Sie die Ticketübersicht.", &open()),
            ("overview", None, false),
        ),
        (
            "a question about one ticket stays a follow-up",
            route(&cfg, CUSTOMER, "", "AW: [MT-000007]", "Ticketübersicht: wie steht MT-000007?", &open()),
            ("follow_up", Some(7), false),
        ),
        (
            "an out-of-office answer",
            route(&cfg, CUSTOMER, auto, "Abwesenheitsnotiz", "Ich bin bis Montag nicht im Büro.", &open()),
            ("auto_reply", None, false),
        ),
        (
            "a customer's command tags are refused",
            route(&cfg, CUSTOMER, "", "AW: [MT-000007]", "#status closed\n\nErledigt.", &open()),
            ("follow_up_untrusted", Some(7), true),
        ),
        (
            "a stranger answering a ticket gets a new, linked one",
            route(&cfg, "x@gmail.com", "", "AW: [MT-000007] Dienstplan", "Ich habe auch das Problem.", &open()),
            ("new_ticket", Some(7), false),
        ),
        (
            "an agent's answer",
            route(&cfg, "anna@roewaplan.de", "", "AW: [MT-000007]", "#status waiting\n\nBitte Screenshot.", &open()),
            ("agent", Some(7), false),
        ),
        (
            "the same mail again",
            route(
                &cfg,
                CUSTOMER,
                "",
                "Dienstplan",
                "Text",
                &Snapshot { duplicate_of: Some((3, Some(7))), ..Default::default() },
            ),
            ("duplicate", Some(7), false),
        ),
    ];
    for (what, r, want) in &rows {
        assert_eq!(shape(r), *want, "{what}: {:?}", r.trail);
    }
    // The stranger's attempt is a security event on the ticket it named,
    // before the new ticket is opened, and the team is told.
    let stranger = &rows[8].1;
    assert_eq!(stranger.events.len(), 1);
    assert_eq!((stranger.events[0].ticket, stranger.events[0].kind), (Some(7), "security"));
    assert!(stranger.warnings[0].contains("gehört aber nicht zu diesem Ticket"), "{:?}", stranger.warnings);
    // Refused commands: a security event on the ticket and a warning.
    let refused = &rows[7].1;
    assert_eq!(
        refused.security.as_deref(),
        Some(&*format!("rejected: command tags from {CUSTOMER}, who is not an agent"))
    );
    assert!(refused.warnings[0].contains("NICHT ausgeführt"));
    // The agent's commands are parsed for the writer.
    assert_eq!(rows[9].1.parsed.commands, vec![commands::Command::Status(Status::Waiting)]);
    assert!(rows[9].1.agent);
    // The duplicate is decided before anything else.
    assert_eq!(rows[10].1.trail, vec!["dedupe: same Message-ID and bytes as message #3".to_string()]);
}

#[test]
fn a_bounce_is_noted_on_the_ticket_of_the_bounced_mail() {
    let cfg = config(&[]);
    let body = "This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<m.mueller@stadtwerke-musterstadt.de>: host said: 550 5.1.1 User unknown\n";
    let headers = "From: MAILER-DAEMON@mx.example.org\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Undelivered Mail Returned to Sender";
    let m = mail(&cfg, headers, body);
    let with = decide::route(&cfg, &m, body, &Snapshot { bounced_ticket: Some(7), ..Default::default() });
    let Route::Machine { disposition, bounce: Some((t, detail, _)), .. } = &with.route else {
        panic!("not a bounce on a ticket: {:?}", with.route)
    };
    assert_eq!((*disposition, *t), (Disposition::Bounce, 7));
    assert!(!detail.is_empty());
    let without = decide::route(&cfg, &m, body, &Snapshot::default());
    assert!(matches!(without.route, Route::Machine { disposition: Disposition::Bounce, bounce: None, .. }));
    // The snapshot's machine-mail check (made once by the writer) is the
    // one route follows: the same route with it as without it, and a
    // person's answer there is taken as made, not checked again.
    let made = supportd::hygiene::check_config(&m, &cfg);
    let snap = Snapshot { bounced_ticket: Some(7), machine: Some(made), ..Default::default() };
    assert_eq!(format!("{:?}", decide::route(&cfg, &m, body, &snap).route), format!("{:?}", with.route));
    let person = decide::route(&cfg, &m, body, &Snapshot { machine: Some(None), ..Default::default() });
    assert!(!matches!(person.route, Route::Machine { .. }), "{:?}", person.route);
}

#[test]
fn an_agent_address_without_the_trusted_pass_is_a_customer() {
    let cfg = config(&[("require_authentication = false", "require_authentication = true")]);
    let open = on(ticket(7, CUSTOMER, SW, Status::Open), "subject tag");
    let pass = "\r\nAuthentication-Results: mx.roewaplan.de; dkim=pass header.d=roewaplan.de; spf=pass smtp.mailfrom=roewaplan.de";
    let rows = [
        // (what, extra headers, body, shape, security event)
        ("with the pass", pass, "#status waiting\n\nBitte.", ("agent", Some(7), false), false),
        // Without the pass the agent address is a stranger to the customer's
        // ticket: a new ticket linked to it, nothing relayed, nothing executed.
        ("no pass, no commands", "", "Bitte Screenshot.", ("new_ticket", Some(7), false), true),
        ("no pass, commands", "", "#status closed\n\nErledigt.", ("new_ticket", Some(7), true), true),
    ];
    for (what, extra, body, want, security) in rows {
        let r = route(&cfg, "anna@roewaplan.de", extra, "AW: [MT-000007]", body, &open);
        assert_eq!(shape(&r), want, "{what}: {:?}", r.trail);
        assert_eq!(r.security.is_some(), security, "{what}");
        assert_eq!(r.agent, what == "with the pass", "{what}");
    }
}

#[test]
fn a_reply_on_a_ticket_by_its_status_and_age() {
    let cfg = config(&[]);
    let at = berlin(2026, 11, 24, 10, 0);
    let closed = |days_ago: i64| {
        let mut t = ticket(7, CUSTOMER, SW, Status::Closed);
        t.closed_at = Some(supportd::domain::ts(at - chrono::Duration::days(days_ago)));
        t
    };
    let rows = [
        ("open", ticket(7, CUSTOMER, SW, Status::Open), false, "Noch eine Frage.", FollowUp::Plain),
        ("waiting on the customer", ticket(7, CUSTOMER, SW, Status::Waiting), false, "Hier.", FollowUp::Answered),
        ("closed 3 days ago", closed(3), false, "Der Fehler ist wieder da.", FollowUp::Reopen),
        ("closed 14 days ago", closed(14), false, "Der Fehler ist wieder da.", FollowUp::Reopen),
        (
            "closed 15 days ago",
            closed(15),
            false,
            "Der Fehler ist wieder da.",
            FollowUp::TooLate("reply to MT-000007 which was closed more than 14 days ago".into()),
        ),
        ("closed, only thanks", closed(3), false, "Vielen Dank, hat geklappt!", FollowUp::ThanksOnly),
        ("closed, untrusted", closed(3), true, "Der Fehler ist wieder da.", FollowUp::Untrusted),
    ];
    for (what, t, untrusted, text, want) in rows {
        assert_eq!(decide::follow_up(&cfg, &t, untrusted, text, at), want, "{what}");
    }
}

fn class(c: Category) -> Classification {
    Classification {
        category: c,
        confidence: 0.9,
        reasons: vec!["test".into()],
        low_confidence: false,
        security_flag: false,
        security_reasons: vec![],
    }
}

#[test]
fn a_new_ticket_by_category_customer_and_arrival_time() {
    let cfg = config(&[]);
    let cal = calendar(&cfg);
    let sw = cfg.customer_for(CUSTOMER);
    let harbour = cfg.customer_for("jane@harbour-analytics.co.uk");
    let friday_late = berlin(2026, 11, 27, 16, 55);
    let saturday = berlin(2026, 11, 28, 11, 0);
    let monday_8 = berlin(2026, 11, 30, 8, 0);
    let rows = [
        // (what, category, customer, arrival, priority, level, status, in hours, first response due, team has)
        (
            "a functional error on Friday 16:55: 5 minutes on Friday, the rest from Monday",
            Category::FunctionalError,
            sw,
            friday_late,
            Priority::Normal,
            1,
            Status::New,
            true,
            berlin(2026, 11, 30, 11, 55),
            "support-1st@roewaplan.de",
        ),
        (
            "a security error on Saturday: critical, 2nd level with the project team, 1 h from Monday 08:00",
            Category::SecurityError,
            sw,
            saturday,
            Priority::Critical,
            2,
            Status::New,
            false,
            berlin(2026, 11, 30, 9, 0),
            "p.schmidt@roewaplan.de",
        ),
        (
            "a change request goes to the consultant",
            Category::ChangeRequest,
            harbour,
            monday_8,
            Priority::Low,
            1,
            Status::Forwarded,
            true,
            berlin(2026, 11, 30, 16, 0),
            "support-1st@roewaplan.de",
        ),
    ];
    for (what, cat, customer, at, prio, level, status, in_hours, fr_due, member) in rows {
        let plan = decide::new_ticket(&cfg, &cal, &class(cat), customer, "Betreff", "Text", at);
        assert_eq!(
            (plan.priority, plan.level, plan.status, plan.in_hours, plan.first_response_due),
            (prio, Level::new(level).unwrap(), status, in_hours, fr_due),
            "{what}"
        );
        assert!(plan.team.iter().any(|a| a == member), "{what}: {:?}", plan.team);
        assert_eq!(plan.consultant.is_some(), cat == Category::ChangeRequest, "{what}");
    }
    // Outside support hours, work starts at the next opening; the language is the customer's.
    let plan = decide::new_ticket(&cfg, &cal, &class(Category::UsageQuestion), harbour, "Question", "Text", saturday);
    assert_eq!((plan.next_opening, plan.language.as_str()), (monday_8, "en"));
    // Without a customer the language is read from the text.
    let plan = decide::new_ticket(
        &cfg,
        &cal,
        &class(Category::UsageQuestion),
        None,
        "Hello",
        "we cannot log in, please help with this",
        saturday,
    );
    assert_eq!(plan.language, "en");
    // The same mail decided later gives the same plan: it depends on the arrival time only.
    let again = decide::new_ticket(
        &cfg,
        &cal,
        &class(Category::UsageQuestion),
        None,
        "Hello",
        "we cannot log in, please help with this",
        saturday,
    );
    assert_eq!(plan, again);
}

#[test]
fn the_automatic_answer_cap() {
    let cfg = config(&[]);
    let l = &cfg.limits;
    assert_eq!((l.auto_replies_per_hour, l.auto_replies_per_day), (5, 20));
    for (hour, day, want) in [(0, 0, true), (4, 19, true), (5, 5, false), (0, 20, false), (4, 20, false)] {
        assert_eq!(decide::under_cap(l, hour, day), want, "{hour}/h {day}/day");
    }
}

#[test]
fn agent_commands_that_cannot_be_executed() {
    let cfg = config(&[]);
    let cal = calendar(&cfg);
    let t = ticket(7, CUSTOMER, SW, Status::Open);
    let side: HashSet<String> = [CUSTOMER.to_string()].into_iter().collect();
    let mut other = ticket(9, "jane@harbour-analytics.co.uk", Some("Harbour Analytics Ltd"), Status::Open);
    other.customer = Some("Harbour Analytics Ltd".into());
    let same = ticket(8, "chefin@stadtwerke-musterstadt.de", SW, Status::Open);
    let survivors: HashMap<i64, Option<Ticket>> =
        [(9, Some(other)), (8, Some(same)), (7, Some(t.clone())), (99, None)].into_iter().collect();
    let rows = [
        ("#status waiting", None),
        ("#status in_progress", None),
        ("#level 2", None),
        ("#category change_request", None),
        ("#priority high", None),
        ("#internal", None),
        ("#close", None),
        ("#reopen", None),
        ("#assign anna@roewaplan.de", None),
        ("#assign x@gmail.com", Some("is not an agent")),
        ("#cc chefin@stadtwerke-musterstadt.de", None),
        ("#cc anna@roewaplan.de", Some("is an agent or the support address")),
        ("#merge MT-000008", None),
        ("#merge MT-000007", Some("is this ticket or was merged into it")),
        ("#merge MT-000009", Some("belongs to another customer")),
        ("#merge MT-000099", Some("there is no ticket MT-000099")),
        ("#change 2027-03-10 18:00-20:00 Update auf 4.2", None),
        ("#change 2027-03-28 02:15-03:30 Update", Some("does not exist in Europe/Berlin")),
        ("#change done", None),
        ("#change cancelled", None),
    ];
    for (line, want) in rows {
        let parsed = commands::parse(&format!("{line}\n\nText"), "MT");
        assert!(parsed.errors.is_empty() && !parsed.commands.is_empty(), "{line} parses: {parsed:?}");
        let errors = decide::check_commands(&cfg, &cal, &t, &side, &parsed.commands, &survivors);
        match want {
            None => assert!(errors.is_empty(), "{line}: {errors:?}"),
            Some(w) => {
                assert_eq!(errors.len(), 1, "{line}: {errors:?}");
                assert!(errors[0].message.contains(w), "{line}: {}", errors[0].message);
            }
        }
    }
    // The recipient cap holds for all `#cc` lines of a mail together.
    let many: String = (0..25).map(|i| format!("#cc p{i}@stadtwerke-musterstadt.de\n")).collect();
    let parsed = commands::parse(&format!("{many}\nText"), "MT");
    let errors = decide::check_commands(&cfg, &cal, &t, &side, &parsed.commands, &survivors);
    assert_eq!(errors.len(), 25 + 1 - cfg.limits.max_recipients, "{errors:?}");
}

/// Proves: each agent command's plan — what it does to the ticket, what
/// the customer is told, what the team's note lists — decided without a
/// store; a command that changes nothing is left out.
#[test]
fn the_plan_of_each_agent_command() {
    use decide::{Announced, ChangeRef, Effect};
    let cfg = config(&[]);
    let cal = calendar(&cfg);
    let open = ticket(7, CUSTOMER, SW, Status::Open);
    let mut closed = ticket(7, CUSTOMER, SW, Status::Closed);
    closed.closed_at = Some("2026-11-20T10:00:00Z".into());
    let mut english = ticket(7, "jane@harbour-analytics.co.uk", Some("Harbour Analytics Ltd"), Status::Open);
    english.language = "en".into();
    let side: HashSet<String> = [CUSTOMER.to_string()].into_iter().collect();
    let one = vec![Announced { id: 5, description: "Update auf 4.2".into() }];
    let l2 = Level::new(2).unwrap();
    let starts = berlin(2027, 3, 10, 18, 0);
    let ends = berlin(2027, 3, 10, 20, 0);
    let announce = |d: &str| Effect::AnnounceChange {
        starts,
        ends,
        description: d.into(),
        line: format!("announced 2027-03-10 18:00-20:00: {d}"),
    };
    #[allow(clippy::type_complexity)]
    let rows: Vec<(&str, &Ticket, &[Announced], Vec<Effect>, Vec<&str>, Vec<&str>)> = vec![
        (
            "#status waiting",
            &open,
            &[],
            vec![Effect::Status(Status::Waiting)],
            vec!["Wir benötigen Ihre Rückmeldung."],
            vec!["#status waiting"],
        ),
        ("#status open", &open, &[], vec![], vec![], vec![]),
        (
            "#status waiting\n#status waiting",
            &open,
            &[],
            vec![Effect::Status(Status::Waiting)],
            vec!["Wir benötigen Ihre Rückmeldung."],
            vec!["#status waiting"],
        ),
        (
            "#close",
            &open,
            &[],
            vec![Effect::Status(Status::Closed)],
            vec!["Ihre Anfrage wurde geschlossen."],
            vec!["#close"],
        ),
        (
            "#reopen",
            &closed,
            &[],
            vec![Effect::Status(Status::Open)],
            vec!["Ihre Anfrage wurde wieder geöffnet."],
            vec!["#reopen"],
        ),
        ("#reopen", &open, &[], vec![], vec![], vec![]),
        (
            "#level 2",
            &open,
            &[],
            vec![Effect::Level { from: 1, to: l2 }],
            vec!["Ihre Anfrage wurde an unseren 2nd Level Support übergeben."],
            vec!["#level 2"],
        ),
        ("#level 1", &open, &[], vec![], vec![], vec![]),
        (
            "#category change_request",
            &open,
            &[],
            vec![Effect::Category {
                from: "functional_error".into(),
                to: Category::ChangeRequest,
                consultant: Some("berater@roewaplan.de".into()),
            }],
            vec![
                "Ihre Anfrage wird jetzt als „Änderungsanforderung“ geführt (nicht im Wartungspreis enthalten; Abrechnung über ein explizites Angebot).",
            ],
            vec!["#category change_request"],
        ),
        ("#category functional_error", &open, &[], vec![], vec![], vec![]),
        ("#priority normal", &open, &[], vec![Effect::Priority(Priority::Normal)], vec![], vec!["#priority normal"]),
        (
            "#assign anna@roewaplan.de",
            &open,
            &[],
            vec![Effect::Assign("anna@roewaplan.de".into())],
            vec![],
            vec!["#assign anna@roewaplan.de"],
        ),
        (
            "#cc chefin@stadtwerke-musterstadt.de",
            &open,
            &[],
            vec![Effect::Participant("chefin@stadtwerke-musterstadt.de".into())],
            vec![],
            vec!["#cc chefin@stadtwerke-musterstadt.de"],
        ),
        ("#cc m.mueller@stadtwerke-musterstadt.de", &open, &[], vec![], vec![], vec![]),
        ("#internal", &open, &[], vec![], vec![], vec![]),
        ("#merge MT-000008", &open, &[], vec![], vec![], vec![]),
        (
            "#change 2027-03-10 18:00-20:00 Update auf 4.2",
            &open,
            &[],
            vec![announce("Update auf 4.2")],
            vec![],
            vec!["#change"],
        ),
        (
            "#change done",
            &open,
            &one,
            vec![Effect::FinishChange { change: ChangeRef::Stored(one[0].clone()), state: "done" }],
            vec![],
            vec!["#change done"],
        ),
        ("#change done", &open, &[], vec![Effect::NoChangeToFinish], vec![], vec![]),
        (
            "#change 2027-03-10 18:00-20:00 Wartung\n#change cancelled",
            &open,
            &one,
            vec![announce("Wartung"), Effect::FinishChange { change: ChangeRef::ThisMail(0), state: "cancelled" }],
            vec![],
            vec!["#change", "#change cancelled"],
        ),
        (
            "#status resolved\n#level 2",
            &english,
            &[],
            vec![Effect::Status(Status::Resolved), Effect::Level { from: 1, to: l2 }],
            vec!["Your request has been resolved.", "Your request has been handed to our 2nd Level Support."],
            vec!["#status resolved", "#level 2"],
        ),
    ];
    for (lines, t, announced, effects, news, executed) in rows {
        let parsed = commands::parse(&format!("{lines}\n\nText"), "MT");
        assert!(parsed.errors.is_empty(), "{lines}: {:?}", parsed.errors);
        let plan = decide::agent_commands(&cfg, &cal, t, &parsed.commands, &side, announced);
        assert_eq!(plan.effects, effects, "{lines}");
        assert_eq!(plan.news, news, "{lines}");
        assert_eq!(plan.executed, executed, "{lines}");
        assert_eq!(plan.internal, lines == "#internal", "{lines}");
        assert_eq!(plan.merge_into, (lines == "#merge MT-000008").then_some(8), "{lines}");
        assert_eq!(plan.level_raised_to.is_some(), lines.contains("#level 2"), "{lines}");
    }
}

/// Proves: who of the people a customer copied joins the ticket (the same
/// organisation, never an agent or the support, at most
/// `limits.max_recipients` on the customer side), and who works a ticket.
#[test]
fn who_joins_and_who_works_a_ticket() {
    let cfg = config(&[("[[customers]]", "[limits]\nmax_recipients = 3\n\n[[customers]]")]);
    assert_eq!(cfg.limits.max_recipients, 3);
    let existing = vec![(CUSTOMER.to_string(), "requester".to_string())];
    let addrs: Vec<String> = [
        "Chefin@Stadtwerke-Musterstadt.de",
        "chefin@stadtwerke-musterstadt.de",
        "anna@roewaplan.de",
        "mein-team-support@roewaplan.de",
        "x@gmail.com",
        "it@stadtwerke-musterstadt.de",
        "third@stadtwerke-musterstadt.de",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let j = decide::cc_joins(&cfg, &existing, SW, CUSTOMER, &addrs);
    assert_eq!(j.add, ["chefin@stadtwerke-musterstadt.de", "it@stadtwerke-musterstadt.de"]);
    assert_eq!(j.strangers, ["x@gmail.com"]);
    assert_eq!(j.over_cap, ["third@stadtwerke-musterstadt.de"]);
    // The team hears of each reason once: an event and a warning.
    assert_eq!(
        steps(&decide::cc_left_out(&cfg, 7, &j)),
        ["event cc_not_added", "warning", "event cc_not_added", "warning"]
    );
    // No customer configured: the requester's company domain, never a public mail service.
    let j = decide::cc_joins(&cfg, &[], None, "a@firma.de", &["b@firma.de".into(), "c@gmail.com".into()]);
    assert_eq!((j.add, j.strangers), (vec!["b@firma.de".to_string()], vec!["c@gmail.com".to_string()]));

    let mut t = ticket(7, CUSTOMER, SW, Status::Open);
    assert_eq!(decide::team_of(&cfg, &t), ["support-1st@roewaplan.de"]);
    t.level = 2;
    t.assignee = Some("anna@roewaplan.de".into());
    assert_eq!(decide::team_of(&cfg, &t), ["support-2nd@roewaplan.de", "p.schmidt@roewaplan.de", "anna@roewaplan.de"]);
}

/// Proves: an overview lists a customer's tickets open first, never a
/// merged one; a sender without a customer sees only their own; the mail
/// says how many open and closed tickets it leaves out.
#[test]
fn what_an_overview_lists() {
    let mut merged = ticket(3, CUSTOMER, SW, Status::Closed);
    merged.merged_into = Some(1);
    let tickets = vec![
        ticket(1, CUSTOMER, SW, Status::Open),
        ticket(2, "chefin@stadtwerke-musterstadt.de", SW, Status::Waiting),
        merged,
        ticket(4, CUSTOMER, SW, Status::Resolved),
        ticket(5, CUSTOMER, SW, Status::New),
    ];
    let ids = |v: &[&Ticket]| v.iter().map(|t| t.id).collect::<Vec<_>>();
    let o = decide::overview(&tickets, true, CUSTOMER);
    assert_eq!((ids(&o.open), ids(&o.closed)), (vec![1, 2, 5], vec![4]));
    let o = decide::overview(&tickets, false, "chefin@stadtwerke-musterstadt.de");
    assert_eq!((ids(&o.open), ids(&o.closed)), (vec![2], vec![]));

    // The overview mail goes to the sender only, in reply to their mail,
    // with the tickets as listed and the local date of the arrival.
    let cfg = config(&[]);
    let cal = calendar(&cfg);
    let m =
        mail(&cfg, &format!("From: {CUSTOMER}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: #tickets"), "#tickets");
    // The store gave some of the tickets and counted more open ones (12) than it gave.
    let given = supportd::domain::OverviewTickets { open: tickets, closed: vec![], open_total: 12, closed_total: 1 };
    let (planned_mail, listed) =
        decide::overview_mail(&cfg, &cal, &m, cfg.customer_for(CUSTOMER), "de", &given, berlin(2026, 11, 24, 9, 30));
    assert_eq!(listed, 4);
    assert_eq!((&planned_mail.context["open_total"], &planned_mail.context["open_left_out"]), (&12.into(), &9.into()));
    assert_eq!(
        (&planned_mail.context["closed_total"], &planned_mail.context["closed_left_out"]),
        (&1.into(), &0.into())
    );
    assert_eq!(planned(&planned_mail), ("overview".into(), "customer", CUSTOMER.into()));
    assert_eq!(planned_mail.in_reply_to.as_deref(), Some(m.message_id.as_str()));
    let tags: Vec<&str> =
        planned_mail.context["open"].as_array().unwrap().iter().map(|t| t["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["MT-000001", "MT-000002", "MT-000005"]);
    assert_eq!(planned_mail.context["date"], "24.11.2026 09:30");
}

/// A mail of an agent's plan as a short row: template, audience, recipients.
fn planned(m: &decide::PlannedMail) -> (String, &'static str, String) {
    let who = match m.audience {
        decide::Audience::Customer => "customer",
        decide::Audience::Team => "team",
    };
    (m.kind.to_string(), who, m.to.join(","))
}

/// Proves: who gets each mail an agent's mail causes, decided without a
/// store: the answer relayed to the customer side (requester and CC'd
/// participants, never bounced ones, in reply to the requester's last
/// mail) carrying the status change, a status mail only without text, the
/// change mails, `#internal` as a note to the team of the ticket as the
/// commands left it (never the agent who wrote), the handover to the new
/// level's team with the ticket's story, and the notice to the agent when
/// recipients are left out.
#[test]
fn the_mails_of_each_agent_command() {
    use decide::{AgentSnapshot, HandoverData, Step};
    let mut cfg = config(&[]);
    let cal = calendar(&cfg);
    let at = berlin(2026, 11, 24, 10, 0);
    let t = ticket(7, CUSTOMER, SW, Status::Open);
    let kollege = "kollege@stadtwerke-musterstadt.de";
    let side = |n: usize| -> Vec<(String, String)> {
        let mut v = vec![(CUSTOMER.to_string(), "requester".to_string())];
        v.push(("alt@stadtwerke-musterstadt.de".into(), "bounced".into()));
        v.extend((0..n).map(|i| {
            (if i == 0 { kollege.to_string() } else { format!("k{i}@stadtwerke-musterstadt.de") }, "cc".into())
        }));
        v
    };
    let story = HandoverData {
        first_text: "Der Dienstplan lässt sich nicht speichern.".into(),
        latest_customer_text: Some("Seit heute kommt zusätzlich Fehler 4711.".into()),
        notes: vec![("2026-11-23T09:00:00Z".into(), "bernd@roewaplan.de".into(), "Kunde nutzt 4.1".into())],
        ..Default::default()
    };
    let snap = AgentSnapshot {
        participants: side(1),
        requester_last: Some("<letzte@stadtwerke-musterstadt.de>".into()),
        handover: Some(story),
        ..Default::default()
    };
    let both = format!("{CUSTOMER},{kollege}");
    let l2_team = "support-2nd@roewaplan.de,p.schmidt@roewaplan.de";
    #[allow(clippy::type_complexity)]
    let rows: Vec<(&str, Vec<(&str, &str, String)>, Vec<&str>)> = vec![
        ("Die Ursache ist behoben.", vec![("agent_reply", "customer", both.clone())], vec!["agent_reply"]),
        (
            "#status waiting\n\nBitte senden Sie uns das Protokoll.",
            vec![("agent_reply", "customer", both.clone())],
            vec!["agent_reply"],
        ),
        ("#status waiting", vec![("status", "customer", both.clone())], vec![]),
        ("#priority high", vec![], vec![]),
        (
            "#cc chefin@stadtwerke-musterstadt.de\n\nIch nehme Ihre Chefin dazu.",
            vec![("agent_reply", "customer", format!("{both},chefin@stadtwerke-musterstadt.de"))],
            vec!["agent_reply"],
        ),
        (
            "#cc alt@stadtwerke-musterstadt.de\n\nAntwort.",
            vec![("agent_reply", "customer", both.clone())],
            vec!["agent_reply"],
        ),
        (
            "#internal\n\nNur intern: der Kunde hat eine alte Version.",
            vec![("note", "team", "support-1st@roewaplan.de".into())],
            vec!["note"],
        ),
        (
            "#assign bernd@roewaplan.de\n#internal\n\nBernd, bitte übernehmen.",
            vec![("note", "team", "support-1st@roewaplan.de,bernd@roewaplan.de".into())],
            vec!["note"],
        ),
        ("#level 2", vec![("status", "customer", both.clone()), ("handover", "team", l2_team.into())], vec![]),
        (
            "#internal\n#level 2\n\nBitte die Logs prüfen.",
            vec![("note", "team", l2_team.into()), ("handover", "team", l2_team.into())],
            vec!["note"],
        ),
        ("#change 2027-03-10 18:00-20:00 Update auf 4.2", vec![("change", "customer", both.clone())], vec![]),
        (
            "#status resolved\n#change 2027-03-10 18:00-20:00 Update auf 4.2\n\nErledigt.",
            vec![("agent_reply", "customer", both.clone()), ("change", "customer", both.clone())],
            vec!["agent_reply"],
        ),
        (
            "#internal\n#change 2027-03-10 18:00-20:00 Update auf 4.2\n\nvorgemerkt",
            vec![("note", "team", "support-1st@roewaplan.de".into())],
            vec!["note"],
        ),
    ];
    let agent = "Anna Agentin <anna@roewaplan.de>";
    let side_set: HashSet<String> = [CUSTOMER.to_string(), kollege.to_string()].into_iter().collect();
    for (body, want, events) in rows {
        let m = mail(
            &cfg,
            &format!("From: {agent}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: AW: [MT-000007]"),
            body,
        );
        let parsed = commands::parse(body, "MT");
        assert!(parsed.errors.is_empty(), "{body}: {:?}", parsed.errors);
        let plan = decide::agent_commands(&cfg, &cal, &t, &parsed.commands, &side_set, &[]);
        let out = decide::agent_mails(&cfg, &cal, &m, 1, &t, &plan, &parsed.text, &snap, at);
        let mails: Vec<&decide::PlannedMail> =
            out.steps.iter().filter_map(|s| if let Step::Mail(m) = s { Some(m) } else { None }).collect();
        let got: Vec<(String, &str, String)> = mails.iter().map(|m| planned(m)).collect();
        let want: Vec<(String, &str, String)> = want.into_iter().map(|(k, a, to)| (k.to_string(), a, to)).collect();
        assert_eq!(got, want, "{body}");
        let got_events: Vec<&str> =
            out.steps.iter().filter_map(|s| if let Step::Event(e) = s { Some(e.kind) } else { None }).collect();
        assert_eq!(got_events, events, "{body}");
        assert!(out.notice.is_none(), "{body}: nobody was left out");
        for m in &mails {
            let irt =
                (m.audience == decide::Audience::Customer).then(|| "<letzte@stadtwerke-musterstadt.de>".to_string());
            assert_eq!(m.in_reply_to, irt, "{body}: {}", m.kind);
            assert_eq!(m.auto_submitted, if m.kind == "agent_reply" { "no" } else { "auto-generated" }, "{body}");
        }
        // The decided context: the relay carries the text and the news; a
        // status mail the headline of the status as the commands left it.
        for m in &mails {
            match m.kind {
                "agent_reply" => {
                    assert_eq!(m.context["text"], parsed.text.as_str(), "{body}");
                    assert_eq!(m.context["changes"], serde_json::json!(plan.news), "{body}");
                }
                "status" => {
                    assert_eq!(m.context["changes"], serde_json::json!(plan.news), "{body}");
                    let headline = if body.contains("waiting") {
                        "Wir benötigen Ihre Rückmeldung"
                    } else {
                        "Übergabe an den 2nd Level Support"
                    };
                    assert_eq!(m.context["status_headline"], headline, "{body}");
                }
                "note" => {
                    assert_eq!(m.context["agent"], "Anna Agentin", "{body}");
                    assert_eq!(m.context["changes"], serde_json::json!(plan.executed), "{body}");
                }
                "handover" => {
                    let c = &m.context;
                    assert_eq!(c["level_new"], 2, "{body}");
                    assert_eq!(c["text"], "Seit heute kommt zusätzlich Fehler 4711.", "{body}");
                    assert_eq!(c["first_text"], "Der Dienstplan lässt sich nicht speichern.", "{body}");
                    let notes: Vec<&str> =
                        c["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
                    let mut want = vec!["Kunde nutzt 4.1"];
                    if body.starts_with("#internal") {
                        want.push("Bitte die Logs prüfen.");
                    }
                    assert_eq!(notes, want, "{body}: the earlier notes and this mail's own");
                    assert_eq!(c["notes"][0]["at"], "23.11.2026 10:00", "{body}: local time");
                }
                _ => {}
            }
        }
    }

    // Over the recipient cap: the first ones get the answer, the rest are
    // recorded and named to the agent.
    cfg.limits.max_recipients = 2;
    let crowded = AgentSnapshot { participants: side(3), ..snap.clone() };
    let m = mail(&cfg, &format!("From: {agent}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: AW"), "Antwort");
    let plan = decide::agent_commands(&cfg, &cal, &t, &[], &side_set, &[]);
    let out = decide::agent_mails(&cfg, &cal, &m, 1, &t, &plan, "Antwort", &crowded, at);
    assert_eq!(
        steps(&out.steps),
        [
            "event recipients_capped".to_string(),
            format!("mail agent_reply to {both} (customer)"),
            "event agent_reply".into()
        ]
    );
    let notice = out.notice.expect("the agent is told who was left out");
    assert_eq!(planned(&notice), ("agent_notice".into(), "team", "anna@roewaplan.de".into()));
    let said = notice.context["notices"][0].as_str().unwrap();
    assert!(said.contains("k1@stadtwerke-musterstadt.de") && said.contains("k2@"), "{said}");

    // A command that cannot be executed: only its sender hears of it.
    let errors = commands::parse("#level 9", "MT").errors;
    assert!(!errors.is_empty());
    let err = decide::command_error_mail(&cfg, "anna@roewaplan.de", &errors);
    assert_eq!(planned(&err), ("command_error".into(), "team", "anna@roewaplan.de".into()));
}

/// Proves: which files go along (in order, while their total stays within
/// `limits.max_forward_bytes`) and that every file is listed.
#[test]
fn which_files_go_along() {
    let mut cfg = config(&[]);
    cfg.limits.max_forward_bytes = 1000;
    let f = |name: &'static str, size| decide::FileInfo { name, content_type: "application/pdf", size, row: 3 };
    let p = decide::pass_on(&cfg, &[f("a.pdf", 600), f("b.pdf", 500), f("c.pdf", 400)]);
    assert_eq!(p.passed, [0, 2]);
    assert_eq!(p.kept, ["b.pdf"]);
    let listed: Vec<bool> = p.listed.iter().map(|l| l["forwarded"].as_bool().unwrap()).collect();
    assert_eq!(listed, [true, false, true]);
}

/// A plan's steps as short rows: "event KIND", "warning", "mail KIND to A,B (audience)".
fn steps(s: &[decide::Step]) -> Vec<String> {
    s.iter()
        .map(|s| match s {
            decide::Step::Event(e) => format!("event {}", e.kind),
            decide::Step::Warning(_) => "warning".into(),
            decide::Step::Mail(m) => {
                let (kind, who, to) = planned(m);
                format!("mail {kind} to {to} ({who})")
            }
        })
        .collect()
}

/// Proves: who gets the mails of a new ticket and of a customer's reply,
/// decided without a store: the acknowledgement (or, over the cap, the
/// `rate_cap` event and a warning for the team instead) to the sender in
/// reply to their mail, the team's notification to the level's team (and
/// the project team, the consultant of a change request), the status mail
/// when a reply reopened the ticket.
#[test]
fn the_mails_of_a_new_ticket_and_a_reply() {
    let cfg = config(&[]);
    let cal = calendar(&cfg);
    let sw = cfg.customer_for(CUSTOMER);
    let friday_late = berlin(2026, 11, 27, 16, 55);
    let m = mail(
        &cfg,
        &format!("From: {CUSTOMER}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Fehler"),
        "Geht nicht.",
    );
    let kb = serde_json::json!([]);
    let rows = [
        (
            Category::FunctionalError,
            true,
            vec![
                format!("mail ack to {CUSTOMER} (customer)"),
                "mail notify_agents to support-1st@roewaplan.de (team)".into(),
            ],
        ),
        (
            Category::FunctionalError,
            false,
            vec![
                "event rate_cap".to_string(),
                "warning".into(),
                "mail notify_agents to support-1st@roewaplan.de (team)".into(),
            ],
        ),
        (
            Category::ChangeRequest,
            true,
            vec![
                format!("mail ack to {CUSTOMER} (customer)"),
                "mail notify_agents to support-1st@roewaplan.de (team)".into(),
                "mail forward_consultant to berater@roewaplan.de (team)".into(),
            ],
        ),
    ];
    for (cat, under_cap, want) in rows {
        let c = class(cat);
        let plan = decide::new_ticket(&cfg, &cal, &c, sw, "Fehler", "Geht nicht.", friday_late);
        let out = decide::new_ticket_mails(&cfg, &cal, &m, 1, 7, &plan, &c, kb.clone(), under_cap);
        assert_eq!(steps(&out), want, "{cat:?}, under the cap: {under_cap}");
        for s in &out {
            if let decide::Step::Mail(p) = s {
                assert_eq!(p.context["in_hours"], true, "{cat:?}: Friday 16:55 is within the hours");
                if p.audience == decide::Audience::Customer {
                    assert_eq!(p.in_reply_to.as_deref(), Some(m.message_id.as_str()));
                    assert_eq!(p.auto_submitted, "auto-replied");
                }
            }
            if let decide::Step::Warning(w) = s {
                assert!(w.contains(CUSTOMER) && w.contains("Bitte persönlich antworten"), "{w}");
            }
        }
    }

    let mut open = ticket(7, CUSTOMER, SW, Status::Open);
    open.level = 2;
    let l2 = "support-2nd@roewaplan.de,p.schmidt@roewaplan.de";
    let rows = [
        (
            true,
            true,
            vec![format!("mail status to {CUSTOMER} (customer)"), format!("mail notify_agents to {l2} (team)")],
        ),
        (
            true,
            false,
            vec!["event rate_cap".to_string(), "warning".into(), format!("mail notify_agents to {l2} (team)")],
        ),
        (false, true, vec![format!("mail notify_agents to {l2} (team)")]),
    ];
    for (reopened, under_cap, want) in rows {
        let out = decide::follow_up_mails(&cfg, &m, 1, &open, reopened, under_cap);
        assert_eq!(steps(&out), want, "reopened {reopened}, under the cap {under_cap}");
        if let Some(decide::Step::Mail(p)) = out.first().filter(|_| reopened && under_cap) {
            assert_eq!(p.context["status_headline"], "Ihre Anfrage ist wieder geöffnet");
            assert_eq!(p.context["changes"][0], "Ihre Anfrage wurde wieder geöffnet.");
        }
    }
}

#[test]
fn a_flagged_request_keeps_its_category_but_is_high_and_the_security_contact_is_told() {
    let cfg = config(&[]);
    let cal = calendar(&cfg);
    let mut c = class(Category::ChangeRequest);
    let at = berlin(2026, 11, 30, 8, 0);
    let plain = decide::new_ticket(&cfg, &cal, &c, None, "Wunsch", "Bitte ein Angebot.", at);
    assert_eq!(plain.priority, Priority::Low);
    assert!(!plain.team.iter().any(|a| a == "security@roewaplan.de"), "{:?}", plain.team);
    c.security_flag = true;
    c.security_reasons = vec!["forced by rule 'x'".into()];
    let flagged = decide::new_ticket(&cfg, &cal, &c, None, "Wunsch", "Bitte ein Angebot.", at);
    assert_eq!((flagged.category, flagged.priority), (Category::ChangeRequest, Priority::High));
    assert!(flagged.team.iter().any(|a| a == "security@roewaplan.de"), "{:?}", flagged.team);
}
