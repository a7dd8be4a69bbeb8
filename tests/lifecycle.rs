//! Years of mail in one store: the compact store (zstd, attachments once),
//! listing in SQL, retention, erasure, sending limits.

mod common;

use common::Env;
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
    // The outgoing mails are compressed too and read back whole.
    for o in env.outbox() {
        let raw = store::outbox_raw(env.store.conn(), o.id).unwrap().unwrap();
        assert!(raw.starts_with(b"From: ") || raw.windows(6).any(|w| w == b"From: "), "outbox #{}", o.id);
        let f: i64 =
            env.store.conn().query_row("SELECT raw_format FROM outbox WHERE id = ?1", [o.id], |r| r.get(0)).unwrap();
        assert_eq!(f, 1);
    }
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

const BIN: &str = env!("CARGO_BIN_EXE_supportd");

fn supportd(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("SUPPORTD_CONFIG")
        .output()
        .unwrap()
}

fn ok_json(o: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
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
