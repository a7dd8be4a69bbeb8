//! Fault tests of the [proof] issue, part 2, with the daemon (`supportd run`,
//! the built binary) as a child process. Where each fault of the issue is tested:
//!
//! - connection cut mid-literal: `connection_cut_mid_literal_stores_nothing_and_the_mail_comes_through_once` (scripted peer)
//! - a server that answers with a malformed FETCH: `malformed_fetch_answers_store_nothing_and_lose_nothing` (scripted peer)
//! - a large mail on a slow link, and a server that stalls mid-mail:
//!   `a_mail_slower_than_the_stall_timeout_arrives_while_data_flows`,
//!   `a_server_that_stalls_mid_mail_is_cut_off_after_the_stall_timeout` (scripted peer)
//! - a STORE/MOVE that fails after the commit: `a_move_that_fails_after_the_commit_makes_no_second_ticket`
//!   (scripted peer, with a SIGKILL while it fails) and
//!   `processed_folder_deleted_on_dovecot_the_move_fails_and_no_second_ticket` (real Dovecot)
//! - Dovecot restarted mid-fetch: `dovecot_restarted_mid_fetch_every_mail_exactly_once`
//! - the SQLite file on a full disk: `store_disk_full_mail_stays_on_the_server_and_recovers`
//! - Postfix down for a while (outbox retries, nothing lost): tests/live_daemon.rs
//!   `dovecot_and_postfix_outages_are_survived`
//! - a UIDVALIDITY change: tests/live_daemon.rs `uidvalidity_change_gives_no_duplicate_tickets`
//! - SIGTERM mid-work: tests/live_daemon.rs `sigterm_during_work_exits_zero_and_leaves_a_consistent_store`
//! - SIGKILL at random moments: tests/crash_consistency.rs
//! - an SMTP relay that goes silent on a kept connection:
//!   `a_relay_silent_on_a_kept_connection_costs_a_bounded_wait_and_a_new_connection` (scripted SMTP peer,
//!   tests/common/smtp_peer.rs)

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::{
    CUSTOMERS, Daemon, cli_json, customer_mail, imap_toml, mailbox_toml, query_i64, query_i64_at, transport_file,
    wait_until, write_config, write_config_with, write_into_maildir,
};
use common::imap_peer::{FetchFault, ImapPeer};
use common::mailservers::{MailServers, SUPPORT};

fn peer_config(dir: &std::path::Path, peer: &ImapPeer) -> std::path::PathBuf {
    write_config(dir, &imap_toml(peer.port, "plain", None, "secret", "Processed"), &transport_file(&dir.join("outbox")))
}

/// The one customer mail the peer tests use; returns (Message-ID, raw).
fn one_mail(n: usize) -> (String, Vec<u8>) {
    let body = format!(
        "Guten Tag,\n\nseit heute früh bricht der Export der Monatsübersicht mit einer Fehlermeldung ab.\n{}\nGruß",
        "Die Meldung lautet: Interner Fehler beim Erzeugen der Datei.\n".repeat(20)
    );
    customer_mail(CUSTOMERS[n % 3], &format!("Export bricht ab ({n})"), &body, "")
}

/// Proves: a connection cut after the FETCH literal's size was announced and
/// half of its bytes arrived is an error of that fetch: nothing partial is
/// stored, nothing is acknowledged, the daemon keeps running and, once the
/// server behaves, the mail is stored once, complete (same length), and moved.
#[test]
fn connection_cut_mid_literal_stores_nothing_and_the_mail_comes_through_once() {
    let peer = ImapPeer::start();
    let (id, raw) = one_mail(1);
    peer.deliver(&raw);
    peer.with(|s| s.fetch_faults.extend([FetchFault::CutMidLiteral, FetchFault::CutMidLiteral]));
    let dir = tempfile::tempdir().unwrap();
    let cfg = peer_config(dir.path(), &peer);
    let mut d = Daemon::start(&cfg);
    wait_until("both cut fetches tried", Duration::from_secs(20), || {
        peer.with(|s| s.fetch_faults.is_empty() && s.connections >= 3)
    });
    wait_until("the mail moved", Duration::from_secs(20), || peer.with(|s| s.processed.len() == 1));
    assert!(d.alive());
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["message_id"], id.as_str());
    assert_eq!(msgs[0]["disposition"], "new_ticket");
    let len = query_i64(&cfg, "SELECT raw_size FROM messages");
    assert_eq!(len as usize, raw.len(), "the stored bytes are the whole mail");
    assert_eq!(peer.with(|s| s.fetched.get(&1).copied()), Some(1), "fetched in full exactly once");
    let log = d.log_text();
    assert!(log.contains("reconnecting with backoff"), "{log}");
    println!(
        "cut mid-literal twice: {} connections; error line: {}",
        peer.with(|s| s.connections),
        log.lines().find(|l| l.contains("reconnecting")).unwrap_or("")
    );
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());
}

