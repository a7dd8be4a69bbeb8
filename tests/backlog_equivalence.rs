//! Backlog equivalence (issue #16): the same week of mail — new requests in
//! and outside support hours, customer replies, agent commands and answers,
//! an overview request, a burst over the answer cap, a reopen, a level
//! change with its handover — processed (a) live, each mail when it
//! arrives, and (b) as one backlog three days after the last one, through
//! the same source, gives the same tickets (status, level, SLA due times,
//! first response, closing), the same events and the same answers (every
//! outgoing mail byte for byte, but for its `Date:` header, which says when
//! it was written).
//!
//! The Maildir run delivers real files named by their delivery time into
//! `new/` and takes them the way the daemon's Maildir source does
//! (`maildir_pending`, `read_maildir_items`, `process_batch`, then
//! `maildir_ack`), with the processing clock in the test's hand. The IMAP
//! run APPENDs the mails to the project's Dovecot with their arrival as
//! INTERNALDATE and takes them the way the daemon's IMAP source does
//! (`ImapMailbox::fetch_after`, labels `imap:INBOX/<validity>/<uid>`,
//! `process_batch_arrived_then` with the INTERNALDATEs, then `acknowledge`).

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::mailservers::MailServers;
use common::{Env, mail};
use supportd::imap::{ImapMailbox, Security};
use supportd::{pipeline, source};

fn berlin(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 11, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

const KELLER: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const HUBER: &str = "Petra Huber <p.huber@stadtwerke-musterstadt.de>";
const JANE: &str = "Jane Miller <jane@harbour-analytics.co.uk>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";
const NEU: &str = "Tom Neumann <t.neumann@firma-neu.de>";

/// The week: (arrival, raw mail).
fn week() -> Vec<(DateTime<Utc>, Vec<u8>)> {
    let mut m = vec![
        // Monday 23.11.2026: a request in hours, one at 16:58, one in the evening.
        (
            berlin(23, 9, 10),
            mail(KELLER, "Dienstplan speichert nicht", "w1@sw", "", "Beim Speichern kommt Fehler 500."),
        ),
        (
            berlin(23, 16, 58),
            mail(JANE, "Export fails", "w2@ha", "", "The CSV export fails with an error since today."),
        ),
        (
            berlin(23, 18, 30),
            mail(HUBER, "Neue Benutzerin anlegen", "w3@sw", "", "Bitte legen Sie Frau Weber als Benutzerin an."),
        ),
        // Tuesday: the agent asks back (first response, waiting), the customer answers.
        (
            berlin(24, 10, 0),
            mail(
                ANNA,
                "AW: [MT-000001] Dienstplan speichert nicht",
                "w4@rp",
                "",
                "#status waiting\n\nBitte senden Sie uns einen Screenshot.\n\nAnna",
            ),
        ),
        (
            berlin(24, 11, 30),
            mail(
                KELLER,
                "AW: [MT-000001] Dienstplan speichert nicht",
                "w5@sw",
                "In-Reply-To: <w1@sw>\nReferences: <w1@sw>",
                "Hier der Screenshot, der Fehler kommt immer noch.",
            ),
        ),
        // Wednesday: an answer that closes, an overview request.
        (
            berlin(25, 8, 15),
            mail(
                ANNA,
                "AW: [MT-000002] Export fails",
                "w6@rp",
                "",
                "#close\n\nThe export works again, we fixed the template.\n\nAnna",
            ),
        ),
        (berlin(25, 9, 0), mail(KELLER, "Ticketübersicht", "w7@sw", "", "Bitte senden Sie uns eine Ticketübersicht.")),
        // Thursday: the closed ticket is reopened within reopen_days.
        (
            berlin(26, 14, 0),
            mail(
                JANE,
                "Re: [MT-000002] Export fails",
                "w8@ha",
                "In-Reply-To: <w2@ha>",
                "Sorry, it fails again with the same error.",
            ),
        ),
    ];
    // Friday: a new customer writes seven requests within 35 minutes (cap: 5 acks an hour).
    for i in 0..7 {
        let at = berlin(27, 10, 5 * i);
        let body = format!("Anfrage {i}: der Bericht {i} zeigt falsche Summen.");
        m.push((at, mail(NEU, &format!("Falsche Summen im Bericht {i}"), &format!("w9-{i}@fn"), "", &body)));
    }
    // Friday 16:59: the agent hands MT-000003 to the 2nd level.
    m.push((berlin(27, 16, 59), mail(ANNA, "AW: [MT-000003] Neue Benutzerin anlegen", "w10@rp", "", "#level 2\n")));
    m
}

/// Deliver a mail into the Maildir's `new/`, named by its delivery time.
fn deliver(maildir: &std::path::Path, n: usize, at: DateTime<Utc>, raw: &[u8]) {
    std::fs::write(maildir.join("new").join(format!("{}.M{n}P1.mx.roewaplan.de", at.timestamp())), raw).unwrap();
}

/// Take what is in `new/` the way the daemon's Maildir source does, at `now`.
fn drain(env: &mut Env, maildir: &std::path::Path, now: DateTime<Utc>) -> usize {
    let files = source::maildir_pending(maildir, 200).unwrap();
    let items = source::read_maildir_items(&files, supportd::imap::FETCH_BYTES);
    let mails: Vec<(String, Vec<u8>)> = items.iter().map(|i| (i.source.clone(), i.raw.clone())).collect();
    pipeline::process_batch(&env.p, &mut env.store, &mails, now).unwrap();
    for i in &items {
        source::maildir_ack(i.maildir_file.as_ref().unwrap()).unwrap();
    }
    items.len()
}

/// The default config with a fixed Message-ID secret: both runs sign alike.
fn env() -> Env {
    Env::with_replaced("reopen_days = 14", "reopen_days = 14\nsecret = \"backlog-equivalence-secret-0123456789\"")
}

fn maildir(env: &Env) -> std::path::PathBuf {
    let d = env.dir.path().join("inbox");
    for s in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(d.join(s)).unwrap();
    }
    d
}

