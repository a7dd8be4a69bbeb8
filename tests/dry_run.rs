//! `supportd ingest --dry-run`: the plan of each mail as JSON, through the
//! built binary, with nothing kept (no store created or changed, nothing
//! queued, no Maildir file moved).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn supportd(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_supportd")).arg("--config").arg(config).args(args).output().unwrap()
}

fn lines(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn fixture(name: &str) -> String {
    common::repo().join("fixtures/pipeline").join(name).to_string_lossy().into_owned()
}

fn kinds(plan: &Value) -> Vec<&str> {
    plan["mails"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect()
}

#[test]
fn a_dry_run_prints_each_plan_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let store = dir.path().join("var/supportd.sqlite3");
    let (new, reply) = (fixture("01-de-outlook-login-fehler.eml"), fixture("12-de-followup-nur-tag-im-betreff.eml"));

    // No store yet: the plans are made on an empty one in memory; the
    // reply sees the ticket the first mail would open.
    let plans = lines(&supportd(&cfg, &["ingest", "--dry-run", &new, &reply]));
    assert_eq!(plans.len(), 2);
    let p = &plans[0];
    assert_eq!((p["disposition"].as_str(), p["ticket"].as_str()), (Some("new_ticket"), Some("MT-000001")));
    assert_eq!(kinds(p), ["ack", "notify_agents"]);
    assert_eq!(p["mails"][0]["to"][0], "kunde@stadtwerke-musterstadt.de");
    assert_eq!(p["mails"][0]["auto_submitted"], "auto-replied");
    assert!(p["mails"][0]["text"].as_str().unwrap().contains("MT-000001"), "{}", p["mails"][0]["text"]);
    assert_eq!(p["ticket_after"]["status"], "new");
    assert!(p["ticket_after"]["first_response_due"].is_string());
    assert!(p["events"].as_array().unwrap().iter().any(|e| e["kind"] == "created"));
    assert!(p["trail"].as_array().unwrap().iter().any(|t| t.as_str().unwrap().starts_with("classify: ")));
    let r = &plans[1];
    assert_eq!((r["disposition"].as_str(), r["ticket"].as_str()), (Some("follow_up"), Some("MT-000001")));
    assert_eq!(kinds(r), ["notify_agents"]);
    assert!(!store.exists(), "a dry run created the store");

    // With a store: the plan builds on it, and the store stays as it was.
    let o = supportd(&cfg, &["ingest", "--no-send", &new]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = (
        lines(&supportd(&cfg, &["messages", "list", "--json"])),
        lines(&supportd(&cfg, &["outbox", "list", "--json"])),
    );
    assert_eq!((before.0.len(), before.1.len()), (1, 2));
    let plans = lines(&supportd(&cfg, &["ingest", "--dry-run", "--json", &reply]));
    assert_eq!((plans[0]["disposition"].as_str(), plans[0]["ticket"].as_str()), (Some("follow_up"), Some("MT-000001")));
    let after = (
        lines(&supportd(&cfg, &["messages", "list", "--json"])),
        lines(&supportd(&cfg, &["outbox", "list", "--json"])),
    );
    assert_eq!(before, after, "the dry run changed the store");

    // A Maildir's new mail stays new.
    let maildir = dir.path().join("md");
    for d in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(d)).unwrap();
    }
    let file = maildir.join("new/1796527138.M1P1.host");
    std::fs::copy(&reply, &file).unwrap();
    let plans = lines(&supportd(&cfg, &["ingest", "--dry-run", maildir.to_str().unwrap()]));
    assert_eq!(plans[0]["disposition"], "follow_up");
    assert!(file.exists(), "the dry run acknowledged the Maildir file");
}
