//! Ticket overview on request and periodic ticket reports (the [reports]
//! issue): who sees which tickets, report periods and due times, golden
//! text and CSV of a fixture month, exactly-once sending across a restart
//! and downtime, the CLI, and the HTML report rendered in headless Chromium.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use common::{Env, mail, repo};
use mail_parser::MimeHeaders;
use supportd::calendar::BusinessCalendar;
use supportd::config::ReportCycle;
use supportd::pipeline::Pipeline;
use supportd::reports::{self, Period};
use supportd::schedule;
use supportd::store::Store;
use supportd::zone::Zone;

fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Berlin.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const MAX: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const EVA: &str = "Eva Roth <e.roth@stadtwerke-musterstadt.de>";
const JANE: &str = "Jane Doe <jane@harbour-analytics.co.uk>";
const TOM: &str = "Tom <tom@example.org>";
const LISA: &str = "Lisa <lisa@example.org>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";

// ---------------------------------------------------------------------------
// Overview on request

fn overviews(env: &Env) -> Vec<supportd::store::OutboxEntry> {
    env.sent("overview")
}

/// Proves: a contact of customer A gets A's tickets (also a colleague's)
/// and none of customer B's or a stranger's; disposition overview_request.
#[test]
fn a_contact_of_a_customer_sees_its_tickets_and_no_other_customers() {
    let mut env = Env::new();
    env.ingest(&mail(MAX, "Dienstplan speichert nicht", "a1@sw", "", "Fehler 500 beim Speichern."));
    env.ingest(&mail(EVA, "Neue Benutzerin anlegen", "a2@sw", "", "Bitte legen Sie Frau Roth an."));
    env.ingest(&mail(JANE, "Harbour secret project export", "b1@h", "", "How do I export?"));
    env.ingest(&mail(TOM, "Private Frage Tom", "t1@x", "", "Wie geht das?"));
    let o = env.ingest(&mail(MAX, "Ticketübersicht", "ov1@sw", "", "Bitte senden Sie mir eine Übersicht."));
    assert_eq!(o.disposition.as_str(), "overview_request");
    assert_eq!(o.ticket, None, "an overview request opens no ticket");
    let ov = overviews(&env);
    assert_eq!(ov.len(), 1);
    assert_eq!(ov[0].recipients, vec!["m.keller@stadtwerke-musterstadt.de"]);
    let body = env.outbox_raw(ov[0].id);
    assert!(body.contains("MT-000001") && body.contains("MT-000002"), "both Stadtwerke tickets: {body}");
    assert!(!body.contains("MT-000003") && !body.contains("Harbour secret"), "no ticket of customer B: {body}");
    assert!(!body.contains("MT-000004") && !body.contains("Private Frage"), "no stranger's ticket: {body}");
    assert!(body.contains("Auto-Submitted: auto-replied"), "{body}");
}

/// Proves: the overview goes to the From address only: a Reply-To and a CC
/// pointing elsewhere get nothing.
#[test]
fn the_overview_ignores_reply_to_and_cc() {
    let mut env = Env::new();
    env.ingest(&mail(MAX, "Dienstplan speichert nicht", "a1@sw", "", "Fehler 500."));
    let o = env.ingest(&mail(
        MAX,
        "ticket overview",
        "ov@sw",
        "Reply-To: attacker@evil.example\nCc: other@evil.example",
        "#overview",
    ));
    assert_eq!(o.disposition.as_str(), "overview_request");
    let ov = overviews(&env);
    assert_eq!(ov.len(), 1);
    assert_eq!(ov[0].recipients, vec!["m.keller@stadtwerke-musterstadt.de"]);
    let raw = env.outbox_raw(ov[0].id);
    assert!(!raw.contains("evil.example"), "{raw}");
}

/// Proves: a sender of no customer sees only the tickets they requested,
/// not those of another address of the same (public/unknown) domain.
#[test]
fn an_unknown_sender_sees_only_their_own_tickets() {
    let mut env = Env::new();
    env.ingest(&mail(TOM, "Toms Frage zum Export", "t1@x", "", "Wie exportiere ich?"));
    env.ingest(&mail(LISA, "Lisas Frage zum Drucken", "l1@x", "", "Wie drucke ich?"));
    env.ingest(&mail(MAX, "Stadtwerke Frage", "a1@sw", "", "Wie geht das?"));
    let o = env.ingest(&mail(TOM, "Übersicht meiner Tickets", "ov@x", "", "Danke."));
    assert_eq!(o.disposition.as_str(), "overview_request");
    let ov = overviews(&env);
    assert_eq!(ov.len(), 1);
    assert_eq!(ov[0].recipients, vec!["tom@example.org"]);
    let body = env.outbox_raw(ov[0].id);
    assert!(body.contains("MT-000001"), "{body}");
    assert!(!body.contains("MT-000002") && !body.contains("Lisas"), "{body}");
    assert!(!body.contains("MT-000003") && !body.contains("Stadtwerke Frage"), "{body}");
}