/// Everything the two runs must agree on, as sorted lines.
fn state(env: &Env) -> Vec<String> {
    let c = env.store.conn();
    let rows = |sql: &str| -> Vec<String> {
        let mut q = c.prepare(sql).unwrap();
        let n = q.column_count();
        q.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => "-".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" | "))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    };
    let mut out = Vec::new();
    out.extend(rows("SELECT 'ticket', * FROM tickets ORDER BY id"));
    out.extend(rows(
        "SELECT 'message', id, message_id, disposition, reason, ticket_id, arrived_at, trail FROM messages ORDER BY id",
    ));
    // Trails are packed (migration 0020): read through the store.
    let ids: Vec<i64> = c
        .prepare("SELECT id FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for id in ids {
        out.push(format!("trail {id} {:?}", supportd::store::dict::trail_of(c, id).unwrap()));
    }
    out.extend(rows("SELECT 'event', ticket_id, message_row, at, actor, kind, detail FROM events ORDER BY id"));
    out.extend(rows("SELECT 'participant', * FROM participants ORDER BY 2, 3"));
    // Every answer, byte for byte but for the Date: line (when it was written).
    let mut q = c
        .prepare("SELECT kind, ticket_id, message_id, recipients, subject, in_reply_to, created_at, id FROM outbox ORDER BY id")
        .unwrap();
    let answers = q
        .query_map([], |r| {
            // Stored compressed: decompressed through the store's accessor.
            let raw: Vec<u8> = supportd::store::outbox_raw(c, r.get(7)?).unwrap().expect("the outgoing mail");
            let text: String = String::from_utf8_lossy(&raw)
                .split("\r\n")
                .filter(|l| !l.starts_with("Date: "))
                .collect::<Vec<_>>()
                .join("\r\n");
            Ok(format!(
                "outbox | {} | {:?} | {} | {} | {} | {:?} | {}\n{text}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .unwrap()
        .map(|r| r.unwrap());
    out.extend(answers);
    out.sort();
    out
}

fn kinds(env: &Env) -> Vec<String> {
    env.outbox().iter().map(|o| o.kind.clone()).collect()
}

/// The runs did what the week asks for (so that the comparison compares
/// something), and they are the same.
fn same(live: &Env, backlog: &Env, mails: usize, what: &str) {
    let t = |env: &Env, n| env.ticket(n);
    assert_eq!(live.tickets().len(), 10, "three requests on Monday, seven on Friday");
    assert_eq!(t(live, 1).status, "open", "waiting, then the customer answered");
    assert_eq!(t(live, 2).status, "open", "closed on Wednesday, reopened on Thursday");
    assert_eq!(t(live, 3).level, 2);
    let acks = kinds(live).iter().filter(|k| *k == "ack").count();
    assert_eq!(acks, 3 + 5, "Friday's burst: five acks in the hour, two held back by the cap");
    for k in ["agent_reply", "overview", "status", "handover", "notify_agents"] {
        assert!(kinds(live).iter().any(|x| x == k), "no {k} mail: {:?}", kinds(live));
    }
    let ack = |env: &Env, ticket: i64| {
        let o = env.outbox().into_iter().find(|o| o.kind == "ack" && o.ticket_id == Some(ticket)).unwrap();
        env.outbox_raw(o.id)
    };
    assert!(ack(live, 2).contains("within our support hours"), "16:58 is in hours: {}", ack(live, 2));
    assert!(ack(live, 3).contains("Dienstag, 24.11.2026, 08:00"), "18:30 is not: {}", ack(live, 3));

    // The comparison: same tickets, messages, events, participants and answers.
    let (a, b) = (state(live), state(backlog));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "{what}: live and backlog differ");
    }
    assert_eq!(a.len(), b.len(), "{what}: live and backlog differ in the number of rows");
    eprintln!(
        "backlog equivalence ({what}): {mails} mails, {} tickets, {} outgoing mails, {} compared rows: identical",
        live.tickets().len(),
        live.outbox().len(),
        a.len()
    );
}

#[test]
fn a_backlog_three_days_late_gives_what_live_processing_gave_maildir() {
    let mails = week();
    let last = mails.iter().map(|(at, _)| *at).max().unwrap();

    // (a) Live: each mail taken when it arrives (half a minute later).
    let mut live = env();
    let dir = maildir(&live);
    for (n, (at, raw)) in mails.iter().enumerate() {
        deliver(&dir, n, *at, raw);
        assert_eq!(drain(&mut live, &dir, *at + Duration::seconds(30)), 1);
    }

    // (b) The daemon was down: everything taken three days after the last mail.
    let mut backlog = env();
    let dir = maildir(&backlog);
    for (n, (at, raw)) in mails.iter().enumerate() {
        deliver(&dir, n, *at, raw);
    }
    assert_eq!(drain(&mut backlog, &dir, last + Duration::days(3)), mails.len());
    same(&live, &backlog, mails.len(), "Maildir");
}

/// APPEND `raw` to `user`'s INBOX with `at` as INTERNALDATE (plain IMAP on loopback).
fn append(ms: &MailServers, user: &str, at: DateTime<Utc>, raw: &[u8]) {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", ms.imap_port)).unwrap();
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut line = String::new();
    let mut until = |r: &mut BufReader<std::net::TcpStream>, prefix: &str| loop {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "IMAP connection closed waiting for {prefix}");
        if line.starts_with(prefix) {
            assert!(!line.contains(" NO ") && !line.contains(" BAD "), "{line}");
            return line.clone();
        }
    };
    until(&mut r, "* OK");
    write!(w, "a1 LOGIN \"{user}\" \"{}\"\r\n", ms.password).unwrap();
    until(&mut r, "a1 ");
    let date = at.format("%d-%b-%Y %H:%M:%S +0000");
    write!(w, "a2 APPEND INBOX \"{date}\" {{{}}}\r\n", raw.len()).unwrap();
    until(&mut r, "+");
    w.write_all(raw).unwrap();
    w.write_all(b"\r\n").unwrap();
    let ok = until(&mut r, "a2 ");
    assert!(ok.starts_with("a2 OK"), "{ok}");
    write!(w, "a3 LOGOUT\r\n").unwrap();
}

