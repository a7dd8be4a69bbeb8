//! Crash consistency against the real Dovecot + Postfix (the [proof] issue,
//! part 1): 1,000 mails or more (new mails, customer replies to earlier ones,
//! auto-replies) are delivered in chunks of 50 while `supportd run` (the built
//! binary) is SIGKILLed at random moments at least 20 times and restarted
//! each time. At the end:
//!
//! - every delivered mail is in the store exactly once (by Message-ID),
//!   with the expected disposition (new_ticket / follow_up on its parent's
//!   ticket / auto_reply);
//! - every expected ticket exists exactly once (one per new mail);
//! - `PRAGMA integrity_check` is ok;
//! - every mail of the IMAP folder was processed: the INBOX is empty and
//!   the Processed folder holds all of them;
//! - every ticket's ack reached the customer's mailbox; the extra deliveries
//!   (a kill between the SMTP server's 250 and the outbox commit) are
//!   counted, printed, and at most one per kill.
//!
//! The kills are proven to land mid-work: before each kill the test records
//! what was committed, moved and sent since the start, and whether work was
//! still pending; only kills with progress *and* pending work count towards
//! the 20. The RNG seed is printed (`SUPPORTD_CRASH_SEED=<n>` replays it).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::daemon::{
    BIN, CUSTOMERS, Daemon, customer_mail, header_of, mailbox_toml, maildir_headers, query_i64, store_path,
    transport_mx, wait_until, write_config, write_into_maildir,
};
use common::mailservers::{MailServers, SUPPORT};

const TOTAL: usize = 1000;
const MIN_KILLS: usize = 20;
const CHUNKS: usize = 20;

/// xorshift64*: deterministic per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    New,
    Reply(usize),
    AutoReply,
}

struct Sent {
    id: String,
    from: &'static str,
    kind: Kind,
}

const SUBJECTS: [&str; 8] = [
    "Fehler beim Speichern der Stammdaten",
    "Wie exportiere ich die Monatsübersicht?",
    "Neuer Benutzer für Frau Müller benötigt",
    "Portal lädt sehr langsam",
    "Passwort zurücksetzen für Herrn Groß",
    "Frage zur Schnittstelle",
    "Änderungswunsch: zusätzliches Feld im Formular",
    "Dienstplan lässt sich nicht drucken",
];
const BODIES: [&str; 4] = [
    "Guten Tag,\n\nbeim Speichern erscheint seit heute Morgen die Meldung \"Interner Fehler 500\".\nBetroffen sind alle Kolleginnen und Kollegen.\n\nMit freundlichen Grüßen",
    "Hallo,\n\nwie kann ich die Übersicht als Excel-Datei exportieren? Ich finde den Knopf nicht.\n\nDanke und Gruß",
    "Sehr geehrte Damen und Herren,\n\nbitte legen Sie für unsere neue Kollegin einen Zugang mit Leserechten an.\n\nViele Grüße",
    "Hallo Support,\n\ndas Portal braucht seit dem letzten Update über eine Minute zum Laden.\n\nGruß",
];

