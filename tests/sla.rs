//! Support hours in the answers, SLA due times, warnings and escalation with
//! a controlled clock (the [calendar] issue).

mod common;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use common::{Env, mail};
use supportd::schedule;

fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Berlin.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

const KUNDE: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";

fn security_mail(id: &str) -> Vec<u8> {
    mail(
        KUNDE,
        "Sicherheitslücke: fremde Daten sichtbar",
        id,
        "",
        "Ich sehe die Daten eines anderen Mandanten. Datenschutzvorfall!",
    )
}

#[test]
fn a_mail_at_1658_on_the_friday_before_pentecost_is_told_tuesday() {
    let mut env = Env::new();
    let o = env.ingest_at(
        &mail(KUNDE, "Frage zum Export", "q@sw", "", "Wie exportiere ich den Dienstplan?"),
        berlin(2026, 5, 22, 16, 58),
    );
    let t = env.ticket(o.ticket.unwrap());
    // usage_question: 8 support hours for the first response: 2 minutes on Friday, then Tuesday 08:00 + 7:58.
    assert_eq!(t.first_response_due.as_deref(), Some("2026-05-26T13:58:00Z"));
    let ack = env.sent("ack").pop().unwrap();
    let body = env.outbox_raw(ack.id);
    assert!(body.contains("spätestens bis Dienstag, 26.05.2026, 15:58 Uhr"), "{body}");

    let o = env.ingest_at(
        &mail(KUNDE, "Noch eine Frage", "q2@sw", "", "Wie drucke ich den Dienstplan?"),
        berlin(2026, 5, 22, 17, 30),
    );
    let ack = env.sent("ack").pop().unwrap();
    let body = env.outbox_raw(ack.id);
    assert!(body.contains("außerhalb unserer Supportzeiten"), "{body}");
    assert!(body.contains("Wir bearbeiten\nIhre Anfrage ab Dienstag, 26.05.2026, 08:00 Uhr"), "{body}");
    assert!(o.ticket.is_some());
}

#[test]
fn an_english_customer_gets_the_opening_in_english() {
    let mut env = Env::new();
    env.ingest_at(
        &mail("Jane <jane@harbour-analytics.co.uk>", "Export question", "e@h", "", "How do I export the timesheet?"),
        berlin(2026, 12, 25, 12, 0),
    );
    let body = env.outbox_raw(env.sent("ack").pop().unwrap().id);
    assert!(body.contains("outside our support hours"), "25/26 December are holidays: {body}");
    assert!(body.contains("Monday, 28 December 2026, 08:00"), "{body}");
}

#[test]
fn a_security_ticket_escalates_after_one_support_hour_not_at_night() {
    let mut env = Env::new();
    // Tuesday 16:30: level 2, critical, 1 support hour for the first response.
    let o = env.ingest_at(&security_mail("s1@sw"), berlin(2026, 11, 24, 16, 30));
    let id = o.ticket.unwrap();
    assert_eq!(env.ticket(id).level, 2);
    let tick = |env: &mut Env, at| schedule::tick_store(&env.p, &mut env.store, at).unwrap();
    // 20:00: only 30 support minutes have passed.
    let t = tick(&mut env, berlin(2026, 11, 24, 20, 0));
    assert!(t.escalated.is_empty() && t.warned.is_empty(), "{t:?}");
    // Wednesday 08:20: 50 minutes = over 80 %: a warning, once.
    let t = tick(&mut env, berlin(2026, 11, 25, 8, 20));
    assert_eq!(t.warned, vec![id]);
    let t = tick(&mut env, berlin(2026, 11, 25, 8, 25));
    assert!(t.warned.is_empty(), "warned once only");
    // Wednesday 08:31: the hour is over: level 3, the developers are told.
    let t = tick(&mut env, berlin(2026, 11, 25, 8, 31));
    assert_eq!(t.escalated, vec![id]);
    assert_eq!(env.ticket(id).level, 3);
    let esc = env.sent("escalation").pop().unwrap();
    assert_eq!(esc.recipients, vec!["entwicklung@roewaplan.de"]);
    // A restart (the same tick again, and later ticks) does not escalate twice.
    let t = tick(&mut env, berlin(2026, 11, 25, 8, 31));
    assert!(t.escalated.is_empty());
    let t = tick(&mut env, berlin(2026, 11, 30, 12, 0));
    assert!(t.escalated.is_empty(), "level 3 is the top");
    assert_eq!(env.count("SELECT count(*) FROM events WHERE kind = 'escalation'"), 1);
}