/// Take what is new in the INBOX the way the daemon's IMAP source does, at `now`.
async fn drain_imap(env: &mut Env, mb: &mut ImapMailbox, last_uid: &mut u32, now: DateTime<Utc>) -> usize {
    let fetched = mb.fetch_after(*last_uid, 200).await.unwrap();
    let validity = mb.uid_validity();
    let arrivals: Vec<Option<DateTime<Utc>>> = fetched.iter().map(|f| f.internal_date).collect();
    assert!(arrivals.iter().all(|a| a.is_some()), "every fetched mail has its INTERNALDATE");
    let mails: Vec<(String, Vec<u8>)> =
        fetched.iter().map(|f| (format!("imap:INBOX/{validity}/{}", f.uid), f.raw.clone())).collect();
    pipeline::process_batch_arrived_then(&env.p, &mut env.store, &mails, &arrivals, now, |_, _| Ok(())).unwrap();
    let uids: Vec<u32> = fetched.iter().map(|f| f.uid).collect();
    if !uids.is_empty() {
        mb.acknowledge(&uids).await.unwrap();
    }
    *last_uid = uids.iter().copied().max().unwrap_or(*last_uid);
    uids.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_three_days_late_gives_what_live_processing_gave_imap() {
    let ms = MailServers::start();
    let mails = week();
    let last = mails.iter().map(|(at, _)| *at).max().unwrap();

    // (a) Live, from the support mailbox: each mail APPENDed, then taken half a minute later.
    let mut live = env();
    let mut mb = ImapMailbox::connect(&ms.imap(common::mailservers::SUPPORT, Security::Plain)).await.unwrap();
    let mut last_uid = 0;
    for (at, raw) in &mails {
        append(&ms, common::mailservers::SUPPORT, *at, raw);
        // As the daemon between fetches: IDLE until the server reports the new mail.
        mb.wait(std::time::Duration::from_secs(10)).await.unwrap();
        assert_eq!(drain_imap(&mut live, &mut mb, &mut last_uid, *at + Duration::seconds(30)).await, 1);
    }
    mb.logout().await.unwrap();

    // (b) A second mailbox holds the same week, taken three days after the last mail.
    let other = "fremder@example.org";
    let mut backlog = env();
    for (at, raw) in &mails {
        append(&ms, other, *at, raw);
    }
    let mut mb = ImapMailbox::connect(&ms.imap(other, Security::Plain)).await.unwrap();
    let mut last_uid = 0;
    assert_eq!(drain_imap(&mut backlog, &mut mb, &mut last_uid, last + Duration::days(3)).await, mails.len());
    mb.logout().await.unwrap();
    same(&live, &backlog, mails.len(), "IMAP, Dovecot, INTERNALDATE by APPEND");
}

/// The ticket's escalation facts and its escalation events (the 80 %
/// warnings are left out: after an outage a target already missed is not
/// warned about any more).
fn escalations(env: &Env) -> (i64, Option<String>, Option<String>, Vec<String>) {
    let t = env.ticket(1);
    let mut q = env
        .store
        .conn()
        .prepare("SELECT at || ' ' || detail FROM events WHERE kind = 'escalation' ORDER BY id")
        .unwrap();
    let events = q.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    (t.level, t.escalated_at, t.first_response_due, events)
}

/// Proves: the schedule escalates a ticket nobody answered at the moments
/// its targets were missed — by the support calendar from the ticket's
/// arrival — whether the clock ticks every ten minutes (live) or first
/// after an outage two days later: Monday 09:10 + 4 support hours = 13:10
/// (level 2), + 4 more = Tuesday 08:10 (level 3, due 12:10).
#[test]
fn the_schedule_escalates_at_the_same_times_live_and_after_an_outage() {
    let first = &week()[0];
    let mut live = env();
    let mut late = env();
    for e in [&mut live, &mut late] {
        let o = pipeline::process_batch(&e.p, &mut e.store, &[("maildir:x".into(), first.1.clone())], first.0).unwrap();
        assert_eq!(o[0].disposition.as_str(), "new_ticket");
    }
    let end = berlin(25, 12, 0);
    let mut now = first.0;
    while now <= end {
        supportd::schedule::tick_store(&live.p, &mut live.store, now).unwrap();
        now += Duration::minutes(10);
    }
    // The daemon was down from Monday 09:10 to Wednesday 12:00; each tick catches up one level.
    supportd::schedule::tick_store(&late.p, &mut late.store, end).unwrap();
    supportd::schedule::tick_store(&late.p, &mut late.store, end + Duration::minutes(1)).unwrap();
    let ts = |d: DateTime<Utc>| Some(supportd::store::ts(d));
    let (level, escalated_at, due, events) = escalations(&live);
    assert_eq!((level, escalated_at, due), (3, ts(berlin(24, 8, 10)), ts(berlin(24, 12, 10))));
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with(&supportd::store::ts(berlin(23, 13, 10))), "{events:?}");
    assert_eq!(escalations(&late), escalations(&live), "the schedule after an outage differs from the live one");
}

