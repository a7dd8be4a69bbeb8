//! The support workflow of the [workflow] issue end to end against the real
//! Dovecot + Postfix (scripts/mailservers.sh) with `supportd run` as a child
//! process: IMAP IDLE in, SMTP out through Postfix, every party a real
//! mailbox. tests/workflow.rs proves the same conversation on the pipeline;
//! this one proves it survives real delivery: threading headers written by
//! supportd are the ones the parties' mail reaches them with, and replies to
//! those real mails thread back into the ticket.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mail_parser::{Message, MessageParser};
use supportd::imap::{ImapMailbox, Security};
use supportd::smtp::SmtpTransport;

use common::daemon::{Daemon, cli_json, wait_until};
use common::mailservers::{CUSTOMER, MailServers, SUPPORT};

const ANNA: &str = "anna@roewaplan.de";
const FIRST: &str = "support-1st@roewaplan.de";
const SECOND: &str = "support-2nd@roewaplan.de";
/// The project team of "Stadtwerke Musterstadt" in the shipped config.
const PROJECT: &str = "p.schmidt@roewaplan.de";
const WAIT: Duration = Duration::from_secs(30);

/// The shipped config with IMAP (plain, loopback) in, SMTP (port-25 style)
/// out, the store in `dir`, and agent commands requiring a trusted
/// `Authentication-Results` (as in production).
fn write_config(ms: &MailServers, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(common::repo().join("config/supportd.toml")).unwrap();
    let replace = |text: String, old: &str, new: &str| {
        assert!(text.contains(old), "shipped config lacks {old:?}");
        text.replace(old, new)
    };
    let mailbox = format!(
        "[mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"{SUPPORT}\"\n\
         password = \"{}\"\nfolder = \"INBOX\"\nprocessed_folder = \"Processed\"\nidle = true\npoll_interval_secs = 60\n",
        ms.imap_port, ms.password
    );
    let transport =
        format!("[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n", ms.smtp_port);
    let text = replace(text, "[mailbox]\nkind = \"maildir\"\npath = \"../var/inbox\"\n", &mailbox);
    let text = replace(text, "[transport]\nkind = \"file\"\npath = \"../var/outbox\"\n", &transport);
    let text = replace(text, "[store]\npath = \"../var/supportd.sqlite3\"\n", "[store]\npath = \"supportd.sqlite3\"\n");
    let text = text.replace("require_authentication = false", "require_authentication = true");
    assert!(
        text.contains("require_authentication = true\ntrusted_authserv_ids = [\"mx.roewaplan.de\"]"),
        "the shipped [agents] table changed"
    );
    let path = dir.join("supportd.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn ticket(config: &Path) -> serde_json::Value {
    cli_json(config, &["tickets", "show", "MT-000001"]).remove(0)
}

/// A plain text mail to the support address; returns (Message-ID without <>, raw).
fn mail(from: &str, subject: &str, extra: &str, body: &str) -> (String, Vec<u8>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let id = format!("{nanos}.{}@live-workflow.test", N.fetch_add(1, Ordering::SeqCst));
    let raw = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    );
    (id, raw.into_bytes())
}

fn reply_headers(parent: &Message<'_>) -> String {
    let id = parent.message_id().expect("the mail replied to has a Message-ID");
    format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n")
}

/// The customer sends like a mail client: submission, STARTTLS + AUTH.
async fn customer_sends(ms: &MailServers, raw: &[u8]) {
    let t = SmtpTransport::new(&ms.smtp_submission(CUSTOMER)).unwrap();
    t.send_raw(CUSTOMER, &[SUPPORT.to_string()], raw).await.unwrap_or_else(|e| panic!("customer submission: {e}"));
}