/// Proves: FETCH answers that are malformed (bad syntax, no body item,
/// `BODY[] NIL`) are errors, not mails: no empty or partial message is stored
/// and nothing is acknowledged, so nothing is lost; the daemon keeps
/// running, and when the server answers properly the mail is processed once.
#[test]
fn malformed_fetch_answers_store_nothing_and_lose_nothing() {
    let peer = ImapPeer::start();
    let (id, raw) = one_mail(2);
    peer.deliver(&raw);
    let faults = [FetchFault::Garbage, FetchFault::NoBody, FetchFault::NilBody];
    peer.with(|s| s.fetch_faults.extend(faults));
    let dir = tempfile::tempdir().unwrap();
    let cfg = peer_config(dir.path(), &peer);
    let t0 = Instant::now();
    let mut d = Daemon::start(&cfg);
    wait_until("the mail moved", Duration::from_secs(40), || peer.with(|s| s.processed.len() == 1));
    println!("3 malformed FETCH answers survived in {:?} ({} connections)", t0.elapsed(), peer.with(|s| s.connections));
    assert!(d.alive());
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 1, "an empty or partial mail was stored: {msgs:?}");
    assert_eq!(msgs[0]["message_id"], id.as_str());
    assert_eq!(query_i64(&cfg, "SELECT raw_size FROM messages") as usize, raw.len());
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), 1);
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());
}

/// Proves: a MOVE refused after the batch committed leaves the mail in the
/// INBOX but it never becomes a second ticket: the next connection (also
/// after a SIGKILL while the MOVE keeps failing) acknowledges the committed
/// UIDs without processing them again, and the mail is fetched only once.
#[test]
fn a_move_that_fails_after_the_commit_makes_no_second_ticket() {
    let peer = ImapPeer::start();
    let (_, raw) = one_mail(3);
    peer.deliver(&raw);
    peer.with(|s| s.move_failures = 3);
    let dir = tempfile::tempdir().unwrap();
    let cfg = peer_config(dir.path(), &peer);
    let mut d = Daemon::start(&cfg);
    wait_until("two refused MOVEs", Duration::from_secs(20), || peer.with(|s| s.moves_refused >= 2));
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), 1);
    assert_eq!(peer.with(|s| s.inbox.len()), 1, "still in the INBOX");
    d.kill();
    let mut d = Daemon::start(&cfg);
    wait_until("the mail moved", Duration::from_secs(30), || peer.with(|s| s.processed.len() == 1));
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), 1);
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM outbox WHERE kind = 'ack'"), 1, "one ack");
    assert_eq!(peer.with(|s| s.fetched.get(&1).copied()), Some(1), "never fetched again");
    println!("{} MOVEs refused, a SIGKILL in between: 1 message, 1 ticket, 1 ack", peer.with(|s| s.moves_refused));
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());
}

