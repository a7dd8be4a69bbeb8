//! The knowledge base's bench: the labelled questions of
//! `fixtures/kb/questions.tsv` against the articles of `config/kb/`, with
//! the shipped `kb.min_score`. Prints the two rates (the right article
//! offered first, for the questions with one; nothing offered, for the
//! questions without) and every miss; then the same for the held-out set,
//! the usage questions and user-management requests of the independent
//! writers (`fixtures/kb/writers.tsv` over `fixtures/writers`).
//!
//!     cargo run --example kb_eval [-- KB_DIR QUESTIONS.tsv [MIN_SCORE]]

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    report(&kb, &labelled);
    let corpus = supportd::classify::eval::load_corpus(&root.join("fixtures/writers")).map_err(anyhow::Error::msg)?;
    let held =
        supportd::kb::labelled_from_corpus(&std::fs::read_to_string(root.join("fixtures/kb/writers.tsv"))?, &corpus)?;
    println!("\nheld out: fixtures/kb/writers.tsv ({} mails of the independent writers):", held.len());
    report(&kb, &held);
    Ok(())
}

fn report(kb: &supportd::kb::Kb, labelled: &[supportd::kb::Labelled]) {
    let t = std::time::Instant::now();
    let e = supportd::kb::evaluate(kb, labelled);
    let took = t.elapsed();
    for m in &e.misses {
        println!("  miss: {m}");
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
    println!("search time: {:.0} µs per question", took.as_secs_f64() * 1e6 / labelled.len().max(1) as f64);
}
