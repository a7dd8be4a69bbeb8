//! Threading and mail hygiene (the [threading] issue): quote stripping per
//! client style, machine mail never answered, strangers never joined,
//! forged references ignored, bounces tied back, bounded input.

mod common;

use common::{Env, mail};
use serde::Deserialize;
use supportd::config::Config;

fn fixtures(dir: &str) -> std::path::PathBuf {
    common::repo().join("fixtures").join(dir)
}

/// Golden quote stripping: each fixtures/quotes/NAME.eml gives exactly NAME.expected.txt.
#[test]
fn quote_stripping_matches_the_golden_text_per_client_style() {
    let cfg = Config::from_str(&common::config_text(""), "t.toml", std::path::Path::new(".")).unwrap();
    let dir = fixtures("quotes");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 16);
    let mut failures = Vec::new();
    for n in &names {
        let raw = std::fs::read(dir.join(n)).unwrap();
        let want = std::fs::read_to_string(dir.join(n.replace(".eml", ".expected.txt"))).unwrap();
        let m = supportd::parse::parse(&raw, &cfg.limits).unwrap();
        let got = supportd::text::new_text(m.reply_body());
        if got.trim() != want.trim() {
            let actual = dir.join(n.replace(".eml", ".actual.txt"));
            failures.push(format!("{n}: got\n{got}\n--- want\n{want}\n--- (written to {})", actual.display()));
        }
    }
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), names.len(), failures.join("\n=====\n"));
}

#[derive(Deserialize)]
struct HygieneExpected {
    case: Vec<HygieneCase>,
}

#[derive(Deserialize)]
struct HygieneCase {
    file: String,
    disposition: String,
}