/// Proves: overview requests obey a per-address cap of their own (5 per
/// hour by default): the ack of the sender's ticket does not use it up, a
/// sixth request within the hour is recorded as overview_request with the
/// reason and an event, and nothing more is sent.
#[test]
fn the_overview_rate_limit_holds() {
    let mut env = Env::new();
    env.ingest(&mail(MAX, "Dienstplan speichert nicht", "a1@sw", "", "Fehler 500."));
    for i in 0..8 {
        let o = env.ingest(&mail(MAX, "Status aller Anfragen", &format!("ov{i}@sw"), "", "Bitte."));
        assert_eq!(o.disposition.as_str(), "overview_request", "request {i}");
        if i >= 5 {
            assert!(o.reason.as_deref().unwrap_or("").contains("cap reached"), "request {i}: {:?}", o.reason);
        }
    }
    assert_eq!(overviews(&env).len(), 5, "5 overviews: a budget of their own, the ack does not count");
    let to_max =
        env.outbox().iter().filter(|o| o.recipients.iter().any(|r| r == "m.keller@stadtwerke-musterstadt.de")).count();
    assert_eq!(to_max, 6, "the ack and 5 overviews");
    assert_eq!(env.count("SELECT count(*) FROM events WHERE kind = 'rate_cap' AND detail LIKE 'no overview%'"), 3);
}

/// Proves: a reply on one ticket that asks about that one ticket stays a
/// follow-up, even with overview-like words; without a single tag the same
/// words in a reply do get the overview (so the check can fail).
#[test]
fn a_question_about_one_ticket_stays_a_follow_up() {
    let mut env = Env::new();
    env.ingest(&mail(JANE, "Export fails", "j1@h", "", "The export fails with error 500."));
    let ack = env.last_id("ack");
    let irt = format!("In-Reply-To: <{ack}>\nReferences: <{ack}>");
    let o = env.ingest(&mail(JANE, "Re: [MT-000001] Export fails", "j2@h", &irt, "What is the status of MT-000001?"));
    assert_eq!((o.disposition.as_str(), o.ticket), ("follow_up", Some(1)));
    let o = env.ingest(&mail(
        JANE,
        "Re: [MT-000001] Export fails",
        "j3@h",
        &irt,
        "Status of all my requests? What is the status of MT-000001? Please send a ticket overview.",
    ));
    assert_eq!((o.disposition.as_str(), o.ticket), ("follow_up", Some(1)), "one tag named: a follow-up");
    assert!(overviews(&env).is_empty());
    let o = env.ingest(&mail(JANE, "Re: [MT-000001] Export fails", "j4@h", &irt, "Please send a ticket overview."));
    assert_eq!(o.disposition.as_str(), "overview_request");
}

// ---------------------------------------------------------------------------
// Periods

/// Proves: the four period forms parse (and print back); bad ones are refused naming the value.
#[test]
fn periods_parse_and_bad_ones_are_refused() {
    for (s, cycle, idx) in [
        ("2026-11", ReportCycle::Monthly, 11),
        ("2026-01", ReportCycle::Monthly, 1),
        ("2026-Q4", ReportCycle::Quarterly, 4),
        ("2026-H2", ReportCycle::HalfYearly, 2),
        ("2026", ReportCycle::Yearly, 1),
    ] {
        let p = Period::parse(s).unwrap();
        assert_eq!((p.cycle, p.year, p.index), (cycle, 2026, idx), "{s}");
        assert_eq!(p.label(), s);
    }
    for bad in ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-H3", "26-11", "2026-1", "2026-11-01", "", "Q4-2026"] {
        let e = Period::parse(bad).unwrap_err();
        assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
    }
}

