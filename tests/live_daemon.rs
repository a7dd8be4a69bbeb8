//! The daemon (`supportd run`, the built binary as a child process) against a
//! real Dovecot + Postfix on loopback (tests/common/mailservers.rs). Each test
//! has its own mail server instance, temp dir and config file.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use supportd::imap::{ImapMailbox, Security};
use supportd::smtp::SmtpTransport;

use common::daemon::*;
use common::mailservers::{CUSTOMER, MailServers, SUPPORT};

// --- config (the shared helpers are in tests/common/daemon.rs) -------------------

/// Submission: STARTTLS required + AUTH as the support user, password from a file.
fn transport_submission(ms: &MailServers, dir: &Path) -> String {
    let pw = dir.join("smtp-password");
    std::fs::write(&pw, format!("{}\n", ms.password)).unwrap();
    format!(
        "[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\n\
         username = \"{SUPPORT}\"\npassword_file = {:?}\nca_file = {:?}\n",
        ms.submission_port, pw, ms.ca_file
    )
}

async fn deliver(ms: &MailServers, from: &str, raw: &[u8]) {
    let t = SmtpTransport::new(&ms.smtp_mx()).unwrap();
    t.send_raw(from, &[SUPPORT.to_string()], raw).await.unwrap_or_else(|e| panic!("SMTP delivery: {e}"));
}

/// Every mail in a user's INBOX, read over IMAP (nothing is moved or flagged).
async fn imap_inbox(ms: &MailServers, user: &str) -> Vec<mail_parser::Message<'static>> {
    let mut settings = ms.imap(user, Security::Plain);
    settings.processed_folder = None;
    let mut mb = ImapMailbox::connect(&settings).await.unwrap();
    let got = mb.fetch_after(0, 10_000).await.unwrap();
    mb.logout().await.unwrap();
    got.into_iter().map(|f| mail_parser::MessageParser::default().parse(&f.raw).unwrap().into_owned()).collect()
}

fn header(m: &mail_parser::Message, name: &str) -> String {
    m.header_raw(name).unwrap_or_default().trim().to_string()
}

fn tag_of(subject: &str) -> Option<String> {
    let start = subject.find("[MT-")?;
    Some(subject[start..start + 11].to_string())
}

/// Acks (and other mails with a ticket tag) per tag over the customers' INBOXes.
async fn tagged_mails_per_tag(ms: &MailServers) -> BTreeMap<String, usize> {
    let mut per = BTreeMap::new();
    for c in CUSTOMERS {
        for m in imap_inbox(ms, c).await {
            if let Some(t) = tag_of(m.subject().unwrap_or_default()) {
                *per.entry(t).or_insert(0) += 1;
            }
        }
    }
    per
}