#[test]
fn a_missed_tick_is_caught_up_and_an_answered_ticket_never_escalates() {
    let mut env = Env::new();
    let a = env.ingest_at(
        &mail(KUNDE, "Fehler beim Speichern", "f1@sw", "", "Fehlermeldung 500 beim Speichern."),
        berlin(2026, 11, 24, 9, 0),
    );
    let b = env.ingest_at(
        &mail(KUNDE, "Fehler beim Drucken", "f2@sw", "", "Fehlermeldung beim Drucken, Absturz."),
        berlin(2026, 11, 24, 9, 0),
    );
    let (a, b) = (a.ticket.unwrap(), b.ticket.unwrap());
    assert_eq!(env.ticket(a).category, "functional_error", "4 support hours first response");
    // b is answered in time.
    env.ingest_at(
        &mail("anna@roewaplan.de", &format!("Re: [MT-{b:06}]"), "ans@rp", "", "Wir schauen uns das an."),
        berlin(2026, 11, 24, 10, 0),
    );
    env.deliver_at(berlin(2026, 11, 24, 10, 1));
    // The daemon was down all day; the first tick is the next morning.
    let t = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 25, 9, 0)).unwrap();
    assert_eq!(t.escalated, vec![a]);
    assert_eq!(env.ticket(b).level, 1);
}

#[test]
fn the_sla_clock_pauses_while_the_ticket_waits_on_the_customer() {
    let mut env = Env::new();
    let o = env.ingest_at(
        &mail(KUNDE, "Fehler beim Speichern", "f1@sw", "", "Fehlermeldung 500 beim Speichern."),
        berlin(2026, 11, 24, 9, 0),
    );
    let id = o.ticket.unwrap();
    // An internal note sets it to waiting without answering the customer.
    env.ingest_at(
        &mail(
            "anna@roewaplan.de",
            &format!("Re: [MT-{id:06}]"),
            "w@rp",
            "",
            "#internal #status waiting\nWarten auf Logfile vom Kunden (telefonisch angefragt).",
        ),
        berlin(2026, 11, 24, 10, 0),
    );
    // Two working days later: only the first hour counted.
    let t = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 26, 16, 0)).unwrap();
    assert!(t.escalated.is_empty() && t.warned.is_empty(), "{t:?}");
    let elapsed =
        schedule::sla_elapsed(&env.p, env.store.conn(), &env.ticket(id), berlin(2026, 11, 26, 16, 0)).unwrap();
    assert_eq!(elapsed.num_minutes(), 60);
}

#[test]
fn tickets_show_lists_the_due_times() {
    let mut env = Env::new();
    let o = env.ingest_at(&security_mail("s1@sw"), berlin(2026, 11, 24, 10, 0));
    let t = env.ticket(o.ticket.unwrap());
    assert_eq!(
        t.first_response_due.as_deref(),
        Some("2026-11-24T10:00:00Z"),
        "1 support hour after 10:00 Berlin = 11:00 Berlin"
    );
    assert_eq!(
        t.resolution_due.as_deref(),
        Some("2026-11-25T08:00:00Z"),
        "8 support hours: 7 on Tuesday, 1 on Wednesday (09:00 Berlin)"
    );
}