/// The i-th mail of the run: about 70 % new, 20 % replies to an earlier
/// new mail (same customer, real threading headers), 10 % auto-replies.
fn make_mail(i: usize, rng: &mut Rng, sent: &[Sent]) -> (Sent, Vec<u8>) {
    let news: Vec<usize> = sent.iter().enumerate().filter(|(_, s)| s.kind == Kind::New).map(|(n, _)| n).collect();
    let roll = rng.below(10);
    if roll < 2 && !news.is_empty() {
        let parent = news[rng.below(news.len() as u64) as usize];
        let p = &sent[parent];
        let (id, raw) = customer_mail(
            p.from,
            &format!("AW: {} (Nr. {parent})", SUBJECTS[parent % SUBJECTS.len()]),
            &format!("Nachtrag {i}: es betrifft auch den Bericht.\n\nGruß"),
            &format!("In-Reply-To: <{}>\r\nReferences: <{}>\r\n", p.id, p.id),
        );
        return (Sent { id, from: p.from, kind: Kind::Reply(parent) }, raw);
    }
    let from = CUSTOMERS[i % CUSTOMERS.len()];
    if roll == 9 {
        let (id, raw) = customer_mail(
            from,
            "Automatische Antwort: Abwesenheit",
            "Ich bin bis zum 04.12.2026 nicht im Büro und habe keinen Zugriff auf E-Mails.",
            "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
        );
        return (Sent { id, from, kind: Kind::AutoReply }, raw);
    }
    let (id, raw) =
        customer_mail(from, &format!("{} (Nr. {i})", SUBJECTS[i % SUBJECTS.len()]), BODIES[i % BODIES.len()], "");
    (Sent { id, from, kind: Kind::New }, raw)
}

#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    committed: i64,
    moved: i64,
    sent: i64,
    inbox: i64,
    acks_queued: i64,
}