/// The same against the real Dovecot: the Processed folder is deleted (by
/// another client) while the daemon waits in IDLE; the next mail commits,
/// its MOVE fails (no such folder), the daemon reconnects, re-creates the
/// folder and moves the committed mail: one message, one ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processed_folder_deleted_on_dovecot_the_move_fails_and_no_second_ticket() {
    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_file(&dir.path().join("o")));
    let mut d = Daemon::start(&cfg);
    // another client deletes the folder
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", ms.imap_port)).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    let mut s = client.login(SUPPORT, &ms.password).await.map_err(|(e, _)| e).unwrap();
    s.delete("Processed").await.unwrap();
    s.logout().await.unwrap();

    let (id, raw) = customer_mail(CUSTOMERS[0], "Nach dem Löschen", "Der Export bricht ab.", "");
    write_into_maildir(&ms, SUPPORT, &raw);
    wait_until("the mail moved to the re-created Processed", Duration::from_secs(30), || {
        ms.maildir_files(SUPPORT, "Processed").len() == 1 && ms.maildir_files(SUPPORT, "").is_empty()
    });
    let log = d.log_text();
    assert!(log.contains("UID MOVE to Processed"), "the MOVE did not fail:\n{log}");
    println!("{}", log.lines().find(|l| l.contains("UID MOVE")).unwrap_or(""));
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["message_id"], id.as_str());
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), 1);
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());
}

/// Proves: Dovecot killed (SIGKILL, all its processes) and started again while the daemon fetches and
/// processes a 600-mail backlog loses nothing and duplicates nothing: after
/// the restart every mail is stored once, one ticket each, the INBOX is
/// empty. The kill comes 50 ms after the daemon connected; what was
/// committed by then is printed (and must be less than all) as the proof
/// that it landed mid-work. Mails Dovecot had moved but lost with the kill
/// come back and are kept as duplicates, not tickets.
#[test]
fn dovecot_restarted_mid_fetch_every_mail_exactly_once() {
    const N: usize = 600;
    let ms = MailServers::start();
    let mut ids = Vec::new();
    for i in 0..N {
        let (id, raw) = customer_mail(CUSTOMERS[i % 3], &format!("Protokoll {i}"), "Der Export bricht ab.", "");
        write_into_maildir(&ms, SUPPORT, &raw);
        ids.push(id);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_file(&dir.path().join("o")));
    let script = common::repo().join("scripts/mailservers.sh");
    let run = |cmd: &str| {
        let out = Command::new("bash").arg(&script).arg(cmd).arg(&ms.dir).output().unwrap();
        let log = std::fs::read_to_string(ms.dir.join("log/dovecot.start.log")).unwrap_or_default();
        assert!(out.status.success(), "{cmd}: {}\n{log}", String::from_utf8_lossy(&out.stderr));
    };
    let mut d = Daemon::start(&cfg);
    std::thread::sleep(Duration::from_millis(50));
    // Dovecot dies hard (every process of this instance: master, imap, ...)
    // while the daemon works, then comes back with the same config. (A
    // SIGTERM lets the imap process finish the FETCH in hand.)
    // The master is stopped first, so it forks nothing between the listing
    // and the kill: a process forked after the listing (an imap process
    // taking over the daemon's connection) survived once in CI, held that
    // connection open and silent, and the daemon waited out its stall
    // timeout (COMMAND_TIMEOUT, 120 s) first.
    let master = std::fs::read_to_string(&ms.env["DOVECOT_PID_FILE"]).unwrap().trim().to_string();
    assert!(Command::new("kill").arg("-STOP").arg(&master).status().unwrap().success());
    let dovecot: Vec<u32> = ms
        .processes()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e.to_string_lossy().contains("dovecot")))
        .collect();
    assert!(dovecot.len() > 1, "the master and its children: {dovecot:?}");
    for p in &dovecot {
        let _ = Command::new("kill").arg("-KILL").arg(p.to_string()).status();
    }
    let killed = dovecot.len();
    let committed = query_i64(&cfg, "SELECT count(*) FROM messages");
    let moved = ms.maildir_files(SUPPORT, "Processed").len();
    run("stop-dovecot"); // waits until they are gone
    // a SIGKILLed master left its pid file (and, without a reaping init in
    // a container, maybe a zombie that still "owns" the pid)
    let _ = std::fs::remove_file(&ms.env["DOVECOT_PID_FILE"]);
    println!("Dovecot SIGKILLed ({killed} processes) with {committed} of {N} committed, {moved} moved");
    assert!(committed < N as i64, "the daemon was done before the restart: not mid-work");
    std::thread::sleep(Duration::from_millis(500));
    run("start-dovecot");
    wait_until("every mail processed", Duration::from_secs(120), || {
        query_i64(&cfg, "SELECT count(*) FROM messages") >= N as i64 && ms.maildir_files(SUPPORT, "").is_empty()
    });
    assert!(d.count("reconnecting with backoff") >= 1, "{}", d.log_text());
    // A mail whose MOVE Dovecot had done but not yet made durable when it
    // was killed comes back into INBOX; fetched again, it is recognised
    // and kept as a `duplicate` record, never a second ticket.
    let msgs = cli_json(&cfg, &["messages", "list"]);
    let mut seen = std::collections::HashSet::new();
    let mut again = Vec::new();
    for m in &msgs {
        let id = m["message_id"].as_str().unwrap().to_string();
        if m["disposition"] == "duplicate" {
            again.push(id);
            continue;
        }
        assert_eq!(m["disposition"], "new_ticket", "{m}");
        assert!(seen.insert(id), "two tickets for one mail: {m}");
    }
    for id in &ids {
        assert!(seen.contains(id), "{id} lost");
    }
    for id in &again {
        assert!(seen.contains(id), "a duplicate of a mail never taken: {id}");
    }
    assert!(
        again.len() as i64 <= committed.max(moved as i64),
        "{} presented again, {committed} committed before the kill",
        again.len()
    );
    println!("{} mails presented again by the restarted Dovecot, each kept as a duplicate", again.len());
    assert_eq!(query_i64(&cfg, "SELECT count(*) FROM tickets"), N as i64);
    // Every mail is in Processed. A file more than N + the duplicates is a
    // mail whose MOVE Dovecot had linked into Processed but whose expunge
    // from INBOX was lost with the kill: the daemon knew it as committed
    // and moved it again without fetching it (seen once in CI: 616 files
    // with 16 moved before the kill). So: the N mails once each, and at
    // most `moved` files more than N + the duplicates.
    let processed = ms.maildir_files(SUPPORT, "Processed");
    let base = ms.maildir(SUPPORT).join(".Processed");
    let mut in_processed = std::collections::HashSet::new();
    for f in &processed {
        let raw = std::fs::read(base.join(f)).unwrap();
        let text = String::from_utf8_lossy(&raw);
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: <").and_then(|r| r.strip_suffix('>')))
            .unwrap_or_else(|| panic!("{f} has no Message-ID"));
        in_processed.insert(id.to_string());
    }
    for id in &ids {
        assert!(in_processed.contains(id), "{id} not in Processed");
    }
    assert_eq!(in_processed.len(), N, "only the N mails are in Processed");
    assert!(
        (N + again.len()..=N + again.len() + moved).contains(&processed.len()),
        "{} files in Processed: {N} mails, {} duplicates, {moved} moved before the kill",
        processed.len(),
        again.len()
    );
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());
}