/// An answer counts as the first response only once it reached the customer:
/// queued behind an SMTP outage it does not stop the escalation.
#[test]
fn the_first_response_is_the_answer_that_reached_the_customer() {
    let mut env = Env::new();
    let a = env.ingest_at(&security_mail("s1@sw"), berlin(2026, 11, 24, 10, 0)).ticket.unwrap();
    let b = env.ingest_at(&security_mail("s2@sw"), berlin(2026, 11, 24, 10, 0)).ticket.unwrap();
    for (t, id) in [(a, "a@rp"), (b, "b@rp")] {
        env.ingest_at(
            &mail("anna@roewaplan.de", &format!("Re: [MT-{t:06}]"), id, "", "Wir sperren den Zugang sofort."),
            berlin(2026, 11, 24, 10, 20),
        );
    }
    // Only a's answer goes out (at 10:40); b's stays queued (SMTP down).
    for o in env.outbox().into_iter().filter(|o| o.ticket_id == Some(a) && o.state == "queued") {
        supportd::store::outbox_mark_sent(env.store.conn(), o.id, berlin(2026, 11, 24, 10, 40)).unwrap();
    }
    assert_eq!(env.ticket(a).first_response_at.as_deref(), Some("2026-11-24T09:40:00Z"));
    assert_eq!(env.ticket(b).first_response_at, None);
    let t = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 24, 11, 5)).unwrap();
    assert_eq!(t.escalated, vec![b], "b's answer never reached the customer within the hour");
}

/// `[sla.priorities.*]`: the stricter of the category's and the priority's
/// target applies, also after `#priority` changes it.
#[test]
fn priority_targets_apply_and_follow_a_priority_change() {
    let mut env = Env::with_config("[sla.priorities.high]\nfirst_response_hours = 2\nresolution_hours = 16\n");
    // usage_question (8 h / 40 h) at normal priority: the category's targets.
    let o = env.ingest_at(
        &mail(KUNDE, "Frage zum Export", "q@sw", "", "Wie exportiere ich den Dienstplan?"),
        berlin(2026, 11, 24, 9, 0),
    );
    let id = o.ticket.unwrap();
    assert_eq!(env.ticket(id).first_response_due.as_deref(), Some("2026-11-24T16:00:00Z"), "8 h: Tue 17:00 Berlin");
    // An agent raises it to high (internally): 2 support hours from creation.
    env.ingest_at(
        &mail(
            "anna@roewaplan.de",
            &format!("Re: [MT-{id:06}]"),
            "p@rp",
            "",
            "#internal #priority high\nKunde wartet dringend.",
        ),
        berlin(2026, 11, 24, 9, 30),
    );
    let t = env.ticket(id);
    assert_eq!(t.priority, "high");
    assert_eq!(t.first_response_due.as_deref(), Some("2026-11-24T10:00:00Z"), "2 h after 09:00 Berlin");
    assert_eq!(
        t.resolution_due.as_deref(),
        Some("2026-11-25T15:00:00Z"),
        "16 h: 8 on Tuesday from 09:00, 8 on Wednesday -> 16:00 Berlin"
    );
    // Two support hours later it escalates, though the category alone allows 8.
    let tick = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 24, 11, 1)).unwrap();
    assert_eq!(tick.escalated, vec![id]);
}

/// `[sla] warn_share` and `max_escalation_level` come from the config.
#[test]
fn warn_share_and_max_escalation_level_are_configurable() {
    let mut env = Env::with_config("[sla]\nwarn_share = 0.5\nmax_escalation_level = 2\n");
    let id = env.ingest_at(&security_mail("s1@sw"), berlin(2026, 11, 24, 10, 0)).ticket.unwrap();
    assert_eq!(env.ticket(id).level, 2, "security starts on level 2");
    let t = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 24, 10, 29)).unwrap();
    assert!(t.warned.is_empty(), "29 of 60 minutes: below half");
    let t = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 24, 10, 31)).unwrap();
    assert_eq!(t.warned, vec![id], "half the hour used");
    let t = schedule::tick_store(&env.p, &mut env.store, berlin(2026, 11, 24, 12, 0)).unwrap();
    assert!(t.escalated.is_empty(), "level 2 is the highest this config escalates to");
    assert_eq!(env.ticket(id).level, 2);
}

#[test]
fn bad_sla_keys_are_reported_with_their_key() {
    let text = common::config_text(
        "[sla]\nwarn_share = 1.5\nmax_escalation_level = 4\n[sla.priorities.urgent]\nfirst_response_hours = 1\n",
    );
    let e = supportd::config::Config::from_str(&text, "x.toml", std::path::Path::new(".")).unwrap_err().to_string();
    for key in ["sla.warn_share", "sla.max_escalation_level", "sla.priorities.urgent"] {
        assert!(e.lines().any(|l| l.contains("x.toml") && l.contains(key)), "{key} missing in {e}");
    }
}
