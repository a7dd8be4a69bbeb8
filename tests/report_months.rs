//! The report figures kept per customer and month (migration 0019,
//! `reports::fast`) against the report read from every ticket and its history
//! (`reports::compute_by_ticket`, the way before): after a mixed workload
//! through the real pipeline and clock, every figure and every listed line
//! of month, quarter, half-year and year reports is the same, and the rows
//! the triggers kept are the rows a fill from scratch writes.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use common::{Env, mail};
use supportd::reports::fast as reports_fast;
use supportd::reports::{self, Period};
use supportd::{schedule, store};

const MAX: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const EVA: &str = "Eva Roth <e.roth@stadtwerke-musterstadt.de>";
const JANE: &str = "Jane Doe <jane@harbour-analytics.co.uk>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";
const CUSTOMERS: [&str; 2] = ["Stadtwerke Musterstadt", "Harbour Analytics Ltd"];

fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Berlin.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

/// A customer's new mail at `at`: the tag of the ticket it opened.
fn open(env: &mut Env, from: &str, subject: &str, id: &str, at: DateTime<Utc>) -> String {
    let o = env.ingest_at(&mail(from, subject, id, "", "Bitte um Hilfe."), at);
    env.p.tag(o.ticket.unwrap_or_else(|| panic!("{id} opened no ticket: {:?}", o.disposition)))
}

/// An agent's mail on `tag` at `at`, delivered at once (a text answers the customer; commands alone do not).
fn agent(env: &mut Env, tag: &str, id: &str, body: &str, at: DateTime<Utc>) {
    let o = env.ingest_at(&mail(ANNA, &format!("Re: [{tag}] Ihre Anfrage"), id, "", body), at);
    assert!(matches!(o.disposition.as_str(), "agent_reply" | "agent_command"), "{id}: {:?}", o.disposition);
    env.deliver_at(at);
}

