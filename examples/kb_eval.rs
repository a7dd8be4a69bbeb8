//! The knowledge base's bench: the labelled questions of
//! `fixtures/kb/questions.tsv` against the articles of `config/kb/`, with
//! the shipped `kb.min_score`. Prints the two rates (the right article
//! offered first, for the questions with one; nothing offered, for the
//! questions without) and every miss.
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
    let t = std::time::Instant::now();
    let e = supportd::kb::evaluate(&kb, &labelled);
    let took = t.elapsed();
    println!(
        "knowledge base {} ({} de + {} en articles), {} questions, min_score {min_score}",
        dir.display(),
        kb.len("de"),
        kb.len("en"),
        labelled.len()
    );
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
    Ok(())
}