/// Proves: each cycle's periods start and end on the right days, tile the
/// year without gap or overlap, and step over the year boundary both ways.
#[test]
fn period_boundaries_for_every_cycle_including_the_year_boundary() {
    let p = |s: &str| Period::parse(s).unwrap();
    let cases = [
        ("2026-11", day(2026, 11, 1), day(2026, 11, 30), "2026-12", "2026-10"),
        ("2026-12", day(2026, 12, 1), day(2026, 12, 31), "2027-01", "2026-11"),
        ("2027-01", day(2027, 1, 1), day(2027, 1, 31), "2027-02", "2026-12"),
        ("2028-02", day(2028, 2, 1), day(2028, 2, 29), "2028-03", "2028-01"),
        ("2026-Q1", day(2026, 1, 1), day(2026, 3, 31), "2026-Q2", "2025-Q4"),
        ("2026-Q3", day(2026, 7, 1), day(2026, 9, 30), "2026-Q4", "2026-Q2"),
        ("2026-Q4", day(2026, 10, 1), day(2026, 12, 31), "2027-Q1", "2026-Q3"),
        ("2026-H1", day(2026, 1, 1), day(2026, 6, 30), "2026-H2", "2025-H2"),
        ("2026-H2", day(2026, 7, 1), day(2026, 12, 31), "2027-H1", "2026-H1"),
        ("2026", day(2026, 1, 1), day(2026, 12, 31), "2027", "2025"),
    ];
    for (s, first, last, next, prev) in cases {
        let q = p(s);
        assert_eq!((q.first_day(), q.last_day()), (first, last), "{s}");
        assert_eq!(q.end_day(), last.succ_opt().unwrap(), "{s}: end is exclusive");
        assert_eq!(q.next().label(), next, "{s}");
        assert_eq!(q.prev().label(), prev, "{s}");
    }
    // Every day of 2026 and 2027 is in exactly the period `containing` says, for every cycle.
    for cycle in [ReportCycle::Monthly, ReportCycle::Quarterly, ReportCycle::HalfYearly, ReportCycle::Yearly] {
        let mut period = Period::containing(cycle, day(2026, 1, 1));
        let mut d = day(2026, 1, 1);
        while d < day(2028, 1, 1) {
            if d >= period.end_day() {
                period = period.next();
            }
            assert!(period.first_day() <= d && d < period.end_day(), "{d} outside {}", period.label());
            assert_eq!(Period::containing(cycle, d), period, "{d}");
            d = d.succ_opt().unwrap();
        }
        assert_eq!(period.end_day(), day(2028, 1, 1), "{cycle:?} tiles the years");
    }
    // Instants: local midnight in Berlin (CET in winter, CEST in summer).
    assert_eq!(p("2026-11").start(Zone::berlin()), Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap());
    assert_eq!(p("2026-11").end(Zone::berlin()), Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap());
    assert_eq!(p("2026-Q2").start(Zone::berlin()), Utc.with_ymd_and_hms(2026, 3, 31, 22, 0, 0).unwrap());
    // The period just ended, at the year boundary.
    let new_year = berlin(2027, 1, 1, 0, 30);
    for (cycle, want) in [
        (ReportCycle::Monthly, "2026-12"),
        (ReportCycle::Quarterly, "2026-Q4"),
        (ReportCycle::HalfYearly, "2026-H2"),
        (ReportCycle::Yearly, "2026"),
    ] {
        assert_eq!(reports::period_just_ended(cycle, new_year, Zone::berlin()).label(), want);
    }
    let eve = berlin(2026, 12, 31, 23, 30);
    assert_eq!(reports::period_just_ended(ReportCycle::Monthly, eve, Zone::berlin()).label(), "2026-11");
    assert_eq!(reports::period_just_ended(ReportCycle::Yearly, eve, Zone::berlin()).label(), "2025");
}

/// Proves: a report is due on the first working day of the new cycle (BW
/// holidays and weekends skipped) at the configured time.
#[test]
fn the_report_is_due_on_the_first_working_day_at_send_at() {
    let cal = BusinessCalendar::default_bw();
    let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
    let p = |s: &str| Period::parse(s).unwrap();
    // 1 Dec 2026 is a Tuesday.
    assert_eq!(reports::report_due_at(&p("2026-11"), &cal, eight), berlin(2026, 12, 1, 8, 0));
    // 1 Jan 2027 is New Year (Friday), then a weekend: Monday 4 January.
    for s in ["2026-12", "2026-Q4", "2026-H2", "2026"] {
        assert_eq!(reports::report_due_at(&p(s), &cal, eight), berlin(2027, 1, 4, 8, 0), "{s}");
    }
    // 1 April 2024 was Easter Monday.
    let half_past_seven = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
    assert_eq!(reports::report_due_at(&p("2024-03"), &cal, half_past_seven), berlin(2024, 4, 2, 7, 30));
    // Due periods: none before the time, the one just ended after it, missed ones since `since`.
    let since = berlin(2026, 10, 15, 12, 0);
    let due = |now| reports::periods_due(ReportCycle::Monthly, since, now, &cal, eight);
    assert!(due(berlin(2026, 12, 1, 7, 59)).iter().map(|p| p.label()).eq(["2026-10"]));
    assert!(due(berlin(2026, 12, 1, 8, 0)).iter().map(|p| p.label()).eq(["2026-10", "2026-11"]));
    assert!(due(berlin(2027, 2, 10, 9, 0)).iter().map(|p| p.label()).eq(["2026-10", "2026-11", "2026-12", "2027-01"]));
    let q = reports::periods_due(ReportCycle::Quarterly, since, berlin(2027, 1, 2, 9, 0), &cal, eight);
    assert!(q.is_empty(), "Q4 is not due before Monday 4 January: {q:?}");
}

