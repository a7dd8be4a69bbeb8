//! Years of mail in one store: the compact store (zstd, attachments once),
//! listing in SQL, retention, erasure, sending limits.

mod common;

use common::smtp_peer::SmtpPeer;
use common::{Env, ok_json, supportd};
use mail_parser::MimeHeaders;
use supportd::store;

/// A customer mail with one base64 attachment (76-character CRLF lines).
fn with_attachment(from: &str, message_id: &str, subject: &str, name: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Tue, 24 Nov 2026 09:55:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n\
         --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Guten Tag,\r\n\r\nim Anhang der Screenshot zum Fehler beim Speichern.\r\n\r\nMit freundlichen Grüßen\r\nM. Keller\r\n\
         --XyZ\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--XyZ--\r\n",
        common::b64_lines(data)
    )
    .into_bytes()
}

fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Proves: through the real pipeline, a mail's raw bytes are kept
/// compressed and without its attachment's base64 text (a skeleton), the
/// attachment is stored once for two mails that carry it, and every reader
/// (the raw accessor, `messages show`'s detail, the blob) gets back exactly
/// the bytes that arrived.
#[test]
fn raw_mails_are_compressed_and_attachments_kept_once() {
    let mut env = Env::new();
    let shot = noise(40_000, 7);
    let a = with_attachment("m.keller@stadtwerke-musterstadt.de", "a1@sw", "Fehler beim Speichern", "shot.png", &shot);
    let b = with_attachment("e.roth@stadtwerke-musterstadt.de", "b1@sw", "Auch bei uns", "bild.png", &shot);
    let plain = common::mail(
        "it@stadtwerke-musterstadt.de",
        "Frage zum Export",
        "c1@sw",
        "",
        &"Wie exportiere ich die Monatsübersicht als CSV?\n".repeat(40),
    );
    let oa = env.ingest(&a);
    let ob = env.ingest(&b);
    let oc = env.ingest(&plain);
    assert_eq!(oa.disposition.as_str(), "new_ticket");
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 1, "one attachment body for two mails");
    assert_eq!(env.count("SELECT count(*) FROM attachments"), 2);
    for (o, raw, format) in [(&oa, &a, 2), (&ob, &b, 2), (&oc, &plain, 1)] {
        let (f, stored, size): (i64, i64, i64) = env
            .store
            .conn()
            .query_row("SELECT raw_format, length(raw), raw_size FROM messages WHERE id = ?1", [o.row], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(f, format, "row {}", o.row);
        assert_eq!(size as usize, raw.len());
        assert!(stored * 2 < raw.len() as i64, "row {}: {stored} bytes stored for {}", o.row, raw.len());
        assert_eq!(&store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), raw, "row {} read back", o.row);
        let d = store::get_message(env.store.conn(), o.row).unwrap().unwrap();
        assert_eq!(&d.raw, raw);
        assert_eq!(d.size, raw.len());
    }
    let total: i64 =
        env.count("SELECT sum(length(raw)) FROM messages") + env.count("SELECT sum(length(data)) FROM blobs");
    let came = (a.len() + b.len() + plain.len()) as i64;
    assert!(total * 100 < came * 45, "{came} bytes of mail kept in {total}");
    // The outgoing mails are compressed too and read back whole; the team
    // notification that passes the screenshot on refers to its one body.
    let mut skeletons = 0;
    for o in env.outbox() {
        let raw = store::outbox_raw(env.store.conn(), o.id).unwrap().unwrap();
        assert!(raw.windows(6).any(|w| w == b"From: "), "outbox #{}", o.id);
        let (f, size): (i64, i64) = env
            .store
            .conn()
            .query_row("SELECT raw_format, raw_size FROM outbox WHERE id = ?1", [o.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert!(f == 1 || f == 2, "outbox #{}: format {f}", o.id);
        assert_eq!(size as usize, raw.len());
        if f == 2 {
            skeletons += 1;
            let msg = mail_parser::MessageParser::default().parse(&raw[..]).unwrap();
            assert!(
                msg.attachments().any(|a| a.contents() == shot.as_slice()),
                "outbox #{} carries the screenshot",
                o.id
            );
        }
    }
    assert!(skeletons >= 2, "the notifications of both mails refer to the screenshot: {skeletons}");
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 1, "still one body");
}

/// Proves: a text file a customer attached (here sent as 8 bit, with a
/// line that ends in spaces and one with a bare LF) reaches the team's
/// notification as base64, byte for byte as it was stored, and the
/// notification is kept by reference to the one stored body: its stored
/// bytes are a small part of the file (it was kept again, compressed, when
/// the file went out as 7 bit or quoted-printable).
#[test]
fn a_text_file_goes_to_the_team_as_base64_and_is_kept_once() {
    let mut env = Env::new();
    let hex: String = noise(12_000, 5).iter().map(|b| format!("{b:02x}")).collect();
    let mut log = String::new();
    for (i, chunk) in hex.as_bytes().chunks(64).enumerate() {
        let end = if i == 3 {
            "  \r\n"
        } else if i == 7 {
            "\n"
        } else {
            "\r\n"
        };
        log.push_str(&format!(
            "2026-11-24 09:55:{:02} ERROR export {}{end}",
            i % 60,
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    let mail = format!(
        "From: m.keller@stadtwerke-musterstadt.de\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Export bricht ab\r\n\
         Message-ID: <log1@sw>\r\nDate: Tue, 24 Nov 2026 09:55:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n\
         --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Guten Tag,\r\n\r\nder Export bricht ab, das Protokoll haengt an.\r\n\r\nM. Keller\r\n\
         --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=\"export.log\"\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{log}\r\n--XyZ--\r\n"
    );
    let o = env.ingest(mail.as_bytes());
    assert_eq!(o.disposition.as_str(), "new_ticket");
    let stored: Vec<u8> = env
        .store
        .conn()
        .query_row("SELECT sha256 FROM attachments WHERE message_row = ?1", [o.row], |r| r.get::<_, String>(0))
        .map(|sha| store::blob(env.store.conn(), &sha).unwrap().unwrap())
        .unwrap();
    assert!(stored.len() > 20_000, "the log was kept: {} bytes", stored.len());
    let (id, format, packed): (i64, i64, i64) = env
        .store
        .conn()
        .query_row(
            "SELECT id, raw_format, length(raw) FROM outbox WHERE cause_row = ?1 AND kind = 'notify_agents'",
            [o.row],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let raw = store::outbox_raw(env.store.conn(), id).unwrap().unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw[..]).unwrap();
    let part = msg.attachments().find(|a| a.attachment_name() == Some("export.log")).expect("the log goes to the team");
    assert_eq!(part.contents(), stored.as_slice(), "byte for byte as stored");
    let cte = part.content_transfer_encoding().unwrap_or_default();
    assert!(cte.eq_ignore_ascii_case("base64"), "sent as {cte:?}");
    assert_eq!(format, 2, "kept as a skeleton that refers to the stored body");
    assert!(
        packed * 10 < stored.len() as i64,
        "{packed} bytes kept for a notification carrying a {} byte log",
        stored.len()
    );
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 1, "one body for the mail and its notification");
}

/// Proves: the skeleton a mail is first written as (made before the write
/// transaction, on the prepare thread) is only kept where attachment rows
/// keep its bodies: a duplicate (no attachment rows) and a mail whose
/// processing fails after the parse (here: its acknowledgement template
/// cannot be rendered; the rollback takes the bodies away) are kept as
/// zstd of their bytes and read back byte for byte, and the failed mail
/// leaves no attachment body behind.
#[test]
fn skeletons_stay_only_where_attachment_rows_keep_their_bodies() {
    let shot = noise(30_000, 11);
    let a = with_attachment("m.keller@stadtwerke-musterstadt.de", "dup1@sw", "Fehler beim Speichern", "s.png", &shot);
    let mut env = Env::new();
    let first = env.ingest(&a);
    let again = env.ingest(&a);
    assert_eq!((first.disposition.as_str(), again.disposition.as_str()), ("new_ticket", "duplicate"));
    assert_eq!(stored_raw_format(&env, first.row).0, 2, "the first copy is a skeleton");
    assert_eq!(stored_raw_format(&env, again.row).0, 1, "the duplicate is zstd of its bytes");
    assert_eq!(store::raw_bytes(env.store.conn(), again.row).unwrap().unwrap(), a);
    assert_eq!(env.count("SELECT count(*) FROM attachments"), 1);
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 1);

    // An acknowledgement template that fails when rendered (division by zero).
    let dir = tempfile::tempdir().unwrap();
    let cfgdir = dir.path().join("config");
    std::fs::create_dir_all(cfgdir.join("templates/de")).unwrap();
    std::fs::write(cfgdir.join("templates/de/ack.txt"), "Subject: {{ 1 // 0 }}\n\nText\n").unwrap();
    let cfg = supportd::config::Config::from_str(&common::config_text(""), "test.toml", &cfgdir).unwrap();
    let store = store::Store::open(&cfg.store_path).unwrap();
    let p = supportd::pipeline::Pipeline::new(cfg, store.conn()).unwrap();
    let mut env = Env { dir, store, p };
    let b = with_attachment("e.roth@stadtwerke-musterstadt.de", "q1@sw", "Auch bei uns", "t.png", &noise(25_000, 12));
    let o = env.ingest(&b);
    assert_eq!(o.disposition.as_str(), "quarantined", "{o:?}");
    assert_eq!(stored_raw_format(&env, o.row).0, 1, "zstd of the bytes, no skeleton");
    assert_eq!(store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), b, "kept byte for byte");
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 0, "no body left behind");
    assert_eq!(env.count("SELECT count(*) FROM attachments"), 0);
}