/// Anna's mail as roewaplan's receiving MX hands it on: with the MX's
/// `Authentication-Results` (DKIM pass for roewaplan.de). The test Postfix
/// cannot sign or verify DKIM, so the stamp is written here, exactly as
/// `mx.roewaplan.de` (the config's trusted authserv-id) adds it.
async fn agent_sends(ms: &MailServers, parent: &Message<'_>, body: &str) -> String {
    let subject = format!("Re: {}", parent.subject().unwrap_or_default());
    let extra = format!(
        "{}Authentication-Results: mx.roewaplan.de; dkim=pass header.d=roewaplan.de header.s=k1; \
         spf=pass smtp.mailfrom={ANNA}\r\n",
        reply_headers(parent)
    );
    let (id, raw) = mail(&format!("Anna Berg <{ANNA}>"), &subject, &extra, body);
    let t = SmtpTransport::new(&ms.smtp_mx()).unwrap();
    t.send_raw(ANNA, &[SUPPORT.to_string()], &raw).await.unwrap_or_else(|e| panic!("agent mail: {e}"));
    id
}

/// Every mail in `user`'s INBOX over IMAP, in arrival order, once at least
/// `n` are there (nothing is moved or flagged).
async fn inbox(ms: &MailServers, user: &str, n: usize) -> Vec<Message<'static>> {
    let files = ms.wait_for_files(user, "", n, WAIT);
    assert!(files.len() >= n, "{user}: {} of {n} mails after {WAIT:?}", files.len());
    let mut settings = ms.imap(user, Security::Plain);
    settings.processed_folder = None;
    let mut mb = ImapMailbox::connect(&settings).await.unwrap();
    let got = mb.fetch_after(0, 1000).await.unwrap();
    mb.logout().await.unwrap();
    got.into_iter().map(|f| MessageParser::default().parse(&f.raw).expect("parses").into_owned()).collect()
}

fn header(m: &Message, name: &str) -> String {
    m.header_raw(name).unwrap_or_default().trim().to_string()
}

fn subject<'a>(m: &'a Message) -> &'a str {
    m.subject().unwrap_or_default()
}

fn body(m: &Message) -> String {
    m.body_text(0).unwrap_or_default().replace("\r\n", "\n")
}

/// The one mail of `mails` whose subject contains `needle`.
fn find<'a>(mails: &'a [Message<'static>], needle: &str) -> &'a Message<'static> {
    let hits: Vec<_> = mails.iter().filter(|m| subject(m).contains(needle)).collect();
    let subjects: Vec<&str> = mails.iter().map(subject).collect();
    assert_eq!(hits.len(), 1, "one mail with {needle:?} in the subject expected: {subjects:?}");
    hits[0]
}

/// Our answers come from the support address, carry the tag and thread to
/// the customer's mail; automatic ones are marked as such, relayed answers not.
fn assert_ours_to_customer(m: &Message, customer_mail_id: &str) {
    let what = subject(m).to_string();
    assert!(what.contains("[MT-000001]"), "tag in the subject: {what}");
    let from = header(m, "From");
    assert!(from.contains(SUPPORT) && !from.contains(ANNA), "{what}: From {from}");
    assert_eq!(header(m, "To"), CUSTOMER, "{what}");
    assert!(header(m, "References").contains(customer_mail_id), "{what}: References {}", header(m, "References"));
    // RFC 3834 marks our automatic mails; a relayed agent answer is a
    // person's and carries none (no Auto-Submitted, no Precedence: bulk).
    let relayed = header(m, "Message-ID").contains(".agent_reply.");
    assert_eq!(
        header(m, "Auto-Submitted").is_empty(),
        relayed,
        "{what}: Auto-Submitted {:?}",
        header(m, "Auto-Submitted")
    );
}