// ---------------------------------------------------------------------------
// Fixture month: November 2026 for Stadtwerke Musterstadt

fn reply(env: &mut Env, tag: &str, id: &str, body: &str, at: DateTime<Utc>) {
    let o = env.ingest_at(&mail(ANNA, &format!("Re: [{tag}] Ihre Anfrage"), id, "", body), at);
    assert!(matches!(o.disposition.as_str(), "agent_reply" | "agent_command"), "{id}: {:?}", o.disposition);
    // The transport delivers at once: the answer reaches the customer now.
    env.deliver_at(at);
}

/// Tickets of several customers from October to December 2026, built by
/// the real pipeline and clock with a controlled `now`. Categories are
/// pinned by agent commands so the figures do not depend on the classifier.
fn fixture_env() -> Env {
    let mut env = Env::new();
    let tick = |env: &mut Env, at| schedule::tick_store(&env.p, &mut env.store, at).unwrap();
    // MT-000001 (October, still open at the end of November).
    env.ingest_at(
        &mail(MAX, "Frage zur Urlaubsplanung", "o1@sw", "", "Wie plane ich Urlaub?"),
        berlin(2026, 10, 27, 9, 0),
    );
    reply(
        &mut env,
        "MT-000001",
        "r1@rp",
        "#kategorie usage_question #status in_progress\n\nWir prüfen das.",
        berlin(2026, 10, 27, 11, 0),
    );
    // MT-000002: functional error, answered after 1:30, resolved.
    env.ingest_at(
        &mail(MAX, "Dienstplan lässt sich nicht speichern", "n1@sw", "", "Fehler 500 beim Speichern."),
        berlin(2026, 11, 3, 9, 0),
    );
    reply(
        &mut env,
        "MT-000002",
        "r2@rp",
        "#kategorie functional_error\n\nWir schauen uns das an.",
        berlin(2026, 11, 3, 10, 30),
    );
    reply(&mut env, "MT-000002", "r3@rp", "#status resolved\n\nBehoben.", berlin(2026, 11, 5, 14, 0));
    // MT-000003: user management at 16:00, answered next morning 09:00 = 2 support hours, closed.
    env.ingest_at(
        &mail(EVA, "Neue Benutzerin anlegen", "n2@sw", "", "Bitte Zugang für Frau Roth anlegen."),
        berlin(2026, 11, 10, 16, 0),
    );
    reply(&mut env, "MT-000003", "r4@rp", "#kategorie user_management\n\nIst angelegt.", berlin(2026, 11, 11, 9, 0));
    reply(&mut env, "MT-000003", "r5@rp", "#close", berlin(2026, 11, 12, 9, 0));
    // MT-000004: a change request, forwarded to the consultant (billable), answered after 4 hours.
    env.ingest_at(
        &mail(MAX, "Wunsch: neues Feld im Export", "n3@sw", "", "Wir hätten gern eine Spalte Kostenstelle im Export."),
        berlin(2026, 11, 17, 9, 0),
    );
    reply(
        &mut env,
        "MT-000004",
        "r6@rp",
        "#kategorie change_request\n\nWir leiten das an Ihren Berater weiter.",
        berlin(2026, 11, 17, 13, 0),
    );
    // MT-000005: Harbour (another customer) in November: never in Stadtwerke's report.
    env.ingest_at(&mail(JANE, "Harbour export question", "h1@h", "", "How do I export?"), berlin(2026, 11, 18, 10, 0));
    // MT-000006: a security error at 10:00 with no answer: the clock escalates it, answered at 13:00 (missed).
    env.ingest_at(
        &mail(
            MAX,
            "Sicherheitslücke: fremde Daten sichtbar",
            "n4@sw",
            "",
            "Ich sehe Daten eines anderen Mandanten. Datenschutzvorfall!",
        ),
        berlin(2026, 11, 24, 10, 0),
    );
    tick(&mut env, berlin(2026, 11, 24, 11, 5));
    reply(
        &mut env,
        "MT-000006",
        "r7@rp",
        "#kategorie security_error\n\nWir haben den Zugriff gesperrt.",
        berlin(2026, 11, 24, 13, 0),
    );
    // MT-000007: a question on the last afternoon: no answer yet, target not used up (pending).
    env.ingest_at(
        &mail(EVA, "Wie drucke ich den Dienstplan?", "n5@sw", "", "Wo ist die Druckfunktion?"),
        berlin(2026, 11, 30, 16, 30),
    );
    reply(&mut env, "MT-000007", "r8@rp", "#kategorie usage_question", berlin(2026, 11, 30, 16, 40));
    // MT-000008: December: not in November's report.
    env.ingest_at(&mail(MAX, "Export im Dezember", "d1@sw", "", "Wie exportiere ich?"), berlin(2026, 12, 2, 9, 0));
    env
}

