//! The first level's promises beyond the ticket (issue #19), through the
//! real pipeline and the daemon's clock (`schedule::tick_store`) at fixed
//! times: the handover mail at support start, the knowledge base's first
//! solution attempt in the ack, and the follow-through (daily digest,
//! reminders and automatic close of tickets waiting on the customer).
//! Mails people read are compared with `tests/golden/first_level/`
//! (`SUPPORTD_UPDATE_GOLDEN=1` rewrites them; review the diff).

mod common;

use std::process::Command;

use chrono::{DateTime, Utc};
use common::{Env, reader_view};
use supportd::config::Config;
use supportd::pipeline::Pipeline;
use supportd::schedule;
use supportd::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_supportd");

/// The default config's customers with handover contacts and specifics.
fn with_contacts(text: &str) -> String {
    text.replace(
        "report_to = [\"it@stadtwerke-musterstadt.de\"]",
        "report_to = [\"it@stadtwerke-musterstadt.de\"]\n\
         contacts = [\"it@stadtwerke-musterstadt.de\", \"m.keller@stadtwerke-musterstadt.de\"]\n\
         specifics = [\"Wartungsfenster: dienstags 18:00-20:00 Uhr; Updates nur nach Absprache mit Herrn Keller.\", \
         \"Die Anwendung läuft im Rechenzentrum der Stadtwerke; Zugriff für den Support per VPN.\"]",
    )
    .replace(
        "report_to = [\"jane@harbour-analytics.co.uk\"]",
        "report_to = [\"jane@harbour-analytics.co.uk\"]\ncontacts = [\"jane@harbour-analytics.co.uk\"]\n\
         specifics = [\"Tickets about the data warehouse go to the 2nd level directly.\"]",
    )
}

fn default_text() -> String {
    std::fs::read_to_string(common::repo().join("config/supportd.toml")).unwrap()
}

/// Restart (or reload) on the same store: a fresh `Store` and `Pipeline` from `text`.
fn restart(env: &mut Env, text: &str) {
    let cfgdir = env.dir.path().join("config");
    let cfg = Config::from_str(text, "test.toml", &cfgdir).unwrap();
    env.store = Store::open(&cfg.store_path).unwrap();
    env.p = Pipeline::new(cfg, env.store.conn()).unwrap();
}

fn env_with(text: &str) -> Env {
    let mut env = Env::new();
    restart(&mut env, text);
    env
}

fn tick(env: &mut Env, at: DateTime<Utc>) -> schedule::Tick {
    schedule::tick_store(&env.p, &mut env.store, at).unwrap()
}

