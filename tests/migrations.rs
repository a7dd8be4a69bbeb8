//! Upgrades: a store left at every earlier schema version (the first k
//! migrations applied, representative rows in every table that existed
//! then) is opened by the current code; its data survives, its schema ends
//! up identical to a fresh store's, and the new binary works on it (a reply
//! to the old ticket's mail is threaded onto that ticket).

mod common;

use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use supportd::store::{self, FRESH_SCHEMA, MIGRATIONS, Store};

const BIN: &str = env!("CARGO_BIN_EXE_supportd");
const RAW: &[u8] = b"From: m.keller@stadtwerke-musterstadt.de\r\nSubject: Export kaputt\r\nMessage-ID: <old1@sw>\r\n\r\nGeht nicht.\r\n";

/// Rows written right after migration number `i` (1-based) was applied:
/// each table (or column) as soon as it exists, as an older supportd wrote them.
fn rows_for(i: usize) -> &'static str {
    match i {
        1 => {
            "INSERT INTO tickets (id, subject, category, level, priority, status, customer, requester, billable, \
               confidence, low_confidence, language, created_at, updated_at, first_response_due) \
             VALUES (1, 'Export kaputt', 'functional_error', 1, 'normal', 'open', 'Stadtwerke Musterstadt', \
               'm.keller@stadtwerke-musterstadt.de', 0, 0.8, 0, 'de', '2026-11-02T09:00:00Z', '2026-11-02T09:00:00Z', \
               '2026-11-02T13:00:00Z');
             INSERT INTO participants VALUES (1, 'm.keller@stadtwerke-musterstadt.de', 'requester');
             INSERT INTO messages (id, message_id, content_hash, raw, source, from_addr, subject, disposition, ticket_id, received_at)
               VALUES (1, 'old1@sw', 'h1', CAST(?1 AS BLOB), 'maildir:1.test', 'm.keller@stadtwerke-musterstadt.de',
                       'Export kaputt', 'new_ticket', 1, '2026-11-02T09:00:00Z');
             INSERT INTO events (ticket_id, message_row, at, actor, kind, detail)
               VALUES (1, 1, '2026-11-02T09:00:00Z', 'supportd', 'created', 'new ticket');
             INSERT INTO outbox (id, kind, ticket_id, message_id, recipients, subject, raw, state, attempts,
                                 next_attempt_at, created_at, sent_at, cause_row)
               VALUES (1, 'ack', 1, 'mt.MT-000001.ack.x.y@roewaplan.de', '[\"m.keller@stadtwerke-musterstadt.de\"]',
                       '[MT-000001] Export kaputt', X'41', 'sent', 1, '2026-11-02T09:00:00Z', '2026-11-02T09:00:00Z',
                       '2026-11-02T09:00:01Z', 1);
             INSERT INTO outbox_rcpt VALUES (1, 'm.keller@stadtwerke-musterstadt.de', '2026-11-02T09:00:00Z');
             INSERT INTO blobs VALUES ('ab12', 3, X'010203');
             INSERT INTO attachments (message_row, filename, content_type, size, sha256) VALUES (1, 'log.txt', 'text/plain', 3, 'ab12');
             INSERT INTO state VALUES ('imap:INBOX:position', '{\"uid_validity\":7,\"last_uid\":42}');"
        }
        2 => "INSERT INTO message_refs VALUES (1, 'older@sw');",
        3 => {
            "INSERT INTO status_history (ticket_id, status, at) VALUES (1, 'new', '2026-11-02T09:00:00Z'), (1, 'open', '2026-11-02T10:00:00Z');
             INSERT INTO changes (ticket_id, starts_at, ends_at, description, state, announced_by, created_at)
               VALUES (1, '2026-12-03T17:00:00Z', '2026-12-03T19:00:00Z', 'Update 4.2', 'announced', 'anna@roewaplan.de', '2026-11-02T10:00:00Z');
             UPDATE tickets SET sla_warned_at = '2026-11-02T12:00:00Z' WHERE id = 1;"
        }
        4 => "",
        5 => "UPDATE messages SET trail = '[\"new ticket\"]' WHERE id = 1;",
        6 => {
            "INSERT INTO reports_sent (customer, period, trigger, outbox_id, created_at)
               VALUES ('Stadtwerke Musterstadt', '2026-10', 'schedule', 1, '2026-11-02T08:00:00Z');"
        }
        7 => {
            "INSERT INTO inflight_suspects (key, kind, reason, noted_at)
               VALUES ('241 maildir:1.test', 'suspect', 'the process died during its batch', '2026-11-02T08:00:00Z');"
        }
        8 => "UPDATE tickets SET requester_name = 'Max Keller' WHERE id = 1;",
        9 => "UPDATE outbox SET held = NULL WHERE id = 1;",
        10 => "UPDATE messages SET arrived_at = '2026-11-02T08:59:00Z' WHERE id = 1;",
        11 => "INSERT INTO inflight_suspects (key, kind, reason, noted_at) VALUES ('9 maildir:2.test', 'alone', 'died once alone', '2026-11-02T08:00:00Z');",
        12 => "UPDATE tickets SET security_flag = 1 WHERE id = 1;",
        // A conversion interrupted after 0013 (rows are converted in batches
        // after the migration): a plain row the next open converts.
        13 => {
            "INSERT INTO messages (id, message_id, content_hash, raw, raw_format, source, disposition, received_at)
               VALUES (2, 'old2@sw', 'h2', CAST(?1 AS BLOB), 0, 'maildir:2.test', 'spam', '2026-11-02T09:05:00Z');"
        }
        14 => "",
        15 => "",
        16 => {
            "INSERT INTO erasures (kind, subject_sha256, requested_by, at, summary)
               VALUES ('address', 'ab', 'root', '2026-11-03T09:00:00Z', '{\"messages\":1}');"
        }
        17 => {
            "INSERT INTO welcome_sent (customer, trigger, outbox_id, created_at)
               VALUES ('Stadtwerke Musterstadt', 'schedule', 1, '2026-11-02T08:00:00Z');
             INSERT INTO kb_drafts (ticket_id, message_row, language, title, keywords, question, answer, author, created_at)
               VALUES (1, 1, 'de', 'Export kaputt', 'export', 'Geht nicht.', 'Cache leeren.', 'anna@roewaplan.de', '2026-11-02T10:00:00Z');
             INSERT INTO digests_sent (level, day, outbox_id, created_at) VALUES (1, '2026-11-02', 1, '2026-11-02T07:00:00Z');
             INSERT INTO followups_sent (ticket_id, kind, waiting_since, outbox_id, created_at)
               VALUES (1, 'reminder', '2026-11-02T10:00:00Z', 1, '2026-11-09T07:00:00Z');"
        }
        // Rows written after the counters exist: the triggers count them.
        18 => {
            "INSERT INTO tickets (id, subject, category, level, priority, status, customer, requester, billable, created_at, updated_at)
               VALUES (2, 'Neuer Benutzer', 'user_management', 1, 'normal', 'new', 'Stadtwerke Musterstadt',
                       'e.roth@stadtwerke-musterstadt.de', 0, '2026-11-03T09:00:00Z', '2026-11-03T09:00:00Z');
             UPDATE tickets SET status = 'resolved' WHERE id = 2;
             UPDATE outbox SET state = 'failed' WHERE id = 1;
             UPDATE outbox SET state = 'sent' WHERE id = 1;"
        }
        // Rows written after the report tables exist: the triggers keep them.
        19 => {
            "INSERT INTO tickets (id, subject, category, level, priority, status, customer, requester, billable, created_at,
                                  updated_at, first_response_at, first_response_secs)
               VALUES (3, 'Passwort', 'usage_question', 1, 'normal', 'new', 'Stadtwerke Musterstadt',
                       'm.keller@stadtwerke-musterstadt.de', 0, '2026-11-04T09:00:00Z', '2026-11-04T09:00:00Z',
                       '2026-11-04T10:00:00Z', 3600);
             INSERT INTO status_history (ticket_id, status, at) VALUES (3, 'new', '2026-11-04T09:00:00Z'),
                 (3, 'waiting', '2026-11-05T09:00:00Z');
             UPDATE tickets SET status = 'waiting' WHERE id = 3;"
        }
        // A dictionary on its way out (retired: no new row is compressed with
        // it) and a packed trail (zstd of '["new ticket"]').
        20 => {
            "INSERT INTO dictionaries (id, kind, data, first_row, last_row, samples, created_at, retired_at)
               VALUES (32768, 'mail', X'37A430EC00800000', 1, 2, 2, '2026-11-05T09:00:00Z', '2026-11-06T09:00:00Z');
             INSERT INTO message_trails (message_row, data) VALUES (2, X'28B52FFD00587100005B226E6577207469636B6574225D');"
        }
        // 0021 fewer ticket indexes: no new table or column.
        21 => "",
        // 0022 the current dictionary's index: no new table or column.
        22 => "",
        // 0023 outbox_rcpt keyed by address: the row of migration 1 moves.
        23 => "",
        // 0024: a body whose last bytes are a piece in blob_tails.
        24 => {
            "INSERT INTO blob_tails (id, data) VALUES (1, X'0506');
             INSERT INTO blobs (sha256, size, data, codec, tail_first, tail_pieces) VALUES ('ef56', 4, X'0304', 0, 1, 1);"
        }
        // 0025: the kind beside each recipient; migration 1's row takes its mail's ("ack").
        25 => "",
        n => panic!("migration {n} has no representative rows in tests/migrations.rs: add them"),
    }
}

