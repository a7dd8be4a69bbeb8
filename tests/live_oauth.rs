//! XOAUTH2 against the real Dovecot 2.3 (IMAP) and Postfix 3.7 submission
//! (AUTH through Dovecot SASL), both started by scripts/mailservers.sh with
//! `MAILSERVERS_OAUTH2_URL`: Dovecot's oauth2 passdb checks every token with
//! an introspection request to a tiny HTTP responder run by the test, which
//! accepts only the tokens the test currently lists as valid.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use supportd::imap::{ImapMailbox, ImapSettings, Security};
use supportd::oauth::{TokenKind, TokenSource};
use supportd::smtp::{SendError, SmtpSettings, SmtpTransport};

use common::mailservers::{CUSTOMER, MailServers, SUPPORT, message};

/// The introspection endpoint: `Authorization: Bearer <t>` with `t` in
/// `valid` -> 200 `{"active": true, "email": SUPPORT}`, else 401 inactive.
struct Introspection {
    url: String,
    valid: Arc<Mutex<HashSet<String>>>,
    /// Every token asked about, in order.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Introspection {
    fn start(valid: &[&str]) -> Introspection {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/introspect", listener.local_addr().unwrap().port());
        let valid = Arc::new(Mutex::new(valid.iter().map(|s| s.to_string()).collect::<HashSet<_>>()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (v, s) = (valid.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut token = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, val)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        token = val.trim().strip_prefix("Bearer ").unwrap_or("").to_string();
                    }
                }
                s.lock().unwrap().push(token.clone());
                let ok = v.lock().unwrap().contains(&token);
                let (status, body) = if ok {
                    ("200 OK", format!("{{\"active\": true, \"email\": \"{SUPPORT}\"}}"))
                } else {
                    ("401 Unauthorized", "{\"active\": false}".to_string())
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Introspection { url, valid, seen }
    }

    fn set_valid(&self, tokens: &[&str]) {
        *self.valid.lock().unwrap() = tokens.iter().map(|s| s.to_string()).collect();
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn start(valid: &[&str]) -> (Introspection, MailServers) {
    let intro = Introspection::start(valid);
    let ms = MailServers::start_with_env(&[("MAILSERVERS_OAUTH2_URL", &intro.url)]);
    (intro, ms)
}

fn file_source(key: &str, path: &Path) -> TokenSource {
    TokenSource { key: key.into(), kind: TokenKind::File(path.to_path_buf()) }
}

/// A token_command that prints `first` on its first run and `later` after,
/// counting its runs in `dir/runs`.
fn counting_command(key: &str, dir: &Path, first: &str, later: &str) -> TokenSource {
    let script = dir.join("token.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(cat {runs} 2>/dev/null || echo 0)\necho $((n + 1)) > {runs}\n\
             if [ \"$n\" = 0 ]; then echo {first}; else echo {later}; fi\n",
            runs = dir.join("runs").display()
        ),
    )
    .unwrap();
    TokenSource { key: key.into(), kind: TokenKind::Command(vec!["sh".into(), script.display().to_string()]) }
}

fn runs(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("runs")).map(|s| s.trim().parse().unwrap()).unwrap_or(0)
}

fn imap(ms: &MailServers, security: Security, token: TokenSource) -> ImapSettings {
    ImapSettings { password: "not-used".into(), token: Some(token), ..ms.imap(SUPPORT, security) }
}

fn smtp(ms: &MailServers, token: TokenSource) -> SmtpSettings {
    SmtpSettings { password: None, token: Some(token), ..ms.smtp_submission(SUPPORT) }
}

/// Proves: `AUTHENTICATE XOAUTH2` with the token from `token_file` logs in
/// (plain, IMAPS and STARTTLS), Dovecot saw exactly that token, the file is
/// re-read on every connect (a rotated token is used at the next connect),
/// and password logins still work on the same Dovecot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_xoauth2_with_token_file() {
    let (intro, ms) = start(&["good-token-1"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imap-token");
    std::fs::write(&file, "good-token-1\n").unwrap();
    for sec in [Security::Plain, Security::Tls, Security::StartTls] {
        let mut mb = ImapMailbox::connect(&imap(&ms, sec, file_source("mailbox.token_file", &file)))
            .await
            .unwrap_or_else(|e| panic!("{sec:?}: {e:#}"));
        assert!(mb.fetch_after(0, 10).await.unwrap().is_empty());
        mb.logout().await.unwrap();
    }
    assert_eq!(intro.seen(), vec!["good-token-1"; 3]);

    // the refresher replaces the token and the old one expires
    intro.set_valid(&["good-token-2"]);
    std::fs::write(&file, "good-token-2\n").unwrap();
    let mb = ImapMailbox::connect(&imap(&ms, Security::Plain, file_source("mailbox.token_file", &file)))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    mb.logout().await.unwrap();
    assert_eq!(intro.seen().last().unwrap(), "good-token-2");

    let mb = ImapMailbox::connect(&ms.imap(SUPPORT, Security::Plain)).await.unwrap();
    mb.logout().await.unwrap();
}

/// Proves: a rejected (expired) token makes supportd run `token_command`
/// again and retry on the same connection: first token rejected -> command
/// run a second time -> fresh token accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_xoauth2_stale_token_is_refreshed_by_command() {
    let (intro, ms) = start(&["fresh-token"]);
    let dir = tempfile::tempdir().unwrap();
    let src = counting_command("mailbox.token_command", dir.path(), "stale-token", "fresh-token");
    let mb = ImapMailbox::connect(&imap(&ms, Security::Tls, src)).await.unwrap_or_else(|e| panic!("{e:#}"));
    mb.logout().await.unwrap();
    assert_eq!(runs(dir.path()), 2);
    assert_eq!(intro.seen(), vec!["stale-token", "fresh-token"]);
}

/// Proves: a token the server rejects (and no newer one) fails fast with an
/// error naming the user and the config key but not the token; a failing
/// command is reported with its key and stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_xoauth2_bad_token_error_names_the_key_not_the_token() {
    let (intro, ms) = start(&["good-token"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imap-token");
    std::fs::write(&file, "revoked-secret-token\n").unwrap();
    let t0 = Instant::now();
    let err =
        ImapMailbox::connect(&imap(&ms, Security::Plain, file_source("mailbox.token_file", &file))).await.unwrap_err();
    let msg = format!("{err:#}");
    println!("bad token: {msg} ({:?})", t0.elapsed());
    assert!(msg.contains("mailbox.token_file"), "{msg}");
    assert!(msg.contains(SUPPORT), "{msg}");
    assert!(!msg.contains("revoked-secret-token"), "{msg}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // the file was read twice (initial + after the rejection), Dovecot asked once
    assert_eq!(intro.seen(), vec!["revoked-secret-token"]);

    let failing = TokenSource {
        key: "mailbox.token_command".into(),
        kind: TokenKind::Command(vec!["sh".into(), "-c".into(), "echo 'invalid_grant' >&2; exit 2".into()]),
    };
    let err = ImapMailbox::connect(&imap(&ms, Security::Plain, failing)).await.unwrap_err();
    let msg = format!("{err:#}");
    println!("failing command: {msg}");
    assert!(msg.contains("mailbox.token_command") && msg.contains("invalid_grant"), "{msg}");
}

/// Proves: SMTP submission (STARTTLS, Postfix AUTH via Dovecot SASL) with
/// `AUTH XOAUTH2`: a token from `token_file` sends; after the token expired
/// and the file was updated the same transport sends with the new one; a
/// stale token from `token_command` is replaced within the same send; a
/// rejected token with no newer one is a *transient* error (the outbox
/// retries) naming the key and not the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_xoauth2_submission() {
    let (intro, ms) = start(&["smtp-token-1"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("smtp-token");
    std::fs::write(&file, "smtp-token-1\n").unwrap();
    let t = SmtpTransport::new(&smtp(&ms, file_source("transport.token_file", &file))).unwrap();
    let send = |t: &SmtpTransport, subject: &str| {
        let t = t.clone();
        let raw = message(SUPPORT, CUSTOMER, subject, "Antwort");
        async move { t.send_raw(SUPPORT, &[CUSTOMER.to_string()], &raw).await }
    };
    send(&t, "eins").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ms.wait_for_files(CUSTOMER, "", 1, Duration::from_secs(10)).len(), 1);

    intro.set_valid(&["smtp-token-2"]);
    std::fs::write(&file, "smtp-token-2\n").unwrap();
    send(&t, "zwei").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ms.wait_for_files(CUSTOMER, "", 2, Duration::from_secs(10)).len(), 2);
    assert_eq!(intro.seen().last().unwrap(), "smtp-token-2");

    // token_command: stale first, fresh after the rejection, in one send
    intro.set_valid(&["smtp-fresh"]);
    let cmd_dir = tempfile::tempdir().unwrap();
    let src = counting_command("transport.token_command", cmd_dir.path(), "smtp-stale", "smtp-fresh");
    let tc = SmtpTransport::new(&smtp(&ms, src)).unwrap();
    send(&tc, "drei").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ms.wait_for_files(CUSTOMER, "", 3, Duration::from_secs(10)).len(), 3);
    assert_eq!(runs(cmd_dir.path()), 2);

    // expired token, refresher not done yet: transient, names the key only
    std::fs::write(&file, "smtp-expired-secret\n").unwrap();
    let err = send(&t, "vier").await.unwrap_err();
    println!("rejected token: {err}");
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("transport.token_file"), "{err}");
    assert!(!err.to_string().contains("smtp-expired-secret"), "{err}");
    // refreshed: the retry goes through on the same transport
    std::fs::write(&file, "smtp-fresh\n").unwrap();
    send(&t, "vier").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ms.wait_for_files(CUSTOMER, "", 4, Duration::from_secs(10)).len(), 4);
}