/// Every machine mail of fixtures/hygiene gets its disposition and no answer; the
/// look-alikes written by people become tickets with an ack.
#[test]
fn machine_mails_are_recognised_and_never_answered() {
    let dir = fixtures("hygiene");
    let exp: HygieneExpected = toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
    assert!(exp.case.len() >= 20);
    let mut env = Env::new();
    let mut failures = Vec::new();
    for c in &exp.case {
        let o = env.ingest_file(&dir.join(&c.file));
        let kinds: Vec<String> = env.outbox_for_row(o.row).into_iter().map(|(k, _)| k).collect();
        if o.disposition.as_str() != c.disposition {
            failures.push(format!("{}: {} ({:?}), want {}", c.file, o.disposition, o.reason, c.disposition));
        }
        let answered = kinds.iter().any(|k| k == "ack");
        if answered != (c.disposition == "new_ticket") {
            failures.push(format!("{}: outbox {kinds:?}", c.file));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// django-helpdesk's real mails parse to the subjects and texts its README names.
#[test]
fn django_helpdesk_peer_mails_parse_to_their_subjects_and_texts() {
    let cfg = Config::from_str(&common::config_text(""), "t.toml", std::path::Path::new(".")).unwrap();
    let dir = fixtures("peer/django-helpdesk");
    let cases = [
        ("all-special-chars.eml", Some("Testovácí email"), "íářčšáíéřášč", 0),
        ("blank-body-with-attachment.eml", None, "", 1),
        ("forwarded-message.eml", None, "This is email body", 0),
        ("pgp.eml", None, "", 1),
        ("quoted_printable.eml", Some("Český test"), "", 0),
        // Upstream the plain and HTML parts differ ("prosazuje lepší" is only in the HTML part,
        // kept in the raw mail); the plain part is the body.
        ("utf-nondecodable.eml", Some("Fwd: Cyklozaměstnavatel - změna vyhodnocení"), "změnu vyhodnocení", 0),
    ];
    for (file, subject, text, min_attachments) in cases {
        let raw = std::fs::read(dir.join(file)).unwrap();
        let m = supportd::parse::parse(&raw, &cfg.limits).unwrap_or_else(|e| panic!("{file}: {e}"));
        if let Some(s) = subject {
            assert_eq!(m.subject, s, "{file}");
        }
        assert!(m.body_text.contains(text), "{file}: body {:?} lacks {text:?}", m.body_text);
        assert!(m.attachments.len() >= min_attachments, "{file}: {} attachments", m.attachments.len());
    }
    // And through the pipeline: each becomes a ticket, none is lost.
    let mut env = Env::new();
    for (file, ..) in cases {
        let o = env.ingest_file(&dir.join(file));
        assert_eq!(o.disposition.as_str(), "new_ticket", "{file}: {:?}", o.reason);
    }
    let pgp = env.count("SELECT count(*) FROM attachments WHERE content_type = 'application/pgp-signature'");
    assert_eq!(pgp, 1, "the PGP signature is kept as an attachment");
}

const KUNDE: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const KOLLEGE: &str = "Eva Roth <e.roth@stadtwerke-musterstadt.de>";
const FREMDER: &str = "Mallory <mallory@example.org>";
const ANDERER_KUNDE: &str = "Jane <jane@harbour-analytics.co.uk>";

fn first_ack_id(env: &Env) -> String {
    env.outbox().into_iter().find(|o| o.kind == "ack").unwrap().message_id
}

#[test]
fn a_stranger_with_another_customers_tag_gets_a_ticket_of_its_own() {
    let mut env = Env::new();
    let o1 = env.ingest(&mail(KUNDE, "Login geht nicht", "a1@sw", "", "Fehler beim Login."));
    assert_eq!(o1.ticket, Some(1));
    for (i, from) in [FREMDER, ANDERER_KUNDE].iter().enumerate() {
        let o = env.ingest(&mail(
            from,
            "AW: [MT-000001] Login geht nicht",
            &format!("evil{i}@x"),
            "",
            "Ich will mitlesen.",
        ));
        assert_eq!(o.disposition.as_str(), "new_ticket", "{from}");
        assert_ne!(o.ticket, Some(1), "{from} joined a stranger's ticket");
        assert_eq!(env.ticket(o.ticket.unwrap()).linked_to, Some(1), "the link is recorded");
    }
    // A colleague of the same organisation may join.
    let o = env.ingest(&mail(KOLLEGE, "AW: [MT-000001] Login geht nicht", "c1@sw", "", "Bei mir auch."));
    assert_eq!((o.disposition.as_str(), o.ticket), ("follow_up", Some(1)));
    assert_eq!(env.count("SELECT count(*) FROM events WHERE ticket_id = 1 AND kind = 'security'"), 2);
}

#[test]
fn a_forged_reference_that_looks_like_ours_does_not_join() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Login geht nicht", "a1@sw", "", "Fehler beim Login."));
    let ack = first_ack_id(&env);
    // Same shape, wrong hash.
    let (body, _) = ack.rsplit_once('.').unwrap();
    let forged = format!("{}.{}", body, "0123456789abcdef");
    let forged = forged.replace(".0123456789abcdef", ".0123456789abcdef@roewaplan.de").replace("@roewaplan.de.", ".");
    let o = env.ingest(&mail(FREMDER, "Hallo", "f1@x", &format!("In-Reply-To: <{forged}>"), "Hallo"));
    assert_eq!(o.disposition.as_str(), "new_ticket");
    assert_ne!(o.ticket, Some(1));
    // The genuine id joins (from the requester).
    let o = env.ingest(&mail(KUNDE, "Re: Ihre Anfrage", "a2@sw", &format!("In-Reply-To: <{ack}>"), "Noch da."));
    assert_eq!((o.disposition.as_str(), o.ticket), ("follow_up", Some(1)));
}

#[test]
fn feeding_supportd_its_own_ack_produces_no_answer() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Login geht nicht", "a1@sw", "", "Fehler beim Login."));
    let raw: Vec<u8> = supportd::store::outbox_raw(
        env.store.conn(),
        env.store.conn().query_row("SELECT id FROM outbox WHERE kind = 'ack'", [], |r| r.get(0)).unwrap(),
    )
    .unwrap()
    .unwrap();
    let before = env.outbox().len();
    let o = env.ingest(&raw);
    assert_eq!(o.disposition.as_str(), "loop");
    assert_eq!(env.outbox().len(), before, "no mail caused by our own ack");
}

#[test]
fn ten_out_of_office_replies_in_a_row_produce_no_mail_at_all() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Login geht nicht", "a1@sw", "", "Fehler beim Login."));
    let ack = first_ack_id(&env);
    let before = env.outbox().len();
    for i in 0..10 {
        let o = env.ingest(&mail(
            KUNDE,
            "Automatische Antwort: [MT-000001] Ihre Anfrage",
            &format!("oof{i}@sw"),
            &format!("In-Reply-To: <{ack}>"),
            "Ich bin bis zum 04.12.2026 nicht im Büro und habe keinen Zugriff auf E-Mails.",
        ));
        assert_eq!(o.disposition.as_str(), "auto_reply", "mail {i}");
    }
    assert_eq!(env.outbox().len(), before);
}