/// Proves: an attachment whose base64 text is laid out oddly (one short
/// line in the middle) is kept literally inside the compressed raw mail:
/// nothing is ever rewritten, the bytes read back are the bytes that came.
#[test]
fn oddly_encoded_attachments_are_kept_byte_for_byte() {
    let mut env = Env::new();
    let data = noise(9_000, 3);
    let mut raw = with_attachment("m.keller@stadtwerke-musterstadt.de", "odd@sw", "Log", "log.bin", &data);
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let body = raw.windows(8).rposition(|w| w == b"base64\r\n").unwrap() + 10;
    assert!(body > at);
    raw.splice(body + 30..body + 30, b"\r\n".iter().copied());
    let o = env.ingest(&raw);
    let f: i64 =
        env.store.conn().query_row("SELECT raw_format FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
    assert_eq!(f, 1, "not a skeleton");
    assert_eq!(store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), raw);
}

/// Proves: the real client mails with attachments of fixtures/pipeline
/// (Outlook PDF, Gmail screenshot, Thunderbird RFC 2231 name, a follow-up
/// with a screenshot) are kept as skeletons and read back byte for byte.
#[test]
fn real_client_mails_read_back_exactly() {
    let mut env = Env::new();
    let mut skeletons = 0;
    for name in [
        "07-de-outlook-pdf-anhang",
        "08-en-gmail-screenshot",
        "09-de-thunderbird-rfc2231-anhang",
        "26-de-followup-mit-screenshot",
    ] {
        let path = common::repo().join(format!("fixtures/pipeline/{name}.eml"));
        let raw = std::fs::read(&path).unwrap();
        let o = env.ingest(&raw);
        assert_eq!(store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), raw, "{name}");
        let f: i64 =
            env.store.conn().query_row("SELECT raw_format FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
        skeletons += (f == 2) as usize;
    }
    assert!(skeletons >= 3, "{skeletons} of 4 client mails kept without their base64 text");
}

/// A config in a temp dir (Maildir in, `.eml` files out) with `extra` TOML
/// appended, and a store holding the given mails (ingested with --no-send).
fn store_with(extra: &str, mails: &[Vec<u8>]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.path().join("var/inbox").join(sub)).unwrap();
    }
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text(extra)).unwrap();
    let mails_dir = dir.path().join("mails");
    std::fs::create_dir_all(&mails_dir).unwrap();
    for (i, m) in mails.iter().enumerate() {
        std::fs::write(mails_dir.join(format!("{i:05}.eml")), m).unwrap();
    }
    if !mails.is_empty() {
        let o = supportd(&cfg, &["ingest", "--no-send", mails_dir.to_str().unwrap()]);
        assert!(o.status.success(), "ingest: {}", String::from_utf8_lossy(&o.stderr));
    }
    (dir, cfg)
}

/// Proves: `tickets list`, `messages list` and `outbox list` filter and
/// page in SQL: `--limit` pages, `--after` continues exactly after the last
/// row shown (pages add up to the whole list, no row twice), `--status`,
/// `--customer`, `--ticket`, `--from` / `--recipient`, `--since` select the
/// right rows, bad values are usage errors naming the flag, and each
/// listing's query plan reads an index, never the whole table.
#[test]
fn listings_filter_and_page_in_sql() {
    let mut mails = Vec::new();
    for i in 0..12 {
        let from = if i % 3 == 0 { "jane@harbour-analytics.co.uk" } else { "m.keller@stadtwerke-musterstadt.de" };
        mails.push(common::mail(
            from,
            &format!("Frage {i} zum Export"),
            &format!("l{i}@x"),
            "",
            "Wie exportiere ich das?",
        ));
    }
    let (_dir, cfg) = store_with("", &mails);
    let all = ok_json(&supportd(&cfg, &["tickets", "list", "--json"]));
    assert_eq!(all.len(), 12);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["tickets", "list", "--json", "--limit", "5"];
        let a;
        if let Some(t) = &after {
            a = t.clone();
            args.extend(["--after", a.as_str()]);
        }
        let page = ok_json(&supportd(&cfg, &args));
        assert!(page.len() <= 5);
        if page.is_empty() {
            break;
        }
        after = Some(page.last().unwrap()["tag"].as_str().unwrap().to_string());
        paged.extend(page);
    }
    assert_eq!(paged, all, "three pages of at most 5 are the whole list, in order");
    let sw = ok_json(&supportd(&cfg, &["tickets", "list", "--json", "--customer", "stadtwerke musterstadt"]));
    assert_eq!(sw.len(), 8);
    let jane = ok_json(&supportd(&cfg, &["tickets", "list", "--json", "--customer", "jane@harbour-analytics.co.uk"]));
    assert_eq!(jane.len(), 4);
    assert!(ok_json(&supportd(&cfg, &["tickets", "list", "--json", "--since", "2999-01-01"])).is_empty());
    assert_eq!(ok_json(&supportd(&cfg, &["tickets", "list", "--json", "--since", "2000-01-01"])).len(), 12);
    assert_eq!(ok_json(&supportd(&cfg, &["tickets", "list", "--json", "--status", "new"])).len(), 12);

    let m = ok_json(&supportd(&cfg, &["messages", "list", "--json", "--ticket", "MT-000003"]));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["message_id"], "l2@x");
    let from = ok_json(&supportd(&cfg, &["messages", "list", "--json", "--from", "JANE@harbour-analytics.co.uk"]));
    assert_eq!(from.len(), 4);
    let p2 = ok_json(&supportd(&cfg, &["messages", "list", "--json", "--limit", "3", "--after", "3"]));
    assert_eq!(p2.iter().map(|v| v["id"].as_i64().unwrap()).collect::<Vec<_>>(), [4, 5, 6]);
    assert_eq!(ok_json(&supportd(&cfg, &["messages", "list", "--json", "--status", "new_ticket"])).len(), 12);

    let to_jane =
        ok_json(&supportd(&cfg, &["outbox", "list", "--json", "--recipient", "jane@harbour-analytics.co.uk"]));
    assert_eq!(to_jane.len(), 4, "one ack each");
    assert!(to_jane.iter().all(|o| o["kind"] == "ack"));
    let t1 = ok_json(&supportd(&cfg, &["outbox", "list", "--json", "--ticket", "1", "--state", "queued"]));
    assert!(!t1.is_empty() && t1.iter().all(|o| o["ticket"] == "MT-000001"));
    let first = ok_json(&supportd(&cfg, &["outbox", "list", "--json", "--limit", "1"]));
    assert_eq!(first.len(), 1);

    for (args, flag) in [
        (vec!["tickets", "list", "--since", "gestern"], "--since"),
        (vec!["messages", "list", "--ticket", "XY-1"], "--ticket"),
        (vec!["outbox", "list", "--after", "nope"], "--after"),
    ] {
        let o = supportd(&cfg, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag) && err.lines().count() == 1, "{args:?}: {err}");
    }

    // Each filter reads an index (SQLite's plan says SEARCH ... USING INDEX or the primary key), no full SCAN.
    let s = store::Store::open_existing(&_dir.path().join("var/supportd.sqlite3")).unwrap();
    for sql in [
        "SELECT id FROM tickets WHERE status = 'open' AND id > 5 ORDER BY id LIMIT 50",
        "SELECT id FROM tickets WHERE customer = 'x' COLLATE NOCASE ORDER BY id LIMIT 50",
        "SELECT id FROM messages WHERE ticket_id = 3 ORDER BY id LIMIT 50",
        "SELECT id FROM messages WHERE from_addr = 'x' COLLATE NOCASE ORDER BY id LIMIT 50",
        "SELECT id FROM outbox WHERE id IN (SELECT outbox_id FROM outbox_rcpt WHERE address = 'x') ORDER BY id LIMIT 50",
        "SELECT id FROM outbox WHERE state = 'queued' AND held IS NULL ORDER BY id LIMIT 50",
    ] {
        let plan: Vec<String> = s
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().all(|p| !p.starts_with("SCAN") || p.contains("USING")), "{sql}: {plan:?}");
    }
}

