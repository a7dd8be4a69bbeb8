//! Mail reading as a person would (the [mail-reading] issue), through the
//! real pipeline: German client replies give exactly their new text (the
//! HTML part's quote structure first), machine mails without any machine
//! header never change a ticket, and the `[spam]` section sets when a mail
//! is spam. The ext corpus measures are in `tests/ext_corpus.rs`; the spam
//! fixtures (upstream verdicts, marketing and phishing without headers,
//! look-alikes) in its `upstream_spam_verdicts_keep_spam_out_of_tickets`.

mod common;

use common::{Env, mail};
use supportd::config::Config;

fn new_text_of(env: &Env, row: i64) -> String {
    supportd::store::message_new_text(env.store.conn(), row).unwrap().unwrap_or_default()
}

/// fixtures/replies-de (tools/make_mailreading.py): Outlook 365, Thunderbird
/// (text and HTML), GMX, web.de, Gmail, Apple Mail, iPhone, Outlook for
/// Android, HCL Notes, Zimbra, T-Online and Horde replies to a supportd
/// mail; each one alone into a fresh store gives exactly NAME.expected.txt.
#[test]
fn german_client_replies_give_exactly_their_new_text() {
    let dir = common::repo().join("fixtures/replies-de");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 13, "{names:?}");
    let mut failures = Vec::new();
    for n in &names {
        let want = std::fs::read_to_string(dir.join(n.replace(".eml", ".expected.txt"))).unwrap();
        let mut env = Env::new();
        let o = env.ingest_file(&dir.join(n));
        let got = new_text_of(&env, o.row);
        if got.trim() != want.trim() {
            failures.push(format!("{n} ({}): got\n{got}\n--- want\n{want}", o.disposition.as_str()));
        }
    }
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), names.len(), failures.join("\n=====\n"));
}

/// Horde's "Zitat von …:" is in no language the text rules know: only the
/// HTML part's `<blockquote type="cite">` tells where the quote starts.
#[test]
fn the_html_quote_structure_is_read_first_when_a_text_part_exists() {
    let path = common::repo().join("fixtures/replies-de/13-horde-de-html.eml");
    let raw = std::fs::read(&path).unwrap();
    let cfg = Config::from_str(&common::config_text(""), "t.toml", std::path::Path::new(".")).unwrap();
    let m = supportd::parse::parse(&raw, &cfg.limits).unwrap();
    assert!(m.quote_at.is_some(), "the HTML part marks the quote");
    let text_rules_only = supportd::text::new_text(&m.body_text);
    assert!(text_rules_only.contains("Zitat von"), "{text_rules_only}");
    let mut env = Env::new();
    let o = env.ingest(&raw);
    let got = new_text_of(&env, o.row);
    assert!(!got.contains("Zitat von") && got.ends_with("Selin Yilmaz"), "{got}");
}

