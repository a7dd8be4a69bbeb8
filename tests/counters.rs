//! The counters `status` and the metrics read (migration 0018): kept by
//! triggers in the transaction of the rows, they must equal `count(*)` after
//! anything any command does to mails, tickets and outgoing mails.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_supportd");
const KELLER: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const ROTH: &str = "Eva Roth <e.roth@stadtwerke-musterstadt.de>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";

fn supportd(cfg: &Path, args: &[&str]) -> Output {
    let o = Command::new(BIN)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("SUPPORTD_CONFIG")
        .output()
        .unwrap();
    // `status` exits 1 when the daemon is not running: its output is what counts.
    assert!(
        o.status.success() || args[0] == "status",
        "{args:?}: exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Ingest `mails` (each its own file) with the binary; `send`: hand the
/// outbox to the file transport afterwards.
fn ingest(dir: &Path, cfg: &Path, name: &str, mails: &[Vec<u8>], send: bool) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    for (i, m) in mails.iter().enumerate() {
        std::fs::write(d.join(format!("{i:03}.eml")), m).unwrap();
    }
    let mut args = vec!["ingest"];
    if !send {
        args.push("--no-send");
    }
    let p = d.to_str().unwrap();
    args.push(p);
    supportd(cfg, &args);
}

/// What `status --json` counts and what `count(*)` says, side by side:
/// (scope, key) -> (status, count(*)), every key either side has.
fn compare(cfg: &Path, db: &Path) -> BTreeMap<(String, String), (i64, i64)> {
    let o = supportd(cfg, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = rusqlite::Connection::open(db).unwrap();
    let mut out: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut real = |scope: &str, sql: &str| {
        let mut st = c.prepare(sql).unwrap();
        for (k, n) in
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).unwrap().map(Result::unwrap)
        {
            out.entry((scope.to_string(), k)).or_default().1 = n;
        }
    };
    real("messages", "SELECT disposition, count(*) FROM messages WHERE disposition IS NOT NULL GROUP BY 1");
    real("tickets", "SELECT status, count(*) FROM tickets GROUP BY 1");
    real("outbox", "SELECT state, count(*) FROM outbox GROUP BY 1");
    real("quarantined", "SELECT 'n', count(*) FROM messages WHERE disposition = 'quarantined'");
    for scope in ["messages", "tickets"] {
        for (k, n) in v[scope].as_object().unwrap_or_else(|| panic!("{scope} in {v}")) {
            out.entry((scope.to_string(), k.clone())).or_default().0 = n.as_i64().unwrap();
        }
    }
    for k in ["queued", "sent", "failed"] {
        out.entry(("outbox".into(), k.into())).or_default().0 = v["outbox"][k].as_i64().unwrap();
    }
    out.entry(("quarantined".into(), "n".into())).or_default().0 = v["quarantined"].as_i64().unwrap();
    out
}

/// Asserts the counters equal count(*) and returns the counts (status's side).
fn counts_agree(cfg: &Path, db: &Path, after: &str) -> BTreeMap<(String, String), i64> {
    let both = compare(cfg, db);
    let wrong: Vec<_> = both.iter().filter(|(_, (s, r))| s != r).collect();
    assert!(wrong.is_empty(), "after {after}: (status, count(*)) differ: {wrong:?}");
    both.into_iter().map(|(k, (s, _))| (k, s)).collect()
}

fn n(counts: &BTreeMap<(String, String), i64>, scope: &str, key: &str) -> i64 {
    counts.get(&(scope.to_string(), key.to_string())).copied().unwrap_or(0)
}

/// Proves: after every step of a mixed workload through the binary — new
/// tickets, a reply, a duplicate, spam, an auto-reply, an empty mail
/// (quarantined) and its reprocessing, agent commands (status changes, a
/// close), the outbox held, deleted (failed), retried, released and sent,
/// the daemon's clock (`run --once`), `purge` and `forget` — the counts of
/// `status --json` (from the counters table) equal `count(*)` of the rows,
/// for every disposition, ticket status and outbox state; and the workload
/// really moved each of them (so the comparison is not of zeros).
#[test]
fn status_counters_equal_count_star_after_a_mixed_workload() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("config")).unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(root.join("var/inbox").join(sub)).unwrap();
    }
    let cfg = root.join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let db = root.join("var/supportd.sqlite3");

    let first = common::mail(KELLER, "Dienstplan speichert nicht", "c1@sw", "", "Fehler 500 beim Speichern.");
    ingest(
        root,
        &cfg,
        "one",
        &[
            first.clone(),
            common::mail(ROTH, "Neue Benutzerin anlegen", "c2@sw", "", "Bitte legen Sie Frau Weber an."),
            common::mail(KELLER, "Frage zum Export", "c3@sw", "", "Wie exportiere ich als CSV?"),
            common::mail(KELLER, "Re: Dienstplan speichert nicht", "c4@sw", "In-Reply-To: <c1@sw>", "Noch da."),
            first,
            common::mail(
                "news@shop.example",
                "Newsletter",
                "n1@x",
                "List-Unsubscribe: <mailto:u@x>\nPrecedence: bulk",
                "Angebote",
            ),
            common::mail(ROTH, "Abwesenheit", "a1@sw", "Auto-Submitted: auto-replied", "Ich bin nicht im Haus."),
            Vec::new(),
        ],
        false,
    );
    let c = counts_agree(&cfg, &db, "the first mails");
    for (scope, key) in [
        ("messages", "new_ticket"),
        ("messages", "follow_up"),
        ("messages", "duplicate"),
        ("messages", "quarantined"),
        ("tickets", "new"),
        ("outbox", "queued"),
    ] {
        assert!(n(&c, scope, key) > 0, "{scope} {key} after the first mails: {c:?}");
    }
    assert_eq!(n(&c, "outbox", "sent"), 0, "{c:?}");

    // The outbox by hand: hold one, discard another (failed), retry it, release the first.
    supportd(&cfg, &["outbox", "hold", "1"]);
    supportd(&cfg, &["outbox", "delete", "2"]);
    let c = counts_agree(&cfg, &db, "outbox hold and delete");
    assert!(n(&c, "outbox", "failed") >= 1, "{c:?}");
    supportd(&cfg, &["outbox", "retry", "2"]);
    counts_agree(&cfg, &db, "outbox retry");
    supportd(&cfg, &["outbox", "delete", "3"]);
    supportd(&cfg, &["outbox", "flush"]);

    // Agents work the tickets (sent at once through the file transport).
    ingest(
        root,
        &cfg,
        "agents",
        &[
            common::mail(ANNA, "Re: [MT-000001] Dienstplan", "g1@rp", "", "#status in_progress\nWir sehen nach."),
            common::mail(ANNA, "Re: [MT-000002] Benutzerin", "g2@rp", "", "#status closed\nAngelegt."),
            common::mail(ANNA, "Re: [MT-000003] Export", "g3@rp", "", "#status waiting\nWelche Version?"),
        ],
        true,
    );
    let c = counts_agree(&cfg, &db, "agent commands");
    for (scope, key) in [("tickets", "in_progress"), ("tickets", "closed"), ("tickets", "waiting"), ("outbox", "sent")]
    {
        assert!(n(&c, scope, key) > 0, "{scope} {key} after the agents' mails: {c:?}");
    }
    assert!(n(&c, "outbox", "queued") >= 1, "the held mail stays queued: {c:?}");

    // The quarantined mail again (its row is replaced), the held mail released, the clock.
    let q: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT id FROM messages WHERE disposition = 'quarantined'", [], |r| r.get(0))
        .unwrap();
    supportd(&cfg, &["quarantine", "reprocess", &q.to_string()]);
    counts_agree(&cfg, &db, "quarantine reprocess");
    supportd(&cfg, &["outbox", "release", "1"]);
    supportd(&cfg, &["run", "--once"]);
    counts_agree(&cfg, &db, "run --once");

    // Retention and erasure: the closed ticket closed long ago, then a person forgotten.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "UPDATE tickets SET closed_at = '2025-01-01T00:00:00Z' WHERE id = 2;
             UPDATE messages SET received_at = '2024-12-01T00:00:00Z' WHERE ticket_id = 2;
             UPDATE outbox SET created_at = '2024-12-01T00:00:00Z' WHERE ticket_id = 2;",
        )
        .unwrap();
    supportd(&cfg, &["purge", "--older-than", "365"]);
    counts_agree(&cfg, &db, "purge");
    let before = counts_agree(&cfg, &db, "purge");
    supportd(&cfg, &["forget", "m.keller@stadtwerke-musterstadt.de", "--by", "test"]);
    let after = counts_agree(&cfg, &db, "forget");
    let total = |c: &BTreeMap<(String, String), i64>| -> i64 { c.values().sum() };
    assert!(total(&before) > 0 && total(&after) > 0, "{before:?} {after:?}");
}