fn stored_raw_format(env: &Env, row: i64) -> (i64, Option<String>) {
    env.store
        .conn()
        .query_row("SELECT raw_format, raw_removed_at FROM messages WHERE id = ?1", [row], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
}

/// Proves: retention removes the raw bytes, attachment bodies and outgoing
/// mails of tickets closed before the cutoff, and nothing of open tickets,
/// of quarantined mails, or an attachment body another kept mail still
/// needs; the ticket rows, events and status history stay; a run is in
/// batches and a second run removes nothing; what it freed is in the
/// status figures; and the file hands the pages back (incremental vacuum).
#[test]
fn retention_removes_what_closed_tickets_no_longer_need() {
    use chrono::Duration;
    let mut env =
        Env::with_config("[retention]\nraw_after_days = 30\nattachments_after_days = 30\noutgoing_after_days = 30\n");
    let t0 = common::tuesday_morning() - Duration::days(90);
    let shot = noise(30_000, 11);
    let other = noise(50_000, 12);
    let a = env.ingest_at(
        &with_attachment("m.keller@stadtwerke-musterstadt.de", "r1@sw", "Fehler beim Speichern", "a.png", &shot),
        t0,
    );
    let reply = with_attachment("m.keller@stadtwerke-musterstadt.de", "r1b@sw", "Noch ein Bild", "b.png", &other);
    let reply = String::from_utf8(reply).unwrap().replacen("MIME-Version", "In-Reply-To: <r1@sw>\r\nMIME-Version", 1);
    let a2 = env.ingest_at(reply.as_bytes(), t0);
    assert_eq!(a2.ticket, a.ticket, "a reply on the first ticket");
    let b = env
        .ingest_at(&with_attachment("e.roth@stadtwerke-musterstadt.de", "r2@sw", "Auch bei uns", "a.png", &shot), t0);
    let spam = env.ingest_at(
        &common::mail(
            "news@shop.example",
            "Newsletter",
            "n1@x",
            "List-Unsubscribe: <mailto:u@x>\nPrecedence: bulk",
            "Angebote",
        ),
        t0,
    );
    let quarantined = env.ingest_at(b"", t0);
    assert_eq!(quarantined.disposition.as_str(), "quarantined");
    let (ta, tb) = (a.ticket.unwrap(), b.ticket.unwrap());
    assert_ne!(ta, tb);
    env.deliver_at(t0);
    store::set_status(env.store.conn(), ta, supportd::domain::Status::Closed, t0 + Duration::days(1), "test", None)
        .unwrap();
    let count = |env: &Env, sql: &str| env.count(sql);
    let events_before = count(&env, "SELECT count(*) FROM events");
    let history_before = count(&env, "SELECT count(*) FROM status_history");
    let ticket_before = serde_json::to_value(env.ticket(ta)).unwrap();
    let pages_before: i64 = env.store.conn().pragma_query_value(None, "page_count", |r| r.get(0)).unwrap();

    // 20 days after closing: nothing is old enough.
    let policy = env.p.cfg.retention;
    let f = store::retention::tick(env.store.conn_mut(), &policy, t0 + Duration::days(21)).unwrap();
    assert!(f.is_empty(), "{f:?}");

    // 90 days on, in batches of 200 until nothing is left.
    let now = common::tuesday_morning();
    let mut total = store::retention::Freed::default();
    loop {
        let f = store::retention::tick(env.store.conn_mut(), &policy, now).unwrap();
        if f.is_empty() {
            break;
        }
        total.raw_mails += f.raw_mails;
        total.attachments += f.attachments;
        total.blobs += f.blobs;
        total.outgoing += f.outgoing;
    }
    assert_eq!(total.raw_mails, 3, "the two mails of the closed ticket and the spam: {total:?}");
    assert_eq!(total.attachments, 2, "{total:?}");
    assert_eq!(total.blobs, 1, "b.png goes; a.png stays for the open ticket's mail: {total:?}");
    assert!(total.outgoing >= 1, "{total:?}");
    for row in [a.row, a2.row, spam.row] {
        assert!(stored_raw_format(&env, row).1.is_some(), "row {row} removed");
        assert_eq!(store::raw_bytes(env.store.conn(), row).unwrap().unwrap(), b"");
        let d = store::get_message(env.store.conn(), row).unwrap().unwrap();
        assert!(d.entry.disposition.is_some() && d.entry.subject.is_some(), "the facts stay");
    }
    for row in [b.row, quarantined.row] {
        assert_eq!(stored_raw_format(&env, row).1, None, "row {row} kept");
    }
    let braw = with_attachment("e.roth@stadtwerke-musterstadt.de", "r2@sw", "Auch bei uns", "a.png", &shot);
    assert_eq!(
        store::raw_bytes(env.store.conn(), b.row).unwrap().unwrap(),
        braw,
        "the shared body still serves the open ticket"
    );
    for o in env.outbox().into_iter().filter(|o| o.ticket_id == Some(ta)) {
        assert_eq!(store::outbox_raw(env.store.conn(), o.id).unwrap().unwrap(), b"", "outbox #{}", o.id);
    }
    for o in env.outbox().into_iter().filter(|o| o.ticket_id == Some(tb)) {
        assert!(!store::outbox_raw(env.store.conn(), o.id).unwrap().unwrap().is_empty(), "outbox #{}", o.id);
    }
    assert_eq!(serde_json::to_value(env.ticket(ta)).unwrap(), ticket_before, "the ticket row is untouched");
    assert_eq!(count(&env, "SELECT count(*) FROM events"), events_before);
    assert_eq!(count(&env, "SELECT count(*) FROM status_history"), history_before);
    let figures = supportd::status::figures(env.store.conn(), &env.p.cfg.store_path, now).unwrap();
    assert_eq!(figures.retention.raw_mails, 3);
    assert!(figures.retention.bytes > 50_000, "{:?}", figures.retention);
    let metrics = supportd::status::metrics_text(&figures, &Default::default(), now);
    assert!(metrics.contains("supportd_retention_removed_total{kind=\"raw_mail\"} 3"), "{metrics}");
    let pages_after: i64 = env.store.conn().pragma_query_value(None, "page_count", |r| r.get(0)).unwrap();
    let free: i64 = env.store.conn().pragma_query_value(None, "freelist_count", |r| r.get(0)).unwrap();
    assert_eq!(free, 0, "free pages handed back");
    assert!(pages_after < pages_before, "{pages_before} -> {pages_after} pages");
}

/// Proves: `supportd purge --older-than` through the binary: `--dry-run`
/// counts and changes nothing; the real run removes the same, shrinks the
/// file, and `status --json` shows what retention freed; bad days are a
/// usage error.
#[test]
fn purge_by_hand_dry_run_first() {
    let mut mails = Vec::new();
    for i in 0..6 {
        mails.push(with_attachment(
            "m.keller@stadtwerke-musterstadt.de",
            &format!("p{i}@sw"),
            &format!("Bild {i}"),
            "x.png",
            &noise(40_000, 100 + i),
        ));
    }
    let (dir, cfg) = store_with("", &mails);
    let db = dir.path().join("var/supportd.sqlite3");
    {
        // Four of the six tickets were closed 400 days ago (their mails are that old too).
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "UPDATE tickets SET status = 'closed', closed_at = '2025-01-01T00:00:00Z' WHERE id <= 4;
             UPDATE messages SET received_at = '2024-12-01T00:00:00Z' WHERE ticket_id <= 4;
             UPDATE outbox SET created_at = '2024-12-01T00:00:00Z', state = 'sent' WHERE ticket_id <= 4;",
        )
        .unwrap();
    }
    let dry = ok_json(&supportd(&cfg, &["purge", "--older-than", "365d", "--dry-run", "--json"]));
    assert_eq!(dry[0]["raw_mails"], 4);
    assert_eq!(dry[0]["attachments"], 4);
    assert_eq!(dry[0]["blobs"], 4);
    let again = ok_json(&supportd(&cfg, &["purge", "--older-than", "365", "--dry-run", "--json"]));
    assert_eq!(again[0]["raw_mails"], 4, "a dry run changed nothing");
    let real = ok_json(&supportd(&cfg, &["purge", "--older-than", "365", "--json"]));
    for k in ["raw_mails", "attachments", "blobs"] {
        assert_eq!(real[0][k], dry[0][k], "{k}");
    }
    assert!(real[0]["outgoing"].as_i64().unwrap() >= 4);
    let (before, after) =
        (real[0]["store_bytes_before"].as_i64().unwrap(), real[0]["store_bytes_after"].as_i64().unwrap());
    assert!(after < before - 100_000, "store {before} -> {after} bytes");
    let status = supportd(&cfg, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let figures = if v.get("figures").is_some() { &v["figures"] } else { &v };
    assert_eq!(figures["retention"]["raw_mails"], 4, "{v}");
    let shown = ok_json(&supportd(&cfg, &["messages", "show", "1", "--json"]));
    assert!(shown[0]["raw_removed_at"].is_string(), "{shown:?}");
    assert!(shown[0]["raw_size"].as_i64().unwrap() > 40_000);
    assert_eq!(shown[0]["size"], 0);
    let text = supportd(&cfg, &["messages", "show", "1"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("raw bytes were removed"));
    let none = ok_json(&supportd(&cfg, &["purge", "--older-than", "365", "--json"]));
    assert_eq!(none[0]["raw_mails"], 0);
    let bad = supportd(&cfg, &["purge", "--older-than", "ein jahr"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--older-than"));
}

/// Every text and blob value of every table (raw mails, trails, outgoing
/// mails and attachment bodies decompressed), lowercase, with where it is.
fn everything(conn: &rusqlite::Connection) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v = match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        String::from_utf8_lossy(b).to_lowercase()
                    }
                    _ => continue,
                };
                out.push((format!("{t}[{i}]"), v));
            }
        }
    }
    let ids = |sql: &str| -> Vec<i64> {
        conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    for id in ids("SELECT id FROM messages") {
        let raw = store::raw_bytes(conn, id).unwrap().unwrap();
        out.push((format!("raw mail #{id}"), String::from_utf8_lossy(&raw).to_lowercase()));
        // The trail, packed since migration 0020.
        let trail = store::dict::trail_of(conn, id).unwrap().unwrap_or_default();
        out.push((format!("trail of mail #{id}"), trail.to_lowercase()));
        // The new text, packed with the trail since 2026-12.
        let text = store::message_new_text(conn, id).unwrap().unwrap_or_default();
        out.push((format!("new text of mail #{id}"), text.to_lowercase()));
    }
    for id in ids("SELECT id FROM outbox") {
        let raw = store::outbox_raw(conn, id).unwrap().unwrap();
        out.push((format!("outgoing mail #{id}"), String::from_utf8_lossy(&raw).to_lowercase()));
    }
    let shas: Vec<String> = conn
        .prepare("SELECT sha256 FROM blobs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for sha in shas {
        if let Some(b) = store::blob(conn, &sha).unwrap() {
            out.push((format!("attachment {sha}"), String::from_utf8_lossy(&b).to_lowercase()));
        }
    }
    out
}

