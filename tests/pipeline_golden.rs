//! Golden test: the real `.eml` files of fixtures/pipeline/ go through the
//! same `process` function as the daemon, in file-name order, into one fresh
//! store; each must end with the disposition, ticket, category, ack,
//! subject, text and attachment count that fixtures/pipeline/expected.toml
//! names. Proves parsing of the usual client shapes and encodings, dedupe,
//! threading, quarantine of poison mails without stopping the run.

mod common;

use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    file: String,
    disposition: String,
    ticket: Option<String>,
    category: Option<String>,
    ack: bool,
    subject: Option<String>,
    text_contains: Option<String>,
    attachments: Option<i64>,
}

#[test]
fn every_pipeline_fixture_ends_as_expected() {
    let dir = common::repo().join("fixtures/pipeline");
    let exp: Expected = toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    files.sort();
    let listed: Vec<&str> = exp.case.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(files, listed, "expected.toml must list every fixture in order");
    assert!(files.len() >= 25, "at least 25 fixtures");

    let mut env = common::Env::new();
    let mut failures = Vec::new();
    for case in &exp.case {
        let o = env.ingest_file(&dir.join(&case.file));
        let mut problems = Vec::new();
        if o.disposition.as_str() != case.disposition {
            problems.push(format!("disposition {} (reason {:?}), want {}", o.disposition, o.reason, case.disposition));
        }
        let got_ticket = o.ticket.map(|t| env.p.tag(t));
        if case.disposition != "auto_reply" && case.disposition != "bounce" && got_ticket != case.ticket {
            problems.push(format!("ticket {got_ticket:?}, want {:?}", case.ticket));
        }
        if let (Some(want), Some(t)) = (&case.category, o.ticket) {
            let got = env.ticket(t).category;
            if &got != want {
                problems.push(format!("category {got}, want {want}"));
            }
        }
        let kinds: Vec<String> = env.outbox_for_row(o.row).into_iter().map(|(k, _)| k).collect();
        if kinds.contains(&"ack".to_string()) != case.ack {
            problems.push(format!("outbox kinds {kinds:?}, ack wanted: {}", case.ack));
        }
        let subject: Option<String> =
            env.store.conn().query_row("SELECT subject FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
        let text = supportd::store::message_new_text(env.store.conn(), o.row).unwrap();
        if let Some(want) = &case.subject
            && subject.as_deref() != Some(want.as_str())
        {
            problems.push(format!("subject {subject:?}, want {want:?}"));
        }
        if let Some(want) = &case.text_contains
            && !text.as_deref().unwrap_or("").contains(want.as_str())
        {
            problems.push(format!("new text {text:?} lacks {want:?}"));
        }
        let atts = env.count(&format!("SELECT count(*) FROM attachments WHERE message_row = {}", o.row));
        if atts != case.attachments.unwrap_or(0) {
            problems.push(format!("{atts} attachments, want {}", case.attachments.unwrap_or(0)));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.file, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures differ:\n{}", failures.len(), exp.case.len(), failures.join("\n"));
    // Nothing lost: every fixture has a stored row with its raw bytes.
    assert_eq!(
        env.count("SELECT count(*) FROM messages WHERE raw IS NOT NULL AND disposition IS NOT NULL"),
        exp.case.len() as i64
    );
}

/// A batch runs in two stages (a thread parses and classifies the next mails
/// while the writer stores): all fixtures as one batch, plus the mail that
/// makes mail-parser panic, end exactly as they do one mail per batch —
/// same disposition, ticket, category, trail and outbox rows per message.
#[test]
fn one_batch_ends_as_one_mail_at_a_time() {
    let dir = common::repo().join("fixtures/pipeline");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files.push(common::repo().join("fuzz/regressions/mail-parser-invalid-part-id-dsn.eml"));
    let mails: Vec<(String, Vec<u8>)> =
        files.iter().map(|p| (p.display().to_string(), std::fs::read(p).unwrap())).collect();
    let now = common::tuesday_morning();

    let mut single = common::Env::new();
    for (_, raw) in &mails {
        single.ingest_at(raw, now);
    }
    let mut batched = common::Env::new();
    let outcomes = supportd::pipeline::process_batch(&batched.p, &mut batched.store, &mails, now).unwrap();
    assert_eq!(outcomes.len(), mails.len());
    assert!(outcomes.iter().any(|o| o.disposition.as_str() == "quarantined"), "the panicking mail is quarantined");

    let rows = |env: &common::Env| -> Vec<String> {
        let mut stmt = env
            .store
            .conn()
            .prepare(
                "SELECT m.id, m.disposition, coalesce(m.ticket_id, 0), coalesce(t.category, ''), m.id, \
                 (SELECT group_concat(kind, ',') FROM outbox o WHERE o.cause_row = m.id) \
                 FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id ORDER BY m.id",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "#{} {} ticket {} {} {} outbox {:?}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                // The trail, packed since migration 0020: read through the store.
                supportd::store::dict::trail_of(env.store.conn(), r.get(4)?).unwrap().unwrap(),
                r.get::<_, Option<String>>(5)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let (a, b) = (rows(&single), rows(&batched));
    assert_eq!(a.len(), mails.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a, b);
}
