//! Day-2 operations with the built binary (issue 17, "Data safety" and "The
//! packaged CLI"): restore without re-send, backups 0600, the migration race
//! of concurrent processes, read-only commands on a mistyped store path,
//! commands without the servers' secrets, the default config, check-config's
//! every-problem-at-once, broken pipes, help texts, `--json`, the man page
//! and the shell completions. The installed package's side is checked in
//! `scripts/package.sh`.

mod common;
use common::supportd;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_supportd");

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", o.status, stdout(o), stderr(o));
    stdout(o)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// The default config in a temp dir: Maildir `var/inbox`, `.eml` files into
/// `var/outbox`, the store `var/supportd.sqlite3`.
fn temp_config() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::create_dir_all(dir.path().join("var/inbox/new")).unwrap();
    std::fs::create_dir_all(dir.path().join("var/inbox/cur")).unwrap();
    std::fs::create_dir_all(dir.path().join("var/inbox/tmp")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    (dir, cfg)
}

/// The mails the file transport wrote, escalations left out: the fixtures
/// carry our MTA's `Received:` dates of November 2026, so their tickets are
/// overdue by now and `run --once` escalates them (the customer's clock, see
/// tests/arrival.rs); these tests count the answers the outbox commands govern.
fn sent_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("var/outbox"))
        .map(|d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| !e.file_name().to_string_lossy().ends_with("-escalation.eml")))
                .count()
        })
        .unwrap_or(0)
}

fn outbox(cfg: &Path, state: &str) -> Vec<serde_json::Value> {
    json_lines(&ok(&supportd(cfg, &["outbox", "list", "--json", "--state", state])))
}

/// Proves: a backup taken while answers are queued, restored as the README
/// says (stop, replace the file, start), sends none of them when the daemon
/// starts on it: every row queued at backup time is `held` (listed with
/// `outbox list --state held`, the reason names the backup) until the
/// operator releases it; released rows are sent by the next pass, a deleted
/// one never. New mail after the restore is answered as usual. The backup
/// file is mode 0600 and never overwritten.
#[test]
fn a_restored_backup_sends_nothing_until_released() {
    let (dir, cfg) = temp_config();
    let fixtures = common::repo().join("fixtures/pipeline");
    ok(&supportd(&cfg, &["ingest", "--no-send", fixtures.to_str().unwrap()]));
    let queued = outbox(&cfg, "queued");
    assert!(queued.len() >= 10, "{queued:?}");

    let backup = dir.path().join("backup.sqlite3");
    let out = ok(&supportd(&cfg, &["backup", backup.to_str().unwrap()]));
    assert!(out.contains("mode 0600"), "{out}");
    assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    let again = supportd(&cfg, &["backup", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("refusing to overwrite"), "{}", stderr(&again));

    // Meanwhile the live daemon sent everything ...
    ok(&supportd(&cfg, &["run", "--once"]));
    assert_eq!(sent_files(dir.path()), queued.len());
    std::fs::remove_dir_all(dir.path().join("var/outbox")).unwrap();

    // ... then the store is lost and the backup restored.
    let store = dir.path().join("var/supportd.sqlite3");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", store.display()));
    }
    std::fs::copy(&backup, &store).unwrap();
    ok(&supportd(&cfg, &["run", "--once"]));
    assert_eq!(sent_files(dir.path()), 0, "a restored store re-sent mail");
    let held = outbox(&cfg, "held");
    assert_eq!(held.len(), queued.len());
    assert!(held.iter().all(|o| o["state"] == "held" && o["held"].as_str().unwrap().contains("restored")), "{held:?}");
    assert!(outbox(&cfg, "queued").is_empty());

    // a second start holds nothing new and sends nothing
    ok(&supportd(&cfg, &["run", "--once"]));
    assert_eq!(sent_files(dir.path()), 0);

    // new mail after the restore is answered
    let mail = common::mail("neu@stadtwerke-musterstadt.de", "Neue Frage", "after-restore@sw", "", "Hallo?");
    std::fs::write(dir.path().join("var/inbox/new/1.after"), mail).unwrap();
    ok(&supportd(&cfg, &["run", "--once"]));
    let after = sent_files(dir.path());
    assert!(after >= 1, "the new mail got no answer");

    // the operator discards one and releases the rest
    let first = held[0]["id"].as_i64().unwrap().to_string();
    assert!(ok(&supportd(&cfg, &["outbox", "delete", &first])).contains("1 outgoing mails deleted"));
    let out = ok(&supportd(&cfg, &["outbox", "release", "--all"]));
    assert!(out.starts_with(&format!("{} outgoing mails released", held.len() - 1)), "{out}");
    ok(&supportd(&cfg, &["run", "--once"]));
    assert_eq!(sent_files(dir.path()), after + held.len() - 1);
    let failed = outbox(&cfg, "failed");
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["last_error"].as_str().unwrap().contains("deleted by the operator"));
}

