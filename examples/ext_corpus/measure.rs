//! The ext-corpus measures of the [mail-reading] issue, shared by
//! `examples/ext_corpus` (prints them) and `tests/ext_corpus.rs` (holds them):
//! every labelled mail of `../shared/ext-corpus/` goes through the real
//! `pipeline::process_batch` into a fresh store of its own (so rate caps and
//! threading of one mail do not depend on the others), on the shipped
//! default config.
//!
//! Text normalisation for "new text equals the expected visible text": both
//! texts have U+00A0 turned into a space and every run of whitespace
//! (line breaks included) collapsed into one space, then are trimmed.
//! - exact: the normalised texts are equal (cases with `expected`), or every
//!   `contains` regex matches the trimmed new text and no `not_contains` one
//!   does (cases with only those).
//! - cut: a line of the expected text (normalised) is not in the new text,
//!   or a `contains` regex does not match: the reader loses reply text.
//! - leaked: the new text holds a line that is not in the expected text
//!   (quoted history, a reply header or a signature the corpus hides), or,
//!   for `contains` cases, a `>` line or a `not_contains` match.
//! - talon's expected texts keep signatures (its semantics); supportd cuts a
//!   "-- " signature and "Sent from …" footers on purpose, so the expected
//!   text with those cut off is accepted as well (for all three measures).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use supportd::config::Config;
use supportd::pipeline::{self, Pipeline};
use supportd::store::{self, Store};

/// One labelled mail and what the pipeline made of it.
#[derive(Debug, Clone)]
pub struct Record {
    pub file: String,
    pub group: String,
    pub kind: String,
    pub family: String,
    pub style: Option<String>,
    pub disposition: String,
    pub reason: Option<String>,
    pub ticket: bool,
    /// An outbox row to the outside (not a team notification).
    pub answered: bool,
    pub new_text: String,
    /// Quote cases only.
    pub exact: Option<bool>,
    pub cut: Option<bool>,
    pub leaked: Option<bool>,
}

/// The outbox kinds that go to the team, not to the sender.
const INTERNAL_KINDS: &[&str] = &["notify_agents", "forward_consultant", "note", "agent_notice", "command_error"];

pub fn corpus_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("SUPPORTD_EXT_CORPUS") {
        return Some(PathBuf::from(d));
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [here.join("../shared/ext-corpus"), PathBuf::from("/work/shared/ext-corpus")]
        .into_iter()
        .find(|d| d.join("labels.tsv").is_file())
}

pub fn norm(s: &str) -> String {
    s.replace('\u{a0}', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The quote style of a reply fixture, from its file name.
pub fn style(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".eml").to_ascii_lowercase();
    let langs = [
        ("german", "de"),
        ("french", "fr"),
        ("_fr", "fr"),
        ("dutch", "nl"),
        ("polish", "pl"),
        ("swedish", "sv"),
        ("danish", "da"),
        ("norwegian", "no"),
        ("finnish", "fi"),
        ("italian", "it"),
        ("portuguese", "pt"),
        ("russian", "ru"),
        ("vietnamese", "vi"),
        ("spanish", "es"),
    ];
    for (k, v) in langs {
        if name.contains(k) {
            return format!("lang {v}");
        }
    }
    let clients = [
        "android",
        "aol",
        "apple_mail",
        "iphone",
        "ios_outlook",
        "gmail",
        "hotmail",
        "msn",
        "outlook",
        "sparrow",
        "thunderbird",
        "yahoo",
        "zoho",
        "blackberry",
        "comcast",
        "polymail",
        "samsung",
    ];
    for c in clients {
        if name.contains(c) {
            let c = match c {
                "apple_mail" | "iphone" => "apple",
                "ios_outlook" => "outlook",
                "msn" => "hotmail",
                c => c,
            };
            return format!("client {c}");
        }
    }
    if file.contains("/talon/") {
        "inline (talon)".into()
    } else if name.contains("tricky") {
        "tricky (crisp)".into()
    } else if name.contains("sig") || name.contains("regards") || name.contains("sent_from") {
        "signature (crisp)".into()
    } else {
        "misc (crisp)".into()
    }
}

#[derive(Debug, serde::Deserialize)]
struct Expectation {
    file: String,
    expected: Option<String>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    not_contains: Vec<String>,
}

/// `text` up to its "-- " signature or "Sent from/with …" footer line.
fn without_signature(text: &str) -> String {
    let mut out = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if t == "--" || t.starts_with("Sent from ") || t.starts_with("Sent with ") {
            break;
        }
        out.push(l);
    }
    out.join("\n")
}