/// A store file at schema version `k`, built the way an older supportd did.
fn old_store(path: &Path, k: usize) {
    let mut conn = Connection::open(path).unwrap();
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().take(k) {
        let tx = conn.transaction().unwrap();
        tx.execute_batch(sql).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rows = rows_for(i + 1);
        for stmt in rows.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            let n_params = if stmt.contains("?1") { 1 } else { 0 };
            if n_params == 1 {
                tx.execute(stmt, [RAW]).unwrap_or_else(|e| panic!("rows of {name}: {e}\n{stmt}"));
            } else {
                tx.execute_batch(stmt).unwrap_or_else(|e| panic!("rows of {name}: {e}\n{stmt}"));
            }
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
        tx.commit().unwrap();
    }
}

/// Every schema object except SQLite's own, with its SQL.
fn schema(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut st = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// Proves: from every earlier `user_version` (1 .. current-1) the current
/// code migrates to the current version, every row written at the old
/// version is still there with its values, the schema (sqlite_master) equals
/// a fresh store's, integrity and foreign keys hold, and `supportd ingest`
/// on the upgraded file threads a reply onto the old ticket.
#[test]
fn every_earlier_schema_version_upgrades_with_its_data() {
    let latest = MIGRATIONS.len();
    assert!(latest >= 2, "nothing to upgrade from");
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Store::open(&fresh_dir.path().join("fresh.sqlite3")).unwrap();
    let want = schema(fresh.conn());

    for k in 1..latest {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::create_dir_all(dir.path().join("var")).unwrap();
        let path = dir.path().join("var/supportd.sqlite3");
        old_store(&path, k);

        let s = Store::open(&path).unwrap_or_else(|e| panic!("opening a version-{k} store: {e:#}"));
        let c = s.conn();
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, latest, "from version {k}");
        assert_eq!(schema(c), want, "schema after upgrading from version {k} differs from a fresh store's");
        assert_eq!(s.integrity_check().unwrap(), "ok");
        let fk: i64 = c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 0, "foreign keys after upgrading from {k}");

        // the data written at version k
        let t = store::get_ticket(c, 1).unwrap().expect("ticket 1 survived");
        assert_eq!((t.subject.as_str(), t.status.as_str(), t.level), ("Export kaputt", "open", 1), "from {k}");
        assert_eq!(t.customer.as_deref(), Some("Stadtwerke Musterstadt"));
        assert_eq!(t.first_response_due.as_deref(), Some("2026-11-02T13:00:00Z"));
        let raw = store::raw_bytes(c, 1).unwrap().unwrap();
        assert_eq!(raw, RAW, "raw bytes from {k}");
        let plain: i64 = c
            .query_row("SELECT (SELECT count(*) FROM messages WHERE raw_format = 0) + (SELECT count(*) FROM outbox WHERE raw_format = 0)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(plain, 0, "every raw mail compressed after upgrading from {k}");
        assert_eq!(store::outbox_raw(c, 1).unwrap().unwrap(), b"A", "outgoing raw bytes from {k}");
        if k >= 13 {
            assert_eq!(store::raw_bytes(c, 2).unwrap().unwrap(), RAW, "the row left plain at {k}");
        }
        let vacuum: i64 = c.pragma_query_value(None, "auto_vacuum", |r| r.get(0)).unwrap();
        assert_eq!(vacuum, 2, "auto_vacuum=incremental after upgrading from {k}");
        let outbox = store::list_outbox(c, Some(1)).unwrap();
        assert_eq!(outbox.len(), 1, "from {k}");
        assert_eq!(
            store::get_state(c, "imap:INBOX:position").unwrap().as_deref(),
            Some("{\"uid_validity\":7,\"last_uid\":42}")
        );
        let since = |m: usize, n: i64| if k >= m { n } else { 0 };
        // 0024's rows add a body kept with a tail.
        for (table, n) in
            [("participants", 1), ("events", 1), ("outbox_rcpt", 1), ("blobs", 1 + since(24, 1)), ("attachments", 1)]
        {
            assert_eq!(count(c, table), n, "{table} from {k}");
        }
        // 0025: the recipient's row names its mail's kind (the cap counts by it).
        let kind: String = c.query_row("SELECT kind FROM outbox_rcpt", [], |r| r.get(0)).unwrap();
        assert_eq!(kind, "ack", "outbox_rcpt.kind from {k}");
        assert_eq!(count(c, "message_refs"), since(2, 1), "message_refs from {k}");
        // 0019's rows add ticket 3's two.
        assert_eq!(count(c, "status_history"), since(3, 2) + since(19, 2), "status_history from {k}");
        assert_eq!(count(c, "changes"), since(3, 1), "changes from {k}");
        assert_eq!(t.sla_warned_at.is_some(), k >= 3, "sla_warned_at from {k}");
        let trail: Option<String> = c.query_row("SELECT trail FROM messages WHERE id = 1", [], |r| r.get(0)).unwrap();
        assert_eq!(trail.is_some(), k >= 5, "trail from {k}");
        assert_eq!(count(c, "reports_sent"), since(6, 1), "reports_sent from {k}");
        // 0018 counted the rows that were there: status reads these.
        for (scope, sql) in [
            ("messages", "SELECT disposition, count(*) FROM messages WHERE disposition IS NOT NULL GROUP BY 1"),
            ("outbox", "SELECT state, count(*) FROM outbox GROUP BY 1"),
            ("tickets", "SELECT status, count(*) FROM tickets GROUP BY 1"),
        ] {
            let by = |q: &str| -> Vec<(String, i64)> {
                let mut st = c.prepare(q).unwrap();
                st.query_map([scope], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
            };
            let counted = by("SELECT key, n FROM counters WHERE scope = ?1 AND n != 0 ORDER BY key");
            let mut st = c.prepare(&format!("{sql} ORDER BY 1")).unwrap();
            let real: Vec<(String, i64)> =
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
            assert!(!real.is_empty(), "{scope} from {k}: nothing to count");
            assert_eq!(counted, real, "counters of {scope} after upgrading from {k}");
        }
        drop(s);

        // the new binary on the upgraded file: a reply to the old mail joins ticket 1
        let cfg = dir.path().join("config/supportd.toml");
        std::fs::write(&cfg, common::config_text("")).unwrap();
        let reply = dir.path().join("reply.eml");
        std::fs::write(
            &reply,
            common::mail(
                "m.keller@stadtwerke-musterstadt.de",
                "Re: Export kaputt",
                &format!("reply{k}@sw"),
                "In-Reply-To: <old1@sw>",
                "Immer noch kaputt.",
            ),
        )
        .unwrap();
        let out = Command::new(BIN).arg("--config").arg(&cfg).arg("ingest").arg(&reply).output().unwrap();
        assert!(out.status.success(), "ingest after upgrade from {k}: {}", String::from_utf8_lossy(&out.stderr));
        let s = Store::open(&path).unwrap();
        let (disp, ticket): (String, Option<i64>) = s
            .conn()
            .query_row(
                "SELECT disposition, ticket_id FROM messages WHERE message_id = ?1",
                [format!("reply{k}@sw")],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((disp.as_str(), ticket), ("follow_up", Some(1)), "reply after upgrading from {k}");
        // 0019: the first writer with the config filled the report figures
        // from the rows that were there (ticket 1 opened in November 2026).
        let opened: i64 = s
            .conn()
            .query_row(
                "SELECT coalesce(sum(n), 0) FROM report_opened WHERE customer = 'Stadtwerke Musterstadt' AND month = '2026-11'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let tickets: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM tickets WHERE customer = 'Stadtwerke Musterstadt' AND merged_into IS NULL \
                 AND created_at >= '2026-10-31T23:00:00Z' AND created_at < '2026-11-30T23:00:00Z'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(tickets >= 1 && opened == tickets, "report_opened after upgrading from {k}: {opened} of {tickets}");
    }
}

/// The first line of src/store/fresh_schema.sql.
const FRESH_SCHEMA_HEADER: &str = "-- The schema src/store/migrations/ build, one object per statement in the order \
     SQLite keeps them: a new store is created with it. Written by tests/migrations.rs \
     (SUPPORTD_WRITE_SCHEMA=1 cargo test --test migrations a_new_store); do not edit.\n";

/// Proves: the script a new store is created with (src/store/fresh_schema.sql)
/// is exactly what the migrations build one after the other: every object
/// with its SQL, in SQLite's order. With SUPPORTD_WRITE_SCHEMA=1 the file is
/// written anew (after a new migration). The migrations' only row, 0014's
/// `vacuum.pending`, is for older files: a new store is incremental already.
#[test]
fn a_new_stores_schema_is_what_the_migrations_build() {
    let conn = Connection::open_in_memory().unwrap();
    for (name, sql) in MIGRATIONS {
        conn.execute_batch(sql).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mut st = conn
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        .unwrap();
    let objects: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert!(objects.len() > 50, "tables, indexes and triggers: {}", objects.len());
    let script = format!("{FRESH_SCHEMA_HEADER}{}", objects.iter().map(|o| format!("{o};\n")).collect::<String>());
    if std::env::var_os("SUPPORTD_WRITE_SCHEMA").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/fresh_schema.sql"), &script).unwrap();
        return;
    }
    assert!(
        script == FRESH_SCHEMA,
        "src/store/fresh_schema.sql is not what the migrations build: write it anew with \
         SUPPORTD_WRITE_SCHEMA=1 cargo test --test migrations a_new_store"
    );
    let rows: Vec<String> = conn
        .prepare("SELECT key FROM state")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows, ["vacuum.pending"], "the migrations write no other row into an empty store");

    // A new store has that schema, its secret, and nothing pending.
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("new.sqlite3")).unwrap();
    let fresh = Connection::open_in_memory().unwrap();
    fresh.execute_batch(FRESH_SCHEMA).unwrap();
    assert_eq!(schema(s.conn()), schema(&fresh));
    let v: i64 = s.conn().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v as usize, MIGRATIONS.len());
    assert!(store::get_state(s.conn(), store::SECRET_KEY).unwrap().is_some(), "the Message-ID secret");
    assert_eq!(store::get_state(s.conn(), store::VACUUM_PENDING_KEY).unwrap(), None);
    let mode: i64 = s.conn().pragma_query_value(None, "auto_vacuum", |r| r.get(0)).unwrap();
    assert_eq!(mode, 2, "incremental vacuum");
}