/// Proves: `outbox hold ID` keeps a queued mail from being sent, `outbox
/// release ID` sends it at the next pass, ids that do not apply are named
/// (exit 1), `outbox flush` makes waiting rows due, and `outbox retry`
/// refuses a held row and points at `release`.
#[test]
fn outbox_hold_release_delete_and_flush() {
    let (dir, cfg) = temp_config();
    let fixtures = common::repo().join("fixtures/pipeline/01-de-outlook-login-fehler.eml");
    ok(&supportd(&cfg, &["ingest", "--no-send", fixtures.to_str().unwrap()]));
    let queued = outbox(&cfg, "queued");
    let ids: Vec<String> = queued.iter().map(|o| o["id"].to_string()).collect();
    let mut args = vec!["outbox", "hold"];
    args.extend(ids.iter().map(String::as_str));
    ok(&supportd(&cfg, &args));
    let retry = supportd(&cfg, &["outbox", "retry", &ids[0]]);
    assert_eq!(retry.status.code(), Some(1));
    assert!(stderr(&retry).contains("outbox release"), "{}", stderr(&retry));
    ok(&supportd(&cfg, &["run", "--once"]));
    assert_eq!(sent_files(dir.path()), 0);
    let o = supportd(&cfg, &["outbox", "release", &ids[0], "999999"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("1 outgoing mails released"), "{}", stdout(&o));
    assert!(stderr(&o).contains("#999999"), "{}", stderr(&o));
    ok(&supportd(&cfg, &["run", "--once"]));
    assert_eq!(sent_files(dir.path()), 1);
    ok(&supportd(&cfg, &["outbox", "release", "--all"]));
    assert!(ok(&supportd(&cfg, &["outbox", "flush"])).contains("due now"));
    let missing = supportd(&cfg, &["outbox", "hold"]);
    assert_eq!(missing.status.code(), Some(2), "hold without ids or --all is a usage error");
}

/// Proves `outbox retry --all-failed` (the issue's `--all-failed`, Postfix's
/// `postsuper -r` after a relay outage): every mail the transport gave up on
/// is queued again and sent by the next pass, while a mail the operator
/// deleted and one whose bytes retention removed stay failed; `retry ID`
/// refuses the latter by name, and `retry` without ids is a usage error.
#[test]
fn outbox_retry_all_failed_requeues_what_the_transport_gave_up_on() {
    let (dir, cfg) = temp_config();
    for f in ["01-de-outlook-login-fehler.eml", "02-en-gmail-export-frage.eml"] {
        let f = common::repo().join("fixtures/pipeline").join(f);
        ok(&supportd(&cfg, &["ingest", "--no-send", f.to_str().unwrap()]));
    }
    let queued = outbox(&cfg, "queued");
    assert!(queued.len() >= 3, "{queued:?}");
    let id = |i: usize| queued[i]["id"].as_i64().unwrap();
    let (deleted, gave_up, removed) = (id(0), id(1), id(2));
    ok(&supportd(&cfg, &["outbox", "delete", &deleted.to_string()]));
    {
        let store = supportd::store::Store::open_existing_writable(&dir.path().join("var/supportd.sqlite3")).unwrap();
        supportd::store::outbox_mark_failed(store.conn(), gave_up, "550 5.1.1 mailbox unavailable").unwrap();
        supportd::store::outbox_mark_failed(store.conn(), removed, "550 5.1.1 mailbox unavailable").unwrap();
        store
            .conn()
            .execute("UPDATE outbox SET raw_removed_at = '2026-01-01T00:00:00Z' WHERE id = ?1", [removed])
            .unwrap();
    }
    let out = ok(&supportd(&cfg, &["outbox", "retry", "--all-failed"]));
    assert!(out.starts_with("1 failed outgoing mails queued"), "{out}");
    let failed: Vec<i64> = outbox(&cfg, "failed").iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(failed, vec![deleted, removed]);
    assert!(outbox(&cfg, "queued").iter().any(|o| o["id"].as_i64() == Some(gave_up)));
    ok(&supportd(&cfg, &["run", "--once"]));
    assert!(outbox(&cfg, "sent").iter().any(|o| o["id"].as_i64() == Some(gave_up)));
    assert_eq!(outbox(&cfg, "failed").len(), 2, "the deleted and the removed one are never sent");
    let o = supportd(&cfg, &["outbox", "retry", &removed.to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("#{removed}")), "{}", stderr(&o));
    assert_eq!(supportd(&cfg, &["outbox", "retry"]).status.code(), Some(2));
}

/// Proves: 20 real processes (19 `ingest --no-send`, one daemon pass `run
/// --once`) started at the same moment on a store that does not exist yet
/// all succeed: the migrations run once (the schema is complete, the
/// version is current, integrity holds) and the Message-ID secret is one
/// value that no process overwrote.
#[test]
fn twenty_processes_racing_on_a_fresh_store_all_succeed() {
    for round in 0..3 {
        let (dir, cfg) = temp_config();
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let children: Vec<_> = (0..20)
            .map(|i| {
                let mut c = Command::new(BIN);
                c.arg("--config").arg(&cfg).env_remove("CREDENTIALS_DIRECTORY");
                if i == 0 {
                    c.args(["run", "--once"]);
                } else {
                    c.args(["ingest", "--no-send"]).arg(&empty);
                }
                c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}, process {i}: {:?}\n{}", o.status, stderr(&o));
        }
        let store = supportd::store::Store::open(&dir.path().join("var/supportd.sqlite3")).unwrap();
        let v: i64 = store.conn().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, supportd::store::MIGRATIONS.len());
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let secrets: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM state WHERE key = 'message_id_secret'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(secrets, 1);
    }
}