fn file_has(path: &std::path::Path, needle: &str) -> bool {
    let mut bytes = std::fs::read(path).unwrap();
    let wal = path.with_extension("sqlite3-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    let n = needle.as_bytes();
    bytes.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Proves: `supportd forget ADDRESS` through the binary erases a person:
/// afterwards neither the address nor the display name is in any column of
/// any table, in any decompressed raw mail (theirs, ours to them, a
/// colleague's mail that named them), in any attachment body, nor anywhere
/// in the store file's bytes (free pages included: secure_delete, WAL
/// folded in, pages handed back); `--dry-run` changes nothing; the counts
/// the reports need stay (tickets by customer, category, level, status);
/// the colleague's own ticket keeps its mail; and the receipt names the
/// requester, the time and a SHA-256 of the address, never the address.
#[test]
fn forget_leaves_nothing_of_the_person() {
    let keller = "m.keller@stadtwerke-musterstadt.de";
    let mut first = common::mail(
        keller,
        "Dienstplan speichern geht nicht",
        "k1@sw",
        "",
        "Guten Tag,\n\nder Dienstplan lässt sich nicht speichern.\n\nMit freundlichen Grüßen\nMax Keller\n",
    );
    first = String::from_utf8(first)
        .unwrap()
        .replacen(&format!("From: {keller}"), &format!("From: Max Keller <{keller}>"), 1)
        .into_bytes();
    let log = b"Protokoll von Max Keller, Stadtwerke: Fehler 500 beim Speichern.\n".repeat(40);
    let with_log = String::from_utf8(with_attachment(
        keller,
        "k2@sw",
        "Re: Dienstplan speichern geht nicht",
        "protokoll.txt",
        &log,
    ))
    .unwrap()
    .replacen("MIME-Version", "In-Reply-To: <k1@sw>\r\nMIME-Version", 1)
    .replacen(&format!("From: {keller}"), &format!("From: Max Keller <{keller}>"), 1)
    .into_bytes();
    let colleague = common::mail(
        "e.roth@stadtwerke-musterstadt.de",
        "Export der Monatsübersicht",
        "r1@sw",
        "",
        &format!(
            "Guten Tag,\n\nwie exportiere ich die Monatsübersicht? Herr Max Keller ({keller}) ist im Urlaub.\n\nE. Roth\n"
        ),
    );
    let other =
        common::mail("jane@harbour-analytics.co.uk", "Export question", "j1@h", "", "How do I export the timesheet?");
    let (dir, cfg) = store_with("", &[first, with_log, colleague, other]);
    let db = dir.path().join("var/supportd.sqlite3");
    let counts = |db: &std::path::Path| -> Vec<(String, String, i64, String, i64)> {
        let c = rusqlite::Connection::open(db).unwrap();
        c.prepare("SELECT coalesce(customer, ''), category, level, status, count(*) FROM tickets GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = counts(&db);
    let terms = [keller, "max keller"];
    {
        let s = store::Store::open_existing(&db).unwrap();
        let all = everything(s.conn());
        for t in terms {
            assert!(all.iter().any(|(_, v)| v.contains(t)), "{t} is in the store before");
        }
    }
    assert!(file_has(&db, keller), "the address is in the file's bytes before");

    let dry = ok_json(&supportd(&cfg, &["forget", keller, "--dry-run", "--json", "--by", "dsb"]));
    assert_eq!(dry[0]["tickets"], 1, "{dry:?}");
    assert_eq!(dry[0]["messages"], 2, "{dry:?}");
    // The colleague's mail names him, and so does our notification quoting it.
    assert!(dry[0]["other_mails"].as_i64().unwrap() >= 1, "{dry:?}");
    assert!(ok_json(&supportd(&cfg, &["forget", "--receipts", "--json"])).is_empty(), "a dry run writes no receipt");
    assert!(file_has(&db, keller), "a dry run changes nothing");

    let done = ok_json(&supportd(&cfg, &["forget", keller, "--json", "--by", "Datenschutz (Ticket 4711)"]));
    assert_eq!(done[0]["tickets"], dry[0]["tickets"]);
    assert_eq!(done[0]["messages"], dry[0]["messages"]);
    let s = store::Store::open_existing(&db).unwrap();
    for (where_, v) in everything(s.conn()) {
        for t in terms {
            assert!(!v.contains(t), "{t} still in {where_}: {}", &v[..v.len().min(300)]);
        }
        assert!(!v.contains("keller"), "keller still in {where_}");
    }
    drop(s);
    for t in [keller, "Max Keller", "m.keller"] {
        assert!(!file_has(&db, t), "{t} still in the store file's bytes");
    }
    assert_eq!(counts(&db), before, "the report figures stay");
    // Jane's ticket and mail are untouched; the colleague's ticket stays (its mail's bytes went: they named him).
    let m = ok_json(&supportd(&cfg, &["messages", "list", "--json", "--from", "jane@harbour-analytics.co.uk"]));
    let s = store::Store::open_existing(&db).unwrap();
    assert!(!store::raw_bytes(s.conn(), m[0]["id"].as_i64().unwrap()).unwrap().unwrap().is_empty());
    drop(s);

    let receipts = ok_json(&supportd(&cfg, &["forget", "--receipts", "--json"]));
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["kind"], "address");
    assert_eq!(receipts[0]["requested_by"], "Datenschutz (Ticket 4711)");
    assert_eq!(receipts[0]["subject_sha256"], supportd::parse::sha256_hex(keller.as_bytes()));
    assert_eq!(receipts[0]["summary"]["messages"], 2);
    let text = supportd(&cfg, &["forget", "--receipts"]);
    assert!(!String::from_utf8_lossy(&text.stdout).contains("keller"));
    let bad = supportd(&cfg, &["forget", "keller"]);
    assert_eq!(bad.status.code(), Some(2), "not an address or a domain");
}

/// Proves: a new ticket's `created` event keeps its classification reasons
/// once, in the creating mail's (compressed) trail: the event's stored
/// detail ends in the marker instead and names no rule. `tickets show
/// --json` and `ingest --dry-run` still show the whole detail: the head,
/// then exactly the reasons of the trail's classify line. After `forget`
/// the trail is gone and the marker stays, naming nothing of the person.
#[test]
fn a_created_events_reasons_are_kept_once_and_shown_whole() {
    let keller = "m.keller@stadtwerke-musterstadt.de";
    let body = "Guten Tag,\n\nFrau Müller braucht Zugriff auf die Auswertungen, bisher kommt \"keine Berechtigung\".\n\nM. Keller\n";
    let mail = common::mail(keller, "Berechtigung für Auswertungen", "u1@sw", "", body);
    let (dir, cfg) = store_with("", std::slice::from_ref(&mail));
    let db = dir.path().join("var/supportd.sqlite3");
    let (stored, row): (String, i64) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT detail, message_row FROM events WHERE kind = 'created'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let head = stored.strip_suffix(store::events::REASONS_IN_TRAIL).expect(&stored);
    assert!(head.starts_with("category user_management (confidence ") && head.ends_with(": "), "{stored}");
    assert!(!stored.contains("rule") && !stored.contains("zugriff"), "the reasons are stored again: {stored}");

    let s = store::Store::open_existing(&db).unwrap();
    let trail: Vec<String> = serde_json::from_str(&store::dict::trail_of(s.conn(), row).unwrap().unwrap()).unwrap();
    let classify = trail.iter().find(|l| l.starts_with("classify: ")).expect("a classify line");
    let reasons = classify.split_once("): ").unwrap().1;
    assert!(reasons.contains("rule '") && reasons.contains("zugriff"), "{classify}");
    drop(s);
    let whole = format!("{head}{reasons}");
    let shown = ok_json(&supportd(&cfg, &["tickets", "show", "MT-000001", "--json"]));
    let created: Vec<&serde_json::Value> =
        shown[0]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "created").collect();
    assert_eq!(created.len(), 1, "{shown:?}");
    assert_eq!(created[0]["detail"], whole.as_str());
    let text = String::from_utf8(supportd(&cfg, &["tickets", "show", "MT-000001"]).stdout).unwrap();
    assert!(text.contains(reasons) && !text.contains(store::events::REASONS_IN_TRAIL), "{text}");

    // A dry run of another such mail (nothing is kept) prints the whole detail too.
    let eml = dir.path().join("u2.eml");
    std::fs::write(&eml, common::mail(keller, "Berechtigung für Berichte", "u2@sw", "", body)).unwrap();
    let dry = ok_json(&supportd(&cfg, &["ingest", "--dry-run", eml.to_str().unwrap()]));
    let dry_created: Vec<&serde_json::Value> =
        dry[0]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "created").collect();
    assert_eq!(dry_created.len(), 1, "{dry:?}");
    let detail = dry_created[0]["detail"].as_str().unwrap();
    assert!(detail.contains("rule '") && !detail.contains(store::events::REASONS_IN_TRAIL), "{detail}");

    assert!(supportd(&cfg, &["forget", keller, "--by", "test"]).status.success());
    let shown = ok_json(&supportd(&cfg, &["tickets", "show", "MT-000001", "--json"]));
    let created = shown[0]["events"].as_array().unwrap().iter().find(|e| e["kind"] == "created").unwrap();
    let after = created["detail"].as_str().unwrap();
    assert!(after.ends_with(store::events::REASONS_IN_TRAIL) && !after.contains("zugriff"), "{after}");
}

/// Proves: a mail's new text is kept once, packed with its trail (the
/// column stays NULL), and every reader gets it back: `messages show
/// --json`, the ticket's latest customer text, the trail still parses; a
/// row from before (text in the column) reads as it did.
#[test]
fn a_mails_new_text_is_packed_with_its_trail() {
    let mut env = Env::new();
    let body = "Guten Tag,\n\nder Export der Monatsübersicht bricht mit Fehler 500 ab.\n\nM. Keller\n";
    let o = env.ingest(&common::mail("m.keller@stadtwerke-musterstadt.de", "Export bricht ab", "n1@sw", "", body));
    let conn = env.store.conn();
    let column: Option<String> =
        conn.query_row("SELECT new_text FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
    assert_eq!(column, None, "the text is not kept a second time in the column");
    let text = store::message_new_text(conn, o.row).unwrap().expect("a new text");
    assert!(text.contains("bricht mit Fehler 500 ab"), "{text}");
    let packed: Vec<u8> =
        conn.query_row("SELECT data FROM message_trails WHERE message_row = ?1", [o.row], |r| r.get(0)).unwrap();
    assert!(packed.len() < text.len() + 400, "packed: {} bytes", packed.len());
    let trail: Vec<String> = serde_json::from_str(&store::dict::trail_of(conn, o.row).unwrap().unwrap()).unwrap();
    assert!(trail.iter().any(|l| l.starts_with("classify: ")), "{trail:?}");
    let detail = store::get_message(conn, o.row).unwrap().unwrap();
    assert_eq!(detail.new_text.as_deref(), Some(text.as_str()));
    assert_eq!(detail.trail, trail);
    assert_eq!(store::latest_customer_text(conn, o.ticket.unwrap()).unwrap().as_deref(), Some(text.as_str()));

    // A row stored before: its text in the column, a trail without one.
    conn.execute("UPDATE messages SET new_text = 'Alter Text.' WHERE id = ?1", [o.row]).unwrap();
    store::dict::put_trail(conn, o.row, &trail, None).unwrap();
    assert_eq!(store::message_new_text(conn, o.row).unwrap().as_deref(), Some("Alter Text."));
    conn.execute("UPDATE messages SET new_text = NULL WHERE id = ?1", [o.row]).unwrap();
    assert_eq!(store::message_new_text(conn, o.row).unwrap(), None, "no text anywhere: none");
    assert_eq!(
        store::dict::trail_of(conn, o.row).unwrap().map(|t| serde_json::from_str::<Vec<String>>(&t).unwrap()),
        Some(trail)
    );
}

/// Proves: attachment bodies of every size read back byte for byte from
/// `blobs.data` and their tail pieces (migration 0024), removing a body
/// deletes its pieces, and a removed body brought again is whole. And
/// that the split packs pages: 300 random bodies of 1–60 KB take less
/// than 2 % more pages than their bytes, and at most two thirds of the
/// overhead of whole-row bodies (the layout before, in a store of its own:
/// 1.75 % against 3.20 % when this was written).
#[test]
fn attachment_bodies_read_back_whole_and_fill_their_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = store::Store::open(&dir.path().join("s.sqlite3")).unwrap();
    let c = s.conn();
    let pages = |c: &rusqlite::Connection| -> i64 { c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap() };
    for n in [0, 1, 100, 3_000, 3_600, 3_700, 4_092, 4_600, 8_184, 40_000, 123_457] {
        let data = noise(n, n as u32 + 1);
        let sha = store::put_blob(c, &data).unwrap();
        assert_eq!(store::blob(c, &sha).unwrap().unwrap(), data, "{n} bytes");
        let text = b"Protokoll: Speichern fehlgeschlagen (Vorgang 1195)\n".repeat(n / 50 + 1);
        let sha = store::put_blob(c, &text).unwrap();
        assert_eq!(store::blob(c, &sha).unwrap().unwrap(), text, "{n} bytes of text");
    }
    let big = noise(50_000, 99);
    let sha = store::put_blob(c, &big).unwrap();
    let pieces =
        |c: &rusqlite::Connection| -> i64 { c.query_row("SELECT count(*) FROM blob_tails", [], |r| r.get(0)).unwrap() };
    let before = pieces(c);
    let (first, n): (i64, i64) = c
        .query_row("SELECT tail_first, tail_pieces FROM blobs WHERE sha256 = ?1", [&sha], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(n >= 1, "a 50,000-byte body has a tail");
    assert!(store::compact::remove_blob(c, &sha).unwrap());
    assert_eq!(pieces(c), before - n, "its pieces went with it");
    let left: i64 = c
        .query_row("SELECT count(*) FROM blob_tails WHERE id >= ?1 AND id < ?1 + ?2", [first, n], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(store::blob(c, &sha).unwrap(), None, "removed");
    store::compact::put_known_blob(c, &sha, &big, None, true).unwrap();
    assert_eq!(store::blob(c, &sha).unwrap().unwrap(), big, "brought again, whole");

    // Packing: the same bodies in this store and as whole rows.
    let old = rusqlite::Connection::open(dir.path().join("old.sqlite3")).unwrap();
    old.execute_batch("CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL, codec INTEGER NOT NULL DEFAULT 0) STRICT").unwrap();
    let (new0, old0) = (pages(c), pages(&old));
    let mut bytes = 0usize;
    let mut x = 7u32;
    for i in 0..300u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = 1_000 + (x >> 8) as usize % 59_000;
        let data = noise(n, 1_000 + i);
        bytes += n;
        let sha = store::put_blob(c, &data).unwrap();
        old.execute(
            "INSERT INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)",
            rusqlite::params![sha, n as i64, data],
        )
        .unwrap();
    }
    let used = |p: i64| (p * 4096) as f64 / bytes as f64 - 1.0;
    let (new_over, old_over) = (used(pages(c) - new0), used(pages(&old) - old0));
    assert!(new_over < 0.02 && new_over * 1.5 < old_over, "overhead: split {new_over:.4}, whole rows {old_over:.4}");
}

/// `n` customers ask a question each: an ack and a team notification per mail are queued.
fn ask_questions(env: &mut Env, n: usize) {
    for i in 0..n {
        env.ingest(&common::mail(
            &format!("k{i}@stadtwerke-musterstadt.de"),
            &format!("Frage {i}"),
            &format!("q{i}@sw"),
            "",
            "Wie geht das?",
        ));
    }
}

/// Proves: an outgoing mail whose stored bytes cannot be read (a damaged
/// row) fails alone, with the reason as its error, and the rest of the
/// queue is sent in the same pass (the raw bytes are read per row, once it
/// is claimed, not for 50 due rows at once up front).
#[test]
fn an_unreadable_outgoing_mail_fails_alone() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut env = Env::new();
    ask_questions(&mut env, 2);
    let queued: Vec<i64> = env.outbox().into_iter().filter(|o| o.state == "queued").map(|o| o.id).collect();
    assert_eq!(queued.len(), 4);
    let damaged = queued[1];
    env.store
        .conn()
        .execute(
            "UPDATE outbox SET raw = x'28b52ffd0011223344', raw_format = ?1 WHERE id = ?2",
            rusqlite::params![store::compact::ZSTD, damaged],
        )
        .unwrap();
    let transport = supportd::transport::Transport::from_config(&env.p.cfg).unwrap();
    let store = std::sync::Arc::new(std::sync::Mutex::new(std::mem::replace(
        &mut env.store,
        store::Store::open_in_memory().unwrap(),
    )));
    let pass = rt
        .block_on(supportd::outbox::deliver_due(
            &store,
            &transport,
            "mein-team-support@roewaplan.de",
            common::tuesday_morning,
        ))
        .unwrap();
    assert_eq!((pass.sent, pass.failed), (3, 1), "{pass:?}");
    env.store = std::sync::Arc::try_unwrap(store).ok().unwrap().into_inner().unwrap();
    let rows = env.outbox();
    let bad = rows.iter().find(|o| o.id == damaged).unwrap();
    assert_eq!(bad.state, "failed");
    assert!(bad.last_error.as_deref().unwrap_or("").contains("the stored mail cannot be read"), "{bad:?}");
    assert_eq!(rows.iter().filter(|o| o.state == "sent").count(), 3);
    assert_eq!(std::fs::read_dir(env.dir.path().join("var/outbox")).unwrap().count(), 3);
}

/// Proves: `[transport] max_per_minute = 3` holds through the outbox
/// worker: 8 queued mails go out in 3 + 3 + 2 over two more minutes (on
/// tokio's paused clock: the test takes no real minutes), every one of them
/// is written, and without a limit they go at once; a stop request ends
/// the wait within a second of (virtual) time; a bad value is named by
/// check-config.
#[test]
fn sending_is_capped_per_minute() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    for (limit, want_min, want_max) in [(Some(3), 120, 179), (None, 0, 1)] {
        let mut env = match limit {
            Some(n) => Env::with_replaced(
                "kind = \"file\"\npath = \"../var/outbox\"",
                &format!("kind = \"file\"\npath = \"../var/outbox\"\nmax_per_minute = {n}"),
            ),
            None => Env::new(),
        };
        ask_questions(&mut env, 4);
        let queued: Vec<_> = env.outbox().into_iter().filter(|o| o.state == "queued").collect();
        assert_eq!(queued.len(), 8, "an ack and a team notification per mail");
        let transport = supportd::transport::Transport::from_config(&env.p.cfg).unwrap();
        let store = std::sync::Arc::new(std::sync::Mutex::new(std::mem::replace(
            &mut env.store,
            store::Store::open_in_memory().unwrap(),
        )));
        let (pass, took) = rt.block_on(async {
            let started = tokio::time::Instant::now();
            let pass = supportd::outbox::deliver_due(
                &store,
                &transport,
                "mein-team-support@roewaplan.de",
                common::tuesday_morning,
            )
            .await
            .unwrap();
            (pass, started.elapsed().as_secs())
        });
        assert_eq!(pass.sent, 8, "{pass:?}");
        assert!((want_min..=want_max).contains(&took), "limit {limit:?}: 8 mails took {took} s");
        let written = std::fs::read_dir(env.dir.path().join("var/outbox")).unwrap().count();
        assert_eq!(written, 8);
    }
    // A stop request ends the wait for a slot.
    let env = Env::with_replaced(
        "kind = \"file\"\npath = \"../var/outbox\"",
        "kind = \"file\"\npath = \"../var/outbox\"\nmax_per_minute = 1",
    );
    let transport = supportd::transport::Transport::from_config(&env.p.cfg).unwrap();
    rt.block_on(async {
        assert!(transport.wait_for_slot(&|| false).await);
        let t = tokio::time::Instant::now();
        assert!(!transport.wait_for_slot(&|| t.elapsed() >= std::time::Duration::from_secs(5)).await);
        assert!(t.elapsed() < std::time::Duration::from_secs(7), "{:?}", t.elapsed());
    });
    let (_dir, cfg) = store_with("", &[]);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("path = \"../var/outbox\"", "path = \"../var/outbox\"\nmax_per_minute = -1\nmax_concurrency = 0");
    std::fs::write(&cfg, text).unwrap();
    let o = supportd(&cfg, &["check-config"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr) + String::from_utf8_lossy(&o.stdout);
    assert!(err.contains("transport.max_per_minute") && err.contains("transport.max_concurrency"), "{err}");
}

/// Proves: `supportd forget DOMAIN` erases a whole customer: no column,
/// no decompressed mail and no byte of the file holds the domain
/// afterwards; the other customer's mails are untouched; the receipt says
/// `domain`.
#[test]
fn forget_a_domain_erases_the_customer() {
    let mails = vec![
        common::mail(
            "jane@harbour-analytics.co.uk",
            "Export question",
            "j1@h",
            "",
            "How do I export the timesheet? Tom Baker asked too.",
        ),
        common::mail(
            "tom.baker@harbour-analytics.co.uk",
            "New user",
            "t1@h",
            "",
            "Please create an account for our colleague.",
        ),
        with_attachment(
            "m.keller@stadtwerke-musterstadt.de",
            "k1@sw",
            "Fehler beim Speichern",
            "a.png",
            &noise(5_000, 1),
        ),
    ];
    let (dir, cfg) = store_with("", &mails);
    let db = dir.path().join("var/supportd.sqlite3");
    assert!(file_has(&db, "harbour-analytics"));
    let done = ok_json(&supportd(&cfg, &["forget", "harbour-analytics.co.uk", "--json", "--by", "dsb"]));
    assert_eq!(done[0]["tickets"], 2, "{done:?}");
    assert_eq!(done[0]["vacuumed"], true);
    let s = store::Store::open_existing(&db).unwrap();
    for (where_, v) in everything(s.conn()) {
        assert!(!v.contains("harbour-analytics"), "still in {where_}");
    }
    let keller =
        ok_json(&supportd(&cfg, &["messages", "list", "--json", "--from", "m.keller@stadtwerke-musterstadt.de"]));
    assert_eq!(store::raw_bytes(s.conn(), keller[0]["id"].as_i64().unwrap()).unwrap().unwrap(), mails[2]);
    drop(s);
    assert!(!file_has(&db, "harbour-analytics"));
    let r = ok_json(&supportd(&cfg, &["forget", "--receipts", "--json"]));
    assert_eq!(r[0]["kind"], "domain");
}

/// Proves: how long one SMTP send may take grows with the mail's size
/// (`smtp::send_bound`: a fixed part plus the size at 16 KiB/s). A relay
/// that needs 1.5 s per mail takes a 64 KiB mail with a fixed part of
/// 300 ms; a 1 KiB mail, whose bound is under 400 ms, times out as before.
/// A fixed bound failed a large mail on every try over a slow upstream,
/// and, as a timeout suspends the relay, the queue behind it waited.
#[test]
fn an_smtp_send_may_take_longer_the_larger_the_mail() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let relay = SmtpPeer::start(std::time::Duration::from_millis(1500), None);
    let mail = |n: usize| {
        format!(
            "From: mein-team-support@roewaplan.de\r\nTo: support-1st@roewaplan.de\r\nSubject: x\r\n\r\n{}\r\n",
            "Protokollzeile 0123456789\r\n".repeat(n / 27)
        )
        .into_bytes()
    };
    let (large, small) = (mail(64 * 1024), mail(1024));
    assert!(
        supportd::smtp::send_bound(large.len()) >= supportd::smtp::send_bound(0) + std::time::Duration::from_secs(4)
    );
    let to = vec!["support-1st@roewaplan.de".to_string()];
    let (big, little) = rt.block_on(async {
        let mut t = supportd::smtp::SmtpTransport::new(&relay.settings()).unwrap();
        t.set_send_base(std::time::Duration::from_millis(300));
        let from = "mein-team-support@roewaplan.de";
        (t.send_raw(from, &to, &large).await, t.send_raw(from, &to, &small).await)
    });
    assert!(big.is_ok(), "{big:?}");
    let e = little.expect_err("a small mail's bound is under the relay's 1.5 s");
    assert!(e.message().contains("timed out"), "{e:?}");
    assert!(!e.is_permanent());
    assert_eq!(relay.taken(), 1, "the large mail went through");
}