/// Proves: the representative rows cover every migration (a new migration
/// without rows makes `rows_for` panic here, not silently pass).
#[test]
fn every_migration_has_representative_rows() {
    for i in 1..=MIGRATIONS.len() {
        let _ = rows_for(i);
    }
}

/// Proves: a store written before the compact store (version 11: the raw
/// mail as it came, its attachment a second time, decoded, in `blobs`) is
/// converted in place at the first open: the raw mail becomes a skeleton
/// without the attachment's base64 text, the bytes read back are exactly
/// the bytes that arrived, the attachment is served from its one blob, and
/// the file shrinks after the VACUUM of 0014.
#[test]
fn an_old_store_with_attachments_is_compacted_in_place() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    old_store(&path, 11);
    // A mail with a 60 KB attachment (incompressible bytes), stored the old way, 50 times.
    let data: Vec<u8> = (0..60_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let lines: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let sha = supportd::parse::sha256_hex(&data);
    let log = b"2026-11-24 09:00:01 ERROR Speichern fehlgeschlagen\n".repeat(400);
    {
        let c = Connection::open(&path).unwrap();
        c.execute(
            "INSERT INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)",
            rusqlite::params![sha, data.len() as i64, data],
        )
        .unwrap();
        c.execute(
            "INSERT INTO blobs (sha256, size, data) VALUES ('log', ?1, ?2)",
            rusqlite::params![log.len() as i64, log],
        )
        .unwrap();
        for i in 0..50 {
            let raw = format!(
                "From: m.keller@stadtwerke-musterstadt.de\r\nSubject: Log {i}\r\nMessage-ID: <log{i}@sw>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nAnbei das Log.\r\n\
                 --b\r\nContent-Type: application/octet-stream; name=\"log.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
                lines.join("\r\n")
            );
            c.execute(
                "INSERT INTO messages (message_id, content_hash, raw, source, disposition, received_at) \
                 VALUES (?1, 'h', ?2, 'maildir:x', 'follow_up', '2026-11-02T09:00:00Z')",
                rusqlite::params![format!("log{i}@sw"), raw.as_bytes()],
            )
            .unwrap();
            let row = c.last_insert_rowid();
            c.execute(
                "INSERT INTO attachments (message_row, filename, content_type, size, sha256) VALUES (?1, 'log.bin', 'application/octet-stream', ?2, ?3)",
                rusqlite::params![row, data.len() as i64, sha],
            )
            .unwrap();
        }
    }
    let before = std::fs::metadata(&path).unwrap().len();
    let originals: Vec<(i64, Vec<u8>)> = {
        let c = Connection::open(&path).unwrap();
        let mut st = c.prepare("SELECT id, raw FROM messages WHERE message_id LIKE 'log%'").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let s = Store::open(&path).unwrap();
    let c = s.conn();
    let skeletons: i64 = c.query_row("SELECT count(*) FROM messages WHERE raw_format = 2", [], |r| r.get(0)).unwrap();
    assert_eq!(skeletons, 50, "every mail with the attachment is a skeleton");
    for (id, raw) in &originals {
        assert_eq!(&store::raw_bytes(c, *id).unwrap().unwrap(), raw, "mail #{id} read back exactly");
    }
    assert_eq!(store::blob(c, &sha).unwrap().unwrap(), data);
    assert_eq!(store::blob(c, "log").unwrap().unwrap(), log, "a compressible body, compressed");
    let codec: i64 = c.query_row("SELECT codec FROM blobs WHERE sha256 = 'log'", [], |r| r.get(0)).unwrap();
    assert_eq!(codec, 1);
    assert_eq!(store::get_state(c, store::compact::BLOB_CURSOR_KEY).unwrap(), None, "the conversion finished");
    let stored: i64 = c.query_row("SELECT sum(length(raw)) FROM messages", [], |r| r.get(0)).unwrap();
    let came: usize = originals.iter().map(|(_, r)| r.len()).sum();
    assert!(stored * 100 < came as i64, "50 mails of {came} bytes kept in {stored} bytes besides the one blob");
    drop(s);
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after * 4 < before, "the file shrank from {before} to {after} bytes");
}