/// The kept rows (n <> 0) of the three tables, in order.
fn kept(env: &Env) -> Vec<String> {
    let c = env.store.conn();
    let mut out = Vec::new();
    for sql in [
        "SELECT 'o', customer, month, category, level, priority, billable, unanswered_open, n FROM report_opened WHERE n <> 0 ORDER BY 2, 3, 4, 5, 6, 7, 8",
        "SELECT 'f', customer, month, answered_month, category, priority, minutes, whole, n FROM report_first WHERE n <> 0 ORDER BY 2, 3, 4, 5, 6, 7, 8",
        "SELECT 's', customer, until_month, month, status, opened_month, answered_month, n, '' FROM report_spans WHERE n <> 0 ORDER BY 2, 3, 4, 5, 6, 7",
    ] {
        let mut st = c.prepare(sql).unwrap();
        let rows = st
            .query_map([], |r| {
                let v: Vec<String> = (0..9)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i).map(|x| format!("{x:?}")))
                    .collect::<Result<_, _>>()?;
                Ok(v.join("|"))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// Every report of `periods` as of `now`, for both customers: from the kept
/// figures (which must be usable) and from every ticket, equal in every
/// field and in the rendered text. Returns how many were compared.
fn same_reports(env: &Env, periods: &[&str], now: DateTime<Utc>) -> usize {
    let mut n = 0;
    for name in CUSTOMERS {
        let c = env.p.cfg.customer_by_name(name).unwrap();
        for label in periods {
            let period = Period::parse(label).unwrap();
            let fast = reports_fast::compute(&env.p, env.store.conn(), c, &period, now)
                .unwrap()
                .unwrap_or_else(|| panic!("{name} {label} as of {now}: the kept figures were not used"));
            let slow = reports::compute_by_ticket(&env.p, env.store.conn(), c, &period, now).unwrap();
            let (f, s) = (serde_json::to_value(&fast).unwrap(), serde_json::to_value(&slow).unwrap());
            assert!(f == s, "{name} {label} as of {now}:\n--- kept figures\n{f:#}\n--- every ticket\n{s:#}");
            assert_eq!(
                reports::render_text(&env.p, &fast).unwrap(),
                reports::render_text(&env.p, &slow).unwrap(),
                "{name} {label}"
            );
            n += 1;
        }
    }
    n
}

/// Proves: through the real pipeline, clock and outbox — new tickets over
/// five months (more than the report lists), answers in and outside
/// support hours, waiting before the first answer, status changes, closes,
/// a reopen, category, priority and level changes, a merge, an escalation
/// by the clock, an answer after its month ended, answers not yet measured
/// (given after the last refresh), a purge and a `forget` — every month,
/// quarter, half-year and year report (complete ones, and the current ones
/// as of a Tuesday morning with tickets pending and missed) computed from
/// the kept figures equals the one computed from every ticket, and the
/// rows the triggers kept equal the rows a fill from scratch writes.
#[test]
fn kept_figures_give_the_same_reports_as_every_ticket() {
    let mut env = Env::new();
    let tick = |env: &mut Env, at| schedule::tick_store(&env.p, &mut env.store, at).unwrap();

    // Before the fill: a few tickets in August (the fill must take them).
    let a1 = open(&mut env, MAX, "Dienstplan speichert nicht", "a1@sw", berlin(2026, 8, 31, 15, 0));
    agent(&mut env, &a1, "a1r@rp", "#kategorie functional_error\n\nWir prüfen das.", berlin(2026, 8, 31, 16, 0));
    let a2 = open(&mut env, EVA, "Neue Benutzerin anlegen", "a2@sw", berlin(2026, 8, 31, 22, 0));
    agent(&mut env, &a2, "a2w@rp", "#kategorie user_management #status waiting", berlin(2026, 9, 1, 9, 0));
    reports_fast::refresh(&env.p, env.store.conn()).unwrap();

    // Harbour: 115 tickets in September, half answered (some in the evening), some closed later.
    let mut harbour = Vec::new();
    for i in 0..115u32 {
        let at = berlin(2026, 9, 1 + i % 29, 7 + (i % 14), (i * 7) % 60);
        harbour.push(open(&mut env, JANE, &format!("Harbour question {i}"), &format!("h{i}@h"), at));
    }
    for (i, tag) in harbour.iter().enumerate() {
        let i = i as u32;
        let at = berlin(2026, 9, 1 + i % 29, 7 + (i % 14), (i * 7) % 60) + Duration::minutes(40 + 97 * (i as i64 % 9));
        match i % 6 {
            0 | 1 => agent(&mut env, tag, &format!("h{i}r@rp"), "Thanks, we are looking into it.", at),
            2 => agent(&mut env, tag, &format!("h{i}r@rp"), "#priority high\n\nSee the manual, page 4.", at),
            3 => agent(&mut env, tag, &format!("h{i}c@rp"), "#close", berlin(2026, 10, 2 + i % 20, 10, 0)),
            _ => {}
        }
    }
    for (i, tag) in harbour.iter().enumerate().filter(|(i, _)| i % 6 == 0).take(12) {
        agent(&mut env, tag, &format!("h{i}z@rp"), "#status resolved", berlin(2026, 9, 30, 16, 0));
    }

    // Stadtwerke, September to January.
    agent(&mut env, &a2, "a2r@rp", "#status in_progress\n\nIst angelegt.", berlin(2026, 9, 2, 10, 0));
    agent(&mut env, &a1, "a1c@rp", "#close", berlin(2026, 9, 3, 10, 0));
    let s1 = open(&mut env, MAX, "Export bricht ab", "s1@sw", berlin(2026, 9, 14, 9, 0));
    agent(&mut env, &s1, "s1r@rp", "#kategorie functional_error #level 2\n\nAngekommen.", berlin(2026, 9, 14, 19, 30));
    agent(&mut env, &s1, "s1c@rp", "#status resolved", berlin(2026, 9, 30, 23, 30));
    agent(&mut env, &s1, "s1o@rp", "#reopen", berlin(2026, 10, 5, 9, 0));
    agent(&mut env, &s1, "s1x@rp", "#close", berlin(2026, 11, 2, 9, 0));
    let s2 = open(&mut env, EVA, "Sicherheitslücke: fremde Daten sichtbar", "s2@sw", berlin(2026, 10, 20, 10, 0));
    agent(&mut env, &s2, "s2k@rp", "#kategorie security_error", berlin(2026, 10, 20, 10, 5));
    tick(&mut env, berlin(2026, 10, 20, 11, 10));
    agent(&mut env, &s2, "s2r@rp", "Wir haben den Zugriff gesperrt.", berlin(2026, 10, 20, 14, 0));
    let s3 = open(&mut env, MAX, "Wunsch: neues Feld im Export", "s3@sw", berlin(2026, 10, 30, 16, 0));
    agent(&mut env, &s3, "s3w@rp", "#kategorie change_request #status waiting", berlin(2026, 10, 30, 17, 0));
    agent(&mut env, &s3, "s3r@rp", "#status forwarded\n\nWeitergeleitet.", berlin(2026, 11, 3, 11, 0));
    let s4 = open(&mut env, MAX, "Doppelt: Export bricht ab", "s4@sw", berlin(2026, 11, 10, 9, 0));
    agent(&mut env, &s4, "s4m@rp", &format!("#merge {s1}"), berlin(2026, 11, 10, 9, 30));
    let s5 = open(&mut env, EVA, "Druckfunktion", "s5@sw", berlin(2026, 11, 30, 16, 30));
    agent(&mut env, &s5, "s5r@rp", "#kategorie usage_question\n\nSiehe Handbuch.", berlin(2026, 12, 1, 9, 30));
    let s6 = open(&mut env, MAX, "Passwort vergessen", "s6@sw", berlin(2026, 12, 15, 8, 0));
    agent(&mut env, &s6, "s6c@rp", "#close", berlin(2026, 12, 15, 12, 0));
    // The last day of December: one within its target at the end (pending), one past it (missed), answered in January.
    let s11 = open(&mut env, MAX, "Auswertung leer", "s11@sw", berlin(2026, 12, 31, 10, 0));
    agent(&mut env, &s11, "s11k@rp", "#kategorie usage_question", berlin(2026, 12, 31, 10, 5));
    let s12 = open(&mut env, MAX, "Fehler beim Import", "s12@sw", berlin(2026, 12, 31, 10, 0));
    agent(&mut env, &s12, "s12k@rp", "#kategorie functional_error", berlin(2026, 12, 31, 10, 5));
    tick(&mut env, berlin(2026, 12, 31, 12, 0));
    agent(&mut env, &s12, "s12r@rp", "Wir prüfen das.", berlin(2027, 1, 4, 9, 0));
    // January: answered after the last refresh (not measured yet), waiting
    // without an answer, unanswered old and new.
    let s7 = open(&mut env, MAX, "Schnittstelle liefert nichts", "s7@sw", berlin(2027, 1, 5, 9, 0));
    agent(&mut env, &s7, "s7r@rp", "#priority critical\n\nWir prüfen.", berlin(2027, 1, 5, 13, 0));
    let s8 = open(&mut env, EVA, "Frage zum Urlaubsantrag", "s8@sw", berlin(2027, 1, 12, 9, 0));
    agent(&mut env, &s8, "s8w@rp", "#status waiting", berlin(2027, 1, 12, 10, 0));
    agent(&mut env, &s8, "s8o@rp", "#status open", berlin(2027, 1, 19, 9, 30));
    let _s9 = open(&mut env, MAX, "Login langsam", "s9@sw", berlin(2027, 1, 14, 15, 0));
    let _s10 = open(&mut env, EVA, "Bericht fehlt", "s10@sw", berlin(2027, 1, 19, 9, 30));
    let h_late = open(&mut env, JANE, "Harbour January", "hj@h", berlin(2027, 1, 18, 20, 0));
    agent(&mut env, &h_late, "hjr@rp", "We will check.", berlin(2027, 1, 19, 8, 0));
    agent(&mut env, &harbour[5], "h5c@rp", "#close", berlin(2027, 1, 19, 9, 0));

    // Retention and erasure change no report figure.
    let policy = store::retention::Policy::all(30);
    store::retention::purge(env.store.conn_mut(), &policy, berlin(2027, 1, 19, 9, 40), false).unwrap();
    store::erasure::forget(
        env.store.conn_mut(),
        &store::erasure::Subject::Address("e.roth@stadtwerke-musterstadt.de".into()),
        "test",
        berlin(2027, 1, 19, 9, 45),
        false,
    )
    .unwrap();

    let unmeasured: i64 =
        env.count("SELECT count(*) FROM tickets WHERE first_response_at IS NOT NULL AND first_response_secs IS NULL");
    assert!(unmeasured >= 2, "answers given after the last refresh are not measured yet ({unmeasured})");
    let waited = env.count("SELECT count(*) FROM tickets WHERE waited = 1");
    assert!(waited >= 2, "tickets that waited before their answer ({waited})");
    assert_eq!(env.count("SELECT count(*) FROM tickets WHERE merged_into IS NOT NULL"), 1);
    assert!(env.count("SELECT count(*) FROM events WHERE kind = 'escalation'") >= 1);

    let complete =
        ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2026-Q3", "2026-Q4", "2026-H2", "2026", "2025"];
    let current = ["2027-01", "2027-Q1", "2027-H1", "2027"];
    // The current period on a Tuesday morning: some unanswered tickets pending, some missed.
    let tuesday = berlin(2027, 1, 19, 10, 0);
    let mut compared = same_reports(&env, &complete, tuesday);
    compared += same_reports(&env, &current, tuesday);
    let jan = reports_fast::compute(
        &env.p,
        env.store.conn(),
        env.p.cfg.customer_by_name("Stadtwerke Musterstadt").unwrap(),
        &Period::parse("2027-01").unwrap(),
        tuesday,
    )
    .unwrap()
    .unwrap();
    assert!(jan.sla_pending >= 1 && jan.sla_missed >= 2 && jan.first_responses >= 1, "{jan:?}");
    let sep = reports_fast::compute(
        &env.p,
        env.store.conn(),
        env.p.cfg.customer_by_name("Harbour Analytics Ltd").unwrap(),
        &Period::parse("2026-09").unwrap(),
        tuesday,
    )
    .unwrap()
    .unwrap();
    assert!(sep.tickets_total > reports::LISTED_MAX && sep.tickets_left_out > 0, "{}", sep.tickets_total);
    let dec = reports_fast::compute(
        &env.p,
        env.store.conn(),
        env.p.cfg.customer_by_name("Stadtwerke Musterstadt").unwrap(),
        &Period::parse("2026-12").unwrap(),
        tuesday,
    )
    .unwrap()
    .unwrap();
    assert!(dec.sla_pending >= 1 && dec.sla_missed >= 1, "{dec:?}");

    // Measured by the next refresh: the same reports; later, all periods complete.
    reports_fast::refresh(&env.p, env.store.conn()).unwrap();
    assert_eq!(
        env.count("SELECT count(*) FROM tickets WHERE first_response_at IS NOT NULL AND first_response_secs IS NULL"),
        0
    );
    compared += same_reports(&env, &current, tuesday);
    let later = berlin(2028, 2, 1, 9, 0);
    compared += same_reports(&env, &complete, later);
    compared += same_reports(&env, &current, later);
    assert_eq!(compared, 2 * (2 * complete.len() + 3 * current.len()));

    // What the triggers kept is what a fill from scratch writes.
    let by_triggers = kept(&env);
    assert!(by_triggers.len() > 20, "{by_triggers:?}");
    env.store.conn().execute("DELETE FROM state WHERE key = ?1", [store::report_months::CALENDAR_KEY]).unwrap();
    reports_fast::refresh(&env.p, env.store.conn()).unwrap();
    let filled = kept(&env);
    assert!(by_triggers == filled, "kept by triggers:\n{}\nfilled:\n{}", by_triggers.join("\n"), filled.join("\n"));
}