/// Polls the customers' INBOXes until `n` tickets have an answer.
async fn wait_for_acks(ms: &MailServers, n: usize, max: Duration) -> BTreeMap<String, usize> {
    let t0 = Instant::now();
    loop {
        let per = tagged_mails_per_tag(ms).await;
        if per.len() >= n {
            // a late duplicate would arrive right behind: look once more
            tokio::time::sleep(Duration::from_millis(500)).await;
            return tagged_mails_per_tag(ms).await;
        }
        assert!(t0.elapsed() < max, "only {} of {n} tickets answered after {max:?}: {per:?}", per.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count_where<'a>(rows: &'a [serde_json::Value], key: &str, value: &str) -> Vec<&'a serde_json::Value> {
    rows.iter().filter(|r| r[key] == value).collect()
}

// --- tests ------------------------------------------------------------------------

/// Proves the whole loop on real servers: a customer mail submitted over SMTP
/// (STARTTLS + AUTH as the customer) is picked up by the running daemon via
/// IDLE, becomes MT-000001, and the ack arrives in the customer's own IMAP
/// INBOX with the tag in the subject, In-Reply-To = the customer's
/// Message-ID and `Auto-Submitted: auto-replied`; the customer's answer to
/// that ack threads into the same ticket (follow_up). Prints the
/// submission -> ack-in-mailbox latency; both mails end up in Processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_ack_reaches_customer_and_reply_threads() {
    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));
    let _d = Daemon::start(&cfg);

    let sub = SmtpTransport::new(&ms.smtp_submission(CUSTOMER)).unwrap();
    let (cust_id, raw) = customer_mail(
        CUSTOMER,
        "Portal lädt nicht",
        "Guten Tag,\nseit heute früh lädt das Portal nicht mehr.\nGruß",
        "",
    );
    let t0 = Instant::now();
    sub.send_raw(CUSTOMER, &[SUPPORT.to_string()], &raw).await.expect("submission");
    let accepted = t0.elapsed();
    wait_until("the ack in the customer's maildir", Duration::from_secs(30), || {
        !ms.maildir_files(CUSTOMER, "").is_empty()
    });
    let latency = t0.elapsed();
    println!("submission -> ack in the customer's mailbox: {latency:?} (SMTP accepted after {accepted:?})");

    let inbox = imap_inbox(&ms, CUSTOMER).await;
    assert_eq!(inbox.len(), 1, "exactly one answer");
    let ack = &inbox[0];
    let subject = ack.subject().unwrap_or_default().to_string();
    assert!(subject.contains("[MT-000001]"), "{subject}");
    assert_eq!(header(ack, "In-Reply-To"), format!("<{cust_id}>"));
    assert!(header(ack, "Auto-Submitted").starts_with("auto-replied"), "{}", header(ack, "Auto-Submitted"));
    let ack_id = ack.message_id().expect("ack has a Message-ID").to_string();

    // the customer answers the ack (a real mail client's threading headers)
    let (reply_id, raw) = customer_mail(
        CUSTOMER,
        &format!("AW: {subject}"),
        "Noch ein Hinweis: es betrifft nur Firefox.",
        &format!("In-Reply-To: <{ack_id}>\r\nReferences: <{cust_id}> <{ack_id}>\r\n"),
    );
    sub.send_raw(CUSTOMER, &[SUPPORT.to_string()], &raw).await.expect("submission of the reply");
    wait_until("the reply in the store", Duration::from_secs(30), || cli_json(&cfg, &["messages", "list"]).len() == 2);

    let tickets = cli_json(&cfg, &["tickets", "list"]);
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["tag"], "MT-000001");
    let msgs = cli_json(&cfg, &["messages", "list"]);
    let reply = msgs.iter().find(|m| m["message_id"] == reply_id.as_str()).expect("reply stored");
    assert_eq!(reply["disposition"], "follow_up", "{reply}");
    assert_eq!(reply["ticket"], "MT-000001", "{reply}");
    let first = msgs.iter().find(|m| m["message_id"] == cust_id.as_str()).unwrap();
    assert_eq!(first["disposition"], "new_ticket");

    wait_until("both mails in Processed", Duration::from_secs(10), || {
        ms.maildir_files(SUPPORT, "Processed").len() == 2 && ms.maildir_files(SUPPORT, "").is_empty()
    });
    assert!(latency < Duration::from_secs(10), "latency {latency:?}");
}

/// Proves: the mailbox works over IMAPS (security tls) and STARTTLS with the
/// test CA from `ca_file`, and the transport over submission with STARTTLS +
/// AUTH (password from `password_file`): a delivered mail is answered and
/// the answer arrives in the customer's mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_and_starttls_mailbox_with_submission_transport() {
    let ms = MailServers::start();
    for (i, sec) in ["tls", "starttls"].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let cfg =
            write_config(dir.path(), &mailbox_toml(&ms, sec, "Processed"), &transport_submission(&ms, dir.path()));
        let d = Daemon::start(&cfg);
        let (_, raw) = customer_mail(CUSTOMER, &format!("Frage über {sec}"), "Wie lege ich einen Benutzer an?", "");
        deliver(&ms, CUSTOMER, &raw).await;
        let took = wait_until("the ack in the customer's maildir", Duration::from_secs(30), || {
            ms.maildir_files(CUSTOMER, "").len() == i + 1
        });
        println!("{sec}: delivery -> ack in the customer's mailbox {took:?}");
        let tickets = cli_json(&cfg, &["tickets", "list"]);
        assert_eq!(tickets.len(), 1, "{sec}: {tickets:?}");
        wait_until("the whole outbox sent", Duration::from_secs(10), || {
            cli_json(&cfg, &["outbox", "list"]).iter().all(|o| o["state"] == "sent")
        });
        assert_eq!(d.count("ERROR"), 0, "{sec}: {}", d.log_text());
    }
}

