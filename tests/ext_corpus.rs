//! The [mail-reading] issue's measures as a test: every labelled mail of
//! `../shared/ext-corpus/` (or `$SUPPORTD_EXT_CORPUS`) through the real
//! `pipeline::process_batch`, one fresh store per mail (the measure code is
//! `examples/ext_corpus/measure.rs`; `cargo run --example ext_corpus -- -v`
//! prints the tables and every miss). The thresholds hold the goals
//! where they are reached and what is reached otherwise:
//!
//! | measure | goal | held here |
//! |---|---|---|
//! | quotes exact | >= 90 % | >= 98 % (119/120 now) |
//! | quoted history leaked | <= 2 % | <= 2 % (1/120 now: a signature crisp hides and talon keeps) |
//! | reply text cut or emptied | 0 % | 0 |
//! | bounces recognised | >= 99 % | >= 99.5 % (863/864 now) |
//! | machine mails answered | <= 0.5 % | <= 0.5 % (1/893 now: a person forwarding a bounce, a ticket on purpose) |
//! | ARF kept out | 100 % | 100 % |
//! | person mail taken for machine mail | 0 | 0 |
//!
//! Without the corpus (a machine without `../shared`) the test says so and
//! passes; with `SUPPORTD_EXT_CORPUS` set it must be there.

mod common;

#[path = "../examples/ext_corpus/measure.rs"]
mod measure;

#[test]
fn ext_corpus_measures_hold() {
    let Some(dir) = measure::corpus_dir() else {
        eprintln!("ext corpus not found (../shared/ext-corpus or $SUPPORTD_EXT_CORPUS): skipped");
        return;
    };
    let records = measure::run_corpus(&dir);
    assert!(records.len() >= 1000, "{} labelled mails", records.len());
    let t = measure::total(&records);
    let rate = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    let table = measure::table("per source", &measure::by(&records, |r| Some(r.group.clone())));
    eprintln!("{table}");
    assert!(rate(t.exact, t.quoted) >= 0.98, "quotes exact {}/{}\n{table}", t.exact, t.quoted);
    assert!(rate(t.leaked, t.quoted) <= 0.02, "leaked {}/{}\n{table}", t.leaked, t.quoted);
    assert_eq!(t.cut, 0, "cut {}/{}\n{table}", t.cut, t.quoted);
    assert!(rate(t.bounces_ok, t.bounces) >= 0.995, "bounces {}/{}\n{table}", t.bounces_ok, t.bounces);
    assert!(rate(t.machine_answered, t.machine) <= 0.005, "answered {}/{}\n{table}", t.machine_answered, t.machine);
    assert_eq!(t.arf_out, t.arf, "ARF kept out\n{table}");
    assert_eq!(t.persons_as_machine, 0, "person mail taken for machine mail\n{table}");
    assert_eq!(t.quarantined, 0, "quarantined\n{table}");
}

/// Upstream spam verdicts (SpamAssassin, rspamd, Microsoft), and marketing
/// and phishing without any spam header from senders outside the customer
/// domains (German and English, tools/make_mailreading.py): stored with
/// disposition spam, listed, retrievable byte for byte, no ticket, no
/// answer. The look-alikes ("not-spam": a low score, a customer's mail with
/// links and "Angebot"/"kostenlos", a customer's newsletter footer, a
/// stranger's screenshot link, a security researcher's links) are tickets.
#[test]
fn upstream_spam_verdicts_keep_spam_out_of_tickets() {
    let dir = common::repo().join("fixtures/spam");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 14);
    assert!(names.iter().filter(|n| n.contains("not-spam")).count() >= 5);
    let mut env = common::Env::new();
    for n in &names {
        let o = env.ingest_file(&dir.join(n));
        let answers: Vec<_> = env.outbox_for_row(o.row).into_iter().filter(|(k, _)| k == "ack").collect();
        if n.contains("not-spam") {
            assert_eq!(o.disposition.as_str(), "new_ticket", "{n}: {:?}", o.reason);
            continue;
        }
        assert_eq!(o.disposition.as_str(), "spam", "{n}: {:?}", o.reason);
        assert!(o.ticket.is_none(), "{n}");
        assert!(answers.is_empty(), "{n}");
        let stored: i64 = env
            .store
            .conn()
            .query_row("SELECT count(*) FROM messages WHERE id = ?1 AND disposition = 'spam'", [o.row], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 1, "{n}: stored and listed as spam");
        let kept = supportd::store::get_message(env.store.conn(), o.row).unwrap().expect("retrievable");
        assert_eq!(kept.raw, std::fs::read(dir.join(n)).unwrap(), "{n}: kept byte for byte");
        let listed = supportd::store::list_messages(env.store.conn(), None, Some("spam")).unwrap();
        assert!(listed.iter().any(|m| m.id == o.row && m.disposition.as_deref() == Some("spam")), "{n}: listed");
    }
}
