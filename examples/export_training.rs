//! Regenerate `fixtures/classifier_training.tsv` (the embedded training data)
//! from the labeled corpus and the independent writers' mails:
//! `cargo run --example export_training`.

use std::path::Path;

use supportd::classify::eval::load_corpus;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |d: &str| {
        load_corpus(&root.join(d)).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        })
    };
    let (corpus, writers) = (load("fixtures/corpus"), load("fixtures/writers"));
    let mails: Vec<_> = corpus.iter().chain(writers.iter()).collect();
    let out = root.join("fixtures/classifier_training.tsv");
    std::fs::write(&out, supportd::classify::eval::training_tsv(&mails)).expect("write training file");
    println!(
        "wrote {} examples ({} corpus, {} writers) to {}",
        mails.len(),
        corpus.len(),
        writers.len(),
        out.display()
    );
}