/// Proves: a mail already in the INBOX when the daemon starts is processed
/// exactly once (also across a restart), and no mail is ever seen in
/// Processed before its ticket is committed (sampled continuously: the
/// Processed folder is looked at first, then the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_to_processed_only_after_commit_and_waiting_mail_processed_once() {
    let ms = MailServers::start();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (id, raw) = customer_mail(CUSTOMERS[i % 3], &format!("Vorab {i}"), "Lag schon da.", "");
        deliver(&ms, CUSTOMERS[i % 3], &raw).await;
        ids.push(id);
    }
    ms.wait_for_files(SUPPORT, "", 3, Duration::from_secs(10));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));
    let mut d = Daemon::spawn(&cfg);

    let sender = {
        let mx = ms.smtp_mx();
        tokio::spawn(async move {
            let t = SmtpTransport::new(&mx).unwrap();
            let mut ids = Vec::new();
            for i in 0..6 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let (id, raw) = customer_mail(CUSTOMERS[i % 3], &format!("Laufend {i}"), "Kam später.", "");
                t.send_raw(CUSTOMERS[i % 3], &[SUPPORT.to_string()], &raw).await.unwrap();
                ids.push(id);
            }
            ids
        })
    };
    let mut samples = 0;
    let t0 = Instant::now();
    loop {
        let processed = ms.maildir_files(SUPPORT, "Processed").len() as i64;
        let tickets = if store_path(&cfg).exists() { query_i64(&cfg, "SELECT count(*) FROM tickets") } else { 0 };
        assert!(processed <= tickets, "{processed} mails in Processed but only {tickets} tickets committed");
        samples += 1;
        if processed == 9 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "only {processed} of 9 processed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ids.extend(sender.await.unwrap());
    println!("{samples} samples of (Processed, tickets), never ahead");
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());

    // again: nothing is read twice
    let _d = Daemon::start(&cfg);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 9, "{msgs:?}");
    for id in &ids {
        let m = count_where(&msgs, "message_id", id);
        assert_eq!(m.len(), 1, "{id}");
        assert_eq!(m[0]["disposition"], "new_ticket");
    }
    assert_eq!(cli_json(&cfg, &["tickets", "list"]).len(), 9);
    assert!(ms.maildir_files(SUPPORT, "").is_empty());
}

/// Proves crash safety: the daemon is SIGKILLed right after a batch of 20
/// mails arrived (mid-processing or mid-sending), started again, and then
/// every mail has exactly one ticket and every ticket exactly one ack in the
/// customers' mailboxes. A kill between the SMTP server's 250 and the
/// outbox commit can cause one duplicate ack: allowed once, and reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_a_batch_then_restart_is_exactly_once() {
    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));
    let mut d = Daemon::start(&cfg);

    let t = SmtpTransport::new(&ms.smtp_mx()).unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        let c = CUSTOMERS[i % 3];
        let (id, raw) = customer_mail(c, &format!("Störung Nummer {i}"), "Die Anwendung bricht ab.", "");
        t.send_raw(c, &[SUPPORT.to_string()], &raw).await.unwrap();
        ids.push(id);
    }
    // kill as soon as the daemon is working on the mail (first commit seen)
    let t0 = Instant::now();
    wait_until("the first commit", Duration::from_secs(30), || {
        store_path(&cfg).exists() && query_i64(&cfg, "SELECT count(*) FROM messages") > 0
    });
    d.kill();
    let at_kill = (
        query_i64(&cfg, "SELECT count(*) FROM messages"),
        query_i64(&cfg, "SELECT count(*) FROM outbox WHERE state = 'sent'"),
    );
    println!("SIGKILL {:?} after the 20th delivery: {} mails committed, {} sent", t0.elapsed(), at_kill.0, at_kill.1);

    let _d = Daemon::start(&cfg);
    wait_until("20 tickets, all sent", Duration::from_secs(60), || {
        query_i64(&cfg, "SELECT count(*) FROM tickets") >= 20
            && query_i64(&cfg, "SELECT count(*) FROM outbox WHERE state <> 'sent'") == 0
            && ms.maildir_files(SUPPORT, "").is_empty()
    });
    let msgs = cli_json(&cfg, &["messages", "list"]);
    for id in &ids {
        let m = count_where(&msgs, "message_id", id);
        assert_eq!(m.len(), 1, "{id}: {m:?}");
        assert_eq!(m[0]["disposition"], "new_ticket");
    }
    assert_eq!(cli_json(&cfg, &["tickets", "list"]).len(), 20);
    let per = wait_for_acks(&ms, ids.len(), Duration::from_secs(30)).await;
    let dupes: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    println!("acks per ticket: {} tickets answered, duplicates: {dupes:?}", per.len());
    assert_eq!(per.len(), 20, "{per:?}");
    assert!(per.values().all(|n| *n <= 2), "{per:?}");
    assert!(dupes.len() <= 1, "more than one duplicate ack: {dupes:?}");
}