#[test]
fn a_bounce_of_an_ack_lands_on_the_ticket_of_that_ack() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Login geht nicht", "a1@sw", "", "Fehler beim Login."));
    let ack = first_ack_id(&env);
    let dsn = format!(
        "From: MAILER-DAEMON@mx.stadtwerke-musterstadt.de\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nMailbox full.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; m.keller@stadtwerke-musterstadt.de\r\nAction: failed\r\nStatus: 5.2.2\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: mein-team-support@roewaplan.de\r\nMessage-ID: <{ack}>\r\nSubject: [MT-000001] x\r\n--B--\r\n"
    );
    let before = env.outbox().len();
    let o = env.ingest(dsn.as_bytes());
    assert_eq!((o.disposition.as_str(), o.ticket), ("bounce", Some(1)));
    assert_eq!(env.outbox().len(), before);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE ticket_id = 1 AND kind = 'bounce' AND detail LIKE '%m.keller@%'"),
        1
    );
}

#[test]
fn a_reply_read_before_its_parent_ends_on_the_same_ticket() {
    let mut env = Env::new();
    let reply = env.ingest(&mail(
        KUNDE,
        "Re: Export",
        "r1@sw",
        "In-Reply-To: <p1@sw>\nReferences: <p1@sw>",
        "Nachtrag: auch CSV.",
    ));
    let parent = env.ingest(&mail(KUNDE, "Export", "p1@sw", "", "Der Export bricht ab."));
    assert_eq!(reply.disposition.as_str(), "new_ticket");
    assert_eq!(parent.ticket, reply.ticket, "the parent joins the ticket its reply opened");
    assert_eq!(parent.disposition.as_str(), "follow_up");
    assert_eq!(env.tickets().len(), 1);
}

#[test]
fn closed_tickets_reopen_within_reopen_days_thanks_do_not_and_late_replies_open_a_linked_ticket() {
    let mut env = Env::new();
    let t0 = common::tuesday_morning();
    env.ingest_at(&mail(KUNDE, "Login geht nicht", "a1@sw", "", "Fehler beim Login."), t0);
    let close = |env: &Env| {
        env.store
            .conn()
            .execute("UPDATE tickets SET status = 'closed', closed_at = '2026-11-24T10:00:00Z' WHERE id = 1", [])
            .unwrap();
    };
    close(&env);
    let thanks = env.ingest_at(
        &mail(KUNDE, "AW: [MT-000001] Login", "t1@sw", "", "Vielen Dank, hat geklappt!\n\nMax"),
        t0 + chrono::Duration::days(1),
    );
    assert_eq!((thanks.disposition.as_str(), thanks.ticket), ("follow_up", Some(1)));
    assert_eq!(env.ticket(1).status, "closed");
    let again = env.ingest_at(
        &mail(KUNDE, "AW: [MT-000001] Login", "t2@sw", "", "Der Fehler ist wieder da."),
        t0 + chrono::Duration::days(2),
    );
    assert_eq!(again.ticket, Some(1));
    assert_eq!(env.ticket(1).status, "open");
    close(&env);
    let late = env.ingest_at(
        &mail(KUNDE, "AW: [MT-000001] Login", "t3@sw", "", "Schon wieder kaputt."),
        t0 + chrono::Duration::days(30),
    );
    assert_eq!(late.disposition.as_str(), "new_ticket");
    assert_eq!(env.ticket(late.ticket.unwrap()).linked_to, Some(1));
    assert_eq!(env.ticket(1).status, "closed");
}

#[test]
fn past_the_rate_cap_mail_is_still_ticketed_but_not_answered() {
    let mut env = Env::new();
    for i in 0..8 {
        let o = env.ingest(&mail(
            KUNDE,
            &format!("Frage {i}"),
            &format!("q{i}@sw"),
            "",
            "Wie exportiere ich den Dienstplan?",
        ));
        assert_eq!(o.disposition.as_str(), "new_ticket");
    }
    let acks = env.outbox().iter().filter(|o| o.kind == "ack").count();
    assert_eq!(acks, 5, "default cap: 5 automatic mails per sender and hour");
    assert_eq!(env.tickets().len(), 8);
}

