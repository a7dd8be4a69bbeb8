//! The store's trained zstd dictionaries (`store::dict`, migration 0020):
//! mails compressed with and without one read back byte for byte, rows are
//! moved to a new dictionary in batches, retention retires one and erasure
//! drops every one that learned from the person.

mod common;
use common::{ok_json, supportd};

use std::path::{Path, PathBuf};

use supportd::store::{self, dict};

/// A config in a temp dir (Maildir in, `.eml` files out) whose store trains
/// a dictionary after `samples` rows.
fn setup(samples: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.path().join("var/inbox").join(sub)).unwrap();
    }
    let cfg = dir.path().join("config/supportd.toml");
    let text = common::config_text("");
    assert!(text.contains("[store]\n"));
    std::fs::write(&cfg, text.replacen("[store]\n", &format!("[store]\ndictionary_samples = {samples}\n"), 1)).unwrap();
    let db = dir.path().join("var/supportd.sqlite3");
    (dir, cfg, db)
}

/// `supportd ingest --no-send` of `mails` (one batch: fewer than 200 small mails).
fn ingest(dir: &Path, cfg: &Path, name: &str, mails: &[(String, Vec<u8>)]) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    for (i, (_, m)) in mails.iter().enumerate() {
        std::fs::write(d.join(format!("{i:05}.eml")), m).unwrap();
    }
    let o = supportd(cfg, &["ingest", "--no-send", d.to_str().unwrap()]);
    assert!(o.status.success(), "ingest: {}", String::from_utf8_lossy(&o.stderr));
}

const SENDERS: &[(&str, &str)] = &[
    ("Max Keller", "m.keller@stadtwerke-musterstadt.de"),
    ("Eva Roth", "e.roth@stadtwerke-musterstadt.de"),
    ("Jane Porter", "jane@harbour-analytics.co.uk"),
    ("Klaus Lang", "k.lang@gemeinde-irgendwo.de"),
];

const TOPICS: &[(&str, &str)] = &[
    (
        "Fehler beim Speichern des Dienstplans",
        "beim Speichern des Dienstplans erscheint seit heute Morgen die Fehlermeldung 500. Betroffen sind alle \
         Mitarbeiter der Abteilung Bürgerservice, die Änderungen gehen verloren.",
    ),
    (
        "Neuen Benutzer anlegen",
        "bitte legen Sie für unsere neue Kollegin Frau Weber einen Benutzer an und geben ihr die Rolle \
         Sachbearbeitung im Fachverfahren Gewerbe.",
    ),
    (
        "Frage zum Export",
        "wie kann ich die Monatsübersicht als CSV exportieren? Ich finde die Funktion im Menü nicht mehr, seit \
         die Oberfläche umgestellt wurde.",
    ),
];

/// Mail `i` from sender `who`: German text, every third one with a
/// base64 attachment (stored as a skeleton).
fn mail(i: usize, who: usize) -> (String, Vec<u8>) {
    let (name, addr) = SENDERS[who];
    let (subject, text) = TOPICS[i % TOPICS.len()];
    let id = format!("d{i}@test");
    let body = format!("Guten Tag,\n\n{text}\nVorgang {i}.\n\nMit freundlichen Grüßen\n{name}\n");
    let from = format!("{name} <{addr}>");
    if !i.is_multiple_of(3) {
        return (id.clone(), common::mail(&from, subject, &id, "", &body));
    }
    let data: Vec<u8> =
        (0..3000u32).map(|k| (k.wrapping_mul(2_654_435_761).wrapping_add(i as u32) >> 13) as u8).collect();
    let raw = format!(
        "From: {from}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Tue, 24 Nov 2026 09:55:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n\
         --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n\
         --XyZ\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"shot{i}.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--XyZ--\r\n",
        body.replace('\n', "\r\n"),
        common::b64_lines(&data)
    );
    (id, raw.into_bytes())
}

