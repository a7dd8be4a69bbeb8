//! The command line as ops and tests use it (`docs/contracts.md`, "Command line"): the built binary,
//! exit codes 0/1/2, one-line errors naming the culprit, JSON fields.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn supportd(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_supportd")).arg("--config").arg(config).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A copy of the default config in a temp dir (its var/ goes there too).
fn temp_config() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    (dir, cfg)
}

#[test]
fn check_config_accepts_the_shipped_default() {
    let o = supportd(&common::repo().join("config/supportd.toml"), &["check-config"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn check_config_prints_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[support]\naddress = \"kaputt\"\n[mailbox]\nkind = \"pop3\"\n[transport]\nkind = \"file\"\npath = \"o\"\n[store]\npath = \"s\"\n[hours]\nopen = \"25:00\"\n[[customers]]\nname = \"X\"\ndomains = []\nreport_cycle = \"weekly\"\n",
    )
    .unwrap();
    let o = supportd(&cfg, &["check-config"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    for key in ["support.address", "mailbox.kind", "hours.open", "customers[0].domains", "customers[0].report_cycle"] {
        assert!(lines.iter().any(|l| l.contains(key) && l.contains("bad.toml")), "{key} missing in:\n{err}");
    }
    assert!(lines.len() >= 5);
}

#[test]
fn a_missing_config_file_is_exit_2_naming_the_file() {
    let o = supportd(Path::new("/nonexistent/supportd.toml"), &["check-config"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/supportd.toml"), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1);
}

#[test]
fn ingest_then_list_gives_the_design_fields_as_json_lines() {
    let (_dir, cfg) = temp_config();
    let fixtures = common::repo().join("fixtures/pipeline");
    let o = supportd(&cfg, &["ingest", fixtures.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("mails/s"));

    let o = supportd(&cfg, &["tickets", "list", "--json"]);
    assert!(o.status.success());
    let tickets: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(tickets.len(), 22);
    for f in [
        "tag",
        "subject",
        "category",
        "level",
        "priority",
        "status",
        "customer",
        "requester",
        "billable",
        "created_at",
        "message_ids",
    ] {
        assert!(tickets[0].get(f).is_some(), "ticket field {f}");
    }
    assert_eq!(tickets[0]["tag"], "MT-000001");
    assert!(tickets[0]["message_ids"].as_array().unwrap().len() >= 2);

    let o = supportd(&cfg, &["messages", "list", "--json"]);
    let msgs: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(msgs.len(), 33);
    for f in ["message_id", "from", "subject", "disposition", "ticket", "received_at"] {
        assert!(msgs[0].get(f).is_some(), "message field {f}");
    }
    assert_eq!(msgs.iter().filter(|m| m["disposition"] == "quarantined").count(), 3);

    let o = supportd(&cfg, &["outbox", "list", "--json"]);
    let out: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for f in ["id", "kind", "ticket", "to", "subject", "state", "attempts", "in_reply_to"] {
        assert!(out[0].get(f).is_some(), "outbox field {f}");
    }
    assert!(out.iter().all(|r| r["state"] == "sent"), "the file transport wrote everything");
    let files = std::fs::read_dir(cfg.parent().unwrap().join("../var/outbox")).unwrap().count();
    assert_eq!(files, out.len());

    let o = supportd(&cfg, &["tickets", "show", "MT-000001", "--json"]);
    let t: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(t["tag"], "MT-000001");
    assert!(!t["events"].as_array().unwrap().is_empty());

    // A second ingest of the same mails makes nothing new.
    let o = supportd(&cfg, &["ingest", "--no-send", fixtures.to_str().unwrap()]);
    assert!(stderr(&o).contains("duplicate"), "{}", stderr(&o));
    let o = supportd(&cfg, &["tickets", "list", "--json"]);
    assert_eq!(stdout(&o).lines().count(), 22);
}

#[test]
fn tickets_show_errors_name_the_tag() {
    let (dir, cfg) = temp_config();
    // the store must exist: read-only commands never create one (tests/ops_cli.rs)
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(supportd(&cfg, &["ingest", "--no-send", empty.to_str().unwrap()]).status.success());
    let o = supportd(&cfg, &["tickets", "show", "MT-000999"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("MT-000999"));
    let o = supportd(&cfg, &["tickets", "show", "banana"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("banana"));
}

#[test]
fn ingest_of_a_missing_path_is_exit_2_naming_it() {
    let (_dir, cfg) = temp_config();
    let o = supportd(&cfg, &["ingest", "/nonexistent/mail.eml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/mail.eml"));
}

#[test]
fn ingest_reads_stdin() {
    let (_dir, cfg) = temp_config();
    let mut child = Command::new(env!("CARGO_BIN_EXE_supportd"))
        .arg("--config")
        .arg(&cfg)
        .args(["ingest", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&common::mail("kunde@stadtwerke-musterstadt.de", "Frage", "stdin1@sw", "", "Wie geht das?"))
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("stdin\tnew_ticket\tMT-000001"), "{}", stdout(&o));
}

#[test]
fn classify_prints_category_confidence_and_reasons() {
    let (_dir, cfg) = temp_config();
    let f = common::repo().join("fixtures/pipeline/04-de-latin1-sicherheitsluecke.eml");
    let o = supportd(&cfg, &["classify", f.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["category"], "security_error");
    let c = v["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&c));
    assert!(!v["reasons"].as_array().unwrap().is_empty());
    assert!(!cfg.parent().unwrap().join("../var/supportd.sqlite3").exists(), "classify writes nothing");
}

#[test]
fn calendar_2027_shows_the_baden_wuerttemberg_holidays() {
    let o = supportd(&common::repo().join("config/supportd.toml"), &["calendar", "--year", "2027"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for d in [
        "01.01.2027",
        "06.01.2027",
        "26.03.2027",
        "29.03.2027",
        "01.05.2027",
        "06.05.2027",
        "17.05.2027",
        "27.05.2027",
        "03.10.2027",
        "01.11.2027",
        "25.12.2027",
        "26.12.2027",
    ] {
        assert!(out.contains(d), "{d} missing:\n{out}");
    }
    assert!(!out.contains("31.10.2027"), "Reformationstag is not a holiday in Baden-Württemberg");
    assert!(!out.contains("17.11.2027"), "nor Buß- und Bettag");
}

#[test]
fn run_once_processes_the_maildir_and_moves_mail_to_cur() {
    let (dir, cfg) = temp_config();
    let inbox = dir.path().join("var/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    std::fs::write(
        inbox.join("new/1.host"),
        common::mail("kunde@stadtwerke-musterstadt.de", "Frage", "md1@sw", "", "Wie geht das?"),
    )
    .unwrap();
    let o = supportd(&cfg, &["run", "--once"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(inbox.join("new")).unwrap().count(), 0);
    let cur: Vec<String> = std::fs::read_dir(inbox.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cur, vec!["1.host:2,S"]);
    let o = supportd(&cfg, &["tickets", "list"]);
    assert!(stdout(&o).contains("MT-000001"));
}

/// A config whose mail size cap (2,000 bytes) quarantines a long mail.
fn temp_config_small_limit() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text("[limits]\nmax_mail_bytes = 2000\n")).unwrap();
    (dir, cfg)
}

#[test]
fn quarantine_list_show_and_reprocess_after_the_limit_was_raised() {
    let (dir, cfg) = temp_config_small_limit();
    let big = common::mail(
        "kunde@stadtwerke-musterstadt.de",
        "Login geht nicht",
        "big1@sw",
        "",
        &"Fehlermeldung beim Login. ".repeat(200),
    );
    let small =
        common::mail("kunde@stadtwerke-musterstadt.de", "Frage zum Export", "small1@sw", "", "Wie exportiere ich?");
    std::fs::write(dir.path().join("big.eml"), &big).unwrap();
    std::fs::write(dir.path().join("small.eml"), &small).unwrap();
    let o = supportd(
        &cfg,
        &["ingest", dir.path().join("big.eml").to_str().unwrap(), dir.path().join("small.eml").to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // list: exactly the big mail, with its reason.
    let o = supportd(&cfg, &["quarantine", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0]["reason"].as_str().unwrap().contains("bytes"), "{q:?}");
    assert!(q[0]["reason"].as_str().unwrap().contains("2000"), "{q:?}");
    let id = q[0]["id"].as_i64().unwrap().to_string();

    // show: the reason line, then the raw bytes exactly.
    let o = supportd(&cfg, &["quarantine", "show", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (head, raw) = o.stdout.split_at(o.stdout.iter().position(|b| *b == b'\n').unwrap() + 1);
    assert!(String::from_utf8_lossy(head).starts_with(&format!("# message #{id}:")));
    assert_eq!(raw, &big[..]);

    // reprocess while the limit still holds: quarantined again (no ticket).
    let o = supportd(&cfg, &["quarantine", "reprocess", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("quarantined"), "{}", stdout(&o));
    let id = supportd(&cfg, &["quarantine", "list", "--json"]);
    let q: Vec<serde_json::Value> = stdout(&id).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(q.len(), 1, "the old row is replaced, not kept beside the new one");
    let id = q[0]["id"].as_i64().unwrap().to_string();

    // raise the limit, reprocess: a ticket, and the quarantine is empty.
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let o = supportd(&cfg, &["quarantine", "reprocess", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("new_ticket MT-000002"), "{}", stdout(&o));
    assert_eq!(stdout(&supportd(&cfg, &["quarantine", "list"])).trim(), "");
    let o = supportd(&cfg, &["messages", "list", "--json"]);
    let msgs: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(msgs.iter().filter(|m| m["message_id"] == "big1@sw").count(), 1, "one row for the mail");

    // a mail that is not quarantined cannot be reprocessed.
    let o = supportd(&cfg, &["quarantine", "reprocess", "99999"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("#99999"), "{}", stderr(&o));
}

#[test]
fn messages_show_prints_the_processing_trail() {
    let (_dir, cfg) = temp_config();
    let f = common::repo().join("fixtures/pipeline/04-de-latin1-sicherheitsluecke.eml");
    assert!(supportd(&cfg, &["ingest", f.to_str().unwrap()]).status.success());
    let o = supportd(&cfg, &["messages", "show", "1", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(m["disposition"], "new_ticket");
    assert_eq!(m["ticket"], "MT-000001");
    let trail: Vec<String> = m["trail"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    assert!(trail.len() >= 3, "{trail:?}");
    assert!(trail.iter().any(|t| t.contains("security_error")), "the classifier's decision is in the trail: {trail:?}");
    let o = supportd(&cfg, &["messages", "show", "1"]);
    assert!(stdout(&o).contains("trail:"), "{}", stdout(&o));
    let o = supportd(&cfg, &["messages", "show", "42"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("#42"));
}

#[test]
fn outbox_retry_requeues_only_unsent_rows() {
    let (_dir, cfg) = temp_config();
    let f = common::repo().join("fixtures/pipeline/01-de-outlook-login-fehler.eml");
    assert!(supportd(&cfg, &["ingest", "--no-send", f.to_str().unwrap()]).status.success());
    let o = supportd(&cfg, &["outbox", "list", "--json"]);
    let rows: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(rows.iter().all(|r| r["state"] == "queued"), "{rows:?}");
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let o = supportd(&cfg, &["outbox", "retry", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    // send everything, then a retry of a sent row is refused.
    assert!(supportd(&cfg, &["run", "--once"]).status.success());
    let o = supportd(&cfg, &["outbox", "list", "--json"]);
    assert!(stdout(&o).lines().all(|l| l.contains("\"state\":\"sent\"")), "{}", stdout(&o));
    let o = supportd(&cfg, &["outbox", "retry", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("#{id}")), "{}", stderr(&o));
}

#[test]
fn status_reports_counts_and_backup_is_a_consistent_copy() {
    let (dir, cfg) = temp_config();
    let fixtures = common::repo().join("fixtures/pipeline");
    assert!(supportd(&cfg, &["ingest", fixtures.to_str().unwrap()]).status.success());
    // no daemon has run on this store: "not running", exit 1, figures still there
    let o = supportd(&cfg, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(s["healthy"], false);
    assert_eq!(s["daemon"]["running"], false);
    assert!(s["reasons"][0].as_str().unwrap().contains("never run"), "{s}");
    assert_eq!(s["quarantined"], 3);
    assert_eq!(s["outbox"]["queued"], 0);
    assert!(s["outbox"]["sent"].as_i64().unwrap() > 0);
    assert_eq!(s["messages"]["quarantined"], 3);
    let text = supportd(&cfg, &["status"]);
    assert_eq!(text.status.code(), Some(1));
    assert!(stdout(&text).contains("quarantined     3"), "{}", stdout(&text));
    assert!(stdout(&text).starts_with("verdict         not running"), "{}", stdout(&text));

    let dest = dir.path().join("backup.sqlite3");
    let o = supportd(&cfg, &["backup", dest.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = rusqlite::Connection::open(&dest).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let n: i64 = c.query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 22);
    // never over an existing file
    let o = supportd(&cfg, &["backup", dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("backup.sqlite3"));
}

#[test]
fn tickets_show_prints_the_sla_due_times() {
    let (_dir, cfg) = temp_config();
    let f = common::repo().join("fixtures/pipeline/04-de-latin1-sicherheitsluecke.eml");
    assert!(supportd(&cfg, &["ingest", f.to_str().unwrap()]).status.success());
    let o = supportd(&cfg, &["tickets", "show", "MT-000001", "--json"]);
    let t: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let fr = t["first_response_due"].as_str().expect("first_response_due");
    let res = t["resolution_due"].as_str().expect("resolution_due");
    assert!(fr < res, "{fr} < {res}");
    assert!(t["first_response_at"].is_null());
    let text = stdout(&supportd(&cfg, &["tickets", "show", "MT-000001"]));
    assert!(text.contains("first response due") && text.contains(&fr[..10]), "{text}");
}