fn golden(name: &str, got: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("SUPPORTD_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SUPPORTD_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        want == got,
        "{} differs (SUPPORTD_UPDATE_GOLDEN=1 rewrites it):\n--- got\n{got}\n--- want\n{want}",
        path.display()
    );
}

fn customer<'a>(env: &'a Env, name: &str) -> &'a supportd::config::Customer {
    env.p.cfg.customer_by_name(name).unwrap()
}

/// Proves: the text and the CSV of November 2026 for Stadtwerke Musterstadt
/// are exactly the golden files (figures, first-response times in support
/// hours, SLA, escalation, ticket list; no Harbour or December ticket).
#[test]
fn golden_text_and_csv_for_november_2026() {
    let env = fixture_env();
    let c = customer(&env, "Stadtwerke Musterstadt");
    let r =
        reports::compute(&env.p, env.store.conn(), c, &Period::parse("2026-11").unwrap(), berlin(2026, 12, 1, 8, 0))
            .unwrap();
    let (subject, body) = reports::render_text(&env.p, &r).unwrap();
    golden("report-2026-11.de.txt", &format!("Subject: {subject}\n\n{body}"));
    golden("report-2026-11.csv", &reports::to_csv(&r));
    assert!(r.tickets.iter().all(|t| t.tag != "MT-000005" && t.tag != "MT-000008"), "{:?}", r.tickets);
    // The same month for Harbour, in English, holds only its own ticket.
    let h = customer(&env, "Harbour Analytics Ltd");
    let r =
        reports::compute(&env.p, env.store.conn(), h, &Period::parse("2026-11").unwrap(), berlin(2026, 12, 1, 8, 0))
            .unwrap();
    assert_eq!(r.tickets.iter().map(|t| t.tag.as_str()).collect::<Vec<_>>(), vec!["MT-000005"]);
    let (subject, body) = reports::render_text(&env.p, &r).unwrap();
    assert_eq!(subject, "Ticket report November 2026 – Harbour Analytics Ltd");
    assert!(
        body.contains("FIRST RESPONSE (in support hours)") && body.contains("Opened                        1"),
        "{body}"
    );
}

