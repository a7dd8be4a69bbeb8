//! The knowledge base's bench: labelled sets against the articles of
//! `config/kb/` with the shipped `kb.min_score`. For each it prints the two
//! rates (the right article offered first, for the mails with one; nothing
//! offered, for the mails without) and the search time:
//!
//! - `fixtures/kb/questions.tsv`: short questions written with the articles
//!   (tuning set; every miss printed);
//! - `fixtures/kb/writers.tsv`: the usage questions and user-management
//!   requests of the independent writers w1-w4 of `fixtures/writers` (looked
//!   at while tuning; every miss printed);
//! - `fixtures/kb/holdout.tsv`: those of the writers w5-w9, labelled before
//!   any search ran on them; measured held out once, then looked at while
//!   tuning (every miss printed);
//! - `fixtures/kb/holdout2.tsv`: those of the writers w10 and w11, labelled
//!   before any search ran on them, measured once held out, then a tuning
//!   set of the actions (issue #19, `kb-actions`). Only its rates are printed; `--holdout-misses` prints its
//!   misses too (for the report, not for tuning), `--tune` leaves it out;
//! - `fixtures/kb/holdout3.tsv`: the mails of two writers of the knowledge
//!   base's own (`fixtures/kb/mails`, w12 and w13: asked only for usage
//!   questions and user-management requests, never shown the articles),
//!   labelled by a separate labeller before any search ran on them; nobody
//!   who tuned the search read them: **the cleanest hold-out** (the labeller
//!   tuned nothing), printed like holdout2;
//! - every `--set FILE` (repeatable): a further labelled list of the same
//!   kind (`file<TAB>expected[<TAB>note]` naming mails of `fixtures/writers` or `fixtures/kb/mails`,
//!   or `lang<TAB>expected<TAB>subject<TAB>text` lines like questions.tsv),
//!   measured like the clean hold-out (rates only, misses with
//!   `--holdout-misses`; not left out by `--tune`: name it only when you mean
//!   to measure it).
//!
//!     cargo run --release --example kb_eval [-- [--tune|--holdout-misses] [--set FILE]... [KB_DIR [QUESTIONS.tsv [MIN_SCORE]]]]

use std::path::{Path, PathBuf};

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let all: Vec<String> = std::env::args().skip(1).collect();
    let mut tune = false;
    let mut holdout_misses = false;
    let mut extra: Vec<PathBuf> = Vec::new();
    let mut args: Vec<&String> = Vec::new();
    let mut it = all.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tune" => tune = true,
            "--holdout-misses" => holdout_misses = true,
            "--set" => extra.push(PathBuf::from(it.next().ok_or_else(|| anyhow::anyhow!("--set needs a FILE"))?)),
            s if s.starts_with("--set=") => extra.push(PathBuf::from(&s["--set=".len()..])),
            s if s.starts_with("--") => anyhow::bail!("unknown option {s} (--tune, --holdout-misses, --set FILE)"),
            _ => args.push(a),
        }
    }
    let dir = args.first().map(PathBuf::from).unwrap_or_else(|| root.join("config/kb"));
    let set = args.get(1).map(PathBuf::from).unwrap_or_else(|| root.join("fixtures/kb/questions.tsv"));
    let min_score = match args.get(2) {
        Some(s) => s.parse()?,
        None => supportd::kb::DEFAULT_MIN_SCORE,
    };
    let kb = supportd::kb::Kb::load(Some(&dir), min_score)?;
    let labelled = supportd::kb::read_labelled(&std::fs::read_to_string(&set)?)?;
    println!(
        "knowledge base {} ({} de + {} en articles), min_score {min_score}",
        dir.display(),
        kb.len("de"),
        kb.len("en"),
    );
    println!("\n{} ({} questions):", set.display(), labelled.len());
    report(&kb, &labelled, true)?;
    // The writers' mails (w1-w11) and the knowledge base's own writers' (w12, w13).
    let mut corpus =
        supportd::classify::eval::load_corpus(&root.join("fixtures/writers")).map_err(anyhow::Error::msg)?;
    corpus.extend(supportd::classify::eval::load_corpus(&root.join("fixtures/kb/mails")).map_err(anyhow::Error::msg)?);
    let writers = held(&root.join("fixtures/kb/writers.tsv"), &corpus)?;
    println!(
        "\nfixtures/kb/writers.tsv ({} mails of the independent writers w1-w4, looked at while tuning):",
        writers.len()
    );
    report(&kb, &writers, true)?;
    let holdout = held(&root.join("fixtures/kb/holdout.tsv"), &corpus)?;
    println!(
        "\nfixtures/kb/holdout.tsv ({} mails of the writers w5-w9, held out once, then looked at while tuning):",
        holdout.len()
    );
    report(&kb, &holdout, true)?;
    if !tune {
        let clean = held(&root.join("fixtures/kb/holdout2.tsv"), &corpus)?;
        println!(
            "\nheld out: fixtures/kb/holdout2.tsv ({} mails of the writers w10-w11, labelled before the first run, measured once, then tuned on for the actions):",
            clean.len()
        );
        report(&kb, &clean, holdout_misses)?;
        let clean = held(&root.join("fixtures/kb/holdout3.tsv"), &corpus)?;
        println!(
            "\nheld out: fixtures/kb/holdout3.tsv ({} mails of the writers w12-w13, never shown the articles, labelled by a separate labeller before any run, never looked at while tuning):",
            clean.len()
        );
        report(&kb, &clean, holdout_misses)?;
    }
    for path in &extra {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let set = if names_mails(&text) {
            held(path, &corpus)?
        } else {
            supportd::kb::read_labelled(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        };
        println!("\nheld out: {} ({} mails):", path.display(), set.len());
        report(&kb, &set, holdout_misses)?;
    }
    Ok(())
}

