//! Bad input at scale (the [proof] issue): any byte string becomes exactly one
//! stored message — a ticket, a follow-up, machine mail or `quarantined` —
//! never a panic, never a lost mail, and the run goes on. Also replays the
//! fuzz corpus (fuzz/corpus/pipeline, seeded from fixtures/ and grown by
//! cargo-fuzz) and every real mail of the peer corpus.

mod common;

use common::Env;

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn eml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            eml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

/// Every input gives one stored row with a disposition; the count of rows grows by one each time.
fn check_all(env: &mut Env, inputs: &[(String, Vec<u8>)]) {
    for (name, raw) in inputs {
        let before = env.count("SELECT count(*) FROM messages");
        let o = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| env.ingest(raw)))
            .unwrap_or_else(|_| panic!("{name}: the pipeline panicked"));
        assert_eq!(env.count("SELECT count(*) FROM messages"), before + 1, "{name}: not exactly one stored message");
        let (disp, kept): (Option<String>, i64) = env
            .store
            .conn()
            .query_row("SELECT disposition, raw_size FROM messages WHERE id = ?1", [o.row], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(disp.as_deref(), Some(o.disposition.as_str()), "{name}");
        assert_eq!(kept as usize, raw.len(), "{name}: raw bytes kept");
    }
    assert_eq!(env.store.integrity_check().unwrap(), "ok");
}

#[test]
fn any_byte_string_is_stored_or_quarantined_never_lost() {
    let mut seeds = Vec::new();
    eml_files(&common::repo().join("fixtures"), &mut seeds);
    seeds.sort();
    let seeds: Vec<Vec<u8>> = seeds.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(seeds.len() >= 100);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut inputs = Vec::new();
    for i in 0..1500 {
        let base = &seeds[rng.below(seeds.len())];
        let mut m = base.clone();
        match i % 6 {
            // Random bytes.
            0 => m = (0..rng.below(4096)).map(|_| rng.next() as u8).collect(),
            // Truncated anywhere.
            1 => m.truncate(rng.below(m.len())),
            // Flipped bytes.
            2 => {
                for _ in 0..1 + rng.below(20) {
                    let at = rng.below(m.len());
                    if let Some(b) = m.get_mut(at) {
                        *b = rng.next() as u8;
                    }
                }
            }
            // A slice of another mail spliced in.
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let a = rng.below(other.len());
                let b = (a + rng.below(2000)).min(other.len());
                let at = rng.below(m.len());
                m.splice(at..at, other[a..b].iter().copied());
            }
            // Header lines duplicated, CRLF broken into bare CR / LF.
            4 => {
                for b in m.iter_mut() {
                    if *b == b'\n' && rng.below(3) == 0 {
                        *b = b'\r';
                    }
                }
            }
            // NUL bytes and 8-bit junk in headers.
            _ => {
                let end = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(m.len());
                for _ in 0..10 {
                    let at = rng.below(end.max(1));
                    if let Some(b) = m.get_mut(at) {
                        *b = [0u8, 0xff, 0xfc, 0x80, b'\r'][rng.below(5)];
                    }
                }
            }
        }
        inputs.push((format!("mutant {i}"), m));
    }
    let mut env = Env::new();
    check_all(&mut env, &inputs);
    // The run goes on: a good mail after all that still becomes a ticket.
    let o = env.ingest(&common::mail(
        "kunde@stadtwerke-musterstadt.de",
        "Nach dem Sturm",
        "after@sw",
        "",
        "Geht das noch?",
    ));
    assert_eq!(o.disposition.as_str(), "new_ticket");
}

#[test]
fn the_fuzz_corpus_and_the_peer_corpus_replay_without_a_panic() {
    let mut files = Vec::new();
    for dir in ["fuzz/corpus/pipeline", "fuzz/regressions"] {
        let d = common::repo().join(dir);
        if let Ok(entries) = std::fs::read_dir(&d) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    let peer = common::repo().join("../shared/peer-corpus");
    eml_files(&peer, &mut files);
    files.sort();
    assert!(files.len() >= 100, "corpus too small: {}", files.len());
    let inputs: Vec<(String, Vec<u8>)> =
        files.iter().map(|p| (p.display().to_string(), std::fs::read(p).unwrap())).collect();
    let mut env = Env::new();
    check_all(&mut env, &inputs);
}

/// Regression (found by the mutation test above): a From address with 8-bit
/// junk in its domain made lettre refuse the ack, and that error failed the
/// whole batch. Now the ticket is made, the ack left out with an event.
#[test]
fn regression_an_undeliverable_sender_address_still_makes_a_ticket() {
    let mut env = Env::new();
    let mut raw = common::mail("ryan@kellerman-solutions.de", "Login geht nicht", "junk1@x", "", "Fehler beim Login.");
    let at = raw.windows(3).position(|w| w == b".de").unwrap();
    raw[at + 1] = 0x81; // a C1 control even when read as Windows-1252: no deliverable address
    let o = env.ingest(&raw);
    assert_eq!(o.disposition.as_str(), "new_ticket", "{:?}", o.reason);
    assert!(env.sent("ack").is_empty());
    assert_eq!(env.count("SELECT count(*) FROM events WHERE kind = 'bad_address'"), 1);
    // The batch goes on.
    let o = env.ingest(&common::mail("kunde@stadtwerke-musterstadt.de", "Frage", "ok@sw", "", "Wie geht das?"));
    assert_eq!(o.disposition.as_str(), "new_ticket");
}

/// Regression (found by the fuzzer): a DSN whose inner part claims a
/// `multipart` type without a boundary makes mail-parser 0.11.9 panic
/// ("Invalid part ID, could not find multipart."). The panic is caught: the
/// mail is quarantined with its raw bytes and the reason, and the batch goes on.
#[test]
fn regression_a_mail_parser_panic_quarantines_the_mail() {
    let mut env = Env::new();
    let raw = std::fs::read(common::repo().join("fuzz/regressions/mail-parser-invalid-part-id-dsn.eml")).unwrap();
    let o = env.ingest(&raw);
    assert_eq!(o.disposition.as_str(), "quarantined", "{o:?}");
    assert!(o.reason.as_deref().unwrap_or("").contains("panic"), "{o:?}");
    let stored: Vec<u8> = supportd::store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap();
    assert_eq!(stored, raw, "the raw bytes are kept");
    let next = env.ingest(&common::mail("kunde@stadtwerke-musterstadt.de", "Frage", "after@sw", "", "Wie geht das?"));
    assert_eq!(next.disposition.as_str(), "new_ticket");
}