/// Proves: a period with more tickets than the text lists (`LISTED_MAX`)
/// keeps every figure of the whole period (new, closed, open at the end,
/// by status) and the CSV every ticket, while the text and the HTML list
/// `LISTED_MAX` tickets — the ones still open at the period's end first, in
/// ticket order — and say how many more there are; `compute_summary` gives
/// the same figures and list without the CSV's lines. An overview mail
/// lists the open tickets and only the newest closed ones, and counts the rest.
#[test]
fn a_long_period_lists_the_open_tickets_first_and_the_csv_all() {
    use supportd::domain::Status;
    let mut env = Env::new();
    let n = reports::LISTED_MAX + 30;
    let t0 = berlin(2026, 11, 2, 9, 0);
    for i in 0..n {
        let o = env.ingest_at(
            &mail(MAX, &format!("Frage {i}"), &format!("many{i}@sw"), "", "Wie geht das?"),
            t0 + chrono::Duration::minutes(i as i64),
        );
        // The first 60 are closed two days later; the rest stay open.
        if i < 60 {
            supportd::store::set_status(
                env.store.conn(),
                o.ticket.unwrap(),
                Status::Closed,
                t0 + chrono::Duration::days(2),
                "test",
                None,
            )
            .unwrap();
        }
    }
    let c = customer(&env, "Stadtwerke Musterstadt");
    let period = Period::parse("2026-11").unwrap();
    let now = berlin(2026, 12, 1, 8, 0);
    let r = reports::compute(&env.p, env.store.conn(), c, &period, now).unwrap();
    assert_eq!((r.opened, r.closed, r.open_at_end, r.tickets_total), (n, 60, n - 60, n));
    assert_eq!(r.tickets.len(), reports::LISTED_MAX);
    assert_eq!(r.tickets_left_out, n - reports::LISTED_MAX);
    let open: Vec<&str> = r.tickets.iter().filter(|t| t.status != "closed").map(|t| t.tag.as_str()).collect();
    assert_eq!(open.len(), n - 60, "every open ticket is listed");
    assert_eq!(r.tickets.len() - open.len(), reports::LISTED_MAX - (n - 60), "then the closed ones");
    let tags: Vec<&str> = r.tickets.iter().map(|t| t.tag.as_str()).collect();
    let mut sorted = tags.clone();
    sorted.sort();
    assert_eq!(tags, sorted, "in ticket order");
    let csv = reports::to_csv(&r);
    assert_eq!(csv.lines().count(), n + 1, "the CSV has every ticket");
    let (_, body) = reports::render_text(&env.p, &r).unwrap();
    assert!(body.contains(&format!("TICKETS ({n})")), "{body}");
    assert!(
        body.contains(&format!("… und {} weitere Tickets: alle stehen in der CSV-Datei", n - reports::LISTED_MAX)),
        "{body}"
    );
    assert_eq!(body.matches("      eröffnet ").count(), reports::LISTED_MAX);
    let html = reports::render_html(&env.p, &r).unwrap();
    assert!(html.contains(&format!("… und {} weitere Tickets", n - reports::LISTED_MAX)));
    let s = reports::compute_summary(&env.p, env.store.conn(), c, &period, now).unwrap();
    assert!(s.all_tickets.is_empty());
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        serde_json::to_value(&r).unwrap(),
        "the same report without the CSV lines"
    );

    // The overview a contact asks for: every open ticket (70, under its cap
    // of 100), the newest 20 closed ones, and how many closed ones it leaves out.
    env.ingest_at(&mail(EVA, "Ticketübersicht", "ov-many@sw", "", "Bitte eine Übersicht."), berlin(2026, 12, 1, 9, 0));
    let body = env.outbox_raw(overviews(&env)[0].id);
    assert!(body.contains(&format!("OFFEN ({})", n - 60)) && body.contains("ABGESCHLOSSEN (60)"), "{body}");
    assert!(body.contains("… und 40 weitere abgeschlossene Tickets (hier die neuesten)"), "{body}");
    assert!(!body.contains("weitere offene"), "{body}");
    assert!(body.contains("MT-000060") && !body.contains("MT-000040 "), "the newest closed ones: {body}");
    assert_eq!(body.matches("      eröffnet ").count(), n - 60 + 20, "{body}");
}

// ---------------------------------------------------------------------------
// Sending by the clock

fn report_rows(env: &Env) -> Vec<(String, Vec<String>)> {
    env.sent("report").into_iter().map(|o| (o.subject, o.recipients)).collect()
}

fn reopen(env: &mut Env) {
    let cfg = env.p.cfg.clone();
    let store = Store::open(&cfg.store_path).unwrap();
    env.p = Pipeline::new(cfg, store.conn()).unwrap();
    env.store = store;
}

/// Proves: the clock sends each customer's report once per period at the
/// due time, not before, not again on later ticks, and not again after the
/// store is reopened (a restart); the mail is text + HTML with the CSV.
#[test]
fn the_clock_sends_each_report_exactly_once_across_a_restart() {
    let mut env = Env::new();
    env.ingest_at(&mail(MAX, "Dienstplan speichert nicht", "a1@sw", "", "Fehler 500."), berlin(2026, 11, 24, 10, 0));
    let tick = |env: &mut Env, at| schedule::tick_store(&env.p, &mut env.store, at).unwrap();
    // The daemon runs in November: nothing is due (no history is sent).
    assert!(tick(&mut env, berlin(2026, 11, 24, 10, 1)).reports.is_empty());
    assert!(tick(&mut env, berlin(2026, 12, 1, 7, 59)).reports.is_empty(), "not before 08:00");
    let t = tick(&mut env, berlin(2026, 12, 1, 8, 0));
    assert_eq!(t.reports, vec!["Stadtwerke Musterstadt 2026-11"]);
    assert!(tick(&mut env, berlin(2026, 12, 1, 8, 1)).reports.is_empty());
    reopen(&mut env);
    assert!(tick(&mut env, berlin(2026, 12, 1, 9, 0)).reports.is_empty(), "a restart sends nothing again");
    assert!(tick(&mut env, berlin(2026, 12, 20, 9, 0)).reports.is_empty());
    let rows = report_rows(&env);
    assert_eq!(
        rows,
        vec![(
            "Ticketbericht November 2026 – Stadtwerke Musterstadt".to_string(),
            vec!["it@stadtwerke-musterstadt.de".to_string()]
        )]
    );
    assert_eq!(env.count("SELECT count(*) FROM reports_sent WHERE trigger = 'schedule'"), 1);
    // The mail: multipart/alternative text + HTML, the CSV attached, RFC 3834 header, our Message-ID.
    let o = env.sent("report").pop().unwrap();
    assert!(o.message_id.starts_with("mt.none.report."), "{}", o.message_id);
    let raw: Vec<u8> = supportd::store::outbox_raw(env.store.conn(), o.id).unwrap().unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
    assert!(text.contains("multipart/mixed") && text.contains("multipart/alternative"), "{text}");
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(msg.body_text(0).unwrap().contains("MT-000001"));
    assert!(msg.body_html(0).unwrap().contains("<svg"));
    let att = msg.attachments().next().expect("a CSV attachment");
    assert_eq!(att.attachment_name(), Some("tickets-stadtwerke-musterstadt-2026-11.csv"));
    assert!(String::from_utf8_lossy(att.contents()).starts_with("tag,subject,category"));
}

