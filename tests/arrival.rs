//! Decisions on the customer's clock ([decide], part 1): a mail is judged
//! by when it reached our own server (the Maildir delivery time in its file
//! name, IMAP INTERNALDATE, our MTA's topmost `Received:` header), not by
//! when supportd processed it — after an outage the backlog is answered as
//! if it had been processed live.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{Env, mail};
use supportd::pipeline;

const KUNDE: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

/// A Maildir label as the daemon's Maildir source makes it: the delivery
/// time (seconds) leads the file name.
fn maildir_label(at: DateTime<Utc>, n: usize) -> String {
    format!("maildir:{}.M{n}P1.mx.roewaplan.de", at.timestamp())
}

fn arrived_at(env: &Env, row: i64) -> String {
    env.store.conn().query_row("SELECT arrived_at FROM messages WHERE id = ?1", [row], |r| r.get(0)).unwrap()
}

/// Proves: a mail delivered on Friday 27.11.2026 at 16:55 and processed on
/// Monday at 09:30 (the daemon was down over the weekend) is acknowledged as
/// having come within support hours, its first-response clock starts on
/// Friday (due Monday 11:55 for 4 support hours), the ticket's creation time
/// and the stored `arrived_at` are Friday's, `received_at` is Monday's.
#[test]
fn a_backlog_mail_from_friday_is_judged_by_friday() {
    let mut env = Env::new();
    let friday = berlin(2026, 11, 27, 16, 55);
    let monday = berlin(2026, 11, 30, 9, 30);
    let raw = mail(KUNDE, "Dienstplan speichert nicht", "fri@sw", "", "Beim Speichern kommt Fehler 500.");
    let o =
        pipeline::process_batch(&env.p, &mut env.store, &[(maildir_label(friday, 1), raw)], monday).unwrap().remove(0);
    assert_eq!(o.disposition.as_str(), "new_ticket", "{:?}", o.reason);
    let t = env.ticket(1);
    assert_eq!(t.created_at, supportd::store::ts(friday), "the ticket is Friday's");
    assert_eq!(t.first_response_due.as_deref(), Some(supportd::store::ts(berlin(2026, 11, 30, 11, 55)).as_str()));
    assert_eq!(arrived_at(&env, o.row), supportd::store::ts(friday));
    let received: String =
        env.store.conn().query_row("SELECT received_at FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
    assert_eq!(received, supportd::store::ts(monday), "received_at keeps the processing time");
    let ack = env.outbox_raw(env.sent("ack")[0].id);
    assert!(ack.contains("innerhalb unserer Supportzeiten"), "{ack}");
    assert!(ack.contains("Date: Mon, 30 Nov 2026 08:30:00"), "our answer is dated when it was written: {ack}");
}

/// Proves: eight requests a customer wrote over a weekend, one every three
/// hours, processed together on Monday, get eight acknowledgements — the
/// per-sender cap (5 per hour) counts by when the mails came, not by when
/// the backlog was processed; the same eight mails written within one hour
/// get five.
#[test]
fn the_cap_counts_a_weekend_backlog_by_arrival() {
    for (spacing_min, want) in [(180i64, 8usize), (5, 5)] {
        let mut env = Env::new();
        let start = berlin(2026, 11, 28, 10, 0);
        let monday = berlin(2026, 11, 30, 9, 30);
        let mails: Vec<(String, Vec<u8>)> = (0..8)
            .map(|i| {
                let at = start + chrono::Duration::minutes(spacing_min * i as i64);
                let raw = mail(KUNDE, &format!("Frage {i}"), &format!("we{i}@sw"), "", "Wie exportiere ich die Liste?");
                (maildir_label(at, i), raw)
            })
            .collect();
        let out = pipeline::process_batch(&env.p, &mut env.store, &mails, monday).unwrap();
        assert!(out.iter().all(|o| o.disposition.as_str() == "new_ticket"));
        assert_eq!(env.sent("ack").len(), want, "mails every {spacing_min} min");
    }
}

/// Proves: without a Maildir time or an IMAP date, the topmost `Received:`
/// header (our MTA's) gives the arrival; a `Received:` in the future or the
/// sender's `Date:` never does (the processing time is used then).
#[test]
fn the_topmost_received_header_gives_the_arrival_never_the_future() {
    let mut env = Env::new();
    let monday = berlin(2026, 11, 30, 9, 30);
    let by_mx = "Received: from mail.stadtwerke-musterstadt.de by mx.roewaplan.de with ESMTPS; Fri, 27 Nov 2026 16:55:00 +0100 (CET)\n\
                 Received: from pc12 by mail.stadtwerke-musterstadt.de; Fri, 27 Nov 2026 16:54:58 +0100";
    let raw = mail(KUNDE, "Frage", "rcv1@sw", by_mx, "Wie exportiere ich?");
    let o =
        pipeline::process_batch(&env.p, &mut env.store, &[("file:rcv1.eml".into(), raw)], monday).unwrap().remove(0);
    assert_eq!(arrived_at(&env, o.row), supportd::store::ts(berlin(2026, 11, 27, 16, 55)));
    let future = "Received: from x by mx.roewaplan.de; Fri, 04 Dec 2026 10:00:00 +0100";
    let raw = mail(KUNDE, "Frage 2", "rcv2@sw", future, "Wie drucke ich?");
    let o =
        pipeline::process_batch(&env.p, &mut env.store, &[("file:rcv2.eml".into(), raw)], monday).unwrap().remove(0);
    assert_eq!(arrived_at(&env, o.row), supportd::store::ts(monday), "never in the future");
    // `Date:` alone (the common::mail header says Tue 24 Nov) is not an arrival.
    let raw = mail(KUNDE, "Frage 3", "rcv3@sw", "", "Wie sortiere ich?");
    let o =
        pipeline::process_batch(&env.p, &mut env.store, &[("file:rcv3.eml".into(), raw)], monday).unwrap().remove(0);
    assert_eq!(arrived_at(&env, o.row), supportd::store::ts(monday));
}