/// Proves: a store that went past 0013–0016 while they were no-op
/// placeholders (the numbers were reserved on main for this branch) gets
/// their schema at its next open: the same schema as a fresh store, its
/// old raw mail compacted and read back, and a read-only command repairs
/// it too.
#[test]
fn a_store_that_ran_the_placeholders_gets_the_lifecycle_schema() {
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Store::open(&fresh_dir.path().join("fresh.sqlite3")).unwrap();
    let want = schema(fresh.conn());
    for read_only in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("placeholders.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
                let placeholder = ["0013", "0014", "0015", "0016"].iter().any(|n| name.starts_with(n));
                tx.execute_batch(if placeholder { "SELECT 1;" } else { sql }).unwrap();
                if i == 0 {
                    tx.execute(
                        "INSERT INTO messages (id, message_id, content_hash, raw, source, disposition, received_at) \
                         VALUES (1, 'old1@sw', 'h1', ?1, 'maildir:1', 'spam', '2026-11-02T09:00:00Z')",
                        [RAW],
                    )
                    .unwrap();
                }
            }
            tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64).unwrap();
            tx.commit().unwrap();
        }
        let s = if read_only { Store::open_existing(&path).unwrap() } else { Store::open(&path).unwrap() };
        assert_eq!(schema(s.conn()), want, "read_only {read_only}");
        assert_eq!(store::raw_bytes(s.conn(), 1).unwrap().unwrap(), RAW);
        let f: i64 = s.conn().query_row("SELECT raw_format FROM messages WHERE id = 1", [], |r| r.get(0)).unwrap();
        assert_eq!(f, 1, "compacted");
    }
}
