//! The mail channel under attack ([hardening]): forged agents, people
//! smuggled into a ticket, fan-out, forged trust headers, commands an agent
//! may not give, cap bypasses and log floods. Each test is one class of
//! attack, written as hostile mails through the real pipeline (the
//! harness's `Env` drives the same `process` as the daemon) or through the
//! real `supportd ingest` binary in a child process where time, memory or
//! log lines are measured.
//!
//! `SUPPORTD_BIN=/path/to/older/supportd cargo test --test attacks -- --nocapture`
//! runs the child-process tests against another build (the figures are
//! printed before the assertions), which is how the before/after figures
//! of the issue note were taken.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Env, mail, tuesday_morning};

const KUNDE: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const KOLLEGIN: &str = "Eva Kunz <e.kunz@stadtwerke-musterstadt.de>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";
/// What our border MX writes for a genuine agent mail.
const PASS: &str = "Authentication-Results: mx.roewaplan.de; dkim=pass header.d=roewaplan.de header.s=s1";

fn strict() -> Env {
    Env::with_replaced("require_authentication = false", "require_authentication = true")
}

fn recipients_of(env: &Env, kind: &str) -> Vec<Vec<String>> {
    env.sent(kind).into_iter().map(|o| o.recipients).collect()
}

fn participants(env: &Env, ticket: i64) -> Vec<String> {
    let mut st =
        env.store.conn().prepare("SELECT address FROM participants WHERE ticket_id = ?1 ORDER BY rowid").unwrap();
    st.query_map([ticket], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

fn events(env: &Env, kind: &str) -> Vec<String> {
    let mut st = env.store.conn().prepare("SELECT detail FROM events WHERE kind = ?1 ORDER BY id").unwrap();
    st.query_map([kind], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

/// Proves: with `require_authentication = true`, a mail from an agent
/// address without the trusted pass and WITHOUT any command tag (a
/// phishing text "from the support", CC'ing an outsider) is not relayed to
/// the customer, sets no first response (so the SLA clock and escalation
/// go on), changes no status, subscribes nobody; it is a security event and
/// the team's notification says why. The next genuine agent answer goes to
/// the requester alone.
#[test]
fn an_unauthenticated_agent_mail_is_not_relayed_and_changes_nothing() {
    let mut env = strict();
    env.ingest(&mail(KUNDE, "Export bricht ab", "c1@sw", "", "Der Export bricht nach 10 % ab."));
    let ack = env.last_id("ack");
    let forged = mail(
        ANNA,
        "Re: [MT-000001] Export bricht ab",
        "forged1@evil",
        &format!("In-Reply-To: <{ack}>\nCc: outsider@evil.example"),
        "Guten Tag,\n\nbitte melden Sie sich hier neu an: https://evil.example/login\n\nAnna Berg",
    );
    let o = env.ingest(&forged);
    assert_ne!(o.disposition.as_str(), "agent_reply", "{:?}", o.reason);
    assert!(env.sent("agent_reply").is_empty(), "the forged text was relayed as an agent answer");
    let t = env.ticket(1);
    assert_eq!(t.status, "new");
    assert!(t.first_response_at.is_none(), "a forged mail counted as the first response");
    for row in env.outbox() {
        if row.kind == "ack" && row.recipients == ["m.keller@stadtwerke-musterstadt.de"] {
            continue;
        }
        assert!(
            !row.recipients.iter().any(|r| r.contains("stadtwerke-musterstadt.de") || r.contains("evil.example")),
            "{} mail to {:?} caused by the forged mail",
            row.kind,
            row.recipients
        );
    }
    assert!(!participants(&env, 1).iter().any(|p| p.contains("evil.example")));
    assert!(env.count("SELECT count(*) FROM events WHERE kind = 'security'") >= 1);
    let notes: Vec<String> = env.sent("notify_agents").iter().map(|r| env.outbox_raw(r.id)).collect();
    assert!(
        notes.iter().any(|n| n.contains("Agenten-Adresse") && n.contains("keine DKIM")),
        "the team is not told: {notes:#?}"
    );

    // The genuine agent answer: only the requester gets it.
    let real = mail(
        ANNA,
        "Re: [MT-000001] Export bricht ab",
        "real1@rp",
        &format!("In-Reply-To: <{ack}>\n{PASS}"),
        "Guten Tag Herr Keller,\n\nwir prüfen den Export.\n\nAnna Berg",
    );
    env.deliver_at(tuesday_morning());
    assert!(env.ticket(1).first_response_at.is_none(), "a forged mail counted as the first response");
    let o = env.ingest(&real);
    assert_eq!(o.disposition.as_str(), "agent_reply", "{:?}", o.reason);
    env.deliver_at(tuesday_morning());
    assert_eq!(recipients_of(&env, "agent_reply"), vec![vec!["m.keller@stadtwerke-musterstadt.de".to_string()]]);
    assert!(env.ticket(1).first_response_at.is_some());
}

/// Proves: people CC'd on a customer's mail join the ticket only when they
/// belong to the customer's organisation: an outsider CC'd on the first
/// mail or on a follow-up from a colleague is not added (an event and a
/// line in the team's notification say so), a colleague is; an agent adds
/// the outsider deliberately with `#cc`, and only then does the outsider
/// get the answers.
#[test]
fn ccs_join_only_within_the_customer_organisation_or_by_an_agent() {
    let mut env = Env::new();
    env.ingest(&mail(
        KUNDE,
        "Rechte für neue Kollegin",
        "p1@sw",
        "Cc: outsider@evil.example, Chef <chef@stadtwerke-musterstadt.de>",
        "Bitte Rechte für Frau Kunz.",
    ));
    assert_eq!(participants(&env, 1), vec!["m.keller@stadtwerke-musterstadt.de", "chef@stadtwerke-musterstadt.de"]);
    let ack = env.last_id("ack");
    let o = env.ingest(&mail(
        KOLLEGIN,
        "Re: [MT-000001] Rechte für neue Kollegin",
        "p2@sw",
        &format!("In-Reply-To: <{ack}>\nCc: another@evil.example, Eva Kunz <e.kunz@stadtwerke-musterstadt.de>"),
        "Ich bin die neue Kollegin, bitte auch an mich.",
    ));
    assert_eq!(o.disposition.as_str(), "follow_up");
    let ps = participants(&env, 1);
    assert!(!ps.iter().any(|p| p.contains("evil.example")), "{ps:?}");
    let not_added = events(&env, "cc_not_added");
    assert_eq!(not_added.len(), 2, "{not_added:?}");
    assert!(not_added[0].contains("outsider@evil.example") && not_added[1].contains("another@evil.example"));
    let last_note = env.outbox_raw(env.sent("notify_agents").last().unwrap().id);
    assert!(last_note.contains("another@evil.example") && last_note.contains("#cc"), "{last_note}");

    let o = env.ingest(&mail(
        ANNA,
        "Re: [MT-000001] Rechte für neue Kollegin",
        "p3@rp",
        &format!("In-Reply-To: <{ack}>"),
        "#cc outsider@evil.example\nGuten Tag,\n\ndie Rechte sind eingerichtet.",
    ));
    assert_eq!(o.disposition.as_str(), "agent_reply", "{:?}", o.reason);
    let to = recipients_of(&env, "agent_reply").pop().unwrap();
    // requester, chef, e.kunz (a colleague CC'd herself) and the outsider the agent added
    assert_eq!(to.len(), 4, "{to:?}");
    assert!(to.contains(&"outsider@evil.example".to_string()), "{to:?}");
}

/// Proves: only the topmost `Authentication-Results` block of our border
/// MX counts (RFC 8601 §5): a header with our trusted id that the sender
/// placed below the MX's own (failing) header does not make the mail an
/// agent's; the same pass written by the MX on top does.
#[test]
fn authentication_results_below_the_border_mx_are_not_trusted() {
    let mut env = strict();
    env.ingest(&mail(KUNDE, "Frage", "ar0@sw", "", "Wie exportiere ich?"));
    let ack = env.last_id("ack");
    let forged = format!(
        "In-Reply-To: <{ack}>\n\
         Authentication-Results: mx.roewaplan.de; dkim=none; spf=softfail smtp.mailfrom=anna@roewaplan.de\n\
         Received: from evil.example (evil.example [203.0.113.9]) by mx.roewaplan.de; Tue, 24 Nov 2026 09:55:00 +0100\n\
         Authentication-Results: mx.roewaplan.de; dkim=pass header.d=roewaplan.de; spf=pass smtp.mailfrom=anna@roewaplan.de"
    );
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001] Frage", "ar1@evil", &forged, "#status closed\nErledigt."));
    assert_eq!(o.disposition.as_str(), "rejected_command", "{:?}", o.reason);
    assert_eq!(env.ticket(1).status, "new");
    // A quoted `;` and comments do not split or fake a result either.
    let quoted = format!(
        "In-Reply-To: <{ack}>\n\
         Authentication-Results: mx.roewaplan.de; dkim=fail reason=\"x; dkim=pass header.d=roewaplan.de\" header.d=roewaplan.de (dkim=pass header.d=roewaplan.de)"
    );
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001] Frage", "ar2@evil", &quoted, "#status closed\nErledigt."));
    assert_eq!(o.disposition.as_str(), "rejected_command", "{:?}", o.reason);
    assert_eq!(env.ticket(1).status, "new");
    let genuine = format!(
        "In-Reply-To: <{ack}>\n{PASS}\nReceived: from rp.roewaplan.de by mx.roewaplan.de; Tue, 24 Nov 2026 09:55:00 +0100"
    );
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001] Frage", "ar3@rp", &genuine, "#status closed\nErledigt."));
    assert_eq!(o.disposition.as_str(), "agent_reply", "{:?}", o.reason);
    assert_eq!(env.ticket(1).status, "closed");
}

/// Proves: a first mail CC'ing 300 colleagues of the same company (the
/// worst case: every one of them passes the organisation rule) makes the
/// ticket's customer side at most `limits.max_recipients` (20) people, the
/// next agent answer goes to at most 20, and the team is told who was left
/// out.
#[test]
fn three_hundred_ccs_do_not_fan_out() {
    let mut env = Env::new();
    let ccs: Vec<String> = (0..300).map(|i| format!("mitarbeiter{i}@stadtwerke-musterstadt.de")).collect();
    env.ingest(&mail(KUNDE, "Störung", "f1@sw", &format!("Cc: {}", ccs.join(", ")), "Nichts geht mehr."));
    assert_eq!(participants(&env, 1).len(), 20);
    let left_out = events(&env, "cc_not_added");
    assert!(left_out[0].contains("more than 20 recipients") && left_out[0].contains("and 271 more"), "{left_out:?}");
    let ack = env.last_id("ack");
    env.ingest(&mail(ANNA, "Re: [MT-000001] Störung", "f2@rp", &format!("In-Reply-To: <{ack}>"), "Wir sind dran."));
    let to = recipients_of(&env, "agent_reply").pop().unwrap();
    assert_eq!(to.len(), 20, "{to:?}");
}

/// Proves: on a ticket that already has thousands of customer participants
/// (a store written before the cap: rows put in directly), an agent answer
/// goes to at most 20 addresses, the agent gets an `agent_notice` naming how
/// many did not get it, and it takes well under a second (was 12 s for 6,000).
#[test]
fn an_answer_on_a_ticket_with_6000_participants_is_capped_and_the_agent_told() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Störung", "g1@sw", "", "Nichts geht mehr."));
    {
        let conn = env.store.conn();
        let mut st = conn.prepare("INSERT INTO participants (ticket_id, address, role) VALUES (1, ?1, 'cc')").unwrap();
        for i in 0..6000 {
            st.execute([format!("p{i}@stadtwerke-musterstadt.de")]).unwrap();
        }
    }
    let ack = env.last_id("ack");
    let t = Instant::now();
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001] Störung", "g2@rp", &format!("In-Reply-To: <{ack}>"), "Behoben."));
    let took = t.elapsed();
    println!("agent answer on a ticket with 6,000 participants: {took:?}");
    assert_eq!(o.disposition.as_str(), "agent_reply");
    assert_eq!(recipients_of(&env, "agent_reply").pop().unwrap().len(), 20);
    let notice = env.sent("agent_notice");
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].recipients, vec!["anna@roewaplan.de"]);
    let text = env.outbox_raw(notice[0].id);
    assert!(text.contains("5981 Beteiligte haben sie NICHT erhalten"), "{text}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// Proves: commands that parse but must not run are command errors that
/// execute nothing of the mail: `#assign` to a non-agent, a `#change`
/// window at a local time that does not exist (the spring clock change),
/// a merge into another customer's ticket, a merge into a ticket that was
/// merged into this one. A merge within one customer still works.
#[test]
fn commands_an_agent_may_not_give_are_errors_and_execute_nothing() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Login", "m1@sw", "", "Login geht nicht."));
    env.ingest(&mail("Jane <jane@harbour-analytics.co.uk>", "Export", "m2@ha", "", "Export fails."));
    env.ingest(&mail(KOLLEGIN, "Login auch bei mir", "m3@sw", "", "Login geht auch bei mir nicht."));
    let acks: Vec<String> = env.sent("ack").iter().map(|a| a.message_id.clone()).collect();
    let agent = |n: usize, id: &str, body: &str| {
        mail(ANNA, &format!("Re: [MT-00000{}]", n + 1), id, &format!("In-Reply-To: <{}>", acks[n]), body)
    };
    let cases = [
        ("#assign eve@evil.example\nText", "ist kein Agent"),
        ("#change 2027-03-28 02:15-03:30 Update auf 4.2\nText", "gibt es in Europe/Berlin nicht"),
        ("#merge MT-000002\nText", "anderen Kunden"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let before = env.sent("command_error").len();
        let o = env.ingest(&agent(0, &format!("e{i}@rp"), body));
        assert_eq!(o.disposition.as_str(), "agent_command", "{body}");
        let errs = env.sent("command_error");
        assert_eq!(errs.len(), before + 1, "{body}");
        let text = env.outbox_raw(errs.last().unwrap().id);
        assert!(text.contains(want), "{body}: {text}");
        assert!(env.sent("agent_reply").is_empty(), "{body}: relayed although a command failed");
    }
    let t1 = env.ticket(1);
    assert_eq!((t1.assignee.as_deref(), t1.merged_into), (None, None));
    assert_eq!(env.count("SELECT count(*) FROM changes"), 0);
    // Ticket 3 (same customer) into 1: fine. Then 1 into 3: circular, refused.
    let o = env.ingest(&agent(2, "e10@rp", "#merge MT-000001"));
    assert_eq!(o.disposition.as_str(), "agent_command", "{:?}", o.reason);
    assert_eq!(env.ticket(3).merged_into, Some(1));
    let o = env.ingest(&agent(0, "e11@rp", "#merge MT-000003"));
    assert!(o.reason.as_deref().unwrap_or("").contains("merged into it"), "{:?}", o.reason);
    assert_eq!(env.ticket(1).merged_into, None);
    assert_ne!(env.ticket(1).status, "closed", "both tickets would vanish from the overview");
}

/// Proves: a `#close` the support refuses (a customer writing commands, or
/// an agent address without the trusted pass) does not reopen a closed
/// ticket: a mail that failed a trust check changes no status.
#[test]
fn a_refused_close_does_not_reopen_a_closed_ticket() {
    let mut env = strict();
    env.ingest(&mail(KUNDE, "Frage", "r1@sw", "", "Wie exportiere ich?"));
    let ack = env.last_id("ack");
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", "r2@rp", &format!("In-Reply-To: <{ack}>\n{PASS}"), "#close"));
    assert_eq!(o.disposition.as_str(), "agent_command");
    assert_eq!(env.ticket(1).status, "closed");
    for (i, from) in [KUNDE, ANNA].iter().enumerate() {
        let o = env.ingest(&mail(
            from,
            "Re: [MT-000001]",
            &format!("r3{i}@x"),
            &format!("In-Reply-To: <{ack}>"),
            "#close\nbitte schließen",
        ));
        assert_eq!(o.disposition.as_str(), "rejected_command", "{from}");
        assert_eq!(env.ticket(1).status, "closed", "{from}: a refused #close reopened the ticket");
    }
}

/// Proves: `user+1@`, `user+2@`, … are one mailbox for the per-sender cap
/// of automatic answers: ten new requests from ten `+` variants within an
/// hour get at most 5 acknowledgements together.
#[test]
fn plus_addresses_share_the_automatic_answer_cap() {
    let mut env = Env::new();
    let t0 = tuesday_morning();
    for i in 0..10 {
        env.ingest_at(
            &mail(
                &format!("m.keller+{i}@stadtwerke-musterstadt.de"),
                &format!("Frage {i}"),
                &format!("plus{i}@sw"),
                "",
                "Wie exportiere ich die Liste?",
            ),
            t0 + chrono::Duration::minutes(i),
        );
    }
    let acks = env.sent("ack").len();
    assert_eq!(env.tickets().len(), 10);
    assert!(acks <= 5, "{acks} acks to one mailbox within the hour");
}

/// The binary under test: this build, or `SUPPORTD_BIN` (for before/after figures).
fn bin() -> PathBuf {
    std::env::var_os("SUPPORTD_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(common::daemon::BIN))
}

/// `supportd ingest --no-send FILE` in a child under `/usr/bin/time -v`.
fn ingest_child(cfg: &Path, file: &Path) -> common::daemon::TimedIngest {
    common::daemon::timed_ingest(&bin(), cfg, file)
}

fn child_config(dir: &Path) -> PathBuf {
    let cfgdir = dir.join("config");
    std::fs::create_dir_all(&cfgdir).unwrap();
    let cfg = cfgdir.join("supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    cfg
}

/// Proves: one mail with 20,000 references that look like our Message-IDs
/// but carry a wrong hash gives ONE warning line (with the count), not
/// 20,000 (journald would then drop the service's later security events),
/// and at most 100 references are stored for it.
#[test]
fn twenty_thousand_forged_references_log_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = child_config(dir.path());
    let refs: Vec<String> =
        (0..20_000).map(|i| format!("<mt.MT-{:06}.ack.{i:012x}.0123456789abcdef@roewaplan.de>", i % 999 + 1)).collect();
    let raw = mail(KUNDE, "Re: Frage", "refs@sw", &format!("References: {}", refs.join("\r\n ")), "Noch eine Frage.");
    let file = dir.path().join("refs.eml");
    std::fs::write(&file, &raw).unwrap();
    let run = ingest_child(&cfg, &file);
    let warnings = run.stderr.lines().filter(|l| l.contains("like our Message-ID")).count();
    println!(
        "20,000 forged references ({} KB): {warnings} warning lines, {:?}, peak RSS {} MB",
        raw.len() / 1024,
        run.took,
        run.rss_kb / 1024
    );
    assert_eq!(warnings, 1, "{}", run.stderr.lines().take(3).collect::<Vec<_>>().join("\n"));
    // Only the newest 100 references are looked at; their count is named.
    assert!(run.stderr.contains("100 reference(s)"), "the count is named");
    let db = dir.path().join("var/supportd.sqlite3");
    assert!(common::daemon::query_i64_at(&db, "SELECT count(*) FROM refs") <= 100);
}

/// Proves: an agent mail whose command line holds thousands of unknown
/// `#words` (60 KB and 5 MB) is answered with one command-error mail of at
/// most 21 errors, in linear time and bounded memory (each error kept a
/// copy of its whole line before: 60 KB cost 1.2 GB).
#[test]
fn thousands_of_unknown_command_words_cost_linear_time_and_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = child_config(dir.path());
    let first = dir.path().join("first.eml");
    std::fs::write(&first, mail(KUNDE, "Frage", "w0@sw", "", "Wie exportiere ich?")).unwrap();
    let base = ingest_child(&cfg, &first);
    for (n, size) in [(1, 60 * 1024), (2, 5 * 1024 * 1024)] {
        let mut line = String::with_capacity(size);
        let mut i = 0u64;
        while line.len() < size {
            line.push_str(&format!("#unbekannt{} ", i % 1000));
            i += 1;
        }
        let raw = mail(ANNA, "Re: [MT-000001] Frage", &format!("w{n}@rp"), "", &format!("{line}\nText"));
        let file = dir.path().join(format!("words{n}.eml"));
        std::fs::write(&file, &raw).unwrap();
        let run = ingest_child(&cfg, &file);
        println!(
            "{i} unknown #words ({} KB): {:?}, peak RSS {} MB (a small mail: {} MB)",
            raw.len() / 1024,
            run.took,
            run.rss_kb / 1024,
            base.rss_kb / 1024
        );
        let bound_kb = base.rss_kb + 8 * raw.len() as u64 / 1024 + 32 * 1024;
        assert!(run.rss_kb <= bound_kb, "peak RSS {} KB over {bound_kb} KB", run.rss_kb);
        assert!(run.took < Duration::from_secs(20), "{:?}", run.took);
    }
    let db = dir.path().join("var/supportd.sqlite3");
    let q = |sql: &str| common::daemon::query_i64_at(&db, sql);
    assert_eq!(q("SELECT count(*) FROM outbox WHERE kind = 'command_error'"), 2);
    assert_eq!(q("SELECT count(*) FROM outbox WHERE kind = 'agent_reply'"), 0);
    let longest: i64 = q("SELECT max(raw_size) FROM outbox WHERE kind = 'command_error'");
    assert!(longest < 16 * 1024, "a command-error mail of {longest} bytes");
}

/// Proves: a first mail CC'ing 6,000 and then 100,000 addresses of the
/// customer's own domain, and the agent answer on that ticket, are each
/// processed in seconds by the real binary (before: 12 s and more than
/// 10 min for the answer: a growing To header parsed again for every
/// recipient and a quadratic duplicate check), and the answer goes to at
/// most `limits.max_recipients` (20) addresses.
#[test]
fn a_first_mail_with_100000_ccs_and_the_answer_on_it_take_seconds() {
    for n in [6_000usize, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = child_config(dir.path());
        let ccs: Vec<String> = (0..n).map(|i| format!("p{i}@stadtwerke-musterstadt.de")).collect();
        let first = dir.path().join("first.eml");
        std::fs::write(
            &first,
            mail(KUNDE, "Störung", "cc1@sw", &format!("Cc: {}", ccs.join(",\r\n ")), "Nichts geht."),
        )
        .unwrap();
        let run1 = ingest_child(&cfg, &first);
        let answer = dir.path().join("answer.eml");
        std::fs::write(
            &answer,
            mail(ANNA, "Re: [MT-000001] Störung", "cc2@rp", "In-Reply-To: <cc1@sw>", "Wir sind dran."),
        )
        .unwrap();
        let run2 = ingest_child(&cfg, &answer);
        println!(
            "{n} CCs: first mail {:?} (peak RSS {} MB), agent answer {:?} (peak RSS {} MB)",
            run1.took,
            run1.rss_kb / 1024,
            run2.took,
            run2.rss_kb / 1024
        );
        let db = dir.path().join("var/supportd.sqlite3");
        let q = |sql: &str| common::daemon::query_i64_at(&db, sql);
        assert_eq!(q("SELECT count(*) FROM outbox WHERE kind = 'agent_reply'"), 1);
        assert_eq!(
            q("SELECT count(*) FROM outbox_rcpt WHERE outbox_id = (SELECT id FROM outbox WHERE kind = 'agent_reply')"),
            20
        );
        assert!(run1.took < Duration::from_secs(30) && run2.took < Duration::from_secs(10));
    }
}

/// Proves: the recipient cap holds for `#cc` lines too, however many one
/// agent mail has: 30 `#cc` lines on a ticket with one requester add
/// nothing (the mail is refused as a whole, as any mail with a command that
/// cannot run), and the command-error mail lists at most 21 errors.
#[test]
fn many_cc_lines_in_one_agent_mail_keep_the_recipient_cap() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Frage", "cap1@sw", "", "Wie exportiere ich?"));
    let ack = env.last_id("ack");
    let lines: String = (0..30).map(|i| format!("#cc p{i}@stadtwerke-musterstadt.de\n")).collect();
    let o = env.ingest(&mail(
        ANNA,
        "Re: [MT-000001] Frage",
        "cap2@rp",
        &format!("In-Reply-To: <{ack}>"),
        &format!("{lines}Erledigt."),
    ));
    assert_eq!(o.disposition.as_str(), "agent_command", "{:?}", o.reason);
    assert_eq!(participants(&env, 1).len(), 1, "nothing added");
    let errors = env.outbox_raw(env.sent("command_error")[0].id).matches("    -> ").count();
    assert!((1..=21).contains(&errors), "{errors} errors listed");
}