fn ids(conn: &rusqlite::Connection, sql: &str) -> Vec<i64> {
    conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn stored(conn: &rusqlite::Connection, table: &str, id: i64) -> Vec<u8> {
    conn.query_row(&format!("SELECT raw FROM {table} WHERE id = ?1"), [id], |r| r.get(0)).unwrap()
}

fn bytes_of(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT sum(length(raw)) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// Every incoming and outgoing mail and every trail as its reader gives it back.
fn read_all(conn: &rusqlite::Connection) -> Vec<(String, i64, Vec<u8>)> {
    let mut out = Vec::new();
    for id in ids(conn, "SELECT id FROM messages ORDER BY id") {
        out.push(("messages".into(), id, store::raw_bytes(conn, id).unwrap().unwrap()));
        let trail = dict::trail_of(conn, id).unwrap().unwrap_or_default();
        out.push(("trail".into(), id, trail.into_bytes()));
    }
    for id in ids(conn, "SELECT id FROM outbox ORDER BY id") {
        out.push(("outbox".into(), id, store::outbox_raw(conn, id).unwrap().unwrap()));
    }
    out
}

/// Each of `want` (table, row, bytes) reads back as those bytes.
fn reads_as(conn: &rusqlite::Connection, want: &[(String, i64, Vec<u8>)], what: &str) {
    let got = read_all(conn);
    for w in want {
        assert!(got.contains(w), "{what}: {} #{}", w.0, w.1);
    }
}

/// Proves: below `store.dictionary_samples` rows nothing is trained; once
/// trained, a new mail is compressed with the dictionary (its frame names
/// it) while the rows from before stay without one, and both kinds read
/// back exactly (skeletons with their attachments, outgoing mails); the
/// pass moves every row to the dictionary (the stored bytes shrink) with
/// the same bytes read back; mails ingested through the binary afterwards
/// are compressed with it and read back exactly (`messages show` gives
/// their size too); retention's retiring a dictionary makes the next one
/// take over and the retired one is deleted once no row uses it.
#[test]
fn mails_read_back_exactly_with_and_without_a_dictionary() {
    let (dir, cfg, db) = setup(40);
    let first: Vec<(String, Vec<u8>)> = (0..60).map(|i| mail(i, i % 4)).collect();
    ingest(dir.path(), &cfg, "first", &first);
    let now = chrono::Utc::now();
    let mut s = store::Store::open_existing_writable(&db).unwrap();
    let c = s.conn_mut();
    assert_eq!(ids(c, "SELECT count(*) FROM dictionaries"), [0], "trained before the batch, at 0 rows: none");
    let skeletons = ids(c, "SELECT count(*) FROM messages WHERE raw_format = 2")[0];
    assert!(skeletons >= 20, "{skeletons} skeletons");
    let before = read_all(c);
    for (id, raw) in
        first.iter().map(|(mid, raw)| (ids(c, &format!("SELECT id FROM messages WHERE message_id = '{mid}'"))[0], raw))
    {
        assert_eq!(&store::raw_bytes(c, id).unwrap().unwrap(), raw);
    }
    let (m0, o0) = (bytes_of(c, "messages"), bytes_of(c, "outbox"));

    // Trained, nothing recompressed yet: a store with rows of both kinds.
    let w = dict::tick(c, now, 40, 0).unwrap();
    assert_eq!(w.trained, 3, "{w:?}");
    let mail_dict = dict::current(c, dict::Kind::Mail).unwrap().expect("a mail dictionary");
    let out_dict = dict::current(c, dict::Kind::Outbox).unwrap().expect("an outbox dictionary");
    let trail_dict = dict::current(c, dict::Kind::Trail).unwrap().expect("a trail dictionary");
    let trail_bytes = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT sum(length(data)) FROM message_trails", [], |r| r.get(0)).unwrap()
    };
    let t0 = trail_bytes(c);
    let (extra_id, extra) = mail(1000, 1);
    let row = store::insert_raw(c, &extra, "h", "test", now).unwrap();
    assert_eq!(dict::dict_of(&stored(c, "messages", row)), Some(mail_dict));
    for (table, id, _) in before.iter().filter(|b| b.0 != "trail") {
        assert_eq!(dict::dict_of(&stored(c, table, *id)), None, "{table} #{id} compressed before the dictionary");
    }
    assert_eq!(store::raw_bytes(c, row).unwrap().unwrap(), extra, "{extra_id}");
    reads_as(c, &before, "rows without a dictionary read as before");

    // The pass: every row moved to the dictionaries, the same bytes read back.
    let w = dict::tick(c, now, 40, 10).unwrap();
    assert!(w.recompressed >= before.len() - 1, "{w:?}");
    for (table, id, _) in before.iter().filter(|b| b.0 != "trail") {
        let want = if table == "messages" { mail_dict } else { out_dict };
        assert_eq!(dict::dict_of(&stored(c, table, *id)), Some(want), "{table} #{id} after the pass");
        if table == "messages" {
            let t: Vec<u8> =
                c.query_row("SELECT data FROM message_trails WHERE message_row = ?1", [id], |r| r.get(0)).unwrap();
            assert_eq!(dict::dict_of(&t), Some(trail_dict), "trail of #{id} after the pass");
        }
    }
    reads_as(c, &before, "rows recompressed read back exactly");
    let (m1, o1, t1) = (bytes_of(c, "messages"), bytes_of(c, "outbox"), trail_bytes(c));
    eprintln!("stored bytes: mails {m0} -> {m1}, outgoing {o0} -> {o1}, trails {t0} -> {t1}");
    assert!(t1 * 10 < t0 * 7, "trails {t0} -> {t1}");
    assert!(m1 * 10 < m0 * 7, "mails {m0} -> {m1}");
    assert!(o1 * 10 < o0 * 7, "outgoing {o0} -> {o1}");
    drop(s);

    // Through the binary: new mails are compressed with the dictionary.
    let more: Vec<(String, Vec<u8>)> = (60..75).map(|i| mail(i, i % 4)).collect();
    ingest(dir.path(), &cfg, "more", &more);
    let mut s = store::Store::open_existing_writable(&db).unwrap();
    let c = s.conn_mut();
    for (mid, raw) in &more {
        let id = ids(c, &format!("SELECT id FROM messages WHERE message_id = '{mid}'"))[0];
        assert_eq!(dict::dict_of(&stored(c, "messages", id)), Some(mail_dict), "{mid}");
        assert_eq!(&store::raw_bytes(c, id).unwrap().unwrap(), raw, "{mid}");
        let shown = ok_json(&supportd(&cfg, &["messages", "show", &id.to_string(), "--json"]));
        assert_eq!(shown[0]["size"], raw.len(), "{mid}");
    }
    let newest = ids(c, "SELECT max(id) FROM outbox")[0];
    assert_eq!(dict::dict_of(&stored(c, "outbox", newest)), Some(out_dict));
    let all = read_all(c);

    // Retention removed a row the mail dictionary learned from: it is
    // retired, a new one is trained, the rows move to it, the old one goes.
    let first_row = ids(c, &format!("SELECT first_row FROM dictionaries WHERE id = {mail_dict}"))[0];
    assert_eq!(dict::retire_touching(c, dict::Kind::Mail, &[first_row], now).unwrap(), 1);
    assert_eq!(dict::current(c, dict::Kind::Mail).unwrap(), None);
    let row = store::insert_raw(c, &extra, "h2", "test", now).unwrap();
    assert_eq!(dict::dict_of(&stored(c, "messages", row)), None, "no current dictionary: plain zstd");
    let w = dict::tick(c, now, 40, 10).unwrap();
    let next = dict::current(c, dict::Kind::Mail).unwrap().expect("a new mail dictionary");
    assert_eq!((w.trained, w.deleted), (1, 1), "{w:?}");
    assert_eq!(
        ids(c, &format!("SELECT count(*) FROM dictionaries WHERE id = {mail_dict}")),
        [0],
        "retired one deleted"
    );
    for id in ids(c, "SELECT id FROM messages WHERE raw_removed_at IS NULL") {
        assert_eq!(dict::dict_of(&stored(c, "messages", id)), Some(next), "#{id}");
    }
    reads_as(c, &all, "every mail reads back after the change of dictionary");
}

fn file_has(path: &Path, needle: &str) -> bool {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
    let n = needle.as_bytes();
    bytes.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Proves: `supportd forget ADDRESS` drops every dictionary trained on one
/// of the person's mails (the `dictionaries` count of its JSON): afterwards
/// no dictionary holds their name or address, every other mail still reads
/// (recompressed without the dropped dictionary), nothing of them is in the
/// store file's bytes, and the next dictionaries are trained from the mails
/// that stayed, without them.
#[test]
fn forget_drops_the_dictionaries_that_learned_from_the_person() {
    let keller = SENDERS[0].1;
    let (dir, cfg, db) = setup(20);
    let first: Vec<(String, Vec<u8>)> = (0..30).map(|i| mail(i, i % 4)).collect();
    ingest(dir.path(), &cfg, "first", &first);
    ingest(dir.path(), &cfg, "second", &[mail(30, 1), mail(31, 2)]);
    let dicts = |db: &Path| -> Vec<(i64, String, Vec<u8>)> {
        let c = rusqlite::Connection::open(db).unwrap();
        c.prepare("SELECT id, kind, data FROM dictionaries ORDER BY kind")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = dicts(&db);
    assert_eq!(
        before.iter().map(|d| d.1.as_str()).collect::<Vec<_>>(),
        ["mail", "outbox", "trail"],
        "trained at 30 rows"
    );
    let named = before.iter().filter(|d| String::from_utf8_lossy(&d.2).to_lowercase().contains("keller")).count();
    eprintln!("{named} of 3 dictionaries name Keller before");
    assert!(named >= 1, "the test means something only if a dictionary holds his name or address");

    let done = ok_json(&supportd(&cfg, &["forget", keller, "--json", "--by", "dsb"]));
    assert_eq!(done[0]["dictionaries"], 3, "each learned from his mails: {done:?}");
    assert!(dicts(&db).is_empty());
    {
        let s = store::Store::open_existing(&db).unwrap();
        for (table, id, raw) in read_all(s.conn()) {
            assert!(!String::from_utf8_lossy(&raw).to_lowercase().contains("keller"), "{table} #{id}");
        }
    }
    for t in [keller, "Max Keller"] {
        assert!(!file_has(&db, t), "{t} still in the store file's bytes");
    }

    // New dictionaries learn from what stayed.
    ingest(dir.path(), &cfg, "third", &[mail(40, 2), mail(41, 3)]);
    let after = dicts(&db);
    assert_eq!(after.len(), 3, "trained again");
    for (id, kind, data) in &after {
        assert!(!String::from_utf8_lossy(data).to_lowercase().contains("keller"), "{kind} dictionary {id}");
        assert!(before.iter().all(|b| b.0 != *id), "a new dictionary");
    }
    let s = store::Store::open_existing(&db).unwrap();
    assert!(read_all(s.conn()).len() > 30);
}

/// Proves: `store.dictionary_samples` is checked (0 or 10–100000; a bad
/// value is named by check-config); 31 mails train the three dictionaries
/// with 10 and none with 0.
#[test]
fn dictionary_samples_is_checked_and_zero_trains_none() {
    let (_dir, cfg, _) = setup(5);
    let o = supportd(&cfg, &["check-config", "--json"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("store.dictionary_samples"), "{o:?}");
    let mails: Vec<(String, Vec<u8>)> = (0..30).map(|i| mail(i, i % 4)).collect();
    // The same mails train all three with 10, none with 0.
    for (samples, want) in [(10, 3), (0, 0)] {
        let (dir, cfg, db) = setup(samples);
        assert!(supportd(&cfg, &["check-config"]).status.success());
        ingest(dir.path(), &cfg, "first", &mails);
        ingest(dir.path(), &cfg, "second", &[mail(30, 1)]);
        let s = store::Store::open_existing(&db).unwrap();
        assert_eq!(ids(s.conn(), "SELECT count(*) FROM dictionaries"), [want], "{samples}");
        let n = 31 * 2 + ids(s.conn(), "SELECT count(*) FROM outbox")[0] as usize;
        assert_eq!(read_all(s.conn()).len(), n);
    }
}

/// Proves: the daemon's clock (`run --once`) does the dictionary work a
/// quiet mailbox leaves: 30 mails ingested in one batch (nothing trained
/// before it), then one clock pass trains the three dictionaries and moves
/// every row to them, and every mail still reads back exactly.
#[test]
fn the_daemon_trains_and_recompresses_on_its_clock() {
    let (dir, cfg, db) = setup(10);
    let mails: Vec<(String, Vec<u8>)> = (0..30).map(|i| mail(i, i % 4)).collect();
    ingest(dir.path(), &cfg, "first", &mails);
    assert_eq!(ids(&rusqlite::Connection::open(&db).unwrap(), "SELECT count(*) FROM dictionaries"), [0]);
    let o = supportd(&cfg, &["run", "--once"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = store::Store::open_existing(&db).unwrap();
    let c = s.conn();
    assert_eq!(ids(c, "SELECT count(*) FROM dictionaries"), [3]);
    for (table, kind) in [("messages", dict::Kind::Mail), ("outbox", dict::Kind::Outbox)] {
        let d = dict::current(c, kind).unwrap();
        for id in ids(c, &format!("SELECT id FROM {table}")) {
            assert_eq!(dict::dict_of(&stored(c, table, id)), d, "{table} #{id}");
        }
    }
    for (mid, raw) in &mails {
        let id = ids(c, &format!("SELECT id FROM messages WHERE message_id = '{mid}'"))[0];
        assert_eq!(&store::raw_bytes(c, id).unwrap().unwrap(), raw, "{mid}");
    }
}

/// Proves: `supportd purge` retires exactly the dictionaries trained on
/// mails it removes: removing older mails (outside the rows they learned
/// from) retires none; removing mails they learned from sets `retired_at`
/// (none of the kind is current), the mails that stay still read back
/// exactly, and the next batch trains new ones from them, moves the rows and
/// deletes the retired ones.
#[test]
fn purge_retires_the_dictionaries_trained_on_what_it_removes() {
    let (dir, cfg, db) = setup(10);
    let mails: Vec<(String, Vec<u8>)> = (0..30).map(|i| mail(i, i % 4)).collect();
    ingest(dir.path(), &cfg, "first", &mails);
    ingest(dir.path(), &cfg, "second", &[mail(30, 1), mail(31, 2)]);
    let trained: Vec<i64> = ids(&rusqlite::Connection::open(&db).unwrap(), "SELECT id FROM dictionaries ORDER BY id");
    assert_eq!(trained.len(), 3);
    // Close the tickets of the mails in `rows` long ago.
    let age = |rows: &str| {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(&format!(
            "UPDATE tickets SET status = 'closed', closed_at = '2025-01-01T00:00:00Z'
                 WHERE id IN (SELECT ticket_id FROM messages WHERE {rows});
             UPDATE outbox SET created_at = '2024-12-01T00:00:00Z', state = 'sent'
                 WHERE ticket_id IN (SELECT ticket_id FROM messages WHERE {rows});
             UPDATE messages SET received_at = '2024-12-01T00:00:00Z'
                 WHERE ticket_id IN (SELECT ticket_id FROM messages WHERE {rows});"
        ))
        .unwrap();
    };
    let retired = || {
        let c = rusqlite::Connection::open(&db).unwrap();
        ids(&c, "SELECT count(*) FROM dictionaries WHERE retired_at IS NOT NULL AND kind IN ('mail', 'outbox')")[0]
    };
    let (first_mail, first_out): (i64, i64) = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let f = |k: &str| ids(&c, &format!("SELECT first_row FROM dictionaries WHERE kind = '{k}'"))[0];
        (f("mail"), f("outbox"))
    };
    age(&format!("id < 5 AND id < {first_mail}"));
    let purged = ok_json(&supportd(&cfg, &["purge", "--older-than", "30", "--json"]));
    assert!(purged[0]["raw_mails"].as_i64().unwrap() > 0, "{purged:?}");
    let out_removed = ids(
        &rusqlite::Connection::open(&db).unwrap(),
        &format!("SELECT count(*) FROM outbox WHERE raw_removed_at IS NOT NULL AND id >= {first_out}"),
    )[0];
    assert_eq!(retired(), i64::from(out_removed > 0), "older mails only: no mail dictionary retired");

    age(&format!("id >= {first_mail}"));
    let kept: Vec<(i64, Vec<u8>)> = {
        let s = store::Store::open_existing(&db).unwrap();
        ids(s.conn(), &format!("SELECT id FROM messages WHERE raw_removed_at IS NULL AND id < {first_mail}"))
            .into_iter()
            .map(|id| (id, store::raw_bytes(s.conn(), id).unwrap().unwrap()))
            .collect()
    };
    assert!(kept.len() >= 10);
    ok_json(&supportd(&cfg, &["purge", "--older-than", "30", "--json"]));
    assert_eq!(retired(), 2, "the mail and outbox dictionaries learned from what went");
    {
        let s = store::Store::open_existing(&db).unwrap();
        let c = s.conn();
        assert_eq!(dict::current(c, dict::Kind::Mail).unwrap(), None);
        for (id, raw) in &kept {
            assert_eq!(&store::raw_bytes(c, *id).unwrap().unwrap(), raw, "#{id} after purge");
        }
    }
    ingest(dir.path(), &cfg, "third", &[mail(40, 2)]);
    let s = store::Store::open_existing(&db).unwrap();
    let c = s.conn();
    let now: Vec<i64> = ids(c, "SELECT id FROM dictionaries WHERE kind IN ('mail', 'outbox') ORDER BY id");
    assert_eq!(now.len(), 2, "new ones, the retired ones deleted once the rows moved");
    assert!(now.iter().all(|d| !trained.contains(d)), "{now:?} {trained:?}");
    for (id, raw) in &kept {
        assert_eq!(&store::raw_bytes(c, *id).unwrap().unwrap(), raw, "#{id} after the new dictionary");
    }
}