/// Proves outage handling: with Dovecot stopped the daemon keeps retrying
/// (with backoff, one error line, no busy loop), mail delivered meanwhile
/// (queued by Postfix) is processed once Dovecot is back. With Postfix
/// stopped the acks stay queued (the relay is suspended after one counted
/// attempt) and go out after Postfix is back (on the relay's retry rounds:
/// 10 s, doubling).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_and_postfix_outages_are_survived() {
    let ms = MailServers::start();
    let script = common::repo().join("scripts/mailservers.sh");
    let run = |cmd: &str| {
        let out = Command::new("bash").arg(&script).arg(cmd).arg(&ms.dir).output().unwrap();
        assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));
    let d = Daemon::start(&cfg);

    // --- Dovecot down, under an established session (logged in, INBOX
    // selected): stopped while the daemon was still logging in, the new
    // session's imap process outlived Dovecot's master once (CI of aa7fe77),
    // and the daemon rightly saw no outage.
    d.wait_log_count("IMAP connected", 1, Duration::from_secs(10));
    run("stop-dovecot");
    d.wait_log_count("reconnecting with backoff", 1, Duration::from_secs(10));
    let (_, raw) = customer_mail(CUSTOMER, "Während Dovecot weg ist", "Bitte melden.", "");
    deliver(&ms, CUSTOMER, &raw).await; // Postfix accepts and defers (LMTP down)
    tokio::time::sleep(Duration::from_secs(4)).await;
    let lines_down = d.log_text().lines().count();
    run("start-dovecot");
    let back = Instant::now();
    wait_until("the ticket after Dovecot is back", Duration::from_secs(30), || {
        query_i64(&cfg, "SELECT count(*) FROM tickets") == 1
    });
    println!("Dovecot back -> ticket: {:?}", back.elapsed());
    wait_until("the ack", Duration::from_secs(20), || ms.maildir_files(CUSTOMER, "").len() == 1);
    assert_eq!(d.count("reconnecting with backoff"), 1, "one error line per outage:\n{}", d.log_text());
    assert_eq!(d.count("working again"), 1, "{}", d.log_text());
    assert!(lines_down < 40, "log grew to {lines_down} lines while down: busy loop?");

    // --- Postfix down: the ack is queued, attempts counted. (First everything
    // of the first ticket is sent, so no send is cut by the stop itself.)
    wait_until("the first ticket's mails sent", Duration::from_secs(20), || {
        query_i64(&cfg, "SELECT count(*) FROM outbox WHERE state = 'queued'") == 0
    });
    run("stop-postfix");
    let (_, raw) = customer_mail(CUSTOMER, "Während Postfix weg ist", "Zweite Meldung.", "");
    write_into_maildir(&ms, SUPPORT, &raw);
    wait_until("the second ticket", Duration::from_secs(30), || query_i64(&cfg, "SELECT count(*) FROM tickets") == 2);
    wait_until("a failed send attempt", Duration::from_secs(10), || {
        query_i64(
            &cfg,
            "SELECT count(*) FROM outbox WHERE attempts > 0 AND state = 'queued' AND last_error IS NOT NULL",
        ) > 0
    });
    let queued: Vec<_> = cli_json(&cfg, &["outbox", "list"]).into_iter().filter(|o| o["state"] == "queued").collect();
    assert!(!queued.is_empty());
    // the relay is suspended after the first failed connection: one row is
    // tried (and counted) per round, the others wait untried
    let tried = queued.iter().filter(|o| o["attempts"].as_i64().unwrap() >= 1).count();
    assert_eq!(tried, 1, "{queued:?}");
    d.wait_log_count("unreachable (round 1)", 1, Duration::from_secs(5));
    println!("while Postfix is down: {} rows queued, e.g. {}", queued.len(), queued[0]["last_error"]);
    run("start-postfix");
    let back = Instant::now();
    wait_until("the queued ack delivered", Duration::from_secs(100), || ms.maildir_files(CUSTOMER, "").len() == 2);
    println!("Postfix back -> queued ack delivered: {:?}", back.elapsed());
    wait_until("the whole outbox sent", Duration::from_secs(10), || {
        cli_json(&cfg, &["outbox", "list"]).iter().all(|o| o["state"] == "sent")
    });
}