/// Proves the whole conversation of the [workflow] issue by real mail: the
/// customer's mail (SMTP submission) -> ack in the customer's IMAP mailbox,
/// notify_agents in the 1st-level team's -> Anna answers the notification
/// with `#status waiting` (authenticated by the trusted MX's
/// Authentication-Results) -> the customer gets the relayed answer (from the
/// support address, tagged, threaded, without the command or quote) and the
/// status mail -> the customer answers the relayed answer -> ticket `open`,
/// the team gets the follow-up -> `#level 2` -> the 2nd-level team and the
/// project team get the ticket -> `#internal` note -> the team gets it,
/// nothing new reaches the customer -> `#close` -> the customer gets the
/// closed mail. Checked in the real mailboxes and in `tickets show --json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_conversation_through_real_mailboxes() {
    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&ms, dir.path());
    let _d = Daemon::start(&cfg);
    let t0 = Instant::now();

    // 1. The customer writes: ack to the customer, notify_agents to the 1st level.
    let (c1, raw) = mail(
        &format!("Kai Kunde <{CUSTOMER}>"),
        "Dienstplan lässt sich nicht speichern",
        "",
        "Guten Tag,\nbeim Speichern des Dienstplans kommt Fehler 500.\nGruß Kai Kunde",
    );
    customer_sends(&ms, &raw).await;
    let cust = inbox(&ms, CUSTOMER, 1).await;
    assert_eq!(cust.len(), 1, "only the ack");
    let ack = &cust[0];
    assert!(subject(ack).contains("Ihre Anfrage ist eingegangen"), "{}", subject(ack));
    assert_ours_to_customer(ack, &c1);
    assert_eq!(header(ack, "In-Reply-To"), format!("<{c1}>"));
    assert!(body(ack).contains("MT-000001"), "{}", body(ack));
    let team1 = inbox(&ms, FIRST, 1).await;
    assert_eq!(team1.len(), 1);
    let notify = &team1[0];
    assert!(subject(notify).starts_with("[MT-000001] Neues Ticket"), "{}", subject(notify));
    assert!(body(notify).contains("Fehler 500"), "the customer's text: {}", body(notify));
    assert!(body(notify).contains(CUSTOMER), "{}", body(notify));
    let t = ticket(&cfg);
    assert_eq!((t["status"].as_str(), t["level"].as_i64()), (Some("new"), Some(1)), "{t}");
    assert_eq!(t["requester"], CUSTOMER);

    // 2. Anna answers the notification with #status waiting and a question.
    let a1 = agent_sends(
        &ms,
        notify,
        "#status waiting\n\nWelchen Browser nutzen Sie?\n\nAm 24.11.2026 schrieb MEIN TEAM Support:\n> Neues Ticket MT-000001",
    )
    .await;
    let cust = inbox(&ms, CUSTOMER, 2).await;
    assert_eq!(cust.len(), 2, "ack + the relayed answer, which carries the new status (one mail per agent action)");
    let relay = cust.iter().find(|m| body(m).contains("Welchen Browser nutzen Sie?")).expect("the relayed answer");
    assert_ours_to_customer(relay, &c1);
    assert_eq!(header(relay, "In-Reply-To"), format!("<{c1}>"), "threaded to the customer's mail");
    assert!(header(relay, "From").contains("MEIN TEAM Support"), "{}", header(relay, "From"));
    assert!(!body(relay).contains("#status"), "command lines are not relayed: {}", body(relay));
    assert!(!body(relay).contains("> Neues Ticket"), "quoted history is not relayed: {}", body(relay));
    assert!(body(relay).contains("Wir benötigen Ihre Rückmeldung."), "{}", body(relay));
    assert!(body(relay).contains("Status: wartet auf Ihre Rückmeldung"), "{}", body(relay));
    let t = ticket(&cfg);
    assert_eq!(t["status"], "waiting", "{t}");
    let msgs = cli_json(&cfg, &["messages", "list"]);
    let m = msgs.iter().find(|m| m["message_id"] == a1.as_str()).expect("Anna's mail stored");
    assert_eq!(m["disposition"], "agent_reply", "authenticated as an agent: {m}");

    // 3. The customer answers the relayed answer: open again, the team hears of it.
    let (c2, raw) = mail(
        &format!("Kai Kunde <{CUSTOMER}>"),
        &format!("AW: {}", subject(relay)),
        &reply_headers(relay),
        "Firefox 132.\n\n> Welchen Browser nutzen Sie?",
    );
    customer_sends(&ms, &raw).await;
    let team1 = inbox(&ms, FIRST, 2).await;
    assert_eq!(team1.len(), 2);
    let follow = find(&team1, "Neue Nachricht");
    assert!(subject(follow).contains("[MT-000001]"), "{}", subject(follow));
    assert!(body(follow).contains("Firefox 132."), "{}", body(follow));
    let t = ticket(&cfg);
    assert_eq!(t["status"], "open", "{t}");
    let msgs = cli_json(&cfg, &["messages", "list"]);
    let m = msgs.iter().find(|m| m["message_id"] == c2.as_str()).expect("the customer's reply stored");
    assert_eq!((m["disposition"].as_str(), m["ticket"].as_str()), (Some("follow_up"), Some("MT-000001")), "{m}");
    assert!(ms.maildir_files(SECOND, "").is_empty(), "the 2nd level knows nothing yet");

    // 4. #level 2: the 2nd-level team and the project team get the ticket; the customer is told.
    agent_sends(&ms, follow, "#level 2").await;
    let team2 = inbox(&ms, SECOND, 1).await;
    assert_eq!(team2.len(), 1);
    let handed = &team2[0];
    assert!(subject(handed).contains("[MT-000001]") && subject(handed).contains("2nd Level"), "{}", subject(handed));
    let history = body(handed);
    assert!(history.contains("Fehler 500"), "the customer's text: {history}");
    assert!(history.contains("----- Verlauf -----") && history.contains("AW: [MT-000001]"), "the history: {history}");
    let project = inbox(&ms, PROJECT, 1).await;
    assert_eq!(subject(&project[0]), subject(handed), "the project team gets the same mail");
    let cust = inbox(&ms, CUSTOMER, 3).await;
    assert_eq!(cust.len(), 3);
    let level = find(&cust, "Übergabe an den 2nd Level Support");
    assert_ours_to_customer(level, &c1);
    assert_eq!(ticket(&cfg)["level"], 2);

    // 5. #internal: a note to the team, nothing to the customer.
    agent_sends(&ms, handed, "#internal\nLog zeigt NullPointer in DienstplanService.").await;
    for team in [SECOND, PROJECT] {
        let mails = inbox(&ms, team, 2).await;
        let note = find(&mails, "Interne Notiz");
        assert!(body(note).contains("NullPointer in DienstplanService"), "{team}: {}", body(note));
    }
    wait_until("the whole outbox sent", WAIT, || {
        let t = ticket(&cfg);
        t["outbox"].as_array().unwrap().iter().all(|o| o["state"] == "sent")
    });
    let t = ticket(&cfg);
    assert!(t["events"].as_array().unwrap().iter().any(|e| e["kind"] == "note"), "{t}");
    let cust = inbox(&ms, CUSTOMER, 3).await;
    assert_eq!(cust.len(), 3, "the note reached the customer: {:?}", cust.iter().map(subject).collect::<Vec<_>>());
    assert!(cust.iter().all(|m| !body(m).contains("NullPointer")));

    // 6. #close: the customer gets the closed mail.
    agent_sends(&ms, handed, "#close").await;
    let cust = inbox(&ms, CUSTOMER, 4).await;
    assert_eq!(cust.len(), 4);
    let closed = find(&cust, "Ihre Anfrage wurde geschlossen");
    assert_ours_to_customer(closed, &c1);
    assert!(body(closed).contains("Status:         geschlossen"), "{}", body(closed));

    // The store: closed on level 2, every mail of the conversation on the
    // ticket, every command an event, every answer sent, no command rejected.
    wait_until("the whole outbox sent", WAIT, || {
        ticket(&cfg)["outbox"].as_array().unwrap().iter().all(|o| o["state"] == "sent")
    });
    let t = ticket(&cfg);
    assert_eq!((t["status"].as_str(), t["level"].as_i64()), (Some("closed"), Some(2)), "{t}");
    let ids: Vec<&str> = t["message_ids"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    for id in [&c1, &a1, &c2] {
        assert!(ids.contains(&id.as_str()), "{id} not on the ticket: {ids:?}");
    }
    for kind in ["status", "level", "note"] {
        assert!(t["events"].as_array().unwrap().iter().any(|e| e["kind"] == kind), "no {kind} event: {t}");
    }
    let to_customer: Vec<&str> = t["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["to"].as_array().unwrap().iter().any(|r| r == CUSTOMER))
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(to_customer, ["ack", "agent_reply", "status", "status"]);
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 6, "2 customer mails + 4 agent mails: {msgs:?}");
    assert!(msgs.iter().all(|m| m["disposition"] != "rejected_command"), "{msgs:?}");
    assert!(ms.maildir_files(ANNA, "").is_empty(), "no command_error to the agent");
    assert_eq!(ms.maildir_files(CUSTOMER, "").len(), 4, "nothing late reached the customer");
    println!("conversation of 6 mails through Dovecot + Postfix: {:?}", t0.elapsed());
}