/// Proves: a send that may outlast the claim's lease (3 minutes) keeps its
/// claim: while a team notification carrying a 4 MB file is with the relay,
/// its row is not due again before the send's bound (so a second sender
/// cannot claim it and send it twice), and the daemon's watchdog is told
/// to wait that long for the group.
#[test]
fn a_large_send_keeps_its_claim_and_tells_the_watchdog() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let relay = SmtpPeer::start(std::time::Duration::from_millis(1500), None);
    let smtp = format!("kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"", relay.port);
    let mut env = Env::with_replaced("kind = \"file\"\npath = \"../var/outbox\"", &smtp);
    let file = noise(4 << 20, 3);
    env.ingest(&with_attachment("m.keller@stadtwerke-musterstadt.de", "big@sw", "Fehler", "dump.png", &file));
    let (id, size): (i64, i64) = env
        .store
        .conn()
        .query_row("SELECT id, raw_size FROM outbox WHERE kind = 'notify_agents'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let bound = supportd::smtp::send_bound(size as usize);
    assert!(bound > std::time::Duration::from_secs(240), "{bound:?}: not longer than the lease, proves nothing");
    let store = std::sync::Arc::new(std::sync::Mutex::new(std::mem::replace(
        &mut env.store,
        store::Store::open_in_memory().unwrap(),
    )));
    let cfg = env.p.cfg.clone();
    let expected = std::sync::Arc::new(std::sync::Mutex::new(std::time::Duration::ZERO));
    let (s2, e2) = (store.clone(), expected.clone());
    let lease_during = rt.block_on(async move {
        let transport = supportd::transport::Transport::from_config(&cfg).unwrap();
        let pass = tokio::spawn(async move {
            supportd::outbox::deliver_due_with(
                &s2,
                &transport,
                "mein-team-support@roewaplan.de",
                common::tuesday_morning,
                || false,
                move |d| {
                    let mut e = e2.lock().unwrap();
                    *e = (*e).max(d);
                },
            )
            .await
            .unwrap()
        });
        let mut lease = None;
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let s = store.lock().unwrap();
            let (state, next, err): (String, String, Option<String>) = s
                .conn()
                .query_row("SELECT state, next_attempt_at, last_error FROM outbox WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            if state == "queued" && err.is_some_and(|e| e.starts_with(store::CLAIM_MARK)) {
                lease = Some(next);
                break;
            }
        }
        let p = pass.await.unwrap();
        assert_eq!(p.sent, 2, "{p:?}");
        lease
    });
    let lease = store::parse_ts(&lease_during.expect("the row seen while it was being sent")).unwrap();
    let claimed = common::tuesday_morning();
    assert!(
        lease >= claimed + chrono::Duration::from_std(bound).unwrap(),
        "due again at {lease}, before the send's bound {bound:?} after {claimed}"
    );
    assert!(*expected.lock().unwrap() >= bound, "the watchdog was told {:?}", expected.lock().unwrap());
    assert_eq!(relay.taken(), 2);
}