/// Compare a mail with its golden file (or write it with `SUPPORTD_UPDATE_GOLDEN=1`).
fn golden(name: &str, got: &str) {
    let path = common::repo().join("tests/golden/first_level").join(name);
    if std::env::var_os("SUPPORTD_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SUPPORTD_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(got, want, "{} differs", path.display());
}

fn raw_of(env: &Env, id: i64) -> Vec<u8> {
    env.store.conn().query_row("SELECT raw FROM outbox WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

/// Tuesday 24.11.2026 10:00 Berlin.
fn t0() -> DateTime<Utc> {
    common::tuesday_morning()
}

// ---------------------------------------------------------------------------
// 1. The handover at support start

/// Proves: the daemon's first clock tick on a new installation sends every
/// customer with contacts its handover mail, German or English per customer,
/// with the support address, hours, the BW holidays of the coming months,
/// the levels with the project team on level 2, the five categories and
/// what the fee covers, the overview, the report cycle, the contact person
/// and the specifics, exactly as reviewed.
#[test]
fn the_handover_mail_reads_as_reviewed_in_german_and_english() {
    let mut env = env_with(&with_contacts(&default_text()));
    let t = tick(&mut env, t0());
    assert_eq!(t.welcomed, ["Stadtwerke Musterstadt", "Harbour Analytics Ltd"]);
    let mails = env.sent("welcome");
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].recipients, ["it@stadtwerke-musterstadt.de", "m.keller@stadtwerke-musterstadt.de"]);
    assert_eq!(mails[1].recipients, ["jane@harbour-analytics.co.uk"]);
    let de = reader_view(&raw_of(&env, mails[0].id));
    let en = reader_view(&raw_of(&env, mails[1].id));
    for (text, words) in [
        (
            &de,
            &[
                "Baden-Württemberg",
                "25.12.2026",
                "p.schmidt@roewaplan.de",
                "Ticketübersicht",
                "monatlich",
                "Anna Berg",
                "Wartungsfenster",
                "Nicht im Wartungspreis enthalten",
            ][..],
        ),
        (
            &en,
            &[
                "Baden-Württemberg",
                "Christmas Day",
                "ticket overview",
                "quarterly",
                "Anna Berg",
                "data warehouse",
                "Not covered by the maintenance fee",
            ][..],
        ),
    ] {
        for w in words {
            assert!(text.contains(w), "{w:?} missing in\n{text}");
        }
    }
    assert!(de.contains("Auto-Submitted: auto-generated"));
    golden("welcome.de.txt", &de);
    golden("welcome.en.txt", &en);
}

/// Proves: the handover goes out once per customer across restarts; a
/// customer added by a reload gets its own at the next tick; a customer
/// without contacts gets none; the manual command repeats it on request.
#[test]
fn the_handover_goes_once_across_restarts_and_a_reload_welcomes_only_the_new_customer() {
    let text = with_contacts(&default_text());
    let mut env = env_with(&text);
    assert_eq!(tick(&mut env, t0()).welcomed.len(), 2);
    restart(&mut env, &text);
    assert!(tick(&mut env, t0() + chrono::Duration::minutes(1)).welcomed.is_empty());
    assert!(tick(&mut env, t0() + chrono::Duration::days(40)).welcomed.is_empty());
    assert_eq!(env.sent("welcome").len(), 2);
    // A reload with a new customer.
    let more = format!(
        "{text}\n[[customers]]\nname = \"Gemeinde Neudorf\"\ndomains = [\"neudorf.de\"]\nlanguage = \"de\"\n\
         contacts = [\"edv@neudorf.de\"]\n\n[[customers]]\nname = \"Ohne Kontakt GmbH\"\ndomains = [\"ohne-kontakt.de\"]\n"
    );
    restart(&mut env, &more);
    let t = tick(&mut env, t0() + chrono::Duration::days(41));
    assert_eq!(t.welcomed, ["Gemeinde Neudorf"]);
    assert_eq!(env.sent("welcome").last().unwrap().recipients, ["edv@neudorf.de"]);
    assert!(tick(&mut env, t0() + chrono::Duration::days(42)).welcomed.is_empty());
    assert_eq!(env.count("SELECT count(*) FROM welcome_sent WHERE trigger = 'schedule'"), 3);
}

/// Proves: a customer the store knew before (an upgraded installation with
/// its tickets) is recorded as known and gets no unsolicited handover.
#[test]
fn a_customer_known_before_gets_no_unsolicited_handover() {
    let mut env = Env::new();
    env.ingest(&common::mail(
        "m.keller@stadtwerke-musterstadt.de",
        "Export geht nicht",
        "k1@sw",
        "",
        "Der Export bricht ab.",
    ));
    restart(&mut env, &with_contacts(&default_text()));
    let t = tick(&mut env, t0() + chrono::Duration::hours(1));
    assert_eq!(t.welcomed, ["Harbour Analytics Ltd"], "Stadtwerke had a ticket: known");
    assert_eq!(env.count("SELECT count(*) FROM welcome_sent WHERE trigger = 'known'"), 1);
}

/// Proves: `supportd customer welcome NAME --dry-run` prints the mail and
/// writes nothing; without --dry-run it queues and sends a manual handover
/// (which may repeat); an unknown customer or one without contacts exits 2
/// naming it.
#[test]
fn customer_welcome_command_previews_and_sends() {
    let dir = tempfile::tempdir().unwrap();
    let cfgdir = dir.path().join("config");
    std::fs::create_dir_all(&cfgdir).unwrap();
    let cfg = cfgdir.join("supportd.toml");
    std::fs::write(&cfg, with_contacts(&default_text())).unwrap();
    let run = |args: &[&str]| Command::new(BIN).arg("--config").arg(&cfg).args(args).output().unwrap();
    let out = run(&["customer", "welcome", "stadtwerke-musterstadt.de", "--dry-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("To: it@stadtwerke-musterstadt.de, m.keller@stadtwerke-musterstadt.de\nSubject: Willkommen")
    );
    assert!(!dir.path().join("var/supportd.sqlite3").exists(), "a dry run writes no store");
    for _ in 0..2 {
        let out = run(&["customer", "welcome", "Harbour Analytics Ltd"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("to jane@harbour-analytics.co.uk"));
    }
    let files = std::fs::read_dir(dir.path().join("var/outbox")).unwrap().count();
    assert_eq!(files, 2, "two manual handover mails written by the file transport");
    let out = run(&["customer", "welcome", "Niemand AG"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Niemand AG"));
    let out = run(&["customer", "welcome", "Landkreis Beispielhausen"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no contacts"));
}
