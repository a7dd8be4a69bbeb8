//! Regenerate `fixtures/classifier_training.tsv` (the embedded training data)
//! from the labeled corpus: `cargo run --example export_training`.

use std::path::Path;

use supportd::classify::eval::load_corpus;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mails = load_corpus(&root.join("fixtures/corpus")).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let out = root.join("fixtures/classifier_training.tsv");
    std::fs::write(&out, supportd::classify::eval::training_tsv(&mails)).expect("write training file");
    println!("wrote {} examples to {}", mails.len(), out.display());
}