/// Whether a labelled list names mails of `fixtures/writers` (`wN/NNN.eml`
/// first) rather than carrying its questions (`lang<TAB>...` like questions.tsv).
fn names_mails(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.split('\t').next().is_some_and(|f| f.ends_with(".eml")))
}

/// A list of the writers' mails, each with the category the classifier
/// gives it (as the pipeline would; the label's category when it is no
/// searched one, so that the set measures the search, not the classifier).
fn held(list: &Path, corpus: &[supportd::classify::eval::LabeledMail]) -> anyhow::Result<Vec<supportd::kb::Labelled>> {
    let classifier = supportd::classify::Classifier::embedded();
    let text = std::fs::read_to_string(list).map_err(|e| anyhow::anyhow!("{}: {e}", list.display()))?;
    let mut set =
        supportd::kb::labelled_from_corpus(&text, corpus).map_err(|e| anyhow::anyhow!("{}: {e}", list.display()))?;
    for q in &mut set {
        let (subject, text) = q.text.split_once('\n').unwrap_or((&q.text, ""));
        let c = classifier.classify(subject, text).category;
        if supportd::kb::searched(c) {
            q.category = Some(c);
        }
    }
    Ok(set)
}
fn report(kb: &supportd::kb::Kb, labelled: &[supportd::kb::Labelled], misses: bool) -> anyhow::Result<()> {
    // A label naming no article could never be right: a typo, not a miss.
    for q in labelled {
        for id in q.expected.iter().flat_map(|e| e.split('|')) {
            anyhow::ensure!(kb.article(&q.lang, id).is_some(), "label {id:?} names no article of {}", q.lang);
        }
    }
    let t = std::time::Instant::now();
    let e = supportd::kb::evaluate(kb, labelled);
    let took = t.elapsed();
    if misses {
        for m in &e.misses {
            println!("  miss: {}", m.chars().take(400).collect::<String>().replace('\n', " / "));
        }
    }
    println!(
        "right article first: {}/{} = {:.1} % (goal >= 80 %)",
        e.right_first,
        e.with_article,
        100.0 * e.right_first_rate()
    );
    println!(
        "nothing offered:     {}/{} = {:.1} % (goal >= 90 %)",
        e.nothing_offered,
        e.without_article,
        100.0 * e.nothing_rate()
    );
    let longest = labelled.iter().map(|q| q.text.len()).max().unwrap_or(0);
    println!(
        "search time: {:.0} µs per mail (longest mail {longest} bytes)",
        took.as_secs_f64() * 1e6 / labelled.len().max(1) as f64
    );
    Ok(())
}