/// Proves: reports that fell due while the daemon was down are sent when it
/// is back, one per missed period and customer, then never again; the
/// quarterly and half-yearly customers wait for the first working day of January.
#[test]
fn missed_reports_are_sent_when_the_daemon_is_back() {
    let mut env = Env::new();
    let tick = |env: &mut Env, at| schedule::tick_store(&env.p, &mut env.store, at).unwrap();
    assert!(tick(&mut env, berlin(2026, 11, 20, 12, 0)).reports.is_empty());
    // Down from 20 November to Saturday 2 January: November's and December's monthly reports are late.
    let t = tick(&mut env, berlin(2027, 1, 2, 10, 0));
    assert_eq!(t.reports, vec!["Stadtwerke Musterstadt 2026-11"], "December's is due on Monday 4 January");
    reopen(&mut env);
    let t = tick(&mut env, berlin(2027, 1, 6, 10, 0));
    assert_eq!(
        t.reports,
        vec!["Stadtwerke Musterstadt 2026-12", "Harbour Analytics Ltd 2026-Q4", "Landkreis Beispielhausen 2026-H2"]
    );
    assert!(tick(&mut env, berlin(2027, 1, 6, 10, 1)).reports.is_empty());
    assert_eq!(env.sent("report").len(), 4);
    let harbour = env.sent("report").into_iter().find(|o| o.recipients == ["jane@harbour-analytics.co.uk"]).unwrap();
    assert_eq!(harbour.subject, "Ticket report Q4 2026 – Harbour Analytics Ltd", "English per customer");
    let next: String =
        env.store.conn().query_row("SELECT value FROM state WHERE key = 'report.next_due'", [], |r| r.get(0)).unwrap();
    assert_eq!(next, "2027-02-01T07:00:00Z Stadtwerke Musterstadt 2027-01");
}

// ---------------------------------------------------------------------------
// Command line

const BIN: &str = env!("CARGO_BIN_EXE_supportd");

fn cli_config() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::copy(repo().join("config/supportd.toml"), &cfg).unwrap();
    // A store to report on (`report` without --send only reads an existing one).
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(BIN).arg("--config").arg(&cfg).arg("ingest").arg("--no-send").arg(&empty).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, cfg)
}