/// Out-of-office notices and other systems' acknowledgements with no
/// machine header at all, answering our mail on a ticket: recorded as
/// auto-replies, never answered, the ticket unchanged (no follow-up).
#[test]
fn machine_mails_without_headers_on_a_ticket_change_nothing() {
    let mut env = Env::new();
    let first = env.ingest(&mail(
        "m.keller@stadtwerke-musterstadt.de",
        "Export der Dienstpläne bricht ab",
        "<req-1@stadtwerke-musterstadt.de>",
        "",
        "Guten Tag,\n\nder PDF-Export der Dienstpläne bricht mit Fehler E-5031 ab.\n\nGruß\nMarkus Keller\n",
    ));
    let ticket = first.ticket.expect("a ticket");
    let ack = env.last_id("ack");
    let before = env.ticket(ticket);
    let outbox_before = env.outbox().len();
    let bodies = [
        "Sehr geehrte Damen und Herren,\n\nich bin bis 30.11.2026 nicht im Büro. In dringenden Fällen wenden Sie sich an it@stadtwerke-musterstadt.de.\n\nMarkus Keller\n",
        "Ihre Nachricht ist unter der Vorgangsnummer 2026-114711 bei uns eingegangen und wird bearbeitet.\n\nIhr IT-Servicedesk der Stadtwerke Musterstadt\n",
        "Thank you for your message. A ticket (#88123) has been opened and our service desk will get back to you.\n",
        "Your message has been received, ticket #88124. Please keep the number in the subject.\n",
    ];
    for (i, body) in bodies.iter().enumerate() {
        let o = env.ingest(&mail(
            "m.keller@stadtwerke-musterstadt.de",
            &format!("AW: [MT-{ticket:06}] Export der Dienstpläne bricht ab"),
            &format!("<machine-{i}@stadtwerke-musterstadt.de>"),
            &format!("In-Reply-To: <{ack}>\r\nReferences: <{ack}>\r\n"),
            body,
        ));
        assert_eq!(o.disposition.as_str(), "auto_reply", "{body}: {:?}", o.reason);
        assert!(env.outbox_for_row(o.row).is_empty(), "{body}: answered");
    }
    let after = env.ticket(ticket);
    assert_eq!(
        (after.status.as_str(), after.updated_at.as_str()),
        (before.status.as_str(), before.updated_at.as_str())
    );
    assert_eq!(env.outbox().len(), outbox_before, "nothing queued");
    assert_eq!(env.count("SELECT count(*) FROM messages WHERE disposition = 'follow_up'"), 0);
}

fn spam_fixture(name: &str) -> std::path::PathBuf {
    common::repo().join("fixtures/spam").join(name)
}

/// `[spam]` thresholds decide: a SpamAssassin score of 7.4 is spam at the
/// default 6 and a ticket at 8; rspamd "add header" is a ticket when only
/// "reject" counts; `unsolicited = false` lets marketing through.
#[test]
fn spam_section_sets_the_thresholds() {
    let mut env = Env::new();
    for (f, want) in [
        ("02-spamassassin-score-only.eml", "spam"),
        ("03-rspamd-action.eml", "spam"),
        ("07-marketing-de-ohne-header.eml", "spam"),
    ] {
        assert_eq!(env.ingest_file(&spam_fixture(f)).disposition.as_str(), want, "{f} by default");
    }
    let mut env = Env::with_config(
        "[spam]\nspamassassin_score = 8.0\nrspamd_score = 15\nrspamd_action = \"reject\"\nscl = 9\nunsolicited = false\n",
    );
    for (f, want) in [
        ("02-spamassassin-score-only.eml", "new_ticket"),
        ("03-rspamd-action.eml", "new_ticket"),
        ("05-microsoft-scl.eml", "spam"),
        ("07-marketing-de-ohne-header.eml", "new_ticket"),
        ("01-spamassassin-flag.eml", "spam"),
    ] {
        let o = env.ingest_file(&spam_fixture(f));
        assert_eq!(o.disposition.as_str(), want, "{f} with the stricter [spam]: {:?}", o.reason);
    }
}

/// Every bad `[spam]` key is reported at once, one line each, naming it.
#[test]
fn spam_section_errors_name_the_key() {
    let text = common::config_text(
        "[spam]\nspamassassin_score = -1\nrspamd_score = 1000\nrspamd_action = \"quarantine\"\nscl = 12\n",
    );
    let err = Config::from_str(&text, "t.toml", std::path::Path::new(".")).unwrap_err().to_string();
    for key in ["spam.spamassassin_score", "spam.rspamd_score", "spam.rspamd_action", "spam.scl"] {
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(key)).collect();
        assert_eq!(lines.len(), 1, "{key}: {err}");
        assert!(lines[0].starts_with("t.toml: "), "{}", lines[0]);
    }
    let unknown = common::config_text("[spam]\nscore = 5\n");
    let err = Config::from_str(&unknown, "t.toml", std::path::Path::new(".")).unwrap_err().to_string();
    assert!(err.contains("score"), "{err}");
}