/// Proves: `[transport] max_concurrency` holds against a real (stub) SMTP
/// server that takes 300 ms per mail: with 4, the 8 queued mails are sent
/// up to 4 at once (more than one at a time, never more than 4) and the
/// pass takes about two rounds; with 1 (the default), never two at once.
#[test]
fn sends_in_flight_are_capped_by_max_concurrency() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for n in [4usize, 1] {
        let relay = SmtpPeer::start(std::time::Duration::from_millis(300), None);
        let smtp = format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nmax_concurrency = {n}",
            relay.port
        );
        let mut env = Env::with_replaced("kind = \"file\"\npath = \"../var/outbox\"", &smtp);
        for i in 0..4 {
            env.ingest(&common::mail(
                &format!("k{i}@stadtwerke-musterstadt.de"),
                &format!("Frage {i}"),
                &format!("c{i}@sw"),
                "",
                "Wie geht das?",
            ));
        }
        let store = std::sync::Arc::new(std::sync::Mutex::new(std::mem::replace(
            &mut env.store,
            store::Store::open_in_memory().unwrap(),
        )));
        let cfg = &env.p.cfg;
        // The SMTP client's connection pool lives on the runtime: built and dropped inside it.
        let (pass, took) = rt.block_on(async {
            let transport = supportd::transport::Transport::from_config(cfg).unwrap();
            assert_eq!(transport.concurrency(), n);
            let t = std::time::Instant::now();
            let pass = supportd::outbox::deliver_due(
                &store,
                &transport,
                "mein-team-support@roewaplan.de",
                common::tuesday_morning,
            )
            .await
            .unwrap();
            (pass, t.elapsed())
        });
        assert_eq!(pass.sent, 8, "{pass:?}");
        assert_eq!(relay.taken(), 8);
        let most = relay.most_at_once();
        if n == 1 {
            assert_eq!(most, 1, "one after the other");
            assert!(took >= std::time::Duration::from_millis(2400), "{took:?}");
        } else {
            assert!((2..=n).contains(&most), "{most} at once with max_concurrency {n}");
            assert!(took < std::time::Duration::from_millis(2000), "{took:?}");
        }
    }
}