/// Proves: SIGTERM while a backlog is being fetched/processed, and again
/// while the answers are being sent, ends the daemon with exit status 0
/// within the deadline; the store passes `PRAGMA integrity_check`, every
/// stored message has a disposition, the batch is all or nothing and exactly
/// the committed mails were moved to Processed, no send was cut off; a
/// restart finishes the rest with every mail exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_work_exits_zero_and_leaves_a_consistent_store() {
    let ms = MailServers::start();
    let mut ids = Vec::new();
    for i in 0..60 {
        let (id, raw) = customer_mail(CUSTOMERS[i % 3], &format!("Rückfrage {i}"), "Bitte um Rückruf.", "");
        write_into_maildir(&ms, SUPPORT, &raw);
        ids.push(id);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));
    // 1st stop: while the first batches (a connection's first fetch takes
    // FIRST_BATCH mails, the next one the other 44; one transaction each)
    // are being fetched or processed; 2nd stop: while the answers are being
    // sent.
    for round in 0..2 {
        let mut d = Daemon::start(&cfg);
        if round == 0 {
            std::thread::sleep(Duration::from_millis(30));
        } else {
            wait_until("sending in progress", Duration::from_secs(30), || {
                query_i64(&cfg, "SELECT count(*) FROM outbox WHERE state = 'sent'") > 0
            });
        }
        if round == 1 {
            // SIGHUP is logged, not fatal (its default action would end the process)
            assert!(Command::new("kill").arg("-HUP").arg(d.pid().to_string()).status().unwrap().success());
            d.wait_log_count("SIGHUP", 1, Duration::from_secs(5));
        }
        let (st, took) = d.terminate(Duration::from_secs(20));
        assert!(st.success(), "{st}");
        assert!(took < Duration::from_secs(16), "{took:?}");

        let c = rusqlite::Connection::open(store_path(&cfg)).unwrap();
        let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
        let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap_or(0) };
        assert_eq!(q("SELECT count(*) FROM messages WHERE disposition IS NULL"), 0, "half-written messages");
        let committed = q("SELECT count(*) FROM messages");
        let moved = ms.maildir_files(SUPPORT, "Processed").len() as i64;
        let sent = q("SELECT count(*) FROM outbox WHERE state = 'sent'");
        println!("SIGTERM #{round} -> {st} after {took:?}: {committed} committed, {moved} moved, {sent} sent");
        let whole_batches = [0, supportd::imap_source::FIRST_BATCH as i64, 60];
        assert!(whole_batches.contains(&committed), "a batch is all or nothing: {committed}");
        assert_eq!(moved, committed, "what is committed is acknowledged before the exit, nothing else");
        assert_eq!(q("SELECT count(*) FROM outbox WHERE last_error LIKE 'sending since%'"), 0, "a send cut off");
        drop(c);
    }

    let _d = Daemon::start(&cfg);
    wait_until("all 60 processed", Duration::from_secs(60), || {
        query_i64(&cfg, "SELECT count(*) FROM tickets") == 60 && ms.maildir_files(SUPPORT, "").is_empty()
    });
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 60);
    for id in &ids {
        assert_eq!(count_where(&msgs, "message_id", id).len(), 1, "{id}");
    }
}