/// Proves: the daemon's Maildir source drains a backlog of large mails in
/// batches bounded by their bytes (at most `imap::FETCH_BYTES` beyond the
/// first, not 200 files read at once and copied): five mails of 2 MB are
/// all stored, each once, as five tickets, and all moved to `cur/`.
#[test]
fn a_maildir_backlog_of_large_mails_is_drained_in_byte_bounded_batches() {
    let env = Env::new();
    let maildir = env.dir.path().join("big");
    source::ensure_maildir(&maildir).unwrap();
    let body = format!("{:076}\r\n", 0).repeat(2_000_000 / 78);
    for i in 0..5 {
        let raw = mail("kunde@stadtwerke-musterstadt.de", &format!("Protokoll {i}"), &format!("big{i}@sw"), "", &body);
        deliver(&maildir, i, Utc::now(), &raw);
    }
    let store = std::sync::Mutex::new(env.store);
    let n = supportd::daemon::maildir_drain(&maildir, &env.p, &store, &|| false).unwrap();
    assert_eq!(n, 5);
    let s = store.lock().unwrap();
    let tickets: i64 = s.conn().query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    let stored: i64 = s.conn().query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap();
    assert_eq!((tickets, stored), (5, 5));
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(maildir.join("cur")).unwrap().count(), 5);
}
