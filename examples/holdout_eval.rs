//! The shipped classifier (the embedded model, trained on `fixtures/corpus`
//! and every writer of `fixtures/writers`) on mails it has never seen: a
//! directory with `labels.tsv` (file, category, lang, note) in the format of
//! `fixtures/writers`, e.g. new independent writers before their mails join
//! the training data. Nothing is tuned on them: this is the figure to expect
//! on strangers' mail. Prints accuracy, per-category recall, security flag
//! recall, security precision, the confusion matrix and every miss.
//!
//! `cargo run --release --example holdout_eval -- DIR`

use std::path::Path;

use supportd::classify::Classifier;
use supportd::classify::eval::{LabeledMail, evaluate, load_corpus};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: holdout_eval DIR (with labels.tsv)");
    let mails = load_corpus(Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"));
    let c = Classifier::embedded();
    let all: Vec<&LabeledMail> = mails.iter().collect();
    let mut splits: Vec<String> = mails.iter().map(|m| m.split.clone()).collect();
    splits.dedup();
    for s in &splits {
        let part: Vec<&LabeledMail> = mails.iter().filter(|m| &m.split == s).collect();
        println!("{s}: {}", evaluate(&c, &part).summary());
    }
    let r = evaluate(&c, &all);
    println!("\nall {} mails: {}\n", all.len(), r.summary());
    println!("{}", r.render());
    for e in r.errors() {
        let note = mails.iter().find(|m| m.file == e.file).map(|m| m.note.as_str()).unwrap_or("");
        println!("miss {}: {:?} -> {:?}  ({note})", e.file, e.expected, e.got);
    }
}