/// Proves: when the folder's UIDVALIDITY changes (Dovecot's uidlist and
/// indexes recreated, as after a restore), the daemon reads the folder again
/// from UID 1 and the re-read mails come out as `duplicate`: no second
/// ticket, no second ack. Runs with `processed_folder = ""` (only \Seen), so
/// the old mail is still in the INBOX to be re-read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_change_gives_no_duplicate_tickets() {
    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", ""), &transport_mx(&ms));
    let mut d = Daemon::start(&cfg);
    for (i, c) in CUSTOMERS.iter().enumerate() {
        let (_, raw) = customer_mail(c, &format!("Anfrage {i}"), "Text", "");
        deliver(&ms, c, &raw).await;
    }
    wait_until("3 tickets", Duration::from_secs(30), || query_i64(&cfg, "SELECT count(*) FROM tickets") == 3);
    let state =
        |k: &str| query_i64(&cfg, &format!("SELECT CAST(value AS INTEGER) FROM state WHERE key = 'imap.INBOX.{k}'"));
    let (v1, last1) = (state("uidvalidity"), state("last_uid"));
    assert_eq!(last1, 3);
    let outbox_before = query_i64(&cfg, "SELECT count(*) FROM outbox");
    d.terminate(Duration::from_secs(20));

    // A new UIDVALIDITY: Dovecot recreates uidlist + indexes with a fresh one.
    std::thread::sleep(Duration::from_millis(1100)); // UIDVALIDITY is a timestamp
    let md = ms.maildir(SUPPORT);
    for e in std::fs::read_dir(&md).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n == "dovecot-uidlist" || n.starts_with("dovecot.index") || n.starts_with("dovecot.list.index") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let d = Daemon::start(&cfg);
    d.wait_log_count("UIDVALIDITY changed", 1, Duration::from_secs(10));
    wait_until("the re-read", Duration::from_secs(30), || query_i64(&cfg, "SELECT count(*) FROM messages") == 6);
    let v2 = state("uidvalidity");
    assert_ne!(v1, v2, "UIDVALIDITY did not change");
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(count_where(&msgs, "disposition", "new_ticket").len(), 3, "{msgs:?}");
    assert_eq!(count_where(&msgs, "disposition", "duplicate").len(), 3, "{msgs:?}");
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), 3);
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM outbox"), outbox_before, "no new answers");

    // and new mail after the change is a new ticket as usual
    let (_, raw) = customer_mail(CUSTOMER, "Nach dem Wechsel", "Neu", "");
    deliver(&ms, CUSTOMER, &raw).await;
    wait_until("the 4th ticket", Duration::from_secs(30), || query_i64(&cfg, "SELECT count(*) FROM tickets") == 4);
    let per = wait_for_acks(&ms, 4, Duration::from_secs(20)).await;
    assert_eq!(per.len(), 4, "{per:?}");
    assert!(per.values().all(|n| *n == 1), "{per:?}");
}

/// Proves: `supportd run --once` with an IMAP mailbox drains the folder
/// (tickets committed, mails moved to Processed), sends the outbox once and
/// exits 0; a second `--once` finds nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_over_imap_drains_and_exits() {
    let ms = MailServers::start();
    for (i, c) in CUSTOMERS[..2].iter().enumerate() {
        let (_, raw) = customer_mail(c, &format!("Einmal {i}"), "Text", "");
        deliver(&ms, c, &raw).await;
    }
    ms.wait_for_files(SUPPORT, "", 2, Duration::from_secs(10));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));
    for expected in ["processed 2 mails; outbox: 4 sent", "processed 0 mails; outbox: 0 sent"] {
        let out = Command::new(BIN).arg("--config").arg(&cfg).args(["run", "--once"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), 2);
    assert!(ms.maildir_files(SUPPORT, "").is_empty());
    assert_eq!(ms.maildir_files(SUPPORT, "Processed").len(), 2);
}
