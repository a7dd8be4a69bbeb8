//! The knowledge base's bench: three labelled sets against the articles of
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
//!   any search ran on them and never tuned on. Only its rates are printed;
//!   `--holdout-misses` prints its misses too (for the report, not for tuning),
//!   `--tune` leaves it out.
//!
//!     cargo run --release --example kb_eval [-- [--tune|--holdout-misses] [KB_DIR [QUESTIONS.tsv [MIN_SCORE]]]]

use std::path::{Path, PathBuf};

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let all: Vec<String> = std::env::args().skip(1).collect();
    let tune = all.iter().any(|a| a == "--tune");
    let holdout_misses = all.iter().any(|a| a == "--holdout-misses");
    let args: Vec<&String> = all.iter().filter(|a| !a.starts_with("--")).collect();
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
    let corpus = supportd::classify::eval::load_corpus(&root.join("fixtures/writers")).map_err(anyhow::Error::msg)?;
    let writers = held(&root.join("fixtures/kb/writers.tsv"), &corpus)?;
    println!(
        "\nfixtures/kb/writers.tsv ({} mails of the independent writers w1-w4, looked at while tuning):",
        writers.len()
    );
    report(&kb, &writers, true)?;
    if !tune {
        let holdout = held(&root.join("fixtures/kb/holdout.tsv"), &corpus)?;
        println!(
            "\nheld out: fixtures/kb/holdout.tsv ({} mails of the writers w5-w9, labelled before the first run, never tuned on):",
            holdout.len()
        );
        report(&kb, &holdout, holdout_misses)?;
    }
    Ok(())
}

/// A list of the writers' mails, each with the category the classifier
/// gives it (as the pipeline would; the label's category when it is no
/// searched one, so that the set measures the search, not the classifier).
fn held(list: &Path, corpus: &[supportd::classify::eval::LabeledMail]) -> anyhow::Result<Vec<supportd::kb::Labelled>> {
    let classifier = supportd::classify::Classifier::embedded();
    let mut set = supportd::kb::labelled_from_corpus(&std::fs::read_to_string(list)?, corpus)?;
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