/// A size-limited tmpfs, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(path: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let st = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(path).status();
        assert!(st.is_ok_and(|s| s.success()), "mount tmpfs (needs root)");
        Tmpfs(path.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Proves: with the store on a full disk (a 6 MB tmpfs filled up), the mail
/// stays unacknowledged in the server's INBOX, the log names the cause
/// ("database or disk is full"), the daemon keeps running, and once space
/// is freed the waiting mail is processed, each exactly once, and the store
/// passes `PRAGMA integrity_check`. (A read-only remount is refused by the
/// kernel while the daemon holds the file open for writing, and root ignores
/// file modes, so read-only is not tested separately: to the daemon it is
/// the same failed commit.)
#[test]
fn store_disk_full_mail_stays_on_the_server_and_recovers() {
    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    // 16 MB: the two mails below need about 6 MB with WAL (raw, blob, and the
    // team notification that carries the attachment); the filler fills the rest.
    let fs = Tmpfs::mount(&dir.path().join("db"), "16m");
    let db = fs.0.join("supportd.sqlite3");
    let cfg = write_config_with(
        dir.path(),
        &mailbox_toml(&ms, "plain", "Processed"),
        &transport_file(&dir.path().join("o")),
        db.to_str().unwrap(),
        None,
    );
    let mut d = Daemon::start(&cfg);
    let count = || query_i64_at(&db, "SELECT count(*) FROM messages");
    let (_, raw) = customer_mail(CUSTOMERS[0], "Vor dem Ausfall", "Der Export bricht ab.", "");
    write_into_maildir(&ms, SUPPORT, &raw);
    // committed, moved, and the position saved (so the disk fills between mails)
    wait_until("the first mail done", Duration::from_secs(20), || {
        count() == 1
            && ms.maildir_files(SUPPORT, "").is_empty()
            && query_i64_at(&db, "SELECT count(*) FROM state WHERE key = 'imap.INBOX.unacked' AND value = ''") == 1
    });

    // --- disk full
    let filler = fs.0.join("filler");
    let _ = Command::new("dd").arg("if=/dev/zero").arg(format!("of={}", filler.display())).args(["bs=64k"]).output();
    let mut ids = Vec::new();
    for i in 0..2u8 {
        // 750 KB attachments (distinct, random, so that the store cannot
        // compress them): more than any free page SQLite still has, and
        // more than the WAL file holds for reuse (the checkpoint thread
        // empties it between mails, and a WAL that starts over overwrites
        // its file before it grows it)
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(i);
        let data: Vec<u8> = (0..750_000u32)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let b64 = common::b64_lines(&data);
        let id = format!("{}@kunde.test", common::daemon::unique());
        let raw = format!(
            "From: {}\r\nTo: {SUPPORT}\r\nSubject: Bei voller Platte {i}\r\nMessage-ID: <{id}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nDas Protokoll hängt an.\r\n--b\r\n\
             Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log{i}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}--b--\r\n",
            CUSTOMERS[i as usize]
        );
        write_into_maildir(&ms, SUPPORT, raw.as_bytes());
        ids.push(id);
    }
    d.wait_log_count("left unacknowledged on the server", 1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    assert!(d.alive(), "the daemon ended on a full disk:\n{}", d.log_text());
    assert_eq!(count(), 1, "nothing committed on a full disk");
    assert_eq!(ms.maildir_files(SUPPORT, "").len(), 2, "the mail stays in the INBOX");
    let line = d.log_text().lines().find(|l| l.contains("left unacknowledged")).unwrap_or("").to_string();
    assert!(line.contains("full"), "the error names the cause: {line}");
    println!("disk full: {line}");
    // Logged once per state change: retries while the disk stays full are
    // quiet (and back off), not an error plus "working again" each time.
    assert_eq!(d.count("left unacknowledged"), 1, "{}", d.log_text());
    assert_eq!(d.count("working again"), 0, "{}", d.log_text());
    std::fs::remove_file(&filler).unwrap();
    let freed = std::time::Instant::now();
    while !(count() == 3 && ms.maildir_files(SUPPORT, "").is_empty()) {
        assert!(
            freed.elapsed() < Duration::from_secs(40),
            "no recovery 40 s after the space was freed:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = freed.elapsed();
    println!("disk full -> processed {t:?} after the space was freed");

    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success());
    let msgs = cli_json(&cfg, &["messages", "list"]);
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    for id in &ids {
        assert_eq!(msgs.iter().filter(|m| m["message_id"] == id.as_str()).count(), 1, "{id}");
    }
    let c = rusqlite::Connection::open(&db).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
}

fn peer_settings(peer: &ImapPeer) -> supportd::imap::ImapSettings {
    supportd::imap::ImapSettings {
        host: "127.0.0.1".into(),
        port: peer.port,
        security: supportd::imap::Security::Plain,
        username: "support".into(),
        password: "secret".into(),
        token: None,
        ca_file: None,
        folder: "INBOX".into(),
        processed_folder: Some("Processed".into()),
    }
}

/// Proves: a mail that takes longer to arrive than the stall timeout (a
/// large mail on a slow link) is fetched whole while data keeps coming; a
/// fixed timeout failed that fetch after every reconnect, so no later mail
/// came through. The progress callback (the daemon's watchdog heartbeat)
/// is called while it arrives.
#[tokio::test]
async fn a_mail_slower_than_the_stall_timeout_arrives_while_data_flows() {
    let peer = ImapPeer::start();
    let (_, small) = one_mail(4);
    let raw = [small.as_slice(), &b"Anhang folgt.\r\n".repeat(8000)].concat();
    peer.deliver(&raw);
    peer.with(|s| s.fetch_faults.push_back(FetchFault::Trickle { chunk: 4096, every_ms: 120 }));
    let mut mb = supportd::imap::ImapMailbox::connect(&peer_settings(&peer)).await.unwrap();
    // 30 pieces, 120 ms apart: 3.6 s in all, each gap far below the timeout
    // (a busy CI machine may delay a piece, not by a second).
    let stall = Duration::from_secs(1);
    mb.set_stall_timeout(stall);
    let beats = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let b = beats.clone();
    mb.on_progress(move || {
        b.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let t0 = Instant::now();
    let got = mb.fetch_after(0, 10).await.expect("the slow fetch completes");
    let took = t0.elapsed();
    println!("{} bytes in {took:?} with a stall timeout of {stall:?}", raw.len());
    assert!(took > stall * 3, "the answer took {took:?}: not slower than the timeout, so this proves nothing");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].raw, raw, "the whole mail, byte for byte");
    assert!(beats.load(std::sync::atomic::Ordering::Relaxed) >= 2, "the heartbeat was fed while data came");
}

/// Proves: a server that stops sending in the middle of a mail is cut off
/// after the stall timeout (not waited on for ever); nothing partial comes
/// back, and on the next connection the mail is fetched whole.
#[tokio::test]
async fn a_server_that_stalls_mid_mail_is_cut_off_after_the_stall_timeout() {
    let peer = ImapPeer::start();
    let (_, raw) = one_mail(5);
    peer.deliver(&raw);
    peer.with(|s| s.fetch_faults.push_back(FetchFault::StallMidLiteral { secs: 4 }));
    let mut mb = supportd::imap::ImapMailbox::connect(&peer_settings(&peer)).await.unwrap();
    let stall = Duration::from_millis(400);
    mb.set_stall_timeout(stall);
    let t0 = Instant::now();
    let err = mb.fetch_after(0, 10).await.expect_err("a stalled fetch fails");
    let took = t0.elapsed();
    println!("stalled fetch failed after {took:?}: {err:#}");
    assert!(format!("{err:#}").contains("the server sent nothing for"), "{err:#}");
    // Cut off after the timeout, well before the peer's 4 s pause ends.
    assert!(took >= stall && took < Duration::from_secs(3), "cut off after {took:?}");
    let mut mb = supportd::imap::ImapMailbox::connect(&peer_settings(&peer)).await.unwrap();
    let got = mb.fetch_after(0, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].raw, raw);
}

/// Proves: a kept SMTP connection whose relay no longer answers costs the
/// next send a bounded wait (NOOP unanswered), then a new connection, and
/// the mail goes out; closing idle connections (the outbox going idle)
/// ends within a bound too, where an unanswered QUIT would have hung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_silent_on_a_kept_connection_costs_a_bounded_wait_and_a_new_connection() {
    let relay = common::smtp_peer::SmtpPeer::start(Duration::ZERO, Some(1));
    let t = supportd::smtp::SmtpTransport::new(&relay.settings()).unwrap();
    let raw = common::mailservers::message(SUPPORT, "kunde@example.de", "eins", "x");
    let to = ["kunde@example.de".to_string()];
    t.send_raw(SUPPORT, &to, &raw).await.unwrap();
    assert_eq!(t.idle_connections(), 1);
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), t.send_raw(SUPPORT, &to, &raw))
        .await
        .expect("the send must not hang on the silent connection")
        .unwrap_or_else(|e| panic!("the second mail must go out on a new connection: {e}"));
    println!("second send after the relay went silent: {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(15), "NOOP is given 5 s, not the send's whole bound");
    assert_eq!(relay.connections(), 2);
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), t.close_idle()).await.expect("closing must not hang");
    println!("closing the silent kept connection: {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(15), "QUIT is given 5 s");
    assert_eq!(t.idle_connections(), 0);
}