fn snapshot(ms: &MailServers, cfg: &std::path::Path) -> Snapshot {
    Snapshot {
        committed: query_i64(cfg, "SELECT count(*) FROM messages"),
        moved: ms.maildir_files(SUPPORT, "Processed").len() as i64,
        sent: query_i64(cfg, "SELECT count(*) FROM outbox WHERE state = 'sent'"),
        inbox: ms.maildir_files(SUPPORT, "").len() as i64,
        acks_queued: query_i64(cfg, "SELECT count(*) FROM outbox WHERE kind = 'ack' AND state = 'queued'"),
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_duplicates_nothing() {
    let seed: u64 = std::env::var("SUPPORTD_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("crash-consistency seed: {seed} (SUPPORTD_CRASH_SEED={seed} replays the mail mix and kill times)");
    let mut rng = Rng(seed);
    let t_start = Instant::now();

    let ms = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &mailbox_toml(&ms, "plain", "Processed"), &transport_mx(&ms));

    let mut sent: Vec<Sent> = Vec::new();
    let mut kills = 0usize;
    let mut mid_work = 0usize;
    let mut progress_total = Snapshot::default();
    let mut round = 0usize;
    // Factor of the random kill window; doubles after a kill that found no work done.
    let mut widen = 1u64;
    while mid_work < MIN_KILLS || sent.len() < TOTAL {
        assert!(round < 60, "only {mid_work} of {MIN_KILLS} kills landed mid-work in {round} rounds");
        // deliver the next chunk straight into the Maildir (what LMTP does);
        // past TOTAL, more chunks while too few kills landed mid-work (with
        // the outbox sending at hundreds of mails/s, a chunk's answers are
        // out within a second, and a kill after that finds nothing pending)
        if sent.len() < TOTAL || mid_work < MIN_KILLS {
            for _ in 0..TOTAL / CHUNKS {
                let (s, raw) = make_mail(sent.len(), &mut rng, &sent);
                write_into_maildir(&ms, SUPPORT, &raw);
                sent.push(s);
            }
        }
        let before = snapshot(&ms, &cfg);
        // One start in five is killed at a random moment of the start-up;
        // the others after the IMAP connection is up: half of them at a
        // random moment of a window (0..1.2 s, widened while kills land
        // before any work: a loaded machine processes slower), half of them
        // 0..300 ms after the first commit or move of this start (fetching,
        // processing a batch, acknowledging, sending answers, or in IDLE).
        let early = rng.below(5) == 0;
        let after_work = !early && rng.below(2) == 0;
        let mut d = if early { Daemon::spawn(&cfg) } else { Daemon::start(&cfg) };
        let started = Instant::now();
        if after_work {
            while started.elapsed() < Duration::from_secs(30) && d.alive() {
                let s = snapshot(&ms, &cfg);
                if s.committed > before.committed || s.moved > before.moved || s.sent > before.sent {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let window = if early {
            600
        } else if after_work {
            300
        } else {
            1200 * widen
        };
        std::thread::sleep(Duration::from_millis(rng.below(window)));
        let delay = started.elapsed();
        assert!(d.alive(), "the daemon exited on its own:\n{}", d.log_text());
        let at = snapshot(&ms, &cfg);
        d.kill();
        kills += 1;
        let progress = at.committed > before.committed || at.moved > before.moved || at.sent > before.sent;
        let pending = at.inbox > 0 || at.acks_queued > 0;
        let counted = progress && pending;
        if counted {
            mid_work += 1;
        }
        if !early && !after_work {
            widen = if progress { 1 } else { (widen * 2).min(8) };
        }
        progress_total.committed += at.committed - before.committed;
        progress_total.sent += at.sent - before.sent;
        println!(
            "kill #{kills} after {delay:?}: +{} committed, +{} moved, +{} sent before the kill; pending: {} in INBOX, {} acks queued{}",
            at.committed - before.committed,
            at.moved - before.moved,
            at.sent - before.sent,
            at.inbox,
            at.acks_queued,
            if counted { " -> mid-work" } else { "" }
        );
        round += 1;
    }
    let integrity_mid: String = {
        let c = rusqlite::Connection::open(store_path(&cfg)).unwrap();
        c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(integrity_mid, "ok", "after the last kill");

    let total = sent.len();
    // The last start runs to the end.
    let mut d = Daemon::spawn(&cfg);
    wait_until("every mail committed, moved and answered", Duration::from_secs(180), || {
        let s = snapshot(&ms, &cfg);
        s.committed >= total as i64 && s.inbox == 0 && s.acks_queued == 0 && s.moved >= total as i64
    });
    let (st, _) = d.terminate(Duration::from_secs(20));
    assert!(st.success(), "{st}");

    // A mail the process died on three times, twice while it was processed
    // alone, is quarantined as poison, unparsed (raw bytes kept, no
    // Message-ID read): the kills of this test can land on one mail that often. What an operator does then is
    // `quarantine reprocess`; after it the mail must count like any other.
    let poisoned: Vec<i64> = {
        let c = rusqlite::Connection::open(store_path(&cfg)).unwrap();
        let mut q = c
            .prepare("SELECT id FROM messages WHERE disposition = 'quarantined' AND message_id IS NULL ORDER BY id")
            .unwrap();
        q.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    println!("{} mails quarantined as poison by the kills, reprocessed: {poisoned:?}", poisoned.len());
    assert!(
        poisoned.len() * 3 <= kills,
        "{} poison quarantines from {kills} kills (each takes three deaths)",
        poisoned.len()
    );
    if !poisoned.is_empty() {
        for id in &poisoned {
            let out = std::process::Command::new(BIN)
                .arg("--config")
                .arg(&cfg)
                .args(["quarantine", "reprocess", &id.to_string()])
                .output()
                .unwrap();
            assert!(out.status.success(), "reprocess {id}: {}", String::from_utf8_lossy(&out.stderr));
        }
        // Their answers go out with the next run.
        let mut d = Daemon::spawn(&cfg);
        wait_until("the reprocessed mails answered", Duration::from_secs(60), || snapshot(&ms, &cfg).acks_queued == 0);
        let (st, _) = d.terminate(Duration::from_secs(20));
        assert!(st.success(), "{st}");
    }

    // --- the store
    let c = rusqlite::Connection::open(store_path(&cfg)).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let mut rows: HashMap<String, Vec<(String, Option<i64>)>> = HashMap::new();
    {
        let mut q = c.prepare("SELECT message_id, disposition, ticket_id FROM messages").unwrap();
        for r in q
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<i64>>(2)?))
            })
            .unwrap()
        {
            let (id, disp, t) = r.unwrap();
            rows.entry(id).or_default().push((disp.expect("every stored message has a disposition"), t));
        }
    }
    assert_eq!(rows.values().map(Vec::len).sum::<usize>(), total, "stored rows");
    let mut ticket_of: Vec<Option<i64>> = vec![None; sent.len()];
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, s) in sent.iter().enumerate() {
        let r = rows.get(&s.id).unwrap_or_else(|| panic!("mail {n} ({:?}) lost", s.kind));
        assert_eq!(r.len(), 1, "mail {n} stored {} times: {r:?}", r.len());
        let (disp, t) = &r[0];
        match s.kind {
            Kind::New => {
                assert_eq!(disp, "new_ticket", "mail {n}");
                ticket_of[n] = *t;
                *counts.entry("new").or_default() += 1;
            }
            Kind::Reply(p) => {
                assert_eq!(disp, "follow_up", "mail {n}, a reply to {p}");
                assert_eq!(*t, ticket_of[p], "mail {n}: a reply joins its parent's ticket");
                *counts.entry("reply").or_default() += 1;
            }
            Kind::AutoReply => {
                assert_eq!(disp, "auto_reply", "mail {n}");
                *counts.entry("auto-reply").or_default() += 1;
            }
        }
    }
    let expected_tickets = counts["new"];
    let tickets: i64 = c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(tickets as usize, expected_tickets, "one ticket per new mail, no more");
    let distinct: i64 = c
        .query_row("SELECT count(DISTINCT ticket_id) FROM messages WHERE disposition = 'new_ticket'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(distinct as usize, expected_tickets, "every new mail opened its own ticket");
    let acks: Vec<(i64, String)> = {
        let mut q = c.prepare("SELECT ticket_id, message_id FROM outbox WHERE kind = 'ack'").unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
    };
    assert_eq!(acks.len(), expected_tickets, "one ack row per ticket");
    drop(c);

    // --- the IMAP folder
    assert!(ms.maildir_files(SUPPORT, "").is_empty(), "mail left in the INBOX");
    assert_eq!(ms.maildir_files(SUPPORT, "Processed").len(), total, "Processed holds every mail once");

    // --- the customers' mailboxes: every ack arrives; extra deliveries <= kills
    let mut seen: HashMap<String, usize> = HashMap::new();
    wait_until("every ack in the customers' mailboxes", Duration::from_secs(120), || {
        seen.clear();
        for cu in CUSTOMERS {
            for h in maildir_headers(&ms, cu, "") {
                if let Some(id) = header_of(&h, "Message-ID") {
                    let id = id.trim_matches(|c| c == '<' || c == '>').to_string();
                    if id.contains(".ack.") {
                        *seen.entry(id).or_default() += 1;
                    }
                }
            }
        }
        acks.iter().all(|(_, id)| seen.contains_key(id))
    });
    std::thread::sleep(Duration::from_millis(500)); // a late duplicate would be right behind
    let dupes: Vec<(&String, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "{total} mails ({counts:?}), {kills} SIGKILLs ({mid_work} mid-work; {} commits and {} sends before kills), \
         {expected_tickets} tickets, {} acks delivered, duplicate acks: {} {dupes:?}; total {:?}",
        progress_total.committed,
        progress_total.sent,
        seen.len(),
        dupes.len(),
        t_start.elapsed()
    );
    assert_eq!(seen.len(), expected_tickets, "acks that are not in the store");
    // Each kill can cut at most one send between the server's 250 and the
    // commit of `sent` (the worker sends one row at a time), so the extra
    // deliveries are at most the kills. One row can take two of them: after a
    // restart the cut-off row is the first one sent again, and a kill soon
    // after the start can cut it once more.
    let extra: usize = seen.values().map(|n| n - 1).sum();
    println!("extra ack deliveries: {extra} (at most one per kill: {kills})");
    assert!(extra <= kills, "more extra ack deliveries ({extra}) than kills ({kills}): {dupes:?}");
}