/// Proves: every command that only reads the store fails on a store path
/// that does not exist, with exit status 1 and one line naming the path,
/// and creates nothing (no empty store reporting zero counts).
#[test]
fn read_only_commands_on_a_missing_store_fail_naming_it() {
    let (dir, cfg) = temp_config();
    let store = dir.path().join("var/supportd.sqlite3");
    let backup = dir.path().join("b.sqlite3");
    for args in [
        vec!["tickets", "list"],
        vec!["tickets", "show", "MT-000001"],
        vec!["messages", "list"],
        vec!["messages", "show", "1"],
        vec!["outbox", "list"],
        vec!["outbox", "list", "--state", "held"],
        vec!["outbox", "release", "--all"],
        vec!["quarantine", "list"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["report", "--customer", "Stadtwerke Musterstadt", "--period", "2026-11"],
        vec!["backup", backup.to_str().unwrap()],
    ] {
        let o = supportd(&cfg, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("supportd.sqlite3 does not exist"), "{args:?}: {err}");
        assert!(!store.exists(), "{args:?} created the store");
        assert!(!backup.exists(), "{args:?} wrote a backup");
    }
}

/// The production example with its store moved into `dir` (its passwords
/// stay `${CREDENTIALS_DIRECTORY}/…` files, as installed).
fn production_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(common::repo().join("config/production.example.toml")).unwrap();
    let store_line = text.lines().find(|l| l.starts_with("path = \"/var/lib/supportd")).expect("store path line");
    let text = text.replace(store_line, &format!("path = {:?}", dir.join("supportd.sqlite3")));
    let cfg = dir.join("supportd.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// Proves: with the production example's `password_file =
/// "${CREDENTIALS_DIRECTORY}/…"` and no `$CREDENTIALS_DIRECTORY` (root's
/// shell outside the unit), the commands that talk to neither the mailbox
/// nor the relay work: `ingest --no-send`, `tickets list`, `messages
/// list`, `outbox list`, `status` (not a config error), `calendar`,
/// `backup`, `outbox hold --all`; the ones that do (`check-config`, `ingest`
/// with sending) still name the missing password files (exit 2).
#[test]
fn commands_without_server_secrets_work_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = production_config(dir.path());
    let mail = dir.path().join("m.eml");
    std::fs::write(&mail, common::mail("kunde@stadtwerke-musterstadt.de", "Frage", "q1@sw", "", "Hallo")).unwrap();
    ok(&supportd(&cfg, &["ingest", "--no-send", mail.to_str().unwrap()]));
    for args in [
        vec!["tickets", "list"],
        vec!["messages", "list", "--json"],
        vec!["outbox", "list"],
        vec!["calendar"],
        vec!["outbox", "hold", "--all"],
    ] {
        ok(&supportd(&cfg, &args));
    }
    let backup = dir.path().join("backup.sqlite3");
    ok(&supportd(&cfg, &["backup", backup.to_str().unwrap()]));
    let status = supportd(&cfg, &["status"]);
    assert_ne!(status.status.code(), Some(2), "{}", stderr(&status));
    assert!(!stderr(&status).contains("password_file"), "{}", stderr(&status));
    for args in [vec!["check-config"], vec!["ingest", mail.to_str().unwrap()]] {
        let o = supportd(&cfg, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("mailbox.password_file"), "{args:?}: {}", stderr(&o));
    }
}

/// Proves: the config is `--config`, else `$SUPPORTD_CONFIG`, else
/// `/etc/supportd/supportd.toml` when it exists (the installed package),
/// else `config/supportd.toml` below the working directory.
#[test]
fn the_default_config_is_the_installed_one_when_it_exists() {
    let (dir, cfg) = temp_config();
    let o = Command::new(BIN)
        .arg("check-config")
        .env("SUPPORTD_CONFIG", &cfg)
        .env_remove("CREDENTIALS_DIRECTORY")
        .current_dir("/")
        .output()
        .unwrap();
    assert!(ok(&o).contains(cfg.to_str().unwrap()));
    let o = Command::new(BIN)
        .arg("check-config")
        .env_remove("SUPPORTD_CONFIG")
        .env("CREDENTIALS_DIRECTORY", "/nonexistent")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let all = format!("{}{}", stdout(&o), stderr(&o));
    if Path::new("/etc/supportd/supportd.toml").is_file() {
        assert!(all.contains("/etc/supportd/supportd.toml"), "{all}");
    } else {
        assert!(all.starts_with("config/supportd.toml: ok"), "{all}");
    }
}

/// Proves: `check-config` reports every problem at once, structural ones
/// (a value of the wrong type, an unknown key) by key, together with
/// semantic ones, an empty level team and a template with an undefined
/// variable (strict rendering with a sample context); `--json` gives one
/// object per problem with file, key, rule, value; a good config is one
/// `{"ok": true}` line.
#[test]
fn check_config_reports_every_problem_including_structure_and_templates() {
    let (dir, cfg) = temp_config();
    let text = common::config_text("")
        .replace("reopen_days = 14", "reopen_days = \"vierzehn\"\nadress = \"x\"")
        .replace("team = [\"entwicklung@roewaplan.de\"]", "team = []")
        .replace("open = \"08:00\"", "open = \"25:00\"");
    std::fs::write(&cfg, text).unwrap();
    let tpl = dir.path().join("config/templates/de");
    std::fs::create_dir_all(&tpl).unwrap();
    let ack = std::fs::read_to_string(common::repo().join("config/templates/de/ack.txt")).unwrap();
    std::fs::write(tpl.join("ack.txt"), ack.replacen("{{ tag }}", "{{ tagg }}", 1)).unwrap();

    let o = supportd(&cfg, &["check-config"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "support.reopen_days: invalid type: string \"vierzehn\", expected i64 (line",
        "support.adress: unknown field",
        "levels.3.team: must name at least one address",
        "hours.open: must be a time HH:MM",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // the templates are checked once the config itself is valid
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let o = supportd(&cfg, &["check-config"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("de/ack.txt") && stderr(&o).contains("`tagg` is undefined"), "{}", stderr(&o));
    let o = supportd(&cfg, &["check-config", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["key"], "templates.path");
    for f in ["file", "key", "rule", "value"] {
        assert!(lines[0].get(f).is_some(), "{f}");
    }
    std::fs::remove_file(tpl.join("ack.txt")).unwrap();
    let lines = json_lines(&ok(&supportd(&cfg, &["check-config", "--json"])));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["ok"], true);
}

/// Proves: the shipped templates (German and English, every kind) render
/// with strict undefined behaviour on their sample contexts.
#[test]
fn the_shipped_templates_pass_the_strict_check() {
    let (_dir, cfg) = temp_config();
    ok(&supportd(&cfg, &["check-config"]));
    ok(&supportd(&common::repo().join("config/supportd.toml"), &["check-config"]));
}

/// Proves: `--json` of `calendar`, `ingest` and `check-config` prints one
/// JSON object per line with the documented fields.
#[test]
fn calendar_ingest_and_check_config_have_json_lines() {
    let (_dir, cfg) = temp_config();
    let days = json_lines(&ok(&supportd(&cfg, &["calendar", "--year", "2027", "--json"])));
    assert!(days.len() >= 12, "{days:?}");
    assert_eq!(days[0]["date"], "2027-01-01");
    for f in ["date", "weekday", "name_de", "name_en", "support_weekday"] {
        assert!(days[0].get(f).is_some(), "{f}");
    }
    let fixtures = common::repo().join("fixtures/pipeline");
    let mails = json_lines(&ok(&supportd(&cfg, &["ingest", "--no-send", "--json", fixtures.to_str().unwrap()])));
    assert!(mails.len() > 20);
    for f in ["source", "id", "disposition", "ticket", "reason"] {
        assert!(mails.iter().all(|m| m.get(f).is_some()), "{f}");
    }
    assert!(mails.iter().any(|m| m["disposition"] == "quarantined" && m["reason"].is_string()));
    assert!(mails.iter().any(|m| m["ticket"] == "MT-000001"));
}

/// Proves: `messages list | head -1` does not panic: the output pipe closed
/// early ends the command quietly (exit 0 or SIGPIPE, never 101, nothing on
/// stderr).
#[test]
fn a_closed_output_pipe_ends_a_listing_quietly() {
    let (_dir, cfg) = temp_config();
    let fixtures = common::repo().join("fixtures/pipeline");
    for _ in 0..3 {
        ok(&supportd(&cfg, &["ingest", "--no-send", fixtures.to_str().unwrap()]));
    }
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .args(["messages", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("#1 "), "{first}");
    // the reader is dropped here: the pipe is closed
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success() || o.status.signal() == Some(13), "{:?}", o.status);
    assert_eq!(stderr(&o), "", "{:?}", o.status);
}

/// Proves: every subcommand and every argument in `--help` has a text
/// (clap doc comments), hidden ones and clap's own help/version aside.
#[test]
fn every_help_entry_has_a_text() {
    use clap::CommandFactory;
    fn walk(c: &clap::Command, path: &str, blank: &mut Vec<String>) {
        for a in c.get_arguments() {
            let id = a.get_id().as_str();
            if a.is_hide_set() || id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                blank.push(format!("{path} {id}"));
            }
        }
        for s in c.get_subcommands() {
            if s.is_hide_set() || s.get_name() == "help" {
                continue;
            }
            let p = format!("{path} {}", s.get_name());
            if s.get_about().is_none() {
                blank.push(p.clone());
            }
            walk(s, &p, blank);
        }
    }
    let mut blank = Vec::new();
    walk(&supportd::cli::Cli::command(), "supportd", &mut blank);
    assert!(blank.is_empty(), "help entries without a text: {blank:?}");
    let o = Command::new(BIN).args(["outbox", "--help"]).output().unwrap();
    assert!(ok(&o).contains("release"));
}

/// Proves: `supportd man` prints a roff manual page of every subcommand
/// and `supportd completions bash|zsh|fish` a completion script that knows
/// the subcommands.
#[test]
fn man_page_and_completions_are_generated() {
    let man = ok(&Command::new(BIN).arg("man").output().unwrap());
    assert!(man.starts_with(".ie") || man.contains(".TH supportd"), "{}", &man[..200.min(man.len())]);
    for sub in ["check\\-config", "backup", "outbox"] {
        assert!(man.contains(sub), "{sub} missing in the man page");
    }
    for (shell, marker) in [("bash", "_supportd()"), ("zsh", "#compdef supportd"), ("fish", "complete -c supportd")] {
        let out = ok(&Command::new(BIN).args(["completions", shell]).output().unwrap());
        assert!(out.contains(marker), "{shell}: {}", &out[..200.min(out.len())]);
        assert!(out.contains("check-config"), "{shell}");
    }
}