/// (exact, cut, leaked) of a new text against an expectation.
fn judge(new_text: &str, e: &Expectation) -> (bool, bool, bool) {
    let got = norm(new_text);
    if let Some(want) = &e.expected {
        // talon's expected texts keep the signature; supportd cuts "-- "
        // signatures and mobile footers on purpose: the expected text
        // without them counts as well.
        let want = &if norm(&without_signature(want)) == got { without_signature(want) } else { want.clone() };
        let exact = got == norm(want);
        let cut = want.lines().map(norm).filter(|l| !l.is_empty()).any(|l| !got.contains(&l))
            || (got.is_empty() && !norm(want).is_empty());
        let want_n = norm(want);
        let leaked = new_text.lines().map(norm).filter(|l| !l.is_empty()).any(|l| !want_n.contains(&l));
        return (exact, cut, leaked);
    }
    let t = new_text.trim();
    let re = |p: &str| regex::Regex::new(p).map(|r| r.is_match(t)).unwrap_or(false);
    let cut = !e.contains.iter().all(|p| re(p));
    let leaked = e.not_contains.iter().any(|p| re(p)) || t.lines().any(|l| l.trim_start().starts_with('>'));
    (!cut && !leaked, cut, leaked)
}

pub struct Runner {
    pub p: Pipeline,
}

impl Runner {
    /// The shipped default config, its paths in `dir`.
    pub fn new(dir: &Path) -> Runner {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(repo.join("config/supportd.toml")).unwrap();
        let cfgdir = dir.join("config");
        std::fs::create_dir_all(&cfgdir).unwrap();
        let cfg = Config::from_str(&text, "ext-corpus.toml", &cfgdir).unwrap();
        let store = Store::open_in_memory().unwrap();
        let p = Pipeline::new(cfg, store.conn()).unwrap();
        Runner { p }
    }

    /// One mail through `process_batch` into a fresh store: (disposition,
    /// reason, ticket?, answered?, new text).
    pub fn run(&self, raw: &[u8]) -> (String, Option<String>, bool, bool, String) {
        let mut store = Store::open_in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let o =
            pipeline::process_batch(&self.p, &mut store, &[("ext".to_string(), raw.to_vec())], now).unwrap().remove(0);
        let answered =
            store::list_outbox(store.conn(), None).unwrap().iter().any(|r| !INTERNAL_KINDS.contains(&r.kind.as_str()));
        let text: Option<String> = store::message_new_text(store.conn(), o.row).unwrap_or(None);
        (o.disposition.as_str().to_string(), o.reason, o.ticket.is_some(), answered, text.unwrap_or_default())
    }
}

/// Every labelled mail of the corpus through the pipeline.
pub fn run_corpus(dir: &Path) -> Vec<Record> {
    let labels = std::fs::read_to_string(dir.join("labels.tsv")).unwrap();
    let exps: Vec<Expectation> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("quotes/expectations.json")).unwrap()).unwrap();
    let exps: BTreeMap<String, Expectation> = exps.into_iter().map(|e| (e.file.clone(), e)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let runner = Runner::new(tmp.path());
    let mut out = Vec::new();
    for line in labels.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 {
            continue;
        }
        let raw = std::fs::read(dir.join(f[0])).unwrap();
        let (disposition, reason, ticket, answered, new_text) = runner.run(&raw);
        let e = exps.get(f[0]);
        let judged = e.map(|e| judge(&new_text, e));
        out.push(Record {
            file: f[0].to_string(),
            group: f[1].to_string(),
            kind: f[3].to_string(),
            family: f[4].to_string(),
            style: f[0].starts_with("quotes/").then(|| style(f[0])),
            disposition,
            reason,
            ticket,
            answered,
            new_text,
            exact: judged.map(|j| j.0),
            cut: judged.map(|j| j.1),
            leaked: judged.map(|j| j.2),
        });
    }
    out
}