/// Proves: the per-sender cap counts the mails of its kinds only (a status
/// mail or an agent's answer to the same address is not an ack), counts
/// `user+tag@domain` with `user@domain` but not `otheruser@domain`, and
/// splits the hour from the day; the kind is read beside the recipient
/// (outbox_rcpt.kind, migration 0025).
#[test]
fn the_answer_cap_counts_its_kinds_per_mailbox_in_the_hour_and_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let s = supportd::store::Store::open(&dir.path().join("s.sqlite3")).unwrap();
    let c = s.conn();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-02T12:00:00Z").unwrap().to_utc();
    let mut n = 0;
    let mut queue = |kind: &str, to: &str, minutes_before: i64| {
        n += 1;
        let row = supportd::store::OutRow {
            kind: kind.into(),
            ticket_id: None,
            message_id: format!("m{n}@roewaplan.de"),
            recipients: vec![to.into()],
            subject: "s".into(),
            raw: b"Subject: s\r\n\r\nx\r\n".to_vec(),
            in_reply_to: None,
        };
        supportd::store::insert_outbox(c, &row, None, t0 - chrono::Duration::minutes(minutes_before)).unwrap();
    };
    queue("ack", "m.keller@sw.de", 10); // the hour
    queue("ack", "M.Keller+support@sw.de", 30); // the same mailbox, the hour
    queue("ack", "m.keller@sw.de", 120); // the day only
    queue("ack", "m.keller@sw.de", 25 * 60); // older than a day
    queue("status", "m.keller@sw.de", 5); // another kind
    queue("agent_reply", "m.keller@sw.de", 5);
    queue("overview", "m.keller@sw.de", 5);
    queue("ack", "m.kellerin@sw.de", 5); // another mailbox
    queue("ack", "m.keller@other.de", 5); // another domain
    let count = |kinds: &[&str]| {
        supportd::store::auto_mails_to_since(
            c,
            "m.keller@sw.de",
            kinds,
            t0 - chrono::Duration::hours(1),
            t0 - chrono::Duration::days(1),
        )
        .unwrap()
    };
    assert_eq!(count(&["ack"]), (2, 3));
    assert_eq!(count(&["overview"]), (1, 1));
    assert_eq!(count(&["ack", "overview"]), (3, 4));
}

#[test]
fn attachments_are_stored_once_with_safe_names() {
    let mut env = Env::new();
    let body = |name: &str| {
        format!(
            "From: {KUNDE}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Anhang\r\nMessage-ID: <{}@sw>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nSiehe Anhang.\r\n--X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\nSGFsbG8gV2VsdA==\r\n--X--\r\n",
            name.len()
        )
    };
    let long = format!("{}.txt", "a".repeat(300));
    for name in ["../../etc/passwd", "winmail.dat", long.as_str()] {
        let o = env.ingest(body(name).as_bytes());
        assert_eq!(o.disposition.as_str(), "new_ticket");
    }
    let names: Vec<(String, Option<String>)> = {
        let mut st = env.store.conn().prepare("SELECT filename, flag FROM attachments ORDER BY id").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
    };
    assert_eq!(names[0].0, "passwd");
    assert!(names[1].1.as_deref().unwrap_or("").contains("winmail.dat"));
    assert!(names[2].0.chars().count() <= 120 && names[2].0.ends_with(".txt"));
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 1, "same content stored once");
}

/// Mail bombs are quarantined (raw bytes kept) within a stated time bound.
#[test]
fn mime_bombs_are_quarantined_in_bounded_time() {
    let mut env = Env::new();
    for (name, raw) in common::mail_bombs() {
        let t = std::time::Instant::now();
        let o = env.ingest(raw.as_bytes());
        let took = t.elapsed();
        assert_eq!(o.disposition.as_str(), "quarantined", "{name}");
        assert!(took < std::time::Duration::from_secs(5), "{name} took {took:?}");
        let kept: i64 =
            env.store.conn().query_row("SELECT raw_size FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
        assert_eq!(kept as usize, raw.len(), "{name}: raw bytes kept");
    }
}