/// Proves: the daemon applies `[retention]` on its clock (`run --once`
/// makes one clock pass): the raw mails and attachments of tickets closed
/// long ago go, the open ticket's stay, and `status --json` counts them.
#[test]
fn the_daemon_applies_retention_on_its_clock() {
    let mails: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            with_attachment(
                "m.keller@stadtwerke-musterstadt.de",
                &format!("d{i}@sw"),
                &format!("Bild {i}"),
                "x.png",
                &noise(20_000, 50 + i),
            )
        })
        .collect();
    let (dir, cfg) =
        store_with("[retention]\nraw_after_days = 90\nattachments_after_days = 90\noutgoing_after_days = 90\n", &mails);
    let db = dir.path().join("var/supportd.sqlite3");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "UPDATE tickets SET status = 'closed', closed_at = '2025-01-01T00:00:00Z' WHERE id <= 2;
             UPDATE messages SET received_at = '2024-12-01T00:00:00Z' WHERE ticket_id <= 2;
             UPDATE outbox SET created_at = '2024-12-01T00:00:00Z', state = 'sent' WHERE ticket_id <= 2;",
        )
        .unwrap();
    }
    let o = supportd(&cfg, &["run", "--once"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = rusqlite::Connection::open(&db).unwrap();
    let removed: Vec<Option<i64>> = c
        .prepare("SELECT ticket_id FROM messages WHERE raw_removed_at IS NOT NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(removed, [Some(1), Some(2)]);
    let live: i64 = c.query_row("SELECT count(*) FROM attachments WHERE removed_at IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(live, 1, "the open ticket's attachment stays");
    drop(c);
    let status = supportd(&cfg, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let figures = if v.get("figures").is_some() { &v["figures"] } else { &v };
    assert_eq!(figures["retention"]["raw_mails"], 2, "{v}");
    assert_eq!(figures["retention"]["attachments"], 2, "{v}");
}

/// Proves: `store.cache_mib` is checked (1–1024; check-config names a bad
/// value) and sets the page cache of the connection `ingest` and the daemon
/// open (`cli::open`: PRAGMA cache_size in KiB, negative); without it the
/// cache follows the store's size, 1 MiB for a small store and 1 MiB per
/// started GiB up to 4 for a large one.
#[test]
fn store_cache_mib_is_checked_and_sets_the_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    let text = common::config_text("");
    for (value, ok) in [("0", false), ("1025", false), ("4", true)] {
        std::fs::write(&cfg, text.replacen("[store]\n", &format!("[store]\ncache_mib = {value}\n"), 1)).unwrap();
        let o = supportd(&cfg, &["check-config"]);
        assert_eq!(o.status.success(), ok, "cache_mib = {value}: {o:?}");
        if !ok {
            let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            assert!(out.contains("store.cache_mib"), "{out}");
        }
    }
    for (extra, kib) in [("cache_mib = 4\n", -4096i64), ("", -1024)] {
        std::fs::write(&cfg, text.replacen("[store]\n", &format!("[store]\n{extra}"), 1)).unwrap();
        let c = supportd::cli::load_config(&cfg).unwrap();
        let (store, _) = supportd::cli::open(c).unwrap();
        let got: i64 = store.conn().pragma_query_value(None, "cache_size", |r| r.get(0)).unwrap();
        assert_eq!(got, kib, "{extra:?}");
    }
    const GIB: u64 = 1 << 30;
    for (bytes, mib) in [(0, 1), (4096, 1), (GIB, 1), (GIB + 1, 2), (3 * GIB, 3), (5 * GIB, 4), (100 * GIB, 4)] {
        assert_eq!(supportd::store::auto_cache_mib(bytes), mib, "{bytes} bytes");
    }
}