/// Counters of one row of the tables.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub mails: usize,
    pub quoted: usize,
    pub exact: usize,
    pub leaked: usize,
    pub cut: usize,
    pub bounces: usize,
    pub bounces_ok: usize,
    pub machine: usize,
    pub machine_answered: usize,
    pub arf: usize,
    pub arf_out: usize,
    pub persons: usize,
    pub persons_as_machine: usize,
    pub quarantined: usize,
}

pub const MACHINE_DISPOSITIONS: &[&str] = &["auto_reply", "bounce", "spam", "loop"];

impl Tally {
    pub fn add(&mut self, r: &Record) {
        self.mails += 1;
        if let Some(x) = r.exact {
            self.quoted += 1;
            self.exact += x as usize;
            self.leaked += r.leaked.unwrap_or(false) as usize;
            self.cut += r.cut.unwrap_or(false) as usize;
        }
        if matches!(r.kind.as_str(), "bounce" | "dsn_delay" | "dsn_success") {
            self.bounces += 1;
            self.bounces_ok += (r.disposition == "bounce") as usize;
        }
        if r.kind != "person" {
            self.machine += 1;
            self.machine_answered += r.answered as usize;
        }
        if r.kind == "feedback" {
            self.arf += 1;
            self.arf_out +=
                (!r.ticket && !r.answered && MACHINE_DISPOSITIONS.contains(&r.disposition.as_str())) as usize;
        }
        if r.kind == "person" {
            self.persons += 1;
            self.persons_as_machine += MACHINE_DISPOSITIONS.contains(&r.disposition.as_str()) as usize;
        }
        self.quarantined += (r.disposition == "quarantined") as usize;
    }
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 { "-".into() } else { format!("{:.1}% ({a}/{b})", 100.0 * a as f64 / b as f64) }
}

pub fn table(title: &str, rows: &BTreeMap<String, Tally>) -> String {
    let mut s = format!(
        "\n{title}\n{:<22} {:>5} | {:>16} {:>16} {:>14} | {:>18} {:>16} {:>13} | {:>12} {:>6}\n",
        "",
        "mails",
        "quotes exact",
        "leaked",
        "cut/emptied",
        "bounces",
        "machine answered",
        "ARF out",
        "person->mach",
        "quar."
    );
    let mut total = Tally::default();
    for (k, t) in rows {
        s.push_str(&row(k, t));
        for (a, b) in [
            (&mut total.mails, t.mails),
            (&mut total.quoted, t.quoted),
            (&mut total.exact, t.exact),
            (&mut total.leaked, t.leaked),
            (&mut total.cut, t.cut),
            (&mut total.bounces, t.bounces),
            (&mut total.bounces_ok, t.bounces_ok),
            (&mut total.machine, t.machine),
            (&mut total.machine_answered, t.machine_answered),
            (&mut total.arf, t.arf),
            (&mut total.arf_out, t.arf_out),
            (&mut total.persons, t.persons),
            (&mut total.persons_as_machine, t.persons_as_machine),
            (&mut total.quarantined, t.quarantined),
        ] {
            *a += b;
        }
    }
    s.push_str(&row("TOTAL", &total));
    s
}

fn row(k: &str, t: &Tally) -> String {
    format!(
        "{:<22} {:>5} | {:>16} {:>16} {:>14} | {:>18} {:>16} {:>13} | {:>12} {:>6}\n",
        k,
        t.mails,
        pct(t.exact, t.quoted),
        pct(t.leaked, t.quoted),
        pct(t.cut, t.quoted),
        pct(t.bounces_ok, t.bounces),
        pct(t.machine_answered, t.machine),
        pct(t.arf_out, t.arf),
        pct(t.persons_as_machine, t.persons),
        t.quarantined
    )
}

pub fn by<F: Fn(&Record) -> Option<String>>(records: &[Record], key: F) -> BTreeMap<String, Tally> {
    let mut m: BTreeMap<String, Tally> = BTreeMap::new();
    for r in records {
        if let Some(k) = key(r) {
            m.entry(k).or_default().add(r);
        }
    }
    m
}

pub fn total(records: &[Record]) -> Tally {
    let mut t = Tally::default();
    for r in records {
        t.add(r);
    }
    t
}