fn supportd(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("--config").arg(cfg).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Proves: `supportd report` prints text, CSV and HTML; an unknown customer
/// or a bad period exits 2 with one line naming it; `--send` queues a
/// report mail (and may repeat).
#[test]
fn the_report_command_prints_sends_and_refuses_bad_input() {
    let (dir, cfg) = cli_config();
    let (code, out, err) = supportd(&cfg, &["report", "--customer", "stadtwerke musterstadt", "--period", "2026-11"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Subject: Ticketbericht November 2026 – Stadtwerke Musterstadt\n"), "{out}");
    let (code, out, _) =
        supportd(&cfg, &["report", "--customer", "harbour-analytics.co.uk", "--period", "2026-Q4", "--format", "csv"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("tag,subject,category,level"), "{out}");
    let (code, out, _) =
        supportd(&cfg, &["report", "--customer", "Harbour Analytics Ltd", "--period", "2026", "--format", "html"]);
    assert_eq!(code, 0);
    assert!(out.contains("<svg") && out.contains("Ticket report the year 2026"), "{out}");

    let (code, _, err) = supportd(&cfg, &["report", "--customer", "Nobody GmbH", "--period", "2026-11"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("\"Nobody GmbH\"") && err.contains("no such customer"), "{err}");
    let (code, _, err) = supportd(&cfg, &["report", "--customer", "Stadtwerke Musterstadt", "--period", "2026-Q5"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--period \"2026-Q5\""), "{err}");

    for _ in 0..2 {
        let (code, out, err) =
            supportd(&cfg, &["report", "--customer", "Stadtwerke Musterstadt", "--period", "2026-11", "--send"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("queued report 2026-11 of Stadtwerke Musterstadt"), "{out}");
    }
    let written: Vec<_> = std::fs::read_dir(dir.path().join("var/outbox")).unwrap().flatten().collect();
    assert_eq!(written.len(), 2, "a manual --send may repeat");
}

// ---------------------------------------------------------------------------
// HTML in headless Chromium

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A minimal PNG reader (8-bit RGB/RGBA, not interlaced, as Chromium writes
/// them): (width, height, RGB pixels).
fn decode_png(data: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    use std::io::Read;
    assert_eq!(&data[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut pos, mut w, mut h, mut ctype) = (8, 0usize, 0usize, 0u8);
    let mut idat = Vec::new();
    while pos + 8 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &data[pos + 4..pos + 8];
        let body = &data[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!(body[8], 8, "bit depth");
                ctype = body[9];
                assert_eq!(body[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let bpp = match ctype {
        2 => 3,
        6 => 4,
        other => panic!("PNG colour type {other}"),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
    let stride = w * bpp;
    let mut prev = vec![0u8; stride];
    let mut px = Vec::with_capacity(w * h);
    for y in 0..h {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let mut cur = line[1..].to_vec();
        for i in 0..stride {
            let a = if i >= bpp { cur[i - bpp] as i32 } else { 0 };
            let b = prev[i] as i32;
            let c = if i >= bpp { prev[i - bpp] as i32 } else { 0 };
            let add = match line[0] {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            cur[i] = (cur[i] as i32 + add) as u8;
        }
        for x in 0..w {
            px.push([cur[x * bpp], cur[x * bpp + 1], cur[x * bpp + 2]]);
        }
        prev = cur;
    }
    (w, h, px)
}

fn hex_rgb(s: &str) -> [u8; 3] {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// Proves: the HTML report (Q4 2026 of the fixture) has an inline SVG with
/// one bar per category and one per month, and headless Chromium renders it
/// to a non-blank PNG in which both bar colours appear.
/// `SUPPORTD_WRITE_DOCS=1` also writes the screenshot to docs/report-example.png.
#[test]
fn the_html_report_renders_its_chart_in_headless_chromium() {
    let env = fixture_env();
    let c = customer(&env, "Stadtwerke Musterstadt");
    let r = reports::compute(&env.p, env.store.conn(), c, &Period::parse("2026-Q4").unwrap(), berlin(2027, 1, 4, 8, 0))
        .unwrap();
    let html = reports::render_html(&env.p, &r).unwrap();
    let section = |id: &str| -> String {
        let a = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id} in the HTML"));
        html[a..a + html[a..].find("</svg>").unwrap()].to_string()
    };
    assert_eq!(section("chart-categories").matches("class=\"bar\"").count(), 5, "one bar per category");
    assert_eq!(section("chart-months").matches("class=\"bar\"").count(), 3, "one bar per month of the quarter");

    let Some(bin) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "chromium is missing (scripts/mailservers.sh install adds it)");
        eprintln!("SKIPPED LOUDLY: no chromium; run scripts/mailservers.sh install");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let png = dir.path().join("report.png");
    let out = Command::new(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1"])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1100,900")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(png.exists(), "chromium wrote no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let data = std::fs::read(&png).unwrap();
    let (w, h, px) = decode_png(&data);
    assert_eq!((w, h), (1100, 900));
    let non_white = px.iter().filter(|p| p.iter().any(|c| *c < 240)).count();
    assert!(non_white > px.len() / 100, "the page is blank: {non_white} non-white pixels");
    let near = |p: &[u8; 3], q: [u8; 3]| p.iter().zip(q).all(|(a, b)| (*a as i32 - b as i32).abs() <= 6);
    let cat = px.iter().filter(|p| near(p, hex_rgb(reports::CATEGORY_COLOUR))).count();
    let month = px.iter().filter(|p| near(p, hex_rgb(reports::MONTH_COLOUR))).count();
    assert!(cat > 500, "category bars not rendered: {cat} pixels of {}", reports::CATEGORY_COLOUR);
    assert!(month > 500, "month bars not rendered: {month} pixels of {}", reports::MONTH_COLOUR);
    if std::env::var_os("SUPPORTD_WRITE_DOCS").is_some() {
        std::fs::copy(&png, repo().join("docs/report-example.png")).unwrap();
    }
}
